//! Direct calls of the map helpers, for compiled code.
//!
//! Takes the map helpers an instance registers (recorded with [`record_map_helpers`]
//! together with the instance's handle-to-map resolver); gives [`MapFastPaths`], which says
//! for a program's helper registry which map helper calls on which maps a JIT may replace by
//! a direct call of one of the `extern "C"` functions here, and those functions.
//!
//! A direct call skips what the helper adds around the map operation for unchecked callers:
//! the handle lookup (the map is resolved when the code is generated) and the checked copies
//! of keys and values through the run's memory map (a verified program's key and value
//! pointers are valid for the map's key and value sizes). The map operation itself, and so
//! its semantics and errno results, is the one the helper calls. Each function returns
//! [`FastRet`]: with `fallback` set, nothing was changed and the caller must call the helper
//! instead, which then reports the error as a trap (a ring buffer record the map does not
//! own, bad submit flags) or repeats a panic as one.
//!
//! Helpers covered, with the map types they have a direct form for: `bpf_map_lookup_elem`,
//! `bpf_map_update_elem`, `bpf_map_delete_elem` on hash, array and LPM maps (the helper's
//! "element maps"), `bpf_ringbuf_reserve`, `bpf_ringbuf_submit` and `bpf_ringbuf_discard`
//! on ring buffers. None of them reads r5.

use std::mem::MaybeUninit;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex, Weak};

use super::ids;
use crate::helpers::{HelperFn, Helpers};
use crate::maps::{Map, MapType};

/// Turns a map handle (the constant a relocated `lddw rX, map` loads) into the map.
pub type MapResolver = dyn Fn(u64) -> Option<Arc<Map>> + Send + Sync;

/// The helper ids with a direct form.
pub const DIRECT_IDS: [u32; 6] = [
    ids::MAP_LOOKUP_ELEM,
    ids::MAP_UPDATE_ELEM,
    ids::MAP_DELETE_ELEM,
    ids::RINGBUF_RESERVE,
    ids::RINGBUF_SUBMIT,
    ids::RINGBUF_DISCARD,
];

struct Own {
    helper: Weak<HelperFn>,
    resolve: Arc<MapResolver>,
}

/// The instance map helpers recorded (weak: each keeps its allocation, so no other helper
/// can get its address while it is listed). Dead entries are pruned at each recording.
static OWN: Mutex<Vec<Own>> = Mutex::new(Vec::new());

/// Record that the helpers of [`DIRECT_IDS`] now in `helpers` are map helpers whose map
/// argument `resolve` turns into the map they operate on, and that do nothing else than the
/// functions of this module do (for valid keys, values and records).
pub fn record_map_helpers(helpers: &Helpers, resolve: Arc<MapResolver>) {
    let mut own = OWN.lock().unwrap_or_else(|e| e.into_inner());
    own.retain(|o| o.helper.strong_count() > 0);
    for id in DIRECT_IDS {
        if let Some(h) = helpers.get(id) {
            own.push(Own {
                helper: Arc::downgrade(&h.func),
                resolve: resolve.clone(),
            });
        }
    }
}

/// Which map helper calls of one helper registry may be direct calls.
pub struct MapFastPaths {
    /// The resolver of each of [`DIRECT_IDS`], when that helper is a recorded one.
    resolvers: [Option<Arc<MapResolver>>; DIRECT_IDS.len()],
}

impl std::fmt::Debug for MapFastPaths {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<u32> = DIRECT_IDS
            .iter()
            .zip(&self.resolvers)
            .filter(|(_, r)| r.is_some())
            .map(|(id, _)| *id)
            .collect();
        f.debug_struct("MapFastPaths").field("ids", &ids).finish()
    }
}

/// A direct call: the function's address and the map to pass.
#[derive(Clone, Debug)]
pub struct DirectCall {
    /// Address of the `extern "C"` function.
    pub func: u64,
    /// The map; the caller keeps it alive while the code that embeds its address lives.
    pub map: Arc<Map>,
    /// The argument that takes the calling thread's CPU slot, if any.
    pub cpu_arg: Option<CpuArg>,
}

/// Where a direct call takes the calling thread's CPU slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CpuArg {
    /// The argument (0-based).
    pub arg: usize,
    /// Whether the map uses it: when not, the caller may pass 0 instead.
    pub needed: bool,
}

