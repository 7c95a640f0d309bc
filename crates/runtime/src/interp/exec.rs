//! The execution loop of the interpreter.
//!
//! Takes prepared ops, initial argument registers and the run's memory map; gives r0 or a
//! trap. Registers live in a 16-entry array indexed with `& 15`, so register access needs no
//! bounds check. Memory goes through [`crate::memory`] after a region check: the active stack
//! frames first, then the last region that matched, then a search of the map. Rare operations
//! (calls, frame returns, atomics, signed division) sit in out-of-line functions so the hot
//! loop keeps its state in registers.
//!
//! Callbacks and tail calls nest the loop: [`run_loop`] runs until the frame depth it started
//! at exits. A callback (`bpf_loop`, `bpf_for_each_map_elem`) pushes a frame and runs the
//! function until it returns; a tail call runs the target program at the caller's depth, on
//! the caller's stack frame, and its result is the caller's `exit`.

use userbpf_isa::{semantics, AtomicOp, AtomicSize, Width};

use super::callbacks::{
    CallbackContext, CallbackError, TailCallTarget, MAX_TAIL_CALL_CNT, TAIL_CALL_ID,
};
use super::op::{Op, Operand, FUNC_PTR_TAG};
use super::{Interpreter, MAX_CALL_FRAMES, MAY_GOTO_BUDGET, STACK_FRAME_SIZE};
use crate::error::{Access, Trap};
use crate::helpers::HelperContext;
use crate::memory::{self, MemoryMap, Region, RegionKind};

const STACK_SIZE: usize = STACK_FRAME_SIZE * MAX_CALL_FRAMES;

struct Frame {
    saved: [u64; 4],
    saved_fp: u64,
    return_pc: usize,
}

struct Machine<'r, 'm> {
    regs: [u64; 16],
    /// Active stack: from the current frame's bottom to the top of the outermost frame.
    stack_lo: u64,
    stack_hi: u64,
    /// The last non-stack region an access matched.
    cache_lo: u64,
    cache_hi: u64,
    cache_writable: bool,
    memory: &'r mut MemoryMap<'m>,
    frames: Vec<Frame>,
    may_goto: u64,
    /// Tail calls taken in this run.
    tail_calls: u32,
    /// The lowest stack address zeroed in this run: each frame depth is zeroed the first time
    /// the run enters it, so every run starts with a zeroed stack (as if the whole stack
    /// were cleared at entry) without paying for frames it never uses.
    zeroed_lo: u64,
    /// Instructions left (metered runs; saved here around nested loops).
    budget_left: u64,
    /// The budget the run started with, for the trap message.
    budget_total: u64,
}

/// The state of a machine apart from its memory map, to move it into a machine whose map
/// has an extra region for a while.
struct State {
    regs: [u64; 16],
    stack_lo: u64,
    stack_hi: u64,
    frames: Vec<Frame>,
    may_goto: u64,
    tail_calls: u32,
    zeroed_lo: u64,
    budget_left: u64,
    budget_total: u64,
}

#[inline(always)]
fn within(addr: u64, size: u64, lo: u64, hi: u64) -> bool {
    addr >= lo && addr.wrapping_sub(lo) <= (hi - lo).wrapping_sub(size) && hi - lo >= size
}

