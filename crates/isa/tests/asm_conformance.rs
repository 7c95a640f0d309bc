//! Every program of the bpf_conformance suite (`../shared/conformance/tests/*.data`) assembles;
//! where a file also gives the program as raw words (`-- raw`), the bytes match exactly.

use std::path::PathBuf;

use userbpf_isa::{asm, encode_program, Program, RawInsn};

fn suite_dir() -> PathBuf {
    std::env::var_os("USERBPF_CONFORMANCE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/tests")
        })
}

/// The lines of the section opened by `-- {name}`, if the file has one.
fn section(text: &str, name: &str) -> Option<String> {
    let mut out: Option<String> = None;
    for line in text.lines() {
        if let Some(header) = line.strip_prefix("--") {
            if out.is_some() {
                break;
            }
            if header.trim() == name {
                out = Some(String::new());
            }
        } else if let Some(body) = out.as_mut() {
            body.push_str(line);
            body.push('\n');
        }
    }
    out
}

fn data_files() -> Vec<PathBuf> {
    let dir = suite_dir();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("conformance suite not found at {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "data"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_conformance_program_assembles() {
    let files = data_files();
    assert_eq!(files.len(), 313, "the suite has 313 tests");
    let mut failures = Vec::new();
    let mut assembled = 0;
    for path in &files {
        let text = std::fs::read_to_string(path).expect("readable test file");
        let Some(src) = section(&text, "asm") else {
            continue;
        };
        match asm::assemble(&src) {
            Ok(insns) => {
                assembled += 1;
                assert!(!insns.is_empty(), "{}: empty program", path.display());
                let bytes = encode_program(&insns);
                if let Err(e) = Program::decode(&bytes) {
                    failures.push(format!("{}: does not decode: {e}", path.display()));
                }
            }
            Err(e) => failures.push(format!("{}: {e}", path.display())),
        }
    }
    assert!(failures.is_empty(), "failures:\n{}", failures.join("\n"));
    assert_eq!(assembled, 313, "every file has an asm section");
}

#[test]
fn asm_matches_raw_words() {
    let mut compared = 0;
    for path in data_files() {
        let text = std::fs::read_to_string(&path).expect("readable test file");
        let (Some(src), Some(raw)) = (section(&text, "asm"), section(&text, "raw")) else {
            continue;
        };
        let expected: Vec<u8> = raw
            .lines()
            .map(|l| l.split('#').next().unwrap_or("").trim())
            .filter(|l| !l.is_empty())
            .flat_map(|l| {
                let hex = l.trim_start_matches("0x");
                let word = u64::from_str_radix(hex, 16).expect("raw word in hex");
                RawInsn::from_u64(word).to_bytes()
            })
            .collect();
        let got =
            asm::assemble_to_bytes(&src).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(got, expected, "{}", path.display());
        compared += 1;
    }
    assert!(compared >= 1, "lddw.data has both asm and raw");
}
