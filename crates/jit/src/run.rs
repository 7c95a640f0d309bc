//! Running generated code: the run context and the trampolines into the runtime.
//!
//! Takes a [`JitProgram`], arguments and the run's [`MemoryMap`]; gives r0 or a [`Trap`].
//! Each run gets a fresh [`RunCtx`] (held in r12 by the generated code) and a zeroed
//! 8 × 512-byte stack. Helpers are called through [`helper_trampoline`] and `callx` to a
//! helper id through [`callx_trampoline`]: `extern "C"` functions that take r1–r5 and the
//! context, call the registered closure with a [`HelperContext`], and return the result in
//! rax with a failure flag in rdx. On failure the generated code restores the stack pointer
//! saved at entry and returns; the trap is then built here from the recorded site.

use std::ffi::c_void;
use std::mem::offset_of;
use std::panic::{catch_unwind, AssertUnwindSafe};

use userbpf_runtime::interp::MAY_GOTO_BUDGET;
use userbpf_runtime::{HelperContext, MemoryMap, Trap, MAX_CALL_FRAMES, STACK_FRAME_SIZE};

use crate::codegen::SiteKind;
use crate::JitProgram;

const STACK_SIZE: usize = STACK_FRAME_SIZE * MAX_CALL_FRAMES;

/// The state of one run, addressed by the generated code at fixed offsets from r12.
#[repr(C)]
pub(crate) struct RunCtx {
    /// A local call traps when r10 is at or below this (the deepest frame's r10).
    stack_limit: u64,
    /// Remaining `may_goto` iterations.
    may_goto: u64,
    /// Absolute code address of every slot (0: not an instruction start).
    slot_table: *const u64,
    /// rsp after the prologue's pushes, restored by the abort path.
    saved_rsp: u64,
    /// The current call or trap site (index into the program's site table).
    site: u64,
    /// The value `callx` was asked to call.
    callx_target: u64,
    /// r1–r5 at entry.
    args: [u64; 5],
    /// r10 at entry.
    stack_top: u64,
    /// Non-zero when the run trapped (see [`trap_code`]).
    trap_code: u64,
    /// The stack area (kept as a pointer so the compiler knows the code may write it).
    stack_base: *mut u8,
    program: *const JitProgram,
    memory: *mut c_void,
    /// What the failing helper reported.
    helper_error: Option<(u64, String)>,
}

/// Offsets of [`RunCtx`] fields used by the generated code.
pub(crate) mod off {
    use super::*;
    pub const STACK_LIMIT: i32 = offset_of!(RunCtx, stack_limit) as i32;
    pub const MAY_GOTO: i32 = offset_of!(RunCtx, may_goto) as i32;
    pub const SLOT_TABLE: i32 = offset_of!(RunCtx, slot_table) as i32;
    pub const SAVED_RSP: i32 = offset_of!(RunCtx, saved_rsp) as i32;
    pub const SITE: i32 = offset_of!(RunCtx, site) as i32;
    pub const CALLX_TARGET: i32 = offset_of!(RunCtx, callx_target) as i32;
    pub const ARGS: i32 = offset_of!(RunCtx, args) as i32;
    pub const STACK_TOP: i32 = offset_of!(RunCtx, stack_top) as i32;
    pub const TRAP_CODE: i32 = offset_of!(RunCtx, trap_code) as i32;
}

/// Values of [`RunCtx::trap_code`].
pub(crate) mod trap_code {
    pub const CALL_DEPTH: u64 = 1;
    pub const BAD_CALLX: u64 = 2;
    pub const HELPER: u64 = 3;
    pub const FELL_OFF_END: u64 = 4;
}

/// rax and rdx on return from a trampoline.
#[repr(C)]
pub(crate) struct HelperRet {
    value: u64,
    failed: u64,
}

/// Call helper `id` with `args`; on `Err` or panic, record the error in `ctx`.
fn call_helper(ctx: &mut RunCtx, id: u64, args: [u64; 5]) -> HelperRet {
    // SAFETY: `program` points to the JitProgram whose code is running (set in `execute`,
    // which borrows it for the whole run).
    let program = unsafe { &*ctx.program };
    let Some(Some(f)) = usize::try_from(id)
        .ok()
        .and_then(|i| program.helpers.get(i))
    else {
        ctx.trap_code = trap_code::BAD_CALLX;
        return HelperRet {
            value: 0,
            failed: 1,
        };
    };
    // SAFETY: `memory` points to the MemoryMap `execute` was given, exclusively borrowed
    // for the run; no other reference to it is live while the helper runs.
    let memory = unsafe { &mut *(ctx.memory as *mut MemoryMap<'_>) };
    let mut hctx = HelperContext { memory };
    let result = catch_unwind(AssertUnwindSafe(|| f(&mut hctx, args)));
    let message = match result {
        Ok(Ok(value)) => return HelperRet { value, failed: 0 },
        Ok(Err(message)) => message,
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            format!("the helper panicked: {what}")
        }
    };
    ctx.trap_code = trap_code::HELPER;
    ctx.helper_error = Some((id, message));
    HelperRet {
        value: 0,
        failed: 1,
    }
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
    // SAFETY: as in call_helper.
    let program = unsafe { &*ctx.program };
    let id = match program.sites.get(ctx.site as usize).map(|s| s.kind) {
        Some(SiteKind::Helper(id)) => id as u64,
        _ => u64::MAX,
    };
    call_helper(ctx, id, [a1, a2, a3, a4, a5])
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
    call_helper(ctx, id, [a1, a2, a3, a4, a5])
}

/// Run `program` with r1.. from `args` and `memory` for its helpers.
pub(crate) fn execute(
    program: &JitProgram,
    args: &[u64],
    memory: &mut MemoryMap<'_>,
) -> Result<u64, Trap> {
    let mut stack = [0u64; STACK_SIZE / 8];
    let stack_base = stack.as_mut_ptr() as *mut u8;
    let top = stack_base as u64 + STACK_SIZE as u64;
    let mut regs = [0u64; 5];
    for (r, a) in regs.iter_mut().zip(args) {
        *r = *a;
    }
    let mut ctx = RunCtx {
        stack_limit: top - ((MAX_CALL_FRAMES - 1) * STACK_FRAME_SIZE) as u64,
        may_goto: MAY_GOTO_BUDGET,
        slot_table: program.slot_table.as_ptr(),
        saved_rsp: 0,
        site: 0,
        callx_target: 0,
        args: regs,
        stack_top: top,
        trap_code: 0,
        stack_base,
        program,
        memory: memory as *mut MemoryMap<'_> as *mut c_void,
        helper_error: None,
    };
    // SAFETY: the code at offset 0 is the prologue generated by `codegen::compile`, an
    // `extern "C" fn(*mut RunCtx) -> u64` that preserves the System V callee-saved
    // registers. `compile_unchecked`'s contract makes the program's own memory accesses
    // safe; the context, stack and memory map outlive the call.
    let r0 = unsafe {
        let entry: extern "C" fn(*mut RunCtx) -> u64 = std::mem::transmute(program.code.addr());
        entry(&mut ctx)
    };
    if ctx.trap_code == 0 {
        return Ok(r0);
    }
    // The generated code records a valid site before it traps.
    let slot = program.sites.get(ctx.site as usize).map_or(0, |s| s.slot);
    Err(match ctx.trap_code {
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
        _ => Trap::FellOffEnd { slot },
    })
}
