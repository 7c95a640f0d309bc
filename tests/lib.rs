//! # userbpf-tests: shared helpers of the cross-crate integration tests
//!
//! Takes nothing; gives what several test files need: where the shared references live
//! (`../shared`: the corpus and the conformance suite), finding external tools such as
//! `llvm-objdump-19` on `PATH`, listing the corpus objects, and parsing objdump listings.

use std::path::{Path, PathBuf};

/// The workspace root (the directory holding the root `Cargo.toml`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// The shared references directory: `$USERBPF_SHARED` (set by `.cargo/config.toml` to
/// `../shared` beside the workspace unless the environment overrides it).
pub fn shared_dir() -> PathBuf {
    PathBuf::from(env!("USERBPF_SHARED"))
}

/// The full path of an executable found on `PATH`, if any.
pub fn find_tool(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// Every ELF file under `dir`, recursively, skipping directories named `invalid`, sorted.
pub fn elf_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    collect_elf(dir, &mut out);
    out.sort();
    out
}

fn collect_elf(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n != "invalid") {
                collect_elf(&path, out);
            }
        } else if is_elf(&path) {
            out.push(path);
        }
    }
}

fn is_elf(path: &Path) -> bool {
    use std::io::Read;
    let mut magic = [0u8; 4];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .is_ok()
        && magic == *b"\x7fELF"
}

/// Parsing `llvm-objdump -d --no-show-raw-insn` output.
pub mod objdump {
    /// The instructions objdump listed for one section.
    #[derive(Clone, Debug, Default, PartialEq, Eq)]
    pub struct Section {
        /// The section name from `Disassembly of section NAME:`.
        pub name: String,
        /// `(slot, text)` for every `slot:\ttext` line, in order.
        pub insns: Vec<(usize, String)>,
    }

    /// Split a listing into sections and their instruction lines. Symbol lines, blank lines
    /// and `...` (skipped zeros) are dropped.
    pub fn parse(listing: &str) -> Vec<Section> {
        let mut sections: Vec<Section> = Vec::new();
        for line in listing.lines() {
            if let Some(name) = line
                .strip_prefix("Disassembly of section ")
                .and_then(|rest| rest.strip_suffix(':'))
            {
                sections.push(Section {
                    name: name.to_string(),
                    insns: Vec::new(),
                });
                continue;
            }
            let Some((addr, text)) = line.split_once(":\t") else {
                continue;
            };
            let Ok(slot) = addr.trim().parse::<usize>() else {
                continue;
            };
            if let Some(section) = sections.last_mut() {
                section.insns.push((slot, text.to_string()));
            }
        }
        sections
    }

    /// Normalise one instruction's text for comparison: white space collapsed to single
    /// spaces, and a trailing symbolic target annotation (` <LBB0_2>`, ` <func+0x18>`)
    /// removed.
    pub fn normalise(text: &str) -> String {
        let mut s = text.split_whitespace().collect::<Vec<_>>().join(" ");
        if s.ends_with('>') {
            if let Some(open) = s.rfind(" <") {
                s.truncate(open);
            }
        }
        s
    }
}
