//! The object loader: from ELF bytes to an [`Object`] of programs and maps.
//!
//! Takes the bytes of an ELF object as `clang -target bpf` writes it; gives an [`Object`]:
//! its programs ([`ProgramSpec`], linked with their subprograms, map references as map
//! indices), its maps ([`MapSpec`]: legacy, BTF-defined and global data), the license, the
//! kernel version and the BTF. Parsing makes no syscalls and never panics: every problem is
//! an [`ObjectError`] naming the section, instruction and symbol.
//!
//! The stages, one module each: [`elf`] reads sections and symbols, [`maps`] and
//! [`btf_maps`] the map definitions, [`relocations`] resolves what each relocation points at,
//! [`programs`] finds functions and entry points, and [`link`] builds each program.

mod btf_maps;
mod elf;
mod link;
pub mod maps;
mod programs;
mod relocations;

pub use link::{builtin_id, BUILTINS};
pub use maps::{DataKind, DataReloc, MapInit, MapOrigin, MapSpec};
pub use programs::{ExternCall, ProgramSpec, Segment};

use crate::btf::{Btf, BtfExt, LineInfo};
use crate::ObjectError;
use elf::ElfFile;
use relocations::MapIndex;

/// A parsed eBPF object: everything the later stages need, with no kernel state.
#[derive(Clone, Debug)]
pub struct Object {
    /// The programs, in section order.
    pub programs: Vec<ProgramSpec>,
    /// The maps, in section order (legacy `maps`, `.maps`, then data sections as they come).
    pub maps: Vec<MapSpec>,
    /// Contents of the `license` section up to its NUL.
    pub license: Option<String>,
    /// Contents of the `version` section (`LINUX_VERSION_CODE`).
    pub kernel_version: Option<u32>,
    /// The `.BTF` section, parsed.
    pub btf: Option<Btf>,
    /// The `.BTF.ext` section (function and line info, CO-RE records), parsed.
    pub btf_ext: Option<BtfExt>,
}

fn parse_btf(elf: &ElfFile<'_>) -> Result<(Option<Btf>, Option<BtfExt>), ObjectError> {
    let Some(i) = elf.section_by_name(".BTF") else {
        return Ok((None, None));
    };
    let btf = Btf::parse(elf.sections[i].data).map_err(|e| ObjectError::Btf {
        section: ".BTF".into(),
        message: e.to_string(),
    })?;
    let ext = match elf.section_by_name(".BTF.ext") {
        None => None,
        Some(j) => {
            Some(
                BtfExt::parse(elf.sections[j].data, &btf).map_err(|e| ObjectError::Btf {
                    section: ".BTF.ext".into(),
                    message: e.to_string(),
                })?,
            )
        }
    };
    Ok((Some(btf), ext))
}

