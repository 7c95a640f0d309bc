//! perf events on tracepoints: `perf_event_open`, the per-CPU ring buffer and its records.
//!
//! Takes a tracepoint id (tracefs `events/CATEGORY/NAME/id`) and a CPU; gives an event fd
//! sampling every hit of the tracepoint on that CPU by any process (`pid = -1`, period 1,
//! `PERF_SAMPLE_TID | TIME | CPU | RAW`, optionally `REGS_USER`, times on
//! `CLOCK_MONOTONIC`), and [`Ring`], the mmapped ring buffer of one CPU that the other
//! events of that CPU are redirected into, read as [`Record`]s (the sample's pid, tid,
//! time, CPU, raw tracepoint record and user registers; the count of records the kernel
//! dropped when the ring was full). Every `unsafe` block of the system-wide mode is here.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicU64, Ordering};

const PERF_TYPE_TRACEPOINT: u32 = 2;
const SAMPLE_TID: u64 = 1 << 1;
const SAMPLE_TIME: u64 = 1 << 2;
const SAMPLE_CPU: u64 = 1 << 7;
const SAMPLE_RAW: u64 = 1 << 10;
const SAMPLE_REGS_USER: u64 = 1 << 12;
/// `PERF_FORMAT_LOST` (Linux 6.0): `read` gives the samples the event lost.
const FORMAT_LOST: u64 = 1 << 4;
/// `perf_event_attr` flag bits.
const FLAG_USE_CLOCKID: u64 = 1 << 25;
const PERF_FLAG_FD_CLOEXEC: libc::c_ulong = 1 << 3;
const IOC_SET_OUTPUT: libc::c_ulong = 0x2405;
const IOC_SET_FILTER: libc::c_ulong = 0x4008_2406;
const RECORD_LOST: u32 = 2;
const RECORD_SAMPLE: u32 = 9;
/// `PERF_ATTR_SIZE_VER5`: the fields up to `sample_max_stack`.
const ATTR_SIZE: u32 = 112;

/// x86-64 `perf_regs` indexes sampled as user registers: AX BX CX DX SI DI BP SP IP FLAGS
/// CS SS (0..=11) and R8..R15 (16..=23); DS, ES, FS, GS are not sampled on x86-64.
pub const REGS_MASK: u64 = 0x00ff_0fff;
/// Number of registers in [`REGS_MASK`].
pub const NREGS: usize = REGS_MASK.count_ones() as usize;

/// `struct perf_event_attr` up to `PERF_ATTR_SIZE_VER5`.
#[repr(C)]
#[derive(Default)]
struct Attr {
    kind: u32,
    size: u32,
    config: u64,
    sample_period: u64,
    sample_type: u64,
    read_format: u64,
    flags: u64,
    wakeup_events: u32,
    bp_type: u32,
    config1: u64,
    config2: u64,
    branch_sample_type: u64,
    sample_regs_user: u64,
    sample_stack_user: u32,
    clockid: i32,
    sample_regs_intr: u64,
    aux_watermark: u32,
    sample_max_stack: u16,
    reserved: u16,
}

const _: () = assert!(std::mem::size_of::<Attr>() == ATTR_SIZE as usize);