impl MapFastPaths {
    /// The direct calls `helpers` allows (none when its map helpers are not recorded ones).
    pub fn for_helpers(helpers: &Helpers) -> MapFastPaths {
        let own = OWN.lock().unwrap_or_else(|e| e.into_inner());
        let resolvers = DIRECT_IDS.map(|id| {
            let h = helpers.get(id)?;
            own.iter()
                .find(|o| std::ptr::addr_eq(o.helper.as_ptr(), Arc::as_ptr(&h.func)))
                .map(|o| o.resolve.clone())
        });
        MapFastPaths { resolvers }
    }

    fn resolver(&self, id: u32) -> Option<&Arc<MapResolver>> {
        let i = DIRECT_IDS.iter().position(|&d| d == id)?;
        self.resolvers[i].as_ref()
    }

    /// The map `handle` names, when helper `id` is a recorded map helper.
    pub fn map(&self, id: u32, handle: u64) -> Option<Arc<Map>> {
        self.resolver(id)?(handle)
    }

    /// The direct form of helper `id` called with r1 = `handle` (lookup, update, delete,
    /// ring buffer reserve): the function is called with the map as its first argument in
    /// place of r1, r2–r4 as the helper's, and the calling thread's CPU slot after the
    /// helper's arguments (lookup: third, update: fifth; see [`DirectCall::cpu_arg`]).
    pub fn with_map(&self, id: u32, handle: u64) -> Option<DirectCall> {
        let map = self.map(id, handle)?;
        let t = map.map_type();
        // The CPU slot matters to per-CPU values (and LRU lists, on updates) only; the
        // other maps are passed 0.
        let lru = matches!(t, MapType::LruHash | MapType::LruPercpuHash);
        let (lookup_cpu, update_cpu) = (t.is_percpu(), t.is_percpu() || lru);
        let (func, cpu_arg) = match id {
            ids::MAP_LOOKUP_ELEM if t.is_element_map() => (
                lookup_elem as *const () as u64,
                Some(CpuArg {
                    arg: 2,
                    needed: lookup_cpu,
                }),
            ),
            ids::MAP_UPDATE_ELEM if t.is_element_map() => (
                update_elem as *const () as u64,
                Some(CpuArg {
                    arg: 4,
                    needed: update_cpu,
                }),
            ),
            ids::MAP_DELETE_ELEM if t.is_element_map() => (delete_elem as *const () as u64, None),
            ids::RINGBUF_RESERVE if t == MapType::Ringbuf => {
                (ringbuf_reserve as *const () as u64, None)
            }
            _ => return None,
        };
        Some(DirectCall { func, map, cpu_arg })
    }

    /// For `bpf_map_lookup_elem` on the (per-CPU) hash map `handle` names: its inline lookup
    /// layout and the direct call for the slow path.
    pub fn inline_hash(&self, handle: u64) -> Option<(HashInline, DirectCall)> {
        let direct = self.with_map(ids::MAP_LOOKUP_ELEM, handle)?;
        Some((direct.map.hash_inline()?, direct))
    }

    /// For `bpf_map_lookup_elem` on the LPM trie `handle` names, when its keys are IPv4's
    /// (4 data bytes): its inline lookup layout and the direct call for the slow path.
    pub fn inline_lpm(&self, handle: u64) -> Option<(LpmInline, DirectCall)> {
        let direct = self.with_map(ids::MAP_LOOKUP_ELEM, handle)?;
        Some((direct.map.lpm_inline()?, direct))
    }

    /// The direct form of `bpf_ringbuf_submit` / `bpf_ringbuf_discard` (helper `id`) for
    /// records of `ring` (a ring buffer the program uses, named by its handle): called with
    /// r1 and r2 as the helper's and the map as the third argument; records of other maps
    /// fall back to the helper.
    pub fn commit(&self, id: u32, ring: u64) -> Option<DirectCall> {
        let map = self.map(id, ring)?;
        if map.map_type() != MapType::Ringbuf {
            return None;
        }
        let func = match id {
            ids::RINGBUF_SUBMIT => ringbuf_submit as *const () as u64,
            ids::RINGBUF_DISCARD => ringbuf_discard as *const () as u64,
            _ => return None,
        };
        Some(DirectCall {
            func,
            map,
            cpu_arg: None,
        })
    }
}

