//! `BPF_MAP_TYPE_HASH`, `PERCPU_HASH`, `LRU_HASH` and `LRU_PERCPU_HASH`.
//!
//! Takes a spec with `key_size > 0` (at most 512, the BPF stack) and `value_size > 0`; gives a
//! chained hash table in the region: `n_buckets` (max_entries rounded up to a power of two)
//! buckets of `{lock u32, head u32}`, then `max_entries` preallocated elements of
//! `{next u32, hash u32, lru_prev u32, lru_next u32, key (rounded to 8), value(s)}`.
//!
//! LRU hashes add the kernel's LRU lists after the elements (see [`super::lru`]).
//!
//! Plain hashes lock per bucket; LRU hashes take the map-wide lock for every update and
//! delete so that eviction can unlink an element from any bucket. Program lookups take no
//! lock: they walk the chain and retry when the lock's sequence moved (see
//! [`HashMap::lookup_ptr`]). LRU maps follow the kernel's
//! algorithm (`htab_lru_map_*` over `bpf_lru_list.c`): program lookups set the element's
//! reference bit, every new key takes a node from the LRU lists before the key is looked up
//! (so even a failing update may evict), and user-space lookups do not count as uses.
//! Updates of an existing key copy the value in place, so pointers that programs hold stay
//! valid (the kernel swaps in a new element; values are equal either way).
//! After a delete the element's slot may be reused by another key, as with the kernel's
//! preallocated maps, so a program must not keep a pointer across a deletion.
//!
//! Iteration order (`get_next_key`): buckets in order, each chain newest first; a key that
//! is not found restarts at the first element, as in the kernel.

use std::sync::atomic::{fence, Ordering};

use super::cpu::current_cpu;
use super::header::{Layout, HEADER_LEN, S_COUNT, S_GLOBAL_LOCK};
use super::lru::Lru;
use super::slab::{Slab, NEXT};
use super::storage::Storage;
use super::types::*;
use super::{hash_bytes, region_len, MapError, Writer};
use crate::kernel_helpers::map_fast::{HashInline, LruInline};

const HASH: usize = 4;
/// The multiplier of the hash of 4- and 8-byte keys.
const WORD_HASH_MUL: u64 = 0x9e37_79b9_7f4a_7c15;
/// Layout meta tag: keys of 1 and 2 bytes hash as words too (regions pinned before, which
/// hashed them with `hash_bytes`, are refused rather than misread).
const WORD_HASH_LAYOUT: u64 = 1;
// 8..16: the LRU links (`lru::PREV_OFF`).
const KEY: usize = 16;

/// The spec the kernel's `htab_map_alloc` keeps: with `BPF_F_NO_COMMON_LRU`, max_entries is
/// rounded up to a multiple of the CPU count (down if that overflows), so that every CPU's
/// LRU list has the same number of elements.
pub(crate) fn effective_spec(mut spec: MapSpec, ncpus: u32) -> MapSpec {
    let lru = matches!(spec.map_type, MapType::LruHash | MapType::LruPercpuHash);
    if lru && spec.flags & BPF_F_NO_COMMON_LRU != 0 && ncpus > 0 {
        let n = spec.max_entries;
        spec.max_entries = match n.div_ceil(ncpus).checked_mul(ncpus) {
            Some(up) => up,
            None => n / ncpus * ncpus,
        };
    }
    spec
}

/// A hash map's layout.
#[derive(Clone, Copy, Debug)]
pub(crate) struct HashMap {
    key_size: usize,
    value_size: usize,
    slot: usize,
    ncpus: usize,
    percpu: bool,
    lru: Option<Lru>,
    max_entries: u32,
    n_buckets: u32,
    buckets_off: usize,
    val: usize,
    slab: Slab,
    seed: u64,
}

/// Where a key was found: the element before it in the chain (0 = bucket head) and itself.
struct Found {
    prev: u32,
    idx: u32,
    off: usize,
}

