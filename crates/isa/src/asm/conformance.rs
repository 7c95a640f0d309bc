//! The bpf_conformance / uBPF syntax: a mnemonic, then comma-separated operands.
//!
//! Takes the tokens of one instruction (labels already removed); gives a [`Parsed`]
//! instruction. Registers are `%rN` (the `%` may be left out), memory operands `[%r1+2]`,
//! jump targets a label or a relative offset (`+3`, `-1`). Mnemonics:
//!
//! - ALU: `add sub mul div sdiv or and lsh rsh mod smod xor mov arsh` (64-bit; also with a
//!   `64` suffix) and the same with `32`; `neg`/`neg32`; `movsx832 movsx1632 movsx864
//!   movsx1664 movsx3264` (sign-extending moves: source bits, then destination width);
//!   `be16/32/64`, `le16/32/64`, and `bswap16/32/64` or `swap16/32/64` (unconditional swap);
//! - memory: `ldxb ldxh ldxw ldxdw dst, [src+off]`, `ldxsb ldxsh ldxsw` (sign-extending),
//!   `stb sth stw stdw [dst+off], imm`, `stxb stxh stxw stxdw [dst+off], src`,
//!   `lddw dst, imm64`, `ldabsb/h/w imm`, `ldindb/h/w src, imm`;
//! - atomics: `lock [fetch] add|or|and|xor[32] [dst+off], src`, `lock xchg[32] ...`,
//!   `lock cmpxchg[32] ...`;
//! - control: `ja T`, `ja32 T` (`gotol`), `jeq jgt jge jset jne jsgt jsge jlt jle jslt jsle`
//!   (and with `32`) `dst, src|imm, T`, `call N` or `call helper N`, `call local L` (bpf-to-bpf),
//!   `call runtime N` (a kfunc),
//!   `call %rN` or `callx %rN`, `exit`.

use super::cursor::Cursor;
use super::error::{AsmErrorKind, LineError};
use super::labels::Parsed;
use super::operand::{imm32, imm64, off16};
use crate::insn::*;
use crate::Reg;

/// Parse one conformance-syntax instruction (the whole line).
///
/// # Errors
/// An unknown mnemonic, or any operand the mnemonic does not take, with its column.
pub(crate) fn parse(c: &mut Cursor<'_, '_>) -> Result<Parsed, LineError> {
    let col = c.col();
    let m = c.ident("a mnemonic")?;
    let parsed = match instruction(c, m) {
        Some(result) => result?,
        None => {
            return Err(LineError::new(
                col,
                AsmErrorKind::UnknownMnemonic(m.to_string()),
            ))
        }
    };
    c.finish()?;
    Ok(parsed)
}

/// The instruction of mnemonic `m` with its operands, or `None` for an unknown mnemonic.
fn instruction(c: &mut Cursor<'_, '_>, m: &str) -> Option<Result<Parsed, LineError>> {
    let plain = |r: Result<Insn, LineError>| Some(r.map(Parsed::plain));
    match m {
        "exit" => plain(Ok(Insn::Exit)),
        "ja" => Some(target(c, Insn::Ja { off: 0 })),
        "ja32" => Some(target(c, Insn::Gotol { off: 0 })),
        "call" => Some(call(c)),
        "callx" => plain(reg(c).map(|reg| Insn::CallX { reg })),
        "lock" => plain(atomic(c)),
        "lddw" => plain(lddw(c)),
        "neg" | "neg64" => plain(neg(c, Width::W64)),
        "neg32" => plain(neg(c, Width::W32)),
        _ => {
            if let Some((width, from)) = movsx_kind(m) {
                return plain(movsx(c, width, from));
            }
            if let Some((order, bits)) = endian_kind(m) {
                return plain(reg(c).map(|dst| Insn::Endian { order, bits, dst }));
            }
            if let Some((width, op)) = alu_kind(m) {
                return plain(alu(c, width, op));
            }
            if let Some((width, cond)) = jump_kind(m) {
                return Some(cond_jump(c, width, cond));
            }
            memory(c, m).map(|r| r.map(Parsed::plain))
        }
    }
}

/// A register `%rN` (or `rN`).
fn reg(c: &mut Cursor<'_, '_>) -> Result<Reg, LineError> {
    c.eat_op("%");
    let (r, col) = c.reg()?;
    if r.width != Width::W64 {
        return Err(LineError::new(
            col,
            AsmErrorKind::WidthMismatch {
                found: format!("w{}", r.reg.num()),
                expected: 64,
            },
        ));
    }
    Ok(r.reg)
}

fn at_reg(c: &Cursor<'_, '_>) -> bool {
    c.at_reg() || c.at_op("%")
}

/// A 32-bit immediate.
fn imm(c: &mut Cursor<'_, '_>) -> Result<i32, LineError> {
    let (v, col) = c.signed()?;
    imm32(v).map_err(|k| LineError::new(col, k))
}

/// A register or a 32-bit immediate.
fn source(c: &mut Cursor<'_, '_>) -> Result<Source, LineError> {
    if at_reg(c) {
        Ok(Source::Reg(reg(c)?))
    } else if c.at_number() {
        Ok(Source::Imm(imm(c)?))
    } else {
        Err(c.expected("a register or an immediate"))
    }
}

