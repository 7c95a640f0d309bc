//! Errors of the runtime: preparing a program ([`LoadError`]) and running it ([`Trap`]).
//!
//! Takes nothing; gives the two error enums. Every variant names the instruction (slot index).

use thiserror::Error;

/// Why a program cannot be prepared for execution.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum LoadError {
    /// The bytecode does not decode.
    #[error(transparent)]
    Decode(#[from] userbpf_isa::DecodeError),
    /// An instruction the runtime cannot execute in this setting.
    #[error("instruction {slot}: {what} is not supported here: {why}")]
    Unsupported {
        /// Slot of the instruction.
        slot: usize,
        /// What the instruction is.
        what: &'static str,
        /// Why it cannot run.
        why: &'static str,
    },
    /// A helper id that is not registered.
    #[error("instruction {slot}: unknown helper function {id}")]
    UnknownHelper {
        /// Slot of the call.
        slot: usize,
        /// Helper id.
        id: i32,
    },
}

/// Kind of memory access, for error messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// A load.
    Read,
    /// A store.
    Write,
    /// An atomic read-modify-write.
    Atomic,
}

impl std::fmt::Display for Access {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Access::Read => "read",
            Access::Write => "write",
            Access::Atomic => "atomic",
        })
    }
}

/// Why a run stopped abnormally. The interpreter never touches memory outside the regions it
/// was given; any attempt ends the run with one of these.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum Trap {
    /// A load, store or atomic outside every region the program may touch.
    #[error("instruction {slot}: invalid {access} of {size} bytes at 0x{addr:x} ({nearest})")]
    OutOfBounds {
        /// Slot of the instruction.
        slot: usize,
        /// Access kind.
        access: Access,
        /// Address accessed.
        addr: u64,
        /// Access size in bytes.
        size: usize,
        /// Description of the nearest region.
        nearest: String,
    },
    /// An atomic operation on an address not aligned to its size.
    #[error("instruction {slot}: misaligned atomic access of {size} bytes at 0x{addr:x}")]
    MisalignedAtomic {
        /// Slot of the instruction.
        slot: usize,
        /// Address.
        addr: u64,
        /// Access size.
        size: usize,
    },
    /// More than the maximum number of nested bpf-to-bpf calls.
    #[error("instruction {slot}: call depth exceeds {max} frames")]
    CallDepth {
        /// Slot of the call.
        slot: usize,
        /// The limit.
        max: usize,
    },
    /// `callx` to a value that is neither a helper id nor a function of the program.
    #[error("instruction {slot}: callx to invalid target 0x{target:x}")]
    BadCallTarget {
        /// Slot of the call.
        slot: usize,
        /// The value called.
        target: u64,
    },
    /// A call to a helper id that is not registered.
    #[error("instruction {slot}: unknown helper function {id}")]
    UnknownHelper {
        /// Slot of the call.
        slot: usize,
        /// Helper id.
        id: u64,
    },
    /// A helper reported an error it cannot express as a return value.
    #[error("instruction {slot}: helper {id} failed: {message}")]
    Helper {
        /// Slot of the call.
        slot: usize,
        /// Helper id.
        id: u64,
        /// What went wrong.
        message: String,
    },
    /// The instruction budget ran out.
    #[error("instruction {slot}: instruction budget of {budget} exhausted")]
    BudgetExhausted {
        /// Slot where execution stopped.
        slot: usize,
        /// The budget.
        budget: u64,
    },
    /// Execution ran past the last instruction.
    #[error("instruction {slot}: execution fell off the end of the program")]
    FellOffEnd {
        /// The slot past the end.
        slot: usize,
    },
}

impl Trap {
    /// The instruction slot where the trap happened.
    pub fn slot(&self) -> usize {
        match *self {
            Trap::OutOfBounds { slot, .. }
            | Trap::MisalignedAtomic { slot, .. }
            | Trap::CallDepth { slot, .. }
            | Trap::BadCallTarget { slot, .. }
            | Trap::UnknownHelper { slot, .. }
            | Trap::Helper { slot, .. }
            | Trap::BudgetExhausted { slot, .. }
            | Trap::FellOffEnd { slot } => slot,
        }
    }
}
