//! Linking: one program's entry function plus every subprogram it reaches.
//!
//! Takes an entry [`Function`], the functions of all executable sections and the resolved
//! relocations; gives the program's bytecode with relocations applied, as libbpf does it:
//! map references become `lddw` with `BPF_PSEUDO_MAP_IDX` / `BPF_PSEUDO_MAP_IDX_VALUE`, and
//! each called subprogram (from `.text`, or a static function of the same section) is
//! appended once after the code, with `call` and `BPF_PSEUDO_FUNC` immediates rewritten to
//! be relative to the linked code. Calls inside one section carry no relocation: their
//! target is `pc + 1 + imm` in that section.
//!
//! A call of an undefined function is kept as a kernel-function call with BTF id 0 (libbpf
//! resolves or refuses it at load time), except for the four userbpf built-ins
//! ([`BUILTINS`]: `memset`, `memcpy`, `memmove`, `memcmp`, which clang may leave as calls):
//! those become helper calls of their private ids, here and only here, so the verifier and
//! both engines see the same instructions. The kernel cannot load such an object.

use super::elf::ElfFile;
use super::programs::{ExternCall, Function, Segment};
use super::relocations::{CodeRelocs, Target};
use crate::ObjectError;
use std::collections::HashMap;
use userbpf_isa::opcode::{PSEUDO_FUNC, PSEUDO_MAP_IDX, PSEUDO_MAP_IDX_VALUE};

const OP_LDDW: u8 = 0x18;
const OP_CALL: u8 = 0x85;
const PSEUDO_CALL: u8 = 1;
const PSEUDO_KFUNC_CALL: u8 = 2;

/// The userbpf built-ins: functions a program may call without defining them (clang's
/// `memset`/`memcpy` calls it did not inline), each with a private helper id past the
/// kernel's last (`__BPF_FUNC_MAX_ID`, 212). A program that defines a function of the same
/// name calls its own.
pub const BUILTINS: [(&str, i32); 4] = [
    ("memset", 212),
    ("memcpy", 213),
    ("memmove", 214),
    ("memcmp", 215),
];

/// The private helper id of built-in `name` (an undefined function of exactly that name).
pub fn builtin_id(name: &str) -> Option<i32> {
    BUILTINS.iter().find(|(n, _)| *n == name).map(|&(_, id)| id)
}

/// The linked code of one program.
pub(crate) struct Linked {
    /// Bytecode.
    pub code: Vec<u8>,
    /// Origin of each piece.
    pub segments: Vec<Segment>,
    /// Calls of undefined functions.
    pub externs: Vec<ExternCall>,
}

struct Linker<'e, 'a> {
    elf: &'e ElfFile<'a>,
    funcs: &'e HashMap<usize, Vec<Function>>,
    program: &'e str,
    slots: Vec<[u8; 8]>,
    placed: Vec<(&'e Function, usize)>,
    externs: Vec<ExternCall>,
}

impl<'e> Linker<'e, '_> {
    fn err(&self, section: usize, offset: u64, message: String) -> ObjectError {
        ObjectError::Link {
            program: self.program.to_string(),
            section: self.elf.sections[section].name.clone(),
            insn: (offset / 8) as usize,
            message,
        }
    }

    /// The linked slot of byte `offset` of `section`, appending its function if needed.
    fn place(&mut self, section: usize, offset: u64) -> Option<usize> {
        let f = self
            .funcs
            .get(&section)?
            .iter()
            .find(|f| f.start <= offset && offset < f.end)?;
        let base = match self.placed.iter().find(|(p, _)| std::ptr::eq(*p, f)) {
            Some(&(_, base)) => base,
            None => {
                let base = self.slots.len();
                let data = &self.elf.sections[section].data[f.start as usize..f.end as usize];
                self.slots.extend(
                    data.chunks_exact(8)
                        .map(|c| <[u8; 8]>::try_from(c).unwrap_or_default()),
                );
                self.placed.push((f, base));
                base
            }
        };
        Some(base + ((offset - f.start) / 8) as usize)
    }

    fn set_imm(&mut self, pos: usize, imm: i32) {
        self.slots[pos][4..8].copy_from_slice(&imm.to_le_bytes());
    }

    fn set_src(&mut self, pos: usize, src: u8) {
        self.slots[pos][1] = (self.slots[pos][1] & 0x0f) | (src << 4);
    }

    fn relative(
        &self,
        section: usize,
        offset: u64,
        from: usize,
        to: usize,
    ) -> Result<i32, ObjectError> {
        i32::try_from(to as i64 - (from as i64 + 1))
            .map_err(|_| self.err(section, offset, "linked program too large".into()))
    }
}