/// `[%r1+2]`, `[%r10-8]`, `[%r1]`.
fn mem(c: &mut Cursor<'_, '_>) -> Result<(Reg, i16), LineError> {
    c.expect_op("[")?;
    let base = reg(c)?;
    let (off, col) = c.offset_suffix()?;
    c.expect_op("]")?;
    Ok((base, off16(off).map_err(|k| LineError::new(col, k))?))
}

/// A jump target for `insn` (offset 0), possibly preceded by a comma already taken.
fn target(c: &mut Cursor<'_, '_>, insn: Insn) -> Result<Parsed, LineError> {
    let (t, col) = c.target()?;
    Parsed::with_target(insn, t, col)
}

/// `call 5`, `call helper 5`, `call local fn`, `call runtime 7` (a kfunc), `call %r2`.
fn call(c: &mut Cursor<'_, '_>) -> Result<Parsed, LineError> {
    if c.eat_ident("local") {
        return target(c, Insn::Call(CallTarget::Local(0)));
    }
    if c.eat_ident("runtime") {
        let btf_id = imm(c)?;
        return Ok(Parsed::plain(Insn::Call(CallTarget::Kfunc {
            btf_id,
            off: 0,
        })));
    }
    c.eat_ident("helper");
    if at_reg(c) {
        return Ok(Parsed::plain(Insn::CallX { reg: reg(c)? }));
    }
    Ok(Parsed::plain(Insn::Call(CallTarget::Helper(imm(c)?))))
}

fn neg(c: &mut Cursor<'_, '_>, width: Width) -> Result<Insn, LineError> {
    Ok(Insn::Neg {
        width,
        dst: reg(c)?,
    })
}

fn lddw(c: &mut Cursor<'_, '_>) -> Result<Insn, LineError> {
    let dst = reg(c)?;
    c.expect_op(",")?;
    let (v, col) = c.signed()?;
    Ok(Insn::lddw(
        dst,
        imm64(v).map_err(|k| LineError::new(col, k))?,
    ))
}

fn movsx_kind(m: &str) -> Option<(Width, SxFrom)> {
    Some(match m {
        "movsx832" => (Width::W32, SxFrom::B8),
        "movsx1632" => (Width::W32, SxFrom::B16),
        "movsx864" => (Width::W64, SxFrom::B8),
        "movsx1664" => (Width::W64, SxFrom::B16),
        "movsx3264" => (Width::W64, SxFrom::B32),
        _ => return None,
    })
}

fn movsx(c: &mut Cursor<'_, '_>, width: Width, from: SxFrom) -> Result<Insn, LineError> {
    let dst = reg(c)?;
    c.expect_op(",")?;
    let src = reg(c)?;
    Ok(Insn::MovSx {
        width,
        dst,
        src,
        from,
    })
}

fn endian_kind(m: &str) -> Option<(ByteOrder, EndianBits)> {
    let (order, bits) = if let Some(b) = m.strip_prefix("be") {
        (ByteOrder::ToBe, b)
    } else if let Some(b) = m.strip_prefix("le") {
        (ByteOrder::ToLe, b)
    } else if let Some(b) = m.strip_prefix("bswap").or_else(|| m.strip_prefix("swap")) {
        (ByteOrder::Swap, b)
    } else {
        return None;
    };
    let bits = match bits {
        "16" => EndianBits::B16,
        "32" => EndianBits::B32,
        "64" => EndianBits::B64,
        _ => return None,
    };
    Some((order, bits))
}

/// Split a `32` or `64` width suffix off a mnemonic (no suffix: 64 bits).
fn split_width(m: &str) -> (&str, Width) {
    if let Some(base) = m.strip_suffix("32") {
        (base, Width::W32)
    } else {
        (m.strip_suffix("64").unwrap_or(m), Width::W64)
    }
}

fn alu_kind(m: &str) -> Option<(Width, AluOp)> {
    let (base, width) = split_width(m);
    let op = match base {
        "add" => AluOp::Add,
        "sub" => AluOp::Sub,
        "mul" => AluOp::Mul,
        "div" => AluOp::Div,
        "sdiv" => AluOp::SDiv,
        "or" => AluOp::Or,
        "and" => AluOp::And,
        "lsh" => AluOp::Lsh,
        "rsh" => AluOp::Rsh,
        "mod" => AluOp::Mod,
        "smod" => AluOp::SMod,
        "xor" => AluOp::Xor,
        "mov" => AluOp::Mov,
        "arsh" => AluOp::Arsh,
        _ => return None,
    };
    Some((width, op))
}

fn alu(c: &mut Cursor<'_, '_>, width: Width, op: AluOp) -> Result<Insn, LineError> {
    let dst = reg(c)?;
    c.expect_op(",")?;
    let src = source(c)?;
    Ok(Insn::Alu {
        width,
        op,
        dst,
        src,
    })
}

