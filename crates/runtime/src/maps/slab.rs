//! Element slots of hash maps and LPM tries: a free list plus bump allocation.
//!
//! Takes the element area of a region (first offset, element size, count); gives
//! [`Slab::alloc`] and [`Slab::free`] of 1-based element indices, and keeps the element count
//! in the header. The first 4 bytes of every element are its `next` link (bucket chain or
//! free list). Elements never move, so a value pointer stays valid while its element exists.

use super::header::{S_BUMP, S_COUNT, S_FREE_HEAD, S_FREE_LOCK};
use super::storage::Storage;
use super::MapError;

/// Offset of the `next` link inside an element.
pub(crate) const NEXT: usize = 0;

/// The element area of a region.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Slab {
    /// Offset of element 1.
    pub first: usize,
    /// Bytes per element (a multiple of 8).
    pub elem_size: usize,
    /// Number of elements.
    pub count: u32,
}

impl Slab {
    /// Offset of element `idx` (1-based), or an error if `idx` is out of range (a corrupt
    /// link in the shared region).
    #[inline]
    pub(crate) fn off(&self, idx: u32) -> Result<usize, MapError> {
        if idx == 0 || idx > self.count {
            return Err(MapError::Corrupt("element index out of range"));
        }
        Ok(self.first + (idx as usize - 1) * self.elem_size)
    }

    /// Take a free element; `None` when all are in use.
    pub(crate) fn alloc(&self, st: &Storage) -> Result<Option<u32>, MapError> {
        let _g = st.lock(S_FREE_LOCK);
        let head = st.get32(S_FREE_HEAD);
        let idx = if head != 0 {
            let next = st.get32(self.off(head)? + NEXT);
            st.set32(S_FREE_HEAD, next);
            head
        } else {
            let bump = st.get32(S_BUMP);
            if bump >= self.count {
                return Ok(None);
            }
            st.set32(S_BUMP, bump + 1);
            bump + 1
        };
        st.set32(S_COUNT, st.get32(S_COUNT).wrapping_add(1));
        Ok(Some(idx))
    }

    /// Return element `idx` to the free list.
    pub(crate) fn free(&self, st: &Storage, idx: u32) -> Result<(), MapError> {
        let off = self.off(idx)?;
        let _g = st.lock(S_FREE_LOCK);
        st.set32(off + NEXT, st.get32(S_FREE_HEAD));
        st.set32(S_FREE_HEAD, idx);
        st.set32(S_COUNT, st.get32(S_COUNT).wrapping_sub(1));
        Ok(())
    }

    /// Elements in use.
    pub(crate) fn in_use(&self, st: &Storage) -> u32 {
        st.get32(S_COUNT)
    }

    /// Elements ever handed out (indices `1..=bumped` may be in use).
    pub(crate) fn bumped(&self, st: &Storage) -> u32 {
        st.get32(S_BUMP).min(self.count)
    }
}
