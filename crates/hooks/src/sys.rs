//! The system calls the hooks make: ptrace, waitpid, process_vm_readv, signals.
//!
//! Takes thread ids and raw values; gives safe wrappers returning `io::Result`. Every
//! `unsafe` block of the crate's tracing path is in this module.

use std::io;

/// `PTRACE_O_*` options.
pub const O_TRACESYSGOOD: u64 = 1;
/// Follow fork.
pub const O_TRACEFORK: u64 = 1 << 1;
/// Follow vfork.
pub const O_TRACEVFORK: u64 = 1 << 2;
/// Follow clone (threads).
pub const O_TRACECLONE: u64 = 1 << 3;
/// Stop at exec.
pub const O_TRACEEXEC: u64 = 1 << 4;
/// Stop at exit.
pub const O_TRACEEXIT: u64 = 1 << 6;
/// Stop at `SECCOMP_RET_TRACE` (`PTRACE_EVENT_SECCOMP`).
pub const O_TRACESECCOMP: u64 = 1 << 7;
/// Kill the tracees if the tracer exits.
pub const O_EXITKILL: u64 = 1 << 20;

/// `PTRACE_EVENT_*` values (status >> 16).
pub const EVENT_FORK: i32 = 1;
/// vfork event.
pub const EVENT_VFORK: i32 = 2;
/// clone event.
pub const EVENT_CLONE: i32 = 3;
/// exec event.
pub const EVENT_EXEC: i32 = 4;
/// seccomp `SECCOMP_RET_TRACE` event.
pub const EVENT_SECCOMP: i32 = 7;
/// `PTRACE_EVENT_STOP`: group-stop or interrupt of a seized tracee.
pub const EVENT_STOP: i32 = 128;

const PTRACE_SEIZE: libc::c_uint = 0x4206;
const PTRACE_INTERRUPT: libc::c_uint = 0x4207;
const PTRACE_LISTEN: libc::c_uint = 0x4208;
const PTRACE_GET_SYSCALL_INFO: libc::c_uint = 0x420e;

/// x86-64 `struct user_regs_struct` (its first 21 members are `struct pt_regs`).
pub type Regs = libc::user_regs_struct;

/// What `PTRACE_GET_SYSCALL_INFO` says about a syscall stop (a `PTRACE_EVENT_SECCOMP` stop
/// is a syscall entry).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyscallInfo {
    /// Syscall-enter stop: number and the six arguments.
    Entry {
        /// Syscall number.
        nr: u64,
        /// Arguments.
        args: [u64; 6],
    },
    /// Syscall-exit stop: the return value.
    Exit {
        /// Return value (negative errno on error).
        rval: i64,
    },
    /// Not a syscall stop.
    Other,
}