fn jump_kind(m: &str) -> Option<(Width, JmpCond)> {
    let (base, width) = match m.strip_suffix("32") {
        Some(base) => (base, Width::W32),
        None => (m, Width::W64),
    };
    let cond = match base {
        "jeq" => JmpCond::Eq,
        "jgt" => JmpCond::Gt,
        "jge" => JmpCond::Ge,
        "jset" => JmpCond::Set,
        "jne" => JmpCond::Ne,
        "jsgt" => JmpCond::SGt,
        "jsge" => JmpCond::SGe,
        "jlt" => JmpCond::Lt,
        "jle" => JmpCond::Le,
        "jslt" => JmpCond::SLt,
        "jsle" => JmpCond::SLe,
        _ => return None,
    };
    Some((width, cond))
}

fn cond_jump(c: &mut Cursor<'_, '_>, width: Width, cond: JmpCond) -> Result<Parsed, LineError> {
    let dst = reg(c)?;
    c.expect_op(",")?;
    let src = source(c)?;
    c.expect_op(",")?;
    target(
        c,
        Insn::Jump {
            width,
            cond,
            dst,
            src,
            off: 0,
        },
    )
}

fn size_suffix(s: &str) -> Option<MemSize> {
    Some(match s {
        "b" => MemSize::B,
        "h" => MemSize::H,
        "w" => MemSize::W,
        "dw" => MemSize::DW,
        _ => return None,
    })
}

/// Loads, stores and packet loads, or `None` when `m` is none of them.
fn memory(c: &mut Cursor<'_, '_>, m: &str) -> Option<Result<Insn, LineError>> {
    if let Some(size) = m.strip_prefix("ldxs").and_then(size_suffix) {
        if size == MemSize::DW {
            return None;
        }
        return Some(load(c).map(|(dst, src, off)| Insn::LoadSx {
            size,
            dst,
            src,
            off,
        }));
    }
    if let Some(size) = m.strip_prefix("ldx").and_then(size_suffix) {
        return Some(load(c).map(|(dst, src, off)| Insn::Load {
            size,
            dst,
            src,
            off,
        }));
    }
    if let Some(size) = m.strip_prefix("stx").and_then(size_suffix) {
        return Some(store(c, size, true));
    }
    if let Some(size) = m.strip_prefix("st").and_then(size_suffix) {
        return Some(store(c, size, false));
    }
    if let Some(size) = m.strip_prefix("ldabs").and_then(size_suffix) {
        if size == MemSize::DW {
            return None;
        }
        return Some(imm(c).map(|imm| Insn::LoadPacket {
            size,
            mode: PacketMode::Abs,
            imm,
        }));
    }
    if let Some(size) = m.strip_prefix("ldind").and_then(size_suffix) {
        if size == MemSize::DW {
            return None;
        }
        return Some((|| {
            let r = reg(c)?;
            c.expect_op(",")?;
            Ok(Insn::LoadPacket {
                size,
                mode: PacketMode::Ind(r),
                imm: imm(c)?,
            })
        })());
    }
    None
}

/// `dst, [src+off]`.
fn load(c: &mut Cursor<'_, '_>) -> Result<(Reg, Reg, i16), LineError> {
    let dst = reg(c)?;
    c.expect_op(",")?;
    let (src, off) = mem(c)?;
    Ok((dst, src, off))
}

/// `[dst+off], src` (`stx*`) or `[dst+off], imm` (`st*`).
fn store(c: &mut Cursor<'_, '_>, size: MemSize, reg_src: bool) -> Result<Insn, LineError> {
    let (dst, off) = mem(c)?;
    c.expect_op(",")?;
    let src = if reg_src {
        Source::Reg(reg(c)?)
    } else {
        Source::Imm(imm(c)?)
    };
    Ok(Insn::Store {
        size,
        dst,
        off,
        src,
    })
}

/// After `lock`: `[fetch] op[32] [dst+off], src`.
fn atomic(c: &mut Cursor<'_, '_>) -> Result<Insn, LineError> {
    let fetch = c.eat_ident("fetch");
    let col = c.col();
    let m = c.ident("an atomic operation (add, or, and, xor, xchg, cmpxchg)")?;
    let (base, size) = match m.strip_suffix("32") {
        Some(base) => (base, AtomicSize::W),
        None => (m.strip_suffix("64").unwrap_or(m), AtomicSize::DW),
    };
    let op = match (base, fetch) {
        ("add", false) => AtomicOp::Add,
        ("or", false) => AtomicOp::Or,
        ("and", false) => AtomicOp::And,
        ("xor", false) => AtomicOp::Xor,
        ("add", true) => AtomicOp::FetchAdd,
        ("or", true) => AtomicOp::FetchOr,
        ("and", true) => AtomicOp::FetchAnd,
        ("xor", true) => AtomicOp::FetchXor,
        ("xchg", _) => AtomicOp::Xchg,
        ("cmpxchg", _) => AtomicOp::CmpXchg,
        _ => {
            return Err(LineError::new(
                col,
                AsmErrorKind::UnknownMnemonic(format!("lock {m}")),
            ))
        }
    };
    let (dst, off) = mem(c)?;
    c.expect_op(",")?;
    let src = reg(c)?;
    Ok(Insn::Atomic {
        size,
        op,
        dst,
        src,
        off,
    })
}
