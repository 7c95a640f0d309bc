//! The LRU lists of `LRU_HASH` and `LRU_PERCPU_HASH`, as the kernel keeps them
//! (`kernel/bpf/bpf_lru_list.c`).
//!
//! Takes the element area of a hash map (its [`Slab`]) and an area of the region after it;
//! gives [`Lru::pop_free`] (a free element for a new key, evicting old keys when there is
//! none), [`Lru::push_free`] (an element whose key was removed), [`Lru::set_ref`] (a program
//! looked the key up) and [`Lru::replace`] (an update of an existing key).
//!
//! ## The kernel's algorithm, reproduced
//! Every element is on exactly one list, and a node carries a list type, a reference bit and a
//! CPU. A lookup from a program only sets the reference bit; nothing moves until an element
//! is needed:
//! - **Common LRU** (the default): one global list set (`active`, `inactive`, `free`) plus, per
//!   CPU, a local `free` and `pending` list. A new key takes a node from the CPU's local free
//!   list onto its pending list. When the local free list is empty, the CPU flushes its pending
//!   nodes into the global lists (referenced ones to `active`, the others to `inactive`),
//!   rotates the global lists (`active` → `inactive` when `inactive` is the shorter,
//!   referenced `inactive` nodes back to `active`, at most `nr_scans` = 128 nodes each) and
//!   refills its local free list with `target_free` = clamp(max_entries / possible CPUs / 2,
//!   1, 128) nodes: first free ones, then unreferenced nodes from the tail of `inactive`
//!   (their keys are evicted), and if none, one node from the tail of `inactive` (or
//!   `active`) whatever its bit. If even that finds nothing (every node sits on some CPU's
//!   local lists), it steals a node from the CPUs' local lists round-robin.
//! - **Per-CPU LRU** (`BPF_F_NO_COMMON_LRU`): each CPU owns max_entries / CPUs nodes with its
//!   own `active`/`inactive`/`free` lists; a new key rotates that CPU's lists and takes a free
//!   node, or first shrinks up to 4 unreferenced `inactive` nodes (`nr_scans` = 4).
//!
//! The only difference is which element slot plays which node: an update of an existing key
//! keeps the value where it is (a program's pointer into it stays valid) and lets the slot
//! the kernel would have freed take over the old slot's place ([`Lru::replace`]). Slots are
//! not observable, so for one thread every sequence of operations leaves the same keys as the
//! kernel on the same CPU. (Concurrent CPUs interleave differently than in the kernel, whose
//! lookups take no lock.)
//!
//! ## Layout
//! Links are 1-based node ids: elements `1..=count` (their `prev`/`next` words at
//! [`PREV_OFF`]), then the list heads. The area holds the heads (8 bytes each: prev, next),
//! per list set `{active count, inactive count, next_inactive_rotation, next virgin}`, per
//! CPU `next_steal` (common LRU) and one meta word per element (type, reference bit, CPU).
//! Elements never handed out ("virgin") are implicitly at the tail of their free list, as
//! the kernel's populate puts them, so a large map is not touched at creation.

use std::sync::atomic::{AtomicU32, Ordering::Relaxed};

use super::slab::Slab;
use super::storage::Storage;
use super::MapError;

/// Offset of an element's LRU `prev` link (`next` follows at +4).
pub(crate) const PREV_OFF: usize = 8;

// The kernel's `enum bpf_lru_list_type`.
const T_ACTIVE: u32 = 0;
const T_INACTIVE: u32 = 1;
const T_FREE: u32 = 2;
const T_LOCAL_FREE: u32 = 3;
const T_LOCAL_PENDING: u32 = 4;

const LOCAL_FREE_TARGET: u32 = 128;
const LOCAL_NR_SCANS: u32 = LOCAL_FREE_TARGET;
const PERCPU_FREE_TARGET: u32 = 4;
const PERCPU_NR_SCANS: u32 = PERCPU_FREE_TARGET;

// Words of a list set.
const L_ACTIVE_COUNT: usize = 0;
const L_INACTIVE_COUNT: usize = 4;
const L_ROTATION: usize = 8;
const L_VIRGIN: usize = 12;
const LIST_WORDS: usize = 16;

