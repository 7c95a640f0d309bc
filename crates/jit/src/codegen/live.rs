//! Register liveness: which eBPF registers may still be read after each instruction.
//!
//! Takes a program; gives, per slot, the set of registers live after it (bit i for ri), by
//! the usual backward dataflow over the control-flow graph, solved with a worklist (one
//! visit per instruction for code without loops). It
//! is conservative for unverified (trusted) code, which may rely on the JIT's conventions:
//! there local calls and `callx` read r0–r9 (the callee runs on the same registers) and
//! write nothing, and a subprogram's `exit` reads r0–r5. For verified programs (and the
//! main function's `exit`) the eBPF calling convention holds: calls read r1–r5 and write
//! r0–r5, `exit` reads r0. Helper calls read r1–r5 and write r0–r5. The code generator uses it to skip saving x86 registers whose eBPF values are dead
//! around division and shifts.

use userbpf_isa::{AluOp, AtomicOp, CallTarget, Insn, Program, Source};
use userbpf_runtime::interp::callbacks::TAIL_CALL_ID;

const ARGS: u16 = 0b11_1110;
const R0_TO_R5: u16 = 0b11_1111;
const R0_TO_R9: u16 = 0b11_1111_1111;

fn bit(r: userbpf_isa::Reg) -> u16 {
    1 << r.idx()
}

fn src_bits(s: Source) -> u16 {
    match s {
        Source::Reg(r) => bit(r),
        Source::Imm(_) => 0,
    }
}

/// (use, def) of one instruction. `verified`: the verifier guarantees that nothing reads
/// r1–r5 after a call or a subprogram's registers other than its arguments; `main`: the
/// instruction belongs to the main function (its `exit` ends the run).
fn use_def(insn: &Insn, verified: bool, main: bool) -> (u16, u16) {
    match *insn {
        Insn::Call(CallTarget::Local(_)) | Insn::CallX { .. } if verified => {
            let reg = match *insn {
                Insn::CallX { reg } => bit(reg),
                _ => 0,
            };
            (ARGS | reg, R0_TO_R5)
        }
        Insn::Exit if verified || main => (1, 0),
        Insn::Alu {
            op: AluOp::Mov,
            dst,
            src,
            ..
        } => (src_bits(src), bit(dst)),
        Insn::Alu { dst, src, .. } => (bit(dst) | src_bits(src), bit(dst)),
        Insn::Neg { dst, .. } | Insn::Endian { dst, .. } => (bit(dst), bit(dst)),
        Insn::MovSx { dst, src, .. } => (bit(src), bit(dst)),
        Insn::Load { dst, src, .. } | Insn::LoadSx { dst, src, .. } => (bit(src), bit(dst)),
        Insn::Store { dst, src, .. } => (bit(dst) | src_bits(src), 0),
        Insn::Atomic { op, dst, src, .. } => match op {
            AtomicOp::CmpXchg => (bit(dst) | bit(src) | 1, 1),
            AtomicOp::Add | AtomicOp::Or | AtomicOp::And | AtomicOp::Xor => {
                (bit(dst) | bit(src), 0)
            }
            _ => (bit(dst) | bit(src), bit(src)),
        },
        Insn::LdImm64 { dst, .. } => (0, bit(dst)),
        Insn::LoadPacket { .. } => (0x7ff, R0_TO_R5),
        Insn::Ja { .. } | Insn::Gotol { .. } | Insn::MayGoto { .. } => (0, 0),
        Insn::Jump { dst, src, .. } => (bit(dst) | src_bits(src), 0),
        // The callee runs on the same registers: in trusted code it may read any of them.
        Insn::Call(CallTarget::Local(_)) => (R0_TO_R9, 0),
        Insn::Call(_) => (ARGS, R0_TO_R5),
        Insn::CallX { .. } => (R0_TO_R9, 0),
        Insn::Exit => (R0_TO_R5, 0),
    }
}

/// Registers an instruction may write (conservatively, as for unverified code).
pub(crate) fn defs(insn: &Insn) -> u16 {
    let (_, d) = use_def(insn, false, false);
    match insn {
        Insn::Call(_) | Insn::CallX { .. } => R0_TO_R5,
        _ => d,
    }
}

/// The result of [`live_out`].
pub(crate) struct Liveness {
    /// Registers live after each slot (0 for the second slot of `lddw`).
    pub out: Vec<u16>,
    /// Registers live into slot 0 (read before written).
    pub entry: u16,
    /// Registers some instruction reads or writes (r10 included).
    pub used: u16,
    /// Whether the program has subprograms, `callx` or tail calls (code that may run on
    /// other registers' values than the main function's own).
    pub frames: bool,
}

