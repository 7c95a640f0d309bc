//! Programs attached to syscalls: tracepoint and raw tracepoint contexts, the enforcement
//! helpers, and the programs' output.
//!
//! Takes an [`ObjectInstance`] loaded with a [`TaskEnv`] and the names of its programs;
//! gives [`SyscallHooks`], a tracer [`Handler`] that at each syscall stop builds the
//! context of every program attached there and runs it synchronously:
//!
//! - `tracepoint/syscalls/sys_enter_NAME` and `sys_exit_NAME` (`tp/...`): the kernel's
//!   syscall record ([`crate::record`]), `common_type` the event id from tracefs (0 without);
//! - `raw_tracepoint/sys_enter` and `sys_exit` (`raw_tp/...`): `bpf_raw_tracepoint_args`
//!   with a pointer to the task's `pt_regs` and the syscall id / return value.
//!
//! Programs get the kernel helpers acting for the traced task, and the enforcement helpers:
//! `bpf_override_return(ctx, rc)` (58) skips the syscall at entry and makes it return `rc`
//! (at exit it replaces the return value), `bpf_send_signal(sig)` (109) signals the task's
//! process and `bpf_send_signal_thread(sig)` (117) the thread. After each event the trace
//! messages, ring buffer records and perf event records go to the output callback, in the
//! order trace messages, ring buffers, perf event arrays.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use userbpf_object::{AttachTarget, Object, ProgramSpec};
use userbpf_runtime::helpers::Helpers;
use userbpf_runtime::instance::ObjectInstance;
use userbpf_runtime::kernel_helpers::{self, ids};
use userbpf_runtime::maps::{Map, MapType};

use crate::env::{TaskEnv, TraceMessage};
use crate::error::HookError;
use crate::record;
use crate::sys::{self, Regs};
use crate::syscalls::{self, Side};
use crate::trace_engine::{EngineKind, HookRunner};
use crate::tracefs;
use crate::tracer::{Handler, Resume, Task};
use crate::uprobes::{self, Uprobes};

const EINVAL: u64 = (-22i64) as u64;

/// Output of the attached programs.
#[derive(Debug)]
pub enum Event<'a> {
    /// A trace_printk / trace_vprintk message.
    Trace(&'a TraceMessage),
    /// A ring buffer record.
    Ringbuf {
        /// The map's name.
        map: &'a str,
        /// The record.
        data: &'a [u8],
    },
    /// A perf event array record.
    PerfEvent {
        /// The map's name.
        map: &'a str,
        /// The slot (CPU) it was written to.
        cpu: u32,
        /// The record.
        data: &'a [u8],
    },
    /// A program stopped with an error (the event goes on as if it had returned 0).
    Trap {
        /// The program.
        program: &'a str,
        /// The error.
        error: String,
    },
}

/// What the enforcement helpers asked during one run.
#[derive(Debug, Default)]
struct RunState {
    override_ret: Option<i64>,
    /// `bpf_get_func_ip` of the current uprobe run.
    func_ip: u64,
    /// The system-wide mode: CLOCK_MONOTONIC time of the event being handled, which
    /// `bpf_ktime_get_ns` gives (the events are handled after they happened).
    event_time: Option<u64>,
}

struct TpProgram {
    prog: HookRunner,
    common_type: u16,
    nargs: usize,
}

/// Where a program is attached.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SyscallAttach {
    /// A syscall tracepoint: side and syscall number.
    Tracepoint {
        /// Enter or exit.
        side: Side,
        /// Syscall number.
        nr: u32,
    },
    /// `raw_tracepoint/sys_enter` or `sys_exit`.
    Raw(Side),
    /// `uprobe/PATH:FUNC[+OFF]` or `uretprobe/...`.
    Uprobe {
        /// The file, as the section names it.
        path: String,
        /// The function (empty: `offset` is a file offset).
        function: String,
        /// Offset added to the function's address.
        offset: u64,
        /// A uretprobe.
        ret: bool,
    },
}

