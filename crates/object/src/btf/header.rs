//! The `.BTF` header.
//!
//! Takes the first bytes of a `.BTF` section (or of a raw BTF file such as
//! `/sys/kernel/btf/vmlinux`); gives [`BtfHeader`] and the byte ranges of the type and string
//! sub-sections, checked against the data.

use std::ops::Range;

use super::error::BtfError;
use super::reader::Reader;

/// The magic number that starts BTF and BTF.ext data (`0xeB9F`, stored little-endian here).
pub const BTF_MAGIC: u16 = 0xeb9f;
/// The only BTF version.
pub const BTF_VERSION: u8 = 1;
/// Size of the version-1 header.
pub const BTF_HEADER_LEN: u32 = 24;

/// The `.BTF` header (`struct btf_header` of `include/uapi/linux/btf.h`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BtfHeader {
    /// Always [`BTF_VERSION`].
    pub version: u8,
    /// Always 0.
    pub flags: u8,
    /// Header length in bytes; sub-section offsets count from its end.
    pub hdr_len: u32,
    /// Offset of the type sub-section.
    pub type_off: u32,
    /// Length of the type sub-section.
    pub type_len: u32,
    /// Offset of the string table.
    pub str_off: u32,
    /// Length of the string table.
    pub str_len: u32,
}

/// Reads the magic and checks its byte order.
pub(crate) fn check_magic(r: &mut Reader<'_>) -> Result<(), BtfError> {
    let magic = r.u16("magic")?;
    match magic {
        BTF_MAGIC => Ok(()),
        m if m == BTF_MAGIC.swap_bytes() => Err(BtfError::BigEndian),
        m => Err(BtfError::BadMagic(m)),
    }
}

/// The byte range `[hdr_len + off, hdr_len + off + len)`, checked against `data_len`.
pub(crate) fn sub_range(
    what: &'static str,
    hdr_len: u32,
    off: u32,
    len: u32,
    data_len: usize,
) -> Result<Range<usize>, BtfError> {
    let available = data_len.saturating_sub(hdr_len as usize);
    let start = hdr_len as usize + off as usize;
    let end = start + len as usize;
    if end > data_len {
        return Err(BtfError::SectionOutOfRange {
            what,
            offset: off,
            len,
            available,
        });
    }
    Ok(start..end)
}

impl BtfHeader {
    /// Parses and checks the header of `data`.
    ///
    /// # Errors
    /// A wrong magic (or big-endian data), version or flags, a truncated or too-short header.
    pub fn parse(data: &[u8]) -> Result<Self, BtfError> {
        let mut r = Reader::new(data);
        check_magic(&mut r)?;
        let version = r.u8("BTF header")?;
        if version != BTF_VERSION {
            return Err(BtfError::UnsupportedVersion(version));
        }
        let flags = r.u8("BTF header")?;
        if flags != 0 {
            return Err(BtfError::UnsupportedFlags(flags));
        }
        let hdr_len = r.u32("BTF header")?;
        let header = BtfHeader {
            version,
            flags,
            hdr_len,
            type_off: r.u32("BTF header")?,
            type_len: r.u32("BTF header")?,
            str_off: r.u32("BTF header")?,
            str_len: r.u32("BTF header")?,
        };
        if hdr_len < BTF_HEADER_LEN || hdr_len as usize > data.len() {
            return Err(BtfError::BadHeaderLen {
                hdr_len,
                min: BTF_HEADER_LEN,
                available: data.len(),
            });
        }
        Ok(header)
    }

    /// Byte range of the type sub-section in `data` (of length `data_len`).
    ///
    /// # Errors
    /// [`BtfError::SectionOutOfRange`] if it does not fit.
    pub fn type_range(&self, data_len: usize) -> Result<Range<usize>, BtfError> {
        sub_range(
            "type section",
            self.hdr_len,
            self.type_off,
            self.type_len,
            data_len,
        )
    }

    /// Byte range of the string table in `data` (of length `data_len`).
    ///
    /// # Errors
    /// [`BtfError::SectionOutOfRange`] if it does not fit.
    pub fn str_range(&self, data_len: usize) -> Result<Range<usize>, BtfError> {
        sub_range(
            "string section",
            self.hdr_len,
            self.str_off,
            self.str_len,
            data_len,
        )
    }
}
