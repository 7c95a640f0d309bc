//! `BPF_MAP_TYPE_LPM_TRIE`: longest-prefix match.
//!
//! Takes a spec with `BPF_F_NO_PREALLOC` (as the kernel requires), `key_size` from 5 to 260
//! (a host-endian u32 prefix length followed by the data, compared most significant bit
//! first, i.e. network order) and `value_size > 0`; gives exact-prefix update and delete and
//! longest-prefix lookup. Elements are slots `{next u32, used u32, prefixlen u32, pad u32,
//! data (rounded to 8), value (rounded to 8)}` that never move, so a value pointer stays valid
//! while its prefix exists. Every operation takes the map lock and scans the slots (linear in
//! `max_entries`; the kernel walks a trie). Errors as the kernel: prefix length above
//! `8 * (key_size - 4)` is `EINVAL`, a full trie `ENOSPC`. Iteration order is the kernel's
//! post-order: more specific prefixes before the prefixes that contain them.

use std::cmp::Ordering;

use super::header::{Layout, HEADER_LEN, S_GLOBAL_LOCK};
use super::slab::Slab;
use super::storage::Storage;
use super::types::*;
use super::{region_len, MapError};

const USED: usize = 4;
const PLEN: usize = 8;
const DATA: usize = 16;

/// An LPM trie's layout.
#[derive(Clone, Copy, Debug)]
pub(crate) struct LpmTrie {
    data_size: usize,
    value_size: usize,
    max_entries: u32,
    val: usize,
    slab: Slab,
}

/// Whether the first `bits` bits of `a` and `b` agree.
fn prefix_eq(a: &[u8], b: &[u8], bits: u32) -> bool {
    let full = (bits / 8) as usize;
    if a[..full] != b[..full] {
        return false;
    }
    let rest = bits % 8;
    if rest == 0 {
        return true;
    }
    let mask = 0xffu8 << (8 - rest);
    a[full] & mask == b[full] & mask
}

/// Bit `i` of `data`, most significant first.
fn bit(data: &[u8], i: u32) -> u8 {
    (data[(i / 8) as usize] >> (7 - i % 8)) & 1
}

/// Post-order of prefixes: where they differ, the 0 branch first; a prefix after the longer
/// prefixes it contains.
fn postorder(a: (u32, &[u8]), b: (u32, &[u8])) -> Ordering {
    let common = a.0.min(b.0);
    for i in 0..common {
        let (x, y) = (bit(a.1, i), bit(b.1, i));
        if x != y {
            return x.cmp(&y);
        }
    }
    b.0.cmp(&a.0)
}

impl LpmTrie {
    /// Check the spec as the kernel's `trie_alloc` and lay out the region.
    pub(crate) fn new(spec: &MapSpec) -> Result<(LpmTrie, Layout), MapError> {
        check_flags(
            spec,
            BPF_F_NO_PREALLOC | BPF_F_NUMA_NODE | BPF_F_ACCESS_MASK,
        )?;
        if spec.flags & BPF_F_NO_PREALLOC == 0 {
            return Err(MapError::invalid("LPM tries need BPF_F_NO_PREALLOC"));
        }
        if spec.max_entries == 0
            || !(5..=260).contains(&spec.key_size)
            || spec.value_size == 0
            || spec.value_size as u64 >= (1 << 22)
        {
            return Err(MapError::invalid(
                "LPM tries need key_size 5..=260, value_size > 0 and max_entries > 0",
            ));
        }
        let data_size = spec.key_size as usize - 4;
        let val = DATA + round8(data_size);
        let elem_size = val + round8(spec.value_size as usize);
        let total = region_len(
            HEADER_LEN as u64,
            elem_size as u64 * spec.max_entries as u64,
        )?;
        let trie = LpmTrie {
            data_size,
            value_size: spec.value_size as usize,
            max_entries: spec.max_entries,
            val,
            slab: Slab {
                first: HEADER_LEN,
                elem_size,
                count: spec.max_entries,
            },
        };
        let layout = Layout {
            total_len: total,
            data_off: HEADER_LEN as u64,
            meta: [elem_size as u64, 0, 0, 0, 0, 0, 0, 0],
        };
        Ok((trie, layout))
    }

    fn max_prefixlen(&self) -> u32 {
        8 * self.data_size as u32
    }

