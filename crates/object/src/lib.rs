//! # userbpf-object: eBPF ELF objects
//!
//! Takes the bytes of an ELF object as clang (`-target bpf`) writes it; gives an [`Object`]
//! ([`Object::parse`]): its programs ([`ProgramSpec`]: name, section, program type and
//! attach target, bytecode linked with its subprograms, map references as indices into the
//! object's maps), its maps ([`MapSpec`]: legacy `maps`, BTF-defined `.maps`, global data
//! `.data` / `.rodata` / `.bss`), license, kernel version, and BTF / BTF.ext ([`btf`]) with
//! line info per program slot. Parsing makes no syscalls and never panics; every problem is
//! an [`ObjectError`] naming section, instruction and symbol.
//!
//! [`program_sections`] is the older, lower-level view (raw executable sections), kept for
//! tools that want exactly the bytes in the file.
//!
//! ```no_run
//! let bytes = std::fs::read("prog.bpf.o").unwrap();
//! let obj = userbpf_object::Object::parse(&bytes).unwrap();
//! for m in &obj.maps {
//!     println!("map {}: type {} key {} value {}", m.name, m.map_type, m.key_size, m.value_size);
//! }
//! ```

pub mod btf;
pub mod core_relo;
pub mod error;
pub mod loader;
pub mod section;
pub use error::ObjectError;
pub use loader::{
    builtin_id, DataKind, DataReloc, ExternCall, MapInit, MapOrigin, MapSpec, Object, ProgramSpec,
    Segment, BUILTINS,
};
pub use section::{classify, AttachTarget, ProgramType, SectionInfo};

use object::{Object as _, ObjectSection, ObjectSymbol, SectionFlags, SectionKind, SymbolKind};

/// A function symbol inside a program section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Function {
    /// Symbol name.
    pub name: String,
    /// Start, in 8-byte slots from the section start.
    pub slot: usize,
    /// Size in slots (0 when the symbol has no size).
    pub slots: usize,
}

/// An executable section of the object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProgramSection {
    /// Section name (`xdp`, `tracepoint/syscalls/sys_enter_openat`, `.text`, ...).
    pub name: String,
    /// Its bytes: eBPF instructions, relocations not applied.
    pub code: Vec<u8>,
    /// Function symbols in it, by start slot.
    pub functions: Vec<Function>,
}

const SHF_EXECINSTR: u64 = 0x4;
const EM_BPF: u16 = 247;

/// The executable sections of an eBPF ELF object, in file order, with their function symbols.
///
/// # Errors
/// [`ObjectError`] when the bytes are not a readable eBPF ELF object.
pub fn program_sections(bytes: &[u8]) -> Result<Vec<ProgramSection>, ObjectError> {
    let file = object::File::parse(bytes).map_err(|e| ObjectError::Malformed(e.to_string()))?;
    if let object::File::Elf64(elf) = &file {
        let machine = elf.elf_header().e_machine.get(elf.endian());
        if machine != EM_BPF {
            return Err(ObjectError::NotBpf(format!("e_machine {machine}")));
        }
    } else {
        return Err(ObjectError::NotBpf(format!("{:?}", file.format())));
    }
    let mut out = Vec::new();
    for section in file.sections() {
        let executable = match section.flags() {
            SectionFlags::Elf { sh_flags } => sh_flags & SHF_EXECINSTR != 0,
            _ => section.kind() == SectionKind::Text,
        };
        if !executable || section.size() == 0 {
            continue;
        }
        let name = section
            .name()
            .map_err(|e| ObjectError::Malformed(format!("section name: {e}")))?
            .to_string();
        let code = section
            .data()
            .map_err(|e| ObjectError::Section {
                section: name.clone(),
                message: e.to_string(),
            })?
            .to_vec();
        let mut functions: Vec<Function> = file
            .symbols()
            .filter(|s| s.section_index() == Some(section.index()))
            .filter(|s| {
                s.kind() == SymbolKind::Text || (s.kind() == SymbolKind::Unknown && s.size() > 0)
            })
            .filter_map(|s| {
                Some(Function {
                    name: s.name().ok()?.to_string(),
                    slot: (s.address() / 8) as usize,
                    slots: (s.size() / 8) as usize,
                })
            })
            .filter(|f| !f.name.is_empty())
            .collect();
        functions.sort_by_key(|f| f.slot);
        out.push(ProgramSection {
            name,
            code,
            functions,
        });
    }
    Ok(out)
}
