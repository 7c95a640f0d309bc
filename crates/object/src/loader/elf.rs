//! The ELF layer: sections, symbols and relocation entries, read once.
//!
//! Takes the bytes of a relocatable eBPF ELF file (64-bit, little endian, `EM_BPF`); gives an
//! [`ElfFile`] with plain-data views of every section, the symbol table and the relocation
//! sections, all bounds-checked. Later stages never touch the `object` crate.

use crate::ObjectError;
use object::elf::{self, FileHeader64};
use object::read::elf::{FileHeader, Rel, Rela, SectionHeader, Sym};
use object::Endianness;

/// `e_machine` of eBPF objects.
const EM_BPF: u16 = 247;
/// `sh_flags`: the section holds executable instructions.
const SHF_EXECINSTR: u64 = 0x4;

/// One section header with its contents.
#[derive(Debug)]
pub(crate) struct Section<'a> {
    /// Section name (empty for the null section).
    pub name: String,
    /// `sh_type`.
    pub sh_type: u32,
    /// `sh_flags`.
    pub flags: u64,
    /// `sh_size` (also for `SHT_NOBITS`, whose `data` is empty).
    pub size: u64,
    /// File contents (empty for `SHT_NOBITS`).
    pub data: &'a [u8],
}

impl Section<'_> {
    /// Holds instructions.
    pub fn is_exec(&self) -> bool {
        self.flags & SHF_EXECINSTR != 0 && self.sh_type == elf::SHT_PROGBITS
    }

    /// `SHT_NOBITS` (`.bss`): size but no file contents.
    pub fn is_nobits(&self) -> bool {
        self.sh_type == elf::SHT_NOBITS
    }
}

/// Where a symbol is defined.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SymSection {
    /// `SHN_UNDEF`: an external reference.
    Undefined,
    /// `SHN_ABS`, `SHN_COMMON` or another reserved index.
    Special(u16),
    /// A section index (checked to exist).
    Index(usize),
}

/// One symbol table entry.
#[derive(Clone, Debug)]
pub(crate) struct Symbol {
    /// Name (for section symbols, the section's name).
    pub name: String,
    /// Defining section.
    pub section: SymSection,
    /// `st_value`: offset in its section.
    pub value: u64,
    /// `st_size`.
    pub size: u64,
    /// `STT_*`.
    pub kind: u8,
    /// `STB_*`.
    pub bind: u8,
}

impl Symbol {
    /// `STT_FUNC`.
    pub fn is_func(&self) -> bool {
        self.kind == elf::STT_FUNC
    }

    /// `STT_SECTION`.
    pub fn is_section(&self) -> bool {
        self.kind == elf::STT_SECTION
    }

    /// Visible outside the file (`STB_GLOBAL` or `STB_WEAK`).
    pub fn is_global(&self) -> bool {
        self.bind == elf::STB_GLOBAL || self.bind == elf::STB_WEAK
    }
}

/// One relocation entry (REL or RELA).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Reloc {
    /// Byte offset in the target section.
    pub offset: u64,
    /// Symbol index.
    pub symbol: usize,
    /// `R_BPF_*` type.
    pub rtype: u32,
    /// Explicit addend (0 for REL).
    pub addend: i64,
}

/// A relocation section, resolved to its target.
#[derive(Debug)]
pub(crate) struct RelocSection {
    /// Index of the section the entries apply to.
    pub target: usize,
    /// The entries.
    pub entries: Vec<Reloc>,
}

/// The parsed ELF file.
#[derive(Debug)]
pub(crate) struct ElfFile<'a> {
    /// All sections, by index.
    pub sections: Vec<Section<'a>>,
    /// All symbols, by index (index 0 is the null symbol).
    pub symbols: Vec<Symbol>,
    /// The relocation sections.
    pub relocs: Vec<RelocSection>,
}

fn malformed(what: &str, e: impl std::fmt::Display) -> ObjectError {
    ObjectError::Malformed(format!("{what}: {e}"))
}

