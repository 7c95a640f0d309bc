//! Relocations: what each relocated instruction or data word refers to.
//!
//! Takes the ELF file and an index of the object's maps ([`MapIndex`]); gives, for each
//! executable section, the resolved relocations by byte offset ([`Target`]):
//!
//! - `R_BPF_64_64` (1) on `lddw`: a map (symbol in `maps` or `.maps`), a global variable
//!   (symbol in a data section: that data map, value offset = symbol value + the `lddw`
//!   immediate) or a function address (symbol in an executable section: `BPF_PSEUDO_FUNC`,
//!   target byte offset = symbol value + immediate). Objects from old LLVM versions mark the
//!   same `lddw` relocations `R_BPF_NONE` (0) in RELA sections; those are read the same way.
//! - `R_BPF_64_32` (10) on `call`: a bpf-to-bpf call. As LLVM encodes it, the target slot is
//!   `symbol value / 8 + imm + 1` (a global function symbol with `imm = -1`, or the section
//!   symbol with `imm` = target slot - 1).
//! - `R_BPF_64_ABS64` (2) / `R_BPF_64_ABS32` (3) in data sections and map sections: recorded
//!   as [`DataReloc`]s on the map.
//!
//! Relocations in debug, BTF and other non-loaded sections are ignored. Anything else, and any
//! reference to an undefined symbol, is an error naming the section, instruction and symbol.

use super::elf::{ElfFile, SymSection};
use super::maps::{DataReloc, MapSpec};
use crate::ObjectError;
use std::collections::{BTreeMap, HashMap};

/// `R_BPF_NONE`.
pub const R_BPF_NONE: u32 = 0;
/// `R_BPF_64_64`: 64-bit immediate of `lddw`.
pub const R_BPF_64_64: u32 = 1;
/// `R_BPF_64_ABS64`: 64-bit absolute address in data.
pub const R_BPF_64_ABS64: u32 = 2;
/// `R_BPF_64_ABS32`: 32-bit absolute address in data.
pub const R_BPF_64_ABS32: u32 = 3;
/// `R_BPF_64_NODYLD32`: 32-bit data relocation (debug information).
pub const R_BPF_64_NODYLD32: u32 = 4;
/// `R_BPF_64_32`: the immediate of a `call`.
pub const R_BPF_64_32: u32 = 10;

const OP_LDDW: u8 = 0x18;
const OP_CALL: u8 = 0x85;
const PSEUDO_CALL: u8 = 1;

/// What a relocated instruction refers to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Target {
    /// `lddw` of a map (`value_offset: None`) or of an address inside a data map.
    Map {
        /// Index in the object's maps.
        map: usize,
        /// Offset into the map value (global data).
        value_offset: Option<i32>,
    },
    /// `call` of a subprogram at `offset` (bytes) of executable section `section`.
    Call {
        /// Section index.
        section: usize,
        /// Byte offset of the target instruction.
        offset: u64,
    },
    /// `call` of a function the object does not define (`memset`, a kfunc): kept as a
    /// kernel-function call with BTF id 0 and listed in [`crate::ProgramSpec::extern_calls`],
    /// as libbpf defers externs to load time.
    ExternCall {
        /// Index of the symbol.
        symbol: usize,
    },
    /// `lddw` of a function address (`BPF_PSEUDO_FUNC`).
    FuncAddr {
        /// Section index.
        section: usize,
        /// Byte offset of the target instruction.
        offset: u64,
    },
}

/// Where maps are defined, for relocation lookups.
#[derive(Debug, Default)]
pub(crate) struct MapIndex {
    /// `(section index, byte offset)` of legacy and BTF map definitions.
    pub by_offset: HashMap<(usize, u64), usize>,
    /// Section index of each global data section's map.
    pub by_section: HashMap<usize, usize>,
}

/// Resolved relocations per executable section: section index → byte offset → target.
pub(crate) type CodeRelocs = HashMap<usize, BTreeMap<u64, Target>>;

