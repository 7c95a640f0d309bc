//! # userbpf-jit: x86-64 code generation for eBPF programs
//!
//! Takes a [`VerifiedProgram`] (or, unsafely, any [`Program`]) and the [`Helpers`] it may
//! call; gives a [`JitProgram`]: native x86-64 code in read-execute pages, run through the
//! same [`Executable`] interface as the interpreter. eBPF registers map directly onto x86
//! registers (as in the kernel's JIT), memory accesses are plain unchecked loads and
//! stores, and the JIT trusts the verifier for their safety, like the kernel.
//!
//! Entry points: [`compile`] (safe: a program the verifier accepted, whose facts also drive
//! optimisations), [`compile_unchecked`] (the caller vouches for the program: tests,
//! benchmarks, the conformance plugin), and [`compile_prepared`] (a program of an ELF object
//! instance, with maps, callbacks and tail calls; see [`object`]).
//!
//! Modules: [`x86`] (typed instructions and their encoding), [`asm`] (labels and branch
//! relaxation), `codegen` (eBPF to x86, by instruction family, liveness), `code` (executable
//! memory), `run` (run context and trampolines), [`object`] (ELF programs).
//!
//! ```
//! use userbpf_isa::{AluOp, Insn, MemSize, Program, Reg, Source, Width};
//! use userbpf_jit::{compile_unchecked, JitOptions};
//! use userbpf_runtime::Helpers;
//!
//! let program = Program::from_insns(vec![
//!     Insn::Load { size: MemSize::B, dst: Reg::R0, src: Reg::R1, off: 1 },
//!     Insn::Alu { width: Width::W64, op: AluOp::Add, dst: Reg::R0, src: Source::Imm(1) },
//!     Insn::Exit,
//! ]);
//! // SAFETY: the program only reads byte 1 of its two-byte input.
//! let jit = unsafe { compile_unchecked(&program, &Helpers::new(), &JitOptions::default()) }
//!     .unwrap();
//! assert_eq!(jit.run_raw(&mut [7, 9]).unwrap(), 10);
//! ```

pub mod asm;
mod code;
mod codegen;
mod error;
pub mod object;
mod run;
pub mod x86;

use std::sync::Arc;

use userbpf_isa::Program;
use userbpf_runtime::engine::Executable;
use userbpf_runtime::interp::EngineHelpers;
use userbpf_runtime::{Access, Helpers, MemoryMap, Trap};
use userbpf_verifier::{InsnFacts, ProgType, VerifiedProgram};

pub use codegen::MAX_SLOTS;
pub use error::JitError;
pub use object::{compile_prepared, JitObjectProgram};

use run::{ProgramData, Site};

/// Compilation options.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct JitOptions {
    /// Constant blinding (the kernel's `bpf_jit_harden`): every immediate operand is loaded
    /// as `(imm ^ key) ^ key` with a random key per instruction, so no program-chosen
    /// constant appears in the executable pages. Off by default; meant for untrusted
    /// programs.
    pub constant_blinding: bool,
}

impl JitOptions {
    /// Default options: no blinding.
    pub fn new() -> Self {
        Self::default()
    }

    /// Turn constant blinding on or off.
    pub fn constant_blinding(mut self, on: bool) -> Self {
        self.constant_blinding = on;
        self
    }
}

/// What runs of a program must provide (checked by [`JitProgram::run`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Guard {
    /// Compiled unchecked: the caller of the unsafe compile function vouches for runs.
    Trusted,
    /// Verified as [`ProgType::Raw`]: r1 must point to `size` writable bytes, r2 = `size`.
    Raw { size: u32 },
}

/// A program compiled to native code.
pub struct JitProgram {
    code: code::ExecutableCode,
    /// Slot table, helper tables and entry address, at a stable address the code embeds.
    data: Box<ProgramData>,
    /// One site per slot and one for the end, at a stable address the code embeds.
    sites: Box<[Site]>,
    slot_offsets: Vec<Option<usize>>,
    guard: Guard,
    /// Whether the code calls out (helpers, callbacks, tail calls, `callx`): only then do
    /// runs show their stack to the helpers as a region.
    calls: bool,
    /// The maps whose addresses the code embeds (direct map calls).
    _maps: Vec<std::sync::Arc<userbpf_runtime::maps::Map>>,
}

// SAFETY: the raw pointers in `sites` point into `data`, owned by the same JitProgram and
// never mutated after construction; the helper closures are Send + Sync.
unsafe impl Send for JitProgram {}
// SAFETY: as above: nothing is mutated after construction; runs keep their state in a
// per-run context.
unsafe impl Sync for JitProgram {}

