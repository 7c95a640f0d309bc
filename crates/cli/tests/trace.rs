//! `userbpf trace`: the examples on real processes built during the test (events exactly
//! once with their arguments and results, the deny policy, maps and histograms at exit,
//! pinned maps read while tracing, -p attach and SIGINT detach, exit status pass-through).

#[path = "common/process.rs"]
mod process;

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use serde_json::Value;

use process::{build_c, example, scratch_dir, send_signal, text, userbpf, LOOPER};

fn tmp(name: &str) -> PathBuf {
    scratch_dir("trace", name)
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("run userbpf")
}

const OPENER: &str = r#"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        int fd = open(argv[i], O_RDONLY);
        printf("target: %s -> %d errno %d\n", argv[i], fd, fd < 0 ? errno : 0);
        if (fd >= 0) close(fd);
    }
    fprintf(stderr, "target: bye\n");
    return 3;
}
"#;

fn json_lines(out: &str) -> Vec<Value> {
    out.lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn opensnoop_json_events_and_pass_through() {
    let dir = tmp("opensnoop");
    let exe = build_c(&dir, "opener", OPENER);
    let a = dir.join("a.txt");
    std::fs::write(&a, "a").unwrap();
    let missing = dir.join("missing");
    let o = run(userbpf()
        .arg("trace")
        .arg(example("opensnoop.bpf.o"))
        .arg("--json")
        .arg("--")
        .arg(&exe)
        .arg(&a)
        .arg(&missing));
    assert_eq!(o.status.code(), Some(3), "{}", text(&o.stderr));
    let stdout = text(&o.stdout);
    // The target's own output, unchanged.
    assert!(stdout.contains(&format!("target: {} -> 3 errno 0\n", a.display())));
    assert!(stdout.contains(&format!("target: {} -> -1 errno 2\n", missing.display())));
    assert!(text(&o.stderr).contains("target: bye\n"));
    let d = dir.to_str().unwrap();
    let events: Vec<Value> = json_lines(&stdout)
        .into_iter()
        .filter(|v| v["type"] == "ringbuf")
        .filter(|v| v["value"]["path"].as_str().unwrap().starts_with(d))
        .collect();
    assert_eq!(events.len(), 2, "{stdout}");
    assert_eq!(events[0]["value"]["path"], a.to_str().unwrap());
    assert_eq!(events[0]["value"]["ret"], 3);
    assert_eq!(events[0]["value"]["comm"], "opener");
    assert_eq!(events[1]["value"]["path"], missing.to_str().unwrap());
    assert_eq!(events[1]["value"]["ret"], -2);
    let end = json_lines(&stdout)
        .into_iter()
        .find(|v| v["type"] == "end")
        .unwrap();
    assert_eq!(end["status"]["exited"], 3);
}

#[test]
fn deny_policy_fails_the_open_and_the_target_survives() {
    let dir = tmp("deny");
    let denied_dir = dir.join("secret");
    std::fs::create_dir_all(&denied_dir).unwrap();
    let secret = denied_dir.join("key");
    let public = dir.join("public");
    std::fs::write(&secret, "k").unwrap();
    std::fs::write(&public, "p").unwrap();
    let obj = dir.join("deny.bpf.o");
    let define = format!("DENY_DIR=\"{}/\"", denied_dir.display());
    let b = run(userbpf()
        .arg("build")
        .arg(example("deny_open.bpf.c"))
        .arg("-o")
        .arg(&obj)
        .arg("-D")
        .arg(&define));
    assert!(b.status.success(), "{}", text(&b.stderr));
    let exe = build_c(&dir, "opener", OPENER);
    let o = run(userbpf()
        .arg("trace")
        .arg(&obj)
        .arg("--")
        .arg(&exe)
        .arg(&secret)
        .arg(&public)
        .arg(&secret));
    let stdout = text(&o.stdout);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o.stderr));
    assert!(
        stdout.contains(&format!("target: {} -> -1 errno 13\n", secret.display())),
        "{stdout}"
    );
    assert!(stdout.contains(&format!("target: {} -> 3 errno 0\n", public.display())));
    // One trace_pipe line per denial, with the task's comm-pid.
    let lines: Vec<&str> = stdout
        .lines()
        .filter(|l| l.contains("bpf_trace_printk: denied open of"))
        .collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert!(lines[0].trim_start().starts_with("opener-"));
    // The counter at exit.
    assert!(stdout.contains("map denied:"), "{stdout}");
    assert!(stdout.contains("\"value\": 2"), "{stdout}");
}