fn slot_of(elf: &ElfFile<'_>, section: usize, offset: u64) -> Option<[u8; 8]> {
    let at = usize::try_from(offset).ok()?;
    elf.sections[section]
        .data
        .get(at..at.checked_add(8)?)?
        .try_into()
        .ok()
}

fn imm_of(slot: &[u8; 8]) -> i32 {
    i32::from_le_bytes([slot[4], slot[5], slot[6], slot[7]])
}

/// Resolve the relocations of every executable section.
pub(crate) fn code_relocations(
    elf: &ElfFile<'_>,
    maps: &MapIndex,
) -> Result<CodeRelocs, ObjectError> {
    let mut out: CodeRelocs = HashMap::new();
    for rs in &elf.relocs {
        let section = &elf.sections[rs.target];
        if !section.is_exec() {
            continue;
        }
        let entries = out.entry(rs.target).or_default();
        for r in &rs.entries {
            let sym = &elf.symbols[r.symbol];
            let insn = (r.offset / 8) as usize;
            let err = |message: String| ObjectError::Relocation {
                section: section.name.clone(),
                insn,
                symbol: if sym.name.is_empty() {
                    format!("#{}", r.symbol)
                } else {
                    sym.name.clone()
                },
                message,
            };
            if !matches!(r.rtype, R_BPF_NONE | R_BPF_64_64 | R_BPF_64_32) {
                return Err(err(format!(
                    "relocation type {} is not valid on an instruction (expected R_BPF_64_64 or R_BPF_64_32)",
                    r.rtype
                )));
            }
            if !r.offset.is_multiple_of(8) {
                return Err(err(format!(
                    "offset {:#x} is not at an instruction boundary",
                    r.offset
                )));
            }
            let Some(slot) = slot_of(elf, rs.target, r.offset) else {
                return Err(err(format!(
                    "offset {:#x} is outside the section ({} bytes)",
                    r.offset, section.size
                )));
            };
            let (opcode, src, imm) = (slot[0], slot[1] >> 4, imm_of(&slot));
            let is_lddw = opcode == OP_LDDW;
            match r.rtype {
                R_BPF_NONE if !is_lddw => continue,
                R_BPF_64_64 if !is_lddw => {
                    return Err(err(format!(
                        "R_BPF_64_64 on an instruction with opcode {opcode:#04x}, not lddw"
                    )))
                }
                R_BPF_64_32 if opcode != OP_CALL || src != PSEUDO_CALL => {
                    return Err(err(format!(
                        "R_BPF_64_32 on an instruction that is not a bpf-to-bpf call (opcode {opcode:#04x}, src {src})"
                    )))
                }
                _ => {}
            }
            if is_lddw && slot_of(elf, rs.target, r.offset + 8).is_none() {
                return Err(err("lddw is missing its second slot".into()));
            }
            let target_section = match sym.section {
                SymSection::Index(i) => i,
                SymSection::Undefined if r.rtype == R_BPF_64_32 && r.symbol != 0 => {
                    entries.insert(r.offset, Target::ExternCall { symbol: r.symbol });
                    continue;
                }
                SymSection::Undefined => {
                    return Err(err(format!(
                        "undefined symbol (extern '{}' is not supported)",
                        sym.name
                    )))
                }
                SymSection::Special(s) => {
                    return Err(err(format!(
                        "symbol in special section {s:#x} (absolute or common) cannot be relocated"
                    )))
                }
            };
            let tsec = &elf.sections[target_section];
            let base = (sym.value as i64).wrapping_add(r.addend);
            let target = if r.rtype == R_BPF_64_32 {
                if !tsec.is_exec() {
                    return Err(err(format!(
                        "call target is in section {}, which holds no code",
                        tsec.name
                    )));
                }
                let off = base.wrapping_add((imm as i64 + 1) * 8);
                Target::Call {
                    section: target_section,
                    offset: check_code_offset(off, tsec.size).map_err(err)?,
                }
            } else if let Some(&map) = maps.by_section.get(&target_section) {
                let off = base.wrapping_add(imm as i64);
                if off < 0 || off as u64 > tsec.size || off > i32::MAX as i64 {
                    return Err(err(format!(
                        "offset {off} is outside data section {} ({} bytes)",
                        tsec.name, tsec.size
                    )));
                }
                Target::Map {
                    map,
                    value_offset: Some(off as i32),
                }
            } else if tsec.is_exec() {
                let off = base.wrapping_add(imm as i64);
                Target::FuncAddr {
                    section: target_section,
                    offset: check_code_offset(off, tsec.size).map_err(err)?,
                }
            } else {
                let key = if sym.is_section() {
                    base.wrapping_add(imm as i64)
                } else {
                    base
                };
                match maps.by_offset.get(&(target_section, key as u64)) {
                    Some(&map) => Target::Map {
                        map,
                        value_offset: None,
                    },
                    None => {
                        return Err(err(format!(
                            "no map is defined at offset {key} of section {}",
                            tsec.name
                        )))
                    }
                }
            };
            entries.insert(r.offset, target);
        }
    }
    Ok(out)
}

