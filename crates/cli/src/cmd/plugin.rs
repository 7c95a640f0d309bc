//! `userbpf plugin`: the bpf_conformance plugin protocol.
//!
//! Memory as hex in the first argument, the program's bytecode as hex on standard input
//! (with `--elf`, an ELF object's hex); prints r0 in hex and exits 0, or prints the error on
//! standard error and exits non-zero. Helper 5 is registered as the suite needs. With
//! `--engine jit` (the default on x86-64) the program is compiled without verification: the plugin runs trusted
//! bytecode.

use std::io::Read;

use anyhow::{anyhow, Context};
use userbpf_isa::Program;
use userbpf_runtime::engine::Executable;
use userbpf_runtime::{Helpers, Interpreter};

use crate::cli::Engine;
use crate::{CmdResult, Failure};

impl Engine {
    /// The default engine of the commands that run programs: the JIT on x86-64, the
    /// interpreter elsewhere.
    pub(crate) const fn native_default() -> Engine {
        if cfg!(target_arch = "x86_64") {
            Engine::Jit
        } else {
            Engine::Interp
        }
    }
}

pub fn run(memory: Option<&str>, engine: Engine, elf: bool) -> CmdResult {
    let mut input = String::new();
    std::io::stdin()
        .read_to_string(&mut input)
        .context("reading the program from standard input")
        .map_err(Failure::input)?;
    let bytes = crate::hex::decode(&input).map_err(|e| Failure::input(e.context("program hex")))?;
    let code = if elf {
        let sections = userbpf_object::program_sections(&bytes).map_err(Failure::input)?;
        let first = sections
            .into_iter()
            .next()
            .ok_or_else(|| Failure::input(anyhow!("the ELF object has no program section")))?;
        first.code
    } else {
        bytes
    };
    let mut mem = match memory {
        Some(m) => crate::hex::decode(m).map_err(|e| Failure::input(e.context("memory hex")))?,
        None => Vec::new(),
    };
    let program = Program::decode(&code).map_err(Failure::input)?;
    let helpers = Helpers::conformance();
    let vm: Box<dyn Executable> = match engine {
        Engine::Interp => Box::new(Interpreter::new(&program, &helpers).map_err(Failure::input)?),
        // SAFETY: the conformance plugin runs trusted bytecode (the suite's programs), as
        // the protocol intends; the JIT does not check memory accesses.
        Engine::Jit => Box::new(
            unsafe {
                userbpf_jit::compile_unchecked(
                    &program,
                    &helpers,
                    &userbpf_jit::JitOptions::default(),
                )
            }
            .map_err(Failure::input)?,
        ),
    };
    let r0 = vm.run_raw(&mut mem).map_err(Failure::program)?;
    println!("{r0:x}");
    Ok(())
}
