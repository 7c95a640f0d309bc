//! The interpreter's internal instruction form.
//!
//! Takes a decoded [`Program`]; gives one flat [`Op`] per slot, with immediates pre-extended,
//! jump targets made absolute and the hot ALU, load/store and branch forms specialised so the
//! execution loop dispatches once per instruction. Refuses (with [`LoadError`]) instructions
//! the interpreter cannot run: legacy packet loads, kfunc calls, unrelocated map references.

use userbpf_isa::{
    AluOp, AtomicOp, AtomicSize, ByteOrder, CallTarget, EndianBits, Insn, JmpCond, LdImm64Kind,
    MemSize, Program, Source, SxFrom, Width,
};

use super::callbacks::{EngineHelpers, TAIL_CALL_ID};
use crate::error::LoadError;
use crate::helpers::Helpers;

/// Tag of function pointers produced by `lddw rX, func` (`BPF_PSEUDO_FUNC`): the value is
/// `FUNC_PTR_TAG | slot`. `callx` accepts these and registered helper ids.
pub const FUNC_PTR_TAG: u64 = 0xfbf0_0000_0000_0000;

/// A register-or-immediate operand for the generic (slow-path) forms.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Operand {
    Reg(u8),
    Imm(i32),
}

#[derive(Clone, Copy, Debug)]
pub(crate) enum Op {
    Add64I(u8, i32),
    Add64R(u8, u8),
    Sub64I(u8, i32),
    Sub64R(u8, u8),
    Mul64I(u8, i32),
    Mul64R(u8, u8),
    Or64I(u8, i32),
    Or64R(u8, u8),
    And64I(u8, i32),
    And64R(u8, u8),
    Xor64I(u8, i32),
    Xor64R(u8, u8),
    Lsh64I(u8, u32),
    Lsh64R(u8, u8),
    Rsh64I(u8, u32),
    Rsh64R(u8, u8),
    Arsh64I(u8, u32),
    Arsh64R(u8, u8),
    Mov64I(u8, i32),
    Mov64R(u8, u8),
    Add32I(u8, u32),
    Add32R(u8, u8),
    Sub32I(u8, u32),
    Sub32R(u8, u8),
    Mul32I(u8, u32),
    Mul32R(u8, u8),
    Or32I(u8, u32),
    Or32R(u8, u8),
    And32I(u8, u32),
    And32R(u8, u8),
    Xor32I(u8, u32),
    Xor32R(u8, u8),
    Lsh32I(u8, u32),
    Lsh32R(u8, u8),
    Rsh32I(u8, u32),
    Rsh32R(u8, u8),
    Arsh32I(u8, u32),
    Arsh32R(u8, u8),
    Mov32I(u8, u32),
    Mov32R(u8, u8),
    /// Unsigned division and modulo by a register (zero checked at run time).
    Div64R(u8, u8),
    Mod64R(u8, u8),
    Div32R(u8, u8),
    Mod32R(u8, u8),
    /// Unsigned division and modulo by a non-zero immediate.
    Div64I(u8, u64),
    Mod64I(u8, u64),
    Div32I(u8, u32),
    Mod32I(u8, u32),
    /// Other forms (signed division, division by an immediate zero), through the shared
    /// semantics.
    AluSlow(Width, AluOp, u8, Operand),
    Neg64(u8),
    Neg32(u8),
    MovSx(Width, u8, u8, SxFrom),
    Endian(ByteOrder, EndianBits, u8),
    /// Loads: (dst, base, off).
    Ldxb(u8, u8, i16),
    Ldxh(u8, u8, i16),
    Ldxw(u8, u8, i16),
    Ldxdw(u8, u8, i16),
    /// Sign-extending loads: (dst, base, off).
    Ldxsb(u8, u8, i16),
    Ldxsh(u8, u8, i16),
    Ldxsw(u8, u8, i16),
    /// Register stores: (base, src, off).
    Stxb(u8, u8, i16),
    Stxh(u8, u8, i16),
    Stxw(u8, u8, i16),
    Stxdw(u8, u8, i16),
    /// Immediate stores: (base, off, imm).
    Stb(u8, i16, i32),
    Sth(u8, i16, i32),
    Stw(u8, i16, i32),
    Stdw(u8, i16, i32),
    Atomic(AtomicSize, AtomicOp, u8, u8, i16),
    LoadImm(u8, u64),
    /// `lddw r1, imm` directly followed by `call helper id` (a map helper's map argument):
    /// (id, imm). Runs both; the original ops stay in the following slots for jumps there.
    LddwR1Call(u32, u64),
    /// Second slot of lddw; never a jump target.
    Nop,
    Ja(u32),
    JeqI(u8, i32, u32),
    JeqR(u8, u8, u32),
    JneI(u8, i32, u32),
    JneR(u8, u8, u32),
    JgtI(u8, i32, u32),
    JgtR(u8, u8, u32),
    JgeI(u8, i32, u32),
    JgeR(u8, u8, u32),
    JltI(u8, i32, u32),
    JltR(u8, u8, u32),
    JleI(u8, i32, u32),
    JleR(u8, u8, u32),
    JsetI(u8, i32, u32),
    JsetR(u8, u8, u32),
    JsgtI(u8, i32, u32),
    JsgtR(u8, u8, u32),
    JsgeI(u8, i32, u32),
    JsgeR(u8, u8, u32),
    JsltI(u8, i32, u32),
    JsltR(u8, u8, u32),
    JsleI(u8, i32, u32),
    JsleR(u8, u8, u32),
    /// 32-bit conditional jump, generic.
    Jmp32(JmpCond, u8, Operand, u32),
    CallHelper(u32),
    /// A helper that calls back into the program (`bpf_loop`, `bpf_for_each_map_elem`).
    CallEngine(u32),
    /// `bpf_tail_call` with a resolver.
    TailCall,
    CallLocal(u32),
    CallX(u8),
    Exit,
    MayGoto(u32),
    /// Past the last instruction.
    End,
}

