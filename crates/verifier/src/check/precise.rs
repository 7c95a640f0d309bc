//! Liveness and precision tracking, so that pruning compares only what matters.
//!
//! Takes the program and the history of the path being explored; gives, per instruction,
//! the registers that may be read before being written (static liveness, as the kernel's
//! `compute_live_registers`), and precision marks on the checkpoints of the path (the
//! kernel's `mark_chain_precision`): when a scalar's exact value decides something (pointer
//! arithmetic, a helper's size argument, a branch followed in one direction only, a
//! program's return value, a divisor the JIT trusts to be non-zero), the instructions of the
//! path are walked backwards from there to the checkpoints above it, following the
//! registers and stack slots the value came from, and these are marked precise in each
//! checkpoint they reach. At pruning, a scalar of a checkpoint not marked precise matches
//! any scalar (and an imprecise stack slot any scalar bytes); a register not live there is
//! not compared at all, nor a stack slot not read below the checkpoint before being
//! overwritten whole (read marks, propagated up the checkpoints of the path as the kernel's
//! `mark_reg_read`, and from a checkpoint to the paths pruned against it).
//!
//! Invariants: a checkpoint compared with precision is complete (every path below it has
//! ended), so its marks account for every use below it; a path pruned against it inherits
//! its marks (`propagate`), so its own ancestors learn them too. When the walk meets an
//! instruction it cannot follow, every scalar of every checkpoint above is marked precise.

use super::Verifier;
use crate::state::Precise;
use userbpf_isa::{AtomicOp, CallTarget, Insn, PacketMode, Reg, Source};

/// One executed instruction of the path since its checkpoint.
#[derive(Clone, Debug)]
pub(crate) struct Hist {
    pub pc: u32,
    /// Frame the instruction ran in.
    pub frame: u8,
    /// Stack slot (frame, slot) a fixed-offset load or store touched.
    pub stack: Option<(u8, u8)>,
    /// For conditional jumps: scalars linked (same id) with the compared registers, as
    /// (frame, register or 11 + slot).
    pub linked: Option<Box<[(u8, u8)]>>,
    /// A helper call entering a callback, or a callback's exit.
    pub cb: bool,
}

/// Registers and slots being followed, per frame.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Bt {
    pub regs: [u16; 8],
    pub stack: [u64; 8],
}

impl Bt {
    fn empty(&self) -> bool {
        self.regs.iter().all(|r| *r == 0) && self.stack.iter().all(|s| *s == 0)
    }
    fn has(&self, f: usize, r: Reg) -> bool {
        self.regs[f] & (1 << r.idx()) != 0
    }
    fn set(&mut self, f: usize, r: Reg) {
        self.regs[f] |= 1 << r.idx();
    }
    fn clear(&mut self, f: usize, r: Reg) {
        self.regs[f] &= !(1 << r.idx());
    }
    fn has_item(&self, f: usize, i: u8) -> bool {
        if i < 11 {
            self.regs[f] & (1 << i) != 0
        } else {
            self.stack[f] & (1u64 << (i - 11)) != 0
        }
    }
    fn set_item(&mut self, f: usize, i: u8) {
        if i < 11 {
            self.regs[f] |= 1 << i;
        } else {
            self.stack[f] |= 1u64 << (i - 11);
        }
    }
}

const ARGS: u16 = 0b11_1110;

/// Registers a helper call reads: its arguments up to the first `DontCare` (as
/// `check_call` reads them, and the kernel's `compute_live_registers` from the helper's
/// prototype); all of r1-r5 for an unknown helper (rejected when reached).
fn helper_args(id: i32) -> u16 {
    let Some(proto) = crate::helpers::proto(id) else {
        return ARGS;
    };
    let n = proto
        .args
        .iter()
        .take_while(|a| **a != crate::helpers::Arg::DontCare)
        .count();
    ((1u16 << n) - 1) << 1
}