/// Link the program whose entry point is `entry`.
pub(crate) fn link(
    elf: &ElfFile<'_>,
    funcs: &HashMap<usize, Vec<Function>>,
    relocs: &CodeRelocs,
    entry: &Function,
) -> Result<Linked, ObjectError> {
    let mut l = Linker {
        elf,
        funcs,
        program: &entry.name,
        slots: Vec::new(),
        placed: Vec::new(),
        externs: Vec::new(),
    };
    if l.place(entry.section, entry.start).is_none() {
        return Err(l.err(
            entry.section,
            entry.start,
            "entry point is not in a function".into(),
        ));
    }
    let empty = Default::default();
    let mut next = 0;
    while next < l.placed.len() {
        let (f, base) = l.placed[next];
        next += 1;
        let sec_relocs = relocs.get(&f.section).unwrap_or(&empty);
        let count = ((f.end - f.start) / 8) as usize;
        let mut k = 0;
        while k < count {
            let off = f.start + 8 * k as u64;
            let pos = base + k;
            let slot = l.slots[pos];
            let (opcode, src) = (slot[0], slot[1] >> 4);
            let imm = i32::from_le_bytes([slot[4], slot[5], slot[6], slot[7]]);
            let is_lddw = opcode == OP_LDDW;
            let has_second = k + 1 < count;
            match sec_relocs.get(&off) {
                Some(&Target::Map { map, value_offset }) => {
                    if !has_second {
                        return Err(l.err(
                            f.section,
                            off,
                            "lddw at the end of its function".into(),
                        ));
                    }
                    let map = i32::try_from(map)
                        .map_err(|_| l.err(f.section, off, "too many maps".into()))?;
                    match value_offset {
                        None => l.set_src(pos, PSEUDO_MAP_IDX),
                        Some(_) => l.set_src(pos, PSEUDO_MAP_IDX_VALUE),
                    }
                    l.set_imm(pos, map);
                    l.set_imm(pos + 1, value_offset.unwrap_or(0));
                }
                Some(&Target::Call { section, offset }) => {
                    let to = l.place(section, offset).ok_or_else(|| {
                        l.err(
                            f.section,
                            off,
                            format!(
                                "call target {offset:#x} of section {} is not in a function",
                                elf.sections[section].name
                            ),
                        )
                    })?;
                    let rel = l.relative(f.section, off, pos, to)?;
                    l.set_imm(pos, rel);
                }
                Some(&Target::ExternCall { symbol }) => {
                    let name = elf.symbols[symbol].name.clone();
                    l.slots[pos][2..4].copy_from_slice(&[0, 0]);
                    if let Some(id) = builtin_id(&name) {
                        // A userbpf built-in: a helper call of its private id.
                        l.set_src(pos, 0);
                        l.set_imm(pos, id);
                    } else {
                        // BPF_PSEUDO_KFUNC_CALL with BTF id 0: resolved (or refused) at load
                        // time.
                        l.set_src(pos, PSEUDO_KFUNC_CALL);
                        l.set_imm(pos, 0);
                    }
                    l.externs.push(ExternCall { slot: pos, name });
                }
                Some(&Target::FuncAddr { section, offset }) => {
                    if !has_second {
                        return Err(l.err(
                            f.section,
                            off,
                            "lddw at the end of its function".into(),
                        ));
                    }
                    let to = l.place(section, offset).ok_or_else(|| {
                        l.err(
                            f.section,
                            off,
                            format!(
                                "function address {offset:#x} of section {} is not in a function",
                                elf.sections[section].name
                            ),
                        )
                    })?;
                    let rel = l.relative(f.section, off, pos, to)?;
                    l.set_src(pos, PSEUDO_FUNC);
                    l.set_imm(pos, rel);
                    l.set_imm(pos + 1, 0);
                }
                None if (opcode == OP_CALL && src == PSEUDO_CALL)
                    || (is_lddw && src == PSEUDO_FUNC) =>
                {
                    // A reference inside the same section: no relocation, relative target.
                    let target = off as i64 + (imm as i64 + 1) * 8;
                    let size = elf.sections[f.section].size as i64;
                    if target < 0 || target >= size {
                        return Err(l.err(
                            f.section,
                            off,
                            format!(
                                "call target slot {} is outside the section",
                                target.div_euclid(8)
                            ),
                        ));
                    }
                    let to = l.place(f.section, target as u64).ok_or_else(|| {
                        l.err(
                            f.section,
                            off,
                            format!("call target slot {} is not in a function", target / 8),
                        )
                    })?;
                    let rel = l.relative(f.section, off, pos, to)?;
                    l.set_imm(pos, rel);
                }
                None if is_lddw && matches!(src, 1 | 2 | 5 | 6) => {
                    // Map references only come from relocations: a file cannot name a map
                    // by fd or by index on its own.
                    return Err(l.err(
                        f.section,
                        off,
                        format!("lddw with map pseudo-source {src} but no relocation"),
                    ));
                }
                None => {}
            }
            k += if is_lddw { 2 } else { 1 };
        }
    }
    let segments = l
        .placed
        .iter()
        .map(|&(f, base)| Segment {
            function: f.name.clone(),
            section: elf.sections[f.section].name.clone(),
            section_slot: (f.start / 8) as usize,
            slot: base,
            slots: ((f.end - f.start) / 8) as usize,
        })
        .collect();
    Ok(Linked {
        code: l.slots.concat(),
        segments,
        externs: l.externs,
    })
}
