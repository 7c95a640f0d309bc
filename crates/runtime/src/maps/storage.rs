//! The memory-mapped storage of one map, and the only `unsafe` code of the maps.
//!
//! Takes a length (anonymous shared mapping) or a file (pinned map); gives [`Storage`], which
//! turns byte offsets inside the region into atomics and byte copies after a bounds check, and
//! [`SpinLock`], a lock word that lives inside the region so that it works across threads and
//! across processes that map the same file.
//!
//! Offsets handed to these accessors are computed from a validated layout (and element indices
//! read from the region are validated before use), so the bounds checks here only catch
//! internal bugs.
//!
//! Lock words are sequence locks ([`SpinLock`]): lookups from programs read hash chains
//! without taking them and retry when a writer intervened; the bytes they read meanwhile
//! (keys) may be torn by that writer, and the retry discards them.
//!
//! Programs write map values through raw addresses while user space may copy the same bytes;
//! as in the kernel, such concurrent plain accesses can observe torn values. Atomic accesses
//! of programs (and of this module) are real atomic instructions on the shared memory.

use std::fs::File;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use memmap2::{MmapOptions, MmapRaw};

use super::MapError;

/// `copy_nonoverlapping` with the common value and key sizes as fixed-size copies (single
/// moves instead of a call of `memcpy`).
///
/// # Safety
/// As `std::ptr::copy_nonoverlapping(src, dst, len)`.
#[inline(always)]
unsafe fn copy(src: *const u8, dst: *mut u8, len: usize) {
    // SAFETY: the caller's contract, for the same `len` bytes.
    unsafe {
        match len {
            4 => std::ptr::copy_nonoverlapping(src, dst, 4),
            8 => std::ptr::copy_nonoverlapping(src, dst, 8),
            16 => std::ptr::copy_nonoverlapping(src, dst, 16),
            _ => std::ptr::copy_nonoverlapping(src, dst, len),
        }
    }
}

/// One contiguous memory-mapped region.
#[derive(Debug)]
pub(crate) struct Storage {
    map: MmapRaw,
}

impl Storage {
    /// A zero-filled anonymous shared mapping of `len` bytes.
    pub(crate) fn anonymous(len: usize) -> Result<Storage, MapError> {
        let map = MmapOptions::new()
            .len(len)
            .map_anon()
            .map_err(|e| MapError::NoMemory {
                reason: format!("cannot map {len} bytes: {e}"),
            })?;
        Ok(Storage { map: map.into() })
    }

    /// A shared read-write mapping of the whole of `file`.
    pub(crate) fn file(file: &File) -> Result<Storage, std::io::Error> {
        let map = MmapOptions::new().map_raw(file)?;
        Ok(Storage { map })
    }

    /// Length of the region in bytes.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }

    /// Address of the first byte.
    #[inline]
    pub(crate) fn base(&self) -> u64 {
        self.map.as_mut_ptr() as u64
    }

    /// Host address of `off` (checked to be inside the region).
    #[inline]
    pub(crate) fn addr(&self, off: usize) -> u64 {
        self.check(off, 0);
        self.base() + off as u64
    }

    /// Offset of a host address inside the region, if it lies inside `[0, len - size]`.
    #[inline]
    pub(crate) fn offset_of(&self, addr: u64, size: usize) -> Option<usize> {
        let off = addr.checked_sub(self.base())? as usize;
        (off.checked_add(size)? <= self.len()).then_some(off)
    }

    #[inline(always)]
    fn check(&self, off: usize, len: usize) {
        let ok = off.checked_add(len).is_some_and(|end| end <= self.len());
        assert!(ok, "map storage access out of bounds (internal error)");
    }

    /// The 32-bit atomic at `off` (4-byte aligned).
    #[inline]
    pub(crate) fn u32_at(&self, off: usize) -> &AtomicU32 {
        self.check(off, 4);
        assert!(off.is_multiple_of(4), "unaligned map word (internal error)");
        // SAFETY: in bounds and aligned (checked above; the mapping is page aligned); the
        // mapping lives as long as `self`; every access to lock and counter words goes through
        // atomics, from this process or another one mapping the same file.
        unsafe { AtomicU32::from_ptr(self.map.as_mut_ptr().add(off).cast::<u32>()) }
    }

    /// The 64-bit atomic at `off` (8-byte aligned).
    #[inline]
    pub(crate) fn u64_at(&self, off: usize) -> &AtomicU64 {
        self.check(off, 8);
        assert!(off.is_multiple_of(8), "unaligned map word (internal error)");
        // SAFETY: as for `u32_at`, for 8 bytes.
        unsafe { AtomicU64::from_ptr(self.map.as_mut_ptr().add(off).cast::<u64>()) }
    }

    /// The region as 32-bit atomics, word `i` at offset `4 * i`: one bounds check per access
    /// for hot loops that read many words (lock-free lookups).
    #[inline]
    pub(crate) fn words(&self) -> &[AtomicU32] {
        // SAFETY: the mapping is page aligned (so 4-byte aligned) and `len / 4` words long,
        // alive as long as `self`; as for `u32_at`, words are accessed atomically only.
        unsafe {
            std::slice::from_raw_parts(self.map.as_mut_ptr().cast::<AtomicU32>(), self.len() / 4)
        }
    }

    /// Load a 32-bit word (relaxed).
    #[inline]
    pub(crate) fn get32(&self, off: usize) -> u32 {
        self.u32_at(off).load(Ordering::Relaxed)
    }

