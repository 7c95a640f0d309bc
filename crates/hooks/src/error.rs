//! Errors of the hooks.

use std::io;

/// Why a hook could not be attached or a trace could not run.
#[derive(Debug, thiserror::Error)]
pub enum HookError {
    /// The program's section names no attach point the hooks provide.
    #[error("program {program} (section {section}): {reason}")]
    Unsupported {
        /// Program name.
        program: String,
        /// Its section.
        section: String,
        /// Why.
        reason: String,
    },
    /// The verifier rejected the program (or does not model its type): nothing runs
    /// unverified unless asked for.
    #[error("{reason}")]
    Rejected {
        /// Program name.
        program: String,
        /// The verifier's message, with the opt-out.
        reason: String,
    },
    /// Preparing the program failed (relocation, unavailable helper...).
    #[error(transparent)]
    Runtime(#[from] userbpf_runtime::RuntimeError),
    /// The command could not be started.
    #[error("cannot start {command}: {source}")]
    Spawn {
        /// The command.
        command: String,
        /// The OS error.
        source: io::Error,
    },
    /// The command could not be executed (not found, not executable).
    #[error("cannot execute {command}: {source}")]
    Exec {
        /// The command.
        command: String,
        /// The OS error of execvp.
        source: io::Error,
    },
    /// Attaching to a running process failed.
    #[error("cannot attach to process {pid}: {source}")]
    Attach {
        /// The process.
        pid: i32,
        /// The OS error of PTRACE_SEIZE or /proc.
        source: io::Error,
    },
    /// Waiting for the traced tasks failed.
    #[error("tracing failed: {0}")]
    Trace(io::Error),
}
