//! `userbpf trace --system`: the opensnoop example on the syscall tracepoints of every
//! process (perf events) gives the same event fields as under ptrace for the same workload
//! (a program built during the test that opens distinctive paths with distinct flags, some
//! failing), and the command's exit status passes through. Skipped when perf events or
//! tracefs are refused (not root, a locked-down kernel).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("userbpf-tsys-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Opens each path argument with the flags before it (`FLAGS PATH ...`), closes it, then
/// stays alive a moment: the system-wide mode reads the path from the process's memory when
/// it handles the record, after the syscall.
const WORKLOAD: &str = r#"
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
int main(int argc, char **argv) {
    for (int i = 1; i + 1 < argc; i += 2) {
        int fd = open(argv[i + 1], (int)strtol(argv[i], 0, 0), 0644);
        if (fd >= 0) close(fd);
    }
    usleep(300000);
    return 3;
}
"#;

fn build_workload(dir: &Path) -> PathBuf {
    let src = dir.join("tsysopen.c");
    std::fs::write(&src, WORKLOAD).unwrap();
    let out = dir.join("tsysopen");
    let st = Command::new("cc")
        .args(["-O1", "-o"])
        .arg(&out)
        .arg(&src)
        .status()
        .expect("cc");
    assert!(st.success());
    out
}

/// (path, flags, ret, comm) of every opensnoop event under `dir`, in order.
fn events(out: &Output, dir: &Path) -> Vec<(String, i64, i64, String)> {
    let d = dir.to_str().unwrap();
    text(&out.stdout)
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v["type"] == "ringbuf")
        .filter(|v| {
            v["value"]["path"]
                .as_str()
                .is_some_and(|p| p.starts_with(d))
        })
        .map(|v| {
            let e = &v["value"];
            (
                e["path"].as_str().unwrap().to_string(),
                e["flags"].as_i64().unwrap(),
                e["ret"].as_i64().unwrap(),
                e["comm"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn trace(system: bool, exe: &Path, args: &[String]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_userbpf"));
    cmd.arg("trace")
        .arg(repo().join("examples/opensnoop.bpf.o"))
        .arg("--json")
        .arg("--no-maps");
    if system {
        cmd.arg("--system");
    }
    cmd.arg("--").arg(exe).args(args);
    cmd.output().expect("run userbpf")
}

#[test]
fn opensnoop_system_wide_matches_ptrace() {
    let dir = tmp("opensnoop");
    let exe = build_workload(&dir);
    let existing = dir.join("existing.txt");
    std::fs::write(&existing, "x").unwrap();
    let p = |name: &str| dir.join(name).to_str().unwrap().to_string();
    // O_RDONLY, a missing file, O_WRONLY|O_CREAT|O_TRUNC, O_RDONLY|O_DIRECTORY, O_RDWR.
    let args: Vec<String> = vec![
        "0".into(),
        p("existing.txt"),
        "0".into(),
        p("missing.txt"),
        "0x241".into(),
        p("created.txt"),
        "0x10000".into(),
        p(""),
        "2".into(),
        p("existing.txt"),
    ];

    let sys = trace(true, &exe, &args);
    let stderr = text(&sys.stderr);
    if sys.status.code() == Some(2)
        && ["needs root", "perf_event_open", "tracefs"]
            .iter()
            .any(|w| stderr.contains(w))
    {
        println!("skipped: {}", stderr.trim());
        return;
    }
    assert_eq!(sys.status.code(), Some(3), "{stderr}");
    // Reset what the first run created, so both runs see the same files.
    std::fs::remove_file(dir.join("created.txt")).unwrap();
    let ptr = trace(false, &exe, &args);
    assert_eq!(ptr.status.code(), Some(3), "{}", text(&ptr.stderr));

    let (sys_events, ptr_events) = (events(&sys, &dir), events(&ptr, &dir));
    assert_eq!(ptr_events.len(), 5, "{}", text(&ptr.stdout));
    assert_eq!(
        sys_events,
        ptr_events,
        "system-wide:\n{}\nptrace:\n{}",
        text(&sys.stdout),
        text(&ptr.stdout)
    );
    // And they are right.
    assert_eq!(ptr_events[0].1, 0);
    assert!(ptr_events[0].2 >= 3);
    assert_eq!(ptr_events[1].2, -2, "ENOENT");
    assert_eq!(ptr_events[2].1, 0x241);
    assert!(ptr_events[2].2 >= 3);
    assert_eq!(ptr_events[3].1, 0x10000);
    assert_eq!(ptr_events[4].1, 2);
    assert!(ptr_events.iter().all(|e| e.3 == "tsysopen"));
    let end = text(&sys.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v["type"] == "end")
        .unwrap();
    assert_eq!(end["status"]["exited"], 3);
    assert_eq!(end["lost"], 0);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn system_refuses_uprobes_and_override_return() {
    for (obj, why) in [
        ("uprobe_args.bpf.o", "uprobes are not traced system-wide"),
        (
            "deny_open.bpf.o",
            "bpf_override_return needs the ptrace mode",
        ),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_userbpf"))
            .arg("trace")
            .arg(repo().join("examples").join(obj))
            .args(["--system", "--", "true"])
            .output()
            .expect("run userbpf");
        assert_eq!(out.status.code(), Some(2), "{obj}");
        assert!(text(&out.stderr).contains(why), "{}", text(&out.stderr));
    }
}