impl<'m> Machine<'_, 'm> {
    fn take_state(&mut self) -> State {
        State {
            regs: self.regs,
            stack_lo: self.stack_lo,
            stack_hi: self.stack_hi,
            frames: std::mem::take(&mut self.frames),
            may_goto: self.may_goto,
            tail_calls: self.tail_calls,
            zeroed_lo: self.zeroed_lo,
            budget_left: self.budget_left,
            budget_total: self.budget_total,
        }
    }

    fn put_state(&mut self, s: State) {
        self.regs = s.regs;
        self.stack_lo = s.stack_lo;
        self.stack_hi = s.stack_hi;
        self.frames = s.frames;
        self.may_goto = s.may_goto;
        self.tail_calls = s.tail_calls;
        self.zeroed_lo = s.zeroed_lo;
        self.budget_left = s.budget_left;
        self.budget_total = s.budget_total;
    }

    /// Run `f` on this machine with `region` added to its memory map.
    ///
    /// # Safety
    /// As [`MemoryMap::with_region`]: `region` must be valid (for writes too if writable)
    /// while `f` runs.
    unsafe fn with_extra_region<R>(
        &mut self,
        region: Region,
        f: impl FnOnce(&mut Machine<'_, 'm>) -> R,
    ) -> R {
        let state = self.take_state();
        // SAFETY: passed on from the caller.
        let (result, state) = unsafe {
            self.memory.with_region(region, |memory| {
                let mut inner = Machine {
                    regs: [0; 16],
                    stack_lo: 0,
                    stack_hi: 0,
                    cache_lo: 0,
                    cache_hi: 0,
                    cache_writable: false,
                    memory,
                    frames: Vec::new(),
                    may_goto: 0,
                    tail_calls: 0,
                    zeroed_lo: 0,
                    budget_left: 0,
                    budget_total: 0,
                };
                inner.put_state(state);
                let result = f(&mut inner);
                (result, inner.take_state())
            })
        };
        self.put_state(state);
        result
    }

    #[inline(always)]
    fn r(&self, i: u8) -> u64 {
        self.regs[(i & 15) as usize]
    }

    #[inline(always)]
    fn set(&mut self, i: u8, v: u64) {
        self.regs[(i & 15) as usize] = v;
    }

    #[inline(always)]
    fn fast_ok(&self, addr: u64, size: u64, write: bool) -> bool {
        within(addr, size, self.stack_lo, self.stack_hi)
            || (within(addr, size, self.cache_lo, self.cache_hi) && (self.cache_writable || !write))
    }

    /// Search the memory map; remember the region on success.
    #[inline(never)]
    fn check_slow(
        &mut self,
        slot: usize,
        addr: u64,
        size: usize,
        access: Access,
    ) -> Result<(), Trap> {
        match self.memory.find(addr, size as u64, access != Access::Read) {
            // The stack is checked per frame above; the map's stack region is for helpers.
            Some(r) if r.kind != RegionKind::Stack => {
                self.cache_lo = r.start;
                self.cache_hi = r.start + r.len;
                self.cache_writable = r.writable;
                Ok(())
            }
            _ => Err(self.out_of_bounds(slot, addr, size, access)),
        }
    }

    #[cold]
    fn out_of_bounds(&self, slot: usize, addr: u64, size: usize, access: Access) -> Trap {
        let stack = Region {
            start: self.stack_lo,
            len: self.stack_hi - self.stack_lo,
            writable: true,
            kind: RegionKind::Stack,
        };
        Trap::OutOfBounds {
            slot,
            access,
            addr,
            size,
            nearest: self.memory.describe_nearest(addr, &[stack]),
        }
    }

    #[inline(always)]
    fn check(&mut self, slot: usize, addr: u64, size: usize, access: Access) -> Result<(), Trap> {
        if self.fast_ok(addr, size as u64, access != Access::Read) {
            Ok(())
        } else {
            self.check_slow(slot, addr, size, access)
        }
    }

    #[inline(always)]
    fn load<const N: usize>(&mut self, slot: usize, base: u8, off: i16) -> Result<u64, Trap> {
        let addr = self.r(base).wrapping_add(off as i64 as u64);
        self.check(slot, addr, N, Access::Read)?;
        // SAFETY: `check` proved [addr, addr+N) lies in the stack or a readable region.
        Ok(unsafe { memory::load(addr, N) })
    }

    #[inline(always)]
    fn store<const N: usize>(
        &mut self,
        slot: usize,
        base: u8,
        off: i16,
        v: u64,
    ) -> Result<(), Trap> {
        let addr = self.r(base).wrapping_add(off as i64 as u64);
        self.check(slot, addr, N, Access::Write)?;
        // SAFETY: `check` proved [addr, addr+N) lies in the stack or a writable region.
        unsafe { memory::store(addr, N, v) };
        Ok(())
    }

    fn operand(&self, o: Operand) -> u64 {
        match o {
            Operand::Reg(r) => self.r(r),
            Operand::Imm(v) => v as i64 as u64,
        }
    }

    #[inline(never)]
    fn atomic(
        &mut self,
        slot: usize,
        size: AtomicSize,
        op: AtomicOp,
        d: u8,
        s: u8,
        off: i16,
    ) -> Result<(), Trap> {
        let addr = self.r(d).wrapping_add(off as i64 as u64);
        let n = match size {
            AtomicSize::W => 4,
            AtomicSize::DW => 8,
        };
        self.check(slot, addr, n, Access::Atomic)?;
        if !addr.is_multiple_of(n as u64) {
            return Err(Trap::MisalignedAtomic {
                slot,
                addr,
                size: n,
            });
        }
        // SAFETY: checked in bounds of a writable region and aligned just above.
        let old = unsafe { memory::atomic(addr, n, op, self.r(s), self.r(0)) };
        match op {
            AtomicOp::CmpXchg => self.set(0, old),
            a if a.fetches() => self.set(s, old),
            _ => {}
        }
        Ok(())
    }

    /// Enter a bpf-to-bpf call; returns the target pc.
    #[inline(never)]
    fn push_frame(&mut self, slot: usize, return_pc: usize, target: usize) -> Result<usize, Trap> {
        if self.frames.len() + 1 >= MAX_CALL_FRAMES {
            return Err(Trap::CallDepth {
                slot,
                max: MAX_CALL_FRAMES,
            });
        }
        let mut saved = [0u64; 4];
        saved.copy_from_slice(&self.regs[6..10]);
        self.frames.push(Frame {
            saved,
            // The frame pointer of the current frame as the machine knows it (r10 itself is
            // program state: an unverified program may have overwritten it).
            saved_fp: self.stack_lo + STACK_FRAME_SIZE as u64,
            return_pc,
        });
        self.regs[10] = self.stack_lo;
        self.stack_lo -= STACK_FRAME_SIZE as u64;
        if self.stack_lo < self.zeroed_lo {
            // SAFETY: the new frame lies inside the run's stack (at most MAX_CALL_FRAMES
            // frames, checked above), which `execute` owns for the whole run.
            unsafe { memory::zero(self.stack_lo, STACK_FRAME_SIZE) };
            self.zeroed_lo = self.stack_lo;
        }
        Ok(target)
    }

    /// Return from a bpf-to-bpf call; returns the caller's pc, or None at the outermost frame.
    #[inline(never)]
    fn pop_frame(&mut self) -> Option<usize> {
        let f = self.frames.pop()?;
        self.regs[6..10].copy_from_slice(&f.saved);
        self.regs[10] = f.saved_fp;
        self.stack_lo = f.saved_fp - STACK_FRAME_SIZE as u64;
        Some(f.return_pc)
    }

    #[inline(never)]
    fn call_helper(&mut self, vm: &Interpreter, slot: usize, id: u64) -> Result<(), Trap> {
        let Some(Some(f)) = vm.helpers.get(id as usize) else {
            return Err(Trap::UnknownHelper { slot, id });
        };
        let args = [
            self.regs[1],
            self.regs[2],
            self.regs[3],
            self.regs[4],
            self.regs[5],
        ];
        let mut ctx = HelperContext {
            memory: self.memory,
        };
        match f(&mut ctx, args) {
            Ok(v) => {
                self.regs[0] = v;
                Ok(())
            }
            Err(message) => Err(Trap::Helper { slot, id, message }),
        }
    }

    /// `callx`: a function pointer of this program, or a helper id; returns the next pc.
    #[inline(never)]
    fn call_indirect(
        &mut self,
        vm: &Interpreter,
        slot: usize,
        pc: usize,
        reg: u8,
    ) -> Result<usize, Trap> {
        let target = self.r(reg);
        let index = target as u32 as usize;
        if target & !0xffff_ffff == FUNC_PTR_TAG
            && index < vm.ops.len() - 1
            && !matches!(vm.ops[index], Op::Nop)
        {
            return self.push_frame(slot, pc, index);
        }
        match self.call_helper(vm, slot, target) {
            Ok(()) => Ok(pc),
            Err(Trap::UnknownHelper { .. }) => Err(Trap::BadCallTarget { slot, target }),
            Err(other) => Err(other),
        }
    }

    /// A helper that may call back into the program.
    #[inline(never)]
    fn call_engine<const METERED: bool>(
        &mut self,
        vm: &Interpreter,
        slot: usize,
        id: u32,
    ) -> Result<(), Trap> {
        let Some(Some(f)) = vm.engine.get(id as usize) else {
            return Err(Trap::UnknownHelper {
                slot,
                id: id as u64,
            });
        };
        let args = [
            self.regs[1],
            self.regs[2],
            self.regs[3],
            self.regs[4],
            self.regs[5],
        ];
        let mut ctx = Callbacks::<METERED> { m: self, vm, slot };
        match f(&mut ctx, args) {
            Ok(r0) => {
                self.regs[0] = r0;
                Ok(())
            }
            Err(CallbackError::Trap(t)) => Err(t),
            Err(CallbackError::Message(message)) => Err(Trap::Helper {
                slot,
                id: id as u64,
                message,
            }),
        }
    }

    /// Call function pointer `func` of `vm` in a new frame with r1-r5 = `args`; its r0.
    fn invoke<const METERED: bool>(
        &mut self,
        vm: &Interpreter,
        slot: usize,
        func: u64,
        args: [u64; 5],
    ) -> Result<u64, Trap> {
        let index = func as u32 as usize;
        if func & !0xffff_ffff != FUNC_PTR_TAG
            || index >= vm.ops.len() - 1
            || matches!(vm.ops[index], Op::Nop)
        {
            return Err(Trap::BadCallTarget { slot, target: func });
        }
        let depth = self.frames.len();
        self.push_frame(slot, slot + 1, index)?;
        self.regs[1..6].copy_from_slice(&args);
        let r = run_loop::<METERED>(vm, self, index, depth + 1);
        if r.is_ok() {
            // The callee's exit at its own depth leaves its frame for us to pop.
            self.pop_frame();
        }
        r
    }

    /// `bpf_tail_call(ctx, map, index)`: `Some(r0)` when a target ran in place of the
    /// current frame, `None` when the call failed (execution continues, registers kept).
    #[inline(never)]
    fn tail_call<const METERED: bool>(
        &mut self,
        vm: &Interpreter,
        slot: usize,
    ) -> Result<Option<u64>, Trap> {
        let Some(targets) = &vm.tail_calls else {
            return Err(Trap::UnknownHelper {
                slot,
                id: TAIL_CALL_ID as u64,
            });
        };
        let target = targets
            .target(self.regs[2], self.regs[3] as u32)
            .map_err(|message| Trap::Helper {
                slot,
                id: TAIL_CALL_ID as u64,
                message,
            })?;
        if matches!(target, TailCallTarget::OutOfRange) || self.tail_calls >= MAX_TAIL_CALL_CNT {
            return Ok(None);
        }
        self.tail_calls += 1;
        let TailCallTarget::Program(target) = target else {
            return Ok(None);
        };
        // The target starts on the caller's frame with the same r1 (the context).
        let depth = self.frames.len();
        run_loop::<METERED>(&target, self, 0, depth).map(Some)
    }

    #[inline(never)]
    fn slow_alu(&mut self, op: &Op) {
        match *op {
            Op::AluSlow(w, aop, d, o) => {
                let v = semantics::alu(w, aop, self.r(d), self.operand(o));
                self.set(d, v)
            }
            Op::Neg64(d) => self.set(d, semantics::neg(Width::W64, self.r(d))),
            Op::Neg32(d) => self.set(d, semantics::neg(Width::W32, self.r(d))),
            Op::MovSx(w, d, s, from) => self.set(d, semantics::movsx(w, self.r(s), from)),
            Op::Endian(order, bits, d) => self.set(d, semantics::endian(order, bits, self.r(d))),
            _ => unreachable!("slow_alu called with {op:?}"),
        }
    }
}

