//! System-wide mode: the syscall tracepoints of every process on the machine, through perf
//! events, each record run through the attached programs in userbpf.
//!
//! Takes the attach points of programs attached to a [`SyscallHooks`]
//! (`tracepoint/syscalls/sys_{enter,exit}_NAME`, and `raw_tracepoint/sys_{enter,exit}`, which
//! map to the `raw_syscalls` tracepoints); gives [`SystemTrace`], which opens each
//! tracepoint on every online CPU ([`perf`]: `perf_event_open` with `pid = -1`, one ring
//! buffer per CPU), and [`SystemTrace::run`], which reads the records as they arrive, in
//! time order across CPUs, and runs the programs of each on it:
//!
//! - a syscall tracepoint's program gets the record the kernel wrote (common header,
//!   `__syscall_nr`, the arguments or `ret`), byte for byte;
//! - a raw tracepoint's program gets `bpf_raw_tracepoint_args` with a pointer to the task's
//!   `pt_regs`, from the user registers the kernel sampled (`orig_rax` the syscall id);
//! - the helpers act for the task of the record ([`crate::env::TaskEnv`]): pid/tgid from
//!   the sample (0 for tasks outside userbpf's pid namespace), comm and uid/gid from `/proc`, `bpf_probe_read_user` through
//!   `process_vm_readv` on that task while it exists (after it exited, the helper fails
//!   with -EFAULT as the kernel's does on a bad address), `bpf_get_smp_processor_id` the
//!   record's CPU, `bpf_ktime_get_ns` the record's time.
//!
//! Records are handled after the event, not during it: programs cannot change what the
//! syscall does (programs calling `bpf_override_return` are refused; `bpf_send_signal`
//! signals the task a moment later) and read the task's memory as it is then. userbpf's
//! own syscalls are skipped, and kept out of the rings by a tracepoint filter on its thread
//! ids as the kernel knows them (`common_pid`, learnt from its first own record, so that it
//! holds in any pid namespace). Uprobes need the ptrace mode.
//! Records the kernel dropped because a ring was full are counted and reported.

pub mod perf;

use std::collections::HashMap;
use std::os::fd::OwnedFd;
use std::process::{Child, ExitStatus};
use std::sync::atomic::{AtomicBool, Ordering};

use userbpf_object::{AttachTarget, ProgramSpec};
use userbpf_runtime::kernel_helpers::ids;
use userbpf_runtime::maps::cpu::set_current_cpu;

use crate::error::HookError;
use crate::sys::{self, Regs};
use crate::syscall_hooks::{syscall_attach, SyscallAttach, SyscallHooks};
use crate::syscalls::{self, Side};
use crate::tracefs;
use crate::tracer::Task;
use perf::{Record, Ring, Sample};

/// Data pages of each CPU's ring buffer (1 MiB with 4 KiB pages).
const RING_PAGES: usize = 256;
/// Where tracefs is mounted when it is not mounted yet.
const TRACEFS_DIR: &str = "/sys/kernel/tracing";

/// Why the system-wide mode cannot run.
#[derive(Debug, thiserror::Error)]
pub enum SystemError {
    /// Not root.
    #[error("--system needs root (perf_event_open of tracepoints for every process, and tracefs)")]
    NotRoot,
    /// tracefs is not mounted and could not be mounted.
    #[error("--system needs tracefs: not mounted, and mounting it at {dir} failed: {source}")]
    NoTracefs {
        /// Where it was mounted.
        dir: String,
        /// mount's error.
        source: std::io::Error,
    },
    /// tracefs does not describe an event.
    #[error("tracefs has no event {0} (is the kernel built with syscall tracepoints?)")]
    NoEvent(String),
    /// A perf event could not be opened or set up.
    #[error("perf_event_open of {event} on CPU {cpu}: {source}")]
    Open {
        /// The tracepoint.
        event: String,
        /// The CPU.
        cpu: u32,
        /// The kernel's error.
        source: std::io::Error,
    },
    /// Reading the online CPUs or polling failed.
    #[error("{what}: {source}")]
    Io {
        /// What failed.
        what: &'static str,
        /// The error.
        source: std::io::Error,
    },
}