/// Where program `spec` attaches among the syscall hooks.
///
/// # Errors
/// [`HookError::Unsupported`] for other attach points (naming the program and section).
pub fn syscall_attach(spec: &ProgramSpec) -> Result<SyscallAttach, HookError> {
    let unsupported = |reason: String| HookError::Unsupported {
        program: spec.name.clone(),
        section: spec.section.clone(),
        reason,
    };
    match &spec.target {
        AttachTarget::Tracepoint { category, name } => {
            if category != "syscalls" {
                return Err(unsupported(format!(
                    "tracepoint category {category} is not traced from user space (only \
                     syscalls/sys_enter_* and sys_exit_*)"
                )));
            }
            let (side, sc) = syscalls::parse_event(name)
                .ok_or_else(|| unsupported(format!("no x86-64 syscall for event {name}")))?;
            Ok(SyscallAttach::Tracepoint { side, nr: sc.nr })
        }
        AttachTarget::RawTracepoint { name } => match name.as_str() {
            "sys_enter" => Ok(SyscallAttach::Raw(Side::Enter)),
            "sys_exit" => Ok(SyscallAttach::Raw(Side::Exit)),
            other => Err(unsupported(format!(
                "raw tracepoint {other}: only sys_enter and sys_exit are traced from user space"
            ))),
        },
        AttachTarget::Uprobe {
            path,
            function,
            offset,
            ret,
        } => Ok(SyscallAttach::Uprobe {
            path: path.clone(),
            function: function.clone(),
            offset: *offset,
            ret: *ret,
        }),
        _ => Err(unsupported(
            "not a hook of traced processes: attach tracepoint/syscalls/sys_enter_NAME, \
             tracepoint/syscalls/sys_exit_NAME, raw_tracepoint/sys_enter, \
             raw_tracepoint/sys_exit, uprobe/PATH:FUNC or uretprobe/PATH:FUNC programs"
                .to_string(),
        )),
    }
}

/// A program attached by [`SyscallHooks::attach_engine`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attached {
    /// Where it is attached.
    pub at: SyscallAttach,
    /// The engine that runs it.
    pub engine: EngineKind,
    /// A note for the user: the program runs unverified (the opt-out).
    pub note: Option<String>,
}

type Sink<'a> = Box<dyn FnMut(Event<'_>) + 'a>;

/// Programs attached to syscall stops.
pub struct SyscallHooks<'a> {
    env: Arc<TaskEnv>,
    state: Arc<Mutex<RunState>>,
    enter: HashMap<u64, Vec<TpProgram>>,
    exit: HashMap<u64, Vec<TpProgram>>,
    raw_enter: Vec<HookRunner>,
    raw_exit: Vec<HookRunner>,
    uprobes: Uprobes,
    /// The program of each probe of `uprobes`, by index.
    uprobe_progs: Vec<HookRunner>,
    outputs: Vec<(String, Arc<Map>)>,
    sink: Sink<'a>,
    /// Programs run so far.
    pub runs: u64,
}

impl std::fmt::Debug for SyscallHooks<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyscallHooks")
            .field("enter", &self.enter.len())
            .field("exit", &self.exit.len())
            .field("raw_enter", &self.raw_enter.len())
            .field("raw_exit", &self.raw_exit.len())
            .finish()
    }
}

fn state_lock(s: &Mutex<RunState>) -> std::sync::MutexGuard<'_, RunState> {
    s.lock().unwrap_or_else(|e| e.into_inner())
}

/// The helpers of syscall hooks: the kernel helpers acting for `env`, and the enforcement
/// helpers recording into `state`.
fn hook_helpers(env: &Arc<TaskEnv>, state: &Arc<Mutex<RunState>>) -> Helpers {
    let mut h = Helpers::new();
    kernel_helpers::register(&mut h, env.clone());
    let st = state.clone();
    h.register(ids::KTIME_GET_NS, "bpf_ktime_get_ns", move |_, _| {
        Ok(state_lock(&st).event_time.unwrap_or_else(sys::monotonic_ns))
    });
    let st = state.clone();
    h.register(ids::OVERRIDE_RETURN, "bpf_override_return", move |_, a| {
        state_lock(&st).override_ret = Some(a[1] as i64);
        Ok(0)
    });
    let st = state.clone();
    h.register(ids::GET_FUNC_IP, "bpf_get_func_ip", move |_, _| {
        Ok(state_lock(&st).func_ip)
    });
    let e = env.clone();
    h.register(ids::SEND_SIGNAL, "bpf_send_signal", move |_, a| {
        Ok(send_signal(&e, a[0], false))
    });
    let e = env.clone();
    h.register(
        ids::SEND_SIGNAL_THREAD,
        "bpf_send_signal_thread",
        move |_, a| Ok(send_signal(&e, a[0], true)),
    );
    h
}

