//! The kernel helpers without maps: results and trace output as the kernel gives them.

use std::sync::{Arc, Mutex};

use userbpf_isa::{asm, Program};
use userbpf_runtime::kernel_helpers::{self, LocalEnv, TraceSink};
use userbpf_runtime::{Helpers, Interpreter};

fn run_with_trace(src: &str, input: &mut [u8]) -> (u64, String) {
    let buffer = Arc::new(Mutex::new(Vec::new()));
    let mut helpers = Helpers::new();
    kernel_helpers::register(
        &mut helpers,
        Arc::new(LocalEnv::new(TraceSink::Buffer(buffer.clone()))),
    );
    let program = Program::from_insns(asm::assemble(src).expect("assemble"));
    let vm = Interpreter::new(&program, &helpers).expect("load");
    let r0 = vm.run_raw(input).expect("run");
    let text = String::from_utf8(buffer.lock().unwrap().clone()).unwrap();
    (r0, text)
}

#[test]
fn trace_printk_formats_like_the_kernel() {
    // The format string "x=%d y=%x\n" is on the stack; args 42 and 255.
    let fmt = b"x=%d y=%x\n\0";
    let mut src = String::new();
    for (i, chunk) in fmt.chunks(1).enumerate() {
        src.push_str(&format!("*(u8 *)(r10 - {}) = {}\n", 16 - i, chunk[0]));
    }
    src.push_str("r1 = r10\nr1 += -16\nr2 = 11\nr3 = 42\nr4 = 255\ncall 6\nexit\n");
    let (r0, text) = run_with_trace(&src, &mut []);
    assert_eq!(r0, 10, "trace_printk returns the message length");
    assert!(
        text.ends_with(": bpf_trace_printk: x=42 y=ff\n"),
        "{text:?}"
    );
}

#[test]
fn trace_printk_refuses_bad_formats() {
    let fmt = b"%f\0";
    let mut src = String::new();
    for (i, b) in fmt.iter().enumerate() {
        src.push_str(&format!("*(u8 *)(r10 - {}) = {}\n", 8 - i, b));
    }
    src.push_str("r1 = r10\nr1 += -8\nr2 = 3\ncall 6\nexit\n");
    let (r0, text) = run_with_trace(&src, &mut []);
    assert_eq!(r0 as i64, -22);
    assert!(text.is_empty());
}

#[test]
fn time_and_identity_helpers() {
    let (t1, _) = run_with_trace("call 5\nexit", &mut []);
    let (t2, _) = run_with_trace("call 5\nexit", &mut []);
    assert!(t2 >= t1 && t1 > 0);
    let (pid_tgid, _) = run_with_trace("call 14\nexit", &mut []);
    assert_eq!(pid_tgid >> 32, std::process::id() as u64);
    let (cpu, _) = run_with_trace("call 8\nexit", &mut []);
    assert!(cpu < 4096);
}

#[test]
fn probe_read_str_copies_and_terminates() {
    // Read the input string into the stack, return the length including NUL.
    let src = "r3 = r1\nr1 = r10\nr1 += -16\nr2 = 16\ncall 115\nexit";
    let mut input = *b"hello\0world";
    let (r0, _) = run_with_trace(src, &mut input);
    assert_eq!(r0, 6);
    // Faulting address: -EFAULT.
    let src = "r3 = 0x10 ll\nr1 = r10\nr1 += -16\nr2 = 16\ncall 115\nexit";
    let (r0, _) = run_with_trace(src, &mut []);
    assert_eq!(r0 as i64, -14);
}

#[test]
fn get_current_comm_is_nul_terminated() {
    let src = "r1 = r10\nr1 += -16\nr2 = 16\ncall 16\nr0 = *(u64 *)(r10 - 16)\nexit";
    let (r0, _) = run_with_trace(src, &mut []);
    let bytes = r0.to_le_bytes();
    let comm = std::fs::read_to_string("/proc/self/comm").unwrap();
    let expect = comm.trim_end().as_bytes();
    assert_eq!(
        &bytes[..expect.len().min(8)],
        &expect[..expect.len().min(8)]
    );
}