/// Registers read and written by an instruction (static, conservative).
fn use_def(insn: &Insn) -> (u16, u16) {
    let b = |r: Reg| 1u16 << r.idx();
    let s = |src: &Source| match src {
        Source::Reg(r) => b(*r),
        Source::Imm(_) => 0,
    };
    match insn {
        Insn::Alu { op, dst, src, .. } => {
            if *op == userbpf_isa::AluOp::Mov {
                (s(src), b(*dst))
            } else {
                (b(*dst) | s(src), b(*dst))
            }
        }
        Insn::Neg { dst, .. } | Insn::Endian { dst, .. } => (b(*dst), b(*dst)),
        Insn::MovSx { dst, src, .. } => (b(*src), b(*dst)),
        Insn::Load { dst, src, .. } | Insn::LoadSx { dst, src, .. } => (b(*src), b(*dst)),
        Insn::Store { dst, src, .. } => (b(*dst) | s(src), 0),
        Insn::Atomic { dst, src, .. } => (b(*dst) | b(*src) | 1, 0),
        Insn::LdImm64 { dst, .. } => (0, b(*dst)),
        Insn::LoadPacket { mode, .. } => {
            let ind = match mode {
                PacketMode::Ind(r) => b(*r),
                PacketMode::Abs => 0,
            };
            (ind | b(Reg::R6), 0b11_1111)
        }
        Insn::Jump { dst, src, .. } => (b(*dst) | s(src), 0),
        Insn::Call(CallTarget::Helper(id)) => (helper_args(*id), 0b11_1111),
        Insn::Call(_) => (ARGS, 0b11_1111),
        Insn::CallX { .. } => (0x7ff, 0),
        Insn::Exit => (1, 0),
        _ => (0, 0),
    }
}

