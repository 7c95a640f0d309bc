//! uprobes and uretprobes as int3 breakpoints in traced processes.
//!
//! Takes `uprobe/PATH:FUNC[+OFF]` and `uretprobe/...` targets; gives [`Uprobes`], the
//! breakpoint bookkeeping the syscall hooks drive from the tracer's stops:
//!
//! - **Resolution**: FUNC is looked up in the ELF symbol tables (`.symtab`, then `.dynsym`)
//!   of PATH (a bare library name such as `libc.so.6` is searched in the usual library
//!   directories, as libbpf does) and turned into a file offset through the `PT_LOAD`
//!   segment holding it.
//! - **Placement**: every executable mapping of that file (`/proc/PID/maps`, matched by path
//!   or by inode) gets an `int3` at the probe's address, written through `/proc/PID/mem`
//!   (the page is copied on write, like a debugger's). Breakpoints are placed when a process
//!   is attached, after each exec, and after each `mmap`/`mprotect` that maps code (shared
//!   libraries loaded by ld.so or dlopen); a forked child inherits its parent's copies,
//!   which are recorded for it.
//! - **Hits**: at the `SIGTRAP` of a breakpoint the programs run with the task's
//!   `struct pt_regs` (`ip` the probed address), then the displaced instruction is executed:
//!   emulated when it is one of the usual function-entry instructions (`endbr64`, `nop`,
//!   `push reg`, `mov $imm32, reg`, register-to-register `mov`, and the control transfers
//!   `call rel32` (pushing the original return address), `jmp rel32/rel8`, `ret`: no extra
//!   trap); else executed out of line, as the kernel's uprobes: on the first such hit in a process the
//!   stopped thread is made to `mmap` a read+exec page (hinted 4 MiB below the probe, so
//!   RIP-relative operands stay in reach), and each instruction gets a slot there (written
//!   through `/proc/PID/mem`) holding a copy of it (RIP-relative operands re-encoded for
//!   the slot) and a `jmp [rip+0]` back to the next original instruction; the task
//!   continues in the slot, with the `int3` left in place for every other thread. Other
//!   control transfers (`jcc`, indirect ones), instructions out of reach or beyond the page's slots are single-stepped
//!   instead: the original byte restored, every other thread of the process stopped
//!   meanwhile, and the `int3` re-inserted. A forked child inherits the page; an exec
//!   drops it (a new one is mapped at the next hit).
//! - **Returns**: at entry of a function with a uretprobe the return address on the stack
//!   is replaced by the function's own (breakpointed) entry address; when the function
//!   returns there with the stack pointer just above the replaced slot, the uretprobe
//!   programs run with `ip` the real return address and `ax` the return value, and the task
//!   continues at the real return address. Frames skipped by `longjmp` are dropped.
//! - **Detach**: original bytes and return addresses are restored, and a thread stopped at
//!   a breakpoint is moved back to the instruction (or to the real return address).

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use object::{Object, ObjectSegment, ObjectSymbol};

use crate::sys::{self, Regs};

/// Where a uprobe is: the file and the offset in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProbeLocation {
    /// The file (absolute, canonical).
    pub file: PathBuf,
    /// Its inode.
    pub inode: u64,
    /// File offset of the probed instruction.
    pub file_offset: u64,
    /// Virtual address of the probed instruction in the file (its `st_value` + offset).
    pub vaddr: u64,
}

/// Directories searched for a library given by name only.
const LIB_DIRS: &[&str] = &[
    "/lib/x86_64-linux-gnu",
    "/usr/lib/x86_64-linux-gnu",
    "/lib64",
    "/usr/lib64",
    "/lib",
    "/usr/lib",
    "/usr/local/lib",
];

/// The file a uprobe's PATH names: itself when it contains a `/`, else a library of that
/// name in the usual directories, else a program of that name in `PATH`.
pub fn find_file(path: &str) -> Option<PathBuf> {
    if path.contains('/') {
        return std::fs::canonicalize(path).ok();
    }
    let dirs = LIB_DIRS.iter().map(PathBuf::from).chain(
        std::env::var_os("PATH")
            .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
            .unwrap_or_default(),
    );
    for dir in dirs {
        let candidate = dir.join(path);
        if candidate.is_file() {
            return std::fs::canonicalize(candidate).ok();
        }
    }
    None
}

