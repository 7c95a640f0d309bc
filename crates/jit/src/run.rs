//! Running generated code: the run context and the trampolines into the runtime.
//!
//! Takes a [`JitProgram`], arguments and the run's [`MemoryMap`]; gives r0 or a [`Trap`].
//! Each thread sets up a [`RunCtx`] (held in r12 by the generated code) and a stack of
//! 8 × 512 bytes once, and its runs reuse them, setting only what a run changes (a run
//! nested in a helper, while the thread's state is in use, makes its own). The stack is not
//! cleared between runs: eBPF stack contents are undefined at entry, and the verifier rejects
//! reads of stack slots the program has not written (stacks start zeroed, so nothing of
//! another process leaks). For programs that call out, the stack is added to the memory map
//! as a region, so helpers' checked copies can reach keys and buffers on it.
//!
//! Generated code records the current call or trap site as a pointer to a [`Site`] of the
//! program it belongs to (tail calls run code of several programs in one run). Helpers are
//! called through [`helper_trampoline`], `callx` to a helper id through
//! [`callx_trampoline`], callback-taking helpers (`bpf_loop`, ...) through
//! [`callback_trampoline`] and `bpf_tail_call` through [`tail_call_trampoline`]:
//! `extern "C"` functions that take r1–r5 and the context, and return the result in rax with
//! a failure flag in rdx. On failure the generated code restores the stack pointer saved at
//! entry and returns; the trap is then built here from the recorded site.

use std::cell::Cell;
use std::ffi::c_void;
use std::mem::offset_of;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use userbpf_runtime::interp::callbacks::TAIL_CALL_ID;
use userbpf_runtime::interp::{
    CallbackContext, CallbackError, CallbackHelperFn, FUNC_PTR_TAG, MAX_TAIL_CALL_CNT,
    MAY_GOTO_BUDGET,
};
use userbpf_runtime::{
    HelperContext, HelperFn, MemoryMap, Region, RegionKind, Trap, MAX_CALL_FRAMES, STACK_FRAME_SIZE,
};

use crate::codegen::SiteKind;
use crate::JitProgram;

const STACK_SIZE: usize = STACK_FRAME_SIZE * MAX_CALL_FRAMES;

/// What generated code and the trampolines know about one compiled program. Boxed by the
/// [`JitProgram`], so its address is stable and embedded in the code.
pub(crate) struct ProgramData {
    /// Absolute code address of every slot (0: not an instruction start).
    pub slot_table: Box<[u64]>,
    /// Helper implementations, indexed by id.
    pub helpers: Box<[Option<Arc<HelperFn>>]>,
    /// Callback-taking helpers, indexed by id.
    pub callbacks: Box<[Option<Arc<CallbackHelperFn>>]>,
    /// The address of the general entry (calls the context's entry target).
    pub entry: u64,
    /// The address of the fast entry (calls slot 0).
    pub fast_entry: u64,
}

/// A call or trap site. The generated code stores its address in [`RunCtx::site`].
#[derive(Debug)]
pub(crate) struct Site {
    pub slot: usize,
    pub kind: SiteKind,
    pub program: *const ProgramData,
}

/// Resolves tail calls for the programs of one run (see `crate::object`).
pub(crate) trait TailCalls {
    /// The body address of the program tail-called through `map[index]`: `Ok(None)` when
    /// the slot is out of range or empty (`counts` says whether the attempt counts towards
    /// the limit), with the program kept alive by the resolver.
    fn resolve(&self, map: u64, index: u32) -> Result<TailResolution, String>;
}

pub(crate) enum TailResolution {
    OutOfRange,
    Empty,
    Program(u64),
}

/// The state of one run, addressed by the generated code at fixed offsets from r12.
#[repr(C)]
pub(crate) struct RunCtx {
    /// A local call traps when r10 is at or below this (the deepest frame's r10).
    stack_limit: u64,
    /// Remaining `may_goto` iterations.
    may_goto: u64,
    /// rsp after the prologue's pushes, restored by the abort path.
    saved_rsp: u64,
    /// The current call or trap site (a `*const Site`).
    site: u64,
    /// The value `callx` was asked to call.
    callx_target: u64,
    /// r1–r5 at entry.
    args: [u64; 5],
    /// r10 at entry.
    stack_top: u64,
    /// The code the prologue calls.
    entry_target: u64,
    /// Non-zero when the run trapped (see [`trap_code`]).
    trap_code: u64,
    /// r10 at the last callback-taking helper call.
    cur_fp: u64,
    /// r0 and r1 around a tail call.
    saved_r0: u64,
    saved_r1: u64,
    /// Tail calls taken in this run.
    tail_calls: u64,
    /// The address of the thread's per-CPU map slot (`maps::cpu::current_cpu_ptr`), read
    /// by inlined `bpf_get_smp_processor_id`. Fixed for the thread that made the context
    /// (contexts never leave their thread); the slot's value follows `set_current_cpu`.
    cpu_slot: *const u32,
    memory: *mut c_void,
    tail: Option<*const dyn TailCalls>,
    /// What the failing helper reported.
    helper_error: Option<(u64, String)>,
    /// A trap passed on by a callback-taking helper.
    pending: Option<Trap>,
}

