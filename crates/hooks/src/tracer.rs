//! The ptrace event loop: every thread and child of a traced process, stopped at the
//! syscalls the handler needs.
//!
//! Takes a command to spawn or a running process to attach to, and a [`Handler`]; gives
//! [`Tracer::run`], which follows forks, vforks, clones and execs (`PTRACE_SEIZE` with
//! `TRACESYSGOOD | TRACEFORK | TRACEVFORK | TRACECLONE | TRACEEXEC | TRACEEXIT`), calls the
//! handler synchronously at each syscall-enter and -exit stop (number and arguments from
//! `PTRACE_GET_SYSCALL_INFO`), applies what it asks (skip the syscall and return a value:
//! `orig_rax = -1` at entry, `rax = value` at exit), passes signals through, and detaches
//! cleanly when [`request_stop`] is called (SIGINT/SIGTERM with
//! [`install_signal_handlers`]).
//!
//! A spawned command is forked held on a pipe, seized, then released to `execvp`, so its
//! first `execve` is seen; its own syscalls before that `execve` are not reported.
//!
//! **Fast path** ([`Tracer::spawn_for`]): a spawned command installs a seccomp filter
//! ([`seccomp`]) before its `execvp` that makes only the syscalls of
//! [`Handler::traced_syscalls`] stop (`PTRACE_EVENT_SECCOMP`, taken as the syscall's entry);
//! the tracer then resumes that task with `PTRACE_SYSCALL` for the syscall's exit stop, and
//! with `PTRACE_CONT` otherwise, so other syscalls run at full speed. The filter is
//! inherited by every child and kept across exec. Since a filter cannot be taken back and
//! traced syscalls fail with `ENOSYS` in a filtered process without a tracer, the tracer
//! does not detach from a filtered command on [`request_stop`]: it removes its changes
//! (breakpoints), stops calling the handler and follows the command passively to its end;
//! the tracees are killed if the tracer dies (`PTRACE_O_EXITKILL`). A process attached to
//! with [`Tracer::attach`] cannot be given a filter: it stops at every syscall entry and
//! exit (`PTRACE_SYSCALL`).

mod seccomp;

use std::collections::HashMap;
use std::ffi::{CString, OsString};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::Arc;

use crate::error::HookError;
use crate::sys::{self, ChildFailure, Regs, SyscallInfo, WaitStatus};

const OPTIONS: u64 = sys::O_TRACESYSGOOD
    | sys::O_TRACEFORK
    | sys::O_TRACEVFORK
    | sys::O_TRACECLONE
    | sys::O_TRACEEXEC
    | sys::O_TRACEEXIT;

/// The options of a command running under the seccomp filter.
const FILTERED_OPTIONS: u64 = OPTIONS | sys::O_TRACESECCOMP | sys::O_EXITKILL;

const SYS_EXECVE: u64 = 59;
const SYS_EXECVEAT: u64 = 322;

static STOP: AtomicBool = AtomicBool::new(false);
static LEADER: AtomicI32 = AtomicI32::new(0);

/// Ask the running tracer to detach from every task and return (async-signal-safe).
pub fn request_stop() {
    STOP.store(true, Ordering::SeqCst);
    let leader = LEADER.load(Ordering::SeqCst);
    if leader > 0 {
        // Wake the tracer's waitpid: the interrupted tracee reports a stop.
        let _ = sys::interrupt(leader);
    }
}

extern "C" fn on_signal(_: libc::c_int) {
    request_stop();
}

/// Stops one tracer from another thread (see [`Tracer::stop_handle`]).
#[derive(Clone, Debug)]
pub struct StopHandle {
    flag: Arc<AtomicBool>,
    leader: i32,
}

impl StopHandle {
    /// Ask the tracer to detach from every task and return. From the tracing thread (a
    /// signal handler) the target is interrupted so the tracer notices at once; from another
    /// thread it notices at the next event of any traced task.
    pub fn stop(&self) {
        self.flag.store(true, Ordering::SeqCst);
        let _ = sys::interrupt(self.leader);
    }
}

/// Make SIGINT and SIGTERM call [`request_stop`].
pub fn install_signal_handlers() {
    sys::on_stop_signals(on_signal);
}

/// A traced thread.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Task {
    /// Thread id (the kernel's pid).
    pub tid: i32,
    /// Process id (the kernel's tgid).
    pub tgid: i32,
}

