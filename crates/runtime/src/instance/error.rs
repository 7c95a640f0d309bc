//! Errors of loading an object into an instance and preparing its programs.
//!
//! Takes nothing; gives [`RuntimeError`], whose variants name the map, program, helper and
//! instruction concerned.

use std::path::PathBuf;

use thiserror::Error;

use crate::error::LoadError;
use crate::maps::MapError;

/// Why an object cannot be instantiated or one of its programs prepared.
#[derive(Debug, Error)]
pub enum RuntimeError {
    /// The program's context accesses cannot be mapped onto the runtime's context.
    #[error("program '{program}': {message}")]
    Context {
        /// Program name.
        program: String,
        /// The context error.
        message: String,
    },
    /// A map of the object cannot be created.
    #[error("map '{map}': {source}")]
    Map {
        /// Map name.
        map: String,
        /// The cause (unsupported type, bad geometry, pin file...).
        #[source]
        source: MapError,
    },
    /// A map definition the runtime cannot turn into a map.
    #[error("map '{map}': {reason}")]
    MapDefinition {
        /// Map name.
        map: String,
        /// What is wrong.
        reason: String,
    },
    /// A pinned map exists with a different definition.
    #[error("map '{map}': pinned map {} is incompatible: {reason}", path.display())]
    PinMismatch {
        /// Map name.
        map: String,
        /// Pin path.
        path: PathBuf,
        /// The difference.
        reason: String,
    },
    /// No map of this name.
    #[error("no map named '{0}'")]
    NoSuchMap(String),
    /// No program of this name.
    #[error("no program named '{0}'")]
    NoSuchProgram(String),
    /// A helper user space cannot provide.
    #[error(
        "program '{program}': instruction {insn}: helper {name} ({id}) is not available in user space: {reason}"
    )]
    HelperUnavailable {
        /// Program name.
        program: String,
        /// Instruction slot of the call.
        insn: usize,
        /// Helper id.
        id: i32,
        /// The kernel's name of the helper.
        name: String,
        /// Why.
        reason: &'static str,
    },
    /// A helper that is not registered for this program.
    #[error(
        "program '{program}': instruction {insn}: helper {name} ({id}) is not provided here (the hook or application running the program must register it)"
    )]
    HelperNotProvided {
        /// Program name.
        program: String,
        /// Instruction slot of the call.
        insn: usize,
        /// Helper id.
        id: i32,
        /// The kernel's name of the helper, or "unknown helper".
        name: String,
    },
    /// A call of a kernel function (kfunc) or an undefined extern.
    #[error(
        "program '{program}': instruction {insn}: call of kernel function '{name}' is not available in user space"
    )]
    Kfunc {
        /// Program name.
        program: String,
        /// Instruction slot.
        insn: usize,
        /// Function name (from the object's undefined symbol).
        name: String,
    },
    /// A map reference (`lddw` with a map pseudo source) that cannot be relocated.
    #[error("program '{program}': instruction {insn}: {reason}")]
    Relocation {
        /// Program name.
        program: String,
        /// Instruction slot.
        insn: usize,
        /// What is wrong.
        reason: String,
    },
    /// The relocated program cannot be prepared for the interpreter.
    #[error("program '{program}': {source}")]
    Load {
        /// Program name.
        program: String,
        /// The cause.
        #[source]
        source: LoadError,
    },
    /// A prog_array or map-in-map slot cannot be set.
    #[error("map '{map}': {reason}")]
    Slot {
        /// Map name.
        map: String,
        /// What is wrong.
        reason: String,
    },
    /// The tail-call targets of a prepared program cannot be limited.
    #[error("program '{program}': {reason}")]
    TailCallTargets {
        /// Program name.
        program: String,
        /// What is wrong.
        reason: String,
    },
    /// Too many maps in one instance.
    #[error("instance has no room for map '{0}' (at most {max} maps)", max = super::MAX_MAPS)]
    TooManyMaps(String),
}