fn send_signal(env: &TaskEnv, sig: u64, thread: bool) -> u64 {
    // The kernel's valid_signal: 0..=_NSIG (64).
    if sig > 64 {
        return EINVAL;
    }
    let (tid, tgid) = env.task();
    let r = if thread {
        sys::tgkill(tgid, tid, sig as i32)
    } else {
        sys::kill(tgid, sig as i32)
    };
    match r {
        Ok(()) => 0,
        Err(e) => (-(e.raw_os_error().unwrap_or(libc::EINVAL) as i64)) as u64,
    }
}

impl<'a> SyscallHooks<'a> {
    /// Hooks of `instance`, whose helpers must act for `env` (load it with
    /// `LoadOptions { helper_env: Some(env.clone()), .. }`); output goes to `sink`.
    ///
    /// # Errors
    /// Opening the perf event arrays' slots fails (a corrupt pinned map).
    pub fn new(
        instance: &ObjectInstance,
        env: Arc<TaskEnv>,
        sink: impl FnMut(Event<'_>) + 'a,
    ) -> Result<Self, HookError> {
        let mut outputs = Vec::new();
        for (name, map) in instance.maps() {
            match map.map_type() {
                MapType::Ringbuf => outputs.push((name, map)),
                MapType::PerfEventArray => {
                    map.perf_open_all().map_err(|source| {
                        HookError::Runtime(userbpf_runtime::RuntimeError::Map {
                            map: name.clone(),
                            source,
                        })
                    })?;
                    outputs.push((name, map));
                }
                _ => {}
            }
        }
        Ok(SyscallHooks {
            env,
            state: Arc::new(Mutex::new(RunState::default())),
            enter: HashMap::new(),
            exit: HashMap::new(),
            raw_enter: Vec::new(),
            raw_exit: Vec::new(),
            uprobes: Uprobes::new(),
            uprobe_progs: Vec::new(),
            outputs,
            sink: Box::new(sink),
            runs: 0,
        })
    }

    /// Attach program `name` of `instance`, loaded from `object`, by its section name, in
    /// the host's best engine once the verifier accepted it (the JIT on x86-64), as
    /// `userbpf trace` does; [`SyscallHooks::attach_engine`] chooses the engine.
    ///
    /// # Errors
    /// The program does not exist, its section is not a syscall hook, or it cannot be
    /// prepared (a helper user space lacks, a bad map reference);
    /// [`HookError::Rejected`] when the verifier rejects the program or does not model its
    /// type (see [`SyscallHooks::attach_unverified`]).
    pub fn attach(
        &mut self,
        object: &Object,
        instance: &ObjectInstance,
        name: &str,
    ) -> Result<Attached, HookError> {
        self.attach_inner(Some(object), instance, name, None)
    }

    /// The explicit opt-out of verification: attach program `name` of `instance` by its
    /// section name, run without a verifier pass in the checked interpreter (which checks
    /// every memory access at run time). [`Attached::note`] says so.
    ///
    /// # Errors
    /// As [`SyscallHooks::attach`].
    pub fn attach_unverified(
        &mut self,
        instance: &ObjectInstance,
        name: &str,
    ) -> Result<Attached, HookError> {
        self.attach_inner(None, instance, name, Some(EngineKind::Interp))
    }

    /// Attach program `name` of `instance`, loaded from `object`, by its section name, in
    /// the engine `engine` names ([`crate::trace_engine`]; None is the host's default, the
    /// JIT on x86-64), once the verifier accepted it.
    ///
    /// # Errors
    /// As [`SyscallHooks::attach`]; [`HookError::Rejected`] when the verifier rejects the
    /// program or does not model its type (see [`SyscallHooks::attach_unverified`]).
    pub fn attach_engine(
        &mut self,
        object: &Object,
        instance: &ObjectInstance,
        name: &str,
        engine: Option<EngineKind>,
    ) -> Result<Attached, HookError> {
        self.attach_inner(Some(object), instance, name, engine)
    }

    fn attach_inner(
        &mut self,
        object: Option<&Object>,
        instance: &ObjectInstance,
        name: &str,
        engine: Option<EngineKind>,
    ) -> Result<Attached, HookError> {
        let spec = instance
            .program_spec(name)
            .ok_or_else(|| userbpf_runtime::RuntimeError::NoSuchProgram(name.to_string()))?;
        let at = syscall_attach(spec)?;
        let helpers = hook_helpers(&self.env, &self.state);
        let prepared = instance.program_with(name, &helpers)?;
        let (prog, note) = match object {
            Some(object) => (
                HookRunner::select(object, prepared, engine).map_err(|reason| {
                    HookError::Rejected {
                        program: spec.name.clone(),
                        reason,
                    }
                })?,
                None,
            ),
            None => (
                HookRunner::unverified(prepared),
                Some(format!(
                    "program {name}: running without verification in the checked interpreter"
                )),
            ),
        };
        let attached = Attached {
            at: at.clone(),
            engine: prog.kind(),
            note,
        };
        match &at {
            SyscallAttach::Tracepoint { side, nr } => {
                let sc = syscalls::by_nr(*nr as u64).expect("number from the table");
                let event = match side {
                    Side::Enter => format!("sys_enter_{}", sc.event),
                    Side::Exit => format!("sys_exit_{}", sc.event),
                };
                let fmt = tracefs::event_format("syscalls", &event);
                let nargs = match (&fmt, side) {
                    (Some(f), Side::Enter) => f.size.saturating_sub(record::ARGS_OFFSET) / 8,
                    _ => sc.nargs as usize,
                };
                let tp = TpProgram {
                    prog,
                    common_type: fmt.map_or(0, |f| f.id),
                    nargs,
                };
                let table = match side {
                    Side::Enter => &mut self.enter,
                    Side::Exit => &mut self.exit,
                };
                table.entry(*nr as u64).or_default().push(tp);
            }
            SyscallAttach::Raw(Side::Enter) => self.raw_enter.push(prog),
            SyscallAttach::Raw(Side::Exit) => self.raw_exit.push(prog),
            SyscallAttach::Uprobe {
                path,
                function,
                offset,
                ret,
            } => {
                let location = uprobes::resolve(path, function, *offset).map_err(|reason| {
                    HookError::Unsupported {
                        program: spec.name.clone(),
                        section: spec.section.clone(),
                        reason,
                    }
                })?;
                self.uprobes.add(location, *ret);
                self.uprobe_progs.push(prog);
            }
        }
        Ok(attached)
    }

    /// Whether no program is attached.
    pub fn is_empty(&self) -> bool {
        self.enter.is_empty()
            && self.exit.is_empty()
            && self.raw_enter.is_empty()
            && self.raw_exit.is_empty()
            && self.uprobes.is_empty()
    }

    fn run_one(&mut self, prog_index: ProgRef, ctx: &[u8], extra: Option<&[u8]>) {
        let prog = match prog_index {
            ProgRef::Enter(nr, i) => &self.enter[&nr][i].prog,
            ProgRef::Exit(nr, i) => &self.exit[&nr][i].prog,
            ProgRef::RawEnter(i) => &self.raw_enter[i],
            ProgRef::RawExit(i) => &self.raw_exit[i],
            ProgRef::Uprobe(i) => &self.uprobe_progs[i],
        };
        self.runs += 1;
        if let Err(trap) = prog.run(ctx, extra) {
            let name = prog.name().to_string();
            (self.sink)(Event::Trap {
                program: &name,
                error: trap.to_string(),
            });
        }
    }

    /// Hand the programs' output to the sink.
    pub fn drain(&mut self) {
        for m in self.env.take_messages() {
            (self.sink)(Event::Trace(&m));
        }
        for (name, map) in &self.outputs {
            let sink = &mut self.sink;
            match map.map_type() {
                MapType::Ringbuf => {
                    let _ = map.ringbuf_consume(|data| sink(Event::Ringbuf { map: name, data }));
                }
                _ => {
                    for cpu in 0..map.spec().max_entries {
                        let _ = map.perf_read(cpu, |data| {
                            sink(Event::PerfEvent {
                                map: name,
                                cpu,
                                data,
                            })
                        });
                    }
                }
            }
        }
    }

    fn take_override(&self) -> Option<i64> {
        state_lock(&self.state).override_ret.take()
    }

    /// The system-wide mode ([`crate::system`]): run the programs attached at the `side`
    /// tracepoint of syscall `nr` on `record`, the record the kernel wrote at CLOCK_MONOTONIC
    /// `time` (what `bpf_ktime_get_ns` gives), as task `task`; then hand their output to the
    /// sink. Gives the number of programs run.
    pub fn run_record(
        &mut self,
        task: Task,
        (side, nr): (Side, u64),
        record: &[u8],
        time: u64,
    ) -> usize {
        let table = match side {
            Side::Enter => &self.enter,
            Side::Exit => &self.exit,
        };
        let count = table.get(&nr).map_or(0, Vec::len);
        if count == 0 {
            return 0;
        }
        self.env.set_task(task.tid, task.tgid);
        state_lock(&self.state).event_time = Some(time);
        for i in 0..count {
            let at = match side {
                Side::Enter => ProgRef::Enter(nr, i),
                Side::Exit => ProgRef::Exit(nr, i),
            };
            self.run_one(at, record, None);
        }
        state_lock(&self.state).event_time = None;
        // Too late to change the syscall: an override asked for is dropped.
        self.take_override();
        self.drain();
        count
    }

    /// The system-wide mode: run the `raw_tracepoint/sys_enter` (or `sys_exit`) programs
    /// as task `task` on `regs`, its registers at the event (CLOCK_MONOTONIC `time`);
    /// `second` is the syscall id (enter) or its return value (exit). Gives the number of
    /// programs run.
    pub fn run_raw_regs(
        &mut self,
        task: Task,
        (side, second): (Side, u64),
        regs: &Regs,
        time: u64,
    ) -> usize {
        let count = match side {
            Side::Enter => self.raw_enter.len(),
            Side::Exit => self.raw_exit.len(),
        };
        if count == 0 {
            return 0;
        }
        self.env.set_task(task.tid, task.tgid);
        let pt = record::pt_regs(regs);
        let ctx = record::raw_tp_args(pt.as_ptr() as u64, second);
        state_lock(&self.state).event_time = Some(time);
        for i in 0..count {
            let at = match side {
                Side::Enter => ProgRef::RawEnter(i),
                Side::Exit => ProgRef::RawExit(i),
            };
            self.run_one(at, &ctx, Some(&pt));
        }
        state_lock(&self.state).event_time = None;
        self.take_override();
        self.drain();
        count
    }
}

#[derive(Clone, Copy)]
enum ProgRef {
    Enter(u64, usize),
    Exit(u64, usize),
    RawEnter(usize),
    RawExit(usize),
    Uprobe(usize),
}

impl Handler for SyscallHooks<'_> {
    fn needs_regs(&self) -> bool {
        !self.raw_enter.is_empty()
    }

