//! The interface every execution engine offers.
//!
//! Takes nothing; gives [`Executable`], implemented by the checked [`Interpreter`] here and
//! by the JIT's compiled programs in `userbpf-jit`, so that [`crate::test_run`], the CLI and
//! differential tests run any engine through one interface.

use crate::error::Trap;
use crate::interp::Interpreter;
use crate::memory::MemoryMap;

/// A program ready to run.
pub trait Executable {
    /// Run with r1 = address of `input` (0 when empty) and r2 = its length.
    ///
    /// # Errors
    /// A [`Trap`] when the program misbehaves.
    fn run_raw(&self, input: &mut [u8]) -> Result<u64, Trap>;

    /// Run with r1.. set from `args` (at most 5) and `memory` for helpers.
    ///
    /// # Errors
    /// A [`Trap`] when the program misbehaves.
    fn run(&self, args: &[u64], memory: &mut MemoryMap<'_>) -> Result<u64, Trap>;
}

impl Executable for Interpreter {
    fn run_raw(&self, input: &mut [u8]) -> Result<u64, Trap> {
        Interpreter::run_raw(self, input)
    }

    fn run(&self, args: &[u64], memory: &mut MemoryMap<'_>) -> Result<u64, Trap> {
        Interpreter::run(self, args, memory)
    }
}
