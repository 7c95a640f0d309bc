//! What helpers know of the world around a program: the current task and the trace output.
//!
//! Takes nothing; gives [`HelperEnv`], implemented by [`LocalEnv`] (the calling process, for
//! `userbpf run` and embedding) and later by the tracing hooks (the traced task), and
//! [`TraceSink`], where trace_printk lines go.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Where trace_printk lines go.
#[derive(Clone, Debug)]
pub enum TraceSink {
    /// Standard error.
    Stderr,
    /// Standard output.
    Stdout,
    /// Collected in memory (tests, embedding applications).
    Buffer(Arc<Mutex<Vec<u8>>>),
    /// Dropped.
    Discard,
}

/// The task a program runs for, and where its trace output goes.
pub trait HelperEnv: Send + Sync {
    /// `(tgid << 32) | pid`, as bpf_get_current_pid_tgid returns it.
    fn pid_tgid(&self) -> u64;
    /// `(gid << 32) | uid`.
    fn uid_gid(&self) -> u64;
    /// The task's command name, NUL-padded.
    fn comm(&self) -> [u8; 16];
    /// Emit one trace_printk message (without header); the env adds the trace_pipe header.
    fn trace(&self, message: &[u8]);
    /// Read memory of the task's address space outside the run's regions (a traced process);
    /// None when this env has no such address space. May return fewer than `len` bytes when
    /// the range runs into unreadable memory (strings are read up to there).
    fn read_task_memory(&self, _addr: u64, _len: usize) -> Option<Vec<u8>> {
        None
    }
}

/// The calling process as the current task.
#[derive(Debug)]
pub struct LocalEnv {
    sink: TraceSink,
    start: Instant,
}

impl LocalEnv {
    /// Trace output to `sink`.
    pub fn new(sink: TraceSink) -> Self {
        LocalEnv {
            sink,
            start: Instant::now(),
        }
    }
}

impl Default for LocalEnv {
    fn default() -> Self {
        LocalEnv::new(TraceSink::Stderr)
    }
}

fn current_comm() -> [u8; 16] {
    let mut comm = [0u8; 16];
    if let Ok(name) = std::fs::read_to_string("/proc/self/comm") {
        let b = name.trim_end().as_bytes();
        let n = b.len().min(15);
        comm[..n].copy_from_slice(&b[..n]);
    }
    comm
}

/// Format a trace_pipe line: `comm-pid [cpu] ..... secs.usecs: bpf_trace_printk: message`.
pub fn trace_line(comm: &[u8; 16], pid: u32, cpu: u32, nanos: u128, message: &[u8]) -> Vec<u8> {
    let end = comm.iter().position(|&b| b == 0).unwrap_or(16);
    let comm = String::from_utf8_lossy(&comm[..end]);
    let mut line = format!(
        "{:>16}-{:<7} [{:03}] ..... {:>5}.{:06}: bpf_trace_printk: ",
        comm,
        pid,
        cpu,
        nanos / 1_000_000_000,
        (nanos / 1000) % 1_000_000
    )
    .into_bytes();
    line.extend_from_slice(message);
    if !message.ends_with(b"\n") {
        line.push(b'\n');
    }
    line
}

impl HelperEnv for LocalEnv {
    fn pid_tgid(&self) -> u64 {
        // SAFETY: getpid and gettid have no preconditions.
        let (tgid, tid) = unsafe { (libc::getpid() as u64, libc::gettid() as u64) };
        (tgid << 32) | tid
    }

    fn uid_gid(&self) -> u64 {
        // SAFETY: getuid and getgid have no preconditions.
        let (uid, gid) = unsafe { (libc::getuid() as u64, libc::getgid() as u64) };
        (gid << 32) | uid
    }

    fn comm(&self) -> [u8; 16] {
        current_comm()
    }

    fn trace(&self, message: &[u8]) {
        let line = trace_line(
            &self.comm(),
            self.pid_tgid() as u32,
            super::basic::current_cpu(),
            self.start.elapsed().as_nanos(),
            message,
        );
        match &self.sink {
            TraceSink::Stderr => {
                let _ = std::io::stderr().write_all(&line);
            }
            TraceSink::Stdout => {
                let _ = std::io::stdout().write_all(&line);
            }
            TraceSink::Buffer(b) => {
                if let Ok(mut b) = b.lock() {
                    b.extend_from_slice(&line);
                }
            }
            TraceSink::Discard => {}
        }
    }
}