/// Resolve `function` (+`offset`) in ELF file `path` (or `offset` alone as a file offset
/// when `function` is empty).
///
/// # Errors
/// A readable message: the file is missing or not ELF, or has no such symbol.
pub fn resolve(path: &str, function: &str, offset: u64) -> Result<ProbeLocation, String> {
    use std::os::unix::fs::MetadataExt;
    let file = find_file(path).ok_or_else(|| format!("{path}: no such file"))?;
    let inode = std::fs::metadata(&file)
        .map_err(|e| format!("{}: {e}", file.display()))?
        .ino();
    let data = std::fs::read(&file).map_err(|e| format!("{}: {e}", file.display()))?;
    let elf = object::File::parse(&*data)
        .map_err(|e| format!("{}: not an ELF file: {e}", file.display()))?;
    if function.is_empty() {
        let vaddr = elf
            .segments()
            .find_map(|s| {
                let (off, size) = s.file_range();
                (offset >= off && offset < off + size).then(|| s.address() + offset - off)
            })
            .unwrap_or(offset);
        return Ok(ProbeLocation {
            file,
            inode,
            file_offset: offset,
            vaddr,
        });
    }
    let matches = |name: &str| name == function || name.split('@').next() == Some(function);
    let sym = elf
        .symbols()
        .chain(elf.dynamic_symbols())
        .filter(|s| s.is_definition() && s.address() != 0)
        .find(|s| s.name().is_ok_and(matches))
        .ok_or_else(|| format!("{}: no symbol {function}", file.display()))?;
    let vaddr = sym.address() + offset;
    let file_offset = elf
        .segments()
        .find_map(|s| {
            let (off, size) = s.file_range();
            (vaddr >= s.address() && vaddr < s.address() + size).then(|| vaddr - s.address() + off)
        })
        .ok_or_else(|| {
            format!(
                "{}: symbol {function} at {vaddr:#x} is in no loaded segment",
                file.display()
            )
        })?;
    Ok(ProbeLocation {
        file,
        inode,
        file_offset,
        vaddr,
    })
}

/// One executable mapping of a file.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Mapping {
    start: u64,
    end: u64,
    offset: u64,
    inode: u64,
    path: String,
}

fn exec_mappings(tgid: i32) -> Vec<Mapping> {
    let Ok(text) = std::fs::read_to_string(format!("/proc/{tgid}/maps")) else {
        return Vec::new();
    };
    text.lines().filter_map(parse_maps_line).collect()
}

fn parse_maps_line(line: &str) -> Option<Mapping> {
    let mut it = line.split_ascii_whitespace();
    let range = it.next()?;
    let perms = it.next()?;
    let offset = u64::from_str_radix(it.next()?, 16).ok()?;
    let _dev = it.next()?;
    let inode: u64 = it.next()?.parse().ok()?;
    let path = it.collect::<Vec<_>>().join(" ");
    if perms.as_bytes().get(2) != Some(&b'x') || inode == 0 {
        return None;
    }
    let (s, e) = range.split_once('-')?;
    Some(Mapping {
        start: u64::from_str_radix(s, 16).ok()?,
        end: u64::from_str_radix(e, 16).ok()?,
        offset,
        inode,
        path,
    })
}

/// A probe: where, and whether it is a return probe. The caller keeps the programs, by the
/// probe's index.
#[derive(Clone, Debug)]
pub struct Probe {
    /// Where it is.
    pub location: ProbeLocation,
    /// A uretprobe.
    pub ret: bool,
}

#[derive(Clone, Debug)]
struct Breakpoint {
    /// The original bytes at the address (the first is replaced by int3).
    insn: [u8; 16],
    /// The uprobes placed here (indices into [`Uprobes::probes`]).
    entry: Vec<usize>,
    /// The uretprobes placed here.
    rets: Vec<usize>,
}

#[derive(Clone, Debug, Default)]
struct Process {
    bps: HashMap<u64, Breakpoint>,
    /// The execute-out-of-line page, once mapped (inherited by a fork, gone at exec).
    xol: Option<Xol>,
    /// Mapping the page failed: single-step instead.
    xol_failed: bool,
}

/// A page of slots in a traced process, each a copy of a probed instruction followed by an
/// absolute jump (`jmp [rip+0]`, then the 8-byte target) to the instruction after it.
#[derive(Clone, Debug)]
struct Xol {
    base: u64,
    /// Slot address per probed address (`None`: the instruction cannot run out of line).
    slots: HashMap<u64, Option<u64>>,
}

