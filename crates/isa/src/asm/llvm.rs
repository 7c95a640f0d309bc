//! The LLVM/kernel syntax, as `llvm-objdump-19 -d` prints it and `clang -target bpf` reads it.
//!
//! Takes the tokens of one instruction (labels and address prefixes already removed); gives a
//! [`Parsed`] instruction. Reads every form objdump prints, with immediates in decimal or
//! hex (`r1 += -0x8`), `r` or `w` registers where objdump prints either depending on the cpu
//! (`w2 = *(u8 *)(r1 + 0x2)`, `*(u32 *)(r10 - 0x4) = w1`), and objdump's symbol annotations
//! after jump targets (`goto +0x3 <LBB0_2>`), which are ignored:
//!
//! - ALU: `r0 = 1`, `w1 = w2`, `r1 += r2`, `w1 s/= 3`, `r1 = -r1`, `r1 = (s8)r2`,
//!   `r1 = be16 r1`, `r1 = bswap64 r1`;
//! - memory: `r2 = *(u8 *)(r1 + 2)`, `r2 = *(s8 *)(r1 + 2)`, `*(u64 *)(r10 - 8) = r1`,
//!   `*(u8 *)(r1 + 2) = 5`, `r0 = 0x1234 ll`, `ld_pseudo r1, 1, 3` (an optional fourth operand
//!   gives the second immediate), `r0 = *(u16 *)skb[10]`, `r0 = *(u32 *)skb[r1]` (also
//!   `skb[r1 + 4]`);
//! - atomics: `lock *(u64 *)(r0 + 0) += r1`, `r0 = atomic_fetch_add((u64 *)(r1 + 0), r0)`,
//!   `r0 = xchg_64(r1 + 0, r0)`, `w0 = cmpxchg32_32(r1 + 0, w0, w2)`;
//! - control: `if r1 s> 2 goto +3`, `goto LBB0_2`, `gotol +70000`, `may_goto +3`, `call 14`
//!   (a helper), `call name` (a local call to a label), `callx r2`, `exit`.

use super::cursor::Cursor;
use super::error::{AsmErrorKind, LineError};
use super::labels::Parsed;
use super::lexer::Tok;
use super::operand::{imm32, imm64, off16, RegName};
use crate::insn::*;
use crate::Reg;

/// Parse one LLVM-syntax instruction (the whole line).
///
/// # Errors
/// Any token the grammar does not allow, with its column.
pub(crate) fn parse(c: &mut Cursor<'_, '_>) -> Result<Parsed, LineError> {
    let Some(first) = c.peek() else {
        return Err(c.expected("an instruction"));
    };
    let parsed = match first.tok {
        Tok::Op("*") => store(c)?,
        Tok::Ident("exit") => {
            c.bump();
            Parsed::plain(Insn::Exit)
        }
        Tok::Ident("goto") => uncond(c, Insn::Ja { off: 0 })?,
        Tok::Ident("gotol") => uncond(c, Insn::Gotol { off: 0 })?,
        Tok::Ident("may_goto") => uncond(c, Insn::MayGoto { off: 0 })?,
        Tok::Ident("if") => cond_jump(c)?,
        Tok::Ident("call") => call(c)?,
        Tok::Ident("callx") => {
            c.bump();
            Parsed::plain(Insn::CallX { reg: reg64(c)? })
        }
        Tok::Ident("lock") => lock(c)?,
        Tok::Ident("ld_pseudo") => ld_pseudo(c)?,
        Tok::Ident(_) if c.at_reg() => assign(c)?,
        _ => {
            return Err(c.error(AsmErrorKind::UnknownMnemonic(first.text.to_string())));
        }
    };
    c.finish()?;
    Ok(parsed)
}

fn width_bits(w: Width) -> u32 {
    match w {
        Width::W32 => 32,
        Width::W64 => 64,
    }
}