/// The value `lddw` loads in an engine running plain (relocated) bytecode: the constant,
/// or a function pointer `FUNC_PTR_TAG | target slot`. Map and kernel-variable references
/// are refused: the instance relocates map references into constants before any engine
/// sees them. Shared by the interpreter and the JIT.
///
/// # Errors
/// [`LoadError::Unsupported`] for map and BTF-id pseudo sources.
pub fn lddw_value(
    slot: usize,
    kind: LdImm64Kind,
    imm: i32,
    next_imm: i32,
) -> Result<u64, LoadError> {
    let unsupported = |what, why| LoadError::Unsupported { slot, what, why };
    match kind {
        LdImm64Kind::Imm => Ok(Insn::imm64(imm, next_imm)),
        LdImm64Kind::Func => Ok(FUNC_PTR_TAG | (slot as i64 + 1 + imm as i64) as u64),
        LdImm64Kind::MapFd
        | LdImm64Kind::MapValue
        | LdImm64Kind::MapIdx
        | LdImm64Kind::MapIdxValue => Err(unsupported(
            "a map reference (lddw with a map pseudo source)",
            "plain bytecode has no maps; load an ELF object instead",
        )),
        LdImm64Kind::BtfId => Err(unsupported(
            "a kernel variable reference (lddw BPF_PSEUDO_BTF_ID)",
            "user space has no kernel variables",
        )),
    }
}

fn target(slot: usize, off: i64) -> u32 {
    // Targets were validated by Program::check_targets, so this is within 0..slot_count.
    (slot as i64 + 1 + off) as u32
}