/// What a handler is told and asked at each stop.
pub trait Handler {
    /// Whether syscall-enter stops need the registers (for `pt_regs` contexts).
    fn needs_regs(&self) -> bool {
        false
    }

    /// Whether syscall-exit stops need the registers; by default as at entry.
    fn needs_exit_regs(&self) -> bool {
        self.needs_regs()
    }

    /// The syscall numbers whose entry and exit the handler needs to see; None for every
    /// syscall. Used by [`Tracer::spawn_for`]: other syscalls of a spawned command do not
    /// stop, and the handler is not called for them.
    fn traced_syscalls(&self) -> Option<Vec<u64>> {
        None
    }

    /// A syscall-enter stop. Returning `Some(value)` skips the syscall: it does not run and
    /// returns `value` (a negative errno for an error).
    fn syscall_enter(
        &mut self,
        task: Task,
        nr: u64,
        args: &[u64; 6],
        regs: Option<&Regs>,
    ) -> Option<i64>;

    /// A syscall-exit stop with the return value (as overridden at entry, if it was).
    /// Returning `Some(value)` changes the return value.
    fn syscall_exit(&mut self, task: Task, nr: u64, ret: i64, regs: Option<&Regs>) -> Option<i64>;

    /// A task's exec completed (its comm and memory changed).
    fn exec(&mut self, _task: Task) {}

    /// A task exited.
    fn exited(&mut self, _task: Task) {}

    /// A `SIGTRAP` signal stop (a breakpoint, or the end of a single step): how to resume.
    fn trap(&mut self, _task: Task) -> Resume {
        Resume::Deliver
    }

    /// `child` was created by `parent` (a thread when their tgids are equal).
    fn forked(&mut self, _parent: Task, _child: Task) {}

    /// Task `task` is about to single-step after [`Resume::SingleStep`], every other
    /// thread of its process stopped.
    fn begin_step(&mut self, _task: Task) {}

    /// The tracer attached to the running process `task` (before its first event).
    fn attached(&mut self, _task: Task) {}

    /// The tracer is about to detach from every task (all stopped): undo changes to their
    /// memory.
    fn detaching(&mut self) {}

    /// A task stopped by a `SIGTRAP` while detaching, after [`Handler::detaching`]:
    /// returns whether the trap was the handler's (then it is not delivered).
    fn detach_trap(&mut self, _task: Task) -> bool {
        false
    }
}

/// How a task resumes after [`Handler::trap`].
pub use crate::uprobes::Resume;

/// How the traced process (the spawned command, or the process attached to) ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TargetStatus {
    /// Exited with this code.
    Exited(i32),
    /// Killed by this signal.
    Signaled {
        /// The signal.
        signal: i32,
        /// A core was dumped.
        core: bool,
    },
}

/// The end of a trace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// The leader's end, if it ended while traced (or, for a spawned command, after the
    /// tracer detached).
    pub status: Option<TargetStatus>,
    /// The tracer detached on request before the target ended.
    pub detached: bool,
}

#[derive(Debug)]
struct TaskState {
    tgid: i32,
    /// The task's first stop (attach or auto-attach) has been seen.
    started: bool,
    /// The spawned command before its first execve: not reported.
    pre_exec: bool,
    /// The syscall the task is in (from its entry stop).
    nr: Option<u64>,
    /// Return value to put in rax at the exit stop of a skipped syscall.
    override_ret: Option<i64>,
}

/// What the tracer follows.
#[derive(Debug)]
pub struct Tracer {
    tasks: HashMap<i32, TaskState>,
    leader: i32,
    spawned: bool,
    exec_error_fd: Option<i32>,
    status: Option<TargetStatus>,
    argv0: String,
    stop: Arc<AtomicBool>,
    exclusive: Option<Exclusive>,
    /// The command runs under the seccomp filter: tasks not in a traced syscall resume with
    /// `PTRACE_CONT`.
    filtered: bool,
    /// Detached from the handler (after [`request_stop`] on a filtered command): stops are
    /// resumed without it until the command ends.
    passive: bool,
}

/// A thread single-stepping while the other threads of its process are held stopped.
#[derive(Debug)]
struct Exclusive {
    stepper: i32,
    tgid: i32,
    /// Threads asked to stop that have not yet.
    waiting: std::collections::HashSet<i32>,
    /// Stops of the other threads, handled once the step is done.
    held: Vec<(i32, i32)>,
    stepping: bool,
}

