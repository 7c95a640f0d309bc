//! Engine selection for programs of the tracing hooks (syscall tracepoints, raw
//! tracepoints, uprobes): verify first, then the JIT or the checked interpreter.
//!
//! Takes the [`Object`] an instance was loaded from, a prepared program of the instance and
//! the engine asked for (or none); gives a [`HookRunner`] that runs the program on a hook's
//! context.
//!
//! Nothing runs unless the verifier accepts it. The verifier's program type comes from
//! [`userbpf_verifier::object_input::prog_type_of`] (tracepoint, raw tracepoint and kprobe,
//! the type of uprobes, are modelled); with a program array in the object every other
//! program must pass too (tail calls may reach them). A program the verifier rejects, or
//! whose type it does not model, is refused with the verifier's message. The one opt-out is
//! explicit: [`HookRunner::unverified`] runs a trusted program in the checked interpreter,
//! which checks every memory access at run time (`userbpf trace --unverified`).
//!
//! The JIT does not check memory, so contexts are padded with zeros to the size the
//! verifier lets the program read (the kernel's `PERF_MAX_TRACE_SIZE` for tracepoints).

use userbpf_jit::{JitObjectProgram, JitOptions};
use userbpf_object::{Object, ProgramSpec};
use userbpf_runtime::instance::PreparedProgram;
use userbpf_runtime::memory::{MemoryMap, RegionKind};
use userbpf_runtime::Trap;
use userbpf_verifier::object_input::prog_type_of;
use userbpf_verifier::VerifiedProgram;

pub use crate::packet::engine::EngineKind;

/// The largest context the verifier models for the tracing program types.
const MAX_CTX: usize = 2048;

/// Size of the context the verifier lets program `p` read, when it models its type.
fn modelled_ctx_size(p: &ProgramSpec) -> Option<usize> {
    let size = userbpf_verifier::ctx::ctx_size(prog_type_of(p)) as usize;
    (size > 0 && size <= MAX_CTX).then_some(size)
}

/// Verify program `name` of `object` for the JIT: `Ok(Some(_))` when accepted, `Ok(None)`
/// when its type is not modelled (or there is no such program), `Err` with the verifier's
/// message when rejected (or a possible tail-call target cannot be checked).
///
/// # Errors
/// The verifier's message, naming the instruction (and the tail-call target).
pub fn verify_for_jit(object: &Object, name: &str) -> Result<Option<VerifiedProgram>, String> {
    userbpf_verifier::object_input::verify_with_tail_call_targets(object, name, &|p| {
        modelled_ctx_size(p).is_some()
    })
}

/// How a refusal names the opt-out.
const OPT_OUT: &str = "--unverified runs a trusted program in the checked interpreter";

/// A hook's program with the engine that runs it.
#[derive(Debug)]
pub enum HookRunner {
    /// The checked interpreter.
    Interp(Box<PreparedProgram>),
    /// The JIT, over the verifier's result; `ctx_size` is the verifier's context size.
    Jit {
        /// The compiled program.
        program: Box<JitObjectProgram>,
        /// Contexts are padded with zeros to this size.
        ctx_size: usize,
    },
}

impl HookRunner {
    /// The engine for `prepared`, a program of an instance loaded from `object`, once the
    /// verifier accepted it: `requested` None means the host's default
    /// ([`EngineKind::native_default`]).
    ///
    /// # Errors
    /// The verifier rejects the program or does not model its type (the message says so and
    /// names the opt-out); `object` does not hold the same program; the JIT cannot compile
    /// it.
    pub fn select(
        object: &Object,
        prepared: PreparedProgram,
        requested: Option<EngineKind>,
    ) -> Result<HookRunner, String> {
        let engine = requested.unwrap_or_else(EngineKind::native_default);
        let name = prepared.name().to_string();
        let spec = prepared.spec();
        // The verifier's result must be for the program the instance prepared.
        let same = object
            .program(&name)
            .is_some_and(|p| p.insns == spec.insns && p.section == spec.section);
        if !same {
            return Err(format!(
                "program {name}: the object given for verification is not the one the \
                 instance was loaded from"
            ));
        }
        let verified = match verify_for_jit(object, &name) {
            Ok(Some(v)) => v,
            Ok(None) => {
                return Err(format!(
                    "program {name}: the verifier does not model program type {}, and \
                     userbpf runs only verified programs ({OPT_OUT})",
                    spec.prog_type.name()
                ))
            }
            Err(why) => {
                return Err(format!(
                    "program {name}: the verifier {why}; userbpf runs only verified programs \
                     ({OPT_OUT})"
                ))
            }
        };
        if engine == EngineKind::Interp {
            return Ok(HookRunner::Interp(Box::new(prepared)));
        }
        let ctx_size = modelled_ctx_size(spec).expect("verified programs have a modelled type");
        // SAFETY: the verifier accepted this program of `object` (checked above to be the
        // one `prepared` was loaded from) and every possible tail-call target; contexts are
        // padded to the size it lets the program read (`run`).
        let program = unsafe {
            userbpf_jit::compile_prepared(&prepared, Some(&verified), &JitOptions::default())
        }
        .map_err(|e| format!("program {name}: {e}"))?;
        Ok(HookRunner::Jit {
            program: Box::new(program),
            ctx_size,
        })
    }

    /// The explicit opt-out: `prepared` runs without a verifier pass in the checked
    /// interpreter, which checks every memory access at run time and stops the program at
    /// the first one outside its regions (for trusted programs the verifier cannot prove
    /// yet).
    pub fn unverified(prepared: PreparedProgram) -> HookRunner {
        HookRunner::Interp(Box::new(prepared))
    }

    /// The engine.
    pub fn kind(&self) -> EngineKind {
        match self {
            HookRunner::Interp(_) => EngineKind::Interp,
            HookRunner::Jit { .. } => EngineKind::Jit,
        }
    }

    /// The prepared program.
    pub fn prepared(&self) -> &PreparedProgram {
        match self {
            HookRunner::Interp(p) => p,
            HookRunner::Jit { program, .. } => program.prepared(),
        }
    }

    /// The program's name.
    pub fn name(&self) -> &str {
        self.prepared().name()
    }

    /// Run with r1 = the address of `ctx`; `extra` is memory the context points to (the
    /// `pt_regs` of raw tracepoints), reachable by the helpers.
    ///
    /// # Errors
    /// A [`Trap`] when the program fails.
    pub fn run(&self, ctx: &[u8], extra: Option<&[u8]>) -> Result<u64, Trap> {
        let mut padded = [0u8; MAX_CTX];
        let ctx = match self {
            HookRunner::Jit { ctx_size, .. } if ctx.len() < *ctx_size => {
                padded[..ctx.len()].copy_from_slice(ctx);
                &padded[..*ctx_size]
            }
            _ => ctx,
        };
        let mut memory = MemoryMap::with_capacity(2);
        let addr = memory.add_ref(ctx, RegionKind::Context);
        if let Some(regs) = extra {
            memory.add_ref(regs, RegionKind::Context);
        }
        match self {
            HookRunner::Interp(p) => p.run_with(&[addr], &memory),
            HookRunner::Jit { program, .. } => program.run_with(&[addr], &memory),
        }
    }
}
