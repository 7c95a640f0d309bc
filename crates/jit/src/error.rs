//! Errors of the JIT.
//!
//! Takes nothing; gives [`JitError`], why a program cannot be compiled, naming the
//! instruction slot where one is to blame.

use thiserror::Error;

/// Why a program cannot be compiled.
#[derive(Debug, Error)]
pub enum JitError {
    /// The program cannot be prepared for execution, as for the interpreter: a bad jump or
    /// call target, an unknown helper, an instruction that cannot run in user space.
    #[error(transparent)]
    Load(#[from] userbpf_runtime::LoadError),
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

impl From<userbpf_isa::DecodeError> for JitError {
    fn from(e: userbpf_isa::DecodeError) -> JitError {
        JitError::Load(e.into())
    }
}
