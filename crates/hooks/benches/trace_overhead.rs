//! Cost per traced syscall: a workload of N `getppid` syscalls run untraced, under
//! `strace -f -o /dev/null` (when installed), and under the userbpf tracer with
//! examples/syscount.bpf.o (a program on every syscall entry) and examples/opensnoop.bpf.o
//! (programs on openat only; every syscall still stops), in one run, printed as
//! nanoseconds per syscall and as ratios against strace.
//!
//! `cargo bench -p userbpf-hooks --bench trace_overhead [-- N]`

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use userbpf_hooks::env::TaskEnv;
use userbpf_hooks::syscall_hooks::SyscallHooks;
use userbpf_hooks::tracer::Tracer;
use userbpf_object::Object;
use userbpf_runtime::instance::{LoadOptions, ObjectInstance};

const SPIN: &str = r#"
#include <stdlib.h>
#include <unistd.h>
#include <sys/syscall.h>
int main(int argc, char **argv) {
    long n = atol(argv[1]);
    for (long i = 0; i < n; i++) syscall(SYS_getppid);
    return 0;
}
"#;

fn build_spin() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("userbpf-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("spin.c");
    std::fs::write(&src, SPIN).unwrap();
    let exe = dir.join("spin");
    let ok = Command::new("cc")
        .args(["-O2", "-o"])
        .arg(&exe)
        .arg(&src)
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(ok, "cc is needed to build the workload");
    exe
}

fn time_command(cmd: &mut Command) -> Option<Duration> {
    let start = Instant::now();
    let st = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .ok()?;
    st.success().then(|| start.elapsed())
}

fn time_userbpf(object: &Path, exe: &Path, n: u64) -> Duration {
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
        hooks.attach(&object, &instance, name).unwrap();
    }
    let start = Instant::now();
    let mut tracer = Tracer::spawn(&[exe.into(), n.to_string().into()]).unwrap();
    tracer.run(&mut hooks).unwrap();
    start.elapsed()
}

fn main() {
    let n: u64 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(200_000);
    let exe = build_spin();
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let per = |d: Duration| d.as_nanos() as f64 / n as f64;

    let base = time_command(Command::new(&exe).arg(n.to_string())).unwrap();
    let strace = time_command(
        Command::new("strace")
            .args(["-f", "-o", "/dev/null"])
            .arg(&exe)
            .arg(n.to_string()),
    );
    let syscount = time_userbpf(&examples.join("syscount.bpf.o"), &exe, n);
    let opensnoop = time_userbpf(&examples.join("opensnoop.bpf.o"), &exe, n);

    println!("workload: {n} getppid syscalls");
    println!("  untraced                 {:>9.1} ns/syscall", per(base));
    match strace {
        Some(s) => println!("  strace -f                {:>9.1} ns/syscall", per(s)),
        None => println!("  strace -f                (strace not installed)"),
    }
    for (name, d) in [
        ("userbpf syscount (raw_tp)", syscount),
        ("userbpf opensnoop (tp)", opensnoop),
    ] {
        let overhead = per(d) - per(base);
        let vs = strace
            .map(|s| format!("{:.2}x strace's overhead", overhead / (per(s) - per(base))))
            .unwrap_or_default();
        println!(
            "  {name:<24} {:>9.1} ns/syscall  (+{overhead:.1} ns; {vs})",
            per(d)
        );
    }
}