thread_local! {
    /// Stacks of finished runs, reused by the next runs of this thread (a run inside a
    /// helper takes another one).
    static STACKS: std::cell::RefCell<Vec<Box<[u64]>>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// A stack of `STACK_SIZE` bytes, from this thread's pool when it has one; returned with
/// [`give_back`] after the run.
fn take_stack() -> Box<[u64]> {
    STACKS
        .try_with(|s| s.borrow_mut().pop())
        .ok()
        .flatten()
        .unwrap_or_else(|| vec![0u64; STACK_SIZE / 8].into_boxed_slice())
}

fn give_back(stack: Box<[u64]>) {
    let _ = STACKS.try_with(|s| {
        let mut pool = s.borrow_mut();
        if pool.len() < 4 {
            pool.push(stack);
        }
    });
}

/// Run `vm` with r1.. from `args`. The loop is compiled twice: with the instruction budget
/// counted, and without (no per-instruction cost when no budget is set).
///
/// The stack comes from a per-thread pool; each frame is zeroed when it comes into use (the
/// outermost one here, the others in [`Machine::push_frame`]), so a program never sees what
/// an earlier run left there.
pub(super) fn execute(
    vm: &Interpreter,
    args: &[u64],
    memory: &mut MemoryMap<'_>,
) -> Result<u64, Trap> {
    let mut stack = take_stack();
    let stack_base = stack.as_mut_ptr() as u64;
    let stack_top = stack_base + STACK_SIZE as u64;
    // SAFETY: the top frame lies inside `stack`, which this function owns and nothing else
    // references during the run.
    unsafe { memory::zero(stack_top - STACK_FRAME_SIZE as u64, STACK_FRAME_SIZE) };
    let stack_region = Region {
        start: stack_base,
        len: STACK_SIZE as u64,
        writable: true,
        kind: RegionKind::Stack,
    };
    // SAFETY: `stack` outlives the closure, and the program reaches it only through the
    // checked accesses of this module and the helpers' checked copies.
    let result = unsafe {
        memory.with_region(stack_region, |memory| {
            let mut m = Machine {
                regs: [0; 16],
                stack_lo: stack_top - STACK_FRAME_SIZE as u64,
                stack_hi: stack_top,
                cache_lo: 0,
                cache_hi: 0,
                cache_writable: false,
                memory,
                frames: Vec::new(),
                may_goto: MAY_GOTO_BUDGET,
                tail_calls: 0,
                zeroed_lo: stack_top - STACK_FRAME_SIZE as u64,
                budget_left: vm.budget.unwrap_or(u64::MAX),
                budget_total: vm.budget.unwrap_or(0),
            };
            for (i, a) in args.iter().take(5).enumerate() {
                m.regs[i + 1] = *a;
            }
            m.regs[10] = stack_top;
            if vm.budget.is_some() {
                run_loop::<true>(vm, &mut m, 0, 0)
            } else {
                run_loop::<false>(vm, &mut m, 0, 0)
            }
        })
    };
    give_back(stack);
    result
}

/// Run `vm` from `pc` until an `exit` at frame depth `base` (the number of pushed frames).
fn run_loop<const METERED: bool>(
    vm: &Interpreter,
    m: &mut Machine<'_, '_>,
    mut pc: usize,
    base: usize,
) -> Result<u64, Trap> {
    let ops = &vm.ops[..];
    let mut budget = m.budget_left;

    macro_rules! jump_if {
        ($cond:expr, $t:expr) => {
            if $cond {
                pc = $t as usize;
            }
        };
    }
    macro_rules! try_or_break {
        ($e:expr) => {
            match $e {
                Ok(v) => v,
                Err(t) => break Err(t),
            }
        };
    }

    let result = loop {
        let slot = pc;
        let op = ops[pc];
        pc += 1;
        #[cfg(feature = "trace")]
        if let Some(t) = &vm.trace {
            t(slot, &m.regs[..11]);
        }
        if METERED {
            if budget == 0 {
                break Err(Trap::BudgetExhausted {
                    slot,
                    budget: m.budget_total,
                });
            }
            budget -= 1;
        }
        match op {
            Op::Add64I(d, v) => m.set(d, m.r(d).wrapping_add(v as i64 as u64)),
            Op::Add64R(d, s) => m.set(d, m.r(d).wrapping_add(m.r(s))),
            Op::Sub64I(d, v) => m.set(d, m.r(d).wrapping_sub(v as i64 as u64)),
            Op::Sub64R(d, s) => m.set(d, m.r(d).wrapping_sub(m.r(s))),
            Op::Mul64I(d, v) => m.set(d, m.r(d).wrapping_mul(v as i64 as u64)),
            Op::Mul64R(d, s) => m.set(d, m.r(d).wrapping_mul(m.r(s))),
            Op::Or64I(d, v) => m.set(d, m.r(d) | v as i64 as u64),
            Op::Or64R(d, s) => m.set(d, m.r(d) | m.r(s)),
            Op::And64I(d, v) => m.set(d, m.r(d) & v as i64 as u64),
            Op::And64R(d, s) => m.set(d, m.r(d) & m.r(s)),
            Op::Xor64I(d, v) => m.set(d, m.r(d) ^ v as i64 as u64),
            Op::Xor64R(d, s) => m.set(d, m.r(d) ^ m.r(s)),
            Op::Lsh64I(d, v) => m.set(d, m.r(d) << v),
            Op::Lsh64R(d, s) => m.set(d, m.r(d) << (m.r(s) & 63)),
            Op::Rsh64I(d, v) => m.set(d, m.r(d) >> v),
            Op::Rsh64R(d, s) => m.set(d, m.r(d) >> (m.r(s) & 63)),
            Op::Arsh64I(d, v) => m.set(d, ((m.r(d) as i64) >> v) as u64),
            Op::Arsh64R(d, s) => m.set(d, ((m.r(d) as i64) >> (m.r(s) & 63)) as u64),
            Op::Mov64I(d, v) => m.set(d, v as i64 as u64),
            Op::Mov64R(d, s) => m.set(d, m.r(s)),
            Op::Add32I(d, v) => m.set(d, (m.r(d) as u32).wrapping_add(v) as u64),
            Op::Add32R(d, s) => m.set(d, (m.r(d) as u32).wrapping_add(m.r(s) as u32) as u64),
            Op::Sub32I(d, v) => m.set(d, (m.r(d) as u32).wrapping_sub(v) as u64),
            Op::Sub32R(d, s) => m.set(d, (m.r(d) as u32).wrapping_sub(m.r(s) as u32) as u64),
            Op::Mul32I(d, v) => m.set(d, (m.r(d) as u32).wrapping_mul(v) as u64),
            Op::Mul32R(d, s) => m.set(d, (m.r(d) as u32).wrapping_mul(m.r(s) as u32) as u64),
            Op::Or32I(d, v) => m.set(d, (m.r(d) as u32 | v) as u64),
            Op::Or32R(d, s) => m.set(d, (m.r(d) as u32 | m.r(s) as u32) as u64),
            Op::And32I(d, v) => m.set(d, (m.r(d) as u32 & v) as u64),
            Op::And32R(d, s) => m.set(d, (m.r(d) as u32 & m.r(s) as u32) as u64),
            Op::Xor32I(d, v) => m.set(d, (m.r(d) as u32 ^ v) as u64),
            Op::Xor32R(d, s) => m.set(d, (m.r(d) as u32 ^ m.r(s) as u32) as u64),
            Op::Lsh32I(d, v) => m.set(d, ((m.r(d) as u32) << v) as u64),
            Op::Lsh32R(d, s) => m.set(d, ((m.r(d) as u32) << (m.r(s) & 31)) as u64),
            Op::Rsh32I(d, v) => m.set(d, ((m.r(d) as u32) >> v) as u64),
            Op::Rsh32R(d, s) => m.set(d, ((m.r(d) as u32) >> (m.r(s) & 31)) as u64),
            Op::Arsh32I(d, v) => m.set(d, ((m.r(d) as i32) >> v) as u32 as u64),
            Op::Arsh32R(d, s) => m.set(d, ((m.r(d) as i32) >> (m.r(s) & 31)) as u32 as u64),
            Op::Mov32I(d, v) => m.set(d, v as u64),
            Op::Mov32R(d, s) => m.set(d, m.r(s) as u32 as u64),
            Op::Div64R(d, s) => m.set(d, m.r(d).checked_div(m.r(s)).unwrap_or(0)),
            Op::Mod64R(d, s) => {
                let (a, b) = (m.r(d), m.r(s));
                m.set(d, a.checked_rem(b).unwrap_or(a))
            }
            Op::Div32R(d, s) => {
                let (a, b) = (m.r(d) as u32, m.r(s) as u32);
                m.set(d, a.checked_div(b).unwrap_or(0) as u64)
            }
            Op::Mod32R(d, s) => {
                let (a, b) = (m.r(d) as u32, m.r(s) as u32);
                m.set(d, a.checked_rem(b).unwrap_or(a) as u64)
            }
            Op::Div64I(d, v) => m.set(d, m.r(d) / v),
            Op::Mod64I(d, v) => m.set(d, m.r(d) % v),
            Op::Div32I(d, v) => m.set(d, (m.r(d) as u32 / v) as u64),
            Op::Mod32I(d, v) => m.set(d, (m.r(d) as u32 % v) as u64),
            Op::AluSlow(..) | Op::Neg64(_) | Op::Neg32(_) | Op::MovSx(..) | Op::Endian(..) => {
                m.slow_alu(&op)
            }
            Op::Ldxb(d, s, off) => {
                m.regs[(d & 15) as usize] = try_or_break!(m.load::<1>(slot, s, off))
            }
            Op::Ldxh(d, s, off) => {
                m.regs[(d & 15) as usize] = try_or_break!(m.load::<2>(slot, s, off))
            }
            Op::Ldxw(d, s, off) => {
                m.regs[(d & 15) as usize] = try_or_break!(m.load::<4>(slot, s, off))
            }
            Op::Ldxdw(d, s, off) => {
                m.regs[(d & 15) as usize] = try_or_break!(m.load::<8>(slot, s, off))
            }
            Op::Ldxsb(d, s, off) => {
                let v = try_or_break!(m.load::<1>(slot, s, off));
                m.set(d, v as u8 as i8 as i64 as u64)
            }
            Op::Ldxsh(d, s, off) => {
                let v = try_or_break!(m.load::<2>(slot, s, off));
                m.set(d, v as u16 as i16 as i64 as u64)
            }
            Op::Ldxsw(d, s, off) => {
                let v = try_or_break!(m.load::<4>(slot, s, off));
                m.set(d, v as u32 as i32 as i64 as u64)
            }
            Op::Stxb(d, s, off) => try_or_break!(m.store::<1>(slot, d, off, m.r(s))),
            Op::Stxh(d, s, off) => try_or_break!(m.store::<2>(slot, d, off, m.r(s))),
            Op::Stxw(d, s, off) => try_or_break!(m.store::<4>(slot, d, off, m.r(s))),
            Op::Stxdw(d, s, off) => try_or_break!(m.store::<8>(slot, d, off, m.r(s))),
            Op::Stb(d, off, v) => try_or_break!(m.store::<1>(slot, d, off, v as i64 as u64)),
            Op::Sth(d, off, v) => try_or_break!(m.store::<2>(slot, d, off, v as i64 as u64)),
            Op::Stw(d, off, v) => try_or_break!(m.store::<4>(slot, d, off, v as i64 as u64)),
            Op::Stdw(d, off, v) => try_or_break!(m.store::<8>(slot, d, off, v as i64 as u64)),
            Op::Atomic(size, aop, d, s, off) => try_or_break!(m.atomic(slot, size, aop, d, s, off)),
            Op::LoadImm(d, v) => {
                m.set(d, v);
                // Skip the second slot (metered runs count it, as before).
                if !METERED {
                    pc += 1;
                }
            }
            Op::LddwR1Call(id, v) => {
                m.regs[1] = v;
                if METERED {
                    // Count the three slots one by one.
                    continue;
                }
                try_or_break!(m.call_helper(vm, slot + 2, id as u64));
                pc = slot + 3;
            }
            Op::Nop => {}
            Op::Ja(t) => pc = t as usize,
            Op::JeqI(d, v, t) => jump_if!(m.r(d) == v as i64 as u64, t),
            Op::JeqR(d, s, t) => jump_if!(m.r(d) == m.r(s), t),
            Op::JneI(d, v, t) => jump_if!(m.r(d) != v as i64 as u64, t),
            Op::JneR(d, s, t) => jump_if!(m.r(d) != m.r(s), t),
            Op::JgtI(d, v, t) => jump_if!(m.r(d) > v as i64 as u64, t),
            Op::JgtR(d, s, t) => jump_if!(m.r(d) > m.r(s), t),
            Op::JgeI(d, v, t) => jump_if!(m.r(d) >= v as i64 as u64, t),
            Op::JgeR(d, s, t) => jump_if!(m.r(d) >= m.r(s), t),
            Op::JltI(d, v, t) => jump_if!(m.r(d) < v as i64 as u64, t),
            Op::JltR(d, s, t) => jump_if!(m.r(d) < m.r(s), t),
            Op::JleI(d, v, t) => jump_if!(m.r(d) <= v as i64 as u64, t),
            Op::JleR(d, s, t) => jump_if!(m.r(d) <= m.r(s), t),
            Op::JsetI(d, v, t) => jump_if!(m.r(d) & v as i64 as u64 != 0, t),
            Op::JsetR(d, s, t) => jump_if!(m.r(d) & m.r(s) != 0, t),
            Op::JsgtI(d, v, t) => jump_if!((m.r(d) as i64) > v as i64, t),
            Op::JsgtR(d, s, t) => jump_if!((m.r(d) as i64) > m.r(s) as i64, t),
            Op::JsgeI(d, v, t) => jump_if!((m.r(d) as i64) >= v as i64, t),
            Op::JsgeR(d, s, t) => jump_if!((m.r(d) as i64) >= m.r(s) as i64, t),
            Op::JsltI(d, v, t) => jump_if!((m.r(d) as i64) < v as i64, t),
            Op::JsltR(d, s, t) => jump_if!((m.r(d) as i64) < (m.r(s) as i64), t),
            Op::JsleI(d, v, t) => jump_if!((m.r(d) as i64) <= v as i64, t),
            Op::JsleR(d, s, t) => jump_if!((m.r(d) as i64) <= m.r(s) as i64, t),
            Op::Jmp32(cond, d, o, t) => {
                jump_if!(
                    semantics::jump_taken(Width::W32, cond, m.r(d), m.operand(o)),
                    t
                )
            }
            Op::CallHelper(id) => try_or_break!(m.call_helper(vm, slot, id as u64)),
            Op::CallEngine(id) => {
                m.budget_left = budget;
                try_or_break!(m.call_engine::<METERED>(vm, slot, id));
                budget = m.budget_left;
            }
            Op::TailCall => {
                m.budget_left = budget;
                let done = try_or_break!(m.tail_call::<METERED>(vm, slot));
                budget = m.budget_left;
                if let Some(r0) = done {
                    // The target's exit is this frame's exit.
                    m.regs[0] = r0;
                    if m.frames.len() == base {
                        break Ok(r0);
                    }
                    match m.pop_frame() {
                        None => break Ok(r0),
                        Some(ret) => pc = ret,
                    }
                }
            }
            Op::CallLocal(t) => pc = try_or_break!(m.push_frame(slot, pc, t as usize)),
            Op::CallX(r) => pc = try_or_break!(m.call_indirect(vm, slot, pc, r)),
            Op::Exit => {
                if m.frames.len() == base {
                    break Ok(m.regs[0]);
                }
                match m.pop_frame() {
                    None => break Ok(m.regs[0]),
                    Some(ret) => pc = ret,
                }
            }
            Op::MayGoto(t) => {
                if m.may_goto == 0 {
                    pc = t as usize;
                } else {
                    m.may_goto -= 1;
                }
            }
            Op::End => break Err(Trap::FellOffEnd { slot }),
        }
    };
    if METERED {
        m.budget_left = budget;
    }
    result
}

/// The [`CallbackContext`] of a helper called from the interpreter.
struct Callbacks<'x, 'r, 'm, const METERED: bool> {
    m: &'x mut Machine<'r, 'm>,
    vm: &'x Interpreter,
    slot: usize,
}