const XOL_PAGE: u64 = 4096;
const XOL_SLOT: u64 = 32;

#[derive(Clone, Debug)]
struct Frame {
    /// The stack pointer once the function has returned.
    rsp_after: u64,
    ret_addr: u64,
    /// The entry address (where the function returns to, as a trampoline).
    func: u64,
    probes: Vec<usize>,
}

#[derive(Clone, Debug, Default)]
struct Thread {
    tgid: i32,
    frames: Vec<Frame>,
    /// Single-stepping over the breakpoint at this address.
    stepping: Option<u64>,
}

/// How to resume a task stopped at a trap.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resume {
    /// Continue (to the next syscall stop).
    Continue,
    /// Execute one instruction, then stop again.
    SingleStep,
    /// Not ours: deliver the SIGTRAP.
    Deliver,
}

/// Programs to run at a hit: probe indices, the context, and `bpf_get_func_ip`'s value.
#[derive(Debug)]
pub struct Hit {
    /// Indices of the probes whose programs run.
    pub probes: Vec<usize>,
    /// The task's registers as the programs see them.
    pub regs: Regs,
    /// The probed function's address.
    pub func_ip: u64,
}

/// What to do after the programs of a hit ran.
#[derive(Debug)]
pub struct Pending {
    tid: i32,
    regs: Regs,
    addr: u64,
    kind: PendingKind,
}

#[derive(Debug)]
enum PendingKind {
    Entry,
    Return,
}

/// The breakpoints of every traced process.
#[derive(Debug, Default)]
pub struct Uprobes {
    probes: Vec<Probe>,
    procs: HashMap<i32, Process>,
    threads: HashMap<i32, Thread>,
    /// Threads in an mmap/mprotect that maps code.
    mapping_code: HashSet<i32>,
    /// Addresses that held breakpoints, per process, kept for detach.
    hits: u64,
}

const SYS_MMAP: u64 = 9;
const SYS_MPROTECT: u64 = 10;

fn read_u64(pid: i32, addr: u64) -> Option<u64> {
    let b = sys::read_memory(pid, addr, 8);
    (b.len() == 8).then(|| u64::from_ne_bytes(b.try_into().expect("8 bytes")))
}

fn ppid_of(tgid: i32) -> Option<i32> {
    sys::status_field(&sys::proc_status(tgid)?, "PPid:")
}

impl Uprobes {
    /// No probes.
    pub fn new() -> Self {
        Self::default()
    }

    /// Add a probe; returns its index.
    pub fn add(&mut self, location: ProbeLocation, ret: bool) -> usize {
        self.probes.push(Probe { location, ret });
        self.probes.len() - 1
    }

    /// Whether there is no probe.
    pub fn is_empty(&self) -> bool {
        self.probes.is_empty()
    }

    /// Breakpoint hits so far.
    pub fn hits(&self) -> u64 {
        self.hits
    }

    /// Place the breakpoints of every probe in the mappings of process `tgid` that do not
    /// have them yet.
    pub fn place(&mut self, tgid: i32) {
        if self.probes.is_empty() {
            return;
        }
        let maps = exec_mappings(tgid);
        let proc_ = self.procs.entry(tgid).or_default();
        for (i, probe) in self.probes.iter().enumerate() {
            let loc = &probe.location;
            for m in &maps {
                let same = Path::new(&m.path) == loc.file
                    || (m.inode == loc.inode
                        && Path::new(&m.path).file_name() == loc.file.file_name());
                if !same
                    || loc.file_offset < m.offset
                    || loc.file_offset >= m.offset + (m.end - m.start)
                {
                    continue;
                }
                let addr = m.start + loc.file_offset - m.offset;
                if let Some(bp) = proc_.bps.get_mut(&addr) {
                    let list = if probe.ret {
                        &mut bp.rets
                    } else {
                        &mut bp.entry
                    };
                    if !list.contains(&i) {
                        list.push(i);
                    }
                    continue;
                }
                let bytes = sys::read_memory(tgid, addr, 16);
                if bytes.is_empty() {
                    continue;
                }
                let mut insn = [0u8; 16];
                insn[..bytes.len()].copy_from_slice(&bytes);
                if sys::write_memory(tgid, addr, &[0xcc]).is_ok() {
                    proc_.bps.insert(
                        addr,
                        Breakpoint {
                            insn,
                            entry: if probe.ret { Vec::new() } else { vec![i] },
                            rets: if probe.ret { vec![i] } else { Vec::new() },
                        },
                    );
                }
            }
        }
    }

