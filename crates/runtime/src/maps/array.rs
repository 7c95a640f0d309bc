//! `BPF_MAP_TYPE_ARRAY` and `BPF_MAP_TYPE_PERCPU_ARRAY`.
//!
//! Takes a spec with `key_size == 4`; gives fixed slots indexed by a host-endian u32, all
//! present from creation (zero-filled). Each slot is the value rounded up to 8 bytes (per-CPU:
//! one such slot per CPU, CPU 0 first). Updates from user space copy under the map lock;
//! programs get the slot address and change it in place. Kernel errors: update beyond
//! `max_entries` is `E2BIG`, lookup beyond it `ENOENT`, `BPF_NOEXIST` is `EEXIST`, delete is
//! `EINVAL`.

use super::header::{Layout, HEADER_LEN, S_GLOBAL_LOCK};
use super::storage::Storage;
use super::types::*;
use super::{region_len, MapError, Writer};

/// An array's layout.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ArrayMap {
    max_entries: u32,
    value_size: usize,
    /// Value rounded up to 8.
    slot: usize,
    /// CPUs with a slot each (1 for plain arrays).
    ncpus: usize,
    percpu: bool,
    data_off: usize,
}

impl ArrayMap {
    /// Check the spec as the kernel's `array_map_alloc_check` and lay out the region.
    pub(crate) fn new(spec: &MapSpec, ncpus: u32) -> Result<(ArrayMap, Layout), MapError> {
        let percpu = spec.map_type == MapType::PercpuArray;
        let mut allowed =
            BPF_F_NUMA_NODE | BPF_F_ACCESS_MASK | BPF_F_PRESERVE_ELEMS | BPF_F_INNER_MAP;
        if !percpu {
            allowed |= BPF_F_MMAPABLE;
        }
        check_flags(spec, allowed)?;
        if spec.max_entries == 0 || spec.key_size != 4 || spec.value_size == 0 {
            return Err(MapError::invalid(
                "array maps need key_size 4, value_size > 0 and max_entries > 0",
            ));
        }
        let slot = round8(spec.value_size as usize);
        if percpu && slot > 32768 {
            return Err(MapError::TooLarge {
                reason: format!("per-CPU value of {} bytes exceeds 32768", spec.value_size),
            });
        }
        let n = if percpu { ncpus as usize } else { 1 };
        let stride = (slot as u64) * n as u64;
        let data = stride * spec.max_entries as u64;
        let total = region_len(HEADER_LEN as u64, data)?;
        let map = ArrayMap {
            max_entries: spec.max_entries,
            value_size: spec.value_size as usize,
            slot,
            ncpus: n,
            percpu,
            data_off: HEADER_LEN,
        };
        let layout = Layout {
            total_len: total,
            data_off: HEADER_LEN as u64,
            meta: [slot as u64, n as u64, stride, 0, 0, 0, 0, 0],
        };
        Ok((map, layout))
    }

    fn stride(&self) -> usize {
        self.slot * self.ncpus
    }

    fn index(&self, key: &[u8]) -> Result<u32, MapError> {
        index_key(key)
    }

    fn off(&self, idx: u32) -> usize {
        self.data_off + idx as usize * self.stride()
    }

    /// Bytes a user-space value has (per-CPU: every CPU's value, each rounded up to 8).
    pub(crate) fn user_value_size(&self) -> usize {
        if self.percpu {
            self.stride()
        } else {
            self.value_size
        }
    }

    /// The value (all CPUs for per-CPU arrays).
    pub(crate) fn lookup(&self, st: &Storage, key: &[u8]) -> Result<Vec<u8>, MapError> {
        let idx = self.index(key)?;
        if idx >= self.max_entries {
            return Err(MapError::NotFound);
        }
        let mut out = vec![0u8; self.user_value_size()];
        let _g = st.lock(S_GLOBAL_LOCK);
        st.read(self.off(idx), &mut out);
        Ok(out)
    }

    /// Address of the value (of `cpu`'s slot for per-CPU arrays).
    pub(crate) fn lookup_ptr(&self, st: &Storage, key: &[u8], cpu: usize) -> Option<u64> {
        let idx = self.index(key).ok()?;
        if idx >= self.max_entries {
            return None;
        }
        let cpu = if self.percpu { cpu % self.ncpus } else { 0 };
        Some(st.addr(self.off(idx) + cpu * self.slot))
    }

    /// Overwrite a value.
    #[inline]
    pub(crate) fn update(
        &self,
        st: &Storage,
        key: &[u8],
        value: &[u8],
        flags: u64,
        who: Writer,
    ) -> Result<(), MapError> {
        check_update_flags(flags)?;
        let idx = self.index(key)?;
        let expected = match who {
            Writer::User => self.user_value_size(),
            Writer::Program(_) => self.value_size,
        };
        if value.len() != expected {
            return Err(MapError::WrongSize {
                what: "value",
                expected,
                got: value.len(),
            });
        }
        if idx >= self.max_entries {
            return Err(MapError::IndexOutOfRange {
                index: idx,
                max_entries: self.max_entries,
            });
        }
        if flags & BPF_NOEXIST != 0 {
            return Err(MapError::Exists);
        }
        let off = self.off(idx);
        if let Writer::Program(cpu) = who {
            // As the kernel's array_map_update_elem: a plain copy, no lock (programs also
            // write values in place through pointers; concurrent readers may see torn
            // values either way).
            let cpu = if self.percpu { cpu % self.ncpus } else { 0 };
            st.write(off + cpu * self.slot, value);
            return Ok(());
        }
        let _g = st.lock(S_GLOBAL_LOCK);
        match who {
            Writer::User if self.percpu => {
                for c in 0..self.ncpus {
                    let src = &value[c * self.slot..c * self.slot + self.value_size];
                    st.write(off + c * self.slot, src);
                }
            }
            _ => st.write(off, value),
        }
        Ok(())
    }

    /// The kernel's `array_map_get_next_key`.
    pub(crate) fn get_next_key(&self, key: Option<&[u8]>) -> Result<Vec<u8>, MapError> {
        array_next_key(key, self.max_entries)
    }
}

/// The index an array-like map's 4-byte key holds (array, prog_array, perf_event_array,
/// devmap, array_of_maps).
#[inline]
pub(crate) fn index_key(key: &[u8]) -> Result<u32, MapError> {
    let k: [u8; 4] = key.try_into().map_err(|_| MapError::WrongSize {
        what: "key",
        expected: 4,
        got: key.len(),
    })?;
    Ok(u32::from_ne_bytes(k))
}

/// The kernel's `array_map_get_next_key`, for every array-like map: the index after `key`;
/// index 0 for no key or a key past the end; ENOENT after the last index.
pub(crate) fn array_next_key(key: Option<&[u8]>, max_entries: u32) -> Result<Vec<u8>, MapError> {
    let idx = match key {
        Some(k) => index_key(k)?,
        None => u32::MAX,
    };
    if idx >= max_entries {
        return Ok(0u32.to_ne_bytes().to_vec());
    }
    if idx == max_entries - 1 {
        return Err(MapError::NotFound);
    }
    Ok((idx + 1).to_ne_bytes().to_vec())
}
