//! Memory regions and the one audited path through which programs touch memory.
//!
//! Takes the buffers a run may access (input, context, stack frames, memory handed out by
//! helpers); gives [`MemoryMap`], which checks an address range against those regions, and
//! the load/store/atomic primitives that dereference an address only after that check.
//! This module holds every `unsafe` memory access of the interpreter.

use std::marker::PhantomData;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use userbpf_isa::AtomicOp;

use crate::error::Access;

/// What a region holds (for error messages and for helpers that need to know).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegionKind {
    /// The program's input (`run --raw`, conformance memory).
    Input,
    /// A program context structure.
    Context,
    /// Packet data.
    Packet,
    /// Stack frames.
    Stack,
    /// A map value.
    MapValue,
    /// Memory a helper handed to the program.
    Helper,
}

impl std::fmt::Display for RegionKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RegionKind::Input => "input",
            RegionKind::Context => "context",
            RegionKind::Packet => "packet",
            RegionKind::Stack => "stack",
            RegionKind::MapValue => "map value",
            RegionKind::Helper => "helper memory",
        })
    }
}

/// A contiguous range of host memory a program may access.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Region {
    /// First address.
    pub start: u64,
    /// Length in bytes.
    pub len: u64,
    /// Whether stores are allowed.
    pub writable: bool,
    /// What the region holds.
    pub kind: RegionKind,
}

impl Region {
    /// Whether `[addr, addr + size)` lies inside the region.
    #[inline(always)]
    pub fn contains(&self, addr: u64, size: u64) -> bool {
        addr >= self.start
            && addr.wrapping_sub(self.start) <= self.len.saturating_sub(size)
            && size <= self.len
    }

    fn distance(&self, addr: u64) -> u64 {
        if addr < self.start {
            self.start - addr
        } else {
            addr.saturating_sub(self.start + self.len)
        }
    }
}

/// The regions one run may touch. The lifetime ties the map to the buffers it describes.
#[derive(Debug, Default)]
pub struct MemoryMap<'a> {
    regions: Vec<Region>,
    _buffers: PhantomData<&'a mut [u8]>,
}

impl<'a> MemoryMap<'a> {
    /// An empty map.
    pub fn new() -> Self {
        MemoryMap {
            regions: Vec::new(),
            _buffers: PhantomData,
        }
    }

    /// An empty map with room for `n` regions (no reallocation while they are added).
    pub fn with_capacity(n: usize) -> Self {
        MemoryMap {
            regions: Vec::with_capacity(n),
            _buffers: PhantomData,
        }
    }

    /// Add a writable buffer; returns its address.
    pub fn add_mut(&mut self, buf: &'a mut [u8], kind: RegionKind) -> u64 {
        let start = buf.as_mut_ptr() as u64;
        self.regions.push(Region {
            start,
            len: buf.len() as u64,
            writable: true,
            kind,
        });
        start
    }

    /// Add a read-only buffer; returns its address.
    pub fn add_ref(&mut self, buf: &'a [u8], kind: RegionKind) -> u64 {
        let start = buf.as_ptr() as u64;
        self.regions.push(Region {
            start,
            len: buf.len() as u64,
            writable: false,
            kind,
        });
        start
    }

    /// Add a region by address.
    ///
    /// # Safety
    /// `[start, start + len)` must be valid for reads (and writes when `writable`) for the
    /// whole lifetime `'a`, and not be accessed through Rust references while programs run.
    pub unsafe fn add_raw(&mut self, region: Region) {
        self.regions.push(region);
    }

    /// Run `f` with `region` added, then remove it again. The interpreter uses this to show
    /// helpers its stack, which lives only for one run.
    ///
    /// # Safety
    /// `region` must be valid for reads and writes (as its `writable` says) while `f` runs.
    #[inline]
    pub unsafe fn with_region<R>(&mut self, region: Region, f: impl FnOnce(&mut Self) -> R) -> R {
        self.regions.push(region);
        let index = self.regions.len() - 1;
        let result = f(self);
        self.regions.remove(index);
        result
    }

    /// Run `f` with `regions` added after the others, then remove them again.
    ///
    /// # Safety
    /// Every region must be valid for reads (and writes when `writable`) while `f` runs.
    #[inline]
    pub unsafe fn with_regions<R>(
        &mut self,
        regions: &[Region],
        f: impl FnOnce(&mut Self) -> R,
    ) -> R {
        let len = self.regions.len();
        self.regions.extend_from_slice(regions);
        let result = f(self);
        self.regions.truncate(len);
        result
    }

    /// The regions, in the order added.
    pub fn regions(&self) -> &[Region] {
        &self.regions
    }

    /// The region holding `[addr, addr + size)` with the needed permission, if any. The
    /// regions added last (the interpreter's stack, where helpers' key and value arguments
    /// usually are) are tried first.
    #[inline]
    pub fn find(&self, addr: u64, size: u64, write: bool) -> Option<&Region> {
        self.regions
            .iter()
            .rev()
            .find(|r| r.contains(addr, size) && (r.writable || !write))
    }

    /// Describe the region nearest to `addr`, for error messages.
    pub fn describe_nearest(&self, addr: u64, extra: &[Region]) -> String {
        let nearest = self
            .regions
            .iter()
            .chain(extra)
            .min_by_key(|r| r.distance(addr));
        match nearest {
            None => "no memory regions".to_string(),
            Some(r) => {
                let rel = addr as i128 - r.start as i128;
                format!(
                    "nearest region: {} 0x{:x}..0x{:x} ({} bytes{}), access at offset {}",
                    r.kind,
                    r.start,
                    r.start + r.len,
                    r.len,
                    if r.writable { "" } else { ", read-only" },
                    rel
                )
            }
        }
    }