impl std::fmt::Debug for JitProgram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JitProgram")
            .field("slots", &self.slot_offsets.len())
            .field("code_bytes", &self.code.bytes().len())
            .field("sites", &self.sites.len())
            .finish()
    }
}

/// Compile a program the verifier accepted.
///
/// The verifier's facts drive optimisations: divisions by divisors proved non-zero skip
/// the zero check, and zero-extensions of values whose upper half is proved zero are
/// dropped. Programs verified as [`ProgType::Raw`] are supported: runs must pass exactly the
/// input the verifier assumed (checked by [`JitProgram::run_raw`] and [`JitProgram::run`]).
/// Programs of kernel types (XDP, socket filters...) come from ELF objects and need their
/// context accesses rewritten and their maps: compile those with [`compile_prepared`].
///
/// `helpers` must implement the kernel's prototypes for their ids (the verifier checked the
/// calls against those).
///
/// # Errors
/// [`JitError::ProgType`] for program types other than `Raw`; otherwise as
/// [`compile_unchecked`].
pub fn compile(
    verified: &VerifiedProgram,
    helpers: &Helpers,
    options: &JitOptions,
) -> Result<JitProgram, JitError> {
    let ProgType::Raw { size } = verified.prog_type() else {
        return Err(JitError::ProgType(format!("{:?}", verified.prog_type())));
    };
    // SAFETY: the verifier proved every access of the program in bounds for an input of
    // `size` bytes in r1 with r2 = size, every register written before it is read and every
    // path ending in `exit`; the Raw guard makes every run provide exactly that input.
    let mut jit = unsafe {
        build(
            verified.program(),
            helpers,
            None,
            Some(&verified.facts),
            None,
            options,
        )
    }?;
    jit.guard = Guard::Raw { size };
    Ok(jit)
}

/// Compile `program` to x86-64 code without verification.
///
/// Static helper calls must name helpers in `helpers`; `callx` may also reach any helper
/// registered there.
///
/// # Safety
/// The generated code performs every load, store and atomic of the program unchecked, as
/// the kernel's JIT does for verified programs. The caller must guarantee what the verifier
/// would prove: every memory access of every run lies inside memory the program may use
/// (its input, its stack frame, memory handed out by helpers), no register is read before
/// it is written, and the program ends with `exit` on every path. A program that breaks
/// this can corrupt or crash the process. Use [`compile`] for untrusted programs.
///
/// # Errors
/// [`JitError`] for bad jump targets, unknown helpers, instructions that cannot run in user
/// space (legacy packet loads, kfunc calls, map references in plain bytecode), or a failure
/// to map executable memory.
pub unsafe fn compile_unchecked(
    program: &Program,
    helpers: &Helpers,
    options: &JitOptions,
) -> Result<JitProgram, JitError> {
    // SAFETY: the caller's contract.
    unsafe { build(program, helpers, None, None, None, options) }
}

