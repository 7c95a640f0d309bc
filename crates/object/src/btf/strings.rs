//! The BTF string table.
//!
//! Takes the string sub-section's bytes; gives [`StringTable::get`], which turns a name offset
//! into a `&str` or a clear error (offset past the end, no terminating NUL, not UTF-8).

use super::error::BtfError;

/// A checked view of a BTF string table (NUL-terminated strings; offset 0 is "").
#[derive(Clone, Copy, Debug)]
pub struct StringTable<'a> {
    bytes: &'a [u8],
}

impl<'a> StringTable<'a> {
    /// Checks the table's framing: it is empty, or it starts and ends with NUL.
    ///
    /// # Errors
    /// [`BtfError::BadStringTable`] otherwise.
    pub fn new(bytes: &'a [u8]) -> Result<Self, BtfError> {
        if let (Some(first), Some(last)) = (bytes.first(), bytes.last()) {
            if *first != 0 {
                return Err(BtfError::BadStringTable(
                    "it does not start with a NUL byte",
                ));
            }
            if *last != 0 {
                return Err(BtfError::BadStringTable("it does not end with a NUL byte"));
            }
        }
        Ok(StringTable { bytes })
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// True if the table has no bytes.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The string at `offset` (offset 0 is the empty string even in an empty table).
    ///
    /// # Errors
    /// [`BtfError::StringOutOfRange`] or [`BtfError::InvalidString`].
    pub fn get(&self, offset: u32) -> Result<&'a str, BtfError> {
        if offset == 0 && self.bytes.is_empty() {
            return Ok("");
        }
        let rest = self
            .bytes
            .get(offset as usize..)
            .filter(|r| !r.is_empty())
            .ok_or(BtfError::StringOutOfRange {
                offset,
                len: self.bytes.len(),
            })?;
        // The table ends with NUL (checked in `new`), so a terminator exists.
        let end = rest.iter().position(|b| *b == 0).unwrap_or(rest.len());
        std::str::from_utf8(&rest[..end]).map_err(|_| BtfError::InvalidString(offset))
    }
}
