//! # userbpf-verifier: static analysis of eBPF programs
//!
//! Takes a [`VerifierInput`] (a decoded program, its program type, the maps it uses);
//! gives a [`VerifiedProgram`] (the program with the facts later stages use: processed
//! instruction count, per-instruction facts for the JIT, context accesses to rewrite) or a
//! [`VerifierError`] naming the instruction, with the Linux kernel's message text.
//!
//! The analysis follows the Linux verifier in privileged mode, with its domains kept apart
//! as PREVAIL does:
//!
//! - [`tnum`]: known bits; [`scalar`]: signed/unsigned 64- and 32-bit bounds plus known bits,
//!   synchronised after every operation (numbers);
//! - [`reg`]: register types (scalar, context, stack, packet, map, memory) with constant and
//!   variable offsets; [`state`]: frames, per-byte stack and spilled registers, references;
//! - [`ctx`]: context layouts per program type; [`helpers`]: helper prototypes;
//!   [`builtins`]: `memset`, `memcpy`, `memmove` and `memcmp` left as calls by clang,
//!   accepted as userbpf built-ins like PREVAIL does (the kernel cannot load such objects);
//! - [`cfg`]: control-flow checks before the analysis; `check`: the path exploration with
//!   state pruning (liveness and precision tracking, as the kernel) and the safety checks
//!   of every instruction.
//!
//! ```
//! use userbpf_isa::{asm, Program};
//! use userbpf_verifier::{verify, ProgType, VerifierInput};
//! let insns = asm::assemble("r2 = *(u32 *)(r1 + 4)\nr1 = *(u32 *)(r1 + 0)\nr3 = r1\nr3 += 14\n\
//!     if r3 > r2 goto +1\nr0 = *(u8 *)(r1 + 13)\nr0 = 2\nexit").unwrap();
//! let program = Program::from_insns(insns);
//! let verified = verify(&VerifierInput::new(&program, ProgType::Xdp)).unwrap();
//! assert!(verified.processed_insns > 0);
//!
//! let bad = Program::from_insns(asm::assemble("r1 = *(u32 *)(r1 + 0)\nr0 = *(u8 *)(r1 + 0)\nexit").unwrap());
//! let err = verify(&VerifierInput::new(&bad, ProgType::Xdp)).unwrap_err();
//! assert_eq!(err.message, "invalid access to packet, off=0 size=1, R1(id=0,off=0,r=0)");
//! ```

pub mod btf_ctx;
pub mod builtins;
pub mod cfg;
mod check;
pub mod ctx;
pub mod error;
pub mod helpers;
mod hints;
pub mod input;
pub mod lsm;
pub mod object_input;
pub mod reg;
pub mod scalar;
pub mod state;
pub mod tnum;

pub use check::{PruneRelied, RecordedRegs, RegSummary};
pub use ctx::FieldKind;
pub use error::VerifierError;
pub use input::{map_type, LsmHook, MapInfo, Options, ProgType, VerifierInput};

use userbpf_isa::Program;

/// Facts about one instruction that hold on every path reaching it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InsnFacts {
    /// Some path reaches the instruction.
    pub reached: bool,
    /// For divisions and modulos: the divisor is never zero (the JIT may skip the check).
    pub divisor_nonzero: bool,
    /// For ALU instructions: the upper 32 bits of the result are known zero.
    pub upper32_zero: bool,
    /// Number of times an ALU result was recorded (internal bookkeeping).
    pub visits: u32,
}

/// A context access to rewrite after verification (as the kernel's `convert_ctx_accesses`):
/// for example a 4-byte load of `xdp_md.data` becomes a load of the real packet pointer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CtxRewrite {
    /// Slot index of the load or store.
    pub insn: usize,
    /// Offset in the UAPI struct.
    pub offset: u32,
    /// Access size in bytes.
    pub size: u8,
    /// Field name.
    pub field: &'static str,
    /// What the field is.
    pub kind: FieldKind,
    /// Whether it is a store.
    pub write: bool,
}

