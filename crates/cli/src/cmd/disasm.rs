//! `userbpf disasm FILE [--program NAME] [--source]`: print LLVM-syntax disassembly.
//!
//! Raw bytecode is listed as one program; an ELF object section by section, with function
//! labels and jump targets named as `llvm-objdump -d` prints them.

use std::path::Path;

use anyhow::anyhow;
use userbpf_isa::disasm::{self, Options};
use userbpf_isa::{LdImm64Kind, Program};

use super::{is_elf, read_file};
use crate::{CmdResult, Failure};

/// `--source`: each program as loaded (subprograms linked in), with the C source lines from
/// BTF line info before the instructions they produced, as `llvm-objdump -S` shows them.
fn run_with_source(file: &Path, bytes: &[u8], program: Option<&str>) -> CmdResult {
    let object = userbpf_object::Object::parse(bytes)
        .map_err(|e| Failure::input(anyhow!("{}: {e}", file.display())))?;
    if object.btf_ext.is_none() {
        return Err(Failure::input(anyhow!(
            "{}: --source needs line info (.BTF.ext); rebuild the object with clang -g",
            file.display()
        )));
    }
    let mut printed = false;
    for p in &object.programs {
        if program.is_some_and(|n| n != p.name && n != p.section) {
            continue;
        }
        printed = true;
        println!(
            "\n{} <{}> (section {}):",
            p.prog_type.name(),
            p.name,
            p.section
        );
        let lines = object.program_lines(p);
        let mut next = lines.iter().peekable();
        let mut last: Option<(String, u32)> = None;
        for (slot, insn) in p.insns.iter() {
            while let Some((_, info)) = next.next_if(|(s, _)| *s <= slot) {
                let key = (info.file_name.clone(), info.line);
                if last.as_ref() != Some(&key) && !info.line_text.is_empty() {
                    println!("; {}", info.line_text.trim_end());
                }
                last = Some(key);
            }
            let mut text = disasm::format_insn_at(insn, slot, &Options::default(), &|_| None);
            if let userbpf_isa::Insn::LdImm64 {
                kind: kind @ (LdImm64Kind::MapIdx | LdImm64Kind::MapIdxValue),
                imm,
                next_imm,
                ..
            } = *insn
            {
                if let Some(m) = object.maps.get(imm as usize) {
                    text.push_str(&format!("\t; map {}", m.name));
                    if kind == LdImm64Kind::MapIdxValue {
                        text.push_str(&format!(" + {next_imm}"));
                    }
                }
            }
            println!("{slot:>8}:\t{text}");
        }
    }
    if !printed {
        return Err(Failure::input(anyhow!(
            "{}: no program named {}",
            file.display(),
            program.unwrap_or("")
        )));
    }
    Ok(())
}

pub fn run(file: &Path, program: Option<&str>, source: bool) -> CmdResult {
    let bytes = read_file(file)?;
    if source {
        if !is_elf(&bytes) {
            return Err(Failure::input(anyhow!(
                "--source needs an ELF object with line info; {} is plain bytecode",
                file.display()
            )));
        }
        return run_with_source(file, &bytes, program);
    }
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