/// Open tracepoint `id` on `cpu` for every process, enabled, sampling every hit;
/// `regs_user` adds the task's user registers to each sample, `count_lost` makes
/// [`lost_samples`] work (Linux 6.0; EINVAL before).
///
/// # Errors
/// The kernel's refusal (EACCES/EPERM without privilege, ENOENT for an unknown id).
pub fn open_tracepoint(
    id: u64,
    cpu: u32,
    regs_user: bool,
    count_lost: bool,
) -> io::Result<OwnedFd> {
    let mut attr = Attr {
        kind: PERF_TYPE_TRACEPOINT,
        size: ATTR_SIZE,
        config: id,
        sample_period: 1,
        sample_type: sample_type(regs_user),
        flags: FLAG_USE_CLOCKID,
        wakeup_events: 1,
        clockid: libc::CLOCK_MONOTONIC,
        ..Attr::default()
    };
    if regs_user {
        attr.sample_regs_user = REGS_MASK;
    }
    if count_lost {
        attr.read_format = FORMAT_LOST;
    }
    // SAFETY: `attr` is a valid perf_event_attr of the size it declares, alive for the call;
    // the other arguments are integers.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_perf_event_open,
            &attr as *const Attr,
            -1 as libc::pid_t,
            cpu as libc::c_int,
            -1 as libc::c_int,
            PERF_FLAG_FD_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the kernel returned a new fd that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

fn sample_type(regs_user: bool) -> u64 {
    let base = SAMPLE_TID | SAMPLE_TIME | SAMPLE_CPU | SAMPLE_RAW;
    if regs_user {
        base | SAMPLE_REGS_USER
    } else {
        base
    }
}

fn ioctl(fd: &OwnedFd, request: libc::c_ulong, arg: libc::c_ulong) -> io::Result<()> {
    // SAFETY: the perf ioctls used here take an integer argument or (SET_FILTER) a pointer
    // to a NUL-terminated string the caller keeps alive; `fd` is an open perf event.
    let rc = unsafe { libc::ioctl(fd.as_raw_fd(), request, arg) };
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// How many samples event `fd` (opened with `count_lost`) could not write because its
/// ring was full, since it was opened.
///
/// # Errors
/// read's failure.
pub fn lost_samples(fd: &OwnedFd) -> io::Result<u64> {
    let mut buf = [0u64; 2];
    // SAFETY: `buf` is 16 writable bytes, the size of { value, lost } for PERF_FORMAT_LOST.
    let n = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), 16) };
    match n {
        16 => Ok(buf[1]),
        n if n < 0 => Err(io::Error::last_os_error()),
        _ => Err(io::Error::from(io::ErrorKind::UnexpectedEof)),
    }
}

/// Send the records of `fd` to the ring of `target` (an event on the same CPU).
///
/// # Errors
/// The kernel's refusal.
pub fn set_output(fd: &OwnedFd, target: &OwnedFd) -> io::Result<()> {
    ioctl(fd, IOC_SET_OUTPUT, target.as_raw_fd() as libc::c_ulong)
}

/// Set the tracepoint filter of `fd` (ftrace filter syntax, e.g. `common_pid != 12`).
///
/// # Errors
/// The kernel's refusal (EINVAL for a filter it cannot parse).
pub fn set_filter(fd: &OwnedFd, filter: &str) -> io::Result<()> {
    let c =
        std::ffi::CString::new(filter).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    ioctl(fd, IOC_SET_FILTER, c.as_ptr() as libc::c_ulong)
}

/// One record read from a ring.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Record {
    /// A tracepoint hit.
    Sample(Sample),
    /// The kernel dropped this many records (the ring was full).
    Lost(u64),
}

/// A tracepoint hit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sample {
    /// Process id (tgid), in userbpf's pid namespace.
    pub pid: u32,
    /// Thread id.
    pub tid: u32,
    /// CLOCK_MONOTONIC nanoseconds.
    pub time: u64,
    /// The CPU it happened on.
    pub cpu: u32,
    /// The tracepoint's record (common header, then its fields), as the kernel wrote it.
    pub raw: Vec<u8>,
    /// The task's user registers in [`REGS_MASK`] order, when asked for and the task has
    /// user registers.
    pub regs: Option<Box<[u64; NREGS]>>,
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_ne_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

/// Parse one record (header included); None for other record types or a short record.
pub fn parse(rec: &[u8], regs_user: bool) -> Option<Record> {
    let kind = u32_at(rec, 0)?;
    match kind {
        RECORD_LOST => Some(Record::Lost(u64_at(rec, 16)?)),
        RECORD_SAMPLE => {
            let pid = u32_at(rec, 8)?;
            let tid = u32_at(rec, 12)?;
            let time = u64_at(rec, 16)?;
            let cpu = u32_at(rec, 24)?;
            let raw_size = u32_at(rec, 32)? as usize;
            let raw = rec.get(36..36 + raw_size)?.to_vec();
            let mut at = 36 + raw_size;
            let regs = if regs_user {
                let abi = u64_at(rec, at)?;
                at += 8;
                if abi == 0 {
                    None
                } else {
                    let mut regs = Box::new([0u64; NREGS]);
                    for r in regs.iter_mut() {
                        *r = u64_at(rec, at)?;
                        at += 8;
                    }
                    Some(regs)
                }
            } else {
                None
            };
            Some(Record::Sample(Sample {
                pid,
                tid,
                time,
                cpu,
                raw,
                regs,
            }))
        }
        _ => None,
    }
}