fn reg_name_text(r: RegName) -> String {
    match r.width {
        Width::W32 => format!("w{}", r.reg.num()),
        Width::W64 => format!("r{}", r.reg.num()),
    }
}

/// A register of the given width.
fn reg_of(c: &mut Cursor<'_, '_>, width: Width) -> Result<Reg, LineError> {
    let (r, col) = c.reg()?;
    if r.width != width {
        return Err(LineError::new(
            col,
            AsmErrorKind::WidthMismatch {
                found: reg_name_text(r),
                expected: width_bits(width),
            },
        ));
    }
    Ok(r.reg)
}

/// A 64-bit register (`rN`).
fn reg64(c: &mut Cursor<'_, '_>) -> Result<Reg, LineError> {
    reg_of(c, Width::W64)
}

/// The register `expected` again (same number and width), as in `r1 = -r1`.
fn same_reg(c: &mut Cursor<'_, '_>, expected: RegName) -> Result<(), LineError> {
    let (r, col) = c.reg()?;
    if r != expected {
        return Err(LineError::new(
            col,
            AsmErrorKind::RegisterMismatch {
                found: reg_name_text(r),
                expected: reg_name_text(expected),
            },
        ));
    }
    Ok(())
}

/// A value register of a memory access of `size`: `rN`, or `wN` for accesses under 8 bytes.
fn value_reg(c: &mut Cursor<'_, '_>, size: MemSize) -> Result<RegName, LineError> {
    let (r, col) = c.reg()?;
    if size == MemSize::DW && r.width == Width::W32 {
        return Err(LineError::new(
            col,
            AsmErrorKind::WidthMismatch {
                found: reg_name_text(r),
                expected: 64,
            },
        ));
    }
    Ok(r)
}

/// A 32-bit immediate (decimal or hex, signed, or a 32-bit pattern).
fn imm(c: &mut Cursor<'_, '_>) -> Result<i32, LineError> {
    let (v, col) = c.signed()?;
    imm32(v).map_err(|k| LineError::new(col, k))
}

/// A register of `width` or an immediate.
fn source(c: &mut Cursor<'_, '_>, width: Width) -> Result<Source, LineError> {
    if c.at_reg() {
        Ok(Source::Reg(reg_of(c, width)?))
    } else if c.at_number() {
        Ok(Source::Imm(imm(c)?))
    } else {
        Err(c.expected("a register or an immediate"))
    }
}

/// `(u32 *)` or `(s16 *)`: whether signed, and the size.
fn ptr_type(c: &mut Cursor<'_, '_>) -> Result<(bool, MemSize), LineError> {
    c.expect_op("(")?;
    let ty = match c.peek().map(|t| t.tok) {
        Some(Tok::Ident("u8")) => (false, MemSize::B),
        Some(Tok::Ident("u16")) => (false, MemSize::H),
        Some(Tok::Ident("u32")) => (false, MemSize::W),
        Some(Tok::Ident("u64")) => (false, MemSize::DW),
        Some(Tok::Ident("s8")) => (true, MemSize::B),
        Some(Tok::Ident("s16")) => (true, MemSize::H),
        Some(Tok::Ident("s32")) => (true, MemSize::W),
        _ => return Err(c.expected("a type (u8, u16, u32, u64, s8, s16, s32)")),
    };
    c.bump();
    c.expect_op("*")?;
    c.expect_op(")")?;
    Ok(ty)
}

/// An unsigned pointer type, as stores and atomics take.
fn unsigned_ptr_type(c: &mut Cursor<'_, '_>) -> Result<MemSize, LineError> {
    let col = c.col();
    match ptr_type(c)? {
        (false, size) => Ok(size),
        (true, _) => Err(LineError::new(
            col,
            AsmErrorKind::InvalidOperand("stores and atomics take an unsigned type (u8..u64)"),
        )),
    }
}

