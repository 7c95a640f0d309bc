//! Memory instructions: loads, stores, atomics and `lddw`.
//!
//! Takes one eBPF memory instruction; emits unchecked x86 memory accesses (the verifier has
//! proved them in bounds). Atomics are lock-prefixed: `lock add/or/and/xor` without fetch,
//! `lock xadd` for fetch-add, `xchg`, `lock cmpxchg` with r0 in rax, and a `lock cmpxchg`
//! loop for fetch-or/and/xor. `lddw` of a function reference loads the tagged slot number
//! `callx` accepts; map references are refused (plain bytecode has no maps).

use userbpf_isa::{AtomicOp, AtomicSize, LdImm64Kind, MemSize, Source};
use userbpf_runtime::interp::lddw_value;

use super::{Cg, Operand, TMP, TMP2, TMP3};
use crate::error::JitError;
use crate::x86::{self, Cond, Mem, Size, X86Insn, X86Reg};

fn size_of(size: MemSize) -> Size {
    match size {
        MemSize::B => Size::S8,
        MemSize::H => Size::S16,
        MemSize::W => Size::S32,
        MemSize::DW => Size::S64,
    }
}

pub(crate) fn load(cg: &mut Cg<'_>, size: MemSize, d: X86Reg, s: X86Reg, off: i16, sx: bool) {
    let mem = Mem::at(s, off as i32);
    let size = size_of(size);
    if sx {
        cg.emit(X86Insn::LoadSx { size, dst: d, mem });
    } else {
        cg.emit(X86Insn::Load { size, dst: d, mem });
        if size != Size::S64 {
            cg.known.zext = Some(d);
        }
    }
}

pub(crate) fn store(cg: &mut Cg<'_>, size: MemSize, d: X86Reg, off: i16, src: Source) {
    let mem = Mem::at(d, off as i32);
    let size = size_of(size);
    match cg.operand(src) {
        Operand::Reg(s) => cg.emit(X86Insn::Store { size, mem, src: s }),
        Operand::Imm(imm) => cg.emit(X86Insn::StoreImm { size, mem, imm }),
    }
}

pub(crate) fn atomic(
    cg: &mut Cg<'_>,
    size: AtomicSize,
    op: AtomicOp,
    d: X86Reg,
    s: X86Reg,
    off: i16,
) {
    use X86Reg::Rax;
    let size = match size {
        AtomicSize::W => Size::S32,
        AtomicSize::DW => Size::S64,
    };
    let mem = Mem::at(d, off as i32);
    let plain = |op| X86Insn::LockAlu {
        op,
        size,
        mem,
        src: s,
    };
    match op {
        AtomicOp::Add => cg.emit(plain(x86::AluOp::Add)),
        AtomicOp::Or => cg.emit(plain(x86::AluOp::Or)),
        AtomicOp::And => cg.emit(plain(x86::AluOp::And)),
        AtomicOp::Xor => cg.emit(plain(x86::AluOp::Xor)),
        AtomicOp::FetchAdd => cg.emit(X86Insn::LockXadd { size, mem, reg: s }),
        AtomicOp::Xchg => cg.emit(X86Insn::Xchg { size, mem, reg: s }),
        AtomicOp::CmpXchg => {
            cg.emit(X86Insn::LockCmpxchg { size, mem, reg: s });
            if size == Size::S32 {
                // On success the 32-bit form leaves rax untouched; r0 gets the
                // zero-extended old value either way.
                cg.emit(X86Insn::Mov {
                    size: Size::S32,
                    dst: Rax,
                    src: Rax,
                });
            }
        }
        AtomicOp::FetchOr | AtomicOp::FetchAnd | AtomicOp::FetchXor => {
            let xop = match op {
                AtomicOp::FetchOr => x86::AluOp::Or,
                AtomicOp::FetchAnd => x86::AluOp::And,
                _ => x86::AluOp::Xor,
            };
            // r9 = address; r10 = saved r0; rax = old value; r11 = new value.
            cg.borrow_tmp3();
            cg.emit(X86Insn::Lea { dst: TMP3, mem });
            cg.emit(X86Insn::Mov {
                size: Size::S64,
                dst: TMP2,
                src: Rax,
            });
            let operand = if s == Rax { TMP2 } else { s };
            let at = Mem::at(TMP3, 0);
            cg.emit(X86Insn::Load {
                size,
                dst: Rax,
                mem: at,
            });
            let retry = cg.a.label();
            cg.a.bind(retry);
            cg.emit(X86Insn::Mov {
                size: Size::S64,
                dst: TMP,
                src: Rax,
            });
            cg.emit(X86Insn::Alu {
                op: xop,
                size,
                dst: TMP,
                src: operand,
            });
            cg.emit(X86Insn::LockCmpxchg {
                size,
                mem: at,
                reg: TMP,
            });
            cg.a.jcc(Cond::Ne, retry);
            if s != Rax {
                cg.emit(X86Insn::Mov {
                    size: Size::S64,
                    dst: s,
                    src: Rax,
                });
                cg.emit(X86Insn::Mov {
                    size: Size::S64,
                    dst: Rax,
                    src: TMP2,
                });
            }
            cg.return_tmp3();
        }
    }
}

pub(crate) fn lddw(
    cg: &mut Cg<'_>,
    slot: usize,
    d: X86Reg,
    kind: LdImm64Kind,
    imm: i32,
    next_imm: i32,
) -> Result<(), JitError> {
    let value = lddw_value(slot, kind, imm, next_imm)?;
    match cg.key64() {
        Some(key) if kind == LdImm64Kind::Imm => {
            cg.emit(X86Insn::MovAbs {
                dst: d,
                imm: value ^ key,
            });
            cg.emit(X86Insn::MovAbs {
                dst: TMP2,
                imm: key,
            });
            cg.emit(X86Insn::Alu {
                op: x86::AluOp::Xor,
                size: Size::S64,
                dst: d,
                src: TMP2,
            });
        }
        _ => cg.load_const(d, value),
    }
    Ok(())
}
