//! Engine selection for programs of ELF objects run with test-run semantics (`userbpf run
//! OBJ`, `userbpf xdp`): verify first, then the JIT or the checked interpreter.
//!
//! Takes an [`Object`], the name of one of its programs, the engine asked for (or none)
//! and whether the user opted out of verification; gives a [`Selection`] saying which
//! engine runs it. [`Runner::new`] then turns a [`PreparedProgram`] of the loaded instance
//! into the engine that runs it: the checked interpreter, or the x86-64 JIT
//! ([`userbpf_jit::compile_prepared`]) over the verifier's result.
//!
//! Nothing runs unless the verifier accepts it: a program the verifier rejects, or whose
//! program type it does not model, is refused with the verifier's message. With a program
//! array in the object every other program is verified too, and tail calls reach only the
//! ones accepted: as in the kernel, where a rejected program is never loaded, a slot naming
//! a rejected program behaves as an empty slot, in both engines
//! ([`PreparedProgram::limit_tail_call_targets`]). The one
//! opt-out is explicit (`unverified`, the CLI's `--unverified`): the checked interpreter,
//! which checks every memory access at run time, runs the program without a verifier pass.
//! The JIT never runs unverified programs of objects.
//!
//! `userbpf run OBJ` and `userbpf xdp` both go through here, as do the packet hooks'
//! golden tests and benchmark.

use userbpf_jit::{JitError, JitObjectProgram, JitOptions};
use userbpf_object::{Object, ProgramSpec};
use userbpf_runtime::context::{TestRunError, TestRunInput, TestRunOutput};
use userbpf_runtime::PreparedProgram;
use userbpf_verifier::object_input::VerifiedWithTargets;
use userbpf_verifier::ProgType;

/// The engines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EngineKind {
    /// The checked interpreter.
    Interp,
    /// The x86-64 JIT (verified programs only, unless the user vouches for the object).
    Jit,
}

impl EngineKind {
    /// The default engine of this host: the JIT on x86-64, else the interpreter.
    pub fn native_default() -> EngineKind {
        if cfg!(target_arch = "x86_64") {
            EngineKind::Jit
        } else {
            EngineKind::Interp
        }
    }
}

/// Which engine runs a program, and with what.
#[derive(Debug)]
pub enum Selection {
    /// The checked interpreter, after the verifier accepted the program (`verified`), or
    /// without a verifier pass when the user opted out.
    Interp {
        /// Whether the verifier accepted the program.
        verified: bool,
        /// The programs tail calls may reach (the ones the verifier accepted); `None`
        /// without a verifier pass (every program, checked at run time).
        tail_call_targets: Option<Vec<String>>,
    },
    /// The JIT, with the verifier's result and the programs tail calls may reach.
    Jit(Box<VerifiedWithTargets>),
}

/// Why no engine could be chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SelectError {
    /// The verifier does not model the program's type.
    NotModelled(String),
    /// The verifier rejected the program.
    Rejected(String),
    /// The options contradict each other (the JIT without verification).
    Usage(String),
}

impl std::fmt::Display for SelectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SelectError::NotModelled(m) | SelectError::Rejected(m) | SelectError::Usage(m) => {
                f.write_str(m)
            }
        }
    }
}

impl std::error::Error for SelectError {}

/// What the verifier needs of the object's maps (inner map templates appended, as
/// `userbpf verify` does).
pub use userbpf_verifier::object_input::map_infos;

/// How a refusal names the opt-out.
const OPT_OUT: &str = "--unverified runs a trusted program in the checked interpreter";

/// The verifier's program type for a program, if it models its context (packet programs,
/// and the tracing types whose context `BPF_PROG_TEST_RUN` takes from `ctx_in`).
pub fn prog_type_for_jit(p: &ProgramSpec) -> Option<ProgType> {
    let t = userbpf_verifier::object_input::prog_type_of(p);
    (userbpf_verifier::ctx::ctx_size(t) > 0).then_some(t)
}

/// Verify program `name` of `object`: `Ok(Some(_))` when accepted, `Ok(None)` when the
/// verifier does not model its program type (or there is no such program), `Err` with the
/// verifier's message when rejected; with the programs of the object tail calls may reach
/// (the ones the verifier accepted).
///
/// # Errors
/// The verifier's message, naming the instruction.
pub fn verify_for_jit(object: &Object, name: &str) -> Result<Option<VerifiedWithTargets>, String> {
    userbpf_verifier::object_input::verify_with_tail_call_targets(object, name, &|p| {
        prog_type_for_jit(p).is_some()
    })
}