/// `r1 + 4`, `r10 - 8` or `r1`: base register and 16-bit offset.
fn addr(c: &mut Cursor<'_, '_>) -> Result<(Reg, i16), LineError> {
    let base = reg64(c)?;
    let (off, col) = c.offset_suffix()?;
    Ok((base, off16(off).map_err(|k| LineError::new(col, k))?))
}

/// `(r1 + 4)`.
fn paren_addr(c: &mut Cursor<'_, '_>) -> Result<(Reg, i16), LineError> {
    c.expect_op("(")?;
    let a = addr(c)?;
    c.expect_op(")")?;
    Ok(a)
}

/// `goto T`, `gotol T`, `may_goto T`.
fn uncond(c: &mut Cursor<'_, '_>, insn: Insn) -> Result<Parsed, LineError> {
    c.bump();
    let (target, col) = c.target()?;
    c.skip_annotation()?;
    Parsed::with_target(insn, target, col)
}

fn cond_op(op: &str) -> Option<JmpCond> {
    Some(match op {
        "==" => JmpCond::Eq,
        "!=" => JmpCond::Ne,
        ">" => JmpCond::Gt,
        ">=" => JmpCond::Ge,
        "<" => JmpCond::Lt,
        "<=" => JmpCond::Le,
        "s>" => JmpCond::SGt,
        "s>=" => JmpCond::SGe,
        "s<" => JmpCond::SLt,
        "s<=" => JmpCond::SLe,
        "&" => JmpCond::Set,
        _ => return None,
    })
}

/// `if r1 s> 2 goto +3`.
fn cond_jump(c: &mut Cursor<'_, '_>) -> Result<Parsed, LineError> {
    c.bump();
    let (dst, _) = c.reg()?;
    let cond = match c.peek().map(|t| t.tok) {
        Some(Tok::Op(op)) => cond_op(op),
        _ => None,
    }
    .ok_or_else(|| c.expected("a comparison (==, !=, >, s>, &, ...)"))?;
    c.bump();
    let src = source(c, dst.width)?;
    c.expect_ident("goto")?;
    let (target, col) = c.target()?;
    c.skip_annotation()?;
    let insn = Insn::Jump {
        width: dst.width,
        cond,
        dst: dst.reg,
        src,
        off: 0,
    };
    Parsed::with_target(insn, target, col)
}

/// `call 14` (helper) or `call name` (local call to a label).
fn call(c: &mut Cursor<'_, '_>) -> Result<Parsed, LineError> {
    c.bump();
    if c.at_number() {
        let parsed = Parsed::plain(Insn::Call(CallTarget::Helper(imm(c)?)));
        c.skip_annotation()?;
        return Ok(parsed);
    }
    let (target, col) = c.target()?;
    c.skip_annotation()?;
    Parsed::with_target(Insn::Call(CallTarget::Local(0)), target, col)
}

/// `*(u32 *)(r10 - 4) = w1`, `*(u8 *)(r1 + 2) = 5`.
fn store(c: &mut Cursor<'_, '_>) -> Result<Parsed, LineError> {
    c.bump();
    let size = unsigned_ptr_type(c)?;
    let (dst, off) = paren_addr(c)?;
    c.expect_op("=")?;
    let src = if c.at_reg() {
        Source::Reg(value_reg(c, size)?.reg)
    } else if c.at_number() {
        Source::Imm(imm(c)?)
    } else {
        return Err(c.expected("a register or an immediate"));
    };
    Ok(Parsed::plain(Insn::Store {
        size,
        dst,
        off,
        src,
    }))
}

fn atomic_size(size: MemSize, col: usize) -> Result<AtomicSize, LineError> {
    match size {
        MemSize::W => Ok(AtomicSize::W),
        MemSize::DW => Ok(AtomicSize::DW),
        _ => Err(LineError::new(
            col,
            AsmErrorKind::InvalidOperand("atomics are 32 or 64 bits (u32, u64)"),
        )),
    }
}