fn check(rc: libc::c_long) -> io::Result<libc::c_long> {
    if rc == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

fn ptrace(req: libc::c_uint, pid: i32, addr: u64, data: u64) -> io::Result<libc::c_long> {
    // SAFETY: every request made through this function takes integer `addr` and `data`
    // (no pointers); the kernel validates the pid and request.
    check(unsafe {
        libc::ptrace(
            req,
            pid,
            addr as *mut libc::c_void,
            data as *mut libc::c_void,
        )
    })
}

/// `PTRACE_SEIZE` with `options`.
pub fn seize(pid: i32, options: u64) -> io::Result<()> {
    ptrace(PTRACE_SEIZE, pid, 0, options).map(drop)
}

/// `PTRACE_INTERRUPT`.
pub fn interrupt(pid: i32) -> io::Result<()> {
    ptrace(PTRACE_INTERRUPT, pid, 0, 0).map(drop)
}

/// `PTRACE_LISTEN` (leave a seized tracee in its group-stop).
pub fn listen(pid: i32) -> io::Result<()> {
    ptrace(PTRACE_LISTEN, pid, 0, 0).map(drop)
}

/// `PTRACE_SYSCALL`: resume until the next syscall stop, delivering `sig`.
pub fn cont_syscall(pid: i32, sig: i32) -> io::Result<()> {
    ptrace(libc::PTRACE_SYSCALL, pid, 0, sig as u64).map(drop)
}

/// `PTRACE_CONT`: resume until the next signal or event stop, delivering `sig`.
pub fn cont(pid: i32, sig: i32) -> io::Result<()> {
    ptrace(libc::PTRACE_CONT, pid, 0, sig as u64).map(drop)
}

/// `PTRACE_DETACH`, delivering `sig`.
pub fn detach(pid: i32, sig: i32) -> io::Result<()> {
    ptrace(libc::PTRACE_DETACH, pid, 0, sig as u64).map(drop)
}

/// `PTRACE_GETEVENTMSG`.
pub fn event_msg(pid: i32) -> io::Result<u64> {
    let mut msg: libc::c_ulong = 0;
    // SAFETY: `msg` is a writable c_ulong, as PTRACE_GETEVENTMSG requires.
    check(unsafe {
        libc::ptrace(
            libc::PTRACE_GETEVENTMSG,
            pid,
            std::ptr::null_mut::<libc::c_void>(),
            &mut msg as *mut libc::c_ulong,
        )
    })?;
    Ok(msg as u64)
}

/// `PTRACE_GETREGS`.
pub fn get_regs(pid: i32) -> io::Result<Regs> {
    // SAFETY: user_regs_struct is plain integers; all-zero is valid.
    let mut regs: Regs = unsafe { std::mem::zeroed() };
    // SAFETY: `regs` is a writable user_regs_struct, as PTRACE_GETREGS requires.
    check(unsafe {
        libc::ptrace(
            libc::PTRACE_GETREGS,
            pid,
            std::ptr::null_mut::<libc::c_void>(),
            &mut regs as *mut Regs,
        )
    })?;
    Ok(regs)
}

/// `PTRACE_SETREGS`.
pub fn set_regs(pid: i32, regs: &Regs) -> io::Result<()> {
    // SAFETY: `regs` is a valid user_regs_struct the kernel only reads.
    check(unsafe {
        libc::ptrace(
            libc::PTRACE_SETREGS,
            pid,
            std::ptr::null_mut::<libc::c_void>(),
            regs as *const Regs,
        )
    })
    .map(drop)
}

/// `PTRACE_GET_SYSCALL_INFO` at a syscall stop.
pub fn syscall_info(pid: i32) -> io::Result<SyscallInfo> {
    // struct ptrace_syscall_info: op u8, pad[3], arch u32, instruction_pointer u64,
    // stack_pointer u64, then the union (entry: nr u64, args[6] u64; exit: rval s64,
    // is_error u8).
    let mut buf = [0u64; 11];
    // SAFETY: `buf` is 88 writable bytes and the size passed says so; the kernel writes at
    // most that many.
    let n = check(unsafe {
        libc::ptrace(
            PTRACE_GET_SYSCALL_INFO,
            pid,
            std::mem::size_of_val(&buf) as *mut libc::c_void,
            buf.as_mut_ptr(),
        )
    })?;
    let op = buf[0] as u8;
    Ok(match op {
        // 1: entry; 3: seccomp, whose nr and args are laid out as the entry's.
        1 | 3 if n >= 80 => SyscallInfo::Entry {
            nr: buf[3],
            args: [buf[4], buf[5], buf[6], buf[7], buf[8], buf[9]],
        },
        2 if n >= 33 => SyscallInfo::Exit {
            rval: buf[3] as i64,
        },
        _ => SyscallInfo::Other,
    })
}

/// A child state change from [`wait_any`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitStatus {
    /// Exited with a code.
    Exited(i32, i32),
    /// Killed by a signal (and whether it dumped core).
    Signaled(i32, i32, bool),
    /// Stopped: pid, raw status.
    Stopped(i32, i32),
    /// Nothing to report (interrupted by a signal).
    Interrupted,
    /// No children left.
    NoChildren,
}

fn decode(pid: i32, status: i32) -> WaitStatus {
    if libc::WIFEXITED(status) {
        WaitStatus::Exited(pid, libc::WEXITSTATUS(status))
    } else if libc::WIFSIGNALED(status) {
        WaitStatus::Signaled(pid, libc::WTERMSIG(status), libc::WCOREDUMP(status))
    } else {
        WaitStatus::Stopped(pid, status)
    }
}

