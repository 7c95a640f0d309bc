//! Engine selection for programs of ELF objects: verify, then the JIT; or the interpreter.
//!
//! Takes an [`Object`], the name of one of its programs, the engine asked for (or none)
//! and whether the user vouches for the object without verification; gives a [`Selection`]
//! saying which engine runs it and why. [`Runner::new`] then turns a [`PreparedProgram`]
//! of the loaded instance into the engine that runs it: the checked interpreter, or the
//! x86-64 JIT ([`userbpf_jit::compile_prepared`]) over the verifier's result.
//!
//! The JIT runs only verified programs: the program is verified first (xdp, socket filter
//! and tc programs, the types whose context the verifier models; with a program array in
//! the object, every other program too, since tail calls may reach them). When the JIT is
//! asked for by name, a program the verifier rejects or does not model is refused; the
//! default engine (the JIT on x86-64) falls back to the checked interpreter for those,
//! with a note. `unverified` runs the JIT without a verifier pass on trusted objects.
//!
//! `userbpf run OBJ` and `userbpf xdp` both go through here, as do the packet hooks'
//! golden tests and benchmark.

use userbpf_jit::{JitError, JitObjectProgram, JitOptions};
use userbpf_object::{Object, ProgramSpec, ProgramType};
use userbpf_runtime::context::{TestRunError, TestRunInput, TestRunOutput};
use userbpf_runtime::PreparedProgram;
use userbpf_verifier::{ProgType, VerifiedProgram};

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
    /// The checked interpreter; `note` says why when the JIT was the default but could not
    /// be used (the verifier rejected the program).
    Interp {
        /// Why the default JIT was not used.
        note: Option<String>,
    },
    /// The JIT, with the verifier's result when it ran (None: `unverified`).
    Jit(Option<VerifiedProgram>),
}

/// Why no engine could be chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SelectError {
    /// The JIT was asked for, and the verifier does not model the program's type.
    NotModelled(String),
    /// The JIT was asked for, and the verifier rejected the program.
    Rejected(String),
}

