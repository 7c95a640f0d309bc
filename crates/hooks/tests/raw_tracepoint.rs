//! raw_tracepoint/sys_enter with the task's pt_regs: the syscall's arguments read from the
//! registers, enforcement from a raw tracepoint (bpf_override_return with -EPERM) and
//! bpf_send_signal_thread delivered to the traced thread, which survives.

mod common;

use std::process::Command;
use std::sync::{Arc, Mutex};

use common::*;
use userbpf_hooks::env::TaskEnv;
use userbpf_hooks::syscall_hooks::{Event, SyscallHooks};
use userbpf_hooks::tracer::{TargetStatus, Tracer};
use userbpf_object::Object;
use userbpf_runtime::instance::{LoadOptions, ObjectInstance};

const PROG: &str = r#"
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

/* x86-64 struct pt_regs */
struct regs { unsigned long r15, r14, r13, r12, bp, bx, r11, r10, r9, r8, ax, cx, dx, si, di,
              orig_ax, ip, cs, flags, sp, ss; };

SEC("raw_tracepoint/sys_enter")
int guard(struct bpf_raw_tracepoint_args *ctx)
{
	struct regs *regs = (struct regs *)ctx->args[0];
	const char *name = 0;
	unsigned long flags = 0;
	char buf[32] = {};

	if (ctx->args[1] != 257) /* openat */
		return 0;
	bpf_probe_read_kernel(&name, sizeof(name), &regs->si);
	bpf_probe_read_user_str(buf, sizeof(buf), name);
	if (buf[0] == '/' && buf[1] == 'b' && buf[2] == 'l' && buf[3] == 'o' && buf[4] == 'c'
	    && buf[5] == 'k') {
		/* regs is a scalar to the verifier, as in the kernel: read through the helper */
		bpf_probe_read_kernel(&flags, sizeof(flags), &regs->dx);
		bpf_printk("blocked %s flags %lx", buf, flags);
		bpf_override_return((void *)ctx, -1 /* -EPERM */);
		bpf_send_signal_thread(10 /* SIGUSR1 */);
	}
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
"#;

const TARGET: &str = r#"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>
static volatile sig_atomic_t got;
static void on_usr1(int sig) { got++; }
int main(void) {
    signal(SIGUSR1, on_usr1);
    int fd = open("/block/me", O_RDONLY | O_CLOEXEC);
    int err = errno;
    int ok = open("/dev/null", O_RDONLY);
    printf("target: blocked %d errno %d, null %d, signals %d\n", fd, err, ok >= 0, (int)got);
    return got == 1 && fd == -1 && err == EPERM ? 0 : 1;
}
"#;

#[test]
fn raw_sys_enter_reads_registers_overrides_and_signals() {
    if Command::new("clang-19").arg("--version").output().is_err() {
        eprintln!("skipped: clang-19 is not installed");
        return;
    }
    let dir = temp_dir("raw");
    let src = dir.join("guard.bpf.c");
    std::fs::write(&src, PROG).unwrap();
    let obj = dir.join("guard.bpf.o");
    let st = Command::new("clang-19")
        .args([
            "-target",
            "bpf",
            "-O2",
            "-g",
            "-c",
            "-I/usr/include/x86_64-linux-gnu",
        ])
        .arg(&src)
        .arg("-o")
        .arg(&obj)
        .status()
        .unwrap();
    assert!(st.success());
    let exe = build_c(&dir, "target", TARGET, &[]);

    let object = Object::parse(&std::fs::read(&obj).unwrap()).unwrap();
    let env = Arc::new(TaskEnv::new());
    let instance = ObjectInstance::load(
        &object,
        &LoadOptions {
            helper_env: Some(env.clone()),
            ..Default::default()
        },
    )
    .unwrap();
    let lines = Arc::new(Mutex::new(Vec::new()));
    let l = lines.clone();
    let mut hooks = SyscallHooks::new(&instance, env, move |e| match e {
        Event::Trace(m) => l.lock().unwrap().push(m.clone()),
        Event::Trap { program, error } => panic!("{program}: {error}"),
        _ => {}
    })
    .unwrap();
    hooks.attach(&object, &instance, "guard").unwrap();
    let mut tracer = Tracer::spawn(&[exe.into()]).unwrap();
    let pid = tracer.pid();
    let outcome = tracer.run(&mut hooks).unwrap();
    drop(hooks);
    assert_eq!(outcome.status, Some(TargetStatus::Exited(0)));
    let lines = lines.lock().unwrap();
    assert_eq!(lines.len(), 1, "{lines:?}");
    let m = &lines[0];
    // O_RDONLY | O_CLOEXEC from rdx, the path from rsi.
    assert_eq!(
        String::from_utf8_lossy(&m.message),
        "blocked /block/me flags 80000"
    );
    assert_eq!(
        (m.pid as i32, m.tgid as i32, m.comm.as_str()),
        (pid, pid, "target")
    );
    let line = String::from_utf8_lossy(&m.line);
    assert!(line.contains(&format!("target-{pid}")), "{line}");
    assert!(
        line.contains("bpf_trace_printk: blocked /block/me"),
        "{line}"
    );
}