/// `waitpid(pid, __WALL | __WNOTHREAD)` (pid -1: any tracee or child of this thread).
pub fn wait(pid: i32, nohang: bool) -> io::Result<Option<WaitStatus>> {
    let mut status = 0;
    // __WNOTHREAD: only this thread's children and tracees (ptrace requests must come
    // from the tracing thread; other threads may trace other processes).
    let flags = libc::__WALL | libc::__WNOTHREAD | if nohang { libc::WNOHANG } else { 0 };
    // SAFETY: `status` is a writable int.
    let rc = unsafe { libc::waitpid(pid, &mut status, flags) };
    if rc == -1 {
        let e = io::Error::last_os_error();
        return match e.raw_os_error() {
            Some(libc::EINTR) => Ok(Some(WaitStatus::Interrupted)),
            Some(libc::ECHILD) => Ok(Some(WaitStatus::NoChildren)),
            _ => Err(e),
        };
    }
    if rc == 0 {
        return Ok(None);
    }
    Ok(Some(decode(rc, status)))
}

/// Read `len` bytes at `addr` of process `pid` with `process_vm_readv`; returns the bytes
/// read (fewer than `len` when the range runs into unmapped memory).
pub fn read_memory(pid: i32, addr: u64, len: usize) -> Vec<u8> {
    let mut out = vec![0u8; len];
    let mut done = 0usize;
    while done < len {
        // Read up to the end of the current page, so that a partial read stops exactly at
        // the first unreadable page.
        let at = addr.wrapping_add(done as u64);
        let page_left = 4096 - (at % 4096) as usize;
        let want = page_left.min(len - done).max(1);
        let local = libc::iovec {
            iov_base: out[done..].as_mut_ptr().cast(),
            iov_len: want,
        };
        let remote = libc::iovec {
            iov_base: at as *mut libc::c_void,
            iov_len: want,
        };
        // SAFETY: `local` points at `want` writable bytes of `out` (done + want <= len);
        // the remote range is only read by the kernel, which checks it.
        let n = unsafe { libc::process_vm_readv(pid, &local, 1, &remote, 1, 0) };
        if n <= 0 {
            break;
        }
        done += n as usize;
        if (n as usize) < want {
            break;
        }
    }
    out.truncate(done);
    out
}

/// `tgkill(tgid, tid, sig)`.
pub fn tgkill(tgid: i32, tid: i32, sig: i32) -> io::Result<()> {
    // SAFETY: tgkill takes plain integers.
    let rc = unsafe { libc::syscall(libc::SYS_tgkill, tgid, tid, sig) };
    check(rc).map(drop)
}

/// `kill(pid, sig)`.
pub fn kill(pid: i32, sig: i32) -> io::Result<()> {
    // SAFETY: kill takes plain integers.
    let rc = unsafe { libc::kill(pid, sig) };
    check(rc as libc::c_long).map(drop)
}

/// Why a gated child did not run its command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChildFailure {
    /// `execvp` failed with this errno.
    Exec(i32),
    /// Installing the seccomp filter failed with this errno.
    Filter(i32),
}

