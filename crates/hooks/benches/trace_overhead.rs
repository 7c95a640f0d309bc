//! Cost of `userbpf trace` per traced syscall and per uprobe hit, in one run, against the
//! untraced workload and `strace -f` on the same workload (when strace is installed):
//!
//! - **every syscall**: N `getppid`, examples/syscount.bpf.o (a raw tracepoint on every
//!   syscall entry: no filter can help);
//! - **traced syscall**: N `openat` + `close` of /dev/null, examples/opensnoop.bpf.o
//!   (tracepoints on openat entry and exit, a ring buffer record each);
//! - **mixed**: N rounds of one `openat` + `close` and K `getppid`, opensnoop again: the
//!   case the seccomp fast path is for;
//! - **uprobe**: examples/uprobe_target.c calling `add_numbers` N times under
//!   examples/uprobe_args.bpf.o (a uprobe and a uretprobe: two hits per call).
//!
//! userbpf runs twice on each syscall workload: stopping at every syscall entry and exit
//! (`Tracer::spawn`, `PTRACE_SYSCALL`, as before the fast path and as with `-p`) and with the
//! seccomp filter of the attached programs' syscalls (`Tracer::spawn_for`, as
//! `userbpf trace -- CMD`). strace runs as `strace -f` and, where it can filter, also as
//! `strace -f --seccomp-bpf -e trace=openat`. Each run is timed in wall-clock time and in
//! CPU time (user + system of the tracer and the traced process: on a loaded machine the
//! wall time also counts waiting for a CPU at every stop); each figure is the best of three
//! runs; the ratios are CPU-time overheads (minus the untraced CPU time) divided by
//! `strace -f`'s.
//!
//! First, the cost of one program run as the hooks make it, without any process: a
//! [`HookRunner`] running syscount's raw tracepoint program on a context and `pt_regs`, and
//! a [`CustomHook`] firing examples/plugin_filter.bpf.o, in the JIT and in the interpreter
//! (best of 15 batches).
//!
//! `cargo bench -p userbpf-hooks --bench trace_overhead [-- SCALE]` (SCALE multiplies the
//! workload sizes; default 1).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use userbpf_hooks::custom::{ContextLayout, FieldAccess, HookDecl};
use userbpf_hooks::env::TaskEnv;
use userbpf_hooks::syscall_hooks::SyscallHooks;
use userbpf_hooks::trace_engine::{EngineKind, HookRunner};
use userbpf_hooks::tracer::Tracer;
use userbpf_object::Object;
use userbpf_runtime::instance::{LoadOptions, ObjectInstance};

const WORKLOAD: &str = r#"
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
/* workload getppid N | open N | mixed N K */
int main(int argc, char **argv) {
    long n = atol(argv[2]), k = argc > 3 ? atol(argv[3]) : 0;
    if (strcmp(argv[1], "getppid") == 0) {
        for (long i = 0; i < n; i++) syscall(SYS_getppid);
    } else {
        for (long i = 0; i < n; i++) {
            int fd = open("/dev/null", O_RDONLY);
            if (fd < 0) return 1;
            close(fd);
            for (long j = 0; j < k; j++) syscall(SYS_getppid);
        }
    }
    return 0;
}
"#;

const RUNS: usize = 3;

fn build(dir: &Path, name: &str, source: &Path) -> PathBuf {
    let exe = dir.join(name);
    let ok = Command::new("cc")
        .args(["-O2", "-pthread", "-o"])
        .arg(&exe)
        .arg(source)
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(ok, "cc is needed to build the workload");
    exe
}

/// Wall-clock and CPU time of one run.
#[derive(Clone, Copy, Debug)]
struct Cost {
    wall: Duration,
    cpu: Duration,
}

/// User + system time of this process and of its waited-for children so far.
fn cpu_now() -> Duration {
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    let mut total = Duration::ZERO;
    for who in [libc::RUSAGE_SELF, libc::RUSAGE_CHILDREN] {
        // SAFETY: rusage is plain integers; getrusage fills the one we pass.
        let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: `ru` is a writable rusage.
        unsafe { libc::getrusage(who, &mut ru) };
        total += tv(ru.ru_utime) + tv(ru.ru_stime);
    }
    total
}

/// Time `f` (which returns whether the run succeeded).
fn measure(f: impl FnOnce() -> bool) -> Option<Cost> {
    let (cpu0, start) = (cpu_now(), Instant::now());
    let ok = f();
    let cost = Cost {
        wall: start.elapsed(),
        cpu: cpu_now().saturating_sub(cpu0),
    };
    ok.then_some(cost)
}

fn best(mut f: impl FnMut() -> Option<Cost>) -> Option<Cost> {
    let runs: Vec<Cost> = (0..RUNS).filter_map(|_| f()).collect();
    Some(Cost {
        wall: runs.iter().map(|c| c.wall).min()?,
        cpu: runs.iter().map(|c| c.cpu).min()?,
    })
}

