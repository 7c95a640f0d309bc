//! Executable memory for generated code.
//!
//! Takes machine code bytes; gives [`ExecutableCode`]: pages mapped read-write, filled, then
//! switched to read-execute with `mprotect` (never writable and executable at once), and
//! unmapped on drop. This module and [`crate::run`] hold the crate's `unsafe` code.

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

fn page_size() -> usize {
    // SAFETY: sysconf has no memory-safety preconditions.
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if p > 0 {
        p as usize
    } else {
        4096
    }
}

impl ExecutableCode {
    /// Map `code` read-execute.
    ///
    /// # Errors
    /// [`JitError::Memory`] when mmap or mprotect fails.
    pub fn new(code: &[u8]) -> Result<ExecutableCode, JitError> {
        let page = page_size();
        let map_len = code.len().max(1).div_ceil(page) * page;
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
        let ptr = ptr as *mut u8;
        // SAFETY: the mapping is map_len >= code.len() bytes, writable, and fresh (no other
        // reference to it exists); the source is a distinct slice. The rest of the last page
        // is filled with int3.
        unsafe {
            std::ptr::copy_nonoverlapping(code.as_ptr(), ptr, code.len());
            std::ptr::write_bytes(ptr.add(code.len()), 0xcc, map_len - code.len());
        }
        // SAFETY: ptr/map_len is exactly the mapping made above.
        let rc = unsafe { libc::mprotect(ptr.cast(), map_len, libc::PROT_READ | libc::PROT_EXEC) };
        if rc != 0 {
            let err = std::io::Error::last_os_error();
            // SAFETY: unmapping the mapping made above, which nothing else refers to.
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
        // SAFETY: the mapping made in `new`; no code runs from it once self is dropped
        // (runs borrow the program that owns self).
        unsafe { libc::munmap(self.ptr.cast(), self.map_len) };
    }
}