/// `lock *(u64 *)(r0 + 0) += r1`.
fn lock(c: &mut Cursor<'_, '_>) -> Result<Parsed, LineError> {
    c.bump();
    c.expect_op("*")?;
    let col = c.col();
    let size = atomic_size(unsigned_ptr_type(c)?, col)?;
    let (dst, off) = paren_addr(c)?;
    let op = match c.peek().map(|t| t.tok) {
        Some(Tok::Op("+=")) => AtomicOp::Add,
        Some(Tok::Op("|=")) => AtomicOp::Or,
        Some(Tok::Op("&=")) => AtomicOp::And,
        Some(Tok::Op("^=")) => AtomicOp::Xor,
        _ => return Err(c.expected("+=, |=, &= or ^=")),
    };
    c.bump();
    let src = value_reg(c, size.mem_size())?.reg;
    Ok(Parsed::plain(Insn::Atomic {
        size,
        op,
        dst,
        src,
        off,
    }))
}

/// `ld_pseudo r1, 1, 3` (and an optional fourth operand: the second slot's immediate).
fn ld_pseudo(c: &mut Cursor<'_, '_>) -> Result<Parsed, LineError> {
    c.bump();
    let dst = reg64(c)?;
    c.expect_op(",")?;
    let (src, col) = c.signed()?;
    let kind = match src {
        0 => LdImm64Kind::Imm,
        1 => LdImm64Kind::MapFd,
        2 => LdImm64Kind::MapValue,
        3 => LdImm64Kind::BtfId,
        4 => LdImm64Kind::Func,
        5 => LdImm64Kind::MapIdx,
        6 => LdImm64Kind::MapIdxValue,
        _ => {
            return Err(LineError::new(
                col,
                AsmErrorKind::InvalidOperand("ld_pseudo source must be 0 to 6"),
            ))
        }
    };
    c.expect_op(",")?;
    let imm = imm(c)?;
    let next_imm = if c.eat_op(",") { self::imm(c)? } else { 0 };
    Ok(Parsed::plain(Insn::LdImm64 {
        dst,
        kind,
        imm,
        next_imm,
    }))
}

fn alu_op(op: &str) -> Option<AluOp> {
    Some(match op {
        "+=" => AluOp::Add,
        "-=" => AluOp::Sub,
        "*=" => AluOp::Mul,
        "/=" => AluOp::Div,
        "s/=" => AluOp::SDiv,
        "|=" => AluOp::Or,
        "&=" => AluOp::And,
        "<<=" => AluOp::Lsh,
        ">>=" => AluOp::Rsh,
        "%=" => AluOp::Mod,
        "s%=" => AluOp::SMod,
        "^=" => AluOp::Xor,
        "s>>=" => AluOp::Arsh,
        _ => return None,
    })
}

/// Every form that starts with a register: `r1 op= src` and `r1 = ...`.
fn assign(c: &mut Cursor<'_, '_>) -> Result<Parsed, LineError> {
    let (dst, dst_col) = c.reg()?;
    let op = match c.peek().map(|t| t.tok) {
        Some(Tok::Op(op)) => op,
        _ => return Err(c.expected("an assignment operator (=, +=, ...)")),
    };
    if let Some(op) = alu_op(op) {
        c.bump();
        let src = source(c, dst.width)?;
        return Ok(Parsed::plain(Insn::Alu {
            width: dst.width,
            op,
            dst: dst.reg,
            src,
        }));
    }
    if op != "=" {
        return Err(c.expected("an assignment operator (=, +=, ...)"));
    }
    c.bump();
    let insn = match c.peek().map(|t| t.tok) {
        Some(Tok::Op("*")) => load(c, dst, dst_col)?,
        Some(Tok::Op("-")) if matches!(c.peek_at(1).map(|t| t.tok), Some(Tok::Ident(_))) => {
            c.bump();
            same_reg(c, dst)?;
            Insn::Neg {
                width: dst.width,
                dst: dst.reg,
            }
        }
        Some(Tok::Op("(")) => movsx(c, dst)?,
        Some(Tok::Ident(name)) if !c.at_reg() => named_rhs(c, name, dst, dst_col)?,
        Some(Tok::Ident(_)) => Insn::Alu {
            width: dst.width,
            op: AluOp::Mov,
            dst: dst.reg,
            src: Source::Reg(reg_of(c, dst.width)?),
        },
        _ if c.at_number() => {
            let (v, col) = c.signed()?;
            if c.eat_ident("ll") {
                if dst.width != Width::W64 {
                    return Err(width_error(dst, dst_col, 64));
                }
                let value = imm64(v).map_err(|k| LineError::new(col, k))?;
                Insn::lddw(dst.reg, value)
            } else {
                Insn::Alu {
                    width: dst.width,
                    op: AluOp::Mov,
                    dst: dst.reg,
                    src: Source::Imm(imm32(v).map_err(|k| LineError::new(col, k))?),
                }
            }
        }
        _ => return Err(c.expected("an operand")),
    };
    Ok(Parsed::plain(insn))
}