impl Object {
    /// Parse an ELF object.
    ///
    /// # Errors
    /// [`ObjectError`] when the file is not a well-formed eBPF ELF object or any map
    /// definition, relocation, subprogram call or instruction is invalid.
    ///
    /// ```no_run
    /// let bytes = std::fs::read("prog.bpf.o").unwrap();
    /// let obj = userbpf_object::Object::parse(&bytes).unwrap();
    /// for p in &obj.programs {
    ///     println!("{} ({}): {} insns", p.name, p.prog_type, p.insns.insns().len());
    /// }
    /// ```
    pub fn parse(bytes: &[u8]) -> Result<Object, ObjectError> {
        let elf = ElfFile::parse(bytes)?;
        let (btf, btf_ext) = parse_btf(&elf)?;

        let mut maps = Vec::new();
        let mut index = MapIndex::default();
        for (i, section) in elf.sections.iter().enumerate() {
            if maps::is_legacy_maps_section(&section.name) && !section.is_exec() {
                for m in maps::legacy_maps(&elf, i)? {
                    if let MapOrigin::Legacy { offset, .. } = m.origin {
                        index.by_offset.insert((i, offset), maps.len());
                    }
                    maps.push(m);
                }
            } else if section.name == ".maps" && !section.is_exec() {
                for m in btf_maps::btf_maps(btf.as_ref(), &elf, i)? {
                    if let MapOrigin::Btf { offset, .. } = m.origin {
                        index.by_offset.insert((i, offset), maps.len());
                    }
                    maps.push(m);
                }
            } else if maps::is_data_section(section) {
                index.by_section.insert(i, maps.len());
                maps.push(maps::data_map(section)?);
            }
        }
        maps::resolve_legacy_inner(&mut maps)?;
        relocations::data_relocations(&elf, &mut maps, &index)?;

        let funcs = programs::all_functions(&elf)?;
        let relocs = relocations::code_relocations(&elf, &index)?;
        let mut progs = Vec::new();
        for entry in programs::entry_points(&elf, &funcs) {
            let linked = link::link(&elf, &funcs, &relocs, entry)?;
            let section = elf.sections[entry.section].name.clone();
            let (insns, target_error) = decode_linked(&linked.code).map_err(|e| {
                let (sec, insn) = linked
                    .segments
                    .iter()
                    .find(|s| e.slot >= s.slot && e.slot < s.slot + s.slots)
                    .map_or((section.clone(), e.slot), |s| {
                        (s.section.clone(), s.section_slot + e.slot - s.slot)
                    });
                ObjectError::Link {
                    program: entry.name.clone(),
                    section: sec,
                    insn,
                    message: e.kind.to_string(),
                }
            })?;
            let info = crate::classify(&section);
            progs.push(ProgramSpec {
                name: entry.name.clone(),
                section,
                prog_type: info.prog_type,
                target: info.target,
                code: linked.code,
                insns,
                target_error,
                segments: linked.segments,
                extern_calls: linked.externs,
            });
        }
        btf_maps::resolve_initial_values(&mut maps, &progs, btf.as_ref())?;

        let license = elf.section_by_name("license").map(|i| {
            let data = elf.sections[i].data;
            let end = data.iter().position(|&b| b == 0).unwrap_or(data.len());
            String::from_utf8_lossy(&data[..end]).into_owned()
        });
        let kernel_version = match elf.section_by_name("version") {
            None => None,
            Some(i) => {
                let data = elf.sections[i].data;
                let bytes: [u8; 4] = data.try_into().map_err(|_| ObjectError::Section {
                    section: "version".into(),
                    message: format!("{} bytes, expected a 4-byte kernel version", data.len()),
                })?;
                Some(u32::from_le_bytes(bytes))
            }
        };
        Ok(Object {
            programs: progs,
            maps,
            license,
            kernel_version,
            btf,
            btf_ext,
        })
    }

    /// The source line of slot `slot` of `program`, from `.BTF.ext` line info.
    pub fn line_info(&self, program: &ProgramSpec, slot: usize) -> Option<&LineInfo> {
        let (section, section_slot) = program.origin(slot)?;
        self.btf_ext
            .as_ref()?
            .section(section)?
            .line_at(section_slot)
    }

    /// Every line-info record of `program`, at its slots in the linked program, in order.
    pub fn program_lines(&self, program: &ProgramSpec) -> Vec<(usize, &LineInfo)> {
        let Some(ext) = &self.btf_ext else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for seg in &program.segments {
            let Some(sec) = ext.section(&seg.section) else {
                continue;
            };
            for l in &sec.line_info {
                if l.slot >= seg.section_slot && l.slot < seg.section_slot + seg.slots {
                    out.push((seg.slot + l.slot - seg.section_slot, l));
                }
            }
        }
        out.sort_by_key(|(s, _)| *s);
        out
    }

    /// Whether the object has CO-RE relocations (which need a target BTF).
    pub fn has_core_relos(&self) -> bool {
        self.btf_ext
            .as_ref()
            .is_some_and(|e| e.sections.iter().any(|s| !s.core_relos.is_empty()))
    }

    /// The program whose function name is `name`.
    pub fn program(&self, name: &str) -> Option<&ProgramSpec> {
        self.programs.iter().find(|p| p.name == name)
    }

    /// The map called `name`, with its index.
    pub fn map(&self, name: &str) -> Option<(usize, &MapSpec)> {
        self.maps.iter().enumerate().find(|(_, m)| m.name == name)
    }
}

/// Decode a linked program. A jump or call whose target is not an instruction of the
/// program (out of range, into an `lddw`) does not fail the object, as with libbpf: the
/// program is kept with its raw instructions and the problem, for the verifier to reject
/// it as the kernel does ([`ProgramSpec::target_error`]).
///
/// # Errors
/// Any other decoding problem (bad length, invalid instruction).
fn decode_linked(
    code: &[u8],
) -> Result<(userbpf_isa::Program, Option<String>), userbpf_isa::DecodeError> {
    use userbpf_isa::DecodeErrorKind as K;
    match userbpf_isa::Program::decode(code) {
        Ok(p) => Ok((p, None)),
        Err(e) if matches!(e.kind, K::JumpOutOfRange { .. } | K::JumpIntoLddw(_)) => {
            let p = userbpf_isa::Program::decode_unchecked_targets(code)?;
            Ok((p, Some(e.to_string())))
        }
        Err(e) => Err(e),
    }
}
