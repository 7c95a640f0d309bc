//! userbpf's syscall-hook extension ([`Options::syscall_hook`]): programs on the syscall
//! tracepoints of `userbpf trace` may call `bpf_override_return` (58), which the kernel
//! offers only to kprobes; every other program keeps the kernel's rules.

mod common;

use std::path::Path;

use common::run;
use userbpf_object::Object;
use userbpf_verifier::object_input::{self, is_syscall_hook};
use userbpf_verifier::{verify, Options, ProgType};

const TRACEPOINT: ProgType = ProgType::Other(5);
const RAW_TRACEPOINT: ProgType = ProgType::Other(17);
const PERF_EVENT: ProgType = ProgType::Other(7);

/// `bpf_override_return(ctx, -13)`, then `bpf_send_signal(10)`.
const ENFORCE: &str = "r6 = r1\nr2 = -13\ncall 58\nr1 = 10\ncall 109\nr0 = 0\nexit";

fn hook() -> Options {
    Options {
        syscall_hook: true,
        ..Options::default()
    }
}

#[test]
fn deny_open_example_is_accepted_on_its_syscall_tracepoint() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/deny_open.bpf.o");
    let bytes = std::fs::read(&path).expect("examples/deny_open.bpf.o");
    let object = Object::parse(&bytes).expect("parse deny_open.bpf.o");
    let maps = object_input::map_infos(&object);
    let p = object.program("deny_openat").expect("program deny_openat");
    let input = object_input::input_for(p, &maps);
    assert!(
        input.options.syscall_hook,
        "{} is a syscall hook",
        p.section
    );
    if let Err(e) = verify(&input) {
        panic!("rejected at {}: {}", e.insn, e.message);
    }
    // The kernel's rules (no syscall hook): override_return is for kprobes only.
    let mut kernel_rules = input;
    kernel_rules.options.syscall_hook = false;
    let err = verify(&kernel_rules).expect_err("kernel rules reject override_return");
    assert_eq!(
        err.message,
        "program of this type cannot use helper bpf_override_return#58"
    );
}

#[test]
fn enforcement_helpers_on_syscall_hooks_only() {
    run(ENFORCE, TRACEPOINT, &[], hook()).expect("tracepoint on the syscall hook");
    run(ENFORCE, RAW_TRACEPOINT, &[], hook()).expect("raw tracepoint on the syscall hook");
    for (pt, opts) in [
        (TRACEPOINT, Options::default()),
        (RAW_TRACEPOINT, Options::default()),
        // The option does not widen other program types.
        (PERF_EVENT, hook()),
        (ProgType::Xdp, hook()),
    ] {
        let err = run(ENFORCE, pt, &[], opts).expect_err("override_return refused");
        assert_eq!(
            err.message, "program of this type cannot use helper bpf_override_return#58",
            "{pt:?}"
        );
    }
    // A helper outside the extension stays refused on the hook.
    let err = run("r1 = 0\ncall 9\nr0 = 0\nexit", TRACEPOINT, &[], hook()).unwrap_err();
    assert!(err.message.contains("cannot use helper"), "{}", err.message);
}

#[test]
fn syscall_hook_sections() {
    for s in [
        "tracepoint/syscalls/sys_enter_openat",
        "tp/syscalls/sys_exit_read",
        "raw_tracepoint/sys_enter",
        "raw_tp/sys_exit",
        "?tp/syscalls/sys_enter_openat",
    ] {
        assert!(is_syscall_hook(s), "{s}");
    }
    for s in [
        "tracepoint/sched/sched_switch",
        "tracepoint/syscalls/",
        "tracepoint/syscalls/sys_enter_",
        "raw_tracepoint/sched_switch",
        "kprobe/do_sys_open",
        "xdp",
    ] {
        assert!(!is_syscall_hook(s), "{s}");
    }
}