impl HashMap {
    /// Check the spec as the kernel's `htab_map_alloc_check` and lay out the region.
    pub(crate) fn new(
        spec: &MapSpec,
        ncpus: u32,
        seed: u64,
    ) -> Result<(HashMap, Layout), MapError> {
        let t = spec.map_type;
        let percpu = t.is_percpu();
        let lru = matches!(t, MapType::LruHash | MapType::LruPercpuHash);
        check_flags(
            spec,
            BPF_F_NO_PREALLOC
                | BPF_F_NO_COMMON_LRU
                | BPF_F_NUMA_NODE
                | BPF_F_ACCESS_MASK
                | BPF_F_ZERO_SEED,
        )?;
        if !lru && spec.flags & BPF_F_NO_COMMON_LRU != 0 {
            return Err(MapError::invalid("BPF_F_NO_COMMON_LRU needs an LRU map"));
        }
        if lru && spec.flags & BPF_F_NO_PREALLOC != 0 {
            return Err(MapError::OpNotSupported {
                op: "BPF_F_NO_PREALLOC",
                map_type: t,
                errno: super::error::ENOTSUPP,
            });
        }
        if spec.flags & BPF_F_NUMA_NODE != 0 && (percpu || spec.flags & BPF_F_NO_COMMON_LRU != 0) {
            return Err(MapError::invalid("BPF_F_NUMA_NODE with per-CPU storage"));
        }
        if spec.max_entries == 0 || spec.key_size == 0 || spec.value_size == 0 {
            return Err(MapError::invalid(
                "hash maps need key_size, value_size and max_entries > 0",
            ));
        }
        if spec.key_size > 512 {
            return Err(MapError::TooLarge {
                reason: format!("key of {} bytes exceeds the 512-byte stack", spec.key_size),
            });
        }
        let slot = round8(spec.value_size as usize);
        if percpu && slot > 32768 {
            return Err(MapError::TooLarge {
                reason: format!("per-CPU value of {} bytes exceeds 32768", spec.value_size),
            });
        }
        if spec.value_size as u64 >= (1 << 22) {
            return Err(MapError::TooLarge {
                reason: format!("value of {} bytes is too large", spec.value_size),
            });
        }
        let n = if percpu { ncpus as usize } else { 1 };
        let n_buckets = spec
            .max_entries
            .checked_next_power_of_two()
            .ok_or_else(|| MapError::TooLarge {
                reason: "max_entries too large".to_string(),
            })?;
        let val = KEY + round8(spec.key_size as usize);
        let elem_size = val + slot * n;
        let buckets_off = HEADER_LEN;
        let elems_off = buckets_off as u64 + 8 * n_buckets as u64;
        let slab = Slab {
            first: elems_off as usize,
            elem_size,
            count: spec.max_entries,
        };
        let elems_len = elem_size as u64 * spec.max_entries as u64;
        let (lru, lru_len) = if lru {
            let percpu_lru = spec.flags & BPF_F_NO_COMMON_LRU != 0;
            if percpu_lru && !spec.max_entries.is_multiple_of(ncpus) {
                return Err(MapError::invalid(
                    "BPF_F_NO_COMMON_LRU needs max_entries rounded to the CPU count",
                ));
            }
            let off = usize::try_from(elems_off + elems_len).map_err(|_| MapError::TooLarge {
                reason: "map too large".to_string(),
            })?;
            let (l, len) = Lru::new(slab, ncpus, percpu_lru, off);
            (Some(l), len as u64)
        } else {
            (None, 0)
        };
        let total = region_len(elems_off, elems_len + lru_len)?;
        let map = HashMap {
            key_size: spec.key_size as usize,
            value_size: spec.value_size as usize,
            slot,
            ncpus: n,
            percpu,
            lru,
            max_entries: spec.max_entries,
            n_buckets,
            buckets_off,
            val,
            slab,
            seed,
        };
        let layout = Layout {
            total_len: total,
            data_off: HEADER_LEN as u64,
            meta: [
                n_buckets as u64,
                elem_size as u64,
                elems_off,
                n as u64,
                lru_len,
                WORD_HASH_LAYOUT,
                0,
                0,
            ],
        };
        Ok((map, layout))
    }

    /// Initialise a new region (the LRU lists; plain hashes start zeroed).
    pub(crate) fn init(&self, st: &Storage) {
        if let Some(lru) = &self.lru {
            lru.init(st);
        }
    }

    /// Bytes a user-space value has (per-CPU: every CPU's value, each rounded up to 8).
    pub(crate) fn user_value_size(&self) -> usize {
        if self.percpu {
            self.slot * self.ncpus
        } else {
            self.value_size
        }
    }