/// Registers live after each slot, and what the entry code needs to know.
pub(crate) fn live_out(program: &Program, verified: bool) -> Liveness {
    let n = program.slot_count();
    let insns = program.insns();
    let starts = program.starts();
    // Successor slots of each instruction.
    let mut index_of = vec![usize::MAX; n + 1];
    for (i, &s) in starts.iter().enumerate() {
        index_of[s] = i;
    }
    // The main function ends where the first subprogram starts.
    let mut main_end = n;
    for (slot, insn) in program.iter() {
        let t = match *insn {
            Insn::Call(CallTarget::Local(rel)) => slot as i64 + 1 + rel as i64,
            Insn::LdImm64 {
                kind: userbpf_isa::LdImm64Kind::Func,
                imm,
                ..
            } => slot as i64 + 1 + imm as i64,
            _ => continue,
        };
        if t > 0 && (t as usize) < main_end {
            main_end = t as usize;
        }
    }
    let mut used = 0u16;
    let mut frames = main_end < n;
    let ud: Vec<(u16, u16)> = program
        .iter()
        .map(|(slot, insn)| {
            let (u, d) = use_def(insn, verified, slot < main_end);
            used |= u | d;
            frames |= match *insn {
                Insn::CallX { .. } | Insn::Call(CallTarget::Local(_)) => true,
                Insn::LdImm64 {
                    kind: userbpf_isa::LdImm64Kind::Func,
                    ..
                } => true,
                Insn::Call(CallTarget::Helper(id)) => id as u32 == TAIL_CALL_ID,
                _ => false,
            };
            (u, d)
        })
        .collect();
    let entry_of = |live_in: &[u16]| live_in.first().copied().unwrap_or(0);
    let succs = |i: usize| -> [Option<usize>; 2] {
        let slot = starts[i] as i64;
        let next = starts.get(i + 1).copied();
        let to = |off: i64| {
            let t = slot + 1 + off;
            (0..n as i64)
                .contains(&t)
                .then(|| index_of[t as usize])
                .filter(|&j| j != usize::MAX)
        };
        let next_i = next.map(|_| i + 1);
        match insns[i] {
            Insn::Exit => [None, None],
            Insn::Ja { off } => [to(off as i64), None],
            Insn::Gotol { off } => [to(off as i64), None],
            Insn::Jump { off, .. } | Insn::MayGoto { off } => [next_i, to(off as i64)],
            _ => [next_i, None],
        }
    };
    // Predecessors, in compressed rows (edges from i to its successors).
    let m = insns.len();
    const NONE: u32 = u32::MAX;
    let succ: Vec<[u32; 2]> = (0..m)
        .map(|i| succs(i).map(|s| s.map_or(NONE, |j| j as u32)))
        .collect();
    let mut live_in = vec![0u16; m];
    let mut out = vec![0u16; m];
    let back = succ
        .iter()
        .enumerate()
        .any(|(i, s)| s.iter().any(|&j| j != NONE && j as usize <= i));
    if !back {
        // No loops: one visit per instruction, in reverse order, reaches the fixed point.
        for i in (0..m).rev() {
            let mut o = 0;
            for &j in &succ[i] {
                if j != NONE {
                    o |= live_in[j as usize];
                }
            }
            let (u, d) = ud[i];
            live_in[i] = u | (o & !d);
            out[i] = o;
        }
        return Liveness {
            out: by_slot(n, starts, &out),
            entry: entry_of(&live_in),
            used,
            frames,
        };
    }
    let mut pred_count = vec![0u32; m + 1];
    for s in &succ {
        for &j in s {
            if j != NONE {
                pred_count[j as usize + 1] += 1;
            }
        }
    }
    for j in 0..m {
        pred_count[j + 1] += pred_count[j];
    }
    let mut fill = pred_count.clone();
    let mut preds = vec![0u32; pred_count[m] as usize];
    for (i, s) in succ.iter().enumerate() {
        for &j in s {
            if j != NONE {
                preds[fill[j as usize] as usize] = i as u32;
                fill[j as usize] += 1;
            }
        }
    }
    // Worklist, first in reverse program order: loops revisit only what changes.
    let mut queued = vec![true; m];
    let mut work: Vec<u32> = (0..m as u32).collect();
    while let Some(i) = work.pop() {
        let i = i as usize;
        queued[i] = false;
        let mut o = 0;
        for &j in &succ[i] {
            if j != NONE {
                o |= live_in[j as usize];
            }
        }
        let (u, d) = ud[i];
        let li = u | (o & !d);
        out[i] = o;
        if li != live_in[i] {
            live_in[i] = li;
            for &p in &preds[pred_count[i] as usize..pred_count[i + 1] as usize] {
                if !queued[p as usize] {
                    queued[p as usize] = true;
                    work.push(p);
                }
            }
        }
    }
    Liveness {
        out: by_slot(n, starts, &out),
        entry: entry_of(&live_in),
        used,
        frames,
    }
}

/// Per-instruction values spread over slots (0 for the second slot of `lddw`).
fn by_slot(n: usize, starts: &[usize], out: &[u16]) -> Vec<u16> {
    let mut by_slot = vec![0u16; n];
    for (i, &s) in starts.iter().enumerate() {
        by_slot[s] = out[i];
    }
    by_slot
}
