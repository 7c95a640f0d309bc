//! # userbpf-kernel: the Linux kernel as a test oracle
//!
//! Takes raw eBPF bytecode; gives the running kernel's answers: whether its verifier accepts
//! the program ([`prog_load`], a [`ProgFd`] or a [`LoadFailure`] with errno and verifier log)
//! and what the program returns and writes when run on given data
//! ([`ProgFd::test_run`], a [`TestRunResult`] via `BPF_PROG_TEST_RUN`), maps
//! ([`map_create`], a [`MapFd`] with lookup / update / delete / iteration / pop / freeze /
//! dump), and whole objects parsed by `userbpf-object` ([`load_object`], a mini libbpf
//! giving a [`KernelObject`] with programs and maps by name). [`available`] tells
//! whether `bpf()` works here at all, so tests can print "skipped: ..." and pass.
//!
//! A thin, safe wrapper of `bpf(2)` for the differential tests and benchmarks: the raw
//! `union bpf_attr` layouts live in one module, the syscall behind one internal trait;
//! file descriptors are closed on drop. Building requests makes no syscalls.
//!
//! ```no_run
//! use userbpf_kernel::{available, prog_load, prog_type};
//! if let Err(why) = available() {
//!     println!("skipped: {why}");
//!     return;
//! }
//! // r0 = 2 (XDP_PASS); exit
//! let insns = [0xb7, 0, 0, 0, 2, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0];
//! let prog = prog_load(prog_type::XDP, &insns, "GPL", 0).unwrap();
//! assert_eq!(prog.test_run(&[0u8; 64], 1, 64).unwrap().retval, 2);
//! ```

mod attr;
mod btf;
mod load;
mod map;
mod prog;
mod ringbuf;
mod sys;

pub use btf::{btf_load, sanitize as sanitize_btf, BtfFd};
pub use load::{load_object, load_object_with_log_level, KernelLoadError, KernelObject};
pub use map::{
    is_percpu, map_create, map_type, possible_cpus, update_flags, MapCreateOptions, MapFd,
};
pub use prog::{
    prog_load, prog_load_with, prog_type, LoadFailure, LoadOptions, ProgFd, TestRunOptions,
    TestRunResult,
};

/// `r0 = 0; exit`, the probe program.
const PROBE: [u8; 16] = [0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0];

/// Whether `bpf()` can load and test-run programs here: loads `r0 = 0; exit` as an XDP
/// program and runs it once on a 14-byte packet.
///
/// # Errors
/// A one-line reason (no privilege, syscall disabled or filtered, test_run unsupported).
pub fn available() -> Result<(), String> {
    let prog = prog_load(prog_type::XDP, &PROBE, "GPL", 0).map_err(|e| {
        let what = match e.errno {
            libc::EPERM => " (needs root or CAP_BPF + CAP_NET_ADMIN)",
            libc::ENOSYS => " (kernel without CONFIG_BPF_SYSCALL, or filtered by seccomp)",
            _ => "",
        };
        format!(
            "bpf() unavailable: BPF_PROG_LOAD: {}{what}",
            std::io::Error::from_raw_os_error(e.errno)
        )
    })?;
    let run = prog
        .test_run(&[0u8; 14], 1, 64)
        .map_err(|e| format!("bpf() unavailable: BPF_PROG_TEST_RUN: {e}"))?;
    if run.retval != 0 {
        return Err(format!(
            "bpf() misbehaves: probe returned {} instead of 0",
            run.retval
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
