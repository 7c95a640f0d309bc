//! Arithmetic: `Alu`, `Neg`, `MovSx` and `Endian`.
//!
//! Takes one of those instructions; gives LLVM's text: `w1 += w2`, `r1 s/= 0x3`,
//! `r1 = -r1`, `w1 = (s16)w2`, `r1 = be16 r1`, `r1 = bswap64 r1`.

use super::operand::{imm, reg};
use crate::insn::{AluOp, ByteOrder, Insn, Source, SxFrom, Width};

/// The compound-assignment operator of a binary ALU operation (`=` for `mov`).
pub fn op_str(op: AluOp) -> &'static str {
    match op {
        AluOp::Add => "+=",
        AluOp::Sub => "-=",
        AluOp::Mul => "*=",
        AluOp::Div => "/=",
        AluOp::SDiv => "s/=",
        AluOp::Or => "|=",
        AluOp::And => "&=",
        AluOp::Lsh => "<<=",
        AluOp::Rsh => ">>=",
        AluOp::Mod => "%=",
        AluOp::SMod => "s%=",
        AluOp::Xor => "^=",
        AluOp::Mov => "=",
        AluOp::Arsh => "s>>=",
    }
}

/// Format an ALU-family instruction; any other instruction gives an empty string.
pub fn format(insn: &Insn) -> String {
    match *insn {
        Insn::Alu {
            width,
            op,
            dst,
            src,
        } => {
            let rhs = match src {
                Source::Reg(s) => reg(s, width),
                Source::Imm(i) => imm(i as i64),
            };
            format!("{} {} {}", reg(dst, width), op_str(op), rhs)
        }
        Insn::Neg { width, dst } => format!("{} = -{}", reg(dst, width), reg(dst, width)),
        Insn::MovSx {
            width,
            dst,
            src,
            from,
        } => {
            let ty = match from {
                SxFrom::B8 => "s8",
                SxFrom::B16 => "s16",
                SxFrom::B32 => "s32",
            };
            format!("{} = ({ty}){}", reg(dst, width), reg(src, width))
        }
        Insn::Endian { order, bits, dst } => {
            let name = match order {
                ByteOrder::ToLe => "le",
                ByteOrder::ToBe => "be",
                ByteOrder::Swap => "bswap",
            };
            let r = reg(dst, Width::W64);
            format!("{r} = {name}{} {r}", bits.bits())
        }
        _ => String::new(),
    }
}