/// Offsets of [`RunCtx`] fields used by the generated code.
pub(crate) mod off {
    use super::*;
    pub const STACK_LIMIT: i32 = offset_of!(RunCtx, stack_limit) as i32;
    pub const MAY_GOTO: i32 = offset_of!(RunCtx, may_goto) as i32;
    pub const SAVED_RSP: i32 = offset_of!(RunCtx, saved_rsp) as i32;
    pub const SITE: i32 = offset_of!(RunCtx, site) as i32;
    pub const CALLX_TARGET: i32 = offset_of!(RunCtx, callx_target) as i32;
    pub const ARGS: i32 = offset_of!(RunCtx, args) as i32;
    pub const STACK_TOP: i32 = offset_of!(RunCtx, stack_top) as i32;
    pub const ENTRY_TARGET: i32 = offset_of!(RunCtx, entry_target) as i32;
    pub const TRAP_CODE: i32 = offset_of!(RunCtx, trap_code) as i32;
    pub const CUR_FP: i32 = offset_of!(RunCtx, cur_fp) as i32;
    pub const SAVED_R0: i32 = offset_of!(RunCtx, saved_r0) as i32;
    pub const SAVED_R1: i32 = offset_of!(RunCtx, saved_r1) as i32;
    pub const CPU_SLOT: i32 = offset_of!(RunCtx, cpu_slot) as i32;
}

/// Values of [`RunCtx::trap_code`].
pub(crate) mod trap_code {
    pub const CALL_DEPTH: u64 = 1;
    pub const BAD_CALLX: u64 = 2;
    pub const HELPER: u64 = 3;
    pub const FELL_OFF_END: u64 = 4;
    pub const PENDING: u64 = 5;
    pub const UNKNOWN_HELPER: u64 = 6;
}

/// rax and rdx on return from a trampoline.
#[repr(C)]
pub(crate) struct HelperRet {
    value: u64,
    failed: u64,
}

const FAILED: HelperRet = HelperRet {
    value: 0,
    failed: 1,
};

/// The site the generated code recorded (not tied to the borrow of `ctx`: sites live as
/// long as their program, longer than the run).
fn site_of<'s>(ctx: &RunCtx) -> &'s Site {
    // SAFETY: the generated code stores the address of a Site of a program that is alive
    // for the run (the running program, or a tail-call target its resolver keeps) before
    // every call into a trampoline and before every trap.
    unsafe { &*(ctx.site as *const Site) }
}

fn program_of<'p>(site: &Site) -> &'p ProgramData {
    // SAFETY: a site's program pointer is set when its JitProgram is built and refers to
    // that program's boxed data, alive as long as the site.
    unsafe { &*site.program }
}

fn panic_message(panic: Box<dyn std::any::Any + Send>) -> String {
    let what = panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    format!("the helper panicked: {what}")
}