fn read_tgid(tid: i32) -> i32 {
    sys::proc_status(tid)
        .and_then(|s| sys::status_field(&s, "Tgid:"))
        .unwrap_or(tid)
}

fn is_stop_signal(sig: i32) -> bool {
    matches!(
        sig,
        libc::SIGSTOP | libc::SIGTSTP | libc::SIGTTIN | libc::SIGTTOU
    )
}

fn ignore_esrch(r: io::Result<()>) {
    // A tracee killed while stopped (SIGKILL) makes ptrace fail with ESRCH; its exit is
    // reported by waitpid.
    let _ = r;
}

impl Tracer {
    /// Fork and trace `argv` (`argv[0]` found in PATH), stopping at every syscall entry and
    /// exit.
    ///
    /// # Errors
    /// [`HookError::Spawn`] if the fork or seize fails.
    pub fn spawn(argv: &[OsString]) -> Result<Tracer, HookError> {
        Self::spawn_filtered(argv, None)
    }

    /// Fork and trace `argv` for `handler`: only the syscalls of
    /// [`Handler::traced_syscalls`] stop (see the module's fast path); every syscall when it
    /// says None or lists more numbers than one filter holds.
    ///
    /// # Errors
    /// As [`Tracer::spawn`].
    pub fn spawn_for(argv: &[OsString], handler: &dyn Handler) -> Result<Tracer, HookError> {
        Self::spawn_filtered(argv, handler.traced_syscalls().as_deref())
    }

    /// Fork and trace `argv`; with `traced`, only those syscall numbers stop.
    ///
    /// # Errors
    /// As [`Tracer::spawn`].
    pub fn spawn_filtered(argv: &[OsString], traced: Option<&[u64]>) -> Result<Tracer, HookError> {
        STOP.store(false, Ordering::SeqCst);
        let filter = traced.and_then(seccomp::filter);
        let filtered = filter.is_some();
        let options = if filtered { FILTERED_OPTIONS } else { OPTIONS };
        let argv0 = argv
            .first()
            .map(|a| a.to_string_lossy().into_owned())
            .unwrap_or_default();
        let spawn_err = |e: io::Error| HookError::Spawn {
            command: argv0.clone(),
            source: e,
        };
        let cargs: Vec<CString> = argv
            .iter()
            .map(|a| CString::new(a.as_bytes()))
            .collect::<Result<_, _>>()
            .map_err(|_| spawn_err(io::Error::from_raw_os_error(libc::EINVAL)))?;
        let (pid, start, err) =
            sys::fork_exec_gated(&cargs, filter.as_deref()).map_err(spawn_err)?;
        let fail = |e: io::Error| {
            let _ = sys::kill(pid, libc::SIGKILL);
            let _ = sys::wait(pid, false);
            spawn_err(e)
        };
        sys::seize(pid, options).map_err(fail)?;
        sys::interrupt(pid).map_err(fail)?;
        // The interrupt stop of the held child.
        loop {
            match sys::wait(pid, false).map_err(fail)? {
                Some(WaitStatus::Stopped(_, _)) => break,
                Some(WaitStatus::Interrupted) => continue,
                _ => return Err(fail(io::Error::from_raw_os_error(libc::ECHILD))),
            }
        }
        let mut tasks = HashMap::new();
        tasks.insert(
            pid,
            TaskState {
                tgid: pid,
                started: true,
                pre_exec: true,
                nr: None,
                override_ret: None,
            },
        );
        if filtered {
            sys::cont(pid, 0).map_err(fail)?;
        } else {
            sys::cont_syscall(pid, 0).map_err(fail)?;
        }
        sys::release(start);
        LEADER.store(pid, Ordering::SeqCst);
        Ok(Tracer {
            tasks,
            leader: pid,
            spawned: true,
            exec_error_fd: Some(err),
            status: None,
            argv0,
            stop: Arc::new(AtomicBool::new(false)),
            exclusive: None,
            filtered,
            passive: false,
        })
    }