/// How generated code may look a key up in a hash map (plain, per-CPU, LRU) itself (the kernel's
/// `htab_map_gen_lookup` calls its lookup; this is the whole lookup), without the lock:
///
/// 1. `x = (key ^ seed) * hash_mul` with the key's bytes as a native-endian word
///    (`key_size` 1, 2, 4 or 8, zero-extended); `h = low32(x ^ (x >> 32))`.
/// 2. The bucket's lock word is the u32 at `buckets + 8 * (h & bucket_mask)` (LRU maps:
///    the map's lock, [`LruInline::lock`]) and its first element index the u32 after the
///    bucket's lock word. Read the lock word: odd means a writer holds it (slow path).
/// 3. Walk: index 0 ends the chain (not found); an index above `count` or more than
///    `max_steps` steps means a chain changed under the walk (slow path). Element `i` is at
///    `elems + i * elem_size`: its hash (u32) at `hash_off`, key at `key_off`, next index
///    (u32) at `next_off`, value at `value_off`.
/// 4. On a match or at the end of the chain, read the lock word again: if it changed, a
///    writer intervened (slow path); else the value's address (or NULL) is the result
///    (per-CPU maps: the calling thread's CPU slot's value; a slot beyond the map's CPU
///    count takes the slow path; LRU maps: the element's reference bit set first).
///
/// The slow path is [`lookup_elem`], whose result is the helper's. Every address above
/// stays inside the map's region while the map lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HashInline {
    /// Address of bucket 0's lock word.
    pub buckets: u64,
    /// Buckets minus one (a power of two minus one, below 2^30).
    pub bucket_mask: u32,
    /// Address of element 1 minus `elem_size`.
    pub elems: u64,
    /// Bytes per element.
    pub elem_size: u32,
    /// Number of elements.
    pub count: u32,
    /// Longest chain a consistent table has.
    pub max_steps: u32,
    /// 1, 2, 4 or 8.
    pub key_size: u32,
    /// The map's hash seed.
    pub seed: u64,
    /// The hash multiplier.
    pub hash_mul: u64,
    /// Offsets inside an element.
    pub hash_off: u32,
    /// Offset of the key.
    pub key_off: u32,
    /// Offset of the next index.
    pub next_off: u32,
    /// Offset of the value (of CPU 0's value for per-CPU maps).
    pub value_off: u32,
    /// LRU maps: their lock and reference bits.
    pub lru: Option<LruInline>,
    /// Per-CPU maps: the number of CPU values and the distance between them; CPU slot `c`
    /// (below the number) has its value `c * distance` after CPU 0's.
    pub percpu: Option<(u32, u32)>,
}

/// How generated code may look a key up in an LPM trie with 4 data bytes (IPv4: key size 8)
/// itself, without the lock, as `LpmTrie::longest` walks (the kernel's `trie_lookup_elem`):
///
/// 1. The key's prefix length is the u32 at key offset 0; above 32, nothing matches. Its
///    data is the big-endian u32 at key offset 4.
/// 2. Read the lock word at `lock`: odd means a writer holds it (slow path).
/// 3. Walk from the node index at `root`, remembering the last element whose prefix
///    matched: index 0 ends the walk; an index above `count`, a node whose `flags` is
///    neither 1 (element) nor 2 (intermediate), a prefix length above 32 or more than 33
///    steps mean a trie changed under the walk (slow path). Node `i` is at
///    `nodes + i * node_size`: flags (u32) at `flags_off`, prefix length `np` (u32) at
///    `plen_off`, children (u32 each) at `child_off` and 4 after, data (big-endian u32) at
///    `data_off`, value at `value_off`.
/// 4. A node whose prefix length is above the key's, or whose first `np` data bits differ
///    from the key's, ends the walk. Else a node with `np` 32 is the result; else an
///    element is remembered, and the walk goes on to the child bit `np` of the key chooses.
/// 5. At the end, read the lock word again: if it changed, a writer intervened (slow
///    path); else the remembered element's value (or NULL) is the result.
///
/// The slow path is [`lookup_elem`]. Every address above stays inside the map's region
/// while the map lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LpmInline {
    /// Address of the map's lock word.
    pub lock: u64,
    /// Address of the root node's index.
    pub root: u64,
    /// Address of node 1 minus `node_size`.
    pub nodes: u64,
    /// Bytes per node.
    pub node_size: u32,
    /// Number of node slots.
    pub count: u32,
    /// Offsets inside a node: flags.
    pub flags_off: u32,
    /// Prefix length.
    pub plen_off: u32,
    /// Child 0 (child 1 follows).
    pub child_off: u32,
    /// Data.
    pub data_off: u32,
    /// Value.
    pub value_off: u32,
}

