//! The one place that calls `bpf()`.
//!
//! Takes a command number and an attribute struct built by this crate; gives the syscall's
//! non-negative result or the `errno` as an [`io::Error`]. [`Sys`] is the seam unit tests
//! replace with a fake kernel; [`Linux`] is the real syscall.

use std::io;

use crate::attr::Attr;

/// Something that executes `bpf(cmd, attr, size)`.
pub(crate) trait Sys {
    /// Run `cmd` with `attr`; the kernel may write output fields back into `attr`.
    ///
    /// Every pointer inside `attr` must be valid for the access the command makes
    /// (callers in this crate point them at live slices and strings).
    fn bpf<A: Attr>(&self, cmd: u32, attr: &mut A) -> io::Result<i64>;
}

/// The real `bpf()` system call.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Linux;

impl Sys for Linux {
    fn bpf<A: Attr>(&self, cmd: u32, attr: &mut A) -> io::Result<i64> {
        let size = std::mem::size_of::<A>() as libc::c_uint;
        let ptr = attr as *mut A as *mut libc::c_void;
        // SAFETY: `attr` is a live, exclusively borrowed repr(C) attribute of `size` bytes
        // (the `Attr` contract: fully initialised plain data); the pointers it carries were
        // set by this crate to buffers that outlive this call, with the lengths it states.
        let ret = unsafe { libc::syscall(libc::SYS_bpf, cmd as libc::c_int, ptr, size) };
        if ret < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(ret as i64)
        }
    }
}