fn alu_op(width: Width, op: AluOp, d: u8, src: Source) -> Op {
    use Op::*;
    match (width, src) {
        (Width::W64, Source::Imm(i)) => {
            let sh = (i as u32) & 63;
            let v = i as i64 as u64;
            match op {
                AluOp::Add => Add64I(d, i),
                AluOp::Sub => Sub64I(d, i),
                AluOp::Mul => Mul64I(d, i),
                AluOp::Or => Or64I(d, i),
                AluOp::And => And64I(d, i),
                AluOp::Xor => Xor64I(d, i),
                AluOp::Lsh => Lsh64I(d, sh),
                AluOp::Rsh => Rsh64I(d, sh),
                AluOp::Arsh => Arsh64I(d, sh),
                AluOp::Mov => Mov64I(d, i),
                AluOp::Div if v != 0 => Div64I(d, v),
                AluOp::Mod if v != 0 => Mod64I(d, v),
                AluOp::Div | AluOp::SDiv | AluOp::Mod | AluOp::SMod => {
                    AluSlow(width, op, d, Operand::Imm(i))
                }
            }
        }
        (Width::W32, Source::Imm(i)) => {
            let v = i as u32;
            let sh = v & 31;
            match op {
                AluOp::Add => Add32I(d, v),
                AluOp::Sub => Sub32I(d, v),
                AluOp::Mul => Mul32I(d, v),
                AluOp::Or => Or32I(d, v),
                AluOp::And => And32I(d, v),
                AluOp::Xor => Xor32I(d, v),
                AluOp::Lsh => Lsh32I(d, sh),
                AluOp::Rsh => Rsh32I(d, sh),
                AluOp::Arsh => Arsh32I(d, sh),
                AluOp::Mov => Mov32I(d, v),
                AluOp::Div if v != 0 => Div32I(d, v),
                AluOp::Mod if v != 0 => Mod32I(d, v),
                AluOp::Div | AluOp::SDiv | AluOp::Mod | AluOp::SMod => {
                    AluSlow(width, op, d, Operand::Imm(i))
                }
            }
        }
        (Width::W64, Source::Reg(s)) => {
            let s = s.num();
            match op {
                AluOp::Add => Add64R(d, s),
                AluOp::Sub => Sub64R(d, s),
                AluOp::Mul => Mul64R(d, s),
                AluOp::Or => Or64R(d, s),
                AluOp::And => And64R(d, s),
                AluOp::Xor => Xor64R(d, s),
                AluOp::Lsh => Lsh64R(d, s),
                AluOp::Rsh => Rsh64R(d, s),
                AluOp::Arsh => Arsh64R(d, s),
                AluOp::Mov => Mov64R(d, s),
                AluOp::Div => Div64R(d, s),
                AluOp::Mod => Mod64R(d, s),
                AluOp::SDiv | AluOp::SMod => AluSlow(width, op, d, Operand::Reg(s)),
            }
        }
        (Width::W32, Source::Reg(s)) => {
            let s = s.num();
            match op {
                AluOp::Add => Add32R(d, s),
                AluOp::Sub => Sub32R(d, s),
                AluOp::Mul => Mul32R(d, s),
                AluOp::Or => Or32R(d, s),
                AluOp::And => And32R(d, s),
                AluOp::Xor => Xor32R(d, s),
                AluOp::Lsh => Lsh32R(d, s),
                AluOp::Rsh => Rsh32R(d, s),
                AluOp::Arsh => Arsh32R(d, s),
                AluOp::Mov => Mov32R(d, s),
                AluOp::Div => Div32R(d, s),
                AluOp::Mod => Mod32R(d, s),
                AluOp::SDiv | AluOp::SMod => AluSlow(width, op, d, Operand::Reg(s)),
            }
        }
    }
}

fn jump64(cond: JmpCond, d: u8, src: Source, t: u32) -> Op {
    use Op::*;
    match src {
        Source::Imm(v) => match cond {
            JmpCond::Eq => JeqI(d, v, t),
            JmpCond::Ne => JneI(d, v, t),
            JmpCond::Gt => JgtI(d, v, t),
            JmpCond::Ge => JgeI(d, v, t),
            JmpCond::Lt => JltI(d, v, t),
            JmpCond::Le => JleI(d, v, t),
            JmpCond::Set => JsetI(d, v, t),
            JmpCond::SGt => JsgtI(d, v, t),
            JmpCond::SGe => JsgeI(d, v, t),
            JmpCond::SLt => JsltI(d, v, t),
            JmpCond::SLe => JsleI(d, v, t),
        },
        Source::Reg(s) => {
            let s = s.num();
            match cond {
                JmpCond::Eq => JeqR(d, s, t),
                JmpCond::Ne => JneR(d, s, t),
                JmpCond::Gt => JgtR(d, s, t),
                JmpCond::Ge => JgeR(d, s, t),
                JmpCond::Lt => JltR(d, s, t),
                JmpCond::Le => JleR(d, s, t),
                JmpCond::Set => JsetR(d, s, t),
                JmpCond::SGt => JsgtR(d, s, t),
                JmpCond::SGe => JsgeR(d, s, t),
                JmpCond::SLt => JsltR(d, s, t),
                JmpCond::SLe => JsleR(d, s, t),
            }
        }
    }
}