    fn needs_exit_regs(&self) -> bool {
        !self.raw_exit.is_empty()
    }

    fn traced_syscalls(&self) -> Option<Vec<u64>> {
        // Raw tracepoints see every syscall.
        if !self.raw_enter.is_empty() || !self.raw_exit.is_empty() {
            return None;
        }
        let mut nrs: Vec<u64> = self.enter.keys().chain(self.exit.keys()).copied().collect();
        nrs.extend_from_slice(self.uprobes.traced_syscalls());
        Some(nrs)
    }

    fn syscall_enter(
        &mut self,
        task: Task,
        nr: u64,
        args: &[u64; 6],
        regs: Option<&Regs>,
    ) -> Option<i64> {
        self.uprobes.syscall_enter(task.tid, nr, args);
        let count = self.enter.get(&nr).map_or(0, Vec::len);
        if count == 0 && self.raw_enter.is_empty() {
            return None;
        }
        self.env.set_task(task.tid, task.tgid);
        self.take_override();
        if let Some(regs) = regs {
            if !self.raw_enter.is_empty() {
                let pt = record::pt_regs(regs);
                let ctx = record::raw_tp_args(pt.as_ptr() as u64, nr);
                for i in 0..self.raw_enter.len() {
                    self.run_one(ProgRef::RawEnter(i), &ctx, Some(&pt));
                }
            }
        }
        for i in 0..count {
            let tp = &self.enter[&nr][i];
            let rec = record::sys_enter_record(tp.common_type, task.tid, nr, args, tp.nargs);
            self.run_one(ProgRef::Enter(nr, i), &rec, None);
        }
        self.drain();
        self.take_override()
    }