/// Fork a child that waits for one byte on a pipe, installs `filter` (a classic BPF
/// seccomp program, when given), then `execvp(argv[0], argv)`; if the filter or the exec
/// fails, the child writes what failed and its errno on a close-on-exec pipe and exits with
/// 127. Returns the child's pid, the write end of the start pipe and the read end of the
/// error pipe.
pub fn fork_exec_gated(
    argv: &[std::ffi::CString],
    filter: Option<&[libc::sock_filter]>,
) -> io::Result<(i32, i32, i32)> {
    if argv.is_empty() {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    let mut ptrs: Vec<*const libc::c_char> = argv.iter().map(|a| a.as_ptr()).collect();
    ptrs.push(std::ptr::null());
    let fprog = match filter {
        Some(f) => Some(libc::sock_fprog {
            len: u16::try_from(f.len()).map_err(|_| io::Error::from_raw_os_error(libc::E2BIG))?,
            filter: f.as_ptr().cast_mut(),
        }),
        None => None,
    };
    let mut start = [0i32; 2];
    let mut err = [0i32; 2];
    // SAFETY: both arrays have room for two fds.
    unsafe {
        if libc::pipe2(start.as_mut_ptr(), libc::O_CLOEXEC) != 0 {
            return Err(io::Error::last_os_error());
        }
        if libc::pipe2(err.as_mut_ptr(), libc::O_CLOEXEC) != 0 {
            let e = io::Error::last_os_error();
            libc::close(start[0]);
            libc::close(start[1]);
            return Err(e);
        }
    }
    // SAFETY: after fork the child calls only async-signal-safe functions (read, prctl,
    // seccomp, execvp, write, _exit) on memory prepared before the fork.
    let pid = unsafe { libc::fork() };
    if pid == -1 {
        let e = io::Error::last_os_error();
        // SAFETY: closing our own fds.
        unsafe {
            libc::close(start[0]);
            libc::close(start[1]);
            libc::close(err[0]);
            libc::close(err[1]);
        }
        return Err(e);
    }
    if pid == 0 {
        // SAFETY: in the child; see above. The byte buffer, the filter program and argv
        // outlive these calls; the kernel copies the filter.
        unsafe {
            let mut b = 0u8;
            while libc::read(start[0], (&mut b as *mut u8).cast(), 1) == -1
                && *libc::__errno_location() == libc::EINTR
            {}
            let mut stage = 0u32;
            if let Some(prog) = fprog.as_ref() {
                stage = 1;
                let install = || {
                    libc::syscall(
                        libc::SYS_seccomp,
                        1, /* SECCOMP_SET_MODE_FILTER */
                        0,
                        prog as *const libc::sock_fprog,
                    )
                };
                let mut rc = install();
                if rc != 0 && *libc::__errno_location() == libc::EACCES {
                    // Without CAP_SYS_ADMIN a filter needs no_new_privs.
                    libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
                    rc = install();
                }
                if rc == 0 {
                    stage = 0;
                }
            }
            if stage == 0 {
                libc::execvp(ptrs[0], ptrs.as_ptr());
            }
            let errno = *libc::__errno_location() as u32;
            let mut bytes = [0u8; 8];
            bytes[..4].copy_from_slice(&stage.to_ne_bytes());
            bytes[4..].copy_from_slice(&errno.to_ne_bytes());
            libc::write(err[1], bytes.as_ptr().cast(), 8);
            libc::_exit(127);
        }
    }
    // SAFETY: closing the child's ends in the parent.
    unsafe {
        libc::close(start[0]);
        libc::close(err[1]);
    }
    Ok((pid, start[1], err[0]))
}

/// Write one byte to `fd` and close it (releases a gated child).
pub fn release(fd: i32) {
    // SAFETY: `fd` is a pipe write end we own; writing one byte from a local is valid.
    unsafe {
        let b = 0u8;
        libc::write(fd, (&b as *const u8).cast(), 1);
        libc::close(fd);
    }
}

/// What a gated child wrote on the error pipe (None if its exec succeeded), and close the
/// pipe. Call after the child is gone or has exec'd.
pub fn exec_error(fd: i32) -> Option<ChildFailure> {
    let mut bytes = [0u8; 8];
    // SAFETY: `bytes` is 8 writable bytes; `fd` is our pipe read end, closed once here.
    let n = unsafe {
        let n = libc::read(fd, bytes.as_mut_ptr().cast(), 8);
        libc::close(fd);
        n
    };
    if n != 8 {
        return None;
    }
    let stage = u32::from_ne_bytes(bytes[..4].try_into().ok()?);
    let errno = i32::from_ne_bytes(bytes[4..].try_into().ok()?);
    Some(if stage == 1 {
        ChildFailure::Filter(errno)
    } else {
        ChildFailure::Exec(errno)
    })
}

/// Install `handler` for SIGINT and SIGTERM without SA_RESTART, so that a blocking
/// waitpid returns EINTR.
pub fn on_stop_signals(handler: extern "C" fn(libc::c_int)) {
    for sig in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: sigaction is plain data; the handler is an extern "C" fn that only
        // touches atomics (the caller's contract).
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = handler as usize;
            libc::sigemptyset(&mut sa.sa_mask);
            sa.sa_flags = 0;
            libc::sigaction(sig, &sa, std::ptr::null_mut());
        }
    }
}

/// The text of `/proc/PID/status`, `None` when the process is gone.
pub fn proc_status(pid: i32) -> Option<String> {
    std::fs::read_to_string(format!("/proc/{pid}/status")).ok()
}