impl<const METERED: bool> CallbackContext for Callbacks<'_, '_, '_, METERED> {
    fn memory(&self) -> &MemoryMap<'_> {
        self.m.memory
    }

    fn call_function(&mut self, func: u64, args: [u64; 5], readonly: &[u8]) -> Result<u64, Trap> {
        let (vm, slot) = (self.vm, self.slot);
        if readonly.is_empty() {
            return self.m.invoke::<METERED>(vm, slot, func, args);
        }
        let region = Region {
            start: readonly.as_ptr() as u64,
            len: readonly.len() as u64,
            writable: false,
            kind: RegionKind::Helper,
        };
        // SAFETY: `readonly` is borrowed for the whole call and the region is read-only, so
        // the program only reads it, through the checked loads of this module.
        unsafe {
            self.m
                .with_extra_region(region, |m| m.invoke::<METERED>(vm, slot, func, args))
        }
    }
}

#[cfg(test)]
mod tests {
    use userbpf_isa::{asm::assemble, Program};

    use crate::helpers::Helpers;
    use crate::interp::Interpreter;

    fn vm(text: &str) -> Interpreter {
        let program = Program::from_insns(assemble(text).expect("assembles"));
        Interpreter::new(&program, &Helpers::new()).expect("prepares")
    }

    /// A program that overwrites r10 and then calls a function gets a frame inside the
    /// run's stack all the same: the new frame follows the machine's frame, not r10.
    #[test]
    fn calls_after_an_overwritten_frame_pointer_stay_in_the_stack() {
        let v = vm("
            r10 = 4096
            call local f
            exit
        f:
            r1 = r10
            r1 += -8
            *(u64 *)(r1 + 0) = 7
            r0 = *(u64 *)(r1 + 0)
            exit
        ");
        assert_eq!(v.run_raw(&mut []), Ok(7));
        let v = vm("
            r10 = 4096
            call local f
            exit
        f:
            *(u64 *)(r10 - 8) = 7
            r0 = 1
            exit
        ");
        assert!(v.run_raw(&mut []).is_ok());
    }

    /// Each frame starts zeroed, also when a pooled stack held an earlier run's data.
    #[test]
    fn frames_start_zeroed() {
        let dirty = vm("
            r1 = -1
            *(u64 *)(r10 - 8) = r1
            call local f
            r0 = 0
            exit
        f:
            r1 = -1
            *(u64 *)(r10 - 8) = r1
            exit
        ");
        let read = vm("
            call local f
            r0 = *(u64 *)(r10 - 8)
            r0 |= r6
            exit
        f:
            r6 = *(u64 *)(r10 - 8)
            exit
        ");
        for _ in 0..3 {
            assert_eq!(dirty.run_raw(&mut []), Ok(0));
            assert_eq!(read.run_raw(&mut []), Ok(0));
        }
    }

    /// Within one run a frame depth is zeroed once: a second call at the same depth sees what
    /// the first left (as the JIT, whose stack is cleared once per run).
    #[test]
    fn frames_are_zeroed_once_per_run() {
        let prog = vm("
            call local set
            call local get
            exit
        set:
            r1 = 7
            *(u64 *)(r10 - 8) = r1
            exit
        get:
            r0 = *(u64 *)(r10 - 8)
            exit
        ");
        assert_eq!(prog.run_raw(&mut []), Ok(7));
        assert_eq!(prog.run_raw(&mut []), Ok(7));
    }
}
