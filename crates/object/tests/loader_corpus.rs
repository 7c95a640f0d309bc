//! The loader on the shared corpus: every object outside `invalid/` loads with all its
//! programs and maps; every file in `invalid/` is rejected.

use std::path::{Path, PathBuf};
use userbpf_object::Object;

fn corpus() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/ebpf-samples");
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
