//! Executable memory for generated code.
//!
//! Takes machine code bytes; gives [`ExecutableCode`]: pages mapped read-write, filled, then
//! switched to read-execute with `mprotect` (never writable and executable at once), and
//! given back on drop. Freed mappings go to a process-wide pool (up to [`POOL_BYTES`]) and
//! are reused by later programs: switched back to read-write, refilled and switched to
//! read-execute again, which saves the `mmap`, the `munmap` and the page faults of fresh
//! pages. A pooled mapping is read-execute and belongs to no program (nothing runs from it
//! until it is refilled). This module and [`crate::run`] hold the crate's `unsafe` code.

use std::sync::Mutex;

use crate::error::JitError;

/// Code in read-execute pages.
#[derive(Debug)]
pub struct ExecutableCode {
    ptr: *mut u8,
    len: usize,
    map_len: usize,
}

// SAFETY: the pages are immutable (read-execute) from construction to drop; sharing the
// pointer between threads only allows concurrent reads and execution.
unsafe impl Send for ExecutableCode {}
// SAFETY: as above, no interior mutability.
unsafe impl Sync for ExecutableCode {}

/// Most bytes of freed mappings kept for reuse.
const POOL_BYTES: usize = 32 << 20;

/// A freed mapping: (address, length).
struct Pool {
    free: Vec<(usize, usize)>,
    bytes: usize,
}

static POOL: Mutex<Pool> = Mutex::new(Pool {
    free: Vec::new(),
    bytes: 0,
});

fn page_size() -> usize {
    // SAFETY: sysconf has no memory-safety preconditions.
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if p > 0 {
        p as usize
    } else {
        4096
    }
}

/// A pooled mapping of at least `len` bytes and at most twice that, best fit first.
fn take_pooled(len: usize) -> Option<(*mut u8, usize)> {
    let mut pool = POOL.lock().unwrap_or_else(|e| e.into_inner());
    let best = pool
        .free
        .iter()
        .enumerate()
        .filter(|(_, &(_, l))| l >= len && l <= 2 * len)
        .min_by_key(|(_, &(_, l))| l)
        .map(|(i, _)| i)?;
    let (ptr, l) = pool.free.swap_remove(best);
    pool.bytes -= l;
    Some((ptr as *mut u8, l))
}

/// Keep a mapping for reuse; false when the pool is full.
fn give_pooled(ptr: *mut u8, len: usize) -> bool {
    let mut pool = POOL.lock().unwrap_or_else(|e| e.into_inner());
    if pool.bytes + len > POOL_BYTES {
        return false;
    }
    pool.bytes += len;
    pool.free.push((ptr as usize, len));
    true
}

fn map_fresh(map_len: usize) -> Result<*mut u8, JitError> {
    // SAFETY: an anonymous private mapping with no address hint; the result is checked.
    let ptr = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            map_len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if ptr == libc::MAP_FAILED {
        return Err(JitError::Memory {
            what: "mmap",
            source: std::io::Error::last_os_error(),
        });
    }
    Ok(ptr as *mut u8)
}

impl ExecutableCode {
    /// Map `code` read-execute.
    ///
    /// # Errors
    /// [`JitError::Memory`] when mmap or mprotect fails.
    pub fn new(code: &[u8]) -> Result<ExecutableCode, JitError> {
        let page = page_size();
        let map_len = code.len().max(1).div_ceil(page) * page;
        let (ptr, map_len) = match take_pooled(map_len) {
            Some((ptr, len)) => {
                // SAFETY: a pooled mapping of `len` bytes that nothing refers to (its
                // program was dropped, so no code runs from it).
                let rc =
                    unsafe { libc::mprotect(ptr.cast(), len, libc::PROT_READ | libc::PROT_WRITE) };
                if rc != 0 {
                    // SAFETY: as above; the mapping is ours to unmap.
                    unsafe { libc::munmap(ptr.cast(), len) };
                    (map_fresh(map_len)?, map_len)
                } else {
                    (ptr, len)
                }
            }
            None => (map_fresh(map_len)?, map_len),
        };
        // SAFETY: the mapping is map_len >= code.len() bytes, writable, and owned here (no
        // other reference to it exists); the source is a distinct slice. The rest of the
        // mapping is filled with int3.
        unsafe {
            std::ptr::copy_nonoverlapping(code.as_ptr(), ptr, code.len());
            std::ptr::write_bytes(ptr.add(code.len()), 0xcc, map_len - code.len());
        }
        // SAFETY: ptr/map_len is exactly the mapping taken above.
        let rc = unsafe { libc::mprotect(ptr.cast(), map_len, libc::PROT_READ | libc::PROT_EXEC) };
        if rc != 0 {
            let err = std::io::Error::last_os_error();
            // SAFETY: unmapping the mapping taken above, which nothing else refers to.
            unsafe { libc::munmap(ptr.cast(), map_len) };
            return Err(JitError::Memory {
                what: "mprotect read-execute",
                source: err,
            });
        }
        Ok(ExecutableCode {
            ptr,
            len: code.len(),
            map_len,
        })
    }

    /// The address of the first byte.
    pub fn addr(&self) -> u64 {
        self.ptr as u64
    }

    /// The code bytes (readable: the pages are read-execute).
    pub fn bytes(&self) -> &[u8] {
        // SAFETY: ptr..ptr+len is mapped readable for the lifetime of self and never written
        // after construction.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }
}

impl Drop for ExecutableCode {
    fn drop(&mut self) {
        if give_pooled(self.ptr, self.map_len) {
            return;
        }
        // SAFETY: the mapping made in `new`; no code runs from it once self is dropped
        // (runs borrow the program that owns self).
        unsafe { libc::munmap(self.ptr.cast(), self.map_len) };
    }
}