/// Translate a program into ops, one per slot plus a final [`Op::End`].
pub(crate) fn translate(
    program: &Program,
    helpers: &Helpers,
    engine: &EngineHelpers,
) -> Result<Vec<Op>, LoadError> {
    program.check_targets()?;
    let mut ops = Vec::with_capacity(program.slot_count() + 1);
    for (slot, insn) in program.iter() {
        let unsupported = |what, why| LoadError::Unsupported { slot, what, why };
        let op = match *insn {
            Insn::Alu {
                width,
                op,
                dst,
                src,
            } => alu_op(width, op, dst.num(), src),
            Insn::Neg { width, dst } => match width {
                Width::W64 => Op::Neg64(dst.num()),
                Width::W32 => Op::Neg32(dst.num()),
            },
            Insn::MovSx {
                width,
                dst,
                src,
                from,
            } => Op::MovSx(width, dst.num(), src.num(), from),
            Insn::Endian { order, bits, dst } => Op::Endian(order, bits, dst.num()),
            Insn::Load {
                size,
                dst,
                src,
                off,
            } => {
                let (d, s) = (dst.num(), src.num());
                match size {
                    MemSize::B => Op::Ldxb(d, s, off),
                    MemSize::H => Op::Ldxh(d, s, off),
                    MemSize::W => Op::Ldxw(d, s, off),
                    MemSize::DW => Op::Ldxdw(d, s, off),
                }
            }
            Insn::LoadSx {
                size,
                dst,
                src,
                off,
            } => {
                let (d, s) = (dst.num(), src.num());
                match size {
                    MemSize::B => Op::Ldxsb(d, s, off),
                    MemSize::H => Op::Ldxsh(d, s, off),
                    // Decoding admits no 8-byte sign-extending load; W covers the rest.
                    MemSize::W | MemSize::DW => Op::Ldxsw(d, s, off),
                }
            }
            Insn::Store {
                size,
                dst,
                off,
                src,
            } => {
                let d = dst.num();
                match (src, size) {
                    (Source::Reg(s), MemSize::B) => Op::Stxb(d, s.num(), off),
                    (Source::Reg(s), MemSize::H) => Op::Stxh(d, s.num(), off),
                    (Source::Reg(s), MemSize::W) => Op::Stxw(d, s.num(), off),
                    (Source::Reg(s), MemSize::DW) => Op::Stxdw(d, s.num(), off),
                    (Source::Imm(i), MemSize::B) => Op::Stb(d, off, i),
                    (Source::Imm(i), MemSize::H) => Op::Sth(d, off, i),
                    (Source::Imm(i), MemSize::W) => Op::Stw(d, off, i),
                    (Source::Imm(i), MemSize::DW) => Op::Stdw(d, off, i),
                }
            }
            Insn::Atomic {
                size,
                op,
                dst,
                src,
                off,
            } => Op::Atomic(size, op, dst.num(), src.num(), off),
            Insn::LdImm64 {
                dst,
                kind,
                imm,
                next_imm,
            } => Op::LoadImm(dst.num(), lddw_value(slot, kind, imm, next_imm)?),
            Insn::LoadPacket { .. } => {
                return Err(unsupported(
                    "a legacy packet load (ld_abs/ld_ind)",
                    "it needs a socket-buffer context: only socket filter and tc programs \
                     have one (their instances rewrite these loads)",
                ))
            }
            Insn::Ja { off } => Op::Ja(target(slot, off as i64)),
            Insn::Gotol { off } => Op::Ja(target(slot, off as i64)),
            Insn::Jump {
                width,
                cond,
                dst,
                src,
                off,
            } => {
                let t = target(slot, off as i64);
                match width {
                    Width::W64 => jump64(cond, dst.num(), src, t),
                    Width::W32 => {
                        let operand = match src {
                            Source::Reg(r) => Operand::Reg(r.num()),
                            Source::Imm(i) => Operand::Imm(i),
                        };
                        Op::Jmp32(cond, dst.num(), operand, t)
                    }
                }
            }
            Insn::Call(CallTarget::Helper(id)) => {
                let uid = id as u32;
                if id < 0 {
                    return Err(LoadError::UnknownHelper { slot, id });
                } else if engine.get(uid).is_some() {
                    Op::CallEngine(uid)
                } else if uid == TAIL_CALL_ID && engine.tail_calls.is_some() {
                    Op::TailCall
                } else if helpers.contains(uid) {
                    Op::CallHelper(uid)
                } else {
                    return Err(LoadError::UnknownHelper { slot, id });
                }
            }
            Insn::Call(CallTarget::Local(rel)) => Op::CallLocal(target(slot, rel as i64)),
            Insn::Call(CallTarget::Kfunc { .. }) => {
                return Err(unsupported(
                    "a kernel function call (kfunc)",
                    "kernel functions do not exist in user space",
                ))
            }
            Insn::CallX { reg } => Op::CallX(reg.num()),
            Insn::Exit => Op::Exit,
            Insn::MayGoto { off } => Op::MayGoto(target(slot, off as i64)),
        };
        ops.push(op);
        if insn.slots() == 2 {
            ops.push(Op::Nop);
        }
    }
    ops.push(Op::End);
    fuse(&mut ops);
    Ok(ops)
}

/// Fuse `lddw r1, imm; call helper` (how clang passes a map to a map helper) into one op
/// in the lddw's slot.
fn fuse(ops: &mut [Op]) {
    for i in 0..ops.len().saturating_sub(2) {
        if let (Op::LoadImm(1, imm), Op::Nop, Op::CallHelper(id)) = (ops[i], ops[i + 1], ops[i + 2])
        {
            ops[i] = Op::LddwR1Call(id, imm);
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn ops_are_compact() {
        assert!(std::mem::size_of::<super::Op>() <= 16);
    }
}