/// Where program `spec` attaches in the system-wide mode.
///
/// # Errors
/// [`HookError::Unsupported`] for uprobes (they need the ptrace mode), for programs that
/// call `bpf_override_return` (a record is handled after its syscall ran), and for what
/// [`syscall_attach`] refuses.
pub fn system_attach(spec: &ProgramSpec) -> Result<SyscallAttach, HookError> {
    let unsupported = |reason: &str| HookError::Unsupported {
        program: spec.name.clone(),
        section: spec.section.clone(),
        reason: reason.to_string(),
    };
    if matches!(spec.target, AttachTarget::Uprobe { .. }) {
        return Err(unsupported(
            "uprobes are not traced system-wide: they need the ptrace mode (drop --system and \
             give -p PID or -- CMD)",
        ));
    }
    if calls_helper(&spec.code, ids::OVERRIDE_RETURN) {
        return Err(unsupported(
            "bpf_override_return needs the ptrace mode: system-wide, the programs run on each \
             record after its syscall ran (drop --system)",
        ));
    }
    syscall_attach(spec)
}

/// Whether `code` calls helper `id`.
fn calls_helper(code: &[u8], id: u32) -> bool {
    code.chunks_exact(8).any(|i| {
        // call imm with src_reg 0: a helper call.
        i[0] == 0x85 && i[1] >> 4 == 0 && i32::from_le_bytes([i[4], i[5], i[6], i[7]]) == id as i32
    })
}

/// What a tracepoint event stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Point {
    /// `syscalls/sys_{enter,exit}_NAME`.
    Tracepoint { side: Side, nr: u64 },
    /// `raw_syscalls/sys_{enter,exit}`.
    Raw(Side),
}

/// Counts of a system-wide trace.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Records handled (programs run on them).
    pub records: u64,
    /// Records the kernel dropped (a ring was full).
    pub lost: u64,
    /// Records of userbpf itself, skipped.
    pub own: u64,
}

/// What [`SystemTrace::run`] tells as it goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Notice {
    /// The kernel dropped records of this CPU (its ring was full).
    Lost {
        /// The CPU.
        cpu: u32,
        /// How many.
        records: u64,
    },
    /// Something the user should know (a filter the kernel refused).
    Note(String),
}

/// How [`SystemTrace::run`] ended.
#[derive(Debug)]
pub enum End {
    /// SIGINT or SIGTERM ([`install_signal_handlers`]); the command, if any, was still
    /// running (it is left running).
    Stopped,
    /// The command exited.
    CommandExited(ExitStatus),
}

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
}

/// Make SIGINT and SIGTERM stop [`SystemTrace::run`] (after it handled the records
/// already written).
pub fn install_signal_handlers() {
    sys::on_stop_signals(on_signal);
}

/// The events of one CPU.
#[derive(Debug)]
struct CpuRing {
    cpu: u32,
    /// The ring, owned by the first event opened on this CPU.
    ring: Ring,
    /// The other events, writing into the ring.
    others: Vec<OwnedFd>,
    /// Lost records reported so far (by `PERF_RECORD_LOST`).
    reported_lost: u64,
}

impl CpuRing {
    fn fds(&self) -> impl Iterator<Item = &OwnedFd> {
        std::iter::once(self.ring.fd()).chain(&self.others)
    }
}

/// The syscall tracepoints of every process, opened on every online CPU.
#[derive(Debug)]
pub struct SystemTrace {
    /// Each online CPU's ring and events.
    cpus: Vec<CpuRing>,
    /// Whether the events count their lost samples ([`perf::lost_samples`]).
    lost_counted: bool,
    /// Event id (`common_type`) to attach point.
    points: HashMap<u16, Point>,
    own_pid: u32,
    /// userbpf's thread ids as the kernel knows them, learnt from its own records.
    own_tids: Vec<u32>,
    /// Why the filter on `own_tids` could not be set, if it could not.
    filter_refused: Option<String>,
    /// Samples read but not yet handled (newer than the last time cut), oldest first.
    pending: Vec<Sample>,
    /// Counts so far.
    pub stats: Stats,
}

/// The online CPUs (`/sys/devices/system/cpu/online`, e.g. `0-3,6`).
pub fn online_cpus() -> std::io::Result<Vec<u32>> {
    let text = std::fs::read_to_string("/sys/devices/system/cpu/online")?;
    parse_cpu_list(text.trim()).ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("cannot parse the CPU list {text:?}"),
        )
    })
}

fn parse_cpu_list(text: &str) -> Option<Vec<u32>> {
    let mut cpus = Vec::new();
    for part in text.split(',').filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b): (u32, u32) = (a.parse().ok()?, b.parse().ok()?);
                if b < a || b - a > 1 << 16 {
                    return None;
                }
                cpus.extend(a..=b);
            }
            None => cpus.push(part.parse().ok()?),
        }
    }
    (!cpus.is_empty()).then_some(cpus)
}