/// Choose the engine for program `name` of `object` (see the [module docs](self)).
/// `requested` None means the host's default ([`EngineKind::native_default`]); `unverified`
/// is the opt-out (the checked interpreter without a verifier pass).
///
/// # Errors
/// [`SelectError`] when the verifier rejects the program or does not model its type, or
/// when the JIT is asked for without verification.
pub fn select(
    object: &Object,
    name: &str,
    requested: Option<EngineKind>,
    unverified: bool,
) -> Result<Selection, SelectError> {
    if unverified {
        if requested == Some(EngineKind::Jit) {
            return Err(SelectError::Usage(
                "--unverified runs the checked interpreter: the JIT runs only verified programs"
                    .to_string(),
            ));
        }
        return Ok(Selection::Interp {
            verified: false,
            tail_call_targets: None,
        });
    }
    let engine = requested.unwrap_or_else(EngineKind::native_default);
    match verify_for_jit(object, name) {
        Ok(Some(v)) if engine == EngineKind::Interp => Ok(Selection::Interp {
            verified: true,
            tail_call_targets: Some(v.tail_call_targets),
        }),
        Ok(Some(v)) => Ok(Selection::Jit(Box::new(v))),
        Ok(None) => {
            let prog_type = object
                .program(name)
                .map_or("unknown", |p| p.prog_type.name());
            Err(SelectError::NotModelled(format!(
                "program {name}: the verifier does not model program type {prog_type}, and \
                 userbpf runs only verified programs ({OPT_OUT})"
            )))
        }
        Err(why) => Err(SelectError::Rejected(format!(
            "program {name}: the verifier {why}; userbpf runs only verified programs \
             ({OPT_OUT})"
        ))),
    }
}

/// Limit the tail calls of `prepared` to the programs named in `targets`.
fn limit_tail_calls(prepared: &PreparedProgram, targets: &[String]) -> Result<(), JitError> {
    prepared
        .limit_tail_call_targets(&|name| targets.iter().any(|t| t == name))
        .map_err(|e| JitError::Prepare(e.to_string()))
}

/// A prepared program with the engine that runs it.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // one per hook; the interpreter path stays unboxed
pub enum Runner {
    /// The checked interpreter.
    Interp {
        /// The program.
        program: Box<PreparedProgram>,
        /// Whether the verifier accepted it ([`Selection::Interp`]): then the packet hook
        /// trusts it, as it trusts the JIT's programs, to touch only the packet it is given
        /// (and clears less of its frame between packets); the interpreter still checks
        /// every access either way.
        verified: bool,
    },
    /// The JIT (the prepared program is [`JitObjectProgram::prepared`]).
    Jit(Box<JitObjectProgram>),
}

impl Runner {
    /// The engine `selection` names for `prepared`, its tail calls limited to the programs
    /// the selection names.
    ///
    /// # Safety
    /// With [`Selection::Jit`]`(v)`, `v` must be [`verify_for_jit`]'s result for this
    /// program of the object `prepared` was loaded from (then this is sound); [`select`]
    /// gives exactly that.
    ///
    /// # Errors
    /// The JIT's compile error; [`JitError::Prepare`] when the tail-call targets of
    /// `prepared` were already limited to another set.
    pub unsafe fn new(
        prepared: PreparedProgram,
        selection: &Selection,
    ) -> Result<Runner, JitError> {
        match selection {
            Selection::Interp {
                verified,
                tail_call_targets,
            } => {
                if let Some(targets) = tail_call_targets {
                    limit_tail_calls(&prepared, targets)?;
                }
                Ok(Runner::Interp {
                    program: Box::new(prepared),
                    verified: *verified,
                })
            }
            Selection::Jit(verified) => {
                limit_tail_calls(&prepared, &verified.tail_call_targets)?;
                // SAFETY: the caller's contract: the verifier accepted the program and every
                // program its tail calls may reach (limited just above to those).
                let jit = unsafe {
                    userbpf_jit::compile_prepared(
                        &prepared,
                        Some(&verified.program),
                        &JitOptions::default(),
                    )
                }?;
                Ok(Runner::Jit(Box::new(jit)))
            }
        }
    }

    /// Verify program `prepared` of `object`, then prepare it in the engine `requested`
    /// names (None: the host's default); the safe way to get a runner.
    ///
    /// # Errors
    /// The verifier's refusal ([`select`]) or the JIT's compile error.
    pub fn verified(
        object: &Object,
        prepared: PreparedProgram,
        requested: Option<EngineKind>,
    ) -> Result<Runner, String> {
        let selection =
            select(object, prepared.name(), requested, false).map_err(|e| e.to_string())?;
        // SAFETY: `select` gives the verifier's result for this program of `object` (or
        // the interpreter).
        unsafe { Runner::new(prepared, &selection) }.map_err(|e| e.to_string())
    }

    /// The explicit opt-out: `prepared` runs without a verifier pass in the checked
    /// interpreter, which checks every memory access at run time (`--unverified`).
    pub fn unverified(prepared: PreparedProgram) -> Runner {
        Runner::Interp {
            program: Box::new(prepared),
            verified: false,
        }
    }

    /// The engine.
    pub fn kind(&self) -> EngineKind {
        match self {
            Runner::Interp { .. } => EngineKind::Interp,
            Runner::Jit(_) => EngineKind::Jit,
        }
    }

    /// The prepared program.
    pub fn prepared(&self) -> &PreparedProgram {
        match self {
            Runner::Interp { program, .. } => program,
            Runner::Jit(j) => j.prepared(),
        }
    }

    /// Run with `BPF_PROG_TEST_RUN` semantics for the program's type.
    ///
    /// # Errors
    /// As [`PreparedProgram::test_run`].
    pub fn test_run(&self, input: &TestRunInput<'_>) -> Result<TestRunOutput, TestRunError> {
        match self {
            Runner::Interp { program, .. } => program.test_run(input),
            Runner::Jit(j) => j.test_run(input),
        }
    }
}
