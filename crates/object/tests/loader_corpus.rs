//! The loader on the shared corpus: every object outside `invalid/` loads with all its
//! programs and maps; every file in `invalid/` is rejected.

use std::path::{Path, PathBuf};
use userbpf_object::Object;

fn corpus() -> Option<PathBuf> {
    let dir = Path::new(env!("USERBPF_SHARED")).join("corpus/ebpf-samples");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("skipped: corpus not found at {}", dir.display());
        None
    }
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            walk(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// Every `.o` outside `invalid/`, sorted.
pub fn corpus_objects() -> Vec<PathBuf> {
    let Some(dir) = corpus() else {
        return Vec::new();
    };
    let mut all = Vec::new();
    walk(&dir, &mut all);
    let mut objs: Vec<_> = all
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "o"))
        .filter(|p| !p.strip_prefix(&dir).unwrap().starts_with("invalid"))
        .collect();
    objs.sort();
    objs
}

#[test]
fn corpus_loads() {
    let objs = corpus_objects();
    if objs.is_empty() {
        return;
    }
    let (mut programs, mut maps, mut failures) = (0, 0, Vec::new());
    for path in &objs {
        let bytes = std::fs::read(path).unwrap();
        match Object::parse(&bytes) {
            Ok(obj) => {
                assert!(!obj.programs.is_empty(), "{}: no programs", path.display());
                for p in &obj.programs {
                    p.insns.check_targets().unwrap();
                    assert_eq!(p.insns.slot_count(), p.slot_count());
                }
                programs += obj.programs.len();
                maps += obj.maps.len();
            }
            Err(e) => failures.push(format!("{}: {e}", path.display())),
        }
    }
    println!(
        "corpus: {} objects, {programs} programs, {maps} maps",
        objs.len()
    );
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(objs.len(), 162);
}

/// Files of `invalid/` whose defect is not at the ELF / loader level; they parse, and their
/// problem is for the verifier or for tools we do not run:
///
/// - `timeout-29db…`: a well-formed object of 36 bind programs with tail calls; "timeout"
///   names its effect on a verifier (analysis time), not a file defect.
/// - `dac31099…`: a well-formed `bind` program (BindMonitor of ebpf-for-windows) with two
///   legacy maps; code, relocations, maps and BTF are all consistent, so its rejection
///   belongs to the verifier (it reads a context type userbpf does not describe).
/// - `ef2e42c0…`: the `r0 = 42; exit` object of `c049438…` with one section-header name
///   offset changed so that `.debug_line` reads as `info`; DWARF line tables are not
///   something the loader reads (line info comes from `.BTF.ext`), so nothing we use is
///   damaged.
const PARSES_AT_ELF_LEVEL: [&str; 3] = [
    "timeout-29db93548c671165313b314d4f83a3eefa24df37",
    "dac31099c3bb5b6395908c82cc8540e77a6a1849",
    "ef2e42c0bfcf4dab6b9c3926759365b6dfa73634",
];

#[test]
fn invalid_files_are_rejected() {
    let Some(dir) = corpus() else { return };
    let mut files: Vec<_> = std::fs::read_dir(dir.join("invalid"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    assert_eq!(files.len(), 11);
    for f in files {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        let bytes = std::fs::read(&f).unwrap();
        match Object::parse(&bytes) {
            Err(e) => {
                assert!(!PARSES_AT_ELF_LEVEL.contains(&name.as_str()), "{name}: {e}");
                println!("{name}: rejected: {e}");
            }
            Ok(obj) => {
                assert!(
                    PARSES_AT_ELF_LEVEL.contains(&name.as_str()),
                    "{name} was accepted"
                );
                println!(
                    "{name}: parses ({} programs, {} maps), as PARSES_AT_ELF_LEVEL explains",
                    obj.programs.len(),
                    obj.maps.len()
                );
            }
        }
    }
}
