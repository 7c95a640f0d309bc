//! `BPF_MAP_TYPE_LPM_TRIE`: longest-prefix match.
//!
//! Takes a spec with `BPF_F_NO_PREALLOC` (as the kernel requires), `key_size` from 5 to 260
//! (a host-endian u32 prefix length followed by the data, compared most significant bit
//! first, i.e. network order) and `value_size > 0`; gives exact-prefix update and delete and
//! longest-prefix lookup.
//!
//! ## Layout
//! The kernel's binary trie (`kernel/bpf/lpm_trie.c`), in the region: after the header, the
//! trie's state `{root u32, entries u32}`, then `2 * max_entries` node slots
//! `{next u32, flags u32, prefixlen u32, child[2] u32, pad u32, data (rounded to 8),
//! value (rounded to 8)}` addressed by 1-based index (0 = none). A node is an element
//! (`flags` 1) or an intermediate node (`flags` 2) that only joins two subtrees, as in the
//! kernel; intermediate nodes do not count against `max_entries`. Every node's children
//! extend its prefix by at least one bit, the bit after the node's prefix choosing the child,
//! so lookup, update and delete walk one path from the root (at most `8 * data_size + 1`
//! nodes). Nodes never move, so a value pointer stays valid while its prefix exists; an
//! update of an existing prefix writes the new data and value in place.
//!
//! Updates and deletes take the map lock; program lookups walk without it and retry when
//! the lock's sequence moved (see `Storage::seq_begin`). Errors as the kernel: prefix length above
//! `8 * (key_size - 4)` is `EINVAL`, a full trie `ENOSPC`. Iteration order is the kernel's
//! post-order: more specific prefixes before the prefixes that contain them.

use std::cmp::Ordering;

use super::header::{Layout, HEADER_LEN, S_GLOBAL_LOCK};
use super::slab::Slab;
use super::storage::Storage;
use super::types::*;
use super::{region_len, MapError};
use crate::kernel_helpers::map_fast::LpmInline;

/// Node fields.
const FLAGS: usize = 4;
const PLEN: usize = 8;
const CHILD: usize = 12;
const DATA: usize = 24;
/// Node kinds (`FLAGS`).
const ELEMENT: u32 = 1;
const INTERMEDIATE: u32 = 2;
/// Trie state, at the start of the data area.
const ROOT: usize = HEADER_LEN;
const ENTRIES: usize = HEADER_LEN + 4;
const STATE_LEN: usize = 8;
/// Layout meta tag: the binary trie layout (region layouts without it are refused).
const TRIE_LAYOUT: u64 = 2;

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

/// Bit `i` of `data`, most significant first (0 beyond the data).
/// The `n` (1 to 8) bytes of `data` at `i` as the high bytes of a big-endian word.
#[inline]
fn be_word(data: &[u8], i: usize, n: usize) -> u64 {
    match data.get(i..i + n) {
        Some(&[a, b, c, d, e, f, g, h]) => u64::from_be_bytes([a, b, c, d, e, f, g, h]),
        Some(&[a, b, c, d]) => (u32::from_be_bytes([a, b, c, d]) as u64) << 32,
        Some(bytes) => bytes
            .iter()
            .enumerate()
            .fold(0u64, |w, (j, &byte)| w | (byte as u64) << (56 - 8 * j)),
        None => 0,
    }
}

