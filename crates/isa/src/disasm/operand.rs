//! Operands as LLVM prints them.
//!
//! Takes registers, immediates, offsets; gives their text: `r1` or `w1`, `0x5` or `-0x8`
//! (LLVM's `formatImm` with objdump's default `--print-imm-hex`), memory operands
//! `r10 - 0x8`, and signed branch offsets `+0x3`.

use crate::insn::Width;
use crate::Reg;

/// A register as `r{n}` (64-bit view) or `w{n}` (32-bit view).
pub fn reg(r: Reg, width: Width) -> String {
    match width {
        Width::W64 => format!("r{}", r.num()),
        Width::W32 => format!("w{}", r.num()),
    }
}

/// An immediate in hexadecimal, negative values as `-0x..` (`i64::MIN` included).
pub fn imm(v: i64) -> String {
    if v < 0 {
        format!("-0x{:x}", v.unsigned_abs())
    } else {
        format!("0x{v:x}")
    }
}

/// A base register plus offset, as inside `*(u32 *)(r1 + 0x4)`: `r1 + 0x4`, `r10 - 0x8`.
pub fn mem(base: Reg, off: i16) -> String {
    let off = off as i64;
    if off >= 0 {
        format!("r{} + 0x{:x}", base.num(), off)
    } else {
        format!("r{} - 0x{:x}", base.num(), -off)
    }
}

/// A relative branch offset with an explicit sign: `+0x3`, `-0x5`, `+0x0`.
pub fn branch(off: i64) -> String {
    if off >= 0 {
        format!("+{}", imm(off))
    } else {
        imm(off)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn immediates() {
        assert_eq!(imm(0), "0x0");
        assert_eq!(imm(100), "0x64");
        assert_eq!(imm(-1), "-0x1");
        assert_eq!(imm(i64::MIN), "-0x8000000000000000");
        assert_eq!(mem(Reg::R1, i16::MIN), "r1 - 0x8000");
        assert_eq!(branch(0), "+0x0");
        assert_eq!(branch(-5), "-0x5");
    }
}
