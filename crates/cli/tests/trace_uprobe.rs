//! `userbpf trace` on uprobes and on the end of a trace: a uprobe and a uretprobe compiled
//! in the test on a function of a program built in the test (every call seen once with its
//! arguments, every return with its value, in both threads); a spawned command detached
//! with SIGINT goes on with working syscalls and its status is passed through; a command
//! that crashes ends the trace with a clear message and its status.

#[path = "common/process.rs"]
mod process;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use serde_json::Value;

use process::{build_c, example, scratch_dir, send_signal, text, userbpf, LOOPER};

fn tmp(name: &str) -> PathBuf {
    scratch_dir("trace2", name)
}

const PROBE: &str = r#"
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct regs { unsigned long r15, r14, r13, r12, bp, bx, r11, r10, r9, r8, ax, cx, dx, si, di,
              orig_ax, ip, cs, flags, sp, ss; };
struct event { __u32 pid; __u32 tid; __u32 is_return; __u32 pad; __s64 a; __s64 b; __s64 ret; };

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 16);
} events SEC(".maps");

static __always_inline int emit(struct regs *ctx, __u32 is_return)
{
	struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	__u64 id = bpf_get_current_pid_tgid();

	if (!e)
		return 0;
	e->pid = id >> 32;
	e->tid = (__u32)id;
	e->is_return = is_return;
	e->pad = 0;
	e->a = is_return ? 0 : ctx->di;
	e->b = is_return ? 0 : ctx->si;
	e->ret = is_return ? ctx->ax : 0;
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("uprobe/probe_target:mul_add")
int on_entry(struct regs *ctx) { return emit(ctx, 0); }

SEC("uretprobe/probe_target:mul_add")
int on_return(struct regs *ctx) { return emit(ctx, 1); }

char LICENSE[] SEC("license") = "GPL";
"#;

/// `probe_target N`: the main thread calls mul_add(i, 7) and a second thread
/// mul_add(1000 + i, 7) for i in 0..N; prints the sum and exits with 4.
const TARGET: &str = r#"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
__attribute__((noinline)) long mul_add(long a, long b)
{
    __asm__ volatile("" ::: "memory");
    return a * 3 + b;
}
static long n;
static void *worker(void *arg)
{
    long base = (long)arg, s = 0;
    for (long i = 0; i < n; i++)
        s += mul_add(base + i, 7);
    return (void *)s;
}
int main(int argc, char **argv)
{
    n = atol(argv[1]);
    pthread_t t;
    void *r;
    pthread_create(&t, 0, worker, (void *)1000);
    long s = (long)worker((void *)0);
    pthread_join(t, &r);
    printf("sum %ld\n", s + (long)r);
    return 4;
}
"#;

fn i64_at(b: &[u8], off: usize) -> i64 {
    i64::from_ne_bytes(b[off..off + 8].try_into().unwrap())
}

fn u32_at(b: &[u8], off: usize) -> u32 {
    u32::from_ne_bytes(b[off..off + 4].try_into().unwrap())
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

#[test]
fn uprobe_and_uretprobe_on_a_test_program() {
    if Command::new("clang-19").arg("--version").output().is_err() {
        eprintln!("skipped: clang-19 is not installed");
        return;
    }
    let dir = tmp("uprobe");
    let src = dir.join("probe.bpf.c");
    std::fs::write(&src, PROBE).unwrap();
    let obj = dir.join("probe.bpf.o");
    let st = Command::new("clang-19")
        .args(["-target", "bpf", "-O2", "-g", "-c"])
        .arg("-I/usr/include/x86_64-linux-gnu")
        .arg(&src)
        .arg("-o")
        .arg(&obj)
        .status()
        .unwrap();
    assert!(st.success());
    build_c(&dir, "probe_target", TARGET);
    let n = 25i64;
    // "probe_target" has no '/': found in PATH, as libbpf does.
    let path = format!(
        "{}:{}",
        dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let o = userbpf()
        .arg("trace")
        .arg(&obj)
        .arg("--json")
        .args(["--", "probe_target", &n.to_string()])
        .env("PATH", &path)
        .output()
        .unwrap();
    let stdout = text(&o.stdout);
    let stderr = text(&o.stderr);
    // Status and output passed through; the programs verified (no fallback note).
    assert_eq!(o.status.code(), Some(4), "{stderr}");
    assert!(!stderr.contains("note:"), "{stderr}");
    let want_sum: i64 = (0..n).map(|i| i * 3 + 7 + (1000 + i) * 3 + 7).sum();
    assert!(stdout.contains(&format!("sum {want_sum}\n")), "{stdout}");

    let mut entries: HashMap<i64, (u32, u32)> = HashMap::new();
    let mut returns: HashMap<i64, u32> = HashMap::new();
    let mut pid = None;
    for line in stdout.lines().filter(|l| l.starts_with('{')) {
        let v: Value = serde_json::from_str(line).unwrap();
        if v["type"] != "ringbuf" {
            continue;
        }
        let data = unhex(v["data"].as_str().unwrap());
        assert_eq!(data.len(), 40);
        let (p, tid, is_return) = (u32_at(&data, 0), u32_at(&data, 4), u32_at(&data, 8));
        assert_eq!(*pid.get_or_insert(p), p, "one process");
        if is_return == 0 {
            assert_eq!(i64_at(&data, 24), 7, "second argument");
            let a = i64_at(&data, 16);
            assert!(entries.insert(a, (tid, p)).is_none(), "call {a} seen twice");
        } else {
            *returns.entry(i64_at(&data, 32)).or_default() += 1;
        }
    }
    // Every call exactly once, in the thread that made it.
    let pid = pid.expect("events");
    let mut want: Vec<i64> = (0..n).chain(1000..1000 + n).collect();
    want.sort_unstable();
    let mut got: Vec<i64> = entries.keys().copied().collect();
    got.sort_unstable();
    assert_eq!(got, want);
    for (a, (tid, _)) in &entries {
        assert_eq!(*a < 1000, *tid == pid, "call {a} in thread {tid}");
    }
    // Every return once, with the function's value.
    let want_rets: HashMap<i64, u32> = want.iter().map(|a| (a * 3 + 7, 1)).collect();
    assert_eq!(returns, want_rets);
}

#[test]
fn sigint_leaves_a_spawned_command_running_with_working_syscalls() {
    let dir = tmp("spawn-sigint");
    let exe = build_c(&dir, "looper", LOOPER);
    let tick = dir.join("tick");
    let done = dir.join("done");
    std::fs::write(&tick, "t").unwrap();
    let mut tracer = userbpf()
        .arg("trace")
        .arg(example("opensnoop.bpf.o"))
        .arg("--json")
        .arg("--")
        .arg(&exe)
        .arg(&tick)
        .arg(&done)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read the events as they come; SIGINT once a few opens of the tick file were seen.
    let stdout = tracer.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let tick_name = tick.to_str().unwrap().to_string();
    let mut lines = Vec::new();
    while lines
        .iter()
        .filter(|l: &&String| l.contains(&tick_name))
        .count()
        < 3
    {
        match rx.recv_timeout(Duration::from_secs(20)) {
            Ok(l) => lines.push(l),
            Err(e) => panic!("no tick events: {e}; {lines:?}"),
        }
    }
    assert!(send_signal(tracer.id(), 2));
    // The command goes on: its openat (traced by the filter) keeps working.
    std::thread::sleep(Duration::from_millis(200));
    std::fs::write(&done, "d").unwrap();
    let out: Output = tracer.wait_with_output().unwrap();
    reader.join().unwrap();
    lines.extend(rx.try_iter());
    assert_eq!(out.status.code(), Some(7), "{}", text(&out.stderr));
    let end: Value = lines
        .iter()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|v| v["type"] == "end")
        .unwrap_or_else(|| panic!("{lines:?}"));
    assert_eq!(end["detached"], true, "{end}");
    assert_eq!(end["status"]["exited"], 7, "{end}");
}

#[test]
fn a_crash_ends_tracing_with_its_signal_and_output_so_far() {
    let dir = tmp("segv");
    let exe = build_c(
        &dir,
        "segv",
        "#include <fcntl.h>\n#include <stdio.h>\n#include <unistd.h>\n\
         int main(void) { close(open(\"/dev/null\", O_RDONLY));\n\
         printf(\"before\\n\"); fflush(stdout);\n\
         *(volatile int *)0 = 1; return 0; }\n",
    );
    let o = userbpf()
        .arg("trace")
        .arg(example("opensnoop.bpf.o"))
        .arg("--")
        .arg(&exe)
        .output()
        .unwrap();
    let stdout = text(&o.stdout);
    let stderr = text(&o.stderr);
    assert_eq!(o.status.code(), Some(128 + 11), "{stderr}");
    assert!(stdout.contains("before\n"), "{stdout}");
    assert!(stdout.contains("path=/dev/null"), "{stdout}");
    assert!(stderr.contains("was killed by SIGSEGV"), "{stderr}");
}
