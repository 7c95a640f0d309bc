//! Verifier states: frames of registers and stack, and acquired references.
//!
//! Takes register states; gives [`State`] and the pruning relation [`State::covered_by`].
//! Each frame has eleven registers and up to 512 bytes of stack, tracked per 8-byte slot:
//! each byte is invalid (never written), misc (some scalar), zero, or part of a spilled
//! register whose whole state is kept (only for aligned 8-byte stores).
//!
//! Invariants: a slot holds a spill only when all its bytes are `Spill`; `refs` lists the
//! references acquired on this path and not yet released. `covered_by(old)` implies that
//! every concrete state described by `self` is described by `old` (with ids renamed
//! consistently), so a path reaching a point in a state covered by an already fully explored
//! state there is safe.

use std::collections::HashMap;

use crate::reg::{RegState, RegType};
use userbpf_isa::Reg;

/// Bytes of stack per frame.
pub const MAX_STACK: i64 = 512;
/// Maximum call depth (frames).
pub const MAX_FRAMES: usize = 8;

/// What is known about one stack byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SlotByte {
    /// Never written.
    Invalid,
    /// Some scalar byte.
    Misc,
    /// Zero.
    Zero,
    /// Part of a spilled register.
    Spill,
}

/// One 8-byte stack slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Slot {
    /// Per-byte state (index 0 is the lowest address).
    pub bytes: [SlotByte; 8],
    /// The spilled register when all bytes are `Spill`.
    pub spill: Option<RegState>,
}

impl Slot {
    /// Never written.
    pub const EMPTY: Slot = Slot {
        bytes: [SlotByte::Invalid; 8],
        spill: None,
    };

    /// Spill `reg` into the first `size` bytes (the kernel's `save_register_state`): the
    /// other bytes become misc unless zero or never written.
    pub fn save_spill(&mut self, reg: RegState, size: usize) {
        self.spill = Some(reg);
        for (i, b) in self.bytes.iter_mut().enumerate() {
            if i < size {
                *b = SlotByte::Spill;
            } else if *b == SlotByte::Spill {
                *b = SlotByte::Misc;
            }
        }
    }

    /// A plain write into the slot destroys a spilled register: its bytes become misc.
    pub fn scrub_spill(&mut self) {
        if self.spill.take().is_some() {
            for b in &mut self.bytes {
                if *b != SlotByte::Invalid {
                    *b = SlotByte::Misc;
                }
            }
        }
    }

    /// Number of leading bytes holding the spilled register.
    pub fn spill_size(&self) -> usize {
        self.bytes
            .iter()
            .take_while(|b| **b == SlotByte::Spill)
            .count()
    }
}

/// One function's registers and stack.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Frame {
    /// r0..r10.
    pub regs: [RegState; 11],
    /// Slot `i` covers `fp - 8*(i+1) .. fp - 8*i`; grows on demand.
    pub stack: Vec<Slot>,
    /// Instruction index of the call that created this frame (0 for the main frame).
    pub callsite: usize,
    /// Index of the subprogram this frame runs.
    pub subprog: usize,
    /// A callback called by a helper (`bpf_loop`, `bpf_for_each_map_elem`): at its exit
    /// the caller goes back to the helper call (another iteration, or none).
    pub callback: bool,
    /// Iterations of the `bpf_loop` callback this frame is calling (the kernel's
    /// `callback_depth`): no more than the count argument allows are explored.
    pub callback_depth: u32,
}

impl Frame {
    /// A frame whose registers are all uninitialised except r10.
    pub fn new(frame_no: u8, callsite: usize, subprog: usize) -> Frame {
        let mut regs = [RegState::not_init(); 11];
        regs[10] = RegState {
            frame: frame_no,
            ..RegState::pointer(RegType::Stack)
        };
        Frame {
            regs,
            stack: Vec::new(),
            callsite,
            subprog,
            callback: false,
            callback_depth: 0,
        }
    }

    /// The slot covering byte `off` (negative, from fp), created if needed.
    pub fn slot_mut(&mut self, off: i64) -> &mut Slot {
        let idx = ((-off - 1) / 8) as usize;
        if self.stack.len() <= idx {
            self.stack.resize(idx + 1, Slot::EMPTY);
        }
        &mut self.stack[idx]
    }

    /// The slot covering byte `off`, if ever touched.
    pub fn slot(&self, off: i64) -> Slot {
        let idx = ((-off - 1) / 8) as usize;
        self.stack.get(idx).copied().unwrap_or(Slot::EMPTY)
    }

    /// A register.
    pub fn reg(&self, r: Reg) -> &RegState {
        &self.regs[r.idx()]
    }
}

/// An acquired reference.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RefInfo {
    /// Reference id.
    pub id: u32,
    /// Instruction (slot) that acquired it.
    pub insn: usize,
}

/// The abstract machine state on one path.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct State {
    /// Call frames, innermost last.
    pub frames: Vec<Frame>,
    /// References held.
    pub refs: Vec<RefInfo>,
    /// `may_goto` iterations on this path (the kernel's `may_goto_depth`): a state at a
    /// `may_goto` is pruned against one of the same loop in progress only at another depth.
    pub may_goto_depth: u32,
}

