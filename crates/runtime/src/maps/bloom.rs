//! `BPF_MAP_TYPE_BLOOM_FILTER`.
//!
//! Takes a spec with `key_size == 0`, `value_size > 0` and the number of hash functions in
//! the low 4 bits of `map_extra` (0 means 5, as in the kernel); gives push (add a value) and
//! peek (`ENOENT` when the value is certainly absent). The bit array has
//! `max_entries * nr_hash_funcs / ln 2` bits rounded up to a power of two, set with atomic
//! OR, so no lock is needed. The hash seed is random unless `BPF_F_ZERO_SEED` is set.
//! Pop and delete are `EOPNOTSUPP`.

use std::sync::atomic::Ordering;

use super::header::{Layout, HEADER_LEN};
use super::storage::Storage;
use super::types::*;
use super::{hash_bytes, region_len, MapError};

/// A bloom filter's layout.
#[derive(Clone, Copy, Debug)]
pub(crate) struct BloomFilter {
    value_size: usize,
    nr_hash: u32,
    /// Bits in the array minus one (a power of two minus one).
    mask: u64,
    seed: u64,
}

impl BloomFilter {
    /// Check the spec as the kernel's `bloom_map_alloc` and lay out the region.
    pub(crate) fn new(spec: &MapSpec, seed: u64) -> Result<(BloomFilter, Layout), MapError> {
        check_flags(spec, BPF_F_NUMA_NODE | BPF_F_ZERO_SEED | BPF_F_ACCESS_MASK)?;
        if spec.key_size != 0
            || spec.value_size == 0
            || spec.max_entries == 0
            || spec.map_extra & !0xf != 0
        {
            return Err(MapError::invalid(
                "bloom filters need key_size 0, value_size > 0, max_entries > 0 and map_extra < 16",
            ));
        }
        let nr_hash = match spec.map_extra & 0xf {
            0 => 5,
            n => n as u32,
        };
        let want = (spec.max_entries as u64 * nr_hash as u64 * 7).div_ceil(5);
        let bits = want.clamp(64, 1 << 32).next_power_of_two();
        let total = region_len(HEADER_LEN as u64, bits / 8)?;
        let b = BloomFilter {
            value_size: spec.value_size as usize,
            nr_hash,
            mask: bits - 1,
            seed,
        };
        let layout = Layout {
            total_len: total,
            data_off: HEADER_LEN as u64,
            meta: [bits, nr_hash as u64, 0, 0, 0, 0, 0, 0],
        };
        Ok((b, layout))
    }

    fn bits<'s>(&'s self, value: &'s [u8]) -> impl Iterator<Item = (usize, u64)> + 's {
        (0..self.nr_hash).map(move |i| {
            let h = hash_bytes(self.seed.wrapping_add(i as u64), value) & self.mask;
            (HEADER_LEN + (h / 64) as usize * 8, 1u64 << (h % 64))
        })
    }

    fn check(&self, value: &[u8]) -> Result<(), MapError> {
        if value.len() != self.value_size {
            return Err(MapError::WrongSize {
                what: "value",
                expected: self.value_size,
                got: value.len(),
            });
        }
        Ok(())
    }

    /// Add `value`.
    pub(crate) fn push(&self, st: &Storage, value: &[u8], flags: u64) -> Result<(), MapError> {
        if flags != BPF_ANY {
            return Err(MapError::BadUpdateFlags { flags });
        }
        self.check(value)?;
        for (off, bit) in self.bits(value) {
            st.u64_at(off).fetch_or(bit, Ordering::Relaxed);
        }
        Ok(())
    }

    /// `Ok` if `value` may be present, `NotFound` if it is certainly absent.
    pub(crate) fn peek(&self, st: &Storage, value: &[u8]) -> Result<(), MapError> {
        self.check(value)?;
        for (off, bit) in self.bits(value) {
            if st.u64_at(off).load(Ordering::Relaxed) & bit == 0 {
                return Err(MapError::NotFound);
            }
        }
        Ok(())
    }
}