/// Compile with engine helpers and facts.
///
/// # Safety
/// As [`compile_unchecked`]; `facts`, when given, must be the verifier's facts for exactly
/// this program (they are ignored when their length does not match); `arrays`, when given,
/// must describe array maps whose values stay where it says for the life of the program,
/// and helper 1 must be the kernel's `bpf_map_lookup_elem` on them.
pub(crate) unsafe fn build(
    program: &Program,
    helpers: &Helpers,
    engine: Option<&EngineHelpers>,
    facts: Option<&[InsnFacts]>,
    arrays: Option<&dyn Fn(u64) -> Option<codegen::ArrayLayout>>,
    options: &JitOptions,
) -> Result<JitProgram, JitError> {
    let n = program.slot_count();
    if n > MAX_SLOTS {
        return Err(JitError::TooLarge {
            slots: n,
            max: MAX_SLOTS,
        });
    }
    let len = helpers.iter().last().map_or(0, |(id, _)| id as usize + 1);
    let mut helper_table = vec![None; len];
    for (id, h) in helpers.iter() {
        helper_table[id as usize] = Some(h.func.clone());
    }
    let mut data = Box::new(ProgramData {
        slot_table: vec![0u64; n].into_boxed_slice(),
        helpers: helper_table.into_boxed_slice(),
        callbacks: Box::new([]),
        entry: 0,
        fast_entry: 0,
    });
    let data_ptr: *const ProgramData = &*data;
    let mut sites: Box<[Site]> = (0..=n)
        .map(|slot| Site {
            slot,
            kind: codegen::SiteKind::End,
            program: data_ptr,
        })
        .collect();
    let fast_maps = userbpf_runtime::kernel_helpers::map_fast::MapFastPaths::for_helpers(helpers);
    let env = codegen::Env {
        helpers,
        engine,
        facts,
        sites_base: sites.as_ptr() as u64,
        slot_table: data.slot_table.as_ptr() as u64,
        arrays,
        inline_cpu: helpers
            .get(codegen::GET_SMP_PROCESSOR_ID)
            .is_some_and(userbpf_runtime::kernel_helpers::is_own_smp_processor_id),
        fast_maps: Some(&fast_maps),
    };
    let mut compiled = codegen::compile(program, &env, options)?;
    let code = code::ExecutableCode::new(&compiled.code);
    asm::recycle_code(std::mem::take(&mut compiled.code));
    let code = code?;
    let base = code.addr();
    for (slot, o) in compiled.slot_offsets.iter().enumerate() {
        data.slot_table[slot] = o.map_or(0, |o| base + o as u64);
    }
    data.entry = base;
    data.fast_entry = base + compiled.fast_entry as u64;
    if let (Some(engine), Some(&last)) = (engine, compiled.callbacks.last()) {
        let mut table = vec![None; last as usize + 1];
        for &id in &compiled.callbacks {
            table[id as usize] = engine.get(id).map(|(_, f)| Arc::clone(f));
        }
        data.callbacks = table.into_boxed_slice();
    }
    let mut calls = false;
    for &(slot, kind) in &compiled.sites {
        sites[slot].kind = kind;
        calls |= !matches!(kind, codegen::SiteKind::Local | codegen::SiteKind::End);
    }
    Ok(JitProgram {
        code,
        data,
        sites,
        slot_offsets: compiled.slot_offsets,
        guard: Guard::Trusted,
        calls,
        _maps: compiled.maps,
    })
}

fn bad_input(size: u32, what: String) -> Trap {
    Trap::OutOfBounds {
        slot: 0,
        access: Access::Read,
        addr: 0,
        size: size as usize,
        nearest: format!("the program was verified for an input of {size} bytes: {what}"),
    }
}

impl JitProgram {
    /// Run with r1 = address of `input` (0 when empty) and r2 = its length, as
    /// [`userbpf_runtime::Interpreter::run_raw`].
    ///
    /// # Errors
    /// A [`Trap`] for call depth, a bad `callx` target, a failing helper, running off the
    /// end of the program, or (for verified programs) an input of another size than the
    /// verifier assumed.
    pub fn run_raw(&self, input: &mut [u8]) -> Result<u64, Trap> {
        userbpf_runtime::engine::run_on_input(self, input)
    }

    /// Run with r1.. from `args` (at most 5); helpers see `memory`. A verified program
    /// needs r1 to point to a writable region of `memory` of the verified size and r2 to
    /// be that size.
    ///
    /// # Errors
    /// As [`JitProgram::run_raw`].
    pub fn run(&self, args: &[u64], memory: &mut MemoryMap<'_>) -> Result<u64, Trap> {
        if let Guard::Raw { size } = self.guard {
            let (r1, r2) = (
                args.first().copied().unwrap_or(0),
                args.get(1).copied().unwrap_or(0),
            );
            if r2 != size as u64 {
                return Err(bad_input(size, format!("r2 = {r2}")));
            }
            if size > 0 && memory.find(r1, size as u64, true).is_none() {
                return Err(bad_input(
                    size,
                    format!("r1 = 0x{r1:x} is not a writable region of that size"),
                ));
            }
        }
        // SAFETY: trusted programs: the contract of `compile_unchecked`; verified programs:
        // the input matches what the verifier assumed (checked above).
        unsafe { run::execute(self, args, memory, None) }
    }

    /// The generated machine code (the prologue at offset 0, then the program's slots).
    pub fn code(&self) -> &[u8] {
        self.code.bytes()
    }

    /// The offset in [`JitProgram::code`] of instruction slot `slot`'s code.
    pub fn slot_offset(&self, slot: usize) -> Option<usize> {
        self.slot_offsets.get(slot).copied().flatten()
    }

    /// The address of the code of slot 0 (where tail calls enter).
    pub(crate) fn body_addr(&self) -> u64 {
        self.data.slot_table.first().copied().unwrap_or(0)
    }
}

impl Executable for JitProgram {
    fn run(&self, args: &[u64], memory: &mut MemoryMap<'_>) -> Result<u64, Trap> {
        JitProgram::run(self, args, memory)
    }
}