    fn syscall_exit(&mut self, task: Task, nr: u64, ret: i64, regs: Option<&Regs>) -> Option<i64> {
        self.uprobes.syscall_exit(task.tid, task.tgid, ret);
        let count = self.exit.get(&nr).map_or(0, Vec::len);
        if count == 0 && self.raw_exit.is_empty() {
            return None;
        }
        self.env.set_task(task.tid, task.tgid);
        self.take_override();
        if let Some(regs) = regs {
            if !self.raw_exit.is_empty() {
                let mut regs = *regs;
                regs.rax = ret as u64;
                let pt = record::pt_regs(&regs);
                let ctx = record::raw_tp_args(pt.as_ptr() as u64, ret as u64);
                for i in 0..self.raw_exit.len() {
                    self.run_one(ProgRef::RawExit(i), &ctx, Some(&pt));
                }
            }
        }
        for i in 0..count {
            let tp = &self.exit[&nr][i];
            let rec = record::sys_exit_record(tp.common_type, task.tid, nr, ret);
            self.run_one(ProgRef::Exit(nr, i), &rec, None);
        }
        self.drain();
        self.take_override()
    }

    fn exec(&mut self, task: Task) {
        let (tid, _) = self.env.task();
        if tid == task.tid {
            self.env.invalidate();
        }
        self.uprobes.exec(task.tgid);
    }

