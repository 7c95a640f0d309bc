//! Operand values: register names and range checks of immediates and offsets.
//!
//! Takes register names (`r3`, `w3`) and numbers as written (an `i128` that holds any signed
//! or unsigned 64-bit value); gives a [`Reg`] with its [`Width`], or the field value
//! (`i32`, `u64`, `i16`), or an [`AsmErrorKind`] saying why it does not fit.

use super::error::AsmErrorKind;
use crate::insn::Width;
use crate::Reg;

/// A register operand as written: `rN` (64-bit view) or `wN` (32-bit view).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RegName {
    /// The register.
    pub reg: Reg,
    /// `W64` for `rN`, `W32` for `wN`.
    pub width: Width,
}

/// Read `name` as a register. `None` when it does not have the shape of a register
/// (a letter `r` or `w` followed by digits); `Some(Err)` for a number above 10.
pub(crate) fn reg_name(name: &str) -> Option<Result<RegName, AsmErrorKind>> {
    let width = match name.as_bytes().first()? {
        b'r' => Width::W64,
        b'w' => Width::W32,
        _ => return None,
    };
    let digits = &name[1..];
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let bad = || AsmErrorKind::BadRegister(name.to_string());
    let reg = digits.parse::<u8>().ok().and_then(Reg::new);
    Some(reg.map(|reg| RegName { reg, width }).ok_or_else(bad))
}

/// A 32-bit immediate: any value from `i32::MIN` to `u32::MAX`; values above `i32::MAX`
/// are taken as the bit pattern (`0xffffff80` is -128).
pub(crate) fn imm32(value: i128) -> Result<i32, AsmErrorKind> {
    if (i32::MIN as i128..=u32::MAX as i128).contains(&value) {
        Ok(value as u32 as i32)
    } else {
        Err(AsmErrorKind::ImmOutOfRange { value, bits: 32 })
    }
}

/// A 64-bit immediate: any value from `i64::MIN` to `u64::MAX`, as a bit pattern.
pub(crate) fn imm64(value: i128) -> Result<u64, AsmErrorKind> {
    if (i64::MIN as i128..=u64::MAX as i128).contains(&value) {
        Ok(value as u64)
    } else {
        Err(AsmErrorKind::ImmOutOfRange { value, bits: 64 })
    }
}

/// A signed 16-bit offset.
pub(crate) fn off16(value: i128) -> Result<i16, AsmErrorKind> {
    i16::try_from(value).map_err(|_| AsmErrorKind::OffsetOutOfRange { value, bits: 16 })
}

/// A signed 32-bit offset (`gotol`, local calls).
pub(crate) fn off32(value: i128) -> Result<i32, AsmErrorKind> {
    i32::try_from(value).map_err(|_| AsmErrorKind::OffsetOutOfRange { value, bits: 32 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registers() {
        assert_eq!(
            reg_name("w10"),
            Some(Ok(RegName {
                reg: Reg::R10,
                width: Width::W32
            }))
        );
        assert_eq!(
            reg_name("r11"),
            Some(Err(AsmErrorKind::BadRegister("r11".into())))
        );
        assert_eq!(reg_name("r"), None);
        assert_eq!(reg_name("rx"), None);
        assert_eq!(reg_name("LBB0_1"), None);
        assert!(matches!(reg_name("r99999999999"), Some(Err(_))));
    }

    #[test]
    fn ranges() {
        assert_eq!(imm32(0xffff_ff80), Ok(-128));
        assert_eq!(imm32(-1), Ok(-1));
        assert!(imm32(0x1_0000_0000).is_err());
        assert!(imm32(-0x8000_0001).is_err());
        assert_eq!(imm64(-1), Ok(u64::MAX));
        assert!(imm64(u64::MAX as i128 + 1).is_err());
        assert_eq!(off16(-32768), Ok(-32768));
        assert!(off16(32768).is_err());
        assert!(off32(1 << 31).is_err());
    }
}
