//! BTF from an ELF object.
//!
//! Takes the bytes of an eBPF ELF object; gives its parsed `.BTF` and `.BTF.ext` sections
//! ([`ElfBtf`]), or `None` when it has no `.BTF`.

use object::{Object, ObjectSection};

use super::error::BtfError;
use super::ext::BtfExt;
use super::query::Btf;

/// The BTF of an ELF object.
#[derive(Clone, Debug)]
pub struct ElfBtf {
    /// `.BTF`.
    pub btf: Btf,
    /// `.BTF.ext`, when present.
    pub ext: Option<BtfExt>,
}

/// Parses the `.BTF` and `.BTF.ext` sections of an ELF object.
///
/// # Errors
/// [`BtfError::Elf`] when the ELF cannot be read, otherwise what [`Btf::parse`] and
/// [`BtfExt::parse`] report.
pub fn parse_elf(bytes: &[u8]) -> Result<Option<ElfBtf>, BtfError> {
    let file = object::File::parse(bytes).map_err(|e| BtfError::Elf(e.to_string()))?;
    let data = |name: &str| -> Result<Option<&[u8]>, BtfError> {
        match file.section_by_name(name) {
            None => Ok(None),
            Some(s) => s
                .data()
                .map(Some)
                .map_err(|e| BtfError::Elf(format!("section {name}: {e}"))),
        }
    };
    let Some(btf_bytes) = data(".BTF")? else {
        return Ok(None);
    };
    let btf = Btf::parse(btf_bytes)?;
    let ext = match data(".BTF.ext")? {
        Some(b) => Some(BtfExt::parse(b, &btf)?),
        None => None,
    };
    Ok(Some(ElfBtf { btf, ext }))
}