/// What LRU maps add to [`HashInline`]: one lock for the whole map, and the reference bit
/// a lookup sets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LruInline {
    /// Address of the map's lock word, the sequence the walk checks (instead of the
    /// bucket's).
    pub lock: u64,
    /// Element `i`'s reference bit is bit 8 of the u32 at `ref_words + 4 * i`; a lookup
    /// that finds the element sets it with an atomic OR when it is clear.
    pub ref_words: u64,
}

/// What a direct call returns (rax, rdx).
#[repr(C)]
#[derive(Debug, PartialEq, Eq)]
pub struct FastRet {
    /// The helper's result.
    pub value: u64,
    /// Non-zero: nothing was done; call the helper instead.
    pub fallback: u64,
}

const FALLBACK: FastRet = FastRet {
    value: 0,
    fallback: 1,
};

#[inline(always)]
fn guarded(f: impl FnOnce() -> Option<u64>) -> FastRet {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Some(value)) => FastRet { value, fallback: 0 },
        _ => FALLBACK,
    }
}

#[inline]
fn errno(r: Result<(), crate::maps::MapError>) -> u64 {
    match r {
        Ok(()) => 0,
        Err(e) => (-(e.errno() as i64)) as u64,
    }
}

/// A copy of the `len` bytes at `ptr`, in `buf` when they fit, else on the heap (`heap`):
/// the key or value of an update may lie in the map's own memory, even in the element it
/// overwrites.
///
/// # Safety
/// `[ptr, ptr + len)` must be readable.
#[inline(always)]
unsafe fn copy_in<'b>(
    buf: &'b mut [MaybeUninit<u8>],
    heap: &'b mut Vec<u8>,
    ptr: *const u8,
    len: usize,
) -> &'b [u8] {
    if len > buf.len() {
        // SAFETY: `ptr` is readable for `len` bytes (the caller's contract).
        *heap = unsafe { std::slice::from_raw_parts(ptr, len) }.to_vec();
        return heap;
    }
    // SAFETY: `ptr` is readable for `len` bytes (the caller's contract) and `buf` is a
    // distinct buffer of at least `len` bytes; its first `len` bytes are then initialised,
    // and only those are viewed.
    unsafe {
        let dst = buf.as_mut_ptr().cast::<u8>();
        match len {
            4 => std::ptr::copy_nonoverlapping(ptr, dst, 4),
            8 => std::ptr::copy_nonoverlapping(ptr, dst, 8),
            _ => std::ptr::copy_nonoverlapping(ptr, dst, len),
        }
        std::slice::from_raw_parts(dst, len)
    }
}

/// `bpf_map_lookup_elem(map, key)` on CPU slot `cpu`.
///
/// # Safety
/// `map` must point to a live [`Map`], `key` be readable for its key size, and `cpu` be
/// the calling thread's [`crate::maps::current_cpu`].
pub unsafe extern "C" fn lookup_elem(map: *const Map, key: *const u8, cpu: u32) -> FastRet {
    guarded(|| {
        // SAFETY: the caller's contract.
        let map = unsafe { &*map };
        // SAFETY: the caller's contract; the bytes are only read (the lookup may race with
        // writers of the key's memory as the helper's copy would).
        let key = unsafe { std::slice::from_raw_parts(key, map.spec().key_size as usize) };
        Some(map.program_lookup_ptr(key, cpu).unwrap_or(0))
    })
}

/// `bpf_map_update_elem(map, key, value, flags)` on CPU slot `cpu`.
///
/// # Safety
/// `map` must point to a live [`Map`], `key` be readable for its key size and `value` for
/// its value size, and `cpu` be the calling thread's [`crate::maps::current_cpu`].
pub unsafe extern "C" fn update_elem(
    map: *const Map,
    key: *const u8,
    value: *const u8,
    flags: u64,
    cpu: u32,
) -> FastRet {
    guarded(|| {
        // SAFETY: the caller's contract.
        let map = unsafe { &*map };
        let spec = map.spec();
        let (mut kbuf, mut vbuf) = ([MaybeUninit::uninit(); 64], [MaybeUninit::uninit(); 256]);
        let (mut kheap, mut vheap) = (Vec::new(), Vec::new());
        // SAFETY: the caller's contract, for both copies.
        let (key, value) = unsafe {
            (
                copy_in(&mut kbuf, &mut kheap, key, spec.key_size as usize),
                copy_in(&mut vbuf, &mut vheap, value, spec.value_size as usize),
            )
        };
        Some(errno(map.program_update(key, value, flags, cpu)))
    })
}

