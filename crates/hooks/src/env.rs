//! The traced task as the programs' current task.
//!
//! Takes the task stopped at an event (set by the hook before each run); gives
//! [`TaskEnv`], a [`HelperEnv`] whose pid/tgid, uid/gid and comm are the traced task's (read
//! from `/proc` when a program asks), whose `probe_read_user` reads the task's memory with
//! `process_vm_readv`, and whose trace_printk lines are collected as [`TraceMessage`]s
//! (formatted as the kernel's trace_pipe prints them) for the caller to print.

use std::sync::Mutex;

use userbpf_runtime::kernel_helpers::basic::current_cpu;
use userbpf_runtime::kernel_helpers::env::trace_line;
use userbpf_runtime::kernel_helpers::HelperEnv;

use crate::sys;

/// One trace_printk message of a traced task.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceMessage {
    /// Thread id.
    pub pid: u32,
    /// Process id.
    pub tgid: u32,
    /// Command name.
    pub comm: String,
    /// CLOCK_MONOTONIC nanoseconds.
    pub timestamp_ns: u64,
    /// The message as the program formatted it.
    pub message: Vec<u8>,
    /// The whole trace_pipe line (`comm-pid [cpu] ..... secs.usecs: bpf_trace_printk: msg`).
    pub line: Vec<u8>,
}

#[derive(Debug, Default)]
struct Current {
    tid: i32,
    tgid: i32,
    comm: Option<[u8; 16]>,
    uid_gid: Option<u64>,
}

/// The helper environment of a traced task.
#[derive(Debug, Default)]
pub struct TaskEnv {
    current: Mutex<Current>,
    messages: Mutex<Vec<TraceMessage>>,
}

/// The command name of thread `tid` of process `tgid`, NUL-padded.
pub fn read_comm(tgid: i32, tid: i32) -> [u8; 16] {
    let mut comm = [0u8; 16];
    let path = format!("/proc/{tgid}/task/{tid}/comm");
    if let Ok(name) = std::fs::read(path) {
        let name = name.strip_suffix(b"\n").unwrap_or(&name);
        let n = name.len().min(15);
        comm[..n].copy_from_slice(&name[..n]);
    }
    comm
}

/// `(gid << 32) | uid` of thread `tid` (real ids, from /proc).
pub fn read_uid_gid(tid: i32) -> u64 {
    let Some(status) = sys::proc_status(tid) else {
        return 0;
    };
    let first = |key: &str| -> u64 { sys::status_field(&status, key).unwrap_or(0) };
    (first("Gid:") << 32) | first("Uid:")
}

impl TaskEnv {
    /// A new environment (no task yet).
    pub fn new() -> Self {
        Self::default()
    }

    /// Make thread `tid` of process `tgid` the current task.
    pub fn set_task(&self, tid: i32, tgid: i32) {
        // Facts are cached for one event only: a task may rename itself or change ids.
        let mut c = self.current.lock().unwrap_or_else(|e| e.into_inner());
        *c = Current {
            tid,
            tgid,
            comm: None,
            uid_gid: None,
        };
    }

    /// Forget cached facts of the current task (after exec or a name change).
    pub fn invalidate(&self) {
        let mut c = self.current.lock().unwrap_or_else(|e| e.into_inner());
        c.comm = None;
        c.uid_gid = None;
    }

    /// The current task: (tid, tgid).
    pub fn task(&self) -> (i32, i32) {
        let c = self.current.lock().unwrap_or_else(|e| e.into_inner());
        (c.tid, c.tgid)
    }

    /// Take the trace messages emitted since the last call.
    pub fn take_messages(&self) -> Vec<TraceMessage> {
        std::mem::take(&mut *self.messages.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

fn comm_string(comm: &[u8; 16]) -> String {
    let end = comm.iter().position(|&b| b == 0).unwrap_or(16);
    String::from_utf8_lossy(&comm[..end]).into_owned()
}

impl HelperEnv for TaskEnv {
    fn pid_tgid(&self) -> u64 {
        let (tid, tgid) = self.task();
        ((tgid as u32 as u64) << 32) | tid as u32 as u64
    }

    fn uid_gid(&self) -> u64 {
        let mut c = self.current.lock().unwrap_or_else(|e| e.into_inner());
        let tid = c.tid;
        *c.uid_gid.get_or_insert_with(|| read_uid_gid(tid))
    }

    fn comm(&self) -> [u8; 16] {
        let mut c = self.current.lock().unwrap_or_else(|e| e.into_inner());
        let (tgid, tid) = (c.tgid, c.tid);
        *c.comm.get_or_insert_with(|| read_comm(tgid, tid))
    }

    fn trace(&self, message: &[u8]) {
        let comm = self.comm();
        let (tid, tgid) = self.task();
        let now = sys::monotonic_ns();
        let line = trace_line(&comm, tid as u32, current_cpu(), now as u128, message);
        let msg = TraceMessage {
            pid: tid as u32,
            tgid: tgid as u32,
            comm: comm_string(&comm),
            timestamp_ns: now,
            message: message.strip_suffix(b"\n").unwrap_or(message).to_vec(),
            line,
        };
        self.messages
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(msg);
    }

    fn read_task_memory(&self, addr: u64, len: usize) -> Option<Vec<u8>> {
        let (tid, _) = self.task();
        if tid <= 0 {
            return None;
        }
        let bytes = sys::read_memory(tid, addr, len);
        (!bytes.is_empty()).then_some(bytes)
    }
}