/// Call helper `id` of `program` with `args`; on `Err` or panic, record the error in `ctx`.
fn call_helper(ctx: &mut RunCtx, program: &ProgramData, id: u64, args: [u64; 5]) -> HelperRet {
    let Some(Some(f)) = usize::try_from(id)
        .ok()
        .and_then(|i| program.helpers.get(i))
    else {
        ctx.trap_code = trap_code::BAD_CALLX;
        return FAILED;
    };
    // SAFETY: `memory` points to the MemoryMap `execute` was given, exclusively borrowed
    // for the run; no other reference to it is live while the helper runs.
    let memory = unsafe { &mut *(ctx.memory as *mut MemoryMap<'_>) };
    let mut hctx = HelperContext { memory };
    let message = match catch_unwind(AssertUnwindSafe(|| f(&mut hctx, args))) {
        Ok(Ok(value)) => return HelperRet { value, failed: 0 },
        Ok(Err(message)) => message,
        Err(panic) => panic_message(panic),
    };
    ctx.trap_code = trap_code::HELPER;
    ctx.helper_error = Some((id, message));
    FAILED
}

/// Static helper calls: the helper id comes from the current site.
pub(crate) extern "C" fn helper_trampoline(
    a1: u64,
    a2: u64,
    a3: u64,
    a4: u64,
    a5: u64,
    ctx: *mut RunCtx,
) -> HelperRet {
    // SAFETY: the generated code passes the run's context, alive for the whole run and not
    // otherwise borrowed while generated code runs.
    let ctx = unsafe { &mut *ctx };
    let site = site_of(ctx);
    let id = match site.kind {
        SiteKind::Helper(id) => id as u64,
        _ => u64::MAX,
    };
    call_helper(ctx, program_of(site), id, [a1, a2, a3, a4, a5])
}

/// `callx` of a value that is not a function of the program: a helper id.
pub(crate) extern "C" fn callx_trampoline(
    a1: u64,
    a2: u64,
    a3: u64,
    a4: u64,
    a5: u64,
    ctx: *mut RunCtx,
) -> HelperRet {
    // SAFETY: as in helper_trampoline.
    let ctx = unsafe { &mut *ctx };
    let id = ctx.callx_target;
    let program = program_of(site_of(ctx));
    call_helper(ctx, program, id, [a1, a2, a3, a4, a5])
}

/// What a callback-taking helper sees: the run's memory, and calls into the program.
struct JitCallbacks {
    ctx: *mut RunCtx,
    program: *const ProgramData,
    slot: usize,
}

impl CallbackContext for JitCallbacks {
    fn memory(&self) -> &MemoryMap<'_> {
        // SAFETY: as in call_helper; the helper holds no other reference to the map.
        unsafe { &*((*self.ctx).memory as *const MemoryMap<'_>) }
    }

    fn call_function(&mut self, func: u64, args: [u64; 5], readonly: &[u8]) -> Result<u64, Trap> {
        // SAFETY: the program of the calling site, alive for the run.
        let program = unsafe { &*self.program };
        let bad = Trap::BadCallTarget {
            slot: self.slot,
            target: func,
        };
        if func & 0xffff_ffff_0000_0000 != FUNC_PTR_TAG {
            return Err(bad);
        }
        let Some(&addr) = program.slot_table.get(func as u32 as usize) else {
            return Err(bad);
        };
        if addr == 0 {
            return Err(bad);
        }
        // SAFETY: the run's context; generated code is suspended in the helper call.
        let ctx = unsafe { &mut *self.ctx };
        if ctx.cur_fp <= ctx.stack_limit {
            return Err(Trap::CallDepth {
                slot: self.slot,
                max: MAX_CALL_FRAMES,
            });
        }
        let saved = (
            ctx.saved_rsp,
            ctx.args,
            ctx.stack_top,
            ctx.entry_target,
            ctx.cur_fp,
            ctx.site,
        );
        ctx.args = args;
        ctx.stack_top = ctx.cur_fp - STACK_FRAME_SIZE as u64;
        ctx.entry_target = addr;
        let entry = program.entry;
        let ctx_ptr = self.ctx;
        let enter = |_: &mut MemoryMap<'_>| {
            // SAFETY: `entry` is the prologue of the calling program's code (alive for the
            // run); it saves the host's registers, runs the function at `addr` on the new
            // frame below the caller's, and returns r0. The program's memory accesses are
            // covered by the contract of the function that compiled it.
            unsafe { enter(entry, ctx_ptr) }
        };
        let r0 = if readonly.is_empty() {
            // SAFETY: see above; the map pointer is the run's.
            enter(unsafe { &mut *(ctx.memory as *mut MemoryMap<'_>) })
        } else {
            let region = Region {
                start: readonly.as_ptr() as u64,
                len: readonly.len() as u64,
                writable: false,
                kind: RegionKind::Helper,
            };
            // SAFETY: `readonly` is borrowed for the whole call; the map is the run's.
            unsafe { (*(ctx.memory as *mut MemoryMap<'_>)).with_region(region, enter) }
        };
        // SAFETY: as above.
        let ctx = unsafe { &mut *self.ctx };
        (
            ctx.saved_rsp,
            ctx.args,
            ctx.stack_top,
            ctx.entry_target,
            ctx.cur_fp,
            ctx.site,
        ) = saved;
        if ctx.trap_code != 0 {
            let trap = take_trap(ctx);
            ctx.trap_code = 0;
            return Err(trap);
        }
        Ok(r0)
    }
}

/// Callback-taking helpers (`bpf_loop`, `bpf_for_each_map_elem`).
pub(crate) extern "C" fn callback_trampoline(
    a1: u64,
    a2: u64,
    a3: u64,
    a4: u64,
    a5: u64,
    ctx: *mut RunCtx,
) -> HelperRet {
    // SAFETY: as in helper_trampoline; the reference ends before the helper runs.
    let (site_ptr, id, slot) = {
        let c = unsafe { &*ctx };
        let site = site_of(c);
        let id = match site.kind {
            SiteKind::Callback(id) => id,
            _ => u32::MAX,
        };
        (site as *const Site, id, site.slot)
    };
    // SAFETY: as in site_of.
    let program = unsafe { (*site_ptr).program };
    // SAFETY: as in program_of.
    let f = unsafe { &*program }
        .callbacks
        .get(id as usize)
        .and_then(|f| f.clone());
    let Some(f) = f else {
        // SAFETY: as in helper_trampoline.
        unsafe { (*ctx).trap_code = trap_code::UNKNOWN_HELPER };
        return FAILED;
    };
    let mut cb = JitCallbacks { ctx, program, slot };
    let result = catch_unwind(AssertUnwindSafe(|| f(&mut cb, [a1, a2, a3, a4, a5])));
    // SAFETY: as in helper_trampoline; no other reference is live now.
    let ctx = unsafe { &mut *ctx };
    let message = match result {
        Ok(Ok(value)) => return HelperRet { value, failed: 0 },
        Ok(Err(CallbackError::Trap(t))) => {
            ctx.pending = Some(t);
            ctx.trap_code = trap_code::PENDING;
            return FAILED;
        }
        Ok(Err(CallbackError::Message(m))) => m,
        Err(panic) => panic_message(panic),
    };
    ctx.trap_code = trap_code::HELPER;
    ctx.helper_error = Some((id as u64, message));
    FAILED
}

/// `bpf_tail_call(ctx, map, index)`: returns the target's body address, or 0 when the call
/// fails and execution continues after it.
pub(crate) extern "C" fn tail_call_trampoline(
    _a1: u64,
    map: u64,
    index: u64,
    _a4: u64,
    _a5: u64,
    ctx: *mut RunCtx,
) -> HelperRet {
    // SAFETY: as in helper_trampoline.
    let ctx = unsafe { &mut *ctx };
    let Some(tail) = ctx.tail else {
        ctx.trap_code = trap_code::UNKNOWN_HELPER;
        return FAILED;
    };
    // SAFETY: the resolver outlives the run (it is owned by the program being run).
    let tail = unsafe { &*tail };
    let resolved = match catch_unwind(AssertUnwindSafe(|| tail.resolve(map, index as u32))) {
        Ok(r) => r,
        Err(panic) => Err(panic_message(panic)),
    };
    let target = match resolved {
        Err(message) => {
            ctx.trap_code = trap_code::HELPER;
            ctx.helper_error = Some((TAIL_CALL_ID as u64, message));
            return FAILED;
        }
        Ok(t) => t,
    };
    let fail = HelperRet {
        value: 0,
        failed: 0,
    };
    if matches!(target, TailResolution::OutOfRange) || ctx.tail_calls >= MAX_TAIL_CALL_CNT as u64 {
        return fail;
    }
    ctx.tail_calls += 1;
    match target {
        TailResolution::Program(addr) => HelperRet {
            value: addr,
            failed: 0,
        },
        _ => fail,
    }
}

/// Enter generated code through the prologue at `entry`.
///
/// # Safety
/// `entry` must be an entry of live generated code, `ctx` a fully set up context (for the
/// general entry, with `entry_target` the address of a function of that program), and the program's memory
/// accesses must be safe for the arguments in `ctx` (the compile function's contract).
unsafe fn enter(entry: u64, ctx: *mut RunCtx) -> u64 {
    // SAFETY: the prologue is an `extern "C" fn(*mut RunCtx) -> u64` that preserves the
    // System V callee-saved registers (see `codegen::prologue`); the caller's contract
    // covers what the program does.
    unsafe {
        let f: extern "C" fn(*mut RunCtx) -> u64 = std::mem::transmute(entry);
        f(ctx)
    }
}

/// A thread's run context and stack, set up once and reused by its runs (a run inside a
/// helper, while the thread's state is taken, makes its own).
struct RunState {
    ctx: RunCtx,
    stack: Box<[u64]>,
}

impl RunState {
    #[cold]
    #[inline(never)]
    fn new() -> Box<RunState> {
        let mut stack = vec![0u64; STACK_SIZE / 8].into_boxed_slice();
        let top = stack.as_mut_ptr() as u64 + STACK_SIZE as u64;
        Box::new(RunState {
            ctx: RunCtx {
                stack_limit: top - ((MAX_CALL_FRAMES - 1) * STACK_FRAME_SIZE) as u64,
                may_goto: MAY_GOTO_BUDGET,
                saved_rsp: 0,
                site: 0,
                callx_target: 0,
                args: [0; 5],
                stack_top: top,
                entry_target: 0,
                trap_code: 0,
                cur_fp: top,
                saved_r0: 0,
                saved_r1: 0,
                tail_calls: 0,
                cpu_slot: userbpf_runtime::maps::cpu::current_cpu_ptr(),
                memory: std::ptr::null_mut(),
                tail: None,
                helper_error: None,
                pending: None,
            },
            stack,
        })
    }
}

thread_local! {
    /// The run state of this thread when no run holds it (null then, or before the first
    /// run). A plain pointer, so that taking it is one load and one store.
    static SPARE: Cell<*mut RunState> = const { Cell::new(std::ptr::null_mut()) };
    /// Frees the thread's state when the thread exits (set up with the first state).
    static OWNER: Owner = const { Owner };
}

/// See [`OWNER`].
struct Owner;

impl Drop for Owner {
    fn drop(&mut self) {
        if let Ok(p) = SPARE.try_with(|s| s.replace(std::ptr::null_mut())) {
            if !p.is_null() {
                // SAFETY: a pointer in SPARE comes from Box::into_raw in give_back and is
                // owned by SPARE; it was just taken out.
                drop(unsafe { Box::from_raw(p) });
            }
        }
    }
}

#[inline(always)]
fn take_state() -> Box<RunState> {
    let p = SPARE
        .try_with(|s| s.replace(std::ptr::null_mut()))
        .unwrap_or(std::ptr::null_mut());
    if p.is_null() {
        return new_state();
    }
    // SAFETY: as in Owner::drop: SPARE owned it, and it was just taken out.
    unsafe { Box::from_raw(p) }
}

#[cold]
#[inline(never)]
fn new_state() -> Box<RunState> {
    // Make sure the state kept for this thread is freed when it exits (a state made while
    // the thread's locals are being destroyed stays unfreed).
    let _ = OWNER.try_with(|_| ());
    RunState::new()
}

#[inline(always)]
fn give_back(state: Box<RunState>) {
    let _ = SPARE.try_with(|s| {
        if s.get().is_null() {
            s.set(Box::into_raw(state));
        }
    });
}

/// The trap the run ended with (`ctx.trap_code != 0`).
fn take_trap(ctx: &mut RunCtx) -> Trap {
    let slot = site_of(ctx).slot;
    match ctx.trap_code {
        trap_code::CALL_DEPTH => Trap::CallDepth {
            slot,
            max: MAX_CALL_FRAMES,
        },
        trap_code::BAD_CALLX => Trap::BadCallTarget {
            slot,
            target: ctx.callx_target,
        },
        trap_code::HELPER => {
            let (id, message) = ctx.helper_error.take().unwrap_or_default();
            Trap::Helper { slot, id, message }
        }
        trap_code::PENDING => ctx.pending.take().unwrap_or(Trap::FellOffEnd { slot }),
        trap_code::UNKNOWN_HELPER => Trap::UnknownHelper {
            slot,
            id: match site_of(ctx).kind {
                SiteKind::Callback(id) | SiteKind::Helper(id) => id as u64,
                _ => TAIL_CALL_ID as u64,
            },
        },
        _ => Trap::FellOffEnd { slot },
    }
}

/// Run `program` with r1.. from `args`, `memory` for its helpers and `tail` to resolve tail
/// calls.
///
/// Programs that call nothing (no helpers, callbacks, tail calls or `callx`) take the fast
/// path: the thread's state is reused as it is (its stack top and limit never change, and
/// nothing else of it is read by such code), and the fast entry is called with the
/// arguments (it also starts the `may_goto` budget). The context's CPU slot address was set
/// when the state was made, on this thread.
///
/// # Safety
/// The program's memory accesses must be safe for `args` (the contract of the function that
/// compiled it).
#[inline]
pub(crate) unsafe fn execute(
    program: &JitProgram,
    args: &[u64],
    memory: &mut MemoryMap<'_>,
    tail: Option<&dyn TailCalls>,
) -> Result<u64, Trap> {
    // The thread's state, unless a run holds it (then the general path makes a new one).
    if program.calls {
        // SAFETY: the caller's contract.
        return unsafe { execute_calls(program, args, memory, tail) };
    }
    let spare = SPARE
        .try_with(|s| s.replace(std::ptr::null_mut()))
        .unwrap_or(std::ptr::null_mut());
    if spare.is_null() {
        // SAFETY: the caller's contract.
        return unsafe { execute_calls(program, args, memory, tail) };
    }
    // SAFETY: taken out of SPARE, which owned it; this run owns it until it is given back.
    let mut state = unsafe { Box::from_raw(spare) };
    let ctx: *mut RunCtx = &mut state.ctx;
    // SAFETY: the caller's contract; the context's stack top is the state's (restored by
    // every run that changes it).
    let r0 = unsafe { enter_fast(program.data.fast_entry, ctx, args) };
    if state.ctx.trap_code == 0 {
        give_back(state);
        return Ok(r0);
    }
    Err(trap_of(state))
}

/// Start a run through the fast entry at `entry`, with r1.. from `args` (at most 5, the rest
/// zero).
///
/// # Safety
/// As [`enter`], with `entry` the fast entry of the program.
#[inline(always)]
unsafe fn enter_fast(entry: u64, ctx: *mut RunCtx, args: &[u64]) -> u64 {
    // SAFETY: the fast entry is an `extern "C" fn(*mut RunCtx, u64 × 5) -> u64` that
    // preserves the System V callee-saved registers (see `codegen::prologue`); the caller's
    // contract covers what the program does.
    unsafe {
        let f: extern "C" fn(*mut RunCtx, u64, u64, u64, u64, u64) -> u64 =
            std::mem::transmute(entry);
        match *args {
            [] => f(ctx, 0, 0, 0, 0, 0),
            [a] => f(ctx, a, 0, 0, 0, 0),
            [a, b] => f(ctx, a, b, 0, 0, 0),
            _ => {
                let arg = |i: usize| args.get(i).copied().unwrap_or(0);
                f(ctx, arg(0), arg(1), arg(2), arg(3), arg(4))
            }
        }
    }
}

/// [`execute`] for programs that call out (and for runs nested in another run of the
/// thread): the stack is shown to helpers as a region, and the context says where memory and
/// the tail-call resolver are.
#[inline(never)]
unsafe fn execute_calls(
    program: &JitProgram,
    args: &[u64],
    memory: &mut MemoryMap<'_>,
    tail: Option<&dyn TailCalls>,
) -> Result<u64, Trap> {
    let mut state = take_state();
    let stack_base = state.stack.as_mut_ptr() as u64;
    let top = stack_base + STACK_SIZE as u64;
    let ctx = &mut state.ctx;
    ctx.stack_top = top;
    ctx.cur_fp = top;
    ctx.tail_calls = 0;
    // SAFETY (lifetime extension of the trait object pointer): the resolver outlives this
    // call, and the pointer is only used during it (it is cleared below).
    ctx.tail = tail.map(|t| unsafe {
        std::mem::transmute::<*const (dyn TailCalls + '_), *const (dyn TailCalls + 'static)>(
            t as *const dyn TailCalls,
        )
    });
    let entry = program.data.fast_entry;
    let region = Region {
        start: stack_base,
        len: STACK_SIZE as u64,
        writable: true,
        kind: RegionKind::Stack,
    };
    // SAFETY: the stack lives until after the run; generated code and helpers' checked
    // copies are its only users meanwhile.
    let r0 = unsafe {
        memory.with_region(region, |memory| {
            ctx.memory = memory as *mut MemoryMap<'_> as *mut c_void;
            // SAFETY: the caller's contract; the context is set up for the program.
            enter_fast(entry, ctx, args)
        })
    };
    ctx.tail = None;
    ctx.memory = std::ptr::null_mut();
    if ctx.trap_code == 0 {
        give_back(state);
        return Ok(r0);
    }
    Err(trap_of(state))
}

/// The trap of a run that ended with one; gives the cleared state back.
#[cold]
#[inline(never)]
fn trap_of(mut state: Box<RunState>) -> Trap {
    let ctx = &mut state.ctx;
    let trap = take_trap(ctx);
    ctx.trap_code = 0;
    ctx.helper_error = None;
    ctx.pending = None;
    give_back(state);
    trap
}