fn width_error(r: RegName, col: usize, expected: u32) -> LineError {
    LineError::new(
        col,
        AsmErrorKind::WidthMismatch {
            found: reg_name_text(r),
            expected,
        },
    )
}

/// `r1 = (s8)r2`.
fn movsx(c: &mut Cursor<'_, '_>, dst: RegName) -> Result<Insn, LineError> {
    c.bump();
    let col = c.col();
    let from = match c.peek().map(|t| t.tok) {
        Some(Tok::Ident("s8")) => SxFrom::B8,
        Some(Tok::Ident("s16")) => SxFrom::B16,
        Some(Tok::Ident("s32")) => SxFrom::B32,
        _ => return Err(c.expected("s8, s16 or s32")),
    };
    if from == SxFrom::B32 && dst.width == Width::W32 {
        return Err(LineError::new(
            col,
            AsmErrorKind::InvalidOperand("a 32-bit move sign-extends from s8 or s16 only"),
        ));
    }
    c.bump();
    c.expect_op(")")?;
    let src = reg_of(c, dst.width)?;
    Ok(Insn::MovSx {
        width: dst.width,
        dst: dst.reg,
        src,
        from,
    })
}

/// `r2 = *(u8 *)(r1 + 2)`, `r2 = *(s8 *)(r1 + 2)`, `r0 = *(u16 *)skb[10]`.
fn load(c: &mut Cursor<'_, '_>, dst: RegName, dst_col: usize) -> Result<Insn, LineError> {
    c.bump();
    let ty_col = c.col();
    let (signed, size) = ptr_type(c)?;
    if c.at_ident("skb") {
        if signed || size == MemSize::DW {
            return Err(LineError::new(
                ty_col,
                AsmErrorKind::InvalidOperand("packet loads take u8, u16 or u32"),
            ));
        }
        if dst.reg != Reg::R0 || dst.width != Width::W64 {
            return Err(LineError::new(
                dst_col,
                AsmErrorKind::InvalidOperand("packet loads write r0"),
            ));
        }
        return packet(c, size);
    }
    let (src, off) = paren_addr(c)?;
    if dst.width == Width::W32 && (signed || size == MemSize::DW) {
        return Err(width_error(dst, dst_col, 64));
    }
    Ok(if signed {
        Insn::LoadSx {
            size,
            dst: dst.reg,
            src,
            off,
        }
    } else {
        Insn::Load {
            size,
            dst: dst.reg,
            src,
            off,
        }
    })
}

/// `skb[10]`, `skb[r1]`, `skb[r1 + 4]`.
fn packet(c: &mut Cursor<'_, '_>, size: MemSize) -> Result<Insn, LineError> {
    c.bump();
    c.expect_op("[")?;
    let (mode, imm) = if c.at_reg() {
        let r = reg64(c)?;
        let (v, col) = c.offset_suffix()?;
        (
            PacketMode::Ind(r),
            imm32(v).map_err(|k| LineError::new(col, k))?,
        )
    } else {
        (PacketMode::Abs, imm(c)?)
    };
    c.expect_op("]")?;
    Ok(Insn::LoadPacket { size, mode, imm })
}