    /// Process `tgid` exec'd: its breakpoints are gone; place them in the new image.
    pub fn exec(&mut self, tgid: i32) {
        sys::forget_memory(tgid);
        self.procs.remove(&tgid);
        self.threads.retain(|_, t| t.tgid != tgid);
        self.place(tgid);
    }

    /// The syscalls placement watches (mmap and mprotect, which may map code), when any
    /// probe is attached.
    pub fn traced_syscalls(&self) -> &'static [u64] {
        if self.probes.is_empty() {
            &[]
        } else {
            &[SYS_MMAP, SYS_MPROTECT]
        }
    }

    /// A syscall entry of thread `tid`: remember mmap/mprotect calls that map code.
    pub fn syscall_enter(&mut self, tid: i32, nr: u64, args: &[u64; 6]) {
        const PROT_EXEC: u64 = 4;
        if !self.probes.is_empty()
            && (nr == SYS_MMAP || nr == SYS_MPROTECT)
            && args[2] & PROT_EXEC != 0
        {
            self.mapping_code.insert(tid);
        }
    }

    /// A syscall exit of thread `tid` of `tgid`: place breakpoints in code just mapped.
    pub fn syscall_exit(&mut self, tid: i32, tgid: i32, ret: i64) {
        if self.mapping_code.remove(&tid) && ret >= 0 {
            self.place(tgid);
        }
    }

    /// `child` was created by `parent`: a new process inherits its parent's breakpoints
    /// (and the forking thread's pending returns); a thread starts with none.
    pub fn forked(&mut self, parent_tid: i32, parent_tgid: i32, child_tid: i32, child_tgid: i32) {
        if self.probes.is_empty() {
            return;
        }
        let mut thread = Thread {
            tgid: child_tgid,
            ..Thread::default()
        };
        if child_tgid != parent_tgid {
            if let Some(p) = self.procs.get(&parent_tgid).cloned() {
                self.procs.insert(child_tgid, p);
            }
            if let Some(t) = self.threads.get(&parent_tid) {
                thread.frames = t.frames.clone();
            }
        }
        self.threads.insert(child_tid, thread);
    }

    /// Thread `tid` exited.
    pub fn exited(&mut self, tid: i32, tgid: i32) {
        self.threads.remove(&tid);
        self.mapping_code.remove(&tid);
        if tid == tgid {
            sys::forget_memory(tgid);
            // The process may still have threads; its breakpoints stay recorded until exec
            // or until no thread is left.
            if !self.threads.values().any(|t| t.tgid == tgid) {
                self.procs.remove(&tgid);
            }
        }
    }

    fn process(&mut self, tgid: i32) -> Option<&mut Process> {
        if !self.procs.contains_key(&tgid) {
            // A child seen before its parent's fork event: it has its parent's copies.
            let parent = ppid_of(tgid)?;
            let p = self.procs.get(&parent)?.clone();
            self.procs.insert(tgid, p);
        }
        self.procs.get_mut(&tgid)
    }

    /// A SIGTRAP of thread `tid` of `tgid` with registers `regs`: a breakpoint hit (the
    /// programs to run, and what to do after), the end of a single step, or not ours.
    pub fn trap(&mut self, tid: i32, tgid: i32, regs: &Regs) -> Result<(Hit, Pending), Resume> {
        if self.probes.is_empty() {
            return Err(Resume::Deliver);
        }
        let thread = self.threads.entry(tid).or_insert_with(|| Thread {
            tgid,
            ..Thread::default()
        });
        if let Some(addr) = thread.stepping.take() {
            if self
                .procs
                .get(&tgid)
                .is_some_and(|p| p.bps.contains_key(&addr))
            {
                let _ = sys::write_memory(tgid, addr, &[0xcc]);
            }
            return Err(Resume::Continue);
        }
        let addr = regs.rip.wrapping_sub(1);
        let Some(proc_) = self.process(tgid) else {
            return Err(Resume::Deliver);
        };
        let Some(bp) = proc_.bps.get(&addr) else {
            return Err(Resume::Deliver);
        };
        let (entry, rets) = (bp.entry.clone(), bp.rets.clone());
        self.hits += 1;
        let thread = self.threads.get_mut(&tid).expect("inserted above");
        // Frames of calls that never returned (longjmp) lie below the stack pointer.
        while thread.frames.last().is_some_and(|f| f.rsp_after < regs.rsp) {
            thread.frames.pop();
        }
        if let Some(top) = thread.frames.last() {
            if top.rsp_after == regs.rsp && top.func == addr {
                let frame = thread.frames.pop().expect("top exists");
                let mut r = *regs;
                r.rip = frame.ret_addr;
                return Ok((
                    Hit {
                        probes: frame.probes,
                        regs: r,
                        func_ip: frame.func,
                    },
                    Pending {
                        tid,
                        regs: r,
                        addr,
                        kind: PendingKind::Return,
                    },
                ));
            }
        }
        let mut r = *regs;
        r.rip = addr;
        if !rets.is_empty() {
            if let Some(ret_addr) = read_u64(tid, regs.rsp) {
                if sys::write_memory(tgid, regs.rsp, &addr.to_ne_bytes()).is_ok() {
                    thread.frames.push(Frame {
                        rsp_after: regs.rsp + 8,
                        ret_addr,
                        func: addr,
                        probes: rets,
                    });
                }
            }
        }
        Ok((
            Hit {
                probes: entry,
                regs: r,
                func_ip: addr,
            },
            Pending {
                tid,
                regs: r,
                addr,
                kind: PendingKind::Entry,
            },
        ))
    }

    /// After the programs of a hit ran: move the task on (emulate or step over the
    /// displaced instruction, or go to the real return address).
    pub fn finish(&mut self, tgid: i32, pending: Pending) -> Resume {
        let Pending {
            tid,
            mut regs,
            addr,
            kind,
        } = pending;
        match kind {
            PendingKind::Return => {
                let _ = sys::set_regs(tid, &regs);
                Resume::Continue
            }
            PendingKind::Entry => {
                let Some(insn) = self
                    .procs
                    .get(&tgid)
                    .and_then(|p| p.bps.get(&addr))
                    .map(|b| b.insn)
                else {
                    let _ = sys::set_regs(tid, &regs);
                    return Resume::Continue;
                };
                if emulate(tid, &insn, &mut regs) {
                    let _ = sys::set_regs(tid, &regs);
                    return Resume::Continue;
                }
                if let Some(slot) = self.xol_slot(tgid, tid, addr, &insn) {
                    regs.rip = slot;
                    let _ = sys::set_regs(tid, &regs);
                    return Resume::Continue;
                }
                // Step over the original instruction ([`Self::begin_step`] puts it back once
                // the process's other threads are stopped).
                let _ = sys::set_regs(tid, &regs);
                if let Some(t) = self.threads.get_mut(&tid) {
                    t.stepping = Some(addr);
                }
                Resume::SingleStep
            }
        }
    }

    /// The out-of-line slot for the instruction `insn` probed at `addr` in process `tgid`
    /// (thread `tid` stopped at it), mapping the page and writing the slot on first use.
    /// `None` when the instruction must be single-stepped instead.
    fn xol_slot(&mut self, tgid: i32, tid: i32, addr: u64, insn: &[u8; 16]) -> Option<u64> {
        let proc_ = self.procs.get_mut(&tgid)?;
        if proc_.xol.is_none() && !proc_.xol_failed {
            proc_.xol = map_xol_page(tgid, tid, addr);
            proc_.xol_failed = proc_.xol.is_none();
        }
        let xol = proc_.xol.as_mut()?;
        if let Some(slot) = xol.slots.get(&addr) {
            return *slot;
        }
        let used = xol.slots.values().filter(|s| s.is_some()).count() as u64;
        let slot = xol.base + used * XOL_SLOT;
        let code = (used < XOL_PAGE / XOL_SLOT)
            .then(|| slot_code(insn, addr, slot))
            .flatten();
        let slot = code.and_then(|code| sys::write_memory(tgid, slot, &code).ok().map(|()| slot));
        xol.slots.insert(addr, slot);
        slot
    }

    /// Put back the original instruction under the breakpoint thread `tid` is about to
    /// single-step over (every other thread of its process stopped).
    pub fn begin_step(&mut self, tid: i32, tgid: i32) {
        let Some(addr) = self.threads.get(&tid).and_then(|t| t.stepping) else {
            return;
        };
        if let Some(bp) = self.procs.get(&tgid).and_then(|p| p.bps.get(&addr)) {
            let _ = sys::write_memory(tgid, addr, &bp.insn[..1]);
        }
    }

    /// Before detaching: restore every original byte and every replaced return address.
    pub fn remove_all(&mut self) {
        for (&tgid, p) in &self.procs {
            for (&addr, bp) in &p.bps {
                let _ = sys::write_memory(tgid, addr, &bp.insn[..1]);
            }
        }
        for (&tid, t) in &self.threads {
            for f in &t.frames {
                let slot = f.rsp_after - 8;
                if read_u64(tid, slot) == Some(f.func) {
                    let _ = sys::write_memory(t.tgid, slot, &f.ret_addr.to_ne_bytes());
                }
            }
        }
    }

    /// A thread stopped by a SIGTRAP while detaching (after [`Self::remove_all`]): move it
    /// back before the breakpoint, or to the real return address. Returns whether the trap
    /// was a breakpoint's.
    pub fn detach_trap(&mut self, tid: i32, tgid: i32) -> bool {
        let Ok(mut regs) = sys::get_regs(tid) else {
            return false;
        };
        let addr = regs.rip.wrapping_sub(1);
        if let Some(t) = self.threads.get(&tid) {
            if t.stepping.is_some() {
                return true;
            }
            if let Some(f) = t.frames.last() {
                if f.rsp_after == regs.rsp && f.func == addr {
                    regs.rip = f.ret_addr;
                    let _ = sys::set_regs(tid, &regs);
                    return true;
                }
            }
        }
        if self
            .procs
            .get(&tgid)
            .is_some_and(|p| p.bps.contains_key(&addr))
        {
            regs.rip = addr;
            let _ = sys::set_regs(tid, &regs);
            return true;
        }
        false
    }
}

