//! `userbpf verify OBJ [--program NAME] [--json] [--log-level 0|1|2]`: run the verifier.
//!
//! Each selected program of the object is verified with its program type and the object's
//! map definitions. Text output: the verdict, and for a rejection the kernel-style message,
//! the instruction, the C source line (from BTF line info), the registers involved and a hint.
//! `--json`: one object per program per line, in the form DESIGN.md fixes. Exit 0 when every
//! selected program is accepted, 1 when some are rejected, 2 for load or usage errors.

use std::path::Path;
use std::time::Instant;

use anyhow::anyhow;
use serde_json::json;
use userbpf_object::{Object, ProgramSpec};
use userbpf_verifier::{verify, MapInfo, Options, ProgType, VerifierInput};

use super::read_file;
use crate::{CmdResult, Failure};

fn prog_type_of(p: &ProgramSpec) -> ProgType {
    use userbpf_object::ProgramType as P;
    match p.prog_type {
        P::SocketFilter => ProgType::SocketFilter,
        P::SchedCls | P::SchedAct => ProgType::SchedCls,
        P::Xdp => ProgType::Xdp,
        other => ProgType::Other(other.id()),
    }
}

fn source_line(object: &Object, p: &ProgramSpec, insn: usize) -> Option<String> {
    object.line_info(p, insn).map(|l| {
        let file = Path::new(&l.file_name)
            .file_name()
            .map_or(l.file_name.clone(), |f| f.to_string_lossy().into_owned());
        format!("{file}:{}: {}", l.line, l.line_text.trim())
    })
}

pub fn run(file: &Path, program: Option<&str>, as_json: bool, log_level: u32) -> CmdResult {
    let bytes = read_file(file)?;
    let object =
        Object::parse(&bytes).map_err(|e| Failure::input(anyhow!("{}: {e}", file.display())))?;
    let selected: Vec<&ProgramSpec> = object
        .programs
        .iter()
        .filter(|p| program.is_none_or(|n| n == p.name || n == p.section))
        .collect();
    if selected.is_empty() {
        return Err(Failure::input(match program {
            Some(n) => anyhow!("{}: no program named {n}", file.display()),
            None => anyhow!("{}: no programs", file.display()),
        }));
    }
    let maps: Vec<MapInfo> = object
        .maps
        .iter()
        .map(|m| MapInfo {
            map_type: m.map_type,
            key_size: m.key_size,
            value_size: m.value_size,
            max_entries: m.max_entries,
            flags: m.map_flags,
            fd: None,
        })
        .collect();
    let mut rejected = 0;
    for p in selected {
        let input = VerifierInput {
            program: &p.insns,
            prog_type: prog_type_of(p),
            maps: &maps,
            options: Options {
                log_level,
                ..Options::default()
            },
        };
        let start = Instant::now();
        let result = verify(&input);
        let duration_us = start.elapsed().as_secs_f64() * 1e6;
        let prog_type = p.prog_type.name();
        match result {
            Ok(v) => {
                if as_json {
                    println!(
                        "{}",
                        json!({
                            "program": p.name, "section": p.section, "prog_type": prog_type,
                            "verdict": "accepted", "error": null, "insn": null, "line": null,
                            "log": v.log, "processed_insns": v.processed_insns,
                            "duration_us": duration_us,
                        })
                    );
                } else {
                    if log_level > 0 {
                        print!("{}", v.log);
                    }
                    println!(
                        "{}: accepted ({} instructions processed, {:.0} us)",
                        p.name, v.processed_insns, duration_us
                    );
                }
            }
            Err(e) => {
                rejected += 1;
                let line = source_line(&object, p, e.insn);
                if as_json {
                    println!(
                        "{}",
                        json!({
                            "program": p.name, "section": p.section, "prog_type": prog_type,
                            "verdict": "rejected", "error": e.message, "insn": e.insn,
                            "line": line, "log": e.log, "processed_insns": e.processed,
                            "duration_us": duration_us,
                        })
                    );
                } else {
                    if log_level > 0 {
                        print!("{}", e.log);
                    }
                    println!(
                        "{}: rejected at instruction {}: {}",
                        p.name, e.insn, e.message
                    );
                    if let Some(l) = &line {
                        println!("  source: {l}");
                    }
                    for (reg, state) in &e.regs {
                        println!("  {reg} = {state}");
                    }
                    if let Some(h) = &e.hint {
                        println!("  hint: {h}");
                    }
                }
            }
        }
    }
    if rejected > 0 {
        return Err(Failure::rejected(rejected));
    }
    Ok(())
}