fn time_command(argv: &[OsString], prefix: &[&str]) -> Option<Cost> {
    best(|| {
        let mut cmd = match prefix.first() {
            Some(p) => {
                let mut c = Command::new(p);
                c.args(&prefix[1..]).args(argv);
                c
            }
            None => {
                let mut c = Command::new(&argv[0]);
                c.args(&argv[1..]);
                c
            }
        };
        cmd.stdout(Stdio::null()).stderr(Stdio::null());
        measure(|| cmd.status().is_ok_and(|s| s.success()))
    })
}

/// Trace `argv` with every program of `object`, with or without the seccomp filter; the
/// programs verified and JIT-compiled.
fn time_userbpf(object: &Path, argv: &[OsString], filtered: bool) -> Cost {
    best(|| {
        let bytes = std::fs::read(object).unwrap();
        let object = Object::parse(&bytes).unwrap();
        let env = Arc::new(TaskEnv::new());
        let instance = ObjectInstance::load(
            &object,
            &LoadOptions {
                helper_env: Some(env.clone()),
                ..Default::default()
            },
        )
        .unwrap();
        let mut hooks = SyscallHooks::new(&instance, env, |_| {}).unwrap();
        for name in instance.program_names() {
            let attached = hooks.attach(&object, &instance, name).unwrap();
            assert!(attached.note.is_none(), "{:?}", attached.note);
        }
        measure(|| {
            let mut tracer = if filtered {
                Tracer::spawn_for(argv, &hooks)
            } else {
                Tracer::spawn(argv)
            }
            .unwrap();
            let outcome = tracer.run(&mut hooks).unwrap();
            outcome.status == Some(userbpf_hooks::tracer::TargetStatus::Exited(0))
        })
    })
    .unwrap()
}

fn args(list: &[&dyn AsRef<std::ffi::OsStr>]) -> Vec<OsString> {
    list.iter().map(|a| a.as_ref().to_os_string()).collect()
}

/// One table: wall and CPU time per `unit` (there are `units` of them), the CPU overhead
/// over the untraced run, and its ratio to `strace -f`'s.
fn report(title: &str, unit: &str, units: u64, rows: &[(&str, Option<Cost>)]) {
    let per = |d: Duration| d.as_nanos() as f64 / units as f64;
    let base = rows[0].1.map_or(0.0, |c| per(c.cpu));
    let strace = rows
        .iter()
        .find(|(n, _)| *n == "strace -f")
        .and_then(|(_, c)| c.map(|c| per(c.cpu) - base));
    println!("{title}");
    println!(
        "  {:<34} {:>16} {:>16}  cpu overhead",
        "",
        format!("wall ns/{unit}"),
        format!("cpu ns/{unit}")
    );
    for (i, (name, c)) in rows.iter().enumerate() {
        let Some(c) = c else {
            println!("  {name:<34} (not available)");
            continue;
        };
        let (wall, cpu) = (per(c.wall), per(c.cpu));
        if i == 0 {
            println!("  {name:<34} {wall:>16.1} {cpu:>16.1}");
            continue;
        }
        let over = cpu - base;
        let vs = strace
            .map(|s| format!(", {:.3}x strace -f's", over / s))
            .unwrap_or_default();
        println!("  {name:<34} {wall:>16.1} {cpu:>16.1}  +{over:.1} ns{vs}");
    }
    println!();
}

/// Nanoseconds per call of `f`, best of 15 batches of `n`.
fn ns_per_call(n: u32, mut f: impl FnMut()) -> f64 {
    let mut best = f64::MAX;
    for _ in 0..15 {
        let t = Instant::now();
        for _ in 0..n {
            f();
        }
        best = best.min(t.elapsed().as_secs_f64() * 1e9 / f64::from(n));
    }
    best
}

/// One program run through [`HookRunner::run`] (the tracing hooks) and
/// [`CustomHook::fire`](userbpf_hooks::custom::CustomHook::fire), per engine.
fn program_runs(examples: &Path) {
    let load = |name: &str| {
        let bytes = std::fs::read(examples.join(name)).unwrap();
        let object = Object::parse(&bytes).unwrap();
        let instance = ObjectInstance::load(&object, &LoadOptions::default()).unwrap();
        (object, instance)
    };
    println!("one program run, without a process (ns per run, best of 15 batches)");
    let (object, instance) = load("syscount.bpf.o");
    let regs = [0u8; 168];
    let mut ctx = [0u8; 16];
    ctx[..8].copy_from_slice(&(regs.as_ptr() as u64).to_ne_bytes());
    ctx[8..].copy_from_slice(&39u64.to_ne_bytes());
    for engine in [EngineKind::Jit, EngineKind::Interp] {
        let prepared = instance.program("count_syscall").unwrap();
        let runner = HookRunner::select(&object, prepared, Some(engine)).unwrap();
        let ns = ns_per_call(100_000, || {
            std::hint::black_box(runner.run(std::hint::black_box(&ctx), Some(&regs))).unwrap();
        });
        let what = format!("HookRunner::run, syscount raw tracepoint, {engine:?}");
        println!("  {what:<52} {ns:>8.1}");
    }
    let (object, instance) = load("plugin_filter.bpf.o");
    use FieldAccess::{ReadOnly, Writable};
    let layout = ContextLayout::new(24)
        .field("src_ip", 0, 4, ReadOnly)
        .field("port", 4, 2, ReadOnly)
        .field("method", 6, 2, ReadOnly)
        .field("body_len", 8, 4, ReadOnly)
        .field("verdict", 12, 4, Writable)
        .field("reason", 16, 4, Writable);
    let decl = HookDecl::new("request", layout).unwrap();
    for engine in [EngineKind::Jit, EngineKind::Interp] {
        let hook = decl
            .load_with(&instance, &object, "filter", engine)
            .unwrap();
        let mut request = [0u8; 24];
        request[4..6].copy_from_slice(&443u16.to_ne_bytes());
        let ns = ns_per_call(100_000, || {
            std::hint::black_box(hook.fire(std::hint::black_box(&mut request))).unwrap();
        });
        let what = format!("CustomHook::fire, plugin_filter, {engine:?}");
        println!("  {what:<52} {ns:>8.1}");
    }
}

