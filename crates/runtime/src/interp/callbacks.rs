//! Helpers that call back into the running program, and tail calls.
//!
//! Takes implementations of the helpers that need the engine itself (`bpf_loop`,
//! `bpf_for_each_map_elem`: they call a function of the running program) and a
//! [`TailCallTargets`] resolver (`bpf_tail_call`: which program replaces the current one);
//! gives [`EngineHelpers`], which [`Interpreter::with_engine_helpers`] turns into dedicated
//! operations, and [`CallbackContext`], what such a helper sees while it runs: the run's
//! memory and [`CallbackContext::call_function`], which runs a function of the program (a
//! `BPF_PSEUDO_FUNC` pointer, `FUNC_PTR_TAG | slot`) in a frame of its own and returns its
//! r0.
//!
//! The interface is engine-neutral: a JIT offers the same by implementing
//! [`CallbackContext`] for its own machine state.
//!
//! [`Interpreter::with_engine_helpers`]: super::Interpreter::with_engine_helpers

use std::collections::BTreeMap;
use std::sync::Arc;

use super::Interpreter;
use crate::error::Trap;
use crate::memory::MemoryMap;

/// What a callback-taking helper sees of the running program.
pub trait CallbackContext {
    /// The regions of this run.
    fn memory(&self) -> &MemoryMap<'_>;

    /// Call function `func` (a function pointer value, `FUNC_PTR_TAG | slot`) of the running
    /// program with r1–r5 = `args`, in a new frame, and return its r0. `readonly` is made
    /// readable to the program for the duration of the call (for example a key the helper
    /// passes by pointer; its address is `readonly.as_ptr()`); pass `&[]` for none.
    ///
    /// # Errors
    /// [`Trap::BadCallTarget`] when `func` is not a function of the program,
    /// [`Trap::CallDepth`] when frames run out, and any trap of the callee.
    fn call_function(&mut self, func: u64, args: [u64; 5], readonly: &[u8]) -> Result<u64, Trap>;
}

/// Why a callback-taking helper ends the run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallbackError {
    /// A trap of a function it called (passed on as is).
    Trap(Trap),
    /// The helper's own failure; the run ends with [`Trap::Helper`] at the call.
    Message(String),
}

impl From<Trap> for CallbackError {
    fn from(t: Trap) -> Self {
        CallbackError::Trap(t)
    }
}

/// A helper that may call back into the program: arguments r1–r5, result r0.
pub type CallbackHelperFn =
    dyn Fn(&mut dyn CallbackContext, [u64; 5]) -> Result<u64, CallbackError> + Send + Sync;

/// Where `bpf_tail_call(ctx, map, index)` goes.
pub trait TailCallTargets: Send + Sync {
    /// The program in slot `index` of prog_array `map` (the helper's r2 and r3, the index
    /// truncated to u32 as in the kernel).
    ///
    /// # Errors
    /// A message when `map` is not a program array or the target cannot run; the run ends
    /// with a trap carrying it.
    fn target(&self, map: u64, index: u32) -> Result<TailCallTarget, String>;
}

/// What a prog_array slot holds for a tail call.
#[derive(Clone, Debug)]
pub enum TailCallTarget {
    /// `index >= max_entries`: the call fails without counting.
    OutOfRange,
    /// An empty slot: the call fails (and counts towards the limit, as in the kernel).
    Empty,
    /// The program that replaces the caller.
    Program(Arc<Interpreter>),
}

/// The kernel's limit of tail calls per run (`MAX_TAIL_CALL_CNT`).
pub const MAX_TAIL_CALL_CNT: u32 = 33;

/// The engine-level helpers of a program: callback-taking helpers by id, and tail calls.
#[derive(Clone, Default)]
pub struct EngineHelpers {
    pub(crate) callbacks: BTreeMap<u32, (String, Arc<CallbackHelperFn>)>,
    pub(crate) tail_calls: Option<Arc<dyn TailCallTargets>>,
}

impl std::fmt::Debug for EngineHelpers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineHelpers")
            .field(
                "callbacks",
                &self.callbacks.values().map(|(n, _)| n).collect::<Vec<_>>(),
            )
            .field("tail_calls", &self.tail_calls.is_some())
            .finish()
    }
}

impl EngineHelpers {
    /// None.
    pub fn new() -> Self {
        Self::default()
    }

    /// Register (or replace) callback-taking helper `id`.
    pub fn register<F>(&mut self, id: u32, name: &str, func: F) -> &mut Self
    where
        F: Fn(&mut dyn CallbackContext, [u64; 5]) -> Result<u64, CallbackError>
            + Send
            + Sync
            + 'static,
    {
        self.callbacks
            .insert(id, (name.to_string(), Arc::new(func)));
        self
    }

    /// Make `bpf_tail_call` (id 12) resolve its targets with `targets`.
    pub fn set_tail_calls(&mut self, targets: Arc<dyn TailCallTargets>) -> &mut Self {
        self.tail_calls = Some(targets);
        self
    }

    /// Whether helper `id` is provided here (`bpf_tail_call` when a resolver is set).
    pub fn contains(&self, id: u32) -> bool {
        self.callbacks.contains_key(&id) || (id == TAIL_CALL_ID && self.tail_calls.is_some())
    }

    /// The callback-taking helper `id` and its name.
    pub fn get(&self, id: u32) -> Option<(&str, &Arc<CallbackHelperFn>)> {
        self.callbacks.get(&id).map(|(n, f)| (n.as_str(), f))
    }

    /// The tail call resolver, if any.
    pub fn tail_calls(&self) -> Option<&Arc<dyn TailCallTargets>> {
        self.tail_calls.as_ref()
    }

    /// A dense table indexed by id, for dispatch.
    pub(crate) fn dense(&self) -> Vec<Option<Arc<CallbackHelperFn>>> {
        let len = self
            .callbacks
            .keys()
            .next_back()
            .map_or(0, |k| *k as usize + 1);
        let mut v = vec![None; len];
        for (id, (_, f)) in &self.callbacks {
            v[*id as usize] = Some(f.clone());
        }
        v
    }
}

/// `bpf_tail_call`'s helper id.
pub const TAIL_CALL_ID: u32 = 12;