impl State {
    /// The innermost frame.
    pub fn cur(&self) -> &Frame {
        self.frames.last().expect("at least one frame")
    }

    /// The innermost frame, mutably.
    pub fn cur_mut(&mut self) -> &mut Frame {
        self.frames.last_mut().expect("at least one frame")
    }

    /// Register `r` of the innermost frame.
    pub fn reg(&self, r: Reg) -> &RegState {
        &self.cur().regs[r.idx()]
    }

    /// Register `r` of the innermost frame, mutably.
    pub fn reg_mut(&mut self, r: Reg) -> &mut RegState {
        &mut self.cur_mut().regs[r.idx()]
    }

    /// Apply `f` to every register and spilled register of every frame.
    pub fn for_each_reg(&mut self, mut f: impl FnMut(&mut RegState)) {
        for fr in &mut self.frames {
            for r in &mut fr.regs {
                f(r);
            }
            for s in &mut fr.stack {
                if let Some(r) = &mut s.spill {
                    f(r);
                }
            }
        }
    }

    /// The kernel's `widen_imprecise_scalars`: each scalar of `self` (register or spilled)
    /// that differs from `old`'s and is not marked precise in `precise` becomes unknown, so
    /// that loops bounded at run time (`may_goto`, callbacks) reach a fixed point while the
    /// values that decide something stay exact.
    pub fn widen_imprecise_from(&mut self, old: &State, precise: &[Precise]) {
        if self.frames.len() != old.frames.len() {
            return;
        }
        for (fi, (cf, of)) in self.frames.iter_mut().zip(&old.frames).enumerate() {
            let p = precise.get(fi).copied().unwrap_or_default();
            for (ri, (c, o)) in cf.regs.iter_mut().zip(&of.regs).enumerate() {
                if p.regs & (1 << ri) == 0
                    && c.ty == RegType::Scalar
                    && o.ty == RegType::Scalar
                    && c.var != o.var
                {
                    *c = RegState::unknown();
                }
            }
            for (i, (cs, os)) in cf.stack.iter_mut().zip(&of.stack).enumerate() {
                if i < 64 && p.stack & (1u64 << i) != 0 {
                    continue;
                }
                if let (Some(c), Some(o)) = (&mut cs.spill, &os.spill) {
                    if c.ty == RegType::Scalar && o.ty == RegType::Scalar && c.var != o.var {
                        *c = RegState::unknown();
                    }
                }
            }
        }
    }

    /// Whether every concrete state of `self` is described by `old` (pruning), comparing
    /// every register and every scalar by range.
    pub fn covered_by(&self, old: &State, allow_uninit: bool) -> bool {
        self.covered_by_with(old, allow_uninit, &[], None, None)
    }

    /// [`State::covered_by`] with liveness and precision (the kernel's `states_equal`):
    /// `live[f]` masks the registers of frame `f` that may be read before being written
    /// (missing: all); with `precise` given, a scalar of `old` not marked precise there
    /// (`regs` bit per register, `stack` bit per slot) matches any scalar of `self`; with
    /// `stack_read` given, a slot of frame `f` whose bit is clear in `stack_read[f]` is not
    /// read below `old` before being overwritten, and is not compared.
    pub fn covered_by_with(
        &self,
        old: &State,
        allow_uninit: bool,
        live: &[u16],
        precise: Option<&[Precise]>,
        stack_read: Option<&[u64]>,
    ) -> bool {
        if self.frames.len() != old.frames.len() || self.refs.len() != old.refs.len() {
            return false;
        }
        let mut ids = IdMap::default();
        for (o, c) in old.refs.iter().zip(&self.refs) {
            if !ids.check(o.id, c.id) {
                return false;
            }
        }
        for (fi, (of, cf)) in old.frames.iter().zip(&self.frames).enumerate() {
            if of.callsite != cf.callsite
                || of.subprog != cf.subprog
                || of.callback != cf.callback
                || of.callback_depth > cf.callback_depth
            {
                return false;
            }
            let live = live.get(fi).copied().unwrap_or(u16::MAX);
            let prec = precise.map(|p| p.get(fi).copied().unwrap_or_default());
            for (ri, (o, c)) in of.regs.iter().zip(&cf.regs).enumerate() {
                if live & (1 << ri) == 0 {
                    continue;
                }
                let exact = prec.is_none_or(|p| p.regs & (1 << ri) != 0);
                if !reg_covered(c, o, &mut ids, exact) {
                    return false;
                }
            }
            let read = stack_read.map_or(u64::MAX, |r| r.get(fi).copied().unwrap_or(u64::MAX));
            let n = of.stack.len().max(cf.stack.len());
            for i in 0..n {
                if i < 64 && read & (1u64 << i) == 0 {
                    continue;
                }
                let os = of.stack.get(i).copied().unwrap_or(Slot::EMPTY);
                let cs = cf.stack.get(i).copied().unwrap_or(Slot::EMPTY);
                let exact = prec.is_none_or(|p| i >= 64 || p.stack & (1 << i) != 0);
                if !slot_covered(&cs, &os, &mut ids, allow_uninit, exact) {
                    return false;
                }
            }
        }
        true
    }
}

