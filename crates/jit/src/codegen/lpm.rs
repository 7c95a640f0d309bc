//! `bpf_map_lookup_elem` on an LPM trie with IPv4 keys, in generated code.
//!
//! Takes the trie's [`LpmInline`] layout and the direct call of its slow path; emits the
//! lock-free walk `userbpf_runtime::kernel_helpers::map_fast::LpmInline` describes (the
//! kernel's `trie_lookup_elem`), with the direct call for everything it does not settle
//! (a writer holding or taking the lock meanwhile, a corrupt node). r2 keeps the key
//! pointer; rax gets the value's address or 0.

use userbpf_runtime::kernel_helpers::map_fast::{DirectCall, LpmInline};

use super::inline_map::{
    check_index, count_step, null_result, seq_begin, seq_recheck, slow_lookup,
};
use super::{Cg, TMP, TMP2};
use crate::x86::{AluOp, Cond, Mem, Scale, ShiftBy, ShiftOp, Size, X86Insn, X86Reg};

/// Data bits of the keys the inline walk handles.
const BITS: i32 = 32;

/// The walk. Registers: r10d the key's data (host order), edx its prefix length, edi the
/// lock's sequence, r8 the last matching element (0: none), esi the step count (r2 is
/// pushed meanwhile and restored for the slow path), eax the node index then scratch, r11
/// the node's address, ecx shift counts. Uses rax, rcx, rdx, rdi, rsi, r8, r10 and r11
/// (r1–r5 are undefined after a helper call).
pub(crate) fn inline_lpm_lookup(
    cg: &mut Cg<'_>,
    slot: usize,
    uid: u32,
    l: LpmInline,
    direct: DirectCall,
) {
    use X86Reg::{Rax, Rcx, Rdi, Rdx, Rsi, R8};
    let (key, node) = (TMP2, TMP);
    let (walk, kind_ok, not_max, not_elem, end, result_none, slow, done) = (
        cg.a.label(),
        cg.a.label(),
        cg.a.label(),
        cg.a.label(),
        cg.a.label(),
        cg.a.label(),
        cg.a.label(),
        cg.a.label(),
    );
    // The key: a prefix length above the data's bits matches nothing.
    cg.emit(X86Insn::Load {
        size: Size::S32,
        dst: Rdx,
        mem: Mem::at(Rsi, 0),
    });
    cg.emit(X86Insn::AluImm {
        op: AluOp::Cmp,
        size: Size::S32,
        dst: Rdx,
        imm: BITS,
    });
    cg.a.jcc(Cond::A, result_none);
    cg.emit(X86Insn::Load {
        size: Size::S32,
        dst: key,
        mem: Mem::at(Rsi, 4),
    });
    cg.emit(X86Insn::Bswap {
        size: Size::S32,
        reg: key,
    });
    cg.emit(X86Insn::Push(Rsi));
    // The sequence (odd: a writer holds the lock).
    cg.emit(X86Insn::MovAbs {
        dst: Rax,
        imm: l.lock,
    });
    seq_begin(cg, Rax, Rdi, slow);
    for r in [R8, Rsi] {
        cg.emit(X86Insn::Alu {
            op: AluOp::Xor,
            size: Size::S32,
            dst: r,
            src: r,
        });
    }
    cg.emit(X86Insn::MovAbs {
        dst: Rax,
        imm: l.root,
    });
    cg.emit(X86Insn::Load {
        size: Size::S32,
        dst: Rax,
        mem: Mem::at(Rax, 0),
    });
    // eax: the node index.
    cg.a.bind(walk);
    check_index(cg, Rax, l.count, end, slow);
    cg.emit(X86Insn::ImulImm {
        size: Size::S64,
        dst: node,
        src: Rax,
        imm: l.node_size as i32,
    });
    cg.emit(X86Insn::MovAbs {
        dst: Rax,
        imm: l.nodes,
    });
    cg.emit(X86Insn::Alu {
        op: AluOp::Add,
        size: Size::S64,
        dst: node,
        src: Rax,
    });
    // Its kind: an element (1) or an intermediate node (2).
    cg.emit(X86Insn::Load {
        size: Size::S32,
        dst: Rax,
        mem: Mem::at(node, l.flags_off as i32),
    });
    cg.emit(X86Insn::AluImm {
        op: AluOp::Cmp,
        size: Size::S32,
        dst: Rax,
        imm: 1,
    });
    cg.a.jcc(Cond::E, kind_ok);
    cg.emit(X86Insn::AluImm {
        op: AluOp::Cmp,
        size: Size::S32,
        dst: Rax,
        imm: 2,
    });
    cg.a.jcc(Cond::Ne, slow);
    cg.a.bind(kind_ok);
    // Its prefix length np: at most the data's bits; above the key's, the walk ends.
    cg.emit(X86Insn::Load {
        size: Size::S32,
        dst: Rcx,
        mem: Mem::at(node, l.plen_off as i32),
    });
    cg.emit(X86Insn::AluImm {
        op: AluOp::Cmp,
        size: Size::S32,
        dst: Rcx,
        imm: BITS,
    });
    cg.a.jcc(Cond::A, slow);
    cg.emit(X86Insn::Alu {
        op: AluOp::Cmp,
        size: Size::S32,
        dst: Rcx,
        src: Rdx,
    });
    cg.a.jcc(Cond::A, end);
    // The first np bits of its data and the key's: (data ^ key) >> (32 - np) == 0 (a
    // 64-bit shift of the zero-extended word, so np 0 and 32 both work).
    cg.emit(X86Insn::Load {
        size: Size::S32,
        dst: Rax,
        mem: Mem::at(node, l.data_off as i32),
    });
    cg.emit(X86Insn::Bswap {
        size: Size::S32,
        reg: Rax,
    });
    cg.emit(X86Insn::Alu {
        op: AluOp::Xor,
        size: Size::S32,
        dst: Rax,
        src: key,
    });
    cg.emit(X86Insn::Neg {
        size: Size::S32,
        dst: Rcx,
    });
    cg.emit(X86Insn::AluImm {
        op: AluOp::Add,
        size: Size::S32,
        dst: Rcx,
        imm: BITS,
    });
    cg.emit(X86Insn::Shift {
        op: ShiftOp::Shr,
        size: Size::S64,
        dst: Rax,
        by: ShiftBy::Cl,
    });
    cg.emit(X86Insn::Test {
        size: Size::S64,
        a: Rax,
        b: Rax,
    });
    cg.a.jcc(Cond::Ne, end);
    // A match: all of the data's bits is the result; else an element is remembered.
    cg.emit(X86Insn::AluMemImm {
        op: AluOp::Cmp,
        size: Size::S32,
        mem: Mem::at(node, l.plen_off as i32),
        imm: BITS,
    });
    cg.a.jcc(Cond::Ne, not_max);
    cg.emit(X86Insn::Mov {
        size: Size::S64,
        dst: R8,
        src: node,
    });
    cg.a.jmp(end);
    cg.a.bind(not_max);
    cg.emit(X86Insn::AluMemImm {
        op: AluOp::Cmp,
        size: Size::S32,
        mem: Mem::at(node, l.flags_off as i32),
        imm: 1,
    });
    cg.a.jcc(Cond::Ne, not_elem);
    cg.emit(X86Insn::Mov {
        size: Size::S64,
        dst: R8,
        src: node,
    });
    cg.a.bind(not_elem);
    // The child bit np of the key chooses: (key >> (31 - np)) & 1, np < 32 here.
    cg.emit(X86Insn::MovImm32 {
        dst: Rcx,
        imm: (BITS - 1) as u32,
    });
    cg.emit(X86Insn::AluLoad {
        op: AluOp::Sub,
        size: Size::S32,
        dst: Rcx,
        mem: Mem::at(node, l.plen_off as i32),
    });
    cg.emit(X86Insn::Mov {
        size: Size::S32,
        dst: Rax,
        src: key,
    });
    cg.emit(X86Insn::Shift {
        op: ShiftOp::Shr,
        size: Size::S32,
        dst: Rax,
        by: ShiftBy::Cl,
    });
    cg.emit(X86Insn::AluImm {
        op: AluOp::And,
        size: Size::S32,
        dst: Rax,
        imm: 1,
    });
    cg.emit(X86Insn::Load {
        size: Size::S32,
        dst: Rax,
        mem: Mem::indexed(node, Rax, Scale::S4, l.child_off as i32),
    });
    // At most one node per prefix length on a path.
    count_step(cg, Rsi, BITS + 1, slow);
    cg.a.jmp(walk);
    // The end: valid if no writer took the lock meanwhile.
    cg.a.bind(end);
    cg.emit(X86Insn::MovAbs {
        dst: Rax,
        imm: l.lock,
    });
    seq_recheck(cg, Rdi, Rax, slow);
    cg.emit(X86Insn::Pop(Rsi));
    cg.emit(X86Insn::Test {
        size: Size::S64,
        a: R8,
        b: R8,
    });
    cg.a.jcc(Cond::E, result_none);
    cg.emit(X86Insn::Lea {
        dst: Rax,
        mem: Mem::at(R8, l.value_off as i32),
    });
    cg.a.jmp(done);
    cg.a.bind(result_none);
    null_result(cg, done);
    // Everything else: the direct call, with r1 the handle and r2 the key again.
    cg.a.bind(slow);
    cg.emit(X86Insn::Pop(Rsi));
    slow_lookup(cg, slot, uid, direct);
    cg.a.bind(done);
}
