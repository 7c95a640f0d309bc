//! `BPF_MAP_TYPE_PROG_ARRAY` and `BPF_MAP_TYPE_ARRAY_OF_MAPS`: arrays of object references.
//!
//! Takes a spec with `key_size == 4` and `value_size == 4`; gives slots that each hold the id
//! of an object, a program (prog_array, for tail calls) or a map (array_of_maps), or nothing.
//! In the kernel user space stores file descriptors and reads back ids; here the ids are the
//! program and map numbers of the owning instance (see `crate::instance`), which also
//! checks them. Each slot is a u32 word holding `id + 1` (0 = empty), read and written
//! atomically, so tail calls and lookups take no lock. As in the kernel's fd arrays: update
//! flags other than `BPF_ANY` are `EINVAL`, indices beyond `max_entries` `E2BIG` (update,
//! delete) or `ENOENT` (lookup), delete of an empty slot `ENOENT`, and lookups of empty slots
//! `ENOENT`.

use std::sync::atomic::Ordering;

use super::header::{Layout, HEADER_LEN};
use super::storage::Storage;
use super::types::*;
use super::{region_len, MapError};

/// A prog_array's or array_of_maps' layout.
#[derive(Clone, Copy, Debug)]
pub(crate) struct FdArray {
    max_entries: u32,
}

impl FdArray {
    /// Check the spec as the kernel's `fd_array_map_alloc_check` and lay out the region.
    pub(crate) fn new(spec: &MapSpec) -> Result<(FdArray, Layout), MapError> {
        check_flags(spec, BPF_F_NUMA_NODE | BPF_F_ACCESS_MASK)?;
        if spec.max_entries == 0 || spec.key_size != 4 || spec.value_size != 4 {
            return Err(MapError::invalid(format!(
                "{} maps need key_size 4, value_size 4 and max_entries > 0",
                spec.map_type
            )));
        }
        let total = region_len(HEADER_LEN as u64, 4 * spec.max_entries as u64)?;
        let layout = Layout {
            total_len: total,
            data_off: HEADER_LEN as u64,
            meta: [4, 0, 0, 0, 0, 0, 0, 0],
        };
        Ok((
            FdArray {
                max_entries: spec.max_entries,
            },
            layout,
        ))
    }

    fn index(key: &[u8]) -> Result<u32, MapError> {
        super::array::index_key(key)
    }

    fn off(idx: u32) -> usize {
        HEADER_LEN + 4 * idx as usize
    }

    /// Number of slots.
    pub(crate) fn max_entries(&self) -> u32 {
        self.max_entries
    }

    /// The id in slot `idx`, `None` if empty or out of range.
    #[inline]
    pub(crate) fn get(&self, st: &Storage, idx: u32) -> Option<u32> {
        if idx >= self.max_entries {
            return None;
        }
        st.u32_at(Self::off(idx))
            .load(Ordering::Acquire)
            .checked_sub(1)
    }

    /// User-space lookup: the id as 4 bytes.
    pub(crate) fn lookup(&self, st: &Storage, key: &[u8]) -> Result<Vec<u8>, MapError> {
        let idx = Self::index(key)?;
        self.get(st, idx)
            .map(|id| id.to_ne_bytes().to_vec())
            .ok_or(MapError::NotFound)
    }

    /// Store `value` (a u32 id) in slot `key`.
    pub(crate) fn update(
        &self,
        st: &Storage,
        key: &[u8],
        value: &[u8],
        flags: u64,
    ) -> Result<(), MapError> {
        if flags != BPF_ANY {
            return Err(MapError::BadUpdateFlags { flags });
        }
        let idx = Self::index(key)?;
        let v: [u8; 4] = value.try_into().map_err(|_| MapError::WrongSize {
            what: "value",
            expected: 4,
            got: value.len(),
        })?;
        if idx >= self.max_entries {
            return Err(MapError::IndexOutOfRange {
                index: idx,
                max_entries: self.max_entries,
            });
        }
        let id = u32::from_ne_bytes(v);
        let stored = id
            .checked_add(1)
            .ok_or_else(|| MapError::invalid(format!("id {id} is out of range")))?;
        st.u32_at(Self::off(idx)).store(stored, Ordering::Release);
        Ok(())
    }

    /// Empty slot `key`.
    pub(crate) fn delete(&self, st: &Storage, key: &[u8]) -> Result<(), MapError> {
        let idx = Self::index(key)?;
        if idx >= self.max_entries {
            return Err(MapError::IndexOutOfRange {
                index: idx,
                max_entries: self.max_entries,
            });
        }
        match st.u32_at(Self::off(idx)).swap(0, Ordering::AcqRel) {
            0 => Err(MapError::NotFound),
            _ => Ok(()),
        }
    }

    /// The kernel's `array_map_get_next_key` (every index, empty or not).
    pub(crate) fn get_next_key(&self, key: Option<&[u8]>) -> Result<Vec<u8>, MapError> {
        super::array::array_next_key(key, self.max_entries)
    }

    /// Occupied slots.
    pub(crate) fn len(&self, st: &Storage) -> usize {
        (0..self.max_entries)
            .filter(|i| self.get(st, *i).is_some())
            .count()
    }
}