/// The tracefs event of `point`: (category, name).
fn event_of(point: Point) -> (&'static str, String) {
    match point {
        Point::Tracepoint { side, nr } => {
            let event = syscalls::by_nr(nr).map_or("?", |s| s.event);
            let name = match side {
                Side::Enter => format!("sys_enter_{event}"),
                Side::Exit => format!("sys_exit_{event}"),
            };
            ("syscalls", name)
        }
        Point::Raw(Side::Enter) => ("raw_syscalls", "sys_enter".into()),
        Point::Raw(Side::Exit) => ("raw_syscalls", "sys_exit".into()),
    }
}

/// tracefs, mounted at [`TRACEFS_DIR`] if it is not mounted yet.
fn ensure_tracefs() -> Result<(), SystemError> {
    if tracefs::root().is_some() {
        return Ok(());
    }
    perf::mount_tracefs(TRACEFS_DIR).map_err(|source| SystemError::NoTracefs {
        dir: TRACEFS_DIR.into(),
        source,
    })?;
    if tracefs::root().is_none() {
        return Err(SystemError::NoTracefs {
            dir: TRACEFS_DIR.into(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no events directory"),
        });
    }
    Ok(())
}

impl SystemTrace {
    /// Open the tracepoints of `attached` (as [`system_attach`] gave them) on every online
    /// CPU. Needs root and tracefs (mounted at /sys/kernel/tracing if it is not).
    ///
    /// # Errors
    /// [`SystemError`] naming what is missing or which event the kernel refused.
    pub fn open(attached: &[SyscallAttach]) -> Result<SystemTrace, SystemError> {
        if perf::euid() != 0 {
            return Err(SystemError::NotRoot);
        }
        ensure_tracefs()?;
        let mut points: Vec<Point> = Vec::new();
        for a in attached {
            let p = match a {
                SyscallAttach::Tracepoint { side, nr } => Point::Tracepoint {
                    side: *side,
                    nr: u64::from(*nr),
                },
                SyscallAttach::Raw(side) => Point::Raw(*side),
                SyscallAttach::Uprobe { .. } => continue,
            };
            if !points.contains(&p) {
                points.push(p);
            }
        }
        let regs_user = points.iter().any(|p| matches!(p, Point::Raw(_)));
        let cpus = online_cpus().map_err(|source| SystemError::Io {
            what: "reading /sys/devices/system/cpu/online",
            source,
        })?;
        let mut ids = HashMap::new();
        let mut events = Vec::new();
        for &p in &points {
            let (category, name) = event_of(p);
            let fmt = tracefs::event_format(category, &name)
                .ok_or_else(|| SystemError::NoEvent(format!("{category}/{name}")))?;
            ids.insert(fmt.id, p);
            events.push((format!("{category}/{name}"), fmt.id));
        }
        let mut trace = SystemTrace {
            cpus: Vec::new(),
            lost_counted: true,
            points: ids,
            own_pid: std::process::id(),
            own_tids: Vec::new(),
            filter_refused: None,
            pending: Vec::new(),
            stats: Stats::default(),
        };
        for &cpu in &cpus {
            let mut leader: Option<CpuRing> = None;
            for (event, id) in &events {
                let open_err = |source| SystemError::Open {
                    event: event.clone(),
                    cpu,
                    source,
                };
                let mut fd =
                    perf::open_tracepoint(u64::from(*id), cpu, regs_user, trace.lost_counted);
                if trace.lost_counted
                    && fd.as_ref().err().and_then(std::io::Error::raw_os_error)
                        == Some(libc::EINVAL)
                {
                    // Before Linux 6.0: no lost-sample counter.
                    trace.lost_counted = false;
                    fd = perf::open_tracepoint(u64::from(*id), cpu, regs_user, false);
                }
                let fd = fd.map_err(open_err)?;
                match &mut leader {
                    None => {
                        leader = Some(CpuRing {
                            cpu,
                            ring: Ring::new(fd, RING_PAGES, regs_user).map_err(open_err)?,
                            others: Vec::new(),
                            reported_lost: 0,
                        })
                    }
                    Some(c) => {
                        perf::set_output(&fd, c.ring.fd()).map_err(open_err)?;
                        c.others.push(fd);
                    }
                }
            }
            trace.cpus.extend(leader);
        }
        Ok(trace)
    }

    /// Read every ring; samples older than `cut` (every one with None) are handled, in time
    /// order, the others kept for the next call. Lost-record counts go to `on_notice`.
    fn collect(
        &mut self,
        hooks: &mut SyscallHooks<'_>,
        cut: Option<u64>,
        on_notice: &mut dyn FnMut(Notice),
    ) {
        let mut fresh = Vec::new();
        for c in &mut self.cpus {
            let cpu = c.cpu;
            let mut lost = 0;
            c.ring.read(|rec| match rec {
                Record::Sample(s) => fresh.push(s),
                Record::Lost(n) => {
                    lost += n;
                    on_notice(Notice::Lost { cpu, records: n });
                }
            });
            c.reported_lost += lost;
            self.stats.lost += lost;
        }
        self.pending.append(&mut fresh);
        // Each ring is in time order; a thread that moved between CPUs between its syscall's
        // entry and exit has them in two rings.
        self.pending.sort_by_key(|s| s.time);
        let ready = match cut {
            Some(cut) => self.pending.partition_point(|s| s.time <= cut),
            None => self.pending.len(),
        };
        let batch: Vec<Sample> = self.pending.drain(..ready).collect();
        for s in &batch {
            self.handle(hooks, s, on_notice);
        }
    }

    /// Keep userbpf's own syscalls out of the rings: a filter on `common_pid` (the kernel's
    /// tid, not the one of userbpf's pid namespace) of every thread seen so far.
    fn exclude_own(&mut self, s: &Sample, on_notice: &mut dyn FnMut(Notice)) {
        let Some(tid) = s
            .raw
            .get(4..8)
            .map(|b| u32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
        else {
            return;
        };
        if self.own_tids.contains(&tid) || self.filter_refused.is_some() {
            return;
        }
        self.own_tids.push(tid);
        let filter = self
            .own_tids
            .iter()
            .map(|t| format!("common_pid != {t}"))
            .collect::<Vec<_>>()
            .join(" && ");
        for fd in self.cpus.iter().flat_map(CpuRing::fds) {
            if let Err(e) = perf::set_filter(fd, &filter) {
                let why = format!(
                    "the tracepoint filter keeping userbpf's own syscalls out was refused \
                     ({e}); they are skipped in user space, and the rings read every 10 ms"
                );
                on_notice(Notice::Note(why.clone()));
                self.filter_refused = Some(why);
                return;
            }
        }
    }

    fn handle(
        &mut self,
        hooks: &mut SyscallHooks<'_>,
        s: &Sample,
        on_notice: &mut dyn FnMut(Notice),
    ) {
        if s.pid == self.own_pid {
            self.stats.own += 1;
            self.exclude_own(s, on_notice);
            return;
        }
        let Some(point) = s
            .raw
            .get(0..2)
            .and_then(|t| self.points.get(&u16::from_ne_bytes([t[0], t[1]])))
        else {
            return;
        };
        self.stats.records += 1;
        set_current_cpu(s.cpu);
        let task = Task {
            tid: s.tid as i32,
            tgid: s.pid as i32,
        };
        match *point {
            Point::Tracepoint { side, nr } => {
                hooks.run_record(task, (side, nr), &s.raw, s.time);
            }
            Point::Raw(side) => {
                // raw_syscalls records: `long id` at 8, then `args[6]` (enter) or `long ret`.
                let word = |at: usize| {
                    s.raw
                        .get(at..at + 8)
                        .map_or(0, |b| u64::from_ne_bytes(b.try_into().unwrap_or([0; 8])))
                };
                let id = word(8);
                let second = match side {
                    Side::Enter => id,
                    Side::Exit => word(16),
                };
                let regs = regs_of(s.regs.as_deref(), id);
                hooks.run_raw_regs(task, (side, second), &regs, s.time);
            }
        }
    }

    /// Handle records as they arrive until SIGINT/SIGTERM ([`install_signal_handlers`]) or,
    /// with `command`, until it exits; then handle every record left. `on_notice` is told
    /// of records the kernel dropped, and of a filter it refused.
    ///
    /// # Errors
    /// poll or waiting for the command failed.
    pub fn run(
        &mut self,
        hooks: &mut SyscallHooks<'_>,
        mut command: Option<&mut Child>,
        on_notice: &mut dyn FnMut(Notice),
    ) -> Result<End, SystemError> {
        let end = loop {
            if STOP.load(Ordering::SeqCst) {
                break End::Stopped;
            }
            if let Some(child) = command.as_deref_mut() {
                let status = child.try_wait().map_err(|source| SystemError::Io {
                    what: "waiting for the command",
                    source,
                })?;
                if let Some(status) = status {
                    break End::CommandExited(status);
                }
            }
            let fds: Vec<&OwnedFd> = self.cpus.iter().map(|c| c.ring.fd()).collect();
            perf::poll(&fds, 100).map_err(|source| SystemError::Io {
                what: "poll of the perf rings",
                source,
            })?;
            // Records of other CPUs stamped up to now are written by the time their ring
            // is read (a record is complete before its task goes on).
            let cut = sys::monotonic_ns();
            self.collect(hooks, Some(cut), on_notice);
            if self.filter_refused.is_some() {
                // userbpf's own poll would wake it again at once (raw_syscalls): pace the
                // reads instead of spinning.
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
        };
        let end = match (end, command) {
            // The signal may have reached the command too (Ctrl-C): give it a moment.
            (End::Stopped, Some(child)) => {
                let mut status = None;
                for _ in 0..10 {
                    status = child.try_wait().ok().flatten();
                    if status.is_some() {
                        break;
                    }
                    std::thread::sleep(std::time::Duration::from_millis(10));
                }
                status.map_or(End::Stopped, End::CommandExited)
            }
            (end, _) => end,
        };
        self.collect(hooks, None, on_notice);
        self.report_unreported_lost(on_notice);
        Ok(end)
    }

    /// The kernel reports lost records only once it writes again to the ring: the counts of
    /// the last burst come from the events' counters.
    fn report_unreported_lost(&mut self, on_notice: &mut dyn FnMut(Notice)) {
        if !self.lost_counted {
            on_notice(Notice::Note(
                "this kernel (before 6.0) has no lost-sample counters: records lost at the \
                 very end may go unreported"
                    .into(),
            ));
            return;
        }
        for c in &mut self.cpus {
            let counted: u64 = c.fds().filter_map(|fd| perf::lost_samples(fd).ok()).sum();
            if counted > c.reported_lost {
                let records = counted - c.reported_lost;
                c.reported_lost = counted;
                self.stats.lost += records;
                on_notice(Notice::Lost {
                    cpu: c.cpu,
                    records,
                });
            }
        }
    }
}

/// `user_regs_struct` from the sampled user registers ([`perf::REGS_MASK`] order: AX BX CX
/// DX SI DI BP SP IP FLAGS CS SS R8..R15), `orig_rax` the syscall id.
fn regs_of(sampled: Option<&[u64; perf::NREGS]>, id: u64) -> Regs {
    let r = sampled.copied().unwrap_or([0; perf::NREGS]);
    Regs {
        r15: r[19],
        r14: r[18],
        r13: r[17],
        r12: r[16],
        rbp: r[6],
        rbx: r[1],
        r11: r[15],
        r10: r[14],
        r9: r[13],
        r8: r[12],
        rax: r[0],
        rcx: r[2],
        rdx: r[3],
        rsi: r[4],
        rdi: r[5],
        orig_rax: id,
        rip: r[8],
        cs: r[10],
        eflags: r[9],
        rsp: r[7],
        ss: r[11],
        fs_base: 0,
        gs_base: 0,
        ds: 0,
        es: 0,
        fs: 0,
        gs: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lists() {
        assert_eq!(parse_cpu_list("0-1"), Some(vec![0, 1]));
        assert_eq!(parse_cpu_list("0,2-4,7"), Some(vec![0, 2, 3, 4, 7]));
        assert_eq!(parse_cpu_list(""), None);
        assert_eq!(parse_cpu_list("3-1"), None);
        assert_eq!(parse_cpu_list("x"), None);
    }

    #[test]
    fn helper_calls_found() {
        let call = |imm: i32| {
            let mut i = vec![0x85, 0, 0, 0];
            i.extend_from_slice(&imm.to_le_bytes());
            i
        };
        let mut code = call(1);
        assert!(!calls_helper(&code, 58));
        code.extend(call(58));
        assert!(calls_helper(&code, 58));
        // A call to a subprogram (src 1) with the same imm is not a helper call.
        let mut sub = call(58);
        sub[1] = 0x10;
        assert!(!calls_helper(&sub, 58));
    }

    #[test]
    fn regs_from_sample_order() {
        let mut s = [0u64; perf::NREGS];
        for (i, v) in s.iter_mut().enumerate() {
            *v = i as u64 + 1;
        }
        let r = regs_of(Some(&s), 257);
        assert_eq!((r.rax, r.rdi, r.r8, r.r15, r.orig_rax), (1, 6, 13, 20, 257));
        assert_eq!((r.rip, r.rsp, r.eflags), (9, 8, 10));
    }
}
