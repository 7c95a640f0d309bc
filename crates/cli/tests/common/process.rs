//! Shared test support for the tests that run `userbpf` on real processes.
//!
//! Takes names (a scratch directory's tag, an example's file name, C source to build);
//! gives the `userbpf` binary as a `Command`, scratch directories, built C programs, paths
//! of the repository's examples and a way to send a signal.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The `userbpf` binary built for this test run.
pub fn userbpf() -> Command {
    Command::new(env!("CARGO_BIN_EXE_userbpf"))
}

/// The repository's root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The path of `examples/NAME` in the repository.
pub fn example(name: &str) -> PathBuf {
    repo().join("examples").join(name)
}

/// A fresh, empty scratch directory `userbpf-TAG-PID-NAME` under the temp dir.
pub fn scratch_dir(tag: &str, name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("userbpf-{tag}-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Bytes (a process's output) as text, lossily.
pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Builds `source` with `cc -O1 -pthread` into `DIR/NAME`; panics when it does not compile.
pub fn build_c(dir: &Path, name: &str, source: &str) -> PathBuf {
    let src = dir.join(format!("{name}.c"));
    std::fs::write(&src, source).unwrap();
    let out = dir.join(name);
    let st = Command::new("cc")
        .args(["-O1", "-pthread", "-o"])
        .arg(&out)
        .arg(&src)
        .status()
        .expect("cc");
    assert!(st.success(), "cc failed on {}", src.display());
    out
}

/// `looper FILE DONE`: opens FILE every 10 ms until DONE exists, then exits with 7; exits
/// with 9 if an open fails (its syscalls must keep working after a detach).
pub const LOOPER: &str = r#"
#include <fcntl.h>
#include <unistd.h>
int main(int argc, char **argv) {
    for (;;) {
        int fd = open(argv[1], O_RDONLY);
        if (fd < 0) return 9;
        close(fd);
        if (access(argv[2], F_OK) == 0) return 7;
        usleep(10000);
    }
}
"#;

extern "C" {
    #[link_name = "kill"]
    fn libc_kill(pid: i32, sig: i32) -> i32;
}

/// Sends signal `sig` to process `pid`; true when the kernel accepted it.
pub fn send_signal(pid: u32, sig: i32) -> bool {
    // SAFETY: kill(2) takes two integers and touches no memory of ours.
    unsafe { libc_kill(pid as i32, sig) == 0 }
}