    fn check_key(&self, key: &[u8]) -> Result<(), MapError> {
        if key.len() != self.key_size {
            return Err(MapError::WrongSize {
                what: "key",
                expected: self.key_size,
                got: key.len(),
            });
        }
        Ok(())
    }

    /// The seeded hash of a key: keys of 1, 2, 4 and 8 bytes (the common ones) with one
    /// multiplication and a fold of the high half into the low bits the buckets use,
    /// longer keys with [`hash_bytes`].
    #[inline(always)]
    fn hash(&self, key: &[u8]) -> u32 {
        let word = match *key {
            [a] => a as u64,
            [a, b] => u16::from_ne_bytes([a, b]) as u64,
            [a, b, c, d] => u32::from_ne_bytes([a, b, c, d]) as u64,
            [a, b, c, d, e, f, g, h] => u64::from_ne_bytes([a, b, c, d, e, f, g, h]),
            _ => return hash_bytes(self.seed, key) as u32,
        };
        let h = (word ^ self.seed).wrapping_mul(WORD_HASH_MUL);
        (h ^ (h >> 32)) as u32
    }

    /// The layout generated code needs to look keys up itself, for hash maps of every
    /// kind with 1-, 2-, 4- or 8-byte keys (see [`HashInline`]).
    pub(crate) fn inline_layout(&self, st: &Storage) -> Option<HashInline> {
        if !matches!(self.key_size, 1 | 2 | 4 | 8) {
            return None;
        }
        let end = self.slab.first as u64 + self.slab.elem_size as u64 * self.slab.count as u64;
        if end > st.len() as u64 || self.n_buckets > 1 << 30 {
            return None;
        }
        Some(HashInline {
            buckets: st.base() + self.buckets_off as u64,
            bucket_mask: self.n_buckets - 1,
            elems: st.base() + self.slab.first as u64 - self.slab.elem_size as u64,
            elem_size: u32::try_from(self.slab.elem_size).ok()?,
            count: self.slab.count,
            max_steps: self.max_entries,
            key_size: self.key_size as u32,
            seed: self.seed,
            hash_mul: WORD_HASH_MUL,
            hash_off: HASH as u32,
            key_off: KEY as u32,
            next_off: NEXT as u32,
            value_off: self.val as u32,
            lru: self.lru.map(|l| LruInline {
                lock: st.base() + S_GLOBAL_LOCK as u64,
                ref_words: st.base() + l.meta_base() as u64,
            }),
            percpu: if self.percpu {
                Some((self.ncpus as u32, u32::try_from(self.slot).ok()?))
            } else {
                None
            },
        })
    }

    fn bucket_of(&self, hash: u32) -> u32 {
        hash & (self.n_buckets - 1)
    }

    fn bucket_off(&self, b: u32) -> usize {
        self.buckets_off + 8 * b as usize
    }

    /// The lock word guarding bucket `b` (the map lock for LRU maps).
    fn lock_off(&self, b: u32) -> usize {
        if self.lru.is_some() {
            S_GLOBAL_LOCK
        } else {
            self.bucket_off(b)
        }
    }

    /// Find `key` in bucket `b`; the bucket's lock must be held.
    #[inline]
    fn find(&self, st: &Storage, b: u32, key: &[u8], hash: u32) -> Result<Option<Found>, MapError> {
        let mut prev = 0;
        let mut idx = st.get32(self.bucket_off(b) + 4);
        let mut steps = 0u32;
        while idx != 0 {
            let off = self.slab.off(idx)?;
            if st.get32(off + HASH) == hash && st.eq(off + KEY, key) {
                return Ok(Some(Found { prev, idx, off }));
            }
            steps += 1;
            if steps > self.max_entries {
                return Err(MapError::Corrupt("cycle in a hash bucket chain"));
            }
            prev = idx;
            idx = st.get32(off + NEXT);
        }
        Ok(None)
    }