    /// Split a key into prefix length and data.
    fn split<'k>(&self, key: &'k [u8]) -> Result<(u32, &'k [u8]), MapError> {
        if key.len() != 4 + self.data_size {
            return Err(MapError::WrongSize {
                what: "key",
                expected: 4 + self.data_size,
                got: key.len(),
            });
        }
        let plen = u32::from_ne_bytes([key[0], key[1], key[2], key[3]]);
        Ok((plen, &key[4..]))
    }

    /// Used slots as (prefixlen, data).
    fn entries(&self, st: &Storage) -> Result<Vec<(u32, Vec<u8>)>, MapError> {
        let mut out = Vec::new();
        for idx in 1..=self.slab.bumped(st) {
            let off = self.slab.off(idx)?;
            if st.get32(off + USED) == 0 {
                continue;
            }
            let plen = st.get32(off + PLEN);
            if plen > self.max_prefixlen() {
                return Err(MapError::Corrupt("LPM prefix length out of range"));
            }
            let mut data = vec![0u8; self.data_size];
            st.read(off + DATA, &mut data);
            out.push((plen, data));
        }
        Ok(out)
    }

    /// Find the slot matching `(plen, data)`: exact prefix, or the longest prefix containing
    /// it. Map lock held.
    fn find(
        &self,
        st: &Storage,
        plen: u32,
        data: &[u8],
        exact: bool,
    ) -> Result<Option<(u32, usize)>, MapError> {
        let mut best: Option<(u32, usize, u32)> = None;
        let mut buf = vec![0u8; self.data_size];
        for idx in 1..=self.slab.bumped(st) {
            let off = self.slab.off(idx)?;
            if st.get32(off + USED) == 0 {
                continue;
            }
            let p = st.get32(off + PLEN);
            if p > self.max_prefixlen() {
                return Err(MapError::Corrupt("LPM prefix length out of range"));
            }
            if (exact && p != plen) || p > plen || best.is_some_and(|b| b.2 >= p) {
                continue;
            }
            st.read(off + DATA, &mut buf);
            if prefix_eq(&buf, data, p) {
                best = Some((idx, off, p));
                if exact {
                    break;
                }
            }
        }
        Ok(best.map(|(i, o, _)| (i, o)))
    }

    /// The value of the longest prefix matching the key.
    pub(crate) fn lookup(&self, st: &Storage, key: &[u8]) -> Result<Vec<u8>, MapError> {
        let (plen, data) = self.split(key)?;
        if plen > self.max_prefixlen() {
            return Err(MapError::NotFound);
        }
        let _g = st.lock(S_GLOBAL_LOCK);
        let (_, off) = self
            .find(st, plen, data, false)?
            .ok_or(MapError::NotFound)?;
        let mut out = vec![0u8; self.value_size];
        st.read(off + self.val, &mut out);
        Ok(out)
    }

    /// Address of the value of the longest prefix matching the key.
    pub(crate) fn lookup_ptr(&self, st: &Storage, key: &[u8]) -> Result<Option<u64>, MapError> {
        let Ok((plen, data)) = self.split(key) else {
            return Ok(None);
        };
        if plen > self.max_prefixlen() {
            return Ok(None);
        }
        let _g = st.lock(S_GLOBAL_LOCK);
        Ok(self
            .find(st, plen, data, false)?
            .map(|(_, off)| st.addr(off + self.val)))
    }

    /// Insert or overwrite the exact prefix.
    pub(crate) fn update(
        &self,
        st: &Storage,
        key: &[u8],
        value: &[u8],
        flags: u64,
    ) -> Result<(), MapError> {
        if flags > BPF_EXIST {
            return Err(MapError::BadUpdateFlags { flags });
        }
        let (plen, data) = self.split(key)?;
        if value.len() != self.value_size {
            return Err(MapError::WrongSize {
                what: "value",
                expected: self.value_size,
                got: value.len(),
            });
        }
        if plen > self.max_prefixlen() {
            return Err(MapError::invalid(format!(
                "prefix length {plen} exceeds {}",
                self.max_prefixlen()
            )));
        }
        let _g = st.lock(S_GLOBAL_LOCK);
        if let Some((_, off)) = self.find(st, plen, data, true)? {
            if flags == BPF_NOEXIST {
                return Err(MapError::Exists);
            }
            // The kernel replaces the node, so the stored data becomes the new key's.
            st.write(off + DATA, data);
            st.write(off + self.val, value);
            return Ok(());
        }
        if flags == BPF_EXIST {
            return Err(MapError::NotFound);
        }
        let no_space = MapError::NoSpace {
            max_entries: self.max_entries,
        };
        let idx = self.slab.alloc(st)?.ok_or(no_space)?;
        let off = self.slab.off(idx)?;
        st.set32(off + PLEN, plen);
        st.write(off + DATA, data);
        st.zero(off + self.val, self.val_slot());
        st.write(off + self.val, value);
        st.set32(off + USED, 1);
        Ok(())
    }

    fn val_slot(&self) -> usize {
        round8(self.value_size)
    }

    /// Remove the exact prefix.
    pub(crate) fn delete(&self, st: &Storage, key: &[u8]) -> Result<(), MapError> {
        let (plen, data) = self.split(key)?;
        if plen > self.max_prefixlen() {
            return Err(MapError::invalid(format!(
                "prefix length {plen} exceeds {}",
                self.max_prefixlen()
            )));
        }
        let _g = st.lock(S_GLOBAL_LOCK);
        let (idx, off) = self.find(st, plen, data, true)?.ok_or(MapError::NotFound)?;
        st.set32(off + USED, 0);
        self.slab.free(st, idx)
    }

    /// The key after `key` in post-order (or the first key).
    pub(crate) fn get_next_key(
        &self,
        st: &Storage,
        key: Option<&[u8]>,
    ) -> Result<Vec<u8>, MapError> {
        let mut entries = {
            let _g = st.lock(S_GLOBAL_LOCK);
            self.entries(st)?
        };
        entries.sort_by(|a, b| postorder((a.0, &a.1), (b.0, &b.1)));
        let pos = match key {
            None => 0,
            Some(k) => {
                let (plen, data) = self.split(k)?;
                match entries.iter().position(|e| {
                    e.0 == plen && plen <= self.max_prefixlen() && prefix_eq(&e.1, data, plen)
                }) {
                    Some(p) => p + 1,
                    None => 0,
                }
            }
        };
        let (plen, data) = entries.get(pos).ok_or(MapError::NotFound)?;
        let mut out = plen.to_ne_bytes().to_vec();
        out.extend_from_slice(data);
        Ok(out)
    }

    /// Prefixes stored.
    pub(crate) fn len(&self, st: &Storage) -> u32 {
        self.slab.in_use(st)
    }
}
