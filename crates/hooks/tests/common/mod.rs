//! Shared by the hooks' end-to-end tests: build C test programs with `cc`, find the
//! examples, decode opensnoop events.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// A fresh directory for one test.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("userbpf-hooks-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Compile `source` (C) into `dir/name`; extra flags such as `-pthread`.
pub fn build_c(dir: &Path, name: &str, source: &str, flags: &[&str]) -> PathBuf {
    let src = dir.join(format!("{name}.c"));
    std::fs::write(&src, source).unwrap();
    let out = dir.join(name);
    let status = Command::new("cc")
        .arg("-O1")
        .arg("-o")
        .arg(&out)
        .arg(&src)
        .args(flags)
        .status()
        .expect("cc runs");
    assert!(status.success(), "cc {name}.c failed");
    out
}

/// The repository's examples directory.
pub fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

/// Whether ptrace works here (it may be forbidden in some containers).
pub fn ptrace_available() -> bool {
    Command::new("true").status().is_ok()
}

/// An opensnoop event: (pid, tid, comm, flags, ret, path).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenEvent {
    pub pid: u32,
    pub tid: u32,
    pub comm: String,
    pub flags: i32,
    pub ret: i32,
    pub path: String,
}

fn cstr(b: &[u8]) -> String {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(&b[..end]).into_owned()
}

/// Decode `struct event` of examples/opensnoop.bpf.c.
pub fn open_event(data: &[u8]) -> OpenEvent {
    let u32_at = |o: usize| u32::from_ne_bytes(data[o..o + 4].try_into().unwrap());
    OpenEvent {
        pid: u32_at(0),
        tid: u32_at(4),
        comm: cstr(&data[8..24]),
        flags: u32_at(24) as i32,
        ret: u32_at(28) as i32,
        path: cstr(&data[32..]),
    }
}
