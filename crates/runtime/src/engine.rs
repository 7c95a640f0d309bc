//! The interface every execution engine offers.
//!
//! Takes nothing; gives [`Executable`], implemented by the checked [`Interpreter`] here and
//! by the JIT's compiled programs in `userbpf-jit`, so that [`crate::test_run`], the CLI and
//! differential tests run any engine through one interface.

use crate::error::Trap;
use crate::interp::Interpreter;
use crate::memory::{MemoryMap, RegionKind};

/// A program ready to run.
pub trait Executable {
    /// Run with r1 = address of `input` (0 when empty) and r2 = its length, the convention
    /// of `userbpf run --raw` and the conformance suite; the program may read and write
    /// `input`.
    ///
    /// # Errors
    /// A [`Trap`] when the program misbehaves.
    fn run_raw(&self, input: &mut [u8]) -> Result<u64, Trap> {
        run_on_input(self, input)
    }

    /// Run with r1.. set from `args` (at most 5) and `memory` for helpers.
    ///
    /// # Errors
    /// A [`Trap`] when the program misbehaves.
    fn run(&self, args: &[u64], memory: &mut MemoryMap<'_>) -> Result<u64, Trap>;
}

/// [`Executable::run_raw`] for any engine: `input` becomes the one input region.
///
/// # Errors
/// A [`Trap`] when the program misbehaves.
pub fn run_on_input<E: Executable + ?Sized>(exe: &E, input: &mut [u8]) -> Result<u64, Trap> {
    let len = input.len() as u64;
    let mut memory = MemoryMap::new();
    let addr = if input.is_empty() {
        0
    } else {
        memory.add_mut(input, RegionKind::Input)
    };
    exe.run(&[addr, len], &mut memory)
}

impl Executable for Interpreter {
    fn run(&self, args: &[u64], memory: &mut MemoryMap<'_>) -> Result<u64, Trap> {
        Interpreter::run(self, args, memory)
    }
}