    fn exited(&mut self, task: Task) {
        let (tid, _) = self.env.task();
        if tid == task.tid {
            self.env.set_task(0, 0);
        }
        self.uprobes.exited(task.tid, task.tgid);
    }

    fn trap(&mut self, task: Task) -> Resume {
        let Ok(regs) = sys::get_regs(task.tid) else {
            return Resume::Deliver;
        };
        let (hit, pending) = match self.uprobes.trap(task.tid, task.tgid, &regs) {
            Ok(h) => h,
            Err(resume) => return resume,
        };
        if !hit.probes.is_empty() {
            self.env.set_task(task.tid, task.tgid);
            state_lock(&self.state).func_ip = hit.func_ip;
            let pt = record::pt_regs(&hit.regs);
            for i in hit.probes {
                self.run_one(ProgRef::Uprobe(i), &pt, None);
            }
            self.drain();
        }
        self.uprobes.finish(task.tgid, pending)
    }

    fn forked(&mut self, parent: Task, child: Task) {
        self.uprobes
            .forked(parent.tid, parent.tgid, child.tid, child.tgid);
    }

    fn attached(&mut self, task: Task) {
        self.uprobes.place(task.tgid);
    }

    fn begin_step(&mut self, task: Task) {
        self.uprobes.begin_step(task.tid, task.tgid);
    }

    fn detaching(&mut self) {
        self.uprobes.remove_all();
    }

    fn detach_trap(&mut self, task: Task) -> bool {
        self.uprobes.detach_trap(task.tid, task.tgid)
    }
}