/// Precision marks of one frame: registers and stack slots whose scalar values matter.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Precise {
    /// Bit `r` for register `r`.
    pub regs: u16,
    /// Bit `i` for the slot `fp - 8*(i+1)`.
    pub stack: u64,
}

impl Precise {
    /// Everything precise.
    pub const ALL: Precise = Precise {
        regs: u16::MAX,
        stack: u64::MAX,
    };
}

/// A consistent renaming of ids between an old and a current state (both directions).
#[derive(Default)]
struct IdMap {
    fwd: HashMap<u32, u32>,
    back: HashMap<u32, u32>,
}

impl IdMap {
    fn check(&mut self, old: u32, cur: u32) -> bool {
        if old == 0 && cur == 0 {
            return true;
        }
        if old == 0 || cur == 0 {
            return false;
        }
        match (self.fwd.get(&old), self.back.get(&cur)) {
            (Some(&c), Some(&o)) => c == cur && o == old,
            (None, None) => {
                self.fwd.insert(old, cur);
                self.back.insert(cur, old);
                true
            }
            _ => false,
        }
    }
}

fn reg_covered(cur: &RegState, old: &RegState, ids: &mut IdMap, exact: bool) -> bool {
    match old.ty {
        RegType::NotInit => true,
        // An imprecise scalar: its value never decided anything after this point.
        RegType::Scalar if !exact => cur.ty == RegType::Scalar,
        RegType::Scalar => {
            // An old scalar with an id constrains copies; require the same sharing.
            cur.ty == RegType::Scalar
                && cur.var.leq(&old.var)
                && (old.id == 0 || (ids.check(old.id, cur.id) && old.delta == cur.delta))
        }
        _ => {
            cur.ty == old.ty
                && cur.off == old.off
                && cur.var.leq(&old.var)
                && cur.map == old.map
                && cur.frame == old.frame
                && cur.mem_size == old.mem_size
                && cur.range >= old.range
                && ids.check(old.id, cur.id)
                && ids.check(old.ref_id, cur.ref_id)
        }
    }
}

/// The slot read as one 8-byte scalar, when that is all it can give: a spilled 64-bit
/// scalar, or all bytes misc (or never written, when such reads are allowed).
fn scalar_view(s: &Slot, allow_uninit: bool) -> Option<RegState> {
    if let Some(r) = s.spill {
        return (r.ty == RegType::Scalar && s.spill_size() == 8).then_some(r);
    }
    s.bytes
        .iter()
        .all(|b| *b == SlotByte::Misc || (allow_uninit && *b == SlotByte::Invalid))
        .then(RegState::unknown)
}

fn slot_covered(cur: &Slot, old: &Slot, ids: &mut IdMap, allow_uninit: bool, exact: bool) -> bool {
    if old.bytes.iter().all(|b| *b == SlotByte::Invalid) {
        return true;
    }
    if let (Some(o), Some(c)) = (
        scalar_view(old, allow_uninit),
        scalar_view(cur, allow_uninit),
    ) {
        return reg_covered(&c, &o, ids, exact);
    }
    if !exact && old.spill.is_none_or(|r| r.ty == RegType::Scalar) {
        // No value read from the slot below `old` decided anything: any scalar bytes
        // (misc, zero, a spilled scalar) where `old` has some will do.
        let cur_ptr = cur.spill.is_some_and(|r| r.ty != RegType::Scalar);
        return old.bytes.iter().zip(&cur.bytes).all(|(o, c)| match (o, c) {
            (SlotByte::Invalid, _) => true,
            (_, SlotByte::Invalid) => allow_uninit,
            (_, SlotByte::Spill) => !cur_ptr,
            _ => true,
        });
    }
    if let Some(o) = &old.spill {
        match &cur.spill {
            Some(c) if cur.spill_size() == old.spill_size() && reg_covered(c, o, ids, exact) => {}
            _ => return false,
        }
    }
    let cur_scalar_spill = cur.spill.is_some_and(|r| r.ty == RegType::Scalar);
    for (o, c) in old.bytes.iter().zip(&cur.bytes) {
        let ok = match o {
            SlotByte::Invalid => true,
            SlotByte::Misc => match c {
                SlotByte::Misc | SlotByte::Zero => true,
                SlotByte::Spill => cur_scalar_spill,
                SlotByte::Invalid => allow_uninit,
            },
            SlotByte::Zero => {
                *c == SlotByte::Zero
                    || (*c == SlotByte::Spill && cur.spill.is_some_and(|r| r.konst() == Some(0)))
            }
            SlotByte::Spill => *c == SlotByte::Spill,
        };
        if !ok {
            return false;
        }
    }
    true
}