impl std::fmt::Display for SelectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SelectError::NotModelled(m) | SelectError::Rejected(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for SelectError {}

/// What the verifier needs of the object's maps (inner map templates appended, as
/// `userbpf verify` does).
pub use userbpf_verifier::object_input::map_infos;

/// The verifier's program type for a program, if it models it.
pub fn prog_type_for_jit(p: &ProgramSpec) -> Option<ProgType> {
    match p.prog_type {
        ProgramType::SocketFilter => Some(ProgType::SocketFilter),
        ProgramType::SchedCls | ProgramType::SchedAct => Some(ProgType::SchedCls),
        ProgramType::Xdp => Some(ProgType::Xdp),
        _ => None,
    }
}

/// Verify program `name` of `object` for the JIT: `Ok(Some(_))` when accepted, `Ok(None)`
/// when its program type is not a packet type the JIT path models (or there is no such
/// program), `Err` with the verifier's message when rejected (every possible tail-call
/// target included).
///
/// # Errors
/// The verifier's message, naming the instruction (and the tail-call target).
pub fn verify_for_jit(object: &Object, name: &str) -> Result<Option<VerifiedProgram>, String> {
    userbpf_verifier::object_input::verify_with_tail_call_targets(object, name, &|p| {
        prog_type_for_jit(p).is_some()
    })
}

/// Choose the engine for program `name` of `object` (see the [module docs](self)).
/// `requested` None means the host's default ([`EngineKind::native_default`]), or the
/// interpreter with `unverified`.
///
/// # Errors
/// [`SelectError`] when the JIT was asked for by name and the program cannot be verified.
pub fn select(
    object: &Object,
    name: &str,
    requested: Option<EngineKind>,
    unverified: bool,
) -> Result<Selection, SelectError> {
    let engine = match requested {
        Some(e) => e,
        None if unverified => EngineKind::Interp,
        None => EngineKind::native_default(),
    };
    if engine == EngineKind::Interp {
        return Ok(Selection::Interp { note: None });
    }
    if unverified {
        return Ok(Selection::Jit(None));
    }
    let explicit = requested == Some(EngineKind::Jit);
    match verify_for_jit(object, name) {
        Ok(Some(v)) => Ok(Selection::Jit(Some(v))),
        Ok(None) if explicit => Err(SelectError::NotModelled(format!(
            "program {name}: the verifier does not model its program type, and the JIT runs \
             only verified programs; use --engine interp, or --unverified for a trusted object"
        ))),
        Err(why) if explicit => Err(SelectError::Rejected(format!(
            "program {name}: the verifier {why}; the JIT runs only verified programs"
        ))),
        Ok(None) => Ok(Selection::Interp { note: None }),
        Err(why) => Ok(Selection::Interp {
            note: Some(format!(
                "program {name}: the verifier {why}; running in the checked interpreter"
            )),
        }),
    }
}

/// A prepared program with the engine that runs it.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // one per hook; the interpreter path stays unboxed
pub enum Runner {
    /// The checked interpreter.
    Interp(Box<PreparedProgram>),
    /// The JIT (the prepared program is [`JitObjectProgram::prepared`]).
    Jit(Box<JitObjectProgram>),
}

impl Runner {
    /// The engine `selection` names for `prepared`.
    ///
    /// # Safety
    /// With [`Selection::Jit`]`(None)` the caller vouches for every program of the
    /// instance, as [`userbpf_jit::compile_prepared`] requires; with `Jit(Some(v))`, `v`
    /// must be [`verify_for_jit`]'s result for this program of the object `prepared` was
    /// loaded from (then this is sound). `select` gives exactly these.
    ///
    /// # Errors
    /// The JIT's compile error.
    pub unsafe fn new(
        prepared: PreparedProgram,
        selection: &Selection,
    ) -> Result<Runner, JitError> {
        match selection {
            Selection::Interp { .. } => Ok(Runner::Interp(Box::new(prepared))),
            Selection::Jit(verified) => {
                // SAFETY: the caller's contract: the verifier accepted the program (and
                // every possible tail-call target), or the user vouched for the object.
                let jit = unsafe {
                    userbpf_jit::compile_prepared(
                        &prepared,
                        verified.as_ref(),
                        &JitOptions::default(),
                    )
                }?;
                Ok(Runner::Jit(Box::new(jit)))
            }
        }
    }

    /// Verify program `prepared` of `object` and compile it with the JIT, or the
    /// interpreter when the verifier does not accept it (the safe way to get a JIT runner).
    ///
    /// # Errors
    /// The JIT's compile error.
    pub fn verified_or_interp(
        object: &Object,
        prepared: PreparedProgram,
        requested: Option<EngineKind>,
    ) -> Result<Runner, String> {
        let selection =
            select(object, prepared.name(), requested, false).map_err(|e| e.to_string())?;
        // SAFETY: `select` without `unverified` gives the verifier's result for this
        // program of `object` (or the interpreter).
        unsafe { Runner::new(prepared, &selection) }.map_err(|e| e.to_string())
    }

    /// The engine.
    pub fn kind(&self) -> EngineKind {
        match self {
            Runner::Interp(_) => EngineKind::Interp,
            Runner::Jit(_) => EngineKind::Jit,
        }
    }

    /// The prepared program.
    pub fn prepared(&self) -> &PreparedProgram {
        match self {
            Runner::Interp(p) => p,
            Runner::Jit(j) => j.prepared(),
        }
    }

    /// Run with `BPF_PROG_TEST_RUN` semantics for the program's type.
    ///
    /// # Errors
    /// As [`PreparedProgram::test_run`].
    pub fn test_run(&self, input: &TestRunInput<'_>) -> Result<TestRunOutput, TestRunError> {
        match self {
            Runner::Interp(p) => p.test_run(input),
            Runner::Jit(j) => j.test_run(input),
        }
    }
}