    /// Check a range and copy it out (for helpers).
    ///
    /// # Errors
    /// [`Access::Read`] description when the range is not inside a readable region.
    pub fn read_bytes(&self, addr: u64, len: usize) -> Result<Vec<u8>, String> {
        if len == 0 {
            return Ok(Vec::new());
        }
        if self.find(addr, len as u64, false).is_none() {
            return Err(format!(
                "{} of {len} bytes at 0x{addr:x}: {}",
                Access::Read,
                self.describe_nearest(addr, &[])
            ));
        }
        // SAFETY: the range lies inside a registered readable region, valid for 'a.
        Ok(unsafe { std::slice::from_raw_parts(addr as *const u8, len) }.to_vec())
    }

    /// Check a range and copy bytes into it (for helpers).
    ///
    /// # Errors
    /// A description when the range is not inside a writable region.
    pub fn write_bytes(&self, addr: u64, data: &[u8]) -> Result<(), String> {
        if data.is_empty() {
            return Ok(());
        }
        if self.find(addr, data.len() as u64, true).is_none() {
            return Err(format!(
                "{} of {} bytes at 0x{addr:x}: {}",
                Access::Write,
                data.len(),
                self.describe_nearest(addr, &[])
            ));
        }
        // SAFETY: the range lies inside a registered writable region, valid for 'a; the
        // source is a distinct Rust slice.
        unsafe {
            std::ptr::copy_nonoverlapping(data.as_ptr(), addr as *mut u8, data.len());
        }
        Ok(())
    }
}

/// Zero `len` bytes at `addr` (a stack frame the interpreter hands a program).
///
/// # Safety
/// `[addr, addr + len)` must be writable memory the caller owns for the duration of the call.
#[inline]
pub unsafe fn zero(addr: u64, len: usize) {
    // SAFETY: guaranteed by the caller.
    unsafe { std::ptr::write_bytes(addr as *mut u8, 0, len) }
}

/// Load `size` bytes (1, 2, 4 or 8) from `addr`, zero-extended.
///
/// # Safety
/// `[addr, addr + size)` must have been checked to lie in a readable region.
#[inline(always)]
pub unsafe fn load(addr: u64, size: usize) -> u64 {
    let p = addr as *const u8;
    // SAFETY: guaranteed by the caller; unaligned reads are allowed by read_unaligned.
    unsafe {
        match size {
            1 => p.read() as u64,
            2 => (p as *const u16).read_unaligned() as u64,
            4 => (p as *const u32).read_unaligned() as u64,
            _ => (p as *const u64).read_unaligned(),
        }
    }
}

/// Store the low `size` bytes (1, 2, 4 or 8) of `value` at `addr`.
///
/// # Safety
/// `[addr, addr + size)` must have been checked to lie in a writable region.
#[inline(always)]
pub unsafe fn store(addr: u64, size: usize, value: u64) {
    let p = addr as *mut u8;
    // SAFETY: guaranteed by the caller; unaligned writes are allowed by write_unaligned.
    unsafe {
        match size {
            1 => p.write(value as u8),
            2 => (p as *mut u16).write_unaligned(value as u16),
            4 => (p as *mut u32).write_unaligned(value as u32),
            _ => (p as *mut u64).write_unaligned(value),
        }
    }
}

/// Perform an atomic operation of `size` (4 or 8) bytes at `addr` with operand `src`;
/// `r0` is the comparand of cmpxchg. Returns the old value (zero-extended for 4 bytes).
///
/// # Safety
/// `[addr, addr + size)` must have been checked to lie in a writable region, and `addr`
/// must be aligned to `size`.
#[inline]
pub unsafe fn atomic(addr: u64, size: usize, op: AtomicOp, src: u64, r0: u64) -> u64 {
    let ord = Ordering::SeqCst;
    if size == 4 {
        // SAFETY: aligned, in bounds and writable per the caller; other threads only access
        // this memory atomically or through the same primitives.
        let a = unsafe { AtomicU32::from_ptr(addr as *mut u32) };
        let s = src as u32;
        (match op {
            AtomicOp::Add | AtomicOp::FetchAdd => a.fetch_add(s, ord),
            AtomicOp::Or | AtomicOp::FetchOr => a.fetch_or(s, ord),
            AtomicOp::And | AtomicOp::FetchAnd => a.fetch_and(s, ord),
            AtomicOp::Xor | AtomicOp::FetchXor => a.fetch_xor(s, ord),
            AtomicOp::Xchg => a.swap(s, ord),
            AtomicOp::CmpXchg => match a.compare_exchange(r0 as u32, s, ord, ord) {
                Ok(v) | Err(v) => v,
            },
        }) as u64
    } else {
        // SAFETY: as above, for 8 bytes.
        let a = unsafe { AtomicU64::from_ptr(addr as *mut u64) };
        match op {
            AtomicOp::Add | AtomicOp::FetchAdd => a.fetch_add(src, ord),
            AtomicOp::Or | AtomicOp::FetchOr => a.fetch_or(src, ord),
            AtomicOp::And | AtomicOp::FetchAnd => a.fetch_and(src, ord),
            AtomicOp::Xor | AtomicOp::FetchXor => a.fetch_xor(src, ord),
            AtomicOp::Xchg => a.swap(src, ord),
            AtomicOp::CmpXchg => match a.compare_exchange(r0, src, ord, ord) {
                Ok(v) | Err(v) => v,
            },
        }
    }
}