    /// The index of `key`'s element in bucket `b` (`Some(None)`: absent), or `None` for a
    /// chain that leaves the element range or the region or is too long (a corrupt region,
    /// or a walk without the lock that raced with a writer). Reads the words with one bounds
    /// check each; keys of 4 and 8 bytes are compared as words.
    #[inline(always)]
    fn find_idx(&self, st: &Storage, b: u32, key: &[u8], hash: u32) -> Option<Option<u32>> {
        use std::sync::atomic::Ordering::Relaxed;
        let words = st.words();
        let word = |off: usize| words.get(off / 4).map(|w| w.load(Relaxed));
        let k = |i: usize| {
            key.get(4 * i..4 * i + 4)
                .map(|b| u32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
        };
        let key_eq = |off: usize| -> Option<bool> {
            match key.len() {
                4 => Some(word(off + KEY)? == k(0)?),
                8 => Some(word(off + KEY)? == k(0)? && word(off + KEY + 4)? == k(1)?),
                _ => {
                    st.offset_of(st.base() + (off + KEY) as u64, key.len())?;
                    Some(st.eq(off + KEY, key))
                }
            }
        };
        let mut idx = word(self.bucket_off(b) + 4)?;
        let mut steps = 0u32;
        while idx != 0 {
            if idx > self.slab.count {
                return None;
            }
            let off = self.slab.first + (idx as usize - 1) * self.slab.elem_size;
            if word(off + HASH)? == hash && key_eq(off)? {
                return Some(Some(idx));
            }
            steps += 1;
            if steps > self.max_entries {
                return None;
            }
            idx = word(off + NEXT)?;
        }
        Some(None)
    }

    fn unlink_bucket(&self, st: &Storage, b: u32, f: &Found) -> Result<(), MapError> {
        let next = st.get32(f.off + NEXT);
        if f.prev == 0 {
            st.set32(self.bucket_off(b) + 4, next);
        } else {
            st.set32(self.slab.off(f.prev)? + NEXT, next);
        }
        Ok(())
    }

    // --- LRU (map lock held) ---

    /// The kernel's `htab_lru_map_delete_node`: unlink element `idx` from its bucket when
    /// the LRU lists evict it; `false` if it is not in the table.
    fn del_from_htab(&self, st: &Storage, idx: u32) -> Result<bool, MapError> {
        let off = self.slab.off(idx)?;
        let b = self.bucket_of(st.get32(off + HASH));
        let mut prev = 0;
        let mut cur = st.get32(self.bucket_off(b) + 4);
        let mut steps = 0u32;
        while cur != 0 {
            if cur == idx {
                self.unlink_bucket(st, b, &Found { prev, idx, off })?;
                st.set32(S_COUNT, st.get32(S_COUNT).wrapping_sub(1));
                return Ok(true);
            }
            steps += 1;
            if steps > self.max_entries {
                return Err(MapError::Corrupt("cycle in a hash bucket chain"));
            }
            prev = cur;
            cur = st.get32(self.slab.off(cur)? + NEXT);
        }
        Ok(false)
    }

    fn link_head(&self, st: &Storage, b: u32, idx: u32, off: usize) {
        st.set32(off + NEXT, st.get32(self.bucket_off(b) + 4));
        st.set32(self.bucket_off(b) + 4, idx);
    }

    /// `htab_lru_map_update_elem` and `__htab_lru_percpu_map_update_elem` (map lock held).
    #[allow(clippy::too_many_arguments)]
    fn update_lru(
        &self,
        lru: &Lru,
        st: &Storage,
        key: &[u8],
        value: &[u8],
        flags: u64,
        who: Writer,
        h: u32,
    ) -> Result<(), MapError> {
        let cpu = match who {
            Writer::Program(c) => c as u32,
            Writer::User => current_cpu(),
        };
        let del = |idx| self.del_from_htab(st, idx);
        // The node comes first: taking it may evict keys, this one included.
        let new = if self.percpu && flags == BPF_EXIST {
            None
        } else {
            match lru.pop_free(st, cpu, &del)? {
                Some(n) => Some(n),
                None => {
                    return Err(MapError::NoMemory {
                        reason: "no LRU node is free or evictable".to_string(),
                    })
                }
            }
        };
        let b = self.bucket_of(h);
        let found = self.find(st, b, key, h)?;
        let refused = match (&found, flags) {
            (Some(_), BPF_NOEXIST) => Some(MapError::Exists),
            (None, BPF_EXIST) => Some(MapError::NotFound),
            _ => None,
        };
        if let Some(e) = refused {
            if let Some(n) = new {
                lru.push_free(st, n)?;
            }
            return Err(e);
        }
        match (found, new) {
            (Some(f), new) => {
                self.write_value(st, f.off, value, who, false);
                if self.percpu {
                    // Per-CPU values are updated in place; the node taken goes back.
                    lru.set_ref(st, f.idx)?;
                    if let Some(n) = new {
                        lru.push_free(st, n)?;
                    }
                } else if let Some(n) = new {
                    lru.replace(st, f.idx, n)?;
                    // The kernel links the new element at the head of the bucket.
                    self.unlink_bucket(st, b, &f)?;
                    self.link_head(st, b, f.idx, f.off);
                }
            }
            (None, Some(idx)) => {
                let off = self.slab.off(idx)?;
                st.set32(off + HASH, h);
                st.write(off + KEY, key);
                self.write_value(st, off, value, who, true);
                self.link_head(st, b, idx, off);
                st.set32(S_COUNT, st.get32(S_COUNT).wrapping_add(1));
            }
            (None, None) => return Err(MapError::NotFound),
        }
        Ok(())
    }

    /// The value (every CPU's for per-CPU maps).
    pub(crate) fn lookup(&self, st: &Storage, key: &[u8]) -> Result<Vec<u8>, MapError> {
        self.check_key(key)?;
        let h = self.hash(key);
        let b = self.bucket_of(h);
        let _g = st.lock(self.lock_off(b));
        let f = self.find(st, b, key, h)?.ok_or(MapError::NotFound)?;
        Ok(self.read_value(st, f.off))
    }

    fn read_value(&self, st: &Storage, off: usize) -> Vec<u8> {
        let mut out = vec![0u8; self.user_value_size()];
        st.read(off + self.val, &mut out);
        out
    }

    /// Address of the value (`cpu`'s slot for per-CPU maps); with `mark`, sets an LRU
    /// element's reference bit. `None` when absent (or the region is corrupt).
    ///
    /// Lock-free, as the kernel's RCU lookups: the chain is walked without the bucket lock
    /// (the map lock for LRU maps) and the walk counts only if no writer took the lock
    /// meanwhile ([`Storage::seq_begin`]); after a few intervened walks it takes the lock.
    /// The reference bit is then set atomically, without the lock, as the kernel's
    /// `bpf_lru_node_set_ref` does.
    #[inline(always)]
    pub(crate) fn lookup_ptr(
        &self,
        st: &Storage,
        key: &[u8],
        cpu: impl FnOnce() -> usize,
        mark: bool,
    ) -> Option<u64> {
        if key.len() != self.key_size {
            return None;
        }
        let h = self.hash(key);
        let b = self.bucket_of(h);
        let lock = self.lock_off(b);
        let words = st.words();
        let lock_word = words.get(lock / 4)?;
        // A walk that raced with a writer may follow stale links: its result counts only
        // when the sequence is unchanged (the fast path: one try, then `lookup_slow`).
        let seq = lock_word.load(Ordering::Acquire);
        let idx = if seq & 1 == 0 {
            let walk = self.find_idx(st, b, key, h);
            fence(Ordering::Acquire);
            if lock_word.load(Ordering::Relaxed) == seq {
                walk?
            } else {
                self.lookup_slow(st, b, key, h)?
            }
        } else {
            self.lookup_slow(st, b, key, h)?
        }?;
        if let (Some(lru), true) = (&self.lru, mark) {
            lru.set_ref_unlocked(st, idx)?;
        }
        let cpu = if self.percpu { cpu() % self.ncpus } else { 0 };
        // `find_idx` checked `idx` against the element count.
        let off =
            self.slab.first + (idx as usize - 1) * self.slab.elem_size + self.val + cpu * self.slot;
        (off < st.len()).then(|| st.base() + off as u64)
    }

    /// [`HashMap::lookup_ptr`]'s walk when a writer intervened: a few more tries without
    /// the lock, then with it.
    #[cold]
    #[inline(never)]
    fn lookup_slow(&self, st: &Storage, b: u32, key: &[u8], h: u32) -> Option<Option<u32>> {
        let lock = self.lock_off(b);
        for _ in 0..8 {
            let Some(seq) = st.seq_begin(lock) else {
                std::hint::spin_loop();
                continue;
            };
            let walk = self.find_idx(st, b, key, h);
            if st.seq_valid(lock, seq) {
                return walk;
            }
        }
        let _g = st.lock(lock);
        self.find_idx(st, b, key, h)
    }

    #[inline]
    fn write_value(&self, st: &Storage, off: usize, value: &[u8], who: Writer, fresh: bool) {
        let v = off + self.val;
        match who {
            Writer::User if self.percpu => {
                for c in 0..self.ncpus {
                    st.write(
                        v + c * self.slot,
                        &value[c * self.slot..c * self.slot + self.value_size],
                    );
                }
            }
            Writer::Program(cpu) if self.percpu => {
                if fresh {
                    st.zero(v, self.slot * self.ncpus);
                }
                st.write(v + (cpu % self.ncpus) * self.slot, value);
            }
            _ => {
                if fresh {
                    st.zero(v + self.value_size, self.slot - self.value_size);
                }
                st.write(v, value);
            }
        }
    }

    /// Insert or overwrite.
    pub(crate) fn update(
        &self,
        st: &Storage,
        key: &[u8],
        value: &[u8],
        flags: u64,
        who: Writer,
    ) -> Result<(), MapError> {
        check_update_flags(flags)?;
        self.check_key(key)?;
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
        let h = self.hash(key);
        let b = self.bucket_of(h);
        let _g = st.lock(self.lock_off(b));
        if let Some(lru) = &self.lru {
            return self.update_lru(lru, st, key, value, flags, who, h);
        }
        let found = self
            .find_idx(st, b, key, h)
            .ok_or(MapError::Corrupt("bad hash bucket chain"))?;
        if let Some(idx) = found {
            if flags == BPF_NOEXIST {
                return Err(MapError::Exists);
            }
            self.write_value(st, self.slab.off(idx)?, value, who, false);
            return Ok(());
        }
        if flags == BPF_EXIST {
            return Err(MapError::NotFound);
        }
        let idx = match self.slab.alloc(st)? {
            Some(i) => i,
            None => {
                return Err(MapError::Full {
                    max_entries: self.max_entries,
                })
            }
        };
        let off = self.slab.off(idx)?;
        st.set32(off + HASH, h);
        st.write(off + KEY, key);
        self.write_value(st, off, value, who, true);
        self.link_head(st, b, idx, off);
        Ok(())
    }

    /// Remove `key`; with `want_value`, return its value (lookup-and-delete).
    pub(crate) fn delete(
        &self,
        st: &Storage,
        key: &[u8],
        want_value: bool,
    ) -> Result<Vec<u8>, MapError> {
        self.check_key(key)?;
        let h = self.hash(key);
        let b = self.bucket_of(h);
        let _g = st.lock(self.lock_off(b));
        let f = self.find(st, b, key, h)?.ok_or(MapError::NotFound)?;
        let value = if want_value {
            self.read_value(st, f.off)
        } else {
            Vec::new()
        };
        self.unlink_bucket(st, b, &f)?;
        match &self.lru {
            Some(lru) => {
                st.set32(S_COUNT, st.get32(S_COUNT).wrapping_sub(1));
                lru.push_free(st, f.idx)?;
            }
            None => self.slab.free(st, f.idx)?,
        }
        Ok(value)
    }

    /// The key after `key` (or the first key).
    pub(crate) fn get_next_key(
        &self,
        st: &Storage,
        key: Option<&[u8]>,
    ) -> Result<Vec<u8>, MapError> {
        let mut start = 0;
        if let Some(key) = key {
            self.check_key(key)?;
            let h = self.hash(key);
            let b = self.bucket_of(h);
            let _g = st.lock(self.lock_off(b));
            if let Some(f) = self.find(st, b, key, h)? {
                let next = st.get32(f.off + NEXT);
                if next != 0 {
                    return self.read_key(st, next);
                }
                start = b + 1;
            }
        }
        for b in start..self.n_buckets {
            let _g = st.lock(self.lock_off(b));
            let head = st.get32(self.bucket_off(b) + 4);
            if head != 0 {
                return self.read_key(st, head);
            }
        }
        Err(MapError::NotFound)
    }

    fn read_key(&self, st: &Storage, idx: u32) -> Result<Vec<u8>, MapError> {
        let mut k = vec![0u8; self.key_size];
        st.read(self.slab.off(idx)? + KEY, &mut k);
        Ok(k)
    }

    /// Elements in use.
    pub(crate) fn len(&self, st: &Storage) -> u32 {
        self.slab.in_use(st)
    }
}
