//! `userbpf verify OBJ [--program NAME] [--json] [--log-level 0|1|2] [--btf FILE]`: run the
//! verifier.
//!
//! Each selected program of the object is verified with its program type and the object's
//! map definitions; tracing (fentry/fexit/fmod_ret, tp_btf) and LSM programs with their
//! context typed by the target BTF (`--btf`, else the host's vmlinux). Text output: the verdict, and for a rejection the kernel-style message,
//! the instruction, the C source line (from BTF line info), the registers involved and a hint.
//! `--json`: one object per program per line, in the form DESIGN.md fixes. Exit 0 when every
//! selected program is accepted, 1 when some are rejected, 2 for load or usage errors.

use std::path::Path;
use std::time::Instant;

use anyhow::anyhow;
use serde_json::json;
use std::sync::Arc;
use userbpf_object::btf::Btf;
use userbpf_object::{Object, ProgramSpec};
use userbpf_verifier::btf_ctx::BtfCtx;
use userbpf_verifier::error::VerifierError;
use userbpf_verifier::object_input::{input_for, map_infos, section_prog_type};
use userbpf_verifier::verify_with_btf;

use super::read_file;
use crate::{CmdResult, Failure};

fn source_line(object: &Object, p: &ProgramSpec, insn: usize) -> Option<String> {
    object.line_info(p, insn).map(|l| {
        let file = Path::new(&l.file_name)
            .file_name()
            .map_or(l.file_name.clone(), |f| f.to_string_lossy().into_owned());
        format!("{file}:{}: {}", l.line, l.line_text.trim())
    })
}

/// The target BTF: `--btf FILE` (raw BTF, as /sys/kernel/btf/vmlinux) or the host's.
fn target_btf(btf: Option<&Path>) -> Result<Btf, String> {
    match btf {
        None => userbpf_object::core_relo::host_btf(),
        Some(path) => {
            let bytes =
                std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            Btf::parse(&bytes).map_err(|e| format!("{}: {e}", path.display()))
        }
    }
}

/// The BTF-typed context of `p` when its section has one (`Ok(None)` otherwise); a missing
/// target BTF or attach target is a rejection at instruction 0, as the kernel's load fails.
fn btf_ctx_of(
    p: &ProgramSpec,
    target: &mut Option<Result<Arc<Btf>, String>>,
    path: Option<&Path>,
) -> Result<Option<BtfCtx>, VerifierError> {
    let fail = |message: String| VerifierError {
        insn: 0,
        message,
        regs: Vec::new(),
        hint: None,
        processed: 0,
        log: String::new(),
    };
    let s = p.section.strip_prefix('?').unwrap_or(&p.section);
    let typed = ["fentry", "fexit", "fmod_ret", "lsm", "tp_btf"]
        .iter()
        .any(|k| s.split_once(['/', '.']).is_some_and(|(kind, _)| kind == *k));
    if !typed {
        return Ok(None);
    }
    let btf = target
        .get_or_insert_with(|| target_btf(path).map(Arc::new))
        .clone()
        .map_err(|e| fail(format!("no target BTF for {}: {e}", p.section)))?;
    BtfCtx::for_section(btf, &p.section)
        .transpose()
        .map_err(fail)
}

pub fn run(
    file: &Path,
    program: Option<&str>,
    as_json: bool,
    log_level: u32,
    btf: Option<&Path>,
) -> CmdResult {
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
    // The object's maps, then the inner-map templates of its maps of maps.
    let maps = map_infos(&object);
    let mut rejected = 0;
    let mut target = None;
    for p in selected {
        // A privileged load (CAP_BPF + CAP_PERFMON) with libbpf's program and attach types.
        let mut input = input_for(p, &maps);
        input.options.log_level = log_level;
        if log_level > 0 && !as_json {
            for note in super::inspect::builtin_notes(p) {
                println!("{}: note: {note}", p.name);
            }
        }
        let start = Instant::now();
        let result = btf_ctx_of(p, &mut target, btf)
            .and_then(|typed| verify_with_btf(&input, typed.as_ref()));
        let duration_us = start.elapsed().as_secs_f64() * 1e6;
        let prog_type = section_prog_type(p).name();
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
            Err(mut e) => {
                rejected += 1;
                // Name the undefined function the loader kept as an extern call.
                if let Some(x) = p.extern_calls.iter().find(|x| x.slot == e.insn) {
                    if e.message.starts_with("call to undefined function") {
                        e.message = format!("call to undefined function '{}'", x.name);
                    }
                }
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
