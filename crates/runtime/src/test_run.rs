//! `BPF_PROG_TEST_RUN` semantics for plain bytecode.
//!
//! Takes a prepared program and an input buffer; gives [`TestRunOutput`]: the return value of
//! the last run, the mean duration per run, and the buffer as the program left it. As in the
//! kernel, the program runs `repeat` times on one copy of the input.

use std::time::{Duration, Instant};

use crate::engine::Executable;
use crate::error::Trap;

/// Result of [`test_run`].
#[derive(Clone, Debug, PartialEq)]
pub struct TestRunOutput {
    /// r0 of the last run.
    pub retval: u64,
    /// Mean wall-clock time per run.
    pub duration: Duration,
    /// The input buffer after the runs.
    pub data_out: Vec<u8>,
    /// Number of runs.
    pub repeat: u32,
}

/// Run `vm` (any engine) `repeat` times (at least once) on a copy of `data_in`, with r1 = its address and
/// r2 = its length.
///
/// # Errors
/// The first [`Trap`].
pub fn test_run<E: Executable + ?Sized>(
    vm: &E,
    data_in: &[u8],
    repeat: u32,
) -> Result<TestRunOutput, Trap> {
    let repeat = repeat.max(1);
    let mut data = data_in.to_vec();
    let mut retval = 0;
    let start = Instant::now();
    for _ in 0..repeat {
        retval = vm.run_raw(&mut data)?;
    }
    let total = start.elapsed();
    Ok(TestRunOutput {
        retval,
        duration: total / repeat,
        data_out: data,
        repeat,
    })
}