    /// Attach to every thread of running process `pid`.
    ///
    /// # Errors
    /// [`HookError::Attach`] if the process does not exist or cannot be traced.
    pub fn attach(pid: i32) -> Result<Tracer, HookError> {
        STOP.store(false, Ordering::SeqCst);
        let attach_err = |e: io::Error| HookError::Attach { pid, source: e };
        let mut tasks: HashMap<i32, TaskState> = HashMap::new();
        // Threads created while attaching are auto-attached by their (seized) creator, or
        // found by the next pass.
        loop {
            let dir = std::fs::read_dir(format!("/proc/{pid}/task")).map_err(attach_err)?;
            let mut added = false;
            for entry in dir.flatten() {
                let Some(tid) = entry
                    .file_name()
                    .to_str()
                    .and_then(|s| s.parse::<i32>().ok())
                else {
                    continue;
                };
                if tasks.contains_key(&tid) {
                    continue;
                }
                match sys::seize(tid, OPTIONS) {
                    Ok(()) => {}
                    // Already attached by its creator's clone event.
                    Err(e) if e.raw_os_error() == Some(libc::EPERM) && !tasks.is_empty() => {}
                    Err(e) if tid == pid || tasks.is_empty() => return Err(attach_err(e)),
                    Err(_) => continue,
                }
                let _ = sys::interrupt(tid);
                tasks.insert(
                    tid,
                    TaskState {
                        tgid: pid,
                        started: false,
                        pre_exec: false,
                        nr: None,
                        override_ret: None,
                    },
                );
                added = true;
            }
            if !added {
                break;
            }
        }
        LEADER.store(pid, Ordering::SeqCst);
        Ok(Tracer {
            tasks,
            leader: pid,
            spawned: false,
            exec_error_fd: None,
            status: None,
            argv0: String::new(),
            stop: Arc::new(AtomicBool::new(false)),
            exclusive: None,
            filtered: false,
            passive: false,
        })
    }

    /// The pid of the spawned command or of the process attached to.
    pub fn pid(&self) -> i32 {
        self.leader
    }

    /// A handle that stops this tracer from another thread.
    pub fn stop_handle(&self) -> StopHandle {
        StopHandle {
            flag: self.stop.clone(),
            leader: self.leader,
        }
    }

    /// Trace until every traced task is gone or [`request_stop`] (or a [`StopHandle`]) is
    /// called.
    ///
    /// # Errors
    /// [`HookError::Trace`] for a failing waitpid; [`HookError::Exec`] when the spawned
    /// command could not be executed.
    pub fn run(&mut self, handler: &mut dyn Handler) -> Result<Outcome, HookError> {
        let mut detached = false;
        if !self.spawned {
            handler.attached(Task {
                tid: self.leader,
                tgid: self.leader,
            });
        }
        loop {
            if !self.passive && (STOP.load(Ordering::SeqCst) || self.stop.load(Ordering::SeqCst)) {
                self.detach_all(handler);
                detached = true;
                if !self.passive {
                    break;
                }
            }
            if self.tasks.is_empty() {
                break;
            }
            let st = sys::wait(-1, false).map_err(HookError::Trace)?;
            match st {
                None | Some(WaitStatus::Interrupted) => continue,
                Some(WaitStatus::NoChildren) => break,
                Some(WaitStatus::Exited(pid, code)) => {
                    self.gone(pid, TargetStatus::Exited(code), handler);
                    self.exclusive_gone(pid, handler);
                }
                Some(WaitStatus::Signaled(pid, signal, core)) => {
                    self.gone(pid, TargetStatus::Signaled { signal, core }, handler);
                    self.exclusive_gone(pid, handler);
                }
                Some(WaitStatus::Stopped(pid, status)) if self.passive => {
                    self.passive_stop(pid, status, handler);
                }
                Some(WaitStatus::Stopped(pid, status)) => {
                    if !self.hold(pid, status, handler) {
                        let stepped = self
                            .exclusive
                            .as_ref()
                            .is_some_and(|x| x.stepper == pid && x.stepping);
                        let sig = libc::WSTOPSIG(status);
                        let event = (status >> 16) & 0xffff;
                        if stepped && event == sys::EVENT_STOP {
                            // A pending interrupt stopped the step before it ran.
                            ignore_esrch(sys::single_step(pid, 0));
                            continue;
                        }
                        if stepped && event == 0 && sig != libc::SIGTRAP {
                            // A signal: deliver it, still stepping.
                            ignore_esrch(sys::single_step(pid, sig));
                            continue;
                        }
                        self.stopped(pid, status, handler);
                        if stepped {
                            self.end_exclusive(handler);
                        }
                    }
                }
            }
        }
        LEADER.store(0, Ordering::SeqCst);
        if detached && self.spawned && self.status.is_none() {
            // Our child goes on untraced: wait for it, so its status is ours.
            loop {
                match sys::wait(self.leader, false) {
                    Ok(Some(WaitStatus::Exited(_, code))) => {
                        self.status = Some(TargetStatus::Exited(code));
                        break;
                    }
                    Ok(Some(WaitStatus::Signaled(_, signal, core))) => {
                        self.status = Some(TargetStatus::Signaled { signal, core });
                        break;
                    }
                    Ok(Some(WaitStatus::Interrupted)) | Ok(Some(WaitStatus::Stopped(..))) => {}
                    _ => break,
                }
            }
        }
        if let Some(fd) = self.exec_error_fd.take() {
            // Reads EOF once the child exec'd (the pipe is close-on-exec), and closes it.
            let failure = sys::exec_error(fd);
            if self.status == Some(TargetStatus::Exited(127)) {
                match failure {
                    Some(ChildFailure::Exec(errno)) => {
                        return Err(HookError::Exec {
                            command: self.argv0.clone(),
                            source: io::Error::from_raw_os_error(errno),
                        })
                    }
                    Some(ChildFailure::Filter(errno)) => {
                        let e = io::Error::from_raw_os_error(errno);
                        return Err(HookError::Spawn {
                            command: self.argv0.clone(),
                            source: io::Error::new(
                                e.kind(),
                                format!("installing the seccomp filter: {e}"),
                            ),
                        });
                    }
                    None => {}
                }
            }
        }
        Ok(Outcome {
            status: self.status,
            detached,
        })
    }