/// Map an execute-out-of-line page in process `tgid` through thread `tid` (stopped at the
/// breakpoint at `near`), by an `mmap` it is made to call, hinted close to `near` so that
/// RIP-relative operands stay in reach.
fn map_xol_page(tgid: i32, tid: i32, near: u64) -> Option<Xol> {
    const PROT_READ_EXEC: u64 = 5;
    const MAP_PRIVATE_ANONYMOUS: u64 = 0x22;
    let syscall_insn = find_syscall_insn(tgid)?;
    let hint = (near & !(XOL_PAGE - 1)).saturating_sub(0x40_0000);
    let ret = sys::inject_syscall(
        tgid,
        tid,
        syscall_insn,
        SYS_MMAP,
        [
            hint,
            XOL_PAGE,
            PROT_READ_EXEC,
            MAP_PRIVATE_ANONYMOUS,
            u64::MAX,
            0,
        ],
    )
    .ok()?;
    // mmap returns an address or -errno (-4095..-1).
    if (-4095..0).contains(&ret) {
        return None;
    }
    Some(Xol {
        base: ret as u64,
        slots: HashMap::new(),
    })
}

/// The address of a `syscall` instruction (`0f 05`) in the `[vdso]` of process `tgid`.
fn find_syscall_insn(tgid: i32) -> Option<u64> {
    let maps = std::fs::read_to_string(format!("/proc/{tgid}/maps")).ok()?;
    let line = maps.lines().find(|l| l.ends_with("[vdso]"))?;
    let (s, e) = line.split_ascii_whitespace().next()?.split_once('-')?;
    let start = u64::from_str_radix(s, 16).ok()?;
    let end = u64::from_str_radix(e, 16).ok()?;
    let bytes = sys::read_memory(tgid, start, usize::try_from(end - start).ok()?);
    let at = bytes.windows(2).position(|w| w == [0x0f, 0x05])?;
    Some(start + at as u64)
}