    /// Store a 32-bit word (relaxed).
    #[inline]
    pub(crate) fn set32(&self, off: usize, v: u32) {
        self.u32_at(off).store(v, Ordering::Relaxed)
    }

    /// Load a 64-bit word (relaxed).
    #[inline]
    pub(crate) fn get64(&self, off: usize) -> u64 {
        self.u64_at(off).load(Ordering::Relaxed)
    }

    /// Store a 64-bit word (relaxed).
    #[inline]
    pub(crate) fn set64(&self, off: usize, v: u64) {
        self.u64_at(off).store(v, Ordering::Relaxed)
    }

    /// Copy `out.len()` bytes from `off` into `out`.
    #[inline]
    pub(crate) fn read(&self, off: usize, out: &mut [u8]) {
        self.check(off, out.len());
        // SAFETY: the source range is inside the mapping (checked) and `out` is a distinct
        // Rust buffer. Concurrent plain stores by programs may be observed torn (see the
        // module documentation); no reference to the mapped bytes is created.
        unsafe { copy(self.map.as_ptr().add(off), out.as_mut_ptr(), out.len()) }
    }

    /// Copy `data` into the region at `off`.
    #[inline]
    pub(crate) fn write(&self, off: usize, data: &[u8]) {
        self.check(off, data.len());
        // SAFETY: the destination range is inside the writable mapping (checked) and `data`
        // is a distinct Rust buffer; no reference to the mapped bytes is created.
        unsafe { copy(data.as_ptr(), self.map.as_mut_ptr().add(off), data.len()) }
    }

    /// Zero `len` bytes at `off`.
    #[inline]
    pub(crate) fn zero(&self, off: usize, len: usize) {
        self.check(off, len);
        // SAFETY: the range is inside the writable mapping (checked).
        unsafe { std::ptr::write_bytes(self.map.as_mut_ptr().add(off), 0, len) }
    }

    /// Whether the `key.len()` bytes at `off` equal `key`.
    #[inline]
    pub(crate) fn eq(&self, off: usize, key: &[u8]) -> bool {
        // The common key sizes as fixed-size copies and one comparison.
        fn fixed<const N: usize>(st: &Storage, off: usize, key: &[u8]) -> bool {
            let mut buf = [0u8; N];
            st.read(off, &mut buf);
            buf[..] == key[..N]
        }
        match key.len() {
            4 => return fixed::<4>(self, off, key),
            8 => return fixed::<8>(self, off, key),
            16 => return fixed::<16>(self, off, key),
            _ => {}
        }
        let mut buf = [0u8; 64];
        let mut done = 0;
        while done < key.len() {
            let n = (key.len() - done).min(buf.len());
            self.read(off + done, &mut buf[..n]);
            if buf[..n] != key[done..done + n] {
                return false;
            }
            done += n;
        }
        true
    }

    /// Flush a file-backed mapping to its file (no-op cost for anonymous mappings).
    pub(crate) fn flush(&self) -> std::io::Result<()> {
        self.map.flush()
    }

    /// Take the spin lock whose word is at `off`.
    #[inline]
    pub(crate) fn lock(&self, off: usize) -> SpinLock<'_> {
        SpinLock::acquire(self.u32_at(off))
    }

    /// Start a read without the lock whose word is at `off` (see [`SpinLock`]): the word's
    /// value, or `None` while a writer holds it.
    #[inline]
    pub(crate) fn seq_begin(&self, off: usize) -> Option<u32> {
        let v = self.u32_at(off).load(Ordering::Acquire);
        (v & 1 == 0).then_some(v)
    }

    /// Whether no writer took the lock at `off` since [`Storage::seq_begin`] gave `seq`:
    /// then everything read in between is a consistent snapshot (writers change what the
    /// lock guards only while holding it).
    #[inline]
    pub(crate) fn seq_valid(&self, off: usize, seq: u32) -> bool {
        // The reads in between must complete before the word is read again.
        std::sync::atomic::fence(Ordering::Acquire);
        self.u32_at(off).load(Ordering::Relaxed) == seq
    }
}

/// A held spin lock on a word inside a map region; released on drop.
///
/// The word is a sequence lock: even when free, odd when held; taking it adds one and
/// releasing it adds one more, so every critical section moves the word on by two. Readers
/// that do not take the lock ([`Storage::seq_begin`], [`Storage::seq_valid`]) read the word
/// before and after their reads and retry when it changed or was odd. It works across
/// processes sharing a pinned map. A process that dies while holding it leaves it held (the
/// map must then be recreated).
pub(crate) struct SpinLock<'a> {
    word: &'a AtomicU32,
    /// The (odd) value the word has while held.
    held: u32,
}

impl<'a> SpinLock<'a> {
    #[inline]
    fn acquire(word: &'a AtomicU32) -> SpinLock<'a> {
        let mut spins = 0u32;
        loop {
            let v = word.load(Ordering::Relaxed);
            if v & 1 == 0 {
                let held = v.wrapping_add(1);
                if word
                    .compare_exchange_weak(v, held, Ordering::Acquire, Ordering::Relaxed)
                    .is_ok()
                {
                    return SpinLock { word, held };
                }
                continue;
            }
            spins += 1;
            if spins < 64 {
                std::hint::spin_loop();
            } else {
                std::thread::yield_now();
            }
        }
    }
}

impl Drop for SpinLock<'_> {
    #[inline]
    fn drop(&mut self) {
        self.word
            .store(self.held.wrapping_add(1), Ordering::Release);
    }
}