/// A program the verifier accepted, with what it learned. Only this can be compiled or run
/// by the verified paths of the runtime.
#[derive(Clone, Debug)]
pub struct VerifiedProgram {
    program: Program,
    prog_type: ProgType,
    /// Instructions processed by the analysis (the kernel's "processed N insns").
    pub processed_insns: u64,
    /// Per instruction (parallel to `program.insns()`).
    pub facts: Vec<InsnFacts>,
    /// Context loads and stores to rewrite, by instruction.
    pub ctx_rewrites: Vec<CtxRewrite>,
    /// Stack bytes used by each subprogram.
    pub stack_depth: Vec<u32>,
    /// States kept for pruning.
    pub total_states: usize,
    /// The log (empty at log level 0).
    pub log: String,
    /// With [`Options::record_states`]: per instruction, the registers joined over the
    /// paths reaching it.
    recorded: Vec<Option<RecordedRegs>>,
    /// With [`Options::record_states`]: per instruction, what pruning there relied on.
    relied: Vec<Option<PruneRelied>>,
}

impl VerifiedProgram {
    /// The program.
    pub fn program(&self) -> &Program {
        &self.program
    }

    /// Its program type.
    pub fn prog_type(&self) -> ProgType {
        self.prog_type
    }

    /// With [`Options::record_states`] (a debug mode): r0..r10 at instruction `insn` (an
    /// index into `program().insns()`), joined over every path the analysis took there;
    /// `None` without the option or when no path reached it.
    pub fn states_at(&self, insn: usize) -> Option<&RecordedRegs> {
        self.recorded.get(insn)?.as_ref()
    }

    /// With [`Options::record_states`]: at instruction `insn`, the registers and stack
    /// slots of the innermost frame that every pruning of a path there relied on; `None`
    /// when no path was pruned there (or without the option). A concrete run passing
    /// `insn` is known to lie in the states recorded below it only in these.
    pub fn pruned_at(&self, insn: usize) -> Option<PruneRelied> {
        *self.relied.get(insn)?
    }
}

/// Verify a program.
///
/// # Errors
/// [`VerifierError`] with the instruction, the kernel's message and the registers involved.
pub fn verify(input: &VerifierInput<'_>) -> Result<VerifiedProgram, VerifierError> {
    verify_with_btf(input, None)
}

/// Verify a program whose context is typed by BTF (tracing and LSM programs: see
/// [`btf_ctx::BtfCtx::for_section`]); with `None`, as [`verify`], and such contexts refuse
/// every access.
///
/// # Errors
/// As [`verify`].
pub fn verify_with_btf(
    input: &VerifierInput<'_>,
    btf: Option<&btf_ctx::BtfCtx>,
) -> Result<VerifiedProgram, VerifierError> {
    if input.prog_type.kernel_id() == 29 && input.options.lsm_hook == Some(LsmHook::Disabled) {
        let message = "attach_btf_id points to disabled hook".to_string();
        return Err(VerifierError {
            insn: 0,
            hint: hints::hint(&message),
            message,
            regs: Vec::new(),
            processed: 0,
            log: String::new(),
        });
    }
    let cfg = cfg::check(input.program).map_err(|(insn, message)| VerifierError {
        insn,
        hint: hints::hint(&message),
        message,
        regs: Vec::new(),
        processed: 0,
        log: String::new(),
    })?;
    let out = check::Verifier::new(input, btf, cfg).run()?;
    Ok(VerifiedProgram {
        program: input.program.clone(),
        prog_type: input.prog_type,
        processed_insns: out.processed,
        facts: out.facts,
        ctx_rewrites: out.ctx_rewrites,
        stack_depth: out.stack_depth,
        total_states: out.states,
        log: out.log,
        recorded: out.recorded,
        relied: out.relied,
    })
}