impl Verifier<'_> {
    /// Live-in registers of every instruction (backward dataflow to a fixed point).
    pub(super) fn compute_liveness(&mut self) {
        let n = self.insns.len();
        let mut live = vec![0u16; n];
        let ud: Vec<(u16, u16)> = self.insns.iter().map(use_def).collect();
        let succ: Vec<[Option<usize>; 2]> = (0..n)
            .map(|i| {
                let t = self.cfg.target(self.input.program, i);
                match self.insns[i] {
                    Insn::Exit => [None, None],
                    Insn::Ja { .. } | Insn::Gotol { .. } => [t, None],
                    Insn::Jump { .. } | Insn::MayGoto { .. } => [t, Some(i + 1)],
                    _ => [Some(i + 1), None],
                }
            })
            .collect();
        let mut changed = true;
        while changed {
            changed = false;
            for i in (0..n).rev() {
                let mut out = 0u16;
                for s in succ[i].iter().flatten() {
                    out |= live.get(*s).copied().unwrap_or(0);
                }
                let (u, d) = ud[i];
                let v = u | (out & !d) | (1 << 10);
                if v != live[i] {
                    live[i] = v;
                    changed = true;
                }
            }
        }
        self.live = live;
    }

    /// Live registers of each frame of a state at `pc` (callers: r6-r9 after their call).
    pub(super) fn live_masks(&self, st: &crate::state::State, pc: usize) -> Vec<u16> {
        let n = st.frames.len();
        let mut v = Vec::with_capacity(n);
        for f in 0..n {
            if f + 1 == n {
                v.push(self.live[pc]);
            } else if st.frames[f + 1].callback {
                // Back to the helper call at the callback's exit.
                let l = self.live.get(st.frames[f + 1].callsite).copied();
                v.push(l.unwrap_or(u16::MAX));
            } else {
                let ret = st.frames[f + 1].callsite + 1;
                let l = self.live.get(ret).copied().unwrap_or(u16::MAX);
                v.push(l & !0b11_1111);
            }
        }
        v
    }

    /// The history entry of the instruction being executed.
    pub(super) fn cur_hist(&self) -> Hist {
        Hist {
            pc: self.pc as u32,
            frame: self.cur_frame,
            stack: self.hist_stack,
            linked: self.hist_linked.clone(),
            cb: self.hist_cb,
        }
    }

    /// Mark register `r` of the innermost frame precise (if a scalar) along the path.
    pub(crate) fn mark_precise(&mut self, st: &crate::state::State, r: Reg) {
        if st.reg(r).ty != crate::reg::RegType::Scalar {
            return;
        }
        let mut bt = Bt::default();
        bt.set(st.frames.len() - 1, r);
        self.backtrack(bt);
    }

    /// Follow `bt` from the current instruction up the checkpoints of the path.
    pub(super) fn backtrack(&mut self, mut bt: Bt) {
        let hist = std::mem::take(&mut self.hist);
        let ok = self.backtrack_seg(&hist, &mut bt);
        self.hist = hist;
        let mut p = self.parent;
        if !ok {
            self.mark_all(p);
            return;
        }
        while let Some(c) = p {
            if bt.empty() {
                return;
            }
            let cp = &mut self.checkpoints[c];
            for f in 0..8 {
                if bt.regs[f] == 0 && bt.stack[f] == 0 {
                    continue;
                }
                if cp.precise.len() <= f {
                    cp.precise.resize(f + 1, Precise::default());
                }
                // An evicted checkpoint is never compared again: its marks only record
                // what was already passed on.
                let Some(state) = cp.state.as_ref() else {
                    let p = &mut cp.precise[f];
                    bt.regs[f] &= !p.regs;
                    bt.stack[f] &= !p.stack;
                    p.regs |= bt.regs[f];
                    p.stack |= bt.stack[f];
                    continue;
                };
                let Some(frame) = state.frames.get(f) else {
                    bt.regs[f] = 0;
                    bt.stack[f] = 0;
                    continue;
                };
                for r in 0..11 {
                    if bt.regs[f] & (1 << r) == 0 {
                        continue;
                    }
                    if frame.regs[r].ty != crate::reg::RegType::Scalar
                        || cp.precise[f].regs & (1 << r) != 0
                    {
                        bt.regs[f] &= !(1 << r);
                    } else {
                        cp.precise[f].regs |= 1 << r;
                    }
                }
                for i in 0..64 {
                    if bt.stack[f] & (1u64 << i) == 0 {
                        continue;
                    }
                    // Scalar bytes of any kind (misc, zero, spilled scalar): imprecise
                    // slots are compared loosely.
                    let scalar = frame.stack.get(i).is_some_and(|s| {
                        s.spill.is_none_or(|r| r.ty == crate::reg::RegType::Scalar)
                    });
                    if !scalar || cp.precise[f].stack & (1u64 << i) != 0 {
                        bt.stack[f] &= !(1u64 << i);
                    } else {
                        cp.precise[f].stack |= 1u64 << i;
                    }
                }
            }
            if bt.empty() {
                return;
            }
            let hist = std::mem::take(&mut self.checkpoints[c].hist);
            let ok = self.backtrack_seg(&hist, &mut bt);
            self.checkpoints[c].hist = hist;
            p = self.checkpoints[c].parent;
            if !ok {
                self.mark_all(p);
                return;
            }
        }
    }

    /// Mark every scalar of the checkpoints from `p` up precise.
    fn mark_all(&mut self, mut p: Option<usize>) {
        if std::env::var("UBPF_DBG").is_ok() {
            eprintln!("mark_all at pc {}", self.pc);
        }
        while let Some(c) = p {
            let cp = &mut self.checkpoints[c];
            if cp.precise.first() == Some(&Precise::ALL) && cp.precise.len() >= 8 {
                return;
            }
            cp.precise = vec![Precise::ALL; 8];
            p = cp.parent;
        }
    }

    /// Walk one segment backwards. False when an instruction cannot be followed.
    fn backtrack_seg(&self, hist: &[Hist], bt: &mut Bt) -> bool {
        for h in hist.iter().rev() {
            if bt.empty() {
                return true;
            }
            if let Some(l) = &h.linked {
                if l.iter().any(|(f, i)| bt.has_item(*f as usize, *i)) {
                    for (f, i) in l.iter() {
                        bt.set_item(*f as usize, *i);
                    }
                }
            }
            if !self.backtrack_insn(h, bt) {
                return false;
            }
            if let Some(l) = &h.linked {
                if l.iter().any(|(f, i)| bt.has_item(*f as usize, *i)) {
                    for (f, i) in l.iter() {
                        bt.set_item(*f as usize, *i);
                    }
                }
            }
        }
        true
    }

    fn backtrack_insn(&self, h: &Hist, bt: &mut Bt) -> bool {
        let f = h.frame as usize;
        if f >= 7 {
            return false;
        }
        match self.insns[h.pc as usize] {
            Insn::Alu { op, dst, src, .. } => {
                if !bt.has(f, dst) {
                    return true;
                }
                if op == userbpf_isa::AluOp::Mov {
                    bt.clear(f, dst);
                }
                if let Source::Reg(s) = src {
                    bt.set(f, s);
                }
            }
            Insn::MovSx { dst, src, .. } if bt.has(f, dst) => {
                bt.clear(f, dst);
                bt.set(f, src);
            }
            Insn::Neg { .. } | Insn::Endian { .. } => {}
            Insn::Load { dst, .. } | Insn::LoadSx { dst, .. } if bt.has(f, dst) => {
                bt.clear(f, dst);
                if let Some((sf, spi)) = h.stack {
                    bt.stack[sf as usize] |= 1u64 << spi;
                }
            }
            Insn::Store { src, .. } => {
                if let Some((sf, spi)) = h.stack {
                    if bt.stack[sf as usize] & (1u64 << spi) != 0 {
                        bt.stack[sf as usize] &= !(1u64 << spi);
                        if let Source::Reg(s) = src {
                            bt.set(f, s);
                        }
                    }
                }
            }
            Insn::Atomic { op, src, .. } => {
                if h.stack
                    .is_some_and(|(sf, spi)| bt.stack[sf as usize] & (1u64 << spi) != 0)
                {
                    return false;
                }
                match op {
                    AtomicOp::CmpXchg => bt.clear(f, Reg::R0),
                    AtomicOp::Add | AtomicOp::Or | AtomicOp::And | AtomicOp::Xor => {}
                    _ => bt.clear(f, src),
                }
            }
            Insn::LdImm64 { dst, .. } => bt.clear(f, dst),
            Insn::LoadPacket { .. } => bt.regs[f] &= !0b11_1111,
            Insn::Jump {
                dst,
                src: Source::Reg(s),
                ..
            } if bt.has(f, dst) || bt.has(f, s) => {
                bt.set(f, dst);
                bt.set(f, s);
            }
            Insn::Call(CallTarget::Local(_)) => {
                // Backwards out of the callee into the caller: its arguments.
                let callee = bt.regs[f + 1];
                bt.regs[f] |= callee & ARGS;
                if callee & !ARGS & !(1 << 10) != 0 {
                    return false;
                }
                bt.regs[f + 1] = 0;
                bt.stack[f + 1] = 0;
            }
            Insn::Call(_) if h.cb => {
                // Backwards out of a callback into the helper call: the callback's
                // arguments come from the helper's (only callback_ctx can be a scalar).
                if bt.regs[f + 1] & ARGS != 0 {
                    bt.set(f, Reg::R3);
                }
                bt.regs[f + 1] = 0;
                bt.stack[f + 1] = 0;
            }
            Insn::Call(_) => bt.regs[f] &= !0b11_1111,
            Insn::Exit if h.cb => {
                // Backwards from the helper call into the callback's exit: the caller's
                // registers did not change.
                bt.regs[f] = 0;
                bt.stack[f] = 0;
            }
            Insn::Exit => {
                if f == 0 {
                    return false;
                }
                // Backwards from the caller into the callee's exit: r0.
                let caller = f - 1;
                if bt.regs[caller] & 1 != 0 {
                    bt.regs[f] |= 1;
                }
                bt.regs[caller] &= !0b11_1111;
            }
            Insn::CallX { .. } => return false,
            _ => {}
        }
        true
    }

    /// Stack bytes `lo..hi` (offsets from the frame pointer) of frame `frame` are read:
    /// mark their slots live in the checkpoints above, up to where they were overwritten
    /// (the kernel's read marks).
    pub(crate) fn stack_read(&mut self, frame: usize, lo: i64, hi: i64) {
        if frame >= 8 || hi <= lo {
            return;
        }
        let mut mask = 0u64;
        for b in lo.max(-512)..hi.min(0) {
            mask |= 1u64 << ((-b - 1) / 8);
        }
        self.mark_read(frame, mask);
    }

    fn mark_read(&mut self, frame: usize, mask: u64) {
        let mut m = mask & !self.cur_written[frame];
        let mut p = self.parent;
        while let Some(c) = p {
            if m == 0 {
                break;
            }
            let cp = &mut self.checkpoints[c];
            let new = m & !cp.read[frame];
            cp.read[frame] |= m;
            m = new & !cp.seg_written[frame];
            p = cp.parent;
        }
    }

    /// The slot at `off` of frame `frame` is overwritten whole.
    pub(crate) fn stack_written(&mut self, frame: usize, off: i64) {
        if frame < 8 && (-512..0).contains(&off) {
            self.cur_written[frame] |= 1u64 << ((-off - 1) / 8);
        }
    }

    /// A path pruned against checkpoint `c` inherits its precision marks.
    pub(super) fn propagate(&mut self, c: usize, live: &[u16]) {
        let read = self.checkpoints[c].read;
        for (f, m) in read.iter().enumerate() {
            if *m != 0 {
                self.mark_read(f, *m);
            }
        }
        let mut bt = Bt::default();
        for (f, p) in self.checkpoints[c].precise.iter().enumerate().take(8) {
            bt.regs[f] = p.regs & live.get(f).copied().unwrap_or(u16::MAX) & 0x3ff;
            bt.stack[f] = p.stack;
        }
        if !bt.empty() {
            self.backtrack(bt);
        }
    }
}
