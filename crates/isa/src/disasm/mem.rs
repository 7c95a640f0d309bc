//! Memory: loads, stores, atomics, `lddw` and the legacy packet loads.
//!
//! Takes one of those instructions and whether to print `w` registers for sub-64-bit
//! accesses (objdump with alu32); gives LLVM's text: `r2 = *(u8 *)(r1 + 0x2)`,
//! `*(u64 *)(r10 - 0x8) = -0x1`, `lock *(u64 *)(r1 + 0x0) += r2`,
//! `r2 = atomic_fetch_add((u64 *)(r1 + 0x0), r2)`, `r0 = cmpxchg_64(r1 + 0x0, r0, r2)`,
//! `r1 = 0x1234 ll`, `ld_pseudo\tr1, 0x1, 0x3`, `r0 = *(u16 *)skb[0xc]`.

use super::operand::{imm, mem, reg};
use crate::insn::{AtomicOp, AtomicSize, Insn, LdImm64Kind, MemSize, PacketMode, Source, Width};

/// The register view objdump uses for a value register of an access of `size` bytes.
fn value_width(size: MemSize, alu32: bool) -> Width {
    if alu32 && size != MemSize::DW {
        Width::W32
    } else {
        Width::W64
    }
}

fn signed_type(size: MemSize) -> &'static str {
    match size {
        MemSize::B => "s8",
        MemSize::H => "s16",
        MemSize::W | MemSize::DW => "s32",
    }
}

/// Format a memory-family instruction; any other instruction gives an empty string.
pub fn format(insn: &Insn, alu32: bool) -> String {
    match *insn {
        Insn::Load {
            size,
            dst,
            src,
            off,
        } => format!(
            "{} = *({} *)({})",
            reg(dst, value_width(size, alu32)),
            size.c_type(),
            mem(src, off)
        ),
        Insn::LoadSx {
            size,
            dst,
            src,
            off,
        } => format!(
            "r{} = *({} *)({})",
            dst.num(),
            signed_type(size),
            mem(src, off)
        ),
        Insn::Store {
            size,
            dst,
            off,
            src,
        } => {
            let value = match src {
                Source::Reg(r) => reg(r, value_width(size, alu32)),
                Source::Imm(i) => imm(i as i64),
            };
            format!("*({} *)({}) = {value}", size.c_type(), mem(dst, off))
        }
        Insn::Atomic {
            size,
            op,
            dst,
            src,
            off,
        } => atomic(size, op, dst, src, off, alu32),
        Insn::LdImm64 {
            dst,
            kind,
            imm: lo,
            next_imm,
        } => match kind {
            LdImm64Kind::Imm => {
                format!(
                    "r{} = {} ll",
                    dst.num(),
                    imm(Insn::imm64(lo, next_imm) as i64)
                )
            }
            _ => format!(
                "ld_pseudo\tr{}, {}, {}",
                dst.num(),
                imm(pseudo_src(kind) as i64),
                imm(lo as i64)
            ),
        },
        Insn::LoadPacket { size, mode, imm: k } => {
            let index = match mode {
                PacketMode::Abs => imm(k as i64),
                PacketMode::Ind(r) => format!("r{}", r.num()),
            };
            format!("r0 = *({} *)skb[{index}]", size.c_type())
        }
        _ => String::new(),
    }
}

/// The source-register value that selects an `lddw` kind (what `ld_pseudo` prints).
fn pseudo_src(kind: LdImm64Kind) -> u8 {
    match kind {
        LdImm64Kind::Imm => 0,
        LdImm64Kind::MapFd => 1,
        LdImm64Kind::MapValue => 2,
        LdImm64Kind::BtfId => 3,
        LdImm64Kind::Func => 4,
        LdImm64Kind::MapIdx => 5,
        LdImm64Kind::MapIdxValue => 6,
    }
}

fn atomic(
    size: AtomicSize,
    op: AtomicOp,
    dst: crate::Reg,
    src: crate::Reg,
    off: i16,
    alu32: bool,
) -> String {
    let ty = size.mem_size().c_type();
    let addr = mem(dst, off);
    // objdump without alu32 decodes only the plain 32-bit `lock ... += r`; every other 32-bit
    // atomic exists only in its alu32 form, printed with `w` registers.
    let width = match (size, op) {
        (AtomicSize::DW, _) => Width::W64,
        (AtomicSize::W, AtomicOp::Add) if !alu32 => Width::W64,
        (AtomicSize::W, _) => Width::W32,
    };
    let v = reg(src, width);
    let bits = match size {
        AtomicSize::W => "32",
        AtomicSize::DW => "64",
    };
    let xchg_prefix = match size {
        AtomicSize::W => "32",
        AtomicSize::DW => "",
    };
    match op {
        AtomicOp::Add => format!("lock *({ty} *)({addr}) += {v}"),
        AtomicOp::Or => format!("lock *({ty} *)({addr}) |= {v}"),
        AtomicOp::And => format!("lock *({ty} *)({addr}) &= {v}"),
        AtomicOp::Xor => format!("lock *({ty} *)({addr}) ^= {v}"),
        AtomicOp::FetchAdd => format!("{v} = atomic_fetch_add(({ty} *)({addr}), {v})"),
        AtomicOp::FetchOr => format!("{v} = atomic_fetch_or(({ty} *)({addr}), {v})"),
        AtomicOp::FetchAnd => format!("{v} = atomic_fetch_and(({ty} *)({addr}), {v})"),
        AtomicOp::FetchXor => format!("{v} = atomic_fetch_xor(({ty} *)({addr}), {v})"),
        AtomicOp::Xchg => format!("{v} = xchg{xchg_prefix}_{bits}({addr}, {v})"),
        AtomicOp::CmpXchg => {
            let r0 = reg(crate::Reg::R0, width);
            format!("{r0} = cmpxchg{xchg_prefix}_{bits}({addr}, {r0}, {v})")
        }
    }
}
