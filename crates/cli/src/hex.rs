//! Hex text to bytes and back.
//!
//! Takes hex strings as users and the conformance suite write them (white space allowed,
//! optional `0x`); gives bytes, or an error naming the offending position.

use anyhow::{bail, Result};

/// Parse hex digits, ignoring white space and an optional leading `0x`.
pub fn decode(text: &str) -> Result<Vec<u8>> {
    let t = text.trim();
    let t = t.strip_prefix("0x").unwrap_or(t);
    let digits: Vec<(usize, char)> = t
        .char_indices()
        .filter(|(_, c)| !c.is_whitespace())
        .collect();
    if let Some((pos, c)) = digits.iter().find(|(_, c)| !c.is_ascii_hexdigit()) {
        bail!("invalid hex digit {c:?} at position {pos}");
    }
    if !digits.len().is_multiple_of(2) {
        bail!("odd number of hex digits ({})", digits.len());
    }
    Ok(digits
        .chunks(2)
        .map(|p| {
            let hi = p[0].1.to_digit(16).unwrap_or(0);
            let lo = p[1].1.to_digit(16).unwrap_or(0);
            (hi * 16 + lo) as u8
        })
        .collect())
}

/// Lower-case hex of `bytes`, no separators.
pub fn encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