/// The mmapped ring buffer of one event (and of the events redirected to it).
#[derive(Debug)]
pub struct Ring {
    fd: OwnedFd,
    base: *mut u8,
    map_len: usize,
    data_offset: usize,
    data_size: usize,
    regs_user: bool,
}

// Offsets in `struct perf_event_mmap_page`.
const DATA_HEAD: usize = 1024;
const DATA_TAIL: usize = 1032;
const DATA_OFFSET: usize = 1040;
const DATA_SIZE: usize = 1048;

impl Ring {
    /// Map `data_pages` (a power of two) pages of ring buffer for event `fd`.
    ///
    /// # Errors
    /// mmap's refusal (EPERM beyond `perf_event_mlock_kb` for unprivileged users).
    pub fn new(fd: OwnedFd, data_pages: usize, regs_user: bool) -> io::Result<Ring> {
        let page = page_size();
        let map_len = (1 + data_pages) * page;
        // SAFETY: a new shared mapping of the event's fd; the kernel checks the size.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                map_len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                fd.as_raw_fd(),
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let base = base.cast::<u8>();
        let mut ring = Ring {
            fd,
            base,
            map_len,
            data_offset: page,
            data_size: data_pages * page,
            regs_user,
        };
        // Kernels since 4.1 say where the data is; older ones put it after the first page.
        let (off, size) = (ring.word(DATA_OFFSET), ring.word(DATA_SIZE));
        if size != 0 && off as usize + size as usize <= map_len {
            ring.data_offset = off as usize;
            ring.data_size = size as usize;
        }
        Ok(ring)
    }

    /// The event fd (poll it for new records).
    pub fn fd(&self) -> &OwnedFd {
        &self.fd
    }

    fn atomic(&self, at: usize) -> &AtomicU64 {
        // SAFETY: `at` is one of the 8-aligned u64 fields of the metadata page, inside the
        // mapping that lives as long as `self`; the kernel updates it concurrently, hence
        // the atomic view.
        unsafe { &*(self.base.add(at) as *const AtomicU64) }
    }

    fn word(&self, at: usize) -> u64 {
        self.atomic(at).load(Ordering::Acquire)
    }

    /// Copy `out.len()` bytes from data offset `pos` (modulo the ring size).
    fn copy_out(&self, pos: u64, out: &mut [u8]) {
        let size = self.data_size;
        let start = (pos % size as u64) as usize;
        let first = out.len().min(size - start);
        // SAFETY: both ranges are inside the data area of the mapping (start + first <=
        // size; the rest, from 0, is shorter than `size`); the kernel does not write the
        // bytes between tail and head until the tail moves past them.
        unsafe {
            let data = self.base.add(self.data_offset);
            std::ptr::copy_nonoverlapping(data.add(start), out.as_mut_ptr(), first);
            std::ptr::copy_nonoverlapping(data, out.as_mut_ptr().add(first), out.len() - first);
        }
    }

    /// Read every record written since the last call, in order; records of unknown types
    /// are skipped.
    pub fn read(&mut self, mut f: impl FnMut(Record)) {
        let head = self.word(DATA_HEAD);
        let mut tail = self.atomic(DATA_TAIL).load(Ordering::Relaxed);
        let mut buf = Vec::new();
        while tail < head {
            let mut hdr = [0u8; 8];
            self.copy_out(tail, &mut hdr);
            let size = u16::from_ne_bytes([hdr[6], hdr[7]]) as u64;
            if size < 8 || tail + size > head {
                // A corrupt header: drop what is left rather than loop.
                tail = head;
                break;
            }
            buf.resize(size as usize, 0);
            self.copy_out(tail, &mut buf);
            if let Some(rec) = parse(&buf, self.regs_user) {
                f(rec);
            }
            tail += size;
        }
        self.atomic(DATA_TAIL).store(tail, Ordering::Release);
    }
}

impl Drop for Ring {
    fn drop(&mut self) {
        // SAFETY: `base`/`map_len` are the mapping made in `new`, unmapped once here.
        unsafe {
            libc::munmap(self.base.cast(), self.map_len);
        }
    }
}

