//! Pure semantics of RFC 9669 operations, written once.
//!
//! Takes operand values; gives results. Used by the interpreter, by constant folding in the
//! verifier, and as the oracle the JIT is tested against. Division by zero gives 0, modulo by
//! zero leaves the dividend, `INT_MIN / -1` gives `INT_MIN` and `INT_MIN % -1` gives 0, shift
//! counts are masked to the operand width, and 32-bit results are zero-extended.

use crate::insn::{AluOp, ByteOrder, EndianBits, JmpCond, SxFrom, Width};

/// `dst op src` on 64 bits.
pub fn alu64(op: AluOp, dst: u64, src: u64) -> u64 {
    match op {
        AluOp::Add => dst.wrapping_add(src),
        AluOp::Sub => dst.wrapping_sub(src),
        AluOp::Mul => dst.wrapping_mul(src),
        AluOp::Div => dst.checked_div(src).unwrap_or(0),
        AluOp::SDiv => {
            if src == 0 {
                0
            } else {
                (dst as i64).wrapping_div(src as i64) as u64
            }
        }
        AluOp::Or => dst | src,
        AluOp::And => dst & src,
        AluOp::Lsh => dst.wrapping_shl(src as u32 & 63),
        AluOp::Rsh => dst.wrapping_shr(src as u32 & 63),
        AluOp::Mod => dst.checked_rem(src).unwrap_or(dst),
        AluOp::SMod => {
            if src == 0 {
                dst
            } else {
                (dst as i64).wrapping_rem(src as i64) as u64
            }
        }
        AluOp::Xor => dst ^ src,
        AluOp::Mov => src,
        AluOp::Arsh => ((dst as i64).wrapping_shr(src as u32 & 63)) as u64,
    }
}

/// `dst op src` on the low 32 bits; the result is zero-extended.
pub fn alu32(op: AluOp, dst: u64, src: u64) -> u64 {
    let (d, s) = (dst as u32, src as u32);
    let r: u32 = match op {
        AluOp::Add => d.wrapping_add(s),
        AluOp::Sub => d.wrapping_sub(s),
        AluOp::Mul => d.wrapping_mul(s),
        AluOp::Div => d.checked_div(s).unwrap_or(0),
        AluOp::SDiv => {
            if s == 0 {
                0
            } else {
                (d as i32).wrapping_div(s as i32) as u32
            }
        }
        AluOp::Or => d | s,
        AluOp::And => d & s,
        AluOp::Lsh => d.wrapping_shl(s & 31),
        AluOp::Rsh => d.wrapping_shr(s & 31),
        AluOp::Mod => d.checked_rem(s).unwrap_or(d),
        AluOp::SMod => {
            if s == 0 {
                d
            } else {
                (d as i32).wrapping_rem(s as i32) as u32
            }
        }
        AluOp::Xor => d ^ s,
        AluOp::Mov => s,
        AluOp::Arsh => ((d as i32).wrapping_shr(s & 31)) as u32,
    };
    r as u64
}

/// `dst op src` at the given width.
pub fn alu(width: Width, op: AluOp, dst: u64, src: u64) -> u64 {
    match width {
        Width::W64 => alu64(op, dst, src),
        Width::W32 => alu32(op, dst, src),
    }
}

/// The value of an immediate operand as the ALU sees it: sign-extended to 64 bits for
/// 64-bit operations; for 32-bit operations only the low 32 bits matter.
pub fn imm_operand(imm: i32) -> u64 {
    imm as i64 as u64
}

/// `-dst` at the given width.
pub fn neg(width: Width, dst: u64) -> u64 {
    match width {
        Width::W64 => (dst as i64).wrapping_neg() as u64,
        Width::W32 => (dst as i32).wrapping_neg() as u32 as u64,
    }
}