/// The LRU lists of one map.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Lru {
    percpu: bool,
    ncpus: u32,
    slab: Slab,
    heads_off: usize,
    nheads: u32,
    lists_off: usize,
    steal_off: usize,
    meta_off: usize,
    target_free: u32,
    nr_scans: u32,
}

/// Unlinks an element from its hash bucket; `false` if it is not in the table.
pub(crate) type DelFromHtab<'a> = &'a dyn Fn(u32) -> Result<bool, MapError>;

impl Lru {
    /// Lay out the lists of `slab.count` elements at `off`; returns the lists and the bytes
    /// they take. `percpu` is `BPF_F_NO_COMMON_LRU` (then `slab.count` is a multiple of
    /// `ncpus`).
    pub(crate) fn new(slab: Slab, ncpus: u32, percpu: bool, off: usize) -> (Lru, usize) {
        let ncpus = ncpus.max(1);
        let nlists = if percpu { ncpus } else { 1 };
        let nheads = if percpu { 3 * ncpus } else { 3 + 2 * ncpus };
        let heads_off = off;
        let lists_off = heads_off + 8 * nheads as usize;
        let steal_off = lists_off + LIST_WORDS * nlists as usize;
        let meta_off = steal_off + if percpu { 0 } else { 8 * ncpus as usize };
        let end = meta_off + 4 * slab.count as usize;
        let (target_free, nr_scans) = if percpu {
            (PERCPU_FREE_TARGET, PERCPU_NR_SCANS)
        } else {
            (
                (slab.count / ncpus / 2).clamp(1, LOCAL_FREE_TARGET),
                LOCAL_NR_SCANS,
            )
        };
        let lru = Lru {
            percpu,
            ncpus,
            slab,
            heads_off,
            nheads,
            lists_off,
            steal_off,
            meta_off,
            target_free,
            nr_scans,
        };
        (lru, (end - off).next_multiple_of(8))
    }

    /// Initialise the lists of a new region (every element free).
    pub(crate) fn init(&self, st: &Storage) {
        for k in 0..self.nheads {
            let id = self.head_id(k);
            let off = self.heads_off + 8 * k as usize;
            st.set32(off, id);
            st.set32(off + 4, id);
        }
        let nlists = if self.percpu { self.ncpus } else { 1 };
        for l in 0..nlists {
            let w = self.list_words(l);
            st.set32(w + L_ROTATION, self.list_head(l, T_INACTIVE));
            st.set32(w + L_VIRGIN, self.virgin_range(l).0);
        }
        if !self.percpu {
            for c in 0..self.ncpus {
                st.set32(self.steal_off + 8 * c as usize, c);
            }
        }
    }

    // ------------------------------------------------------------ ids and words

    #[inline]
    fn head_id(&self, k: u32) -> u32 {
        self.slab.count + 1 + k
    }

    /// Head of list `t` of list set `l` (the global set of a common LRU is 0).
    fn list_head(&self, l: u32, t: u32) -> u32 {
        self.head_id(3 * l + t)
    }

    fn local_free_head(&self, cpu: u32) -> u32 {
        self.head_id(3 + 2 * cpu)
    }

    fn pending_head(&self, cpu: u32) -> u32 {
        self.head_id(3 + 2 * cpu + 1)
    }

    #[inline]
    fn list_words(&self, l: u32) -> usize {
        self.lists_off + LIST_WORDS * l as usize
    }

    /// The element ids list set `l` starts with, `first..=last`.
    fn virgin_range(&self, l: u32) -> (u32, u32) {
        if self.percpu {
            let per = self.slab.count / self.ncpus;
            (l * per + 1, (l + 1) * per)
        } else {
            (1, self.slab.count)
        }
    }

    #[inline]
    fn link_off(&self, id: u32) -> Result<usize, MapError> {
        if id > self.slab.count {
            let k = id - self.slab.count - 1;
            if k >= self.nheads {
                return Err(MapError::Corrupt("LRU link out of range"));
            }
            Ok(self.heads_off + 8 * k as usize)
        } else {
            Ok(self.slab.off(id)? + PREV_OFF)
        }
    }