fn check_code_offset(off: i64, size: u64) -> Result<u64, String> {
    if off < 0 || off as u64 >= size || off % 8 != 0 {
        Err(format!(
            "target byte offset {off} is not an instruction of the target section ({size} bytes)"
        ))
    } else {
        Ok(off as u64)
    }
}

/// Record `R_BPF_64_ABS64` / `R_BPF_64_ABS32` relocations of data and map sections on their
/// maps. Other relocation types in those sections are errors.
pub(crate) fn data_relocations(
    elf: &ElfFile<'_>,
    maps: &mut [MapSpec],
    index: &MapIndex,
) -> Result<(), ObjectError> {
    for rs in &elf.relocs {
        let section = &elf.sections[rs.target];
        let data_map = index.by_section.get(&rs.target).copied();
        let has_defs = index.by_offset.keys().any(|&(s, _)| s == rs.target);
        if data_map.is_none() && !has_defs {
            continue;
        }
        for r in &rs.entries {
            let sym = &elf.symbols[r.symbol];
            let err = |message: String| ObjectError::Relocation {
                section: section.name.clone(),
                insn: (r.offset / 8) as usize,
                symbol: sym.name.clone(),
                message,
            };
            let width = match r.rtype {
                R_BPF_NONE => continue,
                // clang marks function pointers in `.maps` (`.values = { &prog }`) R_BPF_64_64.
                R_BPF_64_ABS64 | R_BPF_64_64 => 8u8,
                R_BPF_64_ABS32 | R_BPF_64_NODYLD32 => 4,
                t => {
                    return Err(err(format!(
                        "relocation type {t} is not valid in a data section"
                    )))
                }
            };
            if r.offset
                .checked_add(width as u64)
                .is_none_or(|e| e > section.size)
            {
                return Err(err(format!(
                    "offset {:#x} is outside the section ({} bytes)",
                    r.offset, section.size
                )));
            }
            let (map, offset) = match data_map {
                Some(m) => (m, r.offset),
                None => {
                    // The map definition containing the word.
                    let found = index
                        .by_offset
                        .iter()
                        .filter(|(&(s, start), _)| s == rs.target && start <= r.offset)
                        .max_by_key(|(&(_, start), _)| start);
                    match found {
                        Some((&(_, start), &m)) => (m, r.offset - start),
                        None => {
                            return Err(err(format!(
                                "offset {:#x} lies before every map definition",
                                r.offset
                            )))
                        }
                    }
                }
            };
            let symbol_section = match sym.section {
                SymSection::Index(i) => elf.sections[i].name.clone(),
                _ => String::new(),
            };
            maps[map].data_relocs.push(DataReloc {
                offset,
                width,
                symbol: sym.name.clone(),
                symbol_section,
                symbol_value: sym.value,
            });
        }
    }
    Ok(())
}
