//! Pieces shared by the inline map lookups ([`super::flow`]'s hash walk and [`super::lpm`]'s
//! trie walk) in generated code.
//!
//! Takes registers and labels from the lookup that emits them; gives the sequence-lock read
//! and re-check (an odd or changed sequence means a writer intervened: go to the slow
//! path), the bounds check of a node index read from shared memory, the step bound of a
//! walk, the NULL result, the thread's CPU id, and the slow path's direct call with r1
//! reloaded.

use userbpf_runtime::kernel_helpers::map_fast::DirectCall;

use super::flow::direct_call;
use super::{Cg, CTX};
use crate::asm::Label;
use crate::run::off;
use crate::x86::{AluOp, Cond, Mem, Size, X86Insn, X86Reg};

/// Read the lock word at `[lock]` into `seq`; an odd sequence (a writer holds the lock)
/// jumps to `slow`.
pub(crate) fn seq_begin(cg: &mut Cg<'_>, lock: X86Reg, seq: X86Reg, slow: Label) {
    cg.emit(X86Insn::Load {
        size: Size::S32,
        dst: seq,
        mem: Mem::at(lock, 0),
    });
    cg.emit(X86Insn::TestImm {
        size: Size::S32,
        dst: seq,
        imm: 1,
    });
    cg.a.jcc(Cond::Ne, slow);
}

/// Compare `seq` (read by [`seq_begin`]) with the lock word at `[lock]` again: a change
/// (a writer took the lock meanwhile) jumps to `slow`.
pub(crate) fn seq_recheck(cg: &mut Cg<'_>, seq: X86Reg, lock: X86Reg, slow: Label) {
    cg.emit(X86Insn::AluLoad {
        op: AluOp::Cmp,
        size: Size::S32,
        dst: seq,
        mem: Mem::at(lock, 0),
    });
    cg.a.jcc(Cond::Ne, slow);
}

/// A node index `idx` read from shared memory: 0 (no node) jumps to `end`; above `count`
/// (a corrupt or torn index) jumps to `slow`.
pub(crate) fn check_index(cg: &mut Cg<'_>, idx: X86Reg, count: u32, end: Label, slow: Label) {
    cg.emit(X86Insn::Test {
        size: Size::S32,
        a: idx,
        b: idx,
    });
    cg.a.jcc(Cond::E, end);
    cg.emit(X86Insn::AluImm {
        op: AluOp::Cmp,
        size: Size::S32,
        dst: idx,
        imm: count as i32,
    });
    cg.a.jcc(Cond::A, slow);
}

/// Count one step of a walk in `counter`; more than `max` (a cycle left by a racing
/// writer) jumps to `slow`.
pub(crate) fn count_step(cg: &mut Cg<'_>, counter: X86Reg, max: i32, slow: Label) {
    cg.emit(X86Insn::AluImm {
        op: AluOp::Add,
        size: Size::S32,
        dst: counter,
        imm: 1,
    });
    cg.emit(X86Insn::AluImm {
        op: AluOp::Cmp,
        size: Size::S32,
        dst: counter,
        imm: max,
    });
    cg.a.jcc(Cond::A, slow);
}

/// The NULL result: rax = 0, then on to `done`.
pub(crate) fn null_result(cg: &mut Cg<'_>, done: Label) {
    cg.emit(X86Insn::Alu {
        op: AluOp::Xor,
        size: Size::S32,
        dst: X86Reg::Rax,
        src: X86Reg::Rax,
    });
    cg.a.jmp(done);
}

/// The running thread's CPU id into `dst`: the u32 at the context's `cpu_slot` (as the
/// runtime's `bpf_get_smp_processor_id` reads it).
pub(crate) fn load_cpu_id(cg: &mut Cg<'_>, dst: X86Reg) {
    cg.emit(X86Insn::Load {
        size: Size::S64,
        dst,
        mem: Mem::at(CTX, off::CPU_SLOT),
    });
    cg.emit(X86Insn::Load {
        size: Size::S32,
        dst,
        mem: Mem::at(dst, 0),
    });
}

/// The slow path of an inline lookup: r1 reloaded with the map's handle (the walk used
/// rdi), then the lookup's direct call (r2 must hold the key pointer again).
pub(crate) fn slow_lookup(cg: &mut Cg<'_>, slot: usize, uid: u32, direct: DirectCall) {
    if let Some(h) = cg.r1_handle {
        cg.emit(X86Insn::MovAbs {
            dst: X86Reg::Rdi,
            imm: h,
        });
    }
    direct_call(cg, slot, uid, direct, X86Reg::Rdi);
}