/// Right-hand sides that start with a name: byte swaps and the fetching atomics.
fn named_rhs(
    c: &mut Cursor<'_, '_>,
    name: &str,
    dst: RegName,
    dst_col: usize,
) -> Result<Insn, LineError> {
    let endian = |order, bits| Some((order, bits));
    let swap = match name {
        "be16" => endian(ByteOrder::ToBe, EndianBits::B16),
        "be32" => endian(ByteOrder::ToBe, EndianBits::B32),
        "be64" => endian(ByteOrder::ToBe, EndianBits::B64),
        "le16" => endian(ByteOrder::ToLe, EndianBits::B16),
        "le32" => endian(ByteOrder::ToLe, EndianBits::B32),
        "le64" => endian(ByteOrder::ToLe, EndianBits::B64),
        "bswap16" => endian(ByteOrder::Swap, EndianBits::B16),
        "bswap32" => endian(ByteOrder::Swap, EndianBits::B32),
        "bswap64" => endian(ByteOrder::Swap, EndianBits::B64),
        _ => None,
    };
    if let Some((order, bits)) = swap {
        c.bump();
        same_reg(c, dst)?;
        return Ok(Insn::Endian {
            order,
            bits,
            dst: dst.reg,
        });
    }
    let fetch = match name {
        "atomic_fetch_add" => Some(AtomicOp::FetchAdd),
        "atomic_fetch_or" => Some(AtomicOp::FetchOr),
        "atomic_fetch_and" => Some(AtomicOp::FetchAnd),
        "atomic_fetch_xor" => Some(AtomicOp::FetchXor),
        _ => None,
    };
    if let Some(op) = fetch {
        c.bump();
        c.expect_op("(")?;
        let col = c.col();
        let size = atomic_size(unsigned_ptr_type(c)?, col)?;
        check_value_width(dst, dst_col, size)?;
        let (base, off) = paren_addr(c)?;
        c.expect_op(",")?;
        same_reg(c, dst)?;
        c.expect_op(")")?;
        return Ok(Insn::Atomic {
            size,
            op,
            dst: base,
            src: dst.reg,
            off,
        });
    }
    let (op, size) = match name {
        "xchg_64" => (AtomicOp::Xchg, AtomicSize::DW),
        "xchg32_32" => (AtomicOp::Xchg, AtomicSize::W),
        "cmpxchg_64" => (AtomicOp::CmpXchg, AtomicSize::DW),
        "cmpxchg32_32" => (AtomicOp::CmpXchg, AtomicSize::W),
        _ => return Err(c.expected("an operand")),
    };
    c.bump();
    check_value_width(dst, dst_col, size)?;
    c.expect_op("(")?;
    let (base, off) = addr(c)?;
    c.expect_op(",")?;
    let src = if op == AtomicOp::CmpXchg {
        if dst.reg != Reg::R0 {
            return Err(LineError::new(
                dst_col,
                AsmErrorKind::InvalidOperand("cmpxchg writes r0"),
            ));
        }
        same_reg(c, dst)?;
        c.expect_op(",")?;
        value_reg(c, size.mem_size())?.reg
    } else {
        same_reg(c, dst)?;
        dst.reg
    };
    c.expect_op(")")?;
    Ok(Insn::Atomic {
        size,
        op,
        dst: base,
        src,
        off,
    })
}

/// A 64-bit atomic needs an `r` register; a 32-bit one takes `r` or `w`.
fn check_value_width(r: RegName, col: usize, size: AtomicSize) -> Result<(), LineError> {
    if size == AtomicSize::DW && r.width == Width::W32 {
        return Err(width_error(r, col, 64));
    }
    Ok(())
}