#[test]
fn execsnoop_sees_each_exec_once() {
    let dir = tmp("execsnoop");
    let exe = build_c(&dir, "opener", OPENER);
    let script = format!("{} x; {} y z", exe.display(), exe.display());
    let o = run(userbpf()
        .arg("trace")
        .arg(example("execsnoop.bpf.o"))
        .arg("--json")
        .arg("--")
        .args(["sh", "-c", &script]));
    assert_eq!(o.status.code(), Some(3), "{}", text(&o.stderr));
    let events: Vec<Value> = json_lines(&text(&o.stdout))
        .into_iter()
        .filter(|v| v["type"] == "ringbuf" && v["value"]["ret"] == 0)
        .collect();
    let files: Vec<&str> = events
        .iter()
        .map(|v| v["value"]["filename"].as_str().unwrap())
        .collect();
    assert_eq!(files.len(), 3, "{files:?}");
    assert!(files[0].ends_with("/sh"));
    assert_eq!(files[1], exe.to_str().unwrap());
    assert_eq!(events[1]["value"]["args"][1], "x");
    assert_eq!(events[1]["value"]["comm"], "opener");
    assert_eq!(events[2]["value"]["argc"], 3);
    assert_eq!(events[2]["value"]["args"][2], "z");
    assert_ne!(events[1]["value"]["pid"], events[2]["value"]["pid"]);
}

#[test]
fn syscount_and_latency_histogram_at_exit() {
    let dir = tmp("syscount");
    let exe = build_c(&dir, "opener", OPENER);
    let files: Vec<PathBuf> = (0..5).map(|i| dir.join(format!("f{i}"))).collect();
    for f in &files {
        std::fs::write(f, "x").unwrap();
    }
    let o = run(userbpf()
        .arg("trace")
        .arg(example("syscount.bpf.o"))
        .arg("--")
        .arg(&exe)
        .args(&files));
    assert_eq!(o.status.code(), Some(3));
    let stdout = text(&o.stdout);
    let line = stdout
        .lines()
        .find(|l| l.trim_start().starts_with("openat (257)"))
        .unwrap_or_else(|| panic!("{stdout}"));
    let count: u64 = line.split_whitespace().last().unwrap().parse().unwrap();
    assert!(count >= 5, "{line}");
    let exit = stdout
        .lines()
        .find(|l| l.trim_start().starts_with("exit_group (231)"))
        .unwrap();
    assert!(exit.ends_with(" 1"), "{exit}");

    let o = run(userbpf()
        .arg("trace")
        .arg(example("syslat.bpf.o"))
        .arg("--")
        .arg(&exe)
        .args(&files));
    assert_eq!(o.status.code(), Some(3));
    let stdout = text(&o.stdout);
    assert!(stdout.contains("@latency_hist:"), "{stdout}");
    let bars = stdout
        .lines()
        .filter(|l| l.starts_with('[') && l.ends_with('|'))
        .count();
    assert!(bars >= 1, "{stdout}");
}

#[test]
fn attach_with_pid_pinned_maps_while_tracing_and_sigint_detach() {
    let dir = tmp("attach");
    let exe = build_c(&dir, "looper", LOOPER);
    let tick = dir.join("tick");
    let done = dir.join("done");
    std::fs::write(&tick, "t").unwrap();
    let mut target = Command::new(&exe).arg(&tick).arg(&done).spawn().unwrap();
    let pins = dir.join("pins");
    let tracer = userbpf()
        .arg("trace")
        .arg(example("syscount.bpf.o"))
        .arg("--pin-dir")
        .arg(&pins)
        .arg("-p")
        .arg(target.id().to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    // The counts are readable from another process while tracing.
    let dump = run(userbpf()
        .args(["map", "dump", "--json"])
        .arg(pins.join("syscalls")));
    assert!(dump.status.success(), "{}", text(&dump.stderr));
    let entries: Value = serde_json::from_slice(&dump.stdout).unwrap();
    let openat = entries
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["key"] == 257)
        .unwrap_or_else(|| panic!("{entries}"));
    assert!(openat["value"].as_u64().unwrap() >= 2);
    // SIGINT: detach, print the maps, exit 0; the target goes on.
    assert!(send_signal(tracer.id(), 2));
    let out = tracer.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("detached from process"));
    assert!(text(&out.stdout).contains("openat (257)"));
    std::thread::sleep(Duration::from_millis(100));
    assert!(target.try_wait().unwrap().is_none(), "target still running");
    std::fs::write(&done, "d").unwrap();
    assert_eq!(target.wait().unwrap().code(), Some(7));
}

#[test]
fn crash_and_missing_command_end_tracing_clearly() {
    let dir = tmp("crash");
    let exe = build_c(
        &dir,
        "crasher",
        "#include <signal.h>\nint main(void) { raise(SIGSEGV); return 0; }\n",
    );
    let o = run(userbpf()
        .arg("trace")
        .arg(example("opensnoop.bpf.o"))
        .arg("--")
        .arg(&exe));
    assert_eq!(o.status.code(), Some(128 + 11));
    assert!(
        text(&o.stderr).contains("was killed by SIGSEGV"),
        "{}",
        text(&o.stderr)
    );

    let o = run(userbpf()
        .arg("trace")
        .arg(example("opensnoop.bpf.o"))
        .arg("--")
        .arg(dir.join("no-such-command")));
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("cannot execute"),
        "{}",
        text(&o.stderr)
    );
}