/// The first value of field `key` (with its colon, e.g. `"Tgid:"`) in `status`, the text
/// of `/proc/PID/status`.
pub fn status_field<T: std::str::FromStr>(status: &str, key: &str) -> Option<T> {
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

/// CLOCK_MONOTONIC in nanoseconds (the runtime's clock, the one `bpf_ktime_get_ns` reads).
pub fn monotonic_ns() -> u64 {
    userbpf_runtime::kernel_helpers::basic::clock_ns(libc::CLOCK_MONOTONIC)
}

/// `PTRACE_SINGLESTEP`, delivering `sig`.
pub fn single_step(pid: i32, sig: i32) -> io::Result<()> {
    ptrace(libc::PTRACE_SINGLESTEP, pid, 0, sig as u64).map(drop)
}

thread_local! {
    /// The `/proc/PID/mem` last written, kept open (see [`forget_memory`]).
    static MEM: std::cell::RefCell<Option<(i32, std::fs::File)>> =
        const { std::cell::RefCell::new(None) };
}

/// Write `bytes` at `addr` of process `pid` through `/proc/PID/mem`, which (for its tracer)
/// writes read-only private mappings too, copying the page on write as a debugger's
/// breakpoint needs. The file stays open for the next write to the same process until
/// [`forget_memory`] (a failed write is tried once more with the file opened again).
pub fn write_memory(pid: i32, addr: u64, bytes: &[u8]) -> io::Result<()> {
    use std::os::unix::fs::FileExt;
    MEM.with(|mem| {
        let mut mem = mem.borrow_mut();
        if let Some((p, file)) = mem.as_ref() {
            if *p == pid && file.write_all_at(bytes, addr).is_ok() {
                return Ok(());
            }
        }
        *mem = None;
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(format!("/proc/{pid}/mem"))?;
        file.write_all_at(bytes, addr)?;
        *mem = Some((pid, file));
        Ok(())
    })
}

/// Close the `/proc/PID/mem` kept open for `pid`: call when its memory changes owner (exec:
/// the open file still names the old address space) or the process is gone.
pub fn forget_memory(pid: i32) {
    MEM.with(|mem| {
        let mut mem = mem.borrow_mut();
        if mem.as_ref().is_some_and(|(p, _)| *p == pid) {
            *mem = None;
        }
    });
}

/// Make thread `tid` (in a signal-delivery stop, not in a syscall) execute syscall `nr`
/// with `args` by single-stepping the `syscall` instruction found at `syscall_insn`, then
/// put its registers back as they were. Returns the syscall's result (a negative errno on
/// failure). A signal arriving meanwhile is queued again for the thread.
///
/// # Errors
/// A ptrace request failed, or the thread exited.
pub fn inject_syscall(
    tgid: i32,
    tid: i32,
    syscall_insn: u64,
    nr: u64,
    args: [u64; 6],
) -> io::Result<i64> {
    let saved = get_regs(tid)?;
    let mut r = saved;
    r.rax = nr;
    r.orig_rax = u64::MAX;
    r.rdi = args[0];
    r.rsi = args[1];
    r.rdx = args[2];
    r.r10 = args[3];
    r.r8 = args[4];
    r.r9 = args[5];
    r.rip = syscall_insn;
    set_regs(tid, &r)?;
    let mut pending_signal = None;
    let result = loop {
        single_step(tid, 0)?;
        match wait(tid, false)? {
            Some(WaitStatus::Stopped(_, status)) => {
                let sig = libc::WSTOPSIG(status);
                let event = status >> 16;
                if sig == libc::SIGTRAP && event == 0 {
                    let after = get_regs(tid)?;
                    if after.rip == syscall_insn + 2 {
                        break after.rax as i64;
                    }
                    // A trap before the syscall ran: step again.
                } else if sig != libc::SIGTRAP && event == 0 && sig != (libc::SIGTRAP | 0x80) {
                    pending_signal = Some(sig);
                }
            }
            Some(WaitStatus::Interrupted) => {}
            _ => return Err(io::Error::from_raw_os_error(libc::ESRCH)),
        }
    };
    set_regs(tid, &saved)?;
    if let Some(sig) = pending_signal {
        let _ = tgkill(tgid, tid, sig);
    }
    Ok(result)
}