#[inline]
fn bit(data: &[u8], i: u32) -> u8 {
    data.get((i / 8) as usize)
        .map_or(0, |b| (b >> (7 - i % 8)) & 1)
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

/// Where a walk from the root stopped: the link that points at `node` (the root word or a
/// child word), and the node's offset (None: the link is empty).
struct Stop {
    link: usize,
    node: Option<(u32, usize)>,
    /// Bits `node`'s prefix shares with the key (up to both prefix lengths).
    matchlen: u32,
    /// The parent node and the link pointing at it.
    parent: Option<(u32, usize, usize)>,
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
        // Elements and the intermediate nodes joining them (at most one fewer).
        let nodes = spec.max_entries.saturating_mul(2);
        let total = region_len(
            (HEADER_LEN + STATE_LEN) as u64,
            elem_size as u64 * nodes as u64,
        )?;
        let trie = LpmTrie {
            data_size,
            value_size: spec.value_size as usize,
            max_entries: spec.max_entries,
            val,
            slab: Slab {
                first: HEADER_LEN + STATE_LEN,
                elem_size,
                count: nodes,
            },
        };
        let layout = Layout {
            total_len: total,
            data_off: HEADER_LEN as u64,
            meta: [elem_size as u64, TRIE_LAYOUT, 0, 0, 0, 0, 0, 0],
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

    /// The node `idx` (1-based): its offset, checked against the region's node count and
    /// kind (a corrupt shared region is an error, never a crash).
    #[inline]
    fn node(&self, st: &Storage, idx: u32) -> Result<usize, MapError> {
        let off = self.slab.off(idx)?;
        let flags = st.get32(off + FLAGS);
        if flags != ELEMENT && flags != INTERMEDIATE {
            return Err(MapError::Corrupt("LPM link to a free node"));
        }
        if st.get32(off + PLEN) > self.max_prefixlen() {
            return Err(MapError::Corrupt("LPM prefix length out of range"));
        }
        Ok(off)
    }

    /// Bits the data of the node at `off` shares with `data`, up to `limit`. Compares 8
    /// bytes at a time: the node's data area is rounded up to 8 bytes and 8-aligned.
    #[inline(always)]
    fn match_len(&self, st: &Storage, off: usize, data: &[u8], limit: u32) -> u32 {
        let mut bits = 0u32;
        let mut i = 0usize;
        while bits < limit {
            let n = (self.data_size - i).min(8);
            let a = u64::from_be_bytes(st.get64(off + DATA + i).to_ne_bytes());
            let mask = if n == 8 { !0u64 } else { !0u64 << (64 - 8 * n) };
            let x = (a ^ be_word(data, i, n)) & mask;
            if x != 0 {
                bits += x.leading_zeros();
                break;
            }
            bits += 8 * n as u32;
            i += n;
        }
        bits.min(limit)
    }

    /// Walk from the root as the kernel's update and delete do: down while the node's
    /// prefix is a proper prefix of the key's; stop at an empty link, at the node with the
    /// key's prefix, or at a node that diverges from the key. Map lock held.
    fn walk(&self, st: &Storage, plen: u32, data: &[u8]) -> Result<Stop, MapError> {
        let mut link = ROOT;
        let mut parent = None;
        for _ in 0..=self.max_prefixlen() + 1 {
            let idx = st.get32(link);
            if idx == 0 {
                return Ok(Stop {
                    link,
                    node: None,
                    matchlen: 0,
                    parent,
                });
            }
            let off = self.node(st, idx)?;
            let np = st.get32(off + PLEN);
            let matchlen = self.match_len(st, off, data, np.min(plen));
            if np != matchlen || np == plen {
                return Ok(Stop {
                    link,
                    node: Some((idx, off)),
                    matchlen,
                    parent,
                });
            }
            parent = Some((idx, off, link));
            link = off + CHILD + 4 * bit(data, np) as usize;
        }
        Err(MapError::Corrupt("LPM trie deeper than its prefix length"))
    }

    /// [`LpmTrie::longest`] for data of up to 8 bytes, given as the high bytes of the
    /// big-endian word `key`: each node's fields read with one bounds check, its data as
    /// one word, the child chosen without a branch.
    fn longest_short(&self, st: &Storage, plen: u32, key: u64) -> Result<Option<usize>, MapError> {
        use std::sync::atomic::Ordering::Relaxed;
        let words = st.words();
        let max = self.max_prefixlen();
        let mask = if max >= 64 { !0u64 } else { !(!0u64 >> max) };
        let corrupt = |why| MapError::Corrupt(why);
        let (first, size, count) = (self.slab.first, self.slab.elem_size, self.slab.count);
        let mut found = None;
        let mut idx = words
            .get(ROOT / 4)
            .ok_or_else(|| corrupt("LPM root outside the region"))?
            .load(Relaxed);
        for _ in 0..=max + 1 {
            if idx == 0 {
                return Ok(found);
            }
            if idx > count {
                return Err(corrupt("element index out of range"));
            }
            let off = first + (idx as usize - 1) * size;
            // Node words: next, flags, prefixlen, child 0, child 1, pad, data (2 words).
            let w = words
                .get(off / 4..off / 4 + (DATA + 8) / 4)
                .ok_or_else(|| corrupt("LPM node outside the region"))?;
            let flags = w[FLAGS / 4].load(Relaxed);
            let np = w[PLEN / 4].load(Relaxed);
            let (c0, c1) = (w[CHILD / 4].load(Relaxed), w[CHILD / 4 + 1].load(Relaxed));
            let (d0, d1) = (w[DATA / 4].load(Relaxed), w[DATA / 4 + 1].load(Relaxed));
            if flags != ELEMENT && flags != INTERMEDIATE {
                return Err(corrupt("LPM link to a free node"));
            }
            if np > max {
                return Err(corrupt("LPM prefix length out of range"));
            }
            let [a, b, c, d] = d0.to_ne_bytes();
            let [e, f, g, h] = d1.to_ne_bytes();
            let x = (u64::from_be_bytes([a, b, c, d, e, f, g, h]) ^ key) & mask;
            let matchlen = (if x == 0 { 64 } else { x.leading_zeros() }).min(np.min(plen));
            if matchlen == max {
                return Ok(Some(off));
            }
            if matchlen < np {
                return Ok(found);
            }
            if flags == ELEMENT {
                found = Some(off);
            }
            // `np` < `max` <= 64 here.
            let bit = ((key >> (63 - np)) & 1) as u32;
            idx = c0 ^ ((c0 ^ c1) & bit.wrapping_neg());
        }
        Err(corrupt("LPM trie deeper than its prefix length"))
    }

    /// The element with the longest prefix matching `(plen, data)`. Map lock held, or the
    /// result checked against the lock's sequence. Reads the node words with one bounds
    /// check each (the checks of [`LpmTrie::node`] inline).
    fn longest(&self, st: &Storage, plen: u32, data: &[u8]) -> Result<Option<usize>, MapError> {
        use std::sync::atomic::Ordering::Relaxed;
        let words = st.words();
        let corrupt = || MapError::Corrupt("LPM trie link out of the region");
        let word = |off: usize| {
            words
                .get(off / 4)
                .map(|w| w.load(Relaxed))
                .ok_or_else(corrupt)
        };
        let max = self.max_prefixlen();
        let n = self.data_size;
        if n <= 8 && DATA + 8 <= self.slab.elem_size {
            return self.longest_short(st, plen, be_word(data, 0, n));
        }
        let short = (n <= 8).then(|| {
            let mask = if n == 8 { !0u64 } else { !0u64 << (64 - 8 * n) };
            (be_word(data, 0, n), mask)
        });
        let mut found = None;
        let mut idx = word(ROOT)?;
        for _ in 0..=max + 1 {
            if idx == 0 {
                return Ok(found);
            }
            if idx > self.slab.count {
                return Err(MapError::Corrupt("element index out of range"));
            }
            let off = self.slab.first + (idx as usize - 1) * self.slab.elem_size;
            let flags = word(off + FLAGS)?;
            let np = word(off + PLEN)?;
            // Both children now, in parallel with the prefix length: the next node's
            // address then waits only for the choice.
            let (c0, c1) = (word(off + CHILD)?, word(off + CHILD + 4)?);
            if flags != ELEMENT && flags != INTERMEDIATE {
                return Err(MapError::Corrupt("LPM link to a free node"));
            }
            if np > max {
                return Err(MapError::Corrupt("LPM prefix length out of range"));
            }
            let matchlen = match short {
                Some((key, mask)) => {
                    // Keys of up to 8 data bytes: one word compared.
                    let node = u64::from_be_bytes(st.get64(off + DATA).to_ne_bytes());
                    let x = (node ^ key) & mask;
                    (if x == 0 { 64 } else { x.leading_zeros() }).min(np.min(plen))
                }
                None => self.match_len(st, off, data, np.min(plen)),
            };
            if matchlen == max {
                return Ok(Some(off));
            }
            if matchlen < np {
                return Ok(found);
            }
            if flags == ELEMENT {
                found = Some(off);
            }
            let b = match short {
                // `np` < `matchlen` <= 64 here.
                Some((key, _)) if np < 64 => ((key >> (63 - np)) & 1) as u32,
                _ => bit(data, np) as u32,
            };
            idx = c0 ^ ((c0 ^ c1) & b.wrapping_neg());
        }
        Err(MapError::Corrupt("LPM trie deeper than its prefix length"))
    }

    /// Elements as (prefixlen, data).
    fn entries(&self, st: &Storage) -> Result<Vec<(u32, Vec<u8>)>, MapError> {
        let mut out = Vec::new();
        for idx in 1..=self.slab.bumped(st) {
            let off = self.slab.off(idx)?;
            if st.get32(off + FLAGS) != ELEMENT {
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

    /// The value of the longest prefix matching the key.
    pub(crate) fn lookup(&self, st: &Storage, key: &[u8]) -> Result<Vec<u8>, MapError> {
        let (plen, data) = self.split(key)?;
        if plen > self.max_prefixlen() {
            return Err(MapError::NotFound);
        }
        let _g = st.lock(S_GLOBAL_LOCK);
        let off = self.longest(st, plen, data)?.ok_or(MapError::NotFound)?;
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
        // Without the lock, as the kernel's RCU lookup: the walk counts when no update or
        // delete took the map lock meanwhile (see `Storage::seq_begin`).
        for _ in 0..8 {
            let Some(seq) = st.seq_begin(S_GLOBAL_LOCK) else {
                std::hint::spin_loop();
                continue;
            };
            let walk = self.longest(st, plen, data);
            if st.seq_valid(S_GLOBAL_LOCK, seq) {
                return Ok(walk?.map(|off| st.addr(off + self.val)));
            }
        }
        let _g = st.lock(S_GLOBAL_LOCK);
        Ok(self
            .longest(st, plen, data)?
            .map(|off| st.addr(off + self.val)))
    }

    /// The layout generated code needs to look IPv4 keys (4 data bytes) up itself (see
    /// [`LpmInline`]); other key sizes: `None`.
    pub(crate) fn inline_layout(&self, st: &Storage) -> Option<LpmInline> {
        let end = self.slab.first as u64 + self.slab.elem_size as u64 * self.slab.count as u64;
        if self.data_size != 4 || end > st.len() as u64 || self.slab.count > 1 << 30 {
            return None;
        }
        Some(LpmInline {
            lock: st.base() + S_GLOBAL_LOCK as u64,
            root: st.base() + ROOT as u64,
            nodes: st.base() + self.slab.first as u64 - self.slab.elem_size as u64,
            node_size: u32::try_from(self.slab.elem_size).ok()?,
            count: self.slab.count,
            flags_off: FLAGS as u32,
            plen_off: PLEN as u32,
            child_off: CHILD as u32,
            data_off: DATA as u32,
            value_off: u32::try_from(self.val).ok()?,
        })
    }

    /// A new node (element or intermediate) with `plen`, `data` and no children.
    fn new_node(
        &self,
        st: &Storage,
        kind: u32,
        plen: u32,
        data: &[u8],
    ) -> Result<(u32, usize), MapError> {
        let idx = self.slab.alloc(st)?.ok_or_else(|| MapError::NoMemory {
            reason: "LPM trie has no free node".to_string(),
        })?;
        let off = self.slab.off(idx)?;
        st.set32(off + PLEN, plen);
        st.set32(off + CHILD, 0);
        st.set32(off + CHILD + 4, 0);
        st.write(off + DATA, data);
        st.set32(off + FLAGS, kind);
        Ok((idx, off))
    }

    /// Insert or overwrite the exact prefix (`trie_update_elem`).
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
        let stop = self.walk(st, plen, data)?;
        let exact = stop
            .node
            .filter(|&(_, off)| st.get32(off + PLEN) == plen && stop.matchlen == plen);
        if let Some((_, off)) = exact {
            if st.get32(off + FLAGS) == ELEMENT {
                if flags == BPF_NOEXIST {
                    return Err(MapError::Exists);
                }
                // The kernel replaces the node, so the stored data becomes the new key's.
                st.write(off + DATA, data);
                st.write(off + self.val, value);
                return Ok(());
            }
        }
        // A new element (possibly in place of an intermediate node).
        if flags == BPF_EXIST {
            return Err(MapError::NotFound);
        }
        let entries = st.get32(ENTRIES);
        if entries >= self.max_entries {
            return Err(MapError::NoSpace {
                max_entries: self.max_entries,
            });
        }
        if let Some((_, off)) = exact {
            // An intermediate node with exactly this prefix becomes the element.
            st.write(off + DATA, data);
            st.zero(off + self.val, self.val_slot());
            st.write(off + self.val, value);
            st.set32(off + FLAGS, ELEMENT);
            st.set32(ENTRIES, entries + 1);
            return Ok(());
        }
        let (new, new_off) = self.new_node(st, ELEMENT, plen, data)?;
        st.zero(new_off + self.val, self.val_slot());
        st.write(new_off + self.val, value);
        match stop.node {
            None => st.set32(stop.link, new),
            Some((idx, off)) if stop.matchlen == plen => {
                // The new prefix contains the node's: the node becomes a child.
                let mut buf = [0u8; 8];
                let byte = (plen / 8) as usize;
                st.read(off + DATA + byte.min(self.data_size - 1), &mut buf[..1]);
                let b = (buf[0] >> (7 - plen % 8)) & 1;
                st.set32(new_off + CHILD + 4 * b as usize, idx);
                st.set32(stop.link, new);
            }
            Some((idx, off)) => {
                // They diverge after `matchlen` bits: join them under an intermediate node.
                let mut node_data = vec![0u8; self.data_size];
                st.read(off + DATA, &mut node_data);
                let joined = self.new_node(st, INTERMEDIATE, stop.matchlen, &node_data);
                let (im, im_off) = match joined {
                    Ok(j) => j,
                    Err(e) => {
                        st.set32(new_off + FLAGS, 0);
                        self.slab.free(st, new)?;
                        return Err(e);
                    }
                };
                let (c0, c1) = if bit(data, stop.matchlen) == 1 {
                    (idx, new)
                } else {
                    (new, idx)
                };
                st.set32(im_off + CHILD, c0);
                st.set32(im_off + CHILD + 4, c1);
                st.set32(stop.link, im);
            }
        }
        st.set32(ENTRIES, entries + 1);
        Ok(())
    }

    fn val_slot(&self) -> usize {
        round8(self.value_size)
    }

    fn release(&self, st: &Storage, idx: u32, off: usize) -> Result<(), MapError> {
        st.set32(off + FLAGS, 0);
        self.slab.free(st, idx)
    }

    /// Remove the exact prefix (`trie_delete_elem`).
    pub(crate) fn delete(&self, st: &Storage, key: &[u8]) -> Result<(), MapError> {
        let (plen, data) = self.split(key)?;
        if plen > self.max_prefixlen() {
            return Err(MapError::invalid(format!(
                "prefix length {plen} exceeds {}",
                self.max_prefixlen()
            )));
        }
        let _g = st.lock(S_GLOBAL_LOCK);
        let stop = self.walk(st, plen, data)?;
        let Some((idx, off)) = stop.node else {
            return Err(MapError::NotFound);
        };
        if st.get32(off + PLEN) != plen || stop.matchlen != plen || st.get32(off + FLAGS) != ELEMENT
        {
            return Err(MapError::NotFound);
        }
        st.set32(ENTRIES, st.get32(ENTRIES).wrapping_sub(1));
        let (c0, c1) = (st.get32(off + CHILD), st.get32(off + CHILD + 4));
        if c0 != 0 && c1 != 0 {
            // Two subtrees still hang from it: it only joins them now.
            st.set32(off + FLAGS, INTERMEDIATE);
            return Ok(());
        }
        if let Some((p, p_off, p_link)) = stop.parent {
            if st.get32(p_off + FLAGS) == INTERMEDIATE && c0 == 0 && c1 == 0 {
                // The intermediate parent joined this node and one other: the other
                // takes the parent's place.
                let other = if st.get32(p_off + CHILD) == idx {
                    st.get32(p_off + CHILD + 4)
                } else {
                    st.get32(p_off + CHILD)
                };
                st.set32(p_link, other);
                self.release(st, p, p_off)?;
                return self.release(st, idx, off);
            }
        }
        st.set32(stop.link, if c0 != 0 { c0 } else { c1 });
        self.release(st, idx, off)
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
        st.get32(ENTRIES)
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Map, MapSpec, MapType};
    use super::*;

    /// The longest stored prefix of `data` (up to `plen` bits) in a plain list.
    fn model_lookup(model: &[(u32, Vec<u8>, Vec<u8>)], plen: u32, data: &[u8]) -> Option<Vec<u8>> {
        model
            .iter()
            .filter(|(p, d, _)| *p <= plen && prefix_eq(d, data, *p))
            .max_by_key(|(p, _, _)| *p)
            .map(|(_, _, v)| v.clone())
    }

    /// Random updates, deletes and lookups on tries of several key sizes agree with a
    /// linear list of prefixes; iteration gives every prefix once, in post-order.
    #[test]
    fn trie_agrees_with_a_prefix_list() {
        for (data_size, max_entries) in [(1usize, 40u32), (4, 300), (16, 200)] {
            let spec = MapSpec::new(MapType::LpmTrie, 4 + data_size as u32, 8, max_entries)
                .with_flags(BPF_F_NO_PREALLOC);
            let map = Map::create(spec, None).unwrap();
            let mut model: Vec<(u32, Vec<u8>, Vec<u8>)> = Vec::new();
            let mut seed = 0x1234_5678_9abc_def0u64 ^ data_size as u64;
            let mut next = move || {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                seed
            };
            let max_plen = 8 * data_size as u32;
            for step in 0..20_000 {
                let plen = (next() % (max_plen as u64 + 1)) as u32;
                // Few distinct leading bytes, so that prefixes nest and share paths.
                let mut data: Vec<u8> = (0..data_size).map(|_| next() as u8).collect();
                data[0] = [10u8, 11, 192, 0][(next() % 4) as usize];
                let mut key = plen.to_ne_bytes().to_vec();
                key.extend_from_slice(&data);
                let value = next().to_ne_bytes().to_vec();
                let pos = model
                    .iter()
                    .position(|(p, d, _)| *p == plen && prefix_eq(d, &data, plen));
                match next() % 8 {
                    0..=2 => {
                        let r = map.update(&key, &value, 0);
                        match pos {
                            Some(i) => {
                                r.unwrap();
                                model[i] = (plen, data.clone(), value);
                            }
                            None if model.len() < max_entries as usize => {
                                r.unwrap();
                                model.push((plen, data.clone(), value));
                            }
                            None => assert_eq!(r.unwrap_err().errno(), 28, "step {step}"),
                        }
                    }
                    3 | 4 => {
                        let r = map.delete(&key);
                        match pos {
                            Some(i) => {
                                r.unwrap();
                                model.remove(i);
                            }
                            None => assert_eq!(r.unwrap_err().errno(), 2, "step {step}"),
                        }
                    }
                    _ => {
                        let got = map.lookup(&key).ok();
                        assert_eq!(got, model_lookup(&model, plen, &data), "step {step}");
                    }
                }
                assert_eq!(map.len(), model.len(), "step {step}");
            }
            let keys: Vec<Vec<u8>> = map.keys().map(Result::unwrap).collect();
            assert_eq!(keys.len(), model.len());
            for w in keys.windows(2) {
                let (a, b) = (&w[0], &w[1]);
                let pa = u32::from_ne_bytes(a[..4].try_into().unwrap());
                let pb = u32::from_ne_bytes(b[..4].try_into().unwrap());
                assert_eq!(postorder((pa, &a[4..]), (pb, &b[4..])), Ordering::Less);
            }
            // Deleting everything leaves an empty trie that takes max_entries again.
            for k in &keys {
                map.delete(k).unwrap();
            }
            assert_eq!(map.len(), 0);
            for i in 0..max_entries {
                let mut key = max_plen.to_ne_bytes().to_vec();
                let mut data = vec![0u8; data_size];
                for (j, b) in i.to_be_bytes().iter().rev().enumerate() {
                    if j < data_size {
                        data[data_size - 1 - j] = *b;
                    }
                }
                key.extend_from_slice(&data);
                let r = map.update(&key, &[0; 8], 0);
                if data_size == 1 && i >= 256 {
                    break;
                }
                r.unwrap();
            }
        }
    }
}
