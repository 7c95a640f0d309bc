//! # userbpf-runtime: running eBPF programs
//!
//! Takes decoded programs ([`userbpf_isa::Program`]); gives the checked [`Interpreter`], the
//! [`MemoryMap`] of regions a run may touch, and the [`Helpers`] registry keyed by kernel
//! helper id. Errors are [`LoadError`] (preparing) and [`Trap`] (running).

pub mod context;
pub mod engine;
pub mod error;
pub mod helpers;
pub mod instance;
pub mod interp;
pub mod kernel_helpers;
pub mod maps;
pub mod memory;
pub mod pin_btf;

pub use error::{Access, LoadError, Trap};
pub use helpers::{Helper, HelperContext, HelperFn, Helpers};
pub use instance::{LoadOptions, ObjectInstance, PreparedProgram, RuntimeError};
pub use interp::{Interpreter, MAX_CALL_FRAMES, STACK_FRAME_SIZE};
pub use memory::{MemoryMap, Region, RegionKind};
pub mod test_run;
pub use test_run::{test_run, TestRunOutput};
