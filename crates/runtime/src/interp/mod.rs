//! The checked interpreter.
//!
//! Takes a decoded [`Program`] and the [`Helpers`] it may call; gives an [`Interpreter`] that
//! runs the program with exact RFC 9669 semantics on a 512-byte stack per frame (up to
//! [`MAX_CALL_FRAMES`] frames), checking every load, store and atomic against the regions of
//! the run. A run ends with r0 or a [`Trap`](crate::Trap) naming the instruction.
//!
//! Running without the verifier is safe here: a program can at worst trap, never touch host
//! memory outside its regions. (The JIT, which trusts the verifier, has no such opt-out.)
//!
//! ```
//! use userbpf_isa::{Insn, Program};
//! use userbpf_runtime::{Helpers, Interpreter};
//! let bytes = userbpf_isa::encode_program(&[
//!     Insn::Load { size: userbpf_isa::MemSize::B, dst: userbpf_isa::Reg::R0,
//!                  src: userbpf_isa::Reg::R1, off: 1 },
//!     Insn::Exit,
//! ]);
//! let vm = Interpreter::new(&Program::decode(&bytes).unwrap(), &Helpers::new()).unwrap();
//! assert_eq!(vm.run_raw(&mut [7, 9]).unwrap(), 9);
//! ```

pub mod callbacks;
mod exec;
mod op;

use std::sync::Arc;

use userbpf_isa::Program;

use crate::error::{LoadError, Trap};
use crate::helpers::{HelperFn, Helpers};
use crate::memory::MemoryMap;

pub use callbacks::{
    CallbackContext, CallbackError, CallbackHelperFn, EngineHelpers, TailCallTarget,
    TailCallTargets, MAX_TAIL_CALL_CNT,
};
pub use op::{lddw_value, FUNC_PTR_TAG};

/// Stack bytes per frame.
pub const STACK_FRAME_SIZE: usize = 512;
/// Maximum nesting of bpf-to-bpf calls (frames, including the main program).
pub const MAX_CALL_FRAMES: usize = 8;
/// The kernel's `may_goto` budget per run (`BPF_MAX_LOOPS`).
pub const MAY_GOTO_BUDGET: u64 = 8 * 1024 * 1024;

/// A program prepared for the checked interpreter.
#[derive(Clone)]
pub struct Interpreter {
    ops: Box<[op::Op]>,
    helpers: Box<[Option<Arc<HelperFn>>]>,
    engine: Box<[Option<Arc<CallbackHelperFn>>]>,
    tail_calls: Option<Arc<dyn TailCallTargets>>,
    budget: Option<u64>,
    #[cfg(feature = "trace")]
    trace: Option<Arc<TraceFn>>,
}

/// Called with (slot, r0..r10) before each instruction (feature `trace`).
#[cfg(feature = "trace")]
#[doc(hidden)]
pub type TraceFn = dyn Fn(usize, &[u64]) + Send + Sync;

impl std::fmt::Debug for Interpreter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Interpreter")
            .field("slots", &(self.ops.len() - 1))
            .field("budget", &self.budget)
            .finish()
    }
}

impl Interpreter {
    /// Prepare `program`. Jump targets are checked; every static helper call must name a
    /// registered helper.
    ///
    /// # Errors
    /// [`LoadError`] for bad targets, unknown helpers and instructions that cannot run here
    /// (legacy packet loads, kfunc calls, unrelocated map references).
    pub fn new(program: &Program, helpers: &Helpers) -> Result<Interpreter, LoadError> {
        Self::with_engine_helpers(program, helpers, &EngineHelpers::new())
    }

    /// Prepare `program` with helpers that call back into it (`bpf_loop`,
    /// `bpf_for_each_map_elem`) and tail calls, see [`callbacks`]. A helper id in `engine`
    /// takes precedence over the same id in `helpers`.
    ///
    /// # Errors
    /// As [`Interpreter::new`].
    pub fn with_engine_helpers(
        program: &Program,
        helpers: &Helpers,
        engine: &EngineHelpers,
    ) -> Result<Interpreter, LoadError> {
        let ops = op::translate(program, helpers, engine)?;
        Ok(Interpreter {
            ops: ops.into_boxed_slice(),
            helpers: helpers.dense().into_boxed_slice(),
            engine: engine.dense().into_boxed_slice(),
            tail_calls: engine.tail_calls.clone(),
            budget: None,
            #[cfg(feature = "trace")]
            trace: None,
        })
    }

    /// Stop runs after `budget` instructions (None: no limit). The budget of the program a
    /// run starts with covers the whole run, tail calls and callbacks included.
    pub fn set_budget(&mut self, budget: Option<u64>) {
        self.budget = budget;
    }

    /// Debug only (feature `trace`): call `trace` with the slot and r0..r10 before each
    /// instruction runs.
    #[cfg(feature = "trace")]
    #[doc(hidden)]
    pub fn set_trace(&mut self, trace: Option<Arc<TraceFn>>) {
        self.trace = trace;
    }

    /// Run with r1 = address of `input` (0 when empty) and r2 = its length, the convention
    /// of `userbpf run --raw` and the conformance suite. The program may read and write
    /// `input`.
    ///
    /// # Errors
    /// A [`Trap`] when the program misbehaves.
    pub fn run_raw(&self, input: &mut [u8]) -> Result<u64, Trap> {
        crate::engine::run_on_input(self, input)
    }

    /// Run with r1.. set from `args` (at most 5) and the given memory regions.
    ///
    /// # Errors
    /// A [`Trap`] when the program misbehaves.
    pub fn run(&self, args: &[u64], memory: &mut MemoryMap<'_>) -> Result<u64, Trap> {
        exec::execute(self, args, memory)
    }
}
