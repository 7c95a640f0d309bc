//! Tail calls: the programs of an instance reaching each other through program arrays.
//!
//! Takes the instance (its programs and maps) and the base helpers a prepared program was
//! given; gives [`ProgramSet`], which prepares each program of the instance on first use
//! (relocated, with the same helpers) and resolves `bpf_tail_call(ctx, prog_array, index)`
//! for the interpreter: the slot holds a program index of the instance (set by
//! [`super::ObjectInstance::set_tail_call`] or the object's initial values), and the target
//! replaces the caller with the same context and stack frame, up to the kernel's 33 tail
//! calls per run. A program that cannot be prepared (say it calls an unavailable helper)
//! ends the run with a trap naming it when a tail call reaches it.
//!
//! The set may be limited to the programs the verifier accepted
//! ([`super::PreparedProgram::limit_tail_call_targets`]): as in the kernel, where a rejected
//! program is never loaded and so can never sit in a program array, a slot naming any other
//! program behaves as an empty slot (the tail call falls through). The check is made when
//! the tail call resolves its slot (one load of a flag), not when user space fills the slot,
//! because the limit belongs to the set (the verification one engine asked for), while the
//! program arrays are the instance's and shared by every set.
//!
//! Each interpreter refers back to its set weakly, so the set (held by the
//! [`super::PreparedProgram`]) and its interpreters form no reference cycle.

use std::sync::{Arc, OnceLock, Weak};

use userbpf_isa::Program;

use super::engine_support::TailCallSlot;
use super::{callbacks, map_helpers, relocate, RuntimeError, Shared};
use crate::context::{find_context_accesses, rewrite_context_accesses, CtxAccessFacts, ProgType};
use crate::helpers::Helpers;
use crate::interp::{EngineHelpers, Interpreter, TailCallTarget, TailCallTargets};
use crate::maps::MapType;

/// One program prepared within a set.
#[derive(Clone)]
pub(crate) struct Prepared {
    pub program: Program,
    /// The program type's context and the accesses rewritten for it, when it has one.
    pub context: Option<(ProgType, CtxAccessFacts)>,
    pub helpers: Helpers,
    pub engine: EngineHelpers,
    pub interp: Arc<Interpreter>,
}

/// A program prepared for tail calls, or why it cannot be.
type Built = Result<Arc<Interpreter>, String>;

/// The programs of an instance prepared with one set of base helpers.
pub struct ProgramSet {
    shared: Arc<Shared>,
    helpers: Helpers,
    engine: EngineHelpers,
    prepared: Box<[OnceLock<Built>]>,
    /// Which programs tail calls may reach (by program index), once limited; unset, all.
    targets: OnceLock<Box<[bool]>>,
}

impl std::fmt::Debug for ProgramSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProgramSet")
            .field("programs", &self.prepared.len())
            .finish()
    }
}

struct Resolver {
    set: Weak<ProgramSet>,
}

impl TailCallTargets for Resolver {
    fn target(&self, map: u64, index: u32) -> Result<TailCallTarget, String> {
        let set = self
            .set
            .upgrade()
            .ok_or_else(|| "the instance's programs were dropped".to_string())?;
        let prog = match set.slot(map, index)? {
            TailCallSlot::OutOfRange => return Ok(TailCallTarget::OutOfRange),
            TailCallSlot::Empty => return Ok(TailCallTarget::Empty),
            TailCallSlot::Program(p) => p,
        };
        match set.interpreter(prog) {
            Some(Ok(interp)) => Ok(TailCallTarget::Program(interp)),
            Some(Err(message)) => Err(format!("bpf_tail_call: target {message}")),
            None => Ok(TailCallTarget::Empty),
        }
    }
}

impl ProgramSet {
    /// A set over the programs of `shared`, with `base` helpers plus the instance's map,
    /// callback and tail call helpers.
    pub(crate) fn new(shared: Arc<Shared>, base: Helpers) -> Arc<ProgramSet> {
        Arc::new_cyclic(|weak: &Weak<ProgramSet>| {
            let mut helpers = base;
            map_helpers::register(&mut helpers, &shared);
            let mut engine = EngineHelpers::new();
            callbacks::register(&mut engine, &shared);
            engine.set_tail_calls(Arc::new(Resolver { set: weak.clone() }));
            ProgramSet {
                prepared: (0..shared.programs.len())
                    .map(|_| OnceLock::new())
                    .collect(),
                shared,
                helpers,
                engine,
                targets: OnceLock::new(),
            }
        })
    }

