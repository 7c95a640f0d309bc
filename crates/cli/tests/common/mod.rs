//! Shared test support: the bpf_conformance `.data` format.
//!
//! Takes the directory of the suite (`../shared/conformance/tests` beside the repository);
//! gives each test case parsed into its sections.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// One `.data` test case.
#[derive(Debug)]
pub struct Case {
    /// File name.
    pub name: String,
    /// The `-- asm` section.
    pub asm: Option<String>,
    /// The `-- raw` section, as bytes.
    pub raw: Option<Vec<u8>>,
    /// The `-- mem` section, as bytes.
    pub mem: Vec<u8>,
    /// Expected r0.
    pub result: Option<u64>,
    /// Expected error text.
    pub error: Option<String>,
}

/// The suite's directory.
pub fn suite_dir() -> PathBuf {
    Path::new(env!("USERBPF_SHARED")).join("conformance/tests")
}

fn parse_number(s: &str) -> u64 {
    let s = s.trim();
    if let Some(h) = s.strip_prefix("0x") {
        u64::from_str_radix(h, 16).unwrap_or_else(|e| panic!("bad hex {s:?}: {e}"))
    } else if let Some(d) = s.strip_prefix('-') {
        (d.parse::<u64>()
            .unwrap_or_else(|e| panic!("bad number {s:?}: {e}")))
        .wrapping_neg()
    } else {
        s.parse()
            .unwrap_or_else(|e| panic!("bad number {s:?}: {e}"))
    }
}

/// Parse one `.data` file.
pub fn parse(name: &str, text: &str) -> Case {
    let mut sections: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if let Some(header) = line.strip_prefix("-- ") {
            sections.push((header.trim().to_string(), String::new()));
        } else if let Some((_, body)) = sections.last_mut() {
            body.push_str(line);
            body.push('\n');
        }
    }
    let get = |k: &str| {
        sections
            .iter()
            .find(|(h, _)| h == k)
            .map(|(_, b)| b.clone())
    };
    let strip_comments = |s: String| -> String {
        s.lines()
            .map(|l| l.split('#').next().unwrap_or(""))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let mem = get("mem")
        .map(|m| {
            strip_comments(m)
                .split_whitespace()
                .map(|b| {
                    u8::from_str_radix(b, 16)
                        .unwrap_or_else(|e| panic!("{name}: bad mem byte {b}: {e}"))
                })
                .collect()
        })
        .unwrap_or_default();
    let raw = get("raw").map(|r| {
        strip_comments(r)
            .split_whitespace()
            .flat_map(|w| parse_number(w).to_le_bytes())
            .collect()
    });
    Case {
        name: name.to_string(),
        asm: get("asm"),
        raw,
        mem,
        result: get("result")
            .map(strip_comments)
            .filter(|r| !r.trim().is_empty())
            .map(|r| parse_number(&r)),
        error: get("error").map(|e| e.trim().to_string()),
    }
}

/// Every case of the suite, sorted by name.
pub fn load_all() -> Vec<Case> {
    let dir = suite_dir();
    let mut entries: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "data"))
        .collect();
    entries.sort();
    entries
        .iter()
        .map(|p| {
            let text = std::fs::read_to_string(p).expect("read .data");
            parse(&p.file_name().unwrap().to_string_lossy(), &text)
        })
        .collect()
}

/// The bytecode of a case: assembled from `-- asm` with our assembler.
pub fn bytecode(case: &Case) -> Result<Vec<u8>, String> {
    let asm = case.asm.as_ref().ok_or("no -- asm section")?;
    let insns = userbpf_isa::asm::assemble(asm).map_err(|e| format!("assembler: {e}"))?;
    Ok(userbpf_isa::encode_program(&insns))
}
