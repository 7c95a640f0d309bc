//! What engines other than the interpreter need from a prepared program.
//!
//! Takes a [`PreparedProgram`]; gives the program with its context accesses rewritten
//! ([`PreparedProgram::runnable_program`], what the interpreter runs), tail call resolution
//! down to a program index of the instance ([`PreparedProgram::tail_call_slot`], the same
//! rules as the interpreter's resolver) and the other programs of the instance prepared
//! with the same helpers ([`PreparedProgram::sibling`]), so that a JIT can compile
//! tail-call targets itself.

use userbpf_isa::Program;

use super::{PreparedProgram, RuntimeError};
use crate::context::rewrite_context_accesses;

/// What slot `index` of a program array holds for `bpf_tail_call`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TailCallSlot {
    /// `index >= max_entries`: the call fails without counting.
    OutOfRange,
    /// An empty slot: the call fails (and counts towards the limit, as in the kernel).
    Empty,
    /// The instance's program with this index replaces the caller.
    Program(usize),
}

impl PreparedProgram {
    /// The instructions an engine runs: [`PreparedProgram::program`] with the context
    /// accesses rewritten for the program type (as the interpreter runs it).
    ///
    /// # Errors
    /// [`RuntimeError::Context`] when the accesses cannot be rewritten (they were when the
    /// program was prepared, so this does not happen in practice).
    pub fn runnable_program(&self) -> Result<Program, RuntimeError> {
        match &self.context {
            None => Ok(self.program.clone()),
            Some((pt, facts)) => rewrite_context_accesses(&self.program, *pt, facts).map_err(|e| {
                RuntimeError::Context {
                    program: self.name.clone(),
                    message: e.to_string(),
                }
            }),
        }
    }

    /// The map a handle (`lddw rX, map` after relocation) names, if it is one of this
    /// instance's maps.
    pub fn map_by_handle(&self, handle: u64) -> Option<std::sync::Arc<crate::maps::Map>> {
        self.shared.by_handle(handle).map(|e| e.map.clone())
    }

    /// Number of programs in the instance (the valid arguments of
    /// [`PreparedProgram::sibling`]).
    pub fn instance_program_count(&self) -> usize {
        self.shared.programs.len()
    }

    /// Resolve `bpf_tail_call(ctx, map, index)` to a program of the instance: a slot naming
    /// a program tail calls may not reach ([`PreparedProgram::limit_tail_call_targets`]) is
    /// [`TailCallSlot::Empty`].
    ///
    /// # Errors
    /// A message when `map` is not a program array of this instance.
    pub fn tail_call_slot(&self, map: u64, index: u32) -> Result<TailCallSlot, String> {
        self.set.slot(map, index)
    }

    /// Limit the tail calls of this program (and of the programs it reaches) to the programs
    /// of the instance whose names `allowed` accepts, say the ones the verifier accepted: a
    /// program-array slot naming any other program behaves as an empty slot, in every
    /// engine, whatever user space stores there. Call it before the program first runs.
    ///
    /// # Errors
    /// [`RuntimeError::TailCallTargets`] when the targets were already limited to another
    /// set.
    pub fn limit_tail_call_targets(
        &self,
        allowed: &dyn Fn(&str) -> bool,
    ) -> Result<(), RuntimeError> {
        self.set
            .limit_targets(allowed)
            .map_err(|reason| RuntimeError::TailCallTargets {
                program: self.name.clone(),
                reason,
            })
    }

    /// Program `index` of the instance, prepared with the same helpers as this one (what a
    /// tail call from this program runs).
    ///
    /// # Errors
    /// As [`super::ObjectInstance::program`].
    pub fn sibling(&self, index: usize) -> Result<PreparedProgram, RuntimeError> {
        let spec = self
            .shared
            .programs
            .get(index)
            .ok_or_else(|| RuntimeError::NoSuchProgram(format!("#{index}")))?;
        let prepared = self.set.prepare(index)?;
        Ok(PreparedProgram {
            name: spec.name.clone(),
            index,
            program: prepared.program,
            context: prepared.context,
            helpers: prepared.helpers,
            engine: prepared.engine,
            interp: prepared.interp,
            set: self.set.clone(),
            shared: self.shared.clone(),
            map_regions: self.shared.regions(),
        })
    }
}
