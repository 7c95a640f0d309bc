//! Reading a `BPF_MAP_TYPE_RINGBUF` through its memory mapping, without consuming.
//!
//! Takes a ring buffer map fd and its size; gives the records between the consumer and the
//! producer position that were submitted (not discarded), oldest first. The layout is the
//! kernel's (`kernel/bpf/ringbuf.c`, as libbpf's `ring_buffer__poll` reads it):
//!
//! - file offset 0, one page: the consumer position (`unsigned long`), writable;
//! - file offset one page: the producer position, then from the next page on the data area
//!   mapped twice in a row, so a record that wraps reads contiguously;
//! - each record: a header `{ u32 len; u32 pg_off }`, where `len` carries
//!   `BPF_RINGBUF_BUSY_BIT` (bit 31, still being written) and `BPF_RINGBUF_DISCARD_BIT`
//!   (bit 30), then `len` bytes, the whole rounded up to 8.

use std::io;
use std::os::fd::RawFd;

const BUSY_BIT: u32 = 1 << 31;
const DISCARD_BIT: u32 = 1 << 30;
const HDR_SIZE: usize = 8;

/// A read-only shared mapping, unmapped on drop.
struct Mapping {
    addr: *mut libc::c_void,
    len: usize,
}

impl Mapping {
    fn new(fd: RawFd, len: usize, offset: usize) -> io::Result<Mapping> {
        let off = libc::off_t::try_from(offset)
            .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
        // SAFETY: a fresh shared read-only mapping chosen by the kernel (addr NULL); nothing
        // else refers to that address range until this Mapping unmaps it.
        let addr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_SHARED,
                fd,
                off,
            )
        };
        if addr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(Mapping { addr, len })
    }

    /// The 8 bytes at `at` as a little-endian-in-memory u64, read once.
    fn u64_at(&self, at: usize) -> u64 {
        assert!(at + 8 <= self.len && at.is_multiple_of(8));
        // SAFETY: in bounds of the mapping (asserted) and 8-aligned (the mapping is
        // page-aligned); the kernel may write concurrently, so read volatile.
        unsafe { std::ptr::read_volatile((self.addr as *const u8).add(at) as *const u64) }
    }

    fn u32_at(&self, at: usize) -> u32 {
        assert!(at + 4 <= self.len && at.is_multiple_of(4));
        // SAFETY: as in `u64_at`, for 4 aligned bytes.
        unsafe { std::ptr::read_volatile((self.addr as *const u8).add(at) as *const u32) }
    }

    fn bytes(&self, at: usize, len: usize) -> Vec<u8> {
        assert!(at + len <= self.len);
        let mut out = vec![0u8; len];
        // SAFETY: the source range is inside the mapping (asserted); `out` is a distinct
        // allocation of `len` bytes.
        unsafe {
            std::ptr::copy_nonoverlapping((self.addr as *const u8).add(at), out.as_mut_ptr(), len);
        }
        out
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: `addr`/`len` are exactly what mmap returned; no reference into the
        // mapping outlives `self` (all reads copy out).
        unsafe {
            libc::munmap(self.addr, self.len);
        }
    }
}

fn page_size() -> usize {
    // SAFETY: sysconf has no memory-safety preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(n).unwrap_or(4096).max(4096)
}

/// The submitted, unconsumed records of the ring buffer `fd` with a data area of `size`
/// bytes (its `max_entries`).
pub(crate) fn records(fd: RawFd, size: usize) -> io::Result<Vec<Vec<u8>>> {
    let page = page_size();
    if size == 0 || !size.is_power_of_two() {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    let consumer = Mapping::new(fd, page, 0)?;
    let producer = Mapping::new(fd, page + 2 * size, page)?;
    let mut pos = consumer.u64_at(0);
    let end = producer.u64_at(0);
    let mut out = Vec::new();
    while pos < end {
        let at = page + (pos as usize & (size - 1));
        let len = producer.u32_at(at);
        if len & BUSY_BIT != 0 {
            break;
        }
        let data_len = (len & !(BUSY_BIT | DISCARD_BIT)) as usize;
        if data_len > size {
            return Err(io::Error::from_raw_os_error(libc::EIO));
        }
        if len & DISCARD_BIT == 0 {
            out.push(producer.bytes(at + HDR_SIZE, data_len));
        }
        pos += (HDR_SIZE + data_len).next_multiple_of(8) as u64;
    }
    Ok(out)
}