/// `bpf_map_delete_elem(map, key)`.
///
/// # Safety
/// `map` must point to a live [`Map`] and `key` be readable for its key size.
pub unsafe extern "C" fn delete_elem(map: *const Map, key: *const u8) -> FastRet {
    guarded(|| {
        // SAFETY: the caller's contract.
        let map = unsafe { &*map };
        let (mut kbuf, mut kheap) = ([MaybeUninit::uninit(); 64], Vec::new());
        // SAFETY: the caller's contract.
        let key = unsafe { copy_in(&mut kbuf, &mut kheap, key, map.spec().key_size as usize) };
        Some(errno(map.delete_from_program(key)))
    })
}

/// `bpf_ringbuf_reserve(map, size, flags)`.
///
/// # Safety
/// `map` must point to a live [`Map`].
pub unsafe extern "C" fn ringbuf_reserve(map: *const Map, size: u64, flags: u64) -> FastRet {
    guarded(|| {
        // SAFETY: the caller's contract.
        let map = unsafe { &*map };
        Some(map.ringbuf_reserve(size, flags).unwrap_or(0))
    })
}

/// `bpf_ringbuf_submit(addr, flags)` of a record of `ring`.
///
/// # Safety
/// `ring` must point to a live [`Map`].
pub unsafe extern "C" fn ringbuf_submit(addr: u64, flags: u64, ring: *const Map) -> FastRet {
    guarded(|| {
        // SAFETY: the caller's contract.
        let ring = unsafe { &*ring };
        ring.ringbuf_submit(addr, flags).ok().map(|()| 0)
    })
}

/// `bpf_ringbuf_discard(addr, flags)` of a record of `ring`.
///
/// # Safety
/// `ring` must point to a live [`Map`].
pub unsafe extern "C" fn ringbuf_discard(addr: u64, flags: u64, ring: *const Map) -> FastRet {
    guarded(|| {
        // SAFETY: the caller's contract.
        let ring = unsafe { &*ring };
        ring.ringbuf_discard(addr, flags).ok().map(|()| 0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::maps::MapSpec;

    #[test]
    fn direct_calls_match_the_map_operations() {
        let map = Map::create(MapSpec::new(MapType::Hash, 4, 8, 4), None).unwrap();
        let (k, v) = (7u32.to_ne_bytes(), 42u64.to_ne_bytes());
        // SAFETY: a live map and buffers of the key and value sizes.
        unsafe {
            assert_eq!(lookup_elem(&map, k.as_ptr(), 0).value, 0);
            assert_eq!(update_elem(&map, k.as_ptr(), v.as_ptr(), 0, 0).value, 0);
            // BPF_NOEXIST on an existing key: -EEXIST.
            assert_eq!(
                update_elem(&map, k.as_ptr(), v.as_ptr(), 1, 0).value,
                (-17i64) as u64
            );
            let p = lookup_elem(&map, k.as_ptr(), 0).value;
            assert_eq!(p, map.lookup_ptr(&k).unwrap());
            assert_eq!(*(p as *const u64), 42);
            // The value may be the element's own memory.
            assert_eq!(update_elem(&map, k.as_ptr(), p as *const u8, 2, 0).value, 0);
            assert_eq!(delete_elem(&map, k.as_ptr()).value, 0);
            assert_eq!(delete_elem(&map, k.as_ptr()).value, (-2i64) as u64);
        }
    }

    #[test]
    fn ring_commits_fall_back_for_foreign_records_and_bad_flags() {
        let ring = Map::create(MapSpec::new(MapType::Ringbuf, 0, 0, 4096), None).unwrap();
        let other = Map::create(MapSpec::new(MapType::Ringbuf, 0, 0, 4096), None).unwrap();
        // SAFETY: live maps.
        unsafe {
            let r = ringbuf_reserve(&ring, 8, 0).value;
            assert_ne!(r, 0);
            assert_eq!(ringbuf_submit(r, 0, &other), FALLBACK);
            assert_eq!(ringbuf_submit(r, 4, &ring), FALLBACK);
            assert_eq!(ringbuf_submit(r, 0, &ring).value, 0);
            // Submitted already: not a reserved record any more.
            assert_eq!(ringbuf_discard(r, 0, &ring), FALLBACK);
            // Bad reserve flags: NULL, as the helper.
            assert_eq!(ringbuf_reserve(&ring, 8, 1).value, 0);
        }
        let mut n = 0;
        ring.ringbuf_consume(|_| n += 1).unwrap();
        assert_eq!(n, 1);
    }
}
