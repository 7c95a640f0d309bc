//! Intel-syntax text of [`X86Insn`].
//!
//! Takes a typed instruction; gives its text as iced-x86's Intel formatter prints it with
//! these options: a space after commas, `0x` hex, signed immediates, memory sizes always
//! shown, branch targets as addresses with the instruction at address 0. The encoder tests
//! compare this text with iced-x86's decoding of the encoded bytes.

use std::fmt;

use super::insn::{Mem, ShiftBy, X86Insn};
use super::reg::{Size, X86Reg};

fn hex_signed(v: i64) -> String {
    if v < 0 {
        format!("-0x{:x}", (v as i128).unsigned_abs())
    } else {
        format!("0x{v:x}")
    }
}

/// An immediate as a signed value of the operand width.
fn imm(size: Size, v: i64) -> String {
    hex_signed(match size {
        Size::S8 => v as i8 as i64,
        Size::S16 => v as i16 as i64,
        Size::S32 => v as i32 as i64,
        Size::S64 => v,
    })
}

struct M(Size, Mem);

impl fmt::Display for M {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let M(size, m) = *self;
        write!(f, "{} ", size.ptr())?;
        write_addr(f, m)
    }
}

fn write_addr(f: &mut fmt::Formatter<'_>, m: Mem) -> fmt::Result {
    write!(f, "[{}", m.base.name(Size::S64))?;
    if let Some((i, s)) = m.index {
        write!(f, "+{}", i.name(Size::S64))?;
        if s.factor() != 1 {
            write!(f, "*{}", s.factor())?;
        }
    }
    match m.disp {
        0 => {}
        d if d < 0 => write!(f, "-0x{:x}", (d as i64).unsigned_abs())?,
        d => write!(f, "+0x{d:x}")?,
    }
    f.write_str("]")
}

fn r(reg: X86Reg, size: Size) -> &'static str {
    reg.name(size)
}

