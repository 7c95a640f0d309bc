//! `userbpf trace --system`: the opensnoop example on the syscall tracepoints of every
//! process (perf events) gives the same event fields as under ptrace for the same workload
//! (a program built during the test that opens distinctive paths with distinct flags, some
//! failing), and the command's exit status passes through; raw tracepoint programs (on the
//! `raw_syscalls` tracepoints) read the same `pt_regs` and ids under both modes. Skipped
//! when perf events or tracefs are refused (not root, a locked-down kernel).

#[path = "common/process.rs"]
mod process;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

use process::{repo, scratch_dir, text};

fn tmp(name: &str) -> PathBuf {
    scratch_dir("tsys", name)
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
    trace_obj(&repo().join("examples/opensnoop.bpf.o"), system, exe, args)
}

fn trace_obj(obj: &Path, system: bool, exe: &Path, args: &[String]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_userbpf"));
    cmd.arg("trace").arg(obj).arg("--json").arg("--no-maps");
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

    let Some(sys) = system_run(|| trace(true, &exe, &args)) else {
        return;
    };
    assert_eq!(sys.status.code(), Some(3), "{}", text(&sys.stderr));
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
    assert_eq!(end_of(&sys)["status"]["exited"], 3);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The system-wide mode was refused: print why and skip.
fn refused(out: &Output) -> bool {
    let stderr = text(&out.stderr);
    let refused = out.status.code() == Some(2)
        && ["needs root", "perf_event_open", "tracefs"]
            .iter()
            .any(|w| stderr.contains(w));
    if refused {
        println!("skipped: {}", stderr.trim());
    }
    refused
}

/// The `end` line of a JSON trace.
fn end_of(out: &Output) -> Value {
    text(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v["type"] == "end")
        .unwrap_or(Value::Null)
}

/// Run a system-wide trace until one loses no record (on a busy machine the kernel may drop
/// records when a ring fills: the workload's could be among them). None, after printing
/// why, when the mode is refused or every attempt lost records.
fn system_run(run: impl Fn() -> Output) -> Option<Output> {
    let mut lost = Vec::new();
    for _ in 0..3 {
        let out = run();
        if refused(&out) {
            return None;
        }
        match end_of(&out)["lost"].as_u64() {
            Some(0) => return Some(out),
            Some(n) => lost.push(n),
            None => panic!("no end line: {}\n{}", text(&out.stdout), text(&out.stderr)),
        }
    }
    println!("skipped: the kernel dropped records on every attempt (lost {lost:?}): too busy");
    None
}

/// raw_tracepoint/sys_enter and sys_exit programs reading `pt_regs` (arguments, `orig_ax`,
/// `ax`) and the ids, for the workload's openat calls only.
const RAW_REGS: &str = r#"
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct regs { unsigned long r15, r14, r13, r12, bp, bx, r11, r10, r9, r8, ax, cx, dx, si, di,
              orig_ax, ip, cs, flags, sp, ss; };

static int is_workload(void)
{
	char comm[16];

	bpf_get_current_comm(comm, sizeof(comm));
	return comm[0] == 't' && comm[1] == 's' && comm[2] == 'y' && comm[3] == 's' &&
	       comm[4] == 'o' && comm[5] == 'p';
}

SEC("raw_tracepoint/sys_enter")
int raw_enter(struct bpf_raw_tracepoint_args *ctx)
{
	struct regs *r = (void *)ctx->args[0];
	unsigned long si = 0, dx = 0, orig = 0, ax = 0;
	char path[128];

	if (ctx->args[1] != 257 || !is_workload())
		return 0;
	bpf_probe_read_kernel(&si, 8, &r->si);
	bpf_probe_read_kernel(&dx, 8, &r->dx);
	bpf_probe_read_kernel(&orig, 8, &r->orig_ax);
	bpf_probe_read_kernel(&ax, 8, &r->ax);
	bpf_probe_read_user_str(path, sizeof(path), (void *)si);
	bpf_printk("enter %s flags=%lx", path, dx);
	bpf_printk("enter orig=%ld ax=%ld", orig, ax);
	return 0;
}

SEC("raw_tracepoint/sys_exit")
int raw_exit(struct bpf_raw_tracepoint_args *ctx)
{
	struct regs *r = (void *)ctx->args[0];
	unsigned long orig = 0, ax = 0;

	bpf_probe_read_kernel(&orig, 8, &r->orig_ax);
	if (orig != 257 || !is_workload())
		return 0;
	bpf_probe_read_kernel(&ax, 8, &r->ax);
	bpf_printk("exit ret=%ld ax=%ld", (long)ctx->args[1], ax);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
"#;

/// The trace messages of the workload from its first open under `dir` on, in order. (Other
/// processes of that name, and the dynamic loader's opens before, whose path buffer is
/// reused before the system-wide mode reads it, are left out.)
fn messages(out: &Output, dir: &Path) -> Vec<String> {
    let all: Vec<Value> = text(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["type"] == "trace")
        .collect();
    let first = format!("enter {}", dir.display());
    let Some(start) = all
        .iter()
        .position(|v| v["message"].as_str().unwrap().starts_with(&first))
    else {
        return Vec::new();
    };
    let pid = all[start]["pid"].clone();
    all[start..]
        .iter()
        .filter(|v| v["pid"] == pid)
        .map(|v| v["message"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn raw_tracepoints_system_wide_match_ptrace() {
    if Command::new("clang-19").arg("--version").output().is_err() {
        println!("skipped: clang-19 not found");
        return;
    }
    let dir = tmp("raw");
    let exe = build_workload(&dir);
    let src = dir.join("raw_regs.bpf.c");
    std::fs::write(&src, RAW_REGS).unwrap();
    let obj = dir.join("raw_regs.bpf.o");
    let built = Command::new(env!("CARGO_BIN_EXE_userbpf"))
        .arg("build")
        .arg(&src)
        .arg("-o")
        .arg(&obj)
        .output()
        .unwrap();
    assert!(built.status.success(), "{}", text(&built.stderr));
    let args: Vec<String> = vec![
        "0".into(),
        dir.join("missing").to_str().unwrap().into(),
        "0x241".into(),
        dir.join("new").to_str().unwrap().into(),
    ];
    let Some(sys) = system_run(|| trace_obj(&obj, true, &exe, &args)) else {
        return;
    };
    assert_eq!(sys.status.code(), Some(3), "{}", text(&sys.stderr));
    std::fs::remove_file(dir.join("new")).unwrap();
    let ptr = trace_obj(&obj, false, &exe, &args);
    assert_eq!(ptr.status.code(), Some(3), "{}", text(&ptr.stderr));
    let (sys_m, ptr_m) = (messages(&sys, &dir), messages(&ptr, &dir));
    // The open of a missing file: id 257, ax -ENOSYS at entry, -ENOENT at exit; then the
    // creation, its fd at exit.
    let new_fd = ptr_m.get(5).and_then(|m| m.strip_prefix("exit ret="));
    let expected = [
        format!("enter {} flags=0", dir.join("missing").display()),
        "enter orig=257 ax=-38".into(),
        "exit ret=-2 ax=-2".into(),
        format!("enter {} flags=241", dir.join("new").display()),
        "enter orig=257 ax=-38".into(),
        format!("exit ret={}", new_fd.unwrap_or("?")),
    ];
    assert_eq!(ptr_m, expected, "ptrace:\n{}", text(&ptr.stdout));
    assert!(new_fd.is_some_and(|f| f.starts_with('3')), "{ptr_m:?}");
    assert_eq!(sys_m, ptr_m, "system-wide vs ptrace");
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