/// Sign-extend the low `from` bits of `src`; 32-bit results are zero-extended to 64.
pub fn movsx(width: Width, src: u64, from: SxFrom) -> u64 {
    let v = sign_extend(src, from.bits());
    match width {
        Width::W64 => v,
        Width::W32 => v as u32 as u64,
    }
}

/// Sign-extend the low `bits` bits of `v` to 64 bits.
pub fn sign_extend(v: u64, bits: u32) -> u64 {
    let shift = 64 - bits;
    (((v << shift) as i64) >> shift) as u64
}

/// Byte-order conversion on a little-endian host.
pub fn endian(order: ByteOrder, bits: EndianBits, v: u64) -> u64 {
    match (order, bits) {
        (ByteOrder::ToLe, EndianBits::B16) => v as u16 as u64,
        (ByteOrder::ToLe, EndianBits::B32) => v as u32 as u64,
        (ByteOrder::ToLe, EndianBits::B64) => v,
        (ByteOrder::ToBe | ByteOrder::Swap, EndianBits::B16) => (v as u16).swap_bytes() as u64,
        (ByteOrder::ToBe | ByteOrder::Swap, EndianBits::B32) => (v as u32).swap_bytes() as u64,
        (ByteOrder::ToBe | ByteOrder::Swap, EndianBits::B64) => v.swap_bytes(),
    }
}

/// Whether a conditional jump is taken.
pub fn jump_taken(width: Width, cond: JmpCond, dst: u64, src: u64) -> bool {
    match width {
        Width::W64 => compare(cond, dst, src, dst as i64, src as i64),
        Width::W32 => compare(
            cond,
            dst as u32 as u64,
            src as u32 as u64,
            dst as i32 as i64,
            src as i32 as i64,
        ),
    }
}

fn compare(cond: JmpCond, a: u64, b: u64, sa: i64, sb: i64) -> bool {
    match cond {
        JmpCond::Eq => a == b,
        JmpCond::Gt => a > b,
        JmpCond::Ge => a >= b,
        JmpCond::Set => a & b != 0,
        JmpCond::Ne => a != b,
        JmpCond::SGt => sa > sb,
        JmpCond::SGe => sa >= sb,
        JmpCond::Lt => a < b,
        JmpCond::Le => a <= b,
        JmpCond::SLt => sa < sb,
        JmpCond::SLe => sa <= sb,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn division_edge_cases() {
        assert_eq!(alu64(AluOp::Div, 7, 0), 0);
        assert_eq!(alu64(AluOp::Mod, 7, 0), 7);
        assert_eq!(
            alu64(AluOp::SDiv, i64::MIN as u64, -1i64 as u64),
            i64::MIN as u64
        );
        assert_eq!(alu64(AluOp::SMod, i64::MIN as u64, -1i64 as u64), 0);
        assert_eq!(
            alu32(AluOp::SDiv, i32::MIN as u32 as u64, u64::MAX),
            0x8000_0000
        );
        assert_eq!(alu32(AluOp::Mod, 0xffff_ffff_0000_0007, 0), 7);
        assert_eq!(
            alu32(AluOp::SMod, (-7i32) as u32 as u64, 2),
            (-1i32) as u32 as u64
        );
    }

    #[test]
    fn shifts_are_masked() {
        assert_eq!(alu64(AluOp::Lsh, 1, 65), 2);
        assert_eq!(alu32(AluOp::Lsh, 1, 33), 2);
        assert_eq!(alu32(AluOp::Arsh, 0x8000_0000, 36), 0xf800_0000);
    }

    #[test]
    fn sign_extension() {
        assert_eq!(movsx(Width::W64, 0x80, SxFrom::B8), 0xffff_ffff_ffff_ff80);
        assert_eq!(movsx(Width::W32, 0x80, SxFrom::B8), 0xffff_ff80);
        assert_eq!(
            endian(ByteOrder::ToBe, EndianBits::B16, 0x1234_5678),
            0x7856
        );
    }
}
