//! Errors of the JIT.
//!
//! Takes nothing; gives [`JitError`], why a program cannot be compiled, naming the
//! instruction slot where one is to blame.

use thiserror::Error;

/// Why a program cannot be compiled.
#[derive(Debug, Error)]
pub enum JitError {
    /// A jump or call target outside the program or inside an `lddw`.
    #[error(transparent)]
    Decode(#[from] userbpf_isa::DecodeError),
    /// An instruction the JIT cannot run in user space (as the interpreter's `LoadError`).
    #[error("instruction {slot}: {what} is not supported here: {why}")]
    Unsupported {
        /// Slot of the instruction.
        slot: usize,
        /// What the instruction is.
        what: &'static str,
        /// Why it cannot run.
        why: &'static str,
    },
    /// A call to a helper id that is not registered.
    #[error("instruction {slot}: unknown helper function {id}")]
    UnknownHelper {
        /// Slot of the call.
        slot: usize,
        /// Helper id.
        id: i32,
    },
    /// The program is larger than the JIT supports.
    #[error("the program has {slots} instruction slots; the JIT supports at most {max}")]
    TooLarge {
        /// Slots in the program.
        slots: usize,
        /// The limit.
        max: usize,
    },
    /// [`crate::compile`] takes programs verified as `Raw`; programs of kernel types come
    /// from ELF objects ([`crate::compile_prepared`]).
    #[error(
        "program type {0} cannot be compiled from a verified program alone (its context \
             accesses need rewriting and its maps an instance); use compile_prepared"
    )]
    ProgType(String),
    /// Preparing the program (or a tail-call target) failed.
    #[error("{0}")]
    Prepare(String),
    /// Executable memory could not be mapped.
    #[error("{what} for the JIT's code failed: {source}")]
    Memory {
        /// The system call.
        what: &'static str,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}
