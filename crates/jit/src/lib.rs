//! # userbpf-jit: x86-64 code generation for eBPF programs
//!
//! Takes a decoded [`Program`] and the [`Helpers`] it may call; gives a [`JitProgram`]:
//! native x86-64 code in read-execute pages, run through the same [`Executable`] interface
//! as the interpreter. eBPF registers map directly onto x86 registers (as in the kernel's
//! JIT), memory accesses are plain unchecked loads and stores, and the JIT trusts the
//! verifier for their safety, like the kernel. Until the verifier exists, programs are
//! compiled with [`compile_unchecked`], whose caller vouches for the program.
//!
//! Modules: [`x86`] (typed instructions and their encoding), [`asm`] (labels and branch
//! relaxation), `codegen` (eBPF to x86, by instruction family), `code` (executable memory),
//! `run` (run context and helper trampolines).
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
mod run;
pub mod x86;

use std::sync::Arc;

use userbpf_isa::Program;
use userbpf_runtime::engine::Executable;
use userbpf_runtime::{HelperFn, Helpers, MemoryMap, RegionKind, Trap};

pub use codegen::MAX_SLOTS;
pub use error::JitError;

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

/// A program compiled to native code.
pub struct JitProgram {
    code: code::ExecutableCode,
    /// Absolute code address of every slot (0 for the second slot of `lddw`).
    slot_table: Box<[u64]>,
    slot_offsets: Vec<Option<usize>>,
    sites: Vec<codegen::Site>,
    /// Helper implementations, indexed by id.
    helpers: Vec<Option<Arc<HelperFn>>>,
}

impl std::fmt::Debug for JitProgram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JitProgram")
            .field("slots", &self.slot_offsets.len())
            .field("code_bytes", &self.code.bytes().len())
            .finish()
    }
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
/// this can corrupt or crash the process. A safe `compile` taking a verified program will
/// replace this once the verifier exists.
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
    let compiled = codegen::compile(program, helpers, options)?;
    let code = code::ExecutableCode::new(&compiled.code)?;
    let base = code.addr();
    let slot_table = compiled
        .slot_offsets
        .iter()
        .map(|o| o.map_or(0, |o| base + o as u64))
        .collect();
    let len = helpers.iter().last().map_or(0, |(id, _)| id as usize + 1);
    let mut table = vec![None; len];
    for (id, h) in helpers.iter() {
        table[id as usize] = Some(h.func.clone());
    }
    Ok(JitProgram {
        code,
        slot_table,
        slot_offsets: compiled.slot_offsets,
        sites: compiled.sites,
        helpers: table,
    })
}

impl JitProgram {
    /// Run with r1 = address of `input` (0 when empty) and r2 = its length, as
    /// [`userbpf_runtime::Interpreter::run_raw`].
    ///
    /// # Errors
    /// A [`Trap`] for call depth, a bad `callx` target, a failing helper, or running off the
    /// end of the program.
    pub fn run_raw(&self, input: &mut [u8]) -> Result<u64, Trap> {
        let len = input.len() as u64;
        let mut memory = MemoryMap::new();
        let addr = if input.is_empty() {
            0
        } else {
            memory.add_mut(input, RegionKind::Input)
        };
        self.run(&[addr, len], &mut memory)
    }

    /// Run with r1.. from `args` (at most 5); helpers see `memory`.
    ///
    /// # Errors
    /// As [`JitProgram::run_raw`].
    pub fn run(&self, args: &[u64], memory: &mut MemoryMap<'_>) -> Result<u64, Trap> {
        run::execute(self, args, memory)
    }

    /// The generated machine code (the prologue at offset 0, then the program's slots).
    pub fn code(&self) -> &[u8] {
        self.code.bytes()
    }

    /// The offset in [`JitProgram::code`] of instruction slot `slot`'s code.
    pub fn slot_offset(&self, slot: usize) -> Option<usize> {
        self.slot_offsets.get(slot).copied().flatten()
    }
}

impl Executable for JitProgram {
    fn run_raw(&self, input: &mut [u8]) -> Result<u64, Trap> {
        JitProgram::run_raw(self, input)
    }

    fn run(&self, args: &[u64], memory: &mut MemoryMap<'_>) -> Result<u64, Trap> {
        JitProgram::run(self, args, memory)
    }
}