    /// Stop the other threads of `task`'s process, then single-step it.
    fn start_exclusive(&mut self, task: Task, handler: &mut dyn Handler) {
        let waiting: std::collections::HashSet<i32> = self
            .tasks
            .iter()
            .filter(|(&tid, t)| t.tgid == task.tgid && tid != task.tid)
            .map(|(&tid, _)| tid)
            .collect();
        for &tid in &waiting {
            let _ = sys::interrupt(tid);
        }
        self.exclusive = Some(Exclusive {
            stepper: task.tid,
            tgid: task.tgid,
            waiting,
            held: Vec::new(),
            stepping: false,
        });
        self.maybe_step(handler);
    }

    fn maybe_step(&mut self, handler: &mut dyn Handler) {
        let Some(x) = self.exclusive.as_mut() else {
            return;
        };
        if x.waiting.is_empty() && !x.stepping {
            x.stepping = true;
            let task = Task {
                tid: x.stepper,
                tgid: x.tgid,
            };
            handler.begin_step(task);
            if sys::single_step(task.tid, 0).is_err() {
                self.end_exclusive(handler);
            }
        }
    }

    /// A stop of a thread held during another's single step: keep it for later.
    fn hold(&mut self, pid: i32, status: i32, handler: &mut dyn Handler) -> bool {
        let Some(x) = self.exclusive.as_mut() else {
            return false;
        };
        if pid == x.stepper {
            return false;
        }
        let tgid = self
            .tasks
            .get(&pid)
            .map_or_else(|| read_tgid(pid), |t| t.tgid);
        if tgid != x.tgid {
            return false;
        }
        x.waiting.remove(&pid);
        x.held.push((pid, status));
        self.maybe_step(handler);
        true
    }

    fn exclusive_gone(&mut self, pid: i32, handler: &mut dyn Handler) {
        let Some(x) = self.exclusive.as_mut() else {
            return;
        };
        if pid == x.stepper {
            self.end_exclusive(handler);
        } else {
            x.waiting.remove(&pid);
            x.held.retain(|&(p, _)| p != pid);
            self.maybe_step(handler);
        }
    }

    /// The step is done: handle the held stops (which resumes their threads).
    fn end_exclusive(&mut self, handler: &mut dyn Handler) {
        let Some(x) = self.exclusive.take() else {
            return;
        };
        let mut rest = x.held.into_iter();
        while let Some((pid, status)) = rest.next() {
            self.stopped(pid, status, handler);
            if let Some(next) = self.exclusive.as_mut() {
                // That stop began another thread's step: the others stay held for it.
                for (p, st) in rest.by_ref() {
                    next.waiting.remove(&p);
                    next.held.push((p, st));
                }
            }
        }
        self.maybe_step(handler);
    }

