//! CO-RE access strings.
//!
//! Takes the access string of a CO-RE relocation record (`"0:1:2"`); gives its indices:
//! the first is an index into the root type as an array, each following one a member index
//! (struct or union) or an element index (array).

use super::error::BtfError;

/// The most indices an access string may hold (libbpf's `BPF_CORE_SPEC_MAX_LEN`).
pub const MAX_ACCESS_LEN: usize = 64;

/// Parses `"0:1:2"` into `[0, 1, 2]`.
///
/// # Errors
/// [`BtfError::BadAccessString`] when the string is empty, has an empty or non-decimal
/// component, a value past `u32`, or more than [`MAX_ACCESS_LEN`] components.
///
/// ```
/// use userbpf_object::btf::parse_access_str;
/// assert_eq!(parse_access_str("0:1:2").unwrap(), vec![0, 1, 2]);
/// assert!(parse_access_str("0::1").is_err());
/// ```
pub fn parse_access_str(s: &str) -> Result<Vec<u32>, BtfError> {
    let bad = || BtfError::BadAccessString(s.to_string());
    let mut out = Vec::new();
    for part in s.split(':') {
        if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        out.push(part.parse::<u32>().map_err(|_| bad())?);
        if out.len() > MAX_ACCESS_LEN {
            return Err(bad());
        }
    }
    Ok(out)
}
