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
//! program is verified too, and tail calls reach only the ones accepted (a slot naming a
//! rejected program behaves as an empty slot, as in the kernel, where a rejected program is
//! never loaded; in both engines). A program the verifier rejects, or
//! whose type it does not model, is refused with the verifier's message. The one opt-out is
//! explicit: [`HookRunner::unverified`] runs a trusted program in the checked interpreter,
//! which checks every memory access at run time (`userbpf trace --unverified`).
//!
//! The JIT does not check memory, so contexts are padded with zeros to the size the
//! verifier lets the program read (the kernel's `PERF_MAX_TRACE_SIZE` for tracepoints).
//!
//! Each runner keeps its memory map (the instance's map regions) and that zero pad from run
//! to run ([`RunMemory`]): a run adds only its context, and copies it into the pad clearing
//! only what the previous context left, so no memory map is built per run (the
//! syscall tracing path runs a program at every traced syscall).

use userbpf_jit::{JitObjectProgram, JitOptions};
use userbpf_object::Object;
use userbpf_runtime::instance::PreparedProgram;
use userbpf_runtime::memory::{Region, RegionKind};
use userbpf_runtime::Trap;
use userbpf_verifier::ctx::ctx_size;
use userbpf_verifier::object_input::prog_type_of;

use crate::run_memory::RunMemory;

pub use crate::packet::engine::EngineKind;
use crate::packet::engine::{select, Selection};

/// The largest context the verifier models for the tracing program types (the JIT's zero pad).
const MAX_CTX: usize = 2048;

/// A hook's program with the engine that runs it, and its memory map kept from run to run.
#[derive(Debug)]
pub struct HookRunner {
    engine: Engine,
    memory: RunMemory,
}

#[derive(Debug)]
enum Engine {
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

impl Engine {
    fn prepared(&self) -> &PreparedProgram {
        match self {
            Engine::Interp(p) => p,
            Engine::Jit { program, .. } => program.prepared(),
        }
    }
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
        // The packet engines' selection: verify (the program and the tail-call targets),
        // refuse with the verifier's message and the opt-out.
        let selection = select(object, &name, requested, false).map_err(|e| e.to_string())?;
        let verified = match selection {
            Selection::Jit(v) => v,
            Selection::Interp {
                tail_call_targets, ..
            } => {
                let targets = tail_call_targets.unwrap_or_default();
                prepared
                    .limit_tail_call_targets(&|t| targets.iter().any(|n| n == t))
                    .map_err(|e| format!("program {name}: {e}"))?;
                return Ok(HookRunner::with_engine(Engine::Interp(Box::new(prepared))));
            }
        };
        prepared
            .limit_tail_call_targets(&|target| verified.may_reach(target))
            .map_err(|e| format!("program {name}: {e}"))?;
        let ctx_size = ctx_size(prog_type_of(spec)) as usize;
        if ctx_size > MAX_CTX {
            return Err(format!(
                "program {name}: a context of {ctx_size} bytes is larger than the hooks' \
                 {MAX_CTX}"
            ));
        }
        // SAFETY: the verifier accepted this program of `object` (checked above to be the
        // one `prepared` was loaded from) and every program its tail calls may reach
        // (limited just above to those); contexts are padded to the size it lets the
        // program read (`run`).
        let program = unsafe {
            userbpf_jit::compile_prepared(
                &prepared,
                Some(&verified.program),
                &JitOptions::default(),
            )
        }
        .map_err(|e| format!("program {name}: {e}"))?;
        Ok(HookRunner::with_engine(Engine::Jit {
            program: Box::new(program),
            ctx_size,
        }))
    }

    fn with_engine(engine: Engine) -> HookRunner {
        let pad = match &engine {
            Engine::Interp(_) => 0,
            Engine::Jit { ctx_size, .. } => *ctx_size,
        };
        let memory = RunMemory::new(engine.prepared(), pad);
        HookRunner { engine, memory }
    }

    /// The explicit opt-out: `prepared` runs without a verifier pass in the checked
    /// interpreter, which checks every memory access at run time and stops the program at
    /// the first one outside its regions (for trusted programs the verifier cannot prove
    /// yet).
    pub fn unverified(prepared: PreparedProgram) -> HookRunner {
        HookRunner::with_engine(Engine::Interp(Box::new(prepared)))
    }

    /// The engine.
    pub fn kind(&self) -> EngineKind {
        match self.engine {
            Engine::Interp(_) => EngineKind::Interp,
            Engine::Jit { .. } => EngineKind::Jit,
        }
    }

    /// The prepared program.
    pub fn prepared(&self) -> &PreparedProgram {
        self.engine.prepared()
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
        let pad_to = match self.engine {
            Engine::Jit { ctx_size, .. } if ctx.len() < ctx_size => ctx_size,
            _ => 0,
        };
        let region = |buf: &[u8]| Region {
            start: buf.as_ptr() as u64,
            len: buf.len() as u64,
            writable: false,
            kind: RegionKind::Context,
        };
        self.memory.run(self.prepared(), |memory, pad| {
            let ctx = if pad_to > 0 { pad.fill(ctx) } else { ctx };
            let regions = [region(ctx), extra.map_or(region(&[]), region)];
            let regions = if extra.is_some() {
                &regions[..]
            } else {
                &regions[..1]
            };
            let args = [ctx.as_ptr() as u64];
            // SAFETY: `ctx` (the caller's, or the pad, which `memory.run` lends to this run
            // alone) and `extra` are borrowed for the whole run, read-only as the regions
            // say; `with_regions` removes them when the run returns.
            unsafe {
                memory.with_regions(regions, |memory| match &self.engine {
                    Engine::Interp(p) => p.run_in(&args, memory),
                    Engine::Jit { program, .. } => program.run_in(&args, memory),
                })
            }
        })
    }
}