    fn gone(&mut self, pid: i32, how: TargetStatus, handler: &mut dyn Handler) {
        let task = self.tasks.remove(&pid);
        if let Some(t) = task.filter(|_| !self.passive) {
            handler.exited(Task {
                tid: pid,
                tgid: t.tgid,
            });
        }
        if pid == self.leader {
            self.status = Some(how);
        }
    }

    fn new_task(&mut self, tid: i32) -> &mut TaskState {
        self.tasks.entry(tid).or_insert_with(|| TaskState {
            tgid: read_tgid(tid),
            started: false,
            pre_exec: false,
            nr: None,
            override_ret: None,
        })
    }

    fn stopped(&mut self, pid: i32, status: i32, handler: &mut dyn Handler) {
        let sig = libc::WSTOPSIG(status);
        let event = (status >> 16) & 0xffff;
        if self.first_stop(pid, sig, event) {
            return;
        }
        if sig == (libc::SIGTRAP | 0x80) || (sig == libc::SIGTRAP && event == sys::EVENT_SECCOMP) {
            self.syscall_stop(pid, handler);
            return;
        }
        if sig == libc::SIGTRAP && event == 0 {
            let tgid = self.tasks.get(&pid).map_or(pid, |t| t.tgid);
            let r = match handler.trap(Task { tid: pid, tgid }) {
                Resume::Continue => self.resume(pid, 0),
                Resume::SingleStep => {
                    self.start_exclusive(Task { tid: pid, tgid }, handler);
                    Ok(())
                }
                Resume::Deliver => self.resume(pid, sig),
            };
            ignore_esrch(r);
            return;
        }
        if sig == libc::SIGTRAP && event != 0 {
            match event {
                sys::EVENT_FORK | sys::EVENT_VFORK | sys::EVENT_CLONE => {
                    if let Ok(child) = sys::event_msg(pid) {
                        let child = child as i32;
                        let parent = Task {
                            tid: pid,
                            tgid: self.tasks.get(&pid).map_or(pid, |t| t.tgid),
                        };
                        let child_tgid = self.new_task(child).tgid;
                        handler.forked(
                            parent,
                            Task {
                                tid: child,
                                tgid: child_tgid,
                            },
                        );
                    }
                }
                sys::EVENT_EXEC => {
                    self.exec_renames(pid);
                    let tgid = self.tasks.get(&pid).map_or(pid, |t| t.tgid);
                    handler.exec(Task { tid: pid, tgid });
                }
                _ => {}
            }
            ignore_esrch(self.resume(pid, 0));
            return;
        }
        if event == sys::EVENT_STOP {
            if is_stop_signal(sig) {
                // A group-stop: stay stopped until SIGCONT, still traced.
                ignore_esrch(sys::listen(pid));
            } else {
                ignore_esrch(self.resume(pid, 0));
            }
            return;
        }
        // A signal-delivery-stop: deliver it.
        ignore_esrch(self.resume(pid, sig));
    }

    /// The first stop of a task (attach or auto-attach): resume it; returns whether the
    /// stop was that.
    fn first_stop(&mut self, pid: i32, sig: i32, event: i32) -> bool {
        let task = self.new_task(pid);
        if task.started {
            return false;
        }
        task.started = true;
        if event == sys::EVENT_STOP || sig == libc::SIGSTOP {
            ignore_esrch(self.resume(pid, 0));
            return true;
        }
        false
    }

    /// An exec event of `pid`: a thread other than the leader that exec'd now has the
    /// leader's id; the spawned command's own code is done.
    fn exec_renames(&mut self, pid: i32) {
        if let Ok(former) = sys::event_msg(pid) {
            let former = former as i32;
            if former != pid {
                if let Some(state) = self.tasks.remove(&former) {
                    self.tasks.insert(pid, state);
                }
            }
        }
        if let Some(t) = self.tasks.get_mut(&pid) {
            t.pre_exec = false;
        }
    }