    /// Limit tail calls to the programs for which `allowed` holds (their names); a slot
    /// naming any other program then behaves as an empty one. Set once: limiting again with
    /// a different set is an error (a JIT may already have compiled the old targets).
    pub(crate) fn limit_targets(&self, allowed: &dyn Fn(&str) -> bool) -> Result<(), String> {
        let flags: Box<[bool]> = self
            .shared
            .programs
            .iter()
            .map(|p| allowed(&p.name))
            .collect();
        let set = self.targets.get_or_init(|| flags.clone());
        if *set == flags {
            Ok(())
        } else {
            Err("the tail-call targets of this program were already limited to another set".into())
        }
    }

    /// Resolve slot `index` of the program array `map` (a handle) for `bpf_tail_call`: a
    /// slot naming a program tail calls may not reach ([`ProgramSet::limit_targets`]) is
    /// [`TailCallSlot::Empty`]. The one resolution every engine uses.
    ///
    /// # Errors
    /// A message when `map` is not a program array of this instance.
    pub(crate) fn slot(&self, map: u64, index: u32) -> Result<TailCallSlot, String> {
        let entry = self.shared.by_handle(map).ok_or_else(|| {
            format!("bpf_tail_call: r2 = 0x{map:x} is not a map of this instance")
        })?;
        if entry.map.map_type() != MapType::ProgArray {
            return Err(format!(
                "bpf_tail_call: map '{}' is a {}, not a program array",
                entry.name,
                entry.map.map_type()
            ));
        }
        Ok(match entry.map.slot_id(index) {
            Err(()) => TailCallSlot::OutOfRange,
            Ok(None) => TailCallSlot::Empty,
            Ok(Some(p)) if self.may_reach(p as usize) => TailCallSlot::Program(p as usize),
            Ok(Some(_)) => TailCallSlot::Empty,
        })
    }

    /// Whether a tail call may reach program `index` (see [`ProgramSet::limit_targets`]).
    #[inline]
    pub(crate) fn may_reach(&self, index: usize) -> bool {
        match self.targets.get() {
            None => index < self.prepared.len(),
            Some(flags) => flags.get(index).copied().unwrap_or(false),
        }
    }

    /// Relocate and translate program `index`, and keep it for tail calls.
    pub(crate) fn prepare(&self, index: usize) -> Result<Prepared, RuntimeError> {
        let p = self.build(index)?;
        let _ = self.prepared[index].set(Ok(p.interp.clone()));
        Ok(p)
    }

    fn build(&self, index: usize) -> Result<Prepared, RuntimeError> {
        let spec = &self.shared.programs[index];
        let provided = |id: u32| self.helpers.contains(id) || self.engine.contains(id);
        let program = relocate::relocate(&self.shared, spec, &provided)?;
        // As the kernel does after verification: context accesses become accesses of the
        // runtime's context layout (xdp_md.data → the real 64-bit packet pointer, ...).
        let context = match ProgType::from_id(spec.prog_type.id()) {
            Some(pt) => {
                let ctx_err = |e: crate::context::ContextError| RuntimeError::Context {
                    program: spec.name.clone(),
                    message: e.to_string(),
                };
                let facts = find_context_accesses(&program).map_err(ctx_err)?;
                let rewritten = rewrite_context_accesses(&program, pt, &facts).map_err(ctx_err)?;
                Some((pt, facts, rewritten))
            }
            None => None,
        };
        let runnable = context.as_ref().map_or(&program, |(_, _, r)| r);
        let interp = Interpreter::with_engine_helpers(runnable, &self.helpers, &self.engine)
            .map_err(|source| RuntimeError::Load {
                program: spec.name.clone(),
                source,
            })?;
        let interp = Arc::new(interp);
        Ok(Prepared {
            program,
            context: context.map(|(pt, facts, _)| (pt, facts)),
            helpers: self.helpers.clone(),
            engine: self.engine.clone(),
            interp,
        })
    }

    /// The interpreter of program `index`, prepared on first use; `None` if there is no
    /// such program.
    pub(crate) fn interpreter(&self, index: usize) -> Option<Result<Arc<Interpreter>, String>> {
        let cell = self.prepared.get(index)?;
        Some(
            cell.get_or_init(|| {
                self.build(index)
                    .map(|p| p.interp)
                    .map_err(|e| e.to_string())
            })
            .clone(),
        )
    }
}