fn main() {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    program_runs(&examples);
    let scale: u64 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(1);
    let dir = std::env::temp_dir().join(format!("userbpf-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("workload.c");
    std::fs::write(&src, WORKLOAD).unwrap();
    let exe = build(&dir, "workload", &src);
    let has_strace = Command::new("strace")
        .arg("-V")
        .stdout(Stdio::null())
        .status()
        .is_ok();
    let strace = |argv: &[OsString], filter: bool| {
        if !has_strace {
            return None;
        }
        let mut prefix = vec!["strace", "-f", "-o", "/dev/null"];
        if filter {
            prefix.extend(["--seccomp-bpf", "-e", "trace=openat"]);
        }
        time_command(argv, &prefix)
    };
    let syscount = examples.join("syscount.bpf.o");
    let opensnoop = examples.join("opensnoop.bpf.o");

    // Every syscall traced.
    let n = 50_000 * scale;
    let argv = args(&[&exe, &"getppid", &n.to_string()]);
    report(
        &format!("every syscall traced: {n} getppid, syscount (raw_tracepoint/sys_enter)"),
        "syscall",
        n,
        &[
            ("untraced", time_command(&argv, &[])),
            ("strace -f", strace(&argv, false)),
            (
                "userbpf, every syscall stops",
                Some(time_userbpf(&syscount, &argv, false)),
            ),
        ],
    );

    // One traced syscall (openat) and close.
    let n = 20_000 * scale;
    let argv = args(&[&exe, &"open", &n.to_string()]);
    report(
        &format!("traced syscall: {n} x (openat + close), opensnoop (openat enter + exit)"),
        "openat",
        n,
        &[
            ("untraced", time_command(&argv, &[])),
            ("strace -f", strace(&argv, false)),
            ("strace -f --seccomp-bpf openat", strace(&argv, true)),
            (
                "userbpf, every syscall stops",
                Some(time_userbpf(&opensnoop, &argv, false)),
            ),
            (
                "userbpf, seccomp filter",
                Some(time_userbpf(&opensnoop, &argv, true)),
            ),
        ],
    );

    // Mixed: one traced openat among many untraced syscalls.
    let (n, k) = (5_000 * scale, 20);
    let argv = args(&[&exe, &"mixed", &n.to_string(), &k.to_string()]);
    report(
        &format!(
            "mixed: {n} rounds of openat + close + {k} getppid ({} syscalls per round), \
             opensnoop",
            k + 2
        ),
        "round",
        n,
        &[
            ("untraced", time_command(&argv, &[])),
            ("strace -f", strace(&argv, false)),
            ("strace -f --seccomp-bpf openat", strace(&argv, true)),
            (
                "userbpf, every syscall stops",
                Some(time_userbpf(&opensnoop, &argv, false)),
            ),
            (
                "userbpf, seccomp filter",
                Some(time_userbpf(&opensnoop, &argv, true)),
            ),
        ],
    );

    // uprobe + uretprobe.
    let target = build(&dir, "uprobe_target", &examples.join("uprobe_target.c"));
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs = vec![dir.clone()];
    dirs.extend(std::env::split_paths(&path));
    // uprobe_args.bpf.o probes "uprobe_target", found in PATH like libbpf does.
    std::env::set_var("PATH", std::env::join_paths(dirs).unwrap());
    let n = 20_000 * scale;
    let argv = args(&[&target, &n.to_string(), &"1"]);
    report(
        &format!(
            "uprobe: {n} calls of add_numbers, uprobe_args (uprobe + uretprobe: 2 hits a call)"
        ),
        "call",
        n,
        &[
            ("untraced", time_command(&argv, &[])),
            (
                "userbpf uprobe+uretprobe",
                Some(time_userbpf(
                    &examples.join("uprobe_args.bpf.o"),
                    &argv,
                    true,
                )),
            ),
        ],
    );
    let _ = std::fs::remove_dir_all(&dir);
}