impl fmt::Display for X86Insn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use X86Insn::*;
        match *self {
            Alu { op, size, dst, src } => {
                write!(f, "{} {}, {}", op.mnemonic(), r(dst, size), r(src, size))
            }
            AluImm {
                op,
                size,
                dst,
                imm: v,
            } => {
                let v = if size == Size::S8 {
                    v as i8 as i64
                } else {
                    v as i64
                };
                write!(f, "{} {}, {}", op.mnemonic(), r(dst, size), imm(size, v))
            }
            AluLoad { op, size, dst, mem } => {
                write!(f, "{} {}, {}", op.mnemonic(), r(dst, size), M(size, mem))
            }
            AluMemImm {
                op,
                size,
                mem,
                imm: v,
            } => write!(
                f,
                "{} {}, {}",
                op.mnemonic(),
                M(size, mem),
                imm(size, v as i64)
            ),
            LockAlu { op, size, mem, src } => write!(
                f,
                "lock {} {}, {}",
                op.mnemonic(),
                M(size, mem),
                r(src, size)
            ),
            Test { size, a, b } => write!(f, "test {}, {}", r(a, size), r(b, size)),
            TestImm { size, dst, imm: v } => {
                write!(f, "test {}, {}", r(dst, size), imm(size, v as i64))
            }
            Mov { size, dst, src } => write!(f, "mov {}, {}", r(dst, size), r(src, size)),
            MovImm32 { dst, imm: v } => {
                write!(f, "mov {}, {}", r(dst, Size::S32), imm(Size::S32, v as i64))
            }
            MovImmSx { dst, imm: v } => {
                write!(f, "mov {}, {}", r(dst, Size::S64), imm(Size::S64, v as i64))
            }
            MovAbs { dst, imm: v } => {
                write!(f, "mov {}, {}", r(dst, Size::S64), imm(Size::S64, v as i64))
            }
            Load { size, dst, mem } => match size {
                Size::S8 | Size::S16 => {
                    write!(f, "movzx {}, {}", r(dst, Size::S32), M(size, mem))
                }
                _ => write!(f, "mov {}, {}", r(dst, size), M(size, mem)),
            },
            LoadSx { size, dst, mem } => match size {
                Size::S8 | Size::S16 => {
                    write!(f, "movsx {}, {}", r(dst, Size::S64), M(size, mem))
                }
                Size::S32 => write!(f, "movsxd {}, {}", r(dst, Size::S64), M(size, mem)),
                Size::S64 => write!(f, "mov {}, {}", r(dst, Size::S64), M(size, mem)),
            },
            Store { size, mem, src } => write!(f, "mov {}, {}", M(size, mem), r(src, size)),
            StoreImm { size, mem, imm: v } => {
                write!(f, "mov {}, {}", M(size, mem), imm(size, v as i64))
            }
            Movzx { from, dst, src } => {
                write!(f, "movzx {}, {}", r(dst, Size::S32), r(src, from))
            }
            Movsx {
                from,
                size,
                dst,
                src,
            } => {
                let m = if from == Size::S32 { "movsxd" } else { "movsx" };
                write!(f, "{m} {}, {}", r(dst, size), r(src, from))
            }
            Lea { dst, mem } => {
                write!(f, "lea {}, ", r(dst, Size::S64))?;
                write_addr(f, mem)
            }
            Shift { op, size, dst, by } => match by {
                ShiftBy::Cl => write!(f, "{} {}, cl", op.mnemonic(), r(dst, size)),
                ShiftBy::Imm(n) => write!(
                    f,
                    "{} {}, {}",
                    op.mnemonic(),
                    r(dst, size),
                    imm(Size::S8, n as i64)
                ),
            },
            Neg { size, dst } => write!(f, "neg {}", r(dst, size)),
            Imul { size, dst, src } => write!(f, "imul {}, {}", r(dst, size), r(src, size)),
            ImulImm {
                size,
                dst,
                src,
                imm: v,
            } => {
                let v = if v == v as i8 as i32 {
                    v as i8 as i64
                } else {
                    v as i64
                };
                if dst == src {
                    write!(f, "imul {}, {}", r(dst, size), imm(size, v))
                } else {
                    write!(
                        f,
                        "imul {}, {}, {}",
                        r(dst, size),
                        r(src, size),
                        imm(size, v)
                    )
                }
            }
            Div { size, src } => write!(f, "div {}", r(src, size)),
            Idiv { size, src } => write!(f, "idiv {}", r(src, size)),
            SignExtendAcc { size } => f.write_str(if size == Size::S64 { "cqo" } else { "cdq" }),
            Bswap { size, reg } => write!(f, "bswap {}", r(reg, size)),
            Xchg { size, mem, reg } => write!(f, "xchg {}, {}", M(size, mem), r(reg, size)),
            LockXadd { size, mem, reg } => {
                write!(f, "lock xadd {}, {}", M(size, mem), r(reg, size))
            }
            LockCmpxchg { size, mem, reg } => {
                write!(f, "lock cmpxchg {}, {}", M(size, mem), r(reg, size))
            }
            Push(reg) => write!(f, "push {}", r(reg, Size::S64)),
            Pop(reg) => write!(f, "pop {}", r(reg, Size::S64)),
            Ret => f.write_str("ret"),
            Call { rel } => write!(f, "call 0x{:x}", branch_target(self, rel)),
            CallReg(reg) => write!(f, "call {}", r(reg, Size::S64)),
            JmpReg(reg) => write!(f, "jmp {}", r(reg, Size::S64)),
            Jmp { rel, .. } => write!(f, "jmp 0x{:x}", branch_target(self, rel)),
            Jcc { cond, rel, .. } => {
                write!(f, "j{} 0x{:x}", cond.suffix(), branch_target(self, rel))
            }
            Ud2 => f.write_str("ud2"),
        }
    }
}

/// The target address of a relative branch placed at address 0.
fn branch_target(insn: &X86Insn, rel: i32) -> u64 {
    (insn.encoded_len() as i64 + rel as i64) as u64
}