    /// Resume `pid` after a stop: `PTRACE_SYSCALL` while the tracer needs its next syscall
    /// stop (every syscall without the filter; with it, the exit of the traced syscall the
    /// task is in), else `PTRACE_CONT`.
    fn resume(&self, pid: i32, sig: i32) -> io::Result<()> {
        let in_traced_syscall = self.tasks.get(&pid).is_some_and(|t| t.nr.is_some());
        if !self.filtered || (in_traced_syscall && !self.passive) {
            sys::cont_syscall(pid, sig)
        } else {
            sys::cont(pid, sig)
        }
    }

    /// A stop after the handler was let go ([`Tracer::detach_all`] of a filtered command):
    /// follow new tasks, pass signals through, resume everything else.
    fn passive_stop(&mut self, pid: i32, status: i32, handler: &mut dyn Handler) {
        let sig = libc::WSTOPSIG(status);
        let event = (status >> 16) & 0xffff;
        if self.first_stop(pid, sig, event) {
            return;
        }
        let deliver = if sig == libc::SIGTRAP && event == 0 {
            let tgid = self.tasks.get(&pid).map_or(pid, |t| t.tgid);
            // A breakpoint hit just before it was removed is not the task's signal.
            if handler.detach_trap(Task { tid: pid, tgid }) {
                0
            } else {
                sig
            }
        } else if sig == libc::SIGTRAP && event != 0 {
            match event {
                sys::EVENT_FORK | sys::EVENT_VFORK | sys::EVENT_CLONE => {
                    if let Ok(child) = sys::event_msg(pid) {
                        self.new_task(child as i32);
                    }
                }
                sys::EVENT_EXEC => self.exec_renames(pid),
                _ => {}
            }
            0
        } else if event == sys::EVENT_STOP {
            if is_stop_signal(sig) {
                ignore_esrch(sys::listen(pid));
                return;
            }
            0
        } else if sig == (libc::SIGTRAP | 0x80) {
            0
        } else {
            sig
        };
        ignore_esrch(sys::cont(pid, deliver));
    }

    fn syscall_stop(&mut self, pid: i32, handler: &mut dyn Handler) {
        let info = match sys::syscall_info(pid) {
            Ok(i) => i,
            Err(_) => {
                ignore_esrch(self.resume(pid, 0));
                return;
            }
        };
        let Some(state) = self.tasks.get_mut(&pid) else {
            ignore_esrch(self.resume(pid, 0));
            return;
        };
        let task = Task {
            tid: pid,
            tgid: state.tgid,
        };
        match info {
            SyscallInfo::Entry { nr, args } => {
                state.nr = Some(nr);
                if state.pre_exec {
                    if nr == SYS_EXECVE || nr == SYS_EXECVEAT {
                        state.pre_exec = false;
                    } else {
                        ignore_esrch(self.resume(pid, 0));
                        return;
                    }
                }
                let regs = if handler.needs_regs() {
                    sys::get_regs(pid).ok()
                } else {
                    None
                };
                if let Some(ret) = handler.syscall_enter(task, nr, &args, regs.as_ref()) {
                    let regs = match regs {
                        Some(r) => Some(r),
                        None => sys::get_regs(pid).ok(),
                    };
                    if let Some(mut r) = regs {
                        r.orig_rax = u64::MAX;
                        if sys::set_regs(pid, &r).is_ok() {
                            state.override_ret = Some(ret);
                        }
                    }
                }
            }
            SyscallInfo::Exit { rval } => {
                if state.pre_exec {
                    state.nr = None;
                    ignore_esrch(self.resume(pid, 0));
                    return;
                }
                let mut regs = None;
                let nr = match state.nr.take() {
                    Some(nr) => nr,
                    // Attached in the middle of this syscall.
                    None => match sys::get_regs(pid) {
                        Ok(r) => {
                            let nr = r.orig_rax;
                            regs = Some(r);
                            nr
                        }
                        Err(_) => u64::MAX,
                    },
                };
                let mut ret = rval;
                if let Some(value) = state.override_ret.take() {
                    ret = value;
                    set_rax(pid, &mut regs, value);
                }
                if handler.needs_exit_regs() && regs.is_none() {
                    regs = sys::get_regs(pid).ok();
                }
                if nr != u64::MAX {
                    if let Some(value) = handler.syscall_exit(task, nr, ret, regs.as_ref()) {
                        if value != ret {
                            set_rax(pid, &mut regs, value);
                        }
                    }
                }
            }
            SyscallInfo::Other => {}
        }
        ignore_esrch(self.resume(pid, 0));
    }