fn page_size() -> usize {
    // SAFETY: sysconf has no memory effects.
    let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if n > 0 {
        n as usize
    } else {
        4096
    }
}

/// Wait until one of `fds` is readable or `timeout_ms` passes: the indexes of the ready
/// ones (empty on timeout or when a signal interrupted the wait).
///
/// # Errors
/// poll's failure other than EINTR.
pub fn poll(fds: &[&OwnedFd], timeout_ms: i32) -> io::Result<Vec<usize>> {
    let mut pfds: Vec<libc::pollfd> = fds
        .iter()
        .map(|fd| libc::pollfd {
            fd: fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    // SAFETY: `pfds` is a valid array of `pfds.len()` pollfd structures.
    let n = unsafe { libc::poll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, timeout_ms) };
    if n < 0 {
        let e = io::Error::last_os_error();
        return if e.raw_os_error() == Some(libc::EINTR) {
            Ok(Vec::new())
        } else {
            Err(e)
        };
    }
    Ok(pfds
        .iter()
        .enumerate()
        .filter(|(_, p)| p.revents != 0)
        .map(|(i, _)| i)
        .collect())
}

/// Mount tracefs at `dir`.
///
/// # Errors
/// mount's refusal (EPERM without CAP_SYS_ADMIN, ENODEV without tracefs in the kernel).
pub fn mount_tracefs(dir: &str) -> io::Result<()> {
    let c = |s: &str| std::ffi::CString::new(s).map_err(|_| io::ErrorKind::InvalidInput);
    let (src, target, fstype) = (c("tracefs")?, c(dir)?, c("tracefs")?);
    // SAFETY: NUL-terminated strings alive for the call; no data argument.
    let rc = unsafe {
        libc::mount(
            src.as_ptr(),
            target.as_ptr(),
            fstype.as_ptr(),
            0,
            std::ptr::null(),
        )
    };
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// The effective user id.
pub fn euid() -> u32 {
    // SAFETY: geteuid cannot fail and has no memory effects.
    unsafe { libc::geteuid() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sample_with_regs_and_lost() {
        let mut rec = Vec::new();
        rec.extend_from_slice(&RECORD_SAMPLE.to_ne_bytes());
        rec.extend_from_slice(&0u16.to_ne_bytes());
        let size_at = rec.len();
        rec.extend_from_slice(&0u16.to_ne_bytes());
        rec.extend_from_slice(&10u32.to_ne_bytes()); // pid
        rec.extend_from_slice(&11u32.to_ne_bytes()); // tid
        rec.extend_from_slice(&1234u64.to_ne_bytes()); // time
        rec.extend_from_slice(&1u32.to_ne_bytes()); // cpu
        rec.extend_from_slice(&0u32.to_ne_bytes());
        rec.extend_from_slice(&4u32.to_ne_bytes()); // raw size
        rec.extend_from_slice(&[1, 2, 3, 4]);
        rec.extend_from_slice(&2u64.to_ne_bytes()); // abi 64
        for i in 0..NREGS as u64 {
            rec.extend_from_slice(&(100 + i).to_ne_bytes());
        }
        let len = rec.len() as u16;
        rec[size_at..size_at + 2].copy_from_slice(&len.to_ne_bytes());
        let Some(Record::Sample(s)) = parse(&rec, true) else {
            panic!("not a sample");
        };
        assert_eq!((s.pid, s.tid, s.time, s.cpu), (10, 11, 1234, 1));
        assert_eq!(s.raw, [1, 2, 3, 4]);
        assert_eq!(s.regs.unwrap()[NREGS - 1], 100 + NREGS as u64 - 1);
        // Without regs asked, the same bytes parse up to the raw data.
        let Some(Record::Sample(s)) = parse(&rec, false) else {
            panic!("not a sample");
        };
        assert_eq!(s.regs, None);
        // A truncated sample is refused.
        assert_eq!(parse(&rec[..30], false), None);

        let mut lost = Vec::new();
        lost.extend_from_slice(&RECORD_LOST.to_ne_bytes());
        lost.extend_from_slice(&[0, 0, 24, 0]);
        lost.extend_from_slice(&7u64.to_ne_bytes());
        lost.extend_from_slice(&42u64.to_ne_bytes());
        assert_eq!(parse(&lost, false), Some(Record::Lost(42)));
    }
}