/// The code of an out-of-line slot at `slot` for the instruction `insn` originally at
/// `addr`: the instruction (re-encoded when RIP-relative), then `jmp [rip+0]` to the next
/// original instruction. `None` for an instruction that cannot run elsewhere: control
/// transfers, undecodable bytes, a RIP-relative operand out of reach.
fn slot_code(insn: &[u8; 16], addr: u64, slot: u64) -> Option<Vec<u8>> {
    use iced_x86::{Decoder, DecoderOptions, Encoder, FlowControl};
    let mut decoder = Decoder::with_ip(64, insn, addr, DecoderOptions::NONE);
    let ins = decoder.decode();
    if ins.is_invalid() || ins.flow_control() != FlowControl::Next {
        return None;
    }
    let mut code = if ins.is_ip_rel_memory_operand() {
        let mut encoder = Encoder::new(64);
        encoder.encode(&ins, slot).ok()?;
        encoder.take_buffer()
    } else {
        insn[..ins.len()].to_vec()
    };
    code.extend_from_slice(&[0xff, 0x25, 0, 0, 0, 0]);
    code.extend_from_slice(&(addr + ins.len() as u64).to_le_bytes());
    (code.len() as u64 <= XOL_SLOT).then_some(code)
}

/// Register `n` (x86 encoding order: ax, cx, dx, bx, sp, bp, si, di, r8..r15).
fn reg(regs: &mut Regs, n: u8) -> &mut u64 {
    match n & 15 {
        0 => &mut regs.rax,
        1 => &mut regs.rcx,
        2 => &mut regs.rdx,
        3 => &mut regs.rbx,
        4 => &mut regs.rsp,
        5 => &mut regs.rbp,
        6 => &mut regs.rsi,
        7 => &mut regs.rdi,
        8 => &mut regs.r8,
        9 => &mut regs.r9,
        10 => &mut regs.r10,
        11 => &mut regs.r11,
        12 => &mut regs.r12,
        13 => &mut regs.r13,
        14 => &mut regs.r14,
        _ => &mut regs.r15,
    }
}