impl<'a> ElfFile<'a> {
    /// Read and check the ELF structure.
    pub fn parse(bytes: &'a [u8]) -> Result<ElfFile<'a>, ObjectError> {
        if bytes.len() >= 5 && bytes[..4] == *b"\x7fELF" && bytes[4] != elf::ELFCLASS64 {
            return Err(ObjectError::NotBpf("a 32-bit ELF file".into()));
        }
        let header =
            FileHeader64::<Endianness>::parse(bytes).map_err(|e| malformed("ELF header", e))?;
        let endian = header.endian().map_err(|e| malformed("ELF header", e))?;
        if endian != Endianness::Little {
            return Err(ObjectError::NotBpf(
                "big-endian eBPF objects are not supported".into(),
            ));
        }
        let machine = header.e_machine(endian);
        // Old LLVM versions wrote EM_NONE (0) into eBPF objects.
        if machine != EM_BPF && machine != elf::EM_NONE {
            return Err(ObjectError::NotBpf(format!("e_machine {machine}")));
        }
        let e_type = header.e_type(endian);
        if e_type != elf::ET_REL {
            return Err(ObjectError::Malformed(format!(
                "ELF type {e_type} is not a relocatable object (ET_REL)"
            )));
        }
        let table = header
            .sections(endian, bytes)
            .map_err(|e| malformed("section headers", e))?;
        let mut sections = Vec::with_capacity(table.len());
        for (index, sh) in table.iter().enumerate() {
            let name = table
                .section_name(endian, sh)
                .map_err(|e| malformed(&format!("name of section {index}"), e))?;
            let name = String::from_utf8_lossy(name).into_owned();
            let sh_type = sh.sh_type(endian);
            let data = if sh_type == elf::SHT_NOBITS {
                &[][..]
            } else {
                sh.data(endian, bytes).map_err(|e| ObjectError::Section {
                    section: name.clone(),
                    message: format!("contents out of the file: {e}"),
                })?
            };
            sections.push(Section {
                name,
                sh_type,
                flags: sh.sh_flags(endian),
                size: sh.sh_size(endian),
                data,
            });
        }
        let symtab = table
            .symbols(endian, bytes, elf::SHT_SYMTAB)
            .map_err(|e| malformed("symbol table", e))?;
        let mut symbols = Vec::with_capacity(symtab.len());
        for (index, sym) in symtab.iter().enumerate() {
            let shndx = sym.st_shndx(endian);
            let section = match shndx {
                elf::SHN_UNDEF => SymSection::Undefined,
                s if s >= elf::SHN_LORESERVE => SymSection::Special(s),
                s if (s as usize) < sections.len() => SymSection::Index(s as usize),
                s => {
                    return Err(ObjectError::Malformed(format!(
                        "symbol {index}: section index {s} out of range"
                    )))
                }
            };
            let kind = sym.st_type();
            let mut name = String::from_utf8_lossy(
                symtab
                    .symbol_name(endian, sym)
                    .map_err(|e| malformed(&format!("name of symbol {index}"), e))?,
            )
            .into_owned();
            if kind == elf::STT_SECTION && name.is_empty() {
                if let SymSection::Index(i) = section {
                    name.clone_from(&sections[i].name);
                }
            }
            symbols.push(Symbol {
                name,
                section,
                value: sym.st_value(endian),
                size: sym.st_size(endian),
                kind,
                bind: sym.st_bind(),
            });
        }
        let mut relocs = Vec::new();
        for (index, sh) in table.iter().enumerate() {
            let name = &sections[index].name;
            let bad = |e: object::read::Error| ObjectError::Section {
                section: name.clone(),
                message: e.to_string(),
            };
            let entries: Vec<Reloc> = if let Some((rel, _)) = sh.rel(endian, bytes).map_err(bad)? {
                rel.iter()
                    .map(|r| Reloc {
                        offset: r.r_offset(endian),
                        symbol: r.r_sym(endian) as usize,
                        rtype: r.r_type(endian),
                        addend: 0,
                    })
                    .collect()
            } else if let Some((rela, _)) = sh.rela(endian, bytes).map_err(bad)? {
                rela.iter()
                    .map(|r| Reloc {
                        offset: r.r_offset(endian),
                        symbol: r.r_sym(endian, false) as usize,
                        rtype: r.r_type(endian, false),
                        addend: r.r_addend(endian),
                    })
                    .collect()
            } else {
                continue;
            };
            let target = sh.sh_info(endian) as usize;
            if target == 0 || target >= sections.len() {
                return Err(ObjectError::Section {
                    section: name.clone(),
                    message: format!(
                        "relocations apply to section index {target}, which does not exist"
                    ),
                });
            }
            if let Some(bad) = entries.iter().find(|r| r.symbol >= symbols.len()) {
                return Err(ObjectError::Section {
                    section: name.clone(),
                    message: format!(
                        "relocation at offset {:#x} refers to symbol {} of {}",
                        bad.offset,
                        bad.symbol,
                        symbols.len()
                    ),
                });
            }
            relocs.push(RelocSection { target, entries });
        }
        Ok(ElfFile {
            sections,
            symbols,
            relocs,
        })
    }

    /// Index of the first section called `name`.
    pub fn section_by_name(&self, name: &str) -> Option<usize> {
        self.sections.iter().position(|s| s.name == name)
    }

    /// Symbols defined in section `index` (section symbols excluded).
    pub fn symbols_in(&self, index: usize) -> impl Iterator<Item = (usize, &Symbol)> {
        self.symbols
            .iter()
            .enumerate()
            .filter(move |(_, s)| s.section == SymSection::Index(index) && !s.is_section())
            .filter(|(_, s)| s.kind != elf::STT_FILE)
    }
}
