//! Subcommand implementations: each parses its inputs, calls the library and prints.
//!
//! Takes parsed [`crate::cli::Cli`]; gives the command's output and a [`crate::CmdResult`].

mod asm;
mod build;
mod disasm;
mod inspect;
mod load;
mod map;
mod plugin;
mod run;
mod run_object;
mod trace;
mod verify;
mod xdp;

use std::path::Path;

use anyhow::Context;

pub use trace::TraceArgs;

use crate::cli::{Cli, Command};
use crate::{CmdResult, Failure};

/// Run the chosen subcommand.
pub fn dispatch(cli: Cli) -> CmdResult {
    match cli.command {
        Command::Asm { file, output } => asm::run(&file, output.as_deref()),
        Command::Disasm {
            file,
            program,
            source,
        } => disasm::run(&file, program.as_deref(), source),
        Command::Inspect { object, json } => inspect::run(&object, json),
        Command::Verify {
            object,
            program,
            json,
            log_level,
            btf,
        } => verify::run(&object, program.as_deref(), json, log_level, btf.as_deref()),
        Command::Map { command } => map::run(&command),
        Command::Run(args) => run::run(&args),
        Command::Build {
            src,
            output,
            includes,
            defines,
        } => build::run(&src, output.as_deref(), &includes, &defines),
        Command::Xdp(args) => xdp::run(&args),
        Command::Trace(args) => trace::run(&args),
        Command::Plugin {
            memory,
            engine,
            elf,
        } => plugin::run(memory.as_deref(), engine, elf),
    }
}

/// Read a whole file, with its path in the error.
pub fn read_file(path: &Path) -> Result<Vec<u8>, Failure> {
    std::fs::read(path)
        .with_context(|| format!("cannot read {}", path.display()))
        .map_err(Failure::input)
}

/// Whether `bytes` start with the ELF magic.
pub fn is_elf(bytes: &[u8]) -> bool {
    bytes.starts_with(b"\x7fELF")
}