    /// The link word `which` (0: prev, 4: next) of node `id`, with one bounds check.
    #[inline]
    fn link<'s>(&self, st: &'s Storage, id: u32, which: usize) -> Result<&'s AtomicU32, MapError> {
        let off = self.link_off(id)? + which;
        match st.words().get(off / 4) {
            Some(w) => Ok(w),
            None => Err(MapError::Corrupt("LRU link outside the region")),
        }
    }

    #[inline]
    fn prev(&self, st: &Storage, id: u32) -> Result<u32, MapError> {
        Ok(self.link(st, id, 0)?.load(Relaxed))
    }

    #[inline]
    fn next(&self, st: &Storage, id: u32) -> Result<u32, MapError> {
        Ok(self.link(st, id, 4)?.load(Relaxed))
    }

    #[inline]
    fn set_prev(&self, st: &Storage, id: u32, v: u32) -> Result<(), MapError> {
        self.link(st, id, 0)?.store(v, Relaxed);
        Ok(())
    }

    #[inline]
    fn set_next(&self, st: &Storage, id: u32, v: u32) -> Result<(), MapError> {
        self.link(st, id, 4)?.store(v, Relaxed);
        Ok(())
    }

    #[inline(always)]
    fn meta_word(&self, id: u32) -> Result<usize, MapError> {
        if id == 0 || id > self.slab.count {
            return Err(MapError::Corrupt("LRU node out of range"));
        }
        Ok(self.meta_off + 4 * (id as usize - 1))
    }

    #[inline]
    fn node_type(&self, st: &Storage, id: u32) -> Result<u32, MapError> {
        Ok(st.get32(self.meta_word(id)?) & 0xff)
    }

    #[inline]
    fn set_type(&self, st: &Storage, id: u32, t: u32) -> Result<(), MapError> {
        let w = self.meta_word(id)?;
        st.set32(w, (st.get32(w) & !0xff) | t);
        Ok(())
    }

    #[inline]
    fn is_ref(&self, st: &Storage, id: u32) -> Result<bool, MapError> {
        Ok(st.get32(self.meta_word(id)?) & 0xff00 != 0)
    }

    #[inline]
    fn write_ref(&self, st: &Storage, id: u32, on: bool) -> Result<(), MapError> {
        let w = self.meta_word(id)?;
        let v = st.get32(w) & !0xff00;
        st.set32(w, if on { v | 0x100 } else { v });
        Ok(())
    }

    #[inline]
    fn node_cpu(&self, st: &Storage, id: u32) -> Result<u32, MapError> {
        Ok((st.get32(self.meta_word(id)?) >> 16) % self.ncpus)
    }

    #[inline]
    fn set_cpu(&self, st: &Storage, id: u32, cpu: u32) -> Result<(), MapError> {
        let w = self.meta_word(id)?;
        st.set32(w, (st.get32(w) & 0xffff) | (cpu << 16));
        Ok(())
    }

    #[inline]
    fn count_word(&self, l: u32, t: u32) -> Option<usize> {
        match t {
            T_ACTIVE => Some(self.list_words(l) + L_ACTIVE_COUNT),
            T_INACTIVE => Some(self.list_words(l) + L_INACTIVE_COUNT),
            _ => None,
        }
    }

    fn count_inc(&self, st: &Storage, l: u32, t: u32) {
        if let Some(w) = self.count_word(l, t) {
            st.set32(w, st.get32(w).wrapping_add(1));
        }
    }

    fn count_dec(&self, st: &Storage, l: u32, t: u32) {
        if let Some(w) = self.count_word(l, t) {
            st.set32(w, st.get32(w).wrapping_sub(1));
        }
    }

    fn rotation(&self, st: &Storage, l: u32) -> u32 {
        st.get32(self.list_words(l) + L_ROTATION)
    }

    fn set_rotation(&self, st: &Storage, l: u32, id: u32) {
        st.set32(self.list_words(l) + L_ROTATION, id);
    }

    /// Upper bound of a walk over one list (more steps means a cycle in a corrupt region).
    fn walk_limit(&self) -> u32 {
        self.slab.count + self.nheads + 1
    }

    // ------------------------------------------------------------ list primitives

    #[inline]
    fn list_add(&self, st: &Storage, id: u32, head: u32) -> Result<(), MapError> {
        let next = self.next(st, head)?;
        self.set_next(st, id, next)?;
        self.set_prev(st, id, head)?;
        self.set_prev(st, next, id)?;
        self.set_next(st, head, id)
    }

    #[inline]
    fn list_del(&self, st: &Storage, id: u32) -> Result<(), MapError> {
        let p = self.prev(st, id)?;
        let n = self.next(st, id)?;
        self.set_next(st, p, n)?;
        self.set_prev(st, n, p)
    }

    #[inline]
    fn list_move(&self, st: &Storage, id: u32, head: u32) -> Result<(), MapError> {
        self.list_del(st, id)?;
        self.list_add(st, id, head)
    }

    #[inline]
    fn list_empty(&self, st: &Storage, head: u32) -> Result<bool, MapError> {
        Ok(self.next(st, head)? == head)
    }

    /// `old` takes `new`'s place in its list and `new` takes `old`'s (the kernel's
    /// `list_swap`).
    #[inline]
    fn list_swap(&self, st: &Storage, a: u32, b: u32) -> Result<(), MapError> {
        let mut pos = self.prev(st, b)?;
        self.list_del(st, b)?;
        // list_replace(a, b)
        let an = self.next(st, a)?;
        let ap = self.prev(st, a)?;
        self.set_next(st, b, an)?;
        self.set_prev(st, an, b)?;
        self.set_prev(st, b, ap)?;
        self.set_next(st, ap, b)?;
        if pos == a {
            pos = b;
        }
        self.list_add(st, a, pos)
    }

    /// Take the first node of list set `l`'s free list (explicit nodes, then virgin ones).
    fn free_take_first(&self, st: &Storage, l: u32) -> Result<Option<u32>, MapError> {
        let head = self.list_head(l, T_FREE);
        let first = self.next(st, head)?;
        if first != head {
            self.list_del(st, first)?;
            return Ok(Some(first));
        }
        let w = self.list_words(l) + L_VIRGIN;
        let v = st.get32(w);
        let (lo, hi) = self.virgin_range(l);
        if v < lo || v > hi {
            return Ok(None);
        }
        st.set32(w, v + 1);
        // A virgin node: its meta word is still zero; give it its list set's CPU.
        st.set32(self.meta_word(v)?, 0);
        if self.percpu {
            self.set_cpu(st, v, l)?;
        }
        Ok(Some(v))
    }

    fn free_empty(&self, st: &Storage, l: u32) -> Result<bool, MapError> {
        let v = st.get32(self.list_words(l) + L_VIRGIN);
        let (lo, hi) = self.virgin_range(l);
        Ok(self.list_empty(st, self.list_head(l, T_FREE))? && !(lo..=hi).contains(&v))
    }

    // ------------------------------------------------------------ the kernel's moves

    /// `__bpf_lru_node_move`: between or within `active` and `inactive` (or to `free`).
    fn node_move(&self, st: &Storage, l: u32, id: u32, tgt: u32) -> Result<(), MapError> {
        let t = self.node_type(st, id)?;
        if t != tgt {
            self.count_dec(st, l, t);
            self.count_inc(st, l, tgt);
            self.set_type(st, id, tgt)?;
        }
        self.write_ref(st, id, false)?;
        let rot = self.rotation(st, l);
        if rot == id {
            self.set_rotation(st, l, self.prev(st, rot)?);
        }
        self.list_move(st, id, self.list_head(l, tgt))
    }

    /// `__bpf_lru_node_move_to_free`: to a free list (the reference bit stays).
    fn node_move_to_free(
        &self,
        st: &Storage,
        l: u32,
        id: u32,
        free_head: u32,
        free_type: u32,
    ) -> Result<(), MapError> {
        let rot = self.rotation(st, l);
        if rot == id {
            self.set_rotation(st, l, self.prev(st, rot)?);
        }
        self.count_dec(st, l, self.node_type(st, id)?);
        self.set_type(st, id, free_type)?;
        self.list_move(st, id, free_head)
    }

    /// `__bpf_lru_node_move_in`: from a local list into the global lists.
    fn node_move_in(&self, st: &Storage, id: u32, tgt: u32) -> Result<(), MapError> {
        self.count_inc(st, 0, tgt);
        self.set_type(st, id, tgt)?;
        self.write_ref(st, id, false)?;
        self.list_move(st, id, self.list_head(0, tgt))
    }

    /// `__bpf_lru_list_rotate_active`.
    fn rotate_active(&self, st: &Storage, l: u32) -> Result<(), MapError> {
        let active = self.list_head(l, T_ACTIVE);
        let first = self.next(st, active)?;
        let mut node = self.prev(st, active)?;
        let mut i = 0;
        while node != active {
            let tmp = self.prev(st, node)?;
            let tgt = if self.is_ref(st, node)? {
                T_ACTIVE
            } else {
                T_INACTIVE
            };
            self.node_move(st, l, node, tgt)?;
            i += 1;
            if i == self.nr_scans || node == first {
                break;
            }
            if i > self.walk_limit() {
                return Err(MapError::Corrupt("cycle in an LRU list"));
            }
            node = tmp;
        }
        Ok(())
    }

    /// `__bpf_lru_list_rotate_inactive`.
    fn rotate_inactive(&self, st: &Storage, l: u32) -> Result<(), MapError> {
        let inactive = self.list_head(l, T_INACTIVE);
        if self.list_empty(st, inactive)? {
            return Ok(());
        }
        let rot = self.rotation(st, l);
        let mut last = self.next(st, rot)?;
        if last == inactive {
            last = self.next(st, last)?;
        }
        let mut cur = rot;
        let mut next = inactive;
        let mut i = 0;
        let mut steps = 0;
        while i < self.nr_scans {
            steps += 1;
            if steps > 2 * self.walk_limit() {
                return Err(MapError::Corrupt("cycle in an LRU list"));
            }
            if cur == inactive {
                cur = self.prev(st, cur)?;
                continue;
            }
            next = self.prev(st, cur)?;
            if self.is_ref(st, cur)? {
                self.node_move(st, l, cur, T_ACTIVE)?;
            }
            if cur == last {
                break;
            }
            cur = next;
            i += 1;
        }
        self.set_rotation(st, l, next);
        Ok(())
    }

    /// `__bpf_lru_list_rotate`.
    fn rotate(&self, st: &Storage, l: u32) -> Result<(), MapError> {
        let w = self.list_words(l);
        if st.get32(w + L_INACTIVE_COUNT) < st.get32(w + L_ACTIVE_COUNT) {
            self.rotate_active(st, l)?;
        }
        self.rotate_inactive(st, l)
    }

    /// `__bpf_lru_list_shrink_inactive`: evict unreferenced nodes from the tail.
    fn shrink_inactive(
        &self,
        st: &Storage,
        l: u32,
        tgt: u32,
        free_head: u32,
        free_type: u32,
        del: DelFromHtab,
    ) -> Result<u32, MapError> {
        let inactive = self.list_head(l, T_INACTIVE);
        let mut node = self.prev(st, inactive)?;
        let (mut shrunk, mut i) = (0, 0);
        while node != inactive {
            let tmp = self.prev(st, node)?;
            if self.is_ref(st, node)? {
                self.node_move(st, l, node, T_ACTIVE)?;
            } else if del(node)? {
                self.node_move_to_free(st, l, node, free_head, free_type)?;
                shrunk += 1;
                if shrunk == tgt {
                    break;
                }
            }
            i += 1;
            if i == self.nr_scans {
                break;
            }
            if i > self.walk_limit() {
                return Err(MapError::Corrupt("cycle in an LRU list"));
            }
            node = tmp;
        }
        Ok(shrunk)
    }

    /// `__bpf_lru_list_shrink`: as above, or else force out one node whatever its bit.
    fn shrink(
        &self,
        st: &Storage,
        l: u32,
        tgt: u32,
        free_head: u32,
        free_type: u32,
        del: DelFromHtab,
    ) -> Result<u32, MapError> {
        let n = self.shrink_inactive(st, l, tgt, free_head, free_type, del)?;
        if n > 0 {
            return Ok(n);
        }
        let inactive = self.list_head(l, T_INACTIVE);
        let force = if self.list_empty(st, inactive)? {
            self.list_head(l, T_ACTIVE)
        } else {
            inactive
        };
        let mut node = self.prev(st, force)?;
        let mut steps = 0;
        while node != force {
            let tmp = self.prev(st, node)?;
            if del(node)? {
                self.node_move_to_free(st, l, node, free_head, free_type)?;
                return Ok(1);
            }
            steps += 1;
            if steps > self.walk_limit() {
                return Err(MapError::Corrupt("cycle in an LRU list"));
            }
            node = tmp;
        }
        Ok(0)
    }

    // ------------------------------------------------------------ common LRU

    /// `__local_list_flush`: a CPU's pending nodes into the global lists, oldest first.
    fn local_flush(&self, st: &Storage, cpu: u32) -> Result<(), MapError> {
        let pending = self.pending_head(cpu);
        let mut node = self.prev(st, pending)?;
        let mut steps = 0;
        while node != pending {
            let tmp = self.prev(st, node)?;
            let tgt = if self.is_ref(st, node)? {
                T_ACTIVE
            } else {
                T_INACTIVE
            };
            self.node_move_in(st, node, tgt)?;
            steps += 1;
            if steps > self.walk_limit() {
                return Err(MapError::Corrupt("cycle in an LRU list"));
            }
            node = tmp;
        }
        Ok(())
    }

    /// `bpf_lru_list_pop_free_to_local`.
    fn pop_free_to_local(&self, st: &Storage, cpu: u32, del: DelFromHtab) -> Result<(), MapError> {
        self.local_flush(st, cpu)?;
        self.rotate(st, 0)?;
        let local_free = self.local_free_head(cpu);
        let mut nfree = 0;
        while nfree < self.target_free {
            let Some(node) = self.free_take_first(st, 0)? else {
                break;
            };
            self.set_type(st, node, T_LOCAL_FREE)?;
            self.list_add(st, node, local_free)?;
            nfree += 1;
        }
        if nfree < self.target_free {
            self.shrink(
                st,
                0,
                self.target_free - nfree,
                local_free,
                T_LOCAL_FREE,
                del,
            )?;
        }
        Ok(())
    }

    fn local_pop_free(&self, st: &Storage, cpu: u32) -> Result<Option<u32>, MapError> {
        let head = self.local_free_head(cpu);
        let first = self.next(st, head)?;
        if first == head {
            return Ok(None);
        }
        self.list_del(st, first)?;
        Ok(Some(first))
    }

    /// `__local_list_pop_pending`: the oldest unreferenced pending node, else the oldest.
    fn local_pop_pending(
        &self,
        st: &Storage,
        cpu: u32,
        del: DelFromHtab,
    ) -> Result<Option<u32>, MapError> {
        let pending = self.pending_head(cpu);
        for force in [false, true] {
            let mut node = self.prev(st, pending)?;
            let mut steps = 0;
            while node != pending {
                if (force || !self.is_ref(st, node)?) && del(node)? {
                    self.list_del(st, node)?;
                    return Ok(Some(node));
                }
                steps += 1;
                if steps > self.walk_limit() {
                    return Err(MapError::Corrupt("cycle in an LRU list"));
                }
                node = self.prev(st, node)?;
            }
        }
        Ok(None)
    }

    fn local_add_pending(&self, st: &Storage, cpu: u32, id: u32) -> Result<(), MapError> {
        self.set_cpu(st, id, cpu)?;
        self.set_type(st, id, T_LOCAL_PENDING)?;
        self.write_ref(st, id, false)?;
        self.list_add(st, id, self.pending_head(cpu))
    }

    /// `bpf_common_lru_pop_free`.
    fn common_pop_free(
        &self,
        st: &Storage,
        cpu: u32,
        del: DelFromHtab,
    ) -> Result<Option<u32>, MapError> {
        let mut node = self.local_pop_free(st, cpu)?;
        if node.is_none() {
            self.pop_free_to_local(st, cpu, del)?;
            node = self.local_pop_free(st, cpu)?;
        }
        if let Some(n) = node {
            self.local_add_pending(st, cpu, n)?;
            return Ok(Some(n));
        }
        // Nothing free here nor globally: steal from the CPUs' local lists, round-robin.
        let steal_word = self.steal_off + 8 * cpu as usize;
        let first = st.get32(steal_word) % self.ncpus;
        let mut steal = first;
        loop {
            node = self.local_pop_free(st, steal)?;
            if node.is_none() {
                node = self.local_pop_pending(st, steal, del)?;
            }
            steal = (steal + 1) % self.ncpus;
            if node.is_some() || steal == first {
                break;
            }
        }
        st.set32(steal_word, steal);
        if let Some(n) = node {
            self.local_add_pending(st, cpu, n)?;
        }
        Ok(node)
    }

    // ------------------------------------------------------------ per-CPU LRU

    /// `bpf_percpu_lru_pop_free`.
    fn percpu_pop_free(
        &self,
        st: &Storage,
        cpu: u32,
        del: DelFromHtab,
    ) -> Result<Option<u32>, MapError> {
        self.rotate(st, cpu)?;
        if self.free_empty(st, cpu)? {
            self.shrink(
                st,
                cpu,
                PERCPU_FREE_TARGET,
                self.list_head(cpu, T_FREE),
                T_FREE,
                del,
            )?;
        }
        let Some(node) = self.free_take_first(st, cpu)? else {
            return Ok(None);
        };
        // Back on the free list for a moment, so that the kernel's move applies as is.
        self.set_type(st, node, T_FREE)?;
        self.list_add(st, node, self.list_head(cpu, T_FREE))?;
        self.node_move(st, cpu, node, T_INACTIVE)?;
        Ok(Some(node))
    }

    // ------------------------------------------------------------ the interface

    /// `bpf_lru_pop_free`: a node for a new key on `cpu`, evicting keys (through `del`) if
    /// needed; `None` when every node is taken (the kernel's `ENOMEM`).
    pub(crate) fn pop_free(
        &self,
        st: &Storage,
        cpu: u32,
        del: DelFromHtab,
    ) -> Result<Option<u32>, MapError> {
        let cpu = cpu % self.ncpus;
        if self.percpu {
            self.percpu_pop_free(st, cpu, del)
        } else {
            self.common_pop_free(st, cpu, del)
        }
    }

    /// `bpf_lru_push_free`: a node whose key left the table.
    pub(crate) fn push_free(&self, st: &Storage, id: u32) -> Result<(), MapError> {
        if self.percpu {
            let l = self.node_cpu(st, id)?;
            return self.node_move(st, l, id, T_FREE);
        }
        match self.node_type(st, id)? {
            T_FREE | T_LOCAL_FREE => Ok(()),
            T_LOCAL_PENDING => {
                let cpu = self.node_cpu(st, id)?;
                self.set_type(st, id, T_LOCAL_FREE)?;
                self.write_ref(st, id, false)?;
                self.list_move(st, id, self.local_free_head(cpu))
            }
            _ => self.node_move(st, 0, id, T_FREE),
        }
    }

    /// Offset of the word holding node `id`'s reference bit (bit 8) is
    /// `meta_base() + 4 * id`, for nodes `1..=count`.
    pub(crate) fn meta_base(&self) -> usize {
        self.meta_off - 4
    }

    /// `bpf_lru_node_set_ref`: a program looked the key up.
    pub(crate) fn set_ref(&self, st: &Storage, id: u32) -> Result<(), MapError> {
        self.write_ref(st, id, true)
    }

    /// [`Lru::set_ref`] without the map lock, as the kernel's (a plain store when the bit is
    /// clear): an atomic OR of the bit, so the other fields of the word, which lock holders
    /// change, are kept. A holder's read-modify-write of the word at the same moment may
    /// drop the bit again, as the kernel's racing `node->ref = 0` of the list rotation may.
    #[inline(always)]
    pub(crate) fn set_ref_unlocked(&self, st: &Storage, id: u32) -> Option<()> {
        use std::sync::atomic::Ordering::Relaxed;
        let w = st.words().get(self.meta_word(id).ok()? / 4)?;
        if w.load(Relaxed) & 0x100 == 0 {
            w.fetch_or(0x100, Relaxed);
        }
        Some(())
    }

    /// An update of the existing key in `old` with the node `new` just popped for it: the
    /// kernel links `new` in with its reference bit set and frees `old`. Here `old` keeps
    /// the key and value and takes `new`'s place (and bit), and `new`, in `old`'s place, is
    /// freed.
    pub(crate) fn replace(&self, st: &Storage, old: u32, new: u32) -> Result<(), MapError> {
        self.list_swap(st, old, new)?;
        let (wo, wn) = (self.meta_word(old)?, self.meta_word(new)?);
        let (mo, mn) = (st.get32(wo), st.get32(wn));
        st.set32(wo, mn);
        st.set32(wn, mo);
        let nlists = if self.percpu { self.ncpus } else { 1 };
        for l in 0..nlists {
            let rot = self.rotation(st, l);
            if rot == old {
                self.set_rotation(st, l, new);
            } else if rot == new {
                self.set_rotation(st, l, old);
            }
        }
        self.set_ref(st, old)?;
        self.push_free(st, new)
    }
}
