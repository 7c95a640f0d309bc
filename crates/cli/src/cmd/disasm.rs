//! `userbpf disasm FILE [--program NAME] [--source]`: print LLVM-syntax disassembly.
//!
//! Raw bytecode is listed as one program; an ELF object section by section, with function
//! labels and jump targets named as `llvm-objdump -d` prints them.

use std::path::Path;

use anyhow::anyhow;
use userbpf_isa::disasm::{self, Options};
use userbpf_isa::Program;

use super::{is_elf, read_file};
use crate::{CmdResult, Failure};

pub fn run(file: &Path, program: Option<&str>, source: bool) -> CmdResult {
    if source {
        return Err(Failure::input(anyhow!(
            "--source needs BTF line info from the object loader, which is not built yet"
        )));
    }
    let bytes = read_file(file)?;
    if !is_elf(&bytes) {
        if program.is_some() {
            return Err(Failure::input(anyhow!(
                "--program applies to ELF objects; {} is plain bytecode",
                file.display()
            )));
        }
        let p = Program::decode_unchecked_targets(&bytes)
            .map_err(|e| Failure::input(anyhow!("{}: {e}", file.display())))?;
        let opts = Options {
            slot_labels: false,
            ..Options::default()
        };
        print!("{}", disasm::format_program_with(&p, &opts));
        return Ok(());
    }
    let sections = userbpf_object::program_sections(&bytes)
        .map_err(|e| Failure::input(anyhow!("{}: {e}", file.display())))?;
    let mut printed = false;
    for section in &sections {
        let wanted = |name: &str| program.is_none_or(|p| p == name);
        if !wanted(&section.name) && !section.functions.iter().any(|f| wanted(&f.name)) {
            continue;
        }
        let p = Program::decode_unchecked_targets(&section.code).map_err(|e| {
            Failure::input(anyhow!("{}: section {}: {e}", file.display(), section.name))
        })?;
        println!("\nDisassembly of section {}:", section.name);
        let label_of = |slot: usize| {
            section
                .functions
                .iter()
                .find(|f| f.slot == slot)
                .map(|f| f.name.clone())
        };
        for (slot, insn) in p.iter() {
            if let Some(name) = label_of(slot) {
                println!("\n{:016x} <{name}>:", slot * 8);
            }
            let text = disasm::format_insn_at(insn, slot, &Options::default(), &label_of);
            println!("{slot:>8}:\t{text}");
        }
        printed = true;
    }
    if !printed {
        return Err(Failure::input(match program {
            Some(p) => anyhow!("{}: no program named {p}", file.display()),
            None => anyhow!("{}: no program sections", file.display()),
        }));
    }
    Ok(())
}