/// Execute `insn` (at `regs.rip`) on `regs` when it is a simple function-entry
/// instruction; returns false (nothing changed) otherwise.
fn emulate(tid: i32, insn: &[u8; 16], regs: &mut Regs) -> bool {
    let (rex, body) = match insn[0] {
        0x40..=0x4f => (insn[0], &insn[1..]),
        _ => (0, &insn[..]),
    };
    let plen = u64::from(rex != 0);
    let rex_b = (rex & 1) << 3;
    let rex_r = (rex & 4) << 1;
    let wide = rex & 8 != 0;
    match body {
        // endbr64
        [0xf3, 0x0f, 0x1e, 0xfa, ..] if rex == 0 => regs.rip += 4,
        [0x90, ..] if rex == 0 => regs.rip += 1,
        [0x66, 0x90, ..] if rex == 0 => regs.rip += 2,
        // push reg
        [op @ 0x50..=0x57, ..] if !wide => {
            let value = *reg(regs, (op - 0x50) | rex_b);
            let sp = regs.rsp - 8;
            if sys::write_memory(tid, sp, &value.to_ne_bytes()).is_err() {
                return false;
            }
            regs.rsp = sp;
            regs.rip += 1 + plen;
        }
        // call rel32: the pushed return address is the original's.
        [0xe8, a, b, c, d, ..] if rex == 0 => {
            let next = regs.rip + 5;
            let sp = regs.rsp - 8;
            if sys::write_memory(tid, sp, &next.to_ne_bytes()).is_err() {
                return false;
            }
            regs.rsp = sp;
            regs.rip = next.wrapping_add_signed(i64::from(i32::from_le_bytes([*a, *b, *c, *d])));
        }
        // jmp rel32, jmp rel8
        [0xe9, a, b, c, d, ..] if rex == 0 => {
            let next = regs.rip + 5;
            regs.rip = next.wrapping_add_signed(i64::from(i32::from_le_bytes([*a, *b, *c, *d])));
        }
        [0xeb, d, ..] if rex == 0 => {
            regs.rip = (regs.rip + 2).wrapping_add_signed(i64::from(*d as i8));
        }
        // ret
        [0xc3, ..] if rex == 0 => {
            let Some(ret) = read_u64(tid, regs.rsp) else {
                return false;
            };
            regs.rsp += 8;
            regs.rip = ret;
        }
        // mov $imm32, r32 (zero-extended)
        [op @ 0xb8..=0xbf, a, b, c, d, ..] if !wide => {
            *reg(regs, (op - 0xb8) | rex_b) = u64::from(u32::from_le_bytes([*a, *b, *c, *d]));
            regs.rip += 5 + plen;
        }
        // mov reg, reg (89: r/m <- reg; 8b: reg <- r/m), register forms only
        [op @ (0x89 | 0x8b), modrm, ..] if modrm >> 6 == 3 => {
            let r = ((modrm >> 3) & 7) | rex_r;
            let m = (modrm & 7) | rex_b;
            let (dst, src) = if *op == 0x89 { (m, r) } else { (r, m) };
            let mut v = *reg(regs, src);
            if !wide {
                v &= 0xffff_ffff;
            }
            *reg(regs, dst) = v;
            regs.rip += 2 + plen;
        }
        _ => return false,
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zero() -> Regs {
        // SAFETY: user_regs_struct is plain integers; all-zero is valid.
        unsafe { std::mem::zeroed() }
    }

    #[test]
    fn maps_lines() {
        let m = parse_maps_line(
            "7f00a000-7f00b000 r-xp 00028000 08:01 1234   /usr/lib/x86_64-linux-gnu/libc.so.6",
        )
        .unwrap();
        assert_eq!(m.start, 0x7f00a000);
        assert_eq!(m.offset, 0x28000);
        assert_eq!(m.inode, 1234);
        assert_eq!(m.path, "/usr/lib/x86_64-linux-gnu/libc.so.6");
        assert!(parse_maps_line("7f00a000-7f00b000 rw-p 00000000 00:00 0").is_none());
    }

    #[test]
    fn emulates_entry_instructions() {
        let mut r = zero();
        let mut insn = [0u8; 16];
        insn[..5].copy_from_slice(&[0xb8, 0x27, 0, 0, 0]);
        r.rax = u64::MAX;
        assert!(emulate(0, &insn, &mut r));
        assert_eq!((r.rax, r.rip), (39, 5));
        let mut r = zero();
        insn[..3].copy_from_slice(&[0x48, 0x89, 0xe5]); // mov %rsp,%rbp
        r.rsp = 0x1000;
        assert!(emulate(0, &insn, &mut r));
        assert_eq!((r.rbp, r.rip), (0x1000, 3));
        let mut r = zero();
        insn[..2].copy_from_slice(&[0x89, 0xf8]); // mov %edi,%eax
        r.rdi = 0x1_0000_0002;
        assert!(emulate(0, &insn, &mut r));
        assert_eq!((r.rax, r.rip), (2, 2));
        let mut r = zero();
        r.rip = 0x1000;
        insn[..5].copy_from_slice(&[0xe9, 0xfb, 0xff, 0xff, 0xff]); // jmp .-0
        assert!(emulate(0, &insn, &mut r));
        assert_eq!(r.rip, 0x1000);
        insn[..2].copy_from_slice(&[0xeb, 0x10]); // jmp .+0x12
        assert!(emulate(0, &insn, &mut r));
        assert_eq!(r.rip, 0x1012);
        insn[..4].copy_from_slice(&[0x48, 0x8d, 0x04, 0x37]); // lea: not emulated
        assert!(!emulate(0, &insn, &mut zero()));
    }

    #[test]
    fn slot_code_copies_or_relocates() {
        let mut insn = [0u8; 16];
        insn[..4].copy_from_slice(&[0x0f, 0xaf, 0xc7, 0x90]); // imul %edi,%eax
        let code = slot_code(&insn, 0x1000, 0x9000).unwrap();
        assert_eq!(&code[..3], &[0x0f, 0xaf, 0xc7]);
        assert_eq!(&code[3..9], &[0xff, 0x25, 0, 0, 0, 0]);
        assert_eq!(u64::from_le_bytes(code[9..17].try_into().unwrap()), 0x1003);
        // mov 0x10(%rip),%rax at 0x1000 reads 0x1017; from a slot at 0x2000 the
        // displacement becomes 0x1017 - 0x2007.
        insn[..7].copy_from_slice(&[0x48, 0x8b, 0x05, 0x10, 0, 0, 0]);
        let code = slot_code(&insn, 0x1000, 0x2000).unwrap();
        let disp = i32::from_le_bytes(code[3..7].try_into().unwrap());
        assert_eq!(0x2007 + i64::from(disp), 0x1017);
        // Out of reach, and control transfers, stay in place.
        assert!(slot_code(&insn, 0x1000, 0x1_0000_0000_0000).is_none());
        insn[..5].copy_from_slice(&[0xe8, 0, 0, 0, 0]);
        assert!(slot_code(&insn, 0x1000, 0x2000).is_none());
    }

    #[test]
    fn resolves_libc_getpid() {
        let Ok(loc) = resolve("libc.so.6", "getpid", 0) else {
            return;
        };
        assert!(loc.file.is_absolute());
        assert!(loc.file_offset > 0);
    }
}