    /// Stop every task and detach, delivering pending signals, finishing skipped syscalls
    /// and letting the handler undo its breakpoints first.
    fn detach_all(&mut self, handler: &mut dyn Handler) {
        for &tid in self.tasks.keys() {
            let _ = sys::interrupt(tid);
        }
        // Every task stopped (or gone) before the handler restores their memory.
        let mut stopped: Vec<(i32, i32)> = Vec::new();
        let mut waiting: std::collections::HashSet<i32> = self.tasks.keys().copied().collect();
        if let Some(x) = self.exclusive.take() {
            // Held threads are stopped already.
            for (pid, status) in x.held {
                waiting.remove(&pid);
                stopped.push((pid, status));
            }
        }
        while !waiting.is_empty() {
            let st = match sys::wait(-1, false) {
                Ok(Some(s)) => s,
                _ => break,
            };
            match st {
                WaitStatus::Exited(pid, code) => {
                    waiting.remove(&pid);
                    self.tasks.remove(&pid);
                    if pid == self.leader {
                        self.status = Some(TargetStatus::Exited(code));
                    }
                }
                WaitStatus::Signaled(pid, signal, core) => {
                    waiting.remove(&pid);
                    self.tasks.remove(&pid);
                    if pid == self.leader {
                        self.status = Some(TargetStatus::Signaled { signal, core });
                    }
                }
                WaitStatus::Stopped(pid, status) => {
                    if waiting.remove(&pid) {
                        stopped.push((pid, status));
                    } else if !self.tasks.contains_key(&pid) {
                        // A new child, auto-attached while stopping: detach it as it is
                        // (keep following it when it has the filter).
                        if self.filtered {
                            self.new_task(pid).started = true;
                            let _ = sys::cont(pid, 0);
                        } else {
                            let _ = sys::detach(pid, 0);
                        }
                    }
                }
                WaitStatus::Interrupted => continue,
                WaitStatus::NoChildren => break,
            }
        }
        handler.detaching();
        for (pid, status) in stopped {
            let sig = libc::WSTOPSIG(status);
            let event = (status >> 16) & 0xffff;
            let state = self.tasks.remove(&pid);
            let tgid = state.as_ref().map_or(pid, |s| s.tgid);
            let mut deliver = 0;
            if sig == (libc::SIGTRAP | 0x80) {
                if let Some(value) = state.as_ref().and_then(|s| s.override_ret) {
                    if let Ok(SyscallInfo::Exit { .. }) = sys::syscall_info(pid) {
                        set_rax(pid, &mut None, value);
                    }
                }
            } else if sig == libc::SIGTRAP && event == 0 {
                if !handler.detach_trap(Task { tid: pid, tgid }) {
                    deliver = sig;
                }
            } else if event == 0 && sig != libc::SIGTRAP && sig != libc::SIGSTOP {
                deliver = sig;
            }
            if self.filtered {
                // Still traced, passively (see the module's fast path).
                let mut st = state.unwrap_or(TaskState {
                    tgid,
                    started: true,
                    pre_exec: false,
                    nr: None,
                    override_ret: None,
                });
                st.nr = None;
                st.override_ret = None;
                self.tasks.insert(pid, st);
                if event == sys::EVENT_STOP && is_stop_signal(sig) {
                    let _ = sys::listen(pid);
                } else {
                    let _ = sys::cont(pid, deliver);
                }
            } else {
                let _ = sys::detach(pid, deliver);
            }
        }
        if self.filtered {
            self.passive = true;
        } else {
            self.tasks.clear();
        }
    }
}

fn set_rax(pid: i32, regs: &mut Option<Regs>, value: i64) {
    if regs.is_none() {
        *regs = sys::get_regs(pid).ok();
    }
    if let Some(r) = regs.as_mut() {
        r.rax = value as u64;
        let _ = sys::set_regs(pid, r);
    }
}

/// The exit code a shell gives for `status` (128 + signal for a killed process).
pub fn exit_code(status: TargetStatus) -> i32 {
    match status {
        TargetStatus::Exited(c) => c,
        TargetStatus::Signaled { signal, .. } => 128 + signal,
    }
}
