//! # Maps: kernel-compatible BPF maps in memory-mapped regions
//!
//! Takes a [`MapSpec`] (what `BPF_MAP_CREATE` takes, with the kernel's numeric
//! [`MapType`] ids and `BPF_F_*` flags) and optionally a pin path; gives a [`Map`] with the
//! user-space operations of `bpf()` (lookup, update, delete, get_next_key, iteration,
//! batches, lookup-and-delete, freeze) and the operations helpers need (`lookup_ptr`,
//! `update_from_program`, push/pop/peek, ring buffer reserve/submit), with the kernel's
//! semantics and errno values
//! ([`MapError::errno`]).
//!
//! ## Storage
//! Each map is one contiguous memory-mapped region addressed by offsets only: a header
//! (magic, layout version, type, sizes, flags, map_extra, CPU count, layout numbers), shared
//! state words (spin locks, counters, list heads, the frozen flag of [`Map::freeze`]) and
//! the type's data. Unpinned maps are anonymous memory of this process; a pinned map is a
//! file created with its header that
//! another process opens with [`Map::open_pinned`]. Locks live in the region, so threads and
//! processes sharing a pinned file exclude each other. Value addresses handed to programs
//! are real host addresses inside the region and stay valid while the element exists;
//! [`Map::region`] gives the whole region for the interpreter's memory checks.
//!
//! ## Families
//! - [`array`](mod@array) — `ARRAY`, `PERCPU_ARRAY`
//! - [`hash`] — `HASH`, `PERCPU_HASH`, `LRU_HASH`, `LRU_PERCPU_HASH`
//! - [`lpm`] — `LPM_TRIE`
//! - [`queue`] — `QUEUE`, `STACK`
//! - [`bloom`] — `BLOOM_FILTER`
//! - [`ringbuf`] — `RINGBUF`
//! - [`prog_array`] — `PROG_ARRAY` (and the slots of `ARRAY_OF_MAPS`)
//! - [`perf_event_array`] — `PERF_EVENT_ARRAY`
//! - [`map_in_map`] — `ARRAY_OF_MAPS`, `HASH_OF_MAPS`
//! - [`devmap`] — `DEVMAP`, `DEVMAP_HASH`, `CPUMAP`, `XSKMAP` (targets of `bpf_redirect_map`)
//!
//! Other kernel map types are refused with [`MapError::TypeNotSupported`].
//!
//! ```
//! use userbpf_runtime::maps::{Map, MapSpec, MapType, BPF_ANY};
//! let map = Map::create(MapSpec::new(MapType::Hash, 4, 8, 16), None).unwrap();
//! map.update(&7u32.to_ne_bytes(), &42u64.to_ne_bytes(), BPF_ANY).unwrap();
//! assert_eq!(map.lookup(&7u32.to_ne_bytes()).unwrap(), 42u64.to_ne_bytes());
//! assert_eq!(map.lookup(&8u32.to_ne_bytes()).unwrap_err().errno(), 2); // ENOENT
//! ```

pub mod array;
pub mod bloom;
pub mod cpu;
pub mod devmap;
pub mod error;
pub mod hash;
mod header;
pub mod lpm;
mod lru;
pub mod map_in_map;
pub mod perf_event_array;
pub mod prog_array;
pub mod queue;
pub mod ringbuf;
mod slab;
mod storage;
pub mod types;

use std::fs::OpenOptions;
use std::hash::{BuildHasher, Hasher};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use crate::memory::{Region, RegionKind};

pub use cpu::{current_cpu, possible_cpus, set_current_cpu};
pub use error::MapError;
pub use types::*;

use array::ArrayMap;
use bloom::BloomFilter;
use devmap::DevMap;
use hash::HashMap;
use header::{read_header, write_header, Layout, HEADER_LEN};
use lpm::LpmTrie;
use perf_event_array::PerfEventArray;
use prog_array::FdArray;
use queue::QueueMap;
use ringbuf::RingBuf;
use storage::Storage;

/// Largest region a map may have (1 TiB of address space; memory is used lazily).
const MAX_REGION: u64 = 1 << 40;

/// Who writes a value: user space (per-CPU: all CPUs' values) or a program on a CPU slot.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Writer {
    User,
    Program(usize),
}

/// Total region length for data ending at `start + data`, rounded up to a page.
pub(crate) fn region_len(start: u64, data: u64) -> Result<u64, MapError> {
    start
        .checked_add(data)
        .and_then(|t| t.checked_next_multiple_of(4096))
        .filter(|t| *t <= MAX_REGION)
        .ok_or_else(|| MapError::NoMemory {
            reason: format!("region of {start} + {data} bytes is too large"),
        })
}

/// The seeded hash of hash maps and bloom filters.
#[inline]
pub(crate) fn hash_bytes(seed: u64, data: &[u8]) -> u64 {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut h = seed ^ (data.len() as u64).wrapping_mul(K);
    let mut chunks = data.chunks_exact(8);
    for c in &mut chunks {
        let w = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        h = (h ^ w).wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 32;
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        // The remaining bytes as a little-endian word (4-byte keys: one load).
        let w = match *rest {
            [a, b, c, d] => u32::from_le_bytes([a, b, c, d]) as u64,
            _ => rest
                .iter()
                .rev()
                .fold(0u64, |w, &byte| (w << 8) | byte as u64),
        };
        h = (h ^ w).wrapping_mul(0xff51_afd7_ed55_8ccd);
    }
    // murmur3 fmix64
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

fn random_seed() -> u64 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(std::process::id() as u64);
    h.finish()
}

#[derive(Clone, Copy, Debug)]
enum Family {
    Array(ArrayMap),
    Hash(HashMap),
    Lpm(LpmTrie),
    Queue(QueueMap),
    Bloom(BloomFilter),
    RingBuf(RingBuf),
    /// Program arrays and arrays of maps.
    FdArray(FdArray),
    PerfEvent(PerfEventArray),
    /// Devmaps, cpumaps and xskmaps.
    Dev(DevMap),
}

impl Family {
    fn new(spec: &MapSpec, ncpus: u32, seed: u64) -> Result<(Family, Layout), MapError> {
        use MapType as T;
        Ok(match spec.map_type {
            T::Array | T::PercpuArray => {
                let (m, l) = ArrayMap::new(spec, ncpus)?;
                (Family::Array(m), l)
            }
            T::Hash | T::PercpuHash | T::LruHash | T::LruPercpuHash => {
                let (m, l) = HashMap::new(spec, ncpus, seed)?;
                (Family::Hash(m), l)
            }
            T::LpmTrie => {
                let (m, l) = LpmTrie::new(spec)?;
                (Family::Lpm(m), l)
            }
            T::Queue | T::Stack => {
                let (m, l) = QueueMap::new(spec)?;
                (Family::Queue(m), l)
            }
            T::BloomFilter => {
                let (m, l) = BloomFilter::new(spec, seed)?;
                (Family::Bloom(m), l)
            }
            T::Ringbuf => {
                let (m, l) = RingBuf::new(spec)?;
                (Family::RingBuf(m), l)
            }
            T::ProgArray => {
                let (m, l) = FdArray::new(spec)?;
                (Family::FdArray(m), l)
            }
            T::ArrayOfMaps => {
                let (m, l) = map_in_map::array_of_maps(spec)?;
                (Family::FdArray(m), l)
            }
            T::HashOfMaps => {
                let (m, l) = map_in_map::hash_of_maps(spec, ncpus, seed)?;
                (Family::Hash(m), l)
            }
            T::PerfEventArray => {
                let (m, l) = PerfEventArray::new(spec)?;
                (Family::PerfEvent(m), l)
            }
            T::Devmap | T::DevmapHash | T::Cpumap | T::Xskmap => {
                let (m, l) = DevMap::new(spec, ncpus)?;
                (Family::Dev(m), l)
            }
            T::Unspec => return Err(MapError::invalid("map type BPF_MAP_TYPE_UNSPEC")),
            other => return Err(MapError::TypeNotSupported(other)),
        })
    }
}

/// A BPF map.
///
/// `Map` is `Send + Sync`: share it between threads with `Arc<Map>`; every operation may run
/// concurrently with every other, from any thread (and, for pinned maps, any process).
#[derive(Debug)]
pub struct Map {
    spec: MapSpec,
    ncpus: u32,
    family: Family,
    storage: Storage,
    pin: Option<PathBuf>,
}

/// A key and its value, as user space sees them.
pub type Entry = (Vec<u8>, Vec<u8>);

/// One batch of [`Map::lookup_batch`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Batch {
    /// Keys and values, in iteration order.
    pub entries: Vec<Entry>,
    /// Pass this to the next call; `None` when the iteration is complete.
    pub cursor: Option<Vec<u8>>,
}

impl Map {
    /// Create a map (`BPF_MAP_CREATE`), pinned at `pin` if given.
    ///
    /// # Errors
    /// The kernel's errors for invalid specs (`EINVAL`, `E2BIG`...), [`MapError::TypeNotSupported`]
    /// for kernel map types not implemented here, [`MapError::Io`] when the pin file cannot be
    /// created (`EEXIST` if it exists).
    #[doc(alias = "BPF_MAP_CREATE")]
    #[doc(alias = "bpf_map_create")]
    pub fn create(spec: MapSpec, pin: Option<&Path>) -> Result<Map, MapError> {
        let ncpus = possible_cpus();
        let mut spec = hash::effective_spec(spec, ncpus);
        spec.flags = devmap::effective_flags(spec.map_type, spec.flags);
        let seed = if spec.flags & BPF_F_ZERO_SEED != 0 {
            0
        } else {
            random_seed()
        };
        let (family, layout) = Family::new(&spec, ncpus, seed)?;
        let len = layout.total_len as usize;
        let storage = match pin {
            None => Storage::anonymous(len)?,
            Some(path) => {
                let io = |source| MapError::Io {
                    path: path.to_path_buf(),
                    source,
                };
                let file = OpenOptions::new()
                    .read(true)
                    .write(true)
                    .create_new(true)
                    .open(path)
                    .map_err(io)?;
                let made = file
                    .set_len(layout.total_len)
                    .and_then(|()| Storage::file(&file));
                match made {
                    Ok(s) => s,
                    Err(e) => {
                        let _ = std::fs::remove_file(path);
                        return Err(io(e));
                    }
                }
            }
        };
        if let Family::Hash(h) = &family {
            h.init(&storage);
        }
        write_header(&storage, &spec, ncpus, seed, &layout);
        Ok(Map {
            spec,
            ncpus,
            family,
            storage,
            pin: pin.map(Path::to_path_buf),
        })
    }

    /// Open a map pinned by [`Map::create`] (in this or another process).
    ///
    /// # Errors
    /// [`MapError::Io`] if the file cannot be opened, [`MapError::BadPinFile`] if it is not a
    /// userbpf map of this layout version, or its header and size disagree.
    #[doc(alias = "BPF_OBJ_GET")]
    pub fn open_pinned(path: &Path) -> Result<Map, MapError> {
        let io = |source| MapError::Io {
            path: path.to_path_buf(),
            source,
        };
        let bad = |reason: String| MapError::BadPinFile {
            path: path.to_path_buf(),
            reason,
        };
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(io)?;
        let file_len = file.metadata().map_err(io)?.len();
        if file_len < HEADER_LEN as u64 {
            return Err(bad(format!(
                "file has {file_len} bytes, shorter than the {HEADER_LEN}-byte header"
            )));
        }
        if file_len > MAX_REGION {
            return Err(bad(format!("file of {file_len} bytes is too large")));
        }
        let storage = Storage::file(&file).map_err(io)?;
        let h = read_header(&storage, path)?;
        let (family, layout) = Family::new(&h.spec, h.ncpus, h.seed)
            .map_err(|e| bad(format!("header describes an invalid map: {e}")))?;
        if layout != h.layout {
            return Err(bad(
                "layout in the header does not match its map".to_string()
            ));
        }
        if layout.total_len != file_len {
            return Err(bad(format!(
                "file has {file_len} bytes, the map needs {}",
                layout.total_len
            )));
        }
        Ok(Map {
            spec: h.spec,
            ncpus: h.ncpus,
            family,
            storage,
            pin: Some(path.to_path_buf()),
        })
    }

    /// The spec the map was created with.
    pub fn spec(&self) -> &MapSpec {
        &self.spec
    }

    /// The map type.
    pub fn map_type(&self) -> MapType {
        self.spec.map_type
    }

    /// The pin path, if pinned.
    pub fn pin_path(&self) -> Option<&Path> {
        self.pin.as_deref()
    }

    /// Value slots of per-CPU maps (the creating process's [`possible_cpus`]).
    pub fn num_cpus(&self) -> u32 {
        self.ncpus
    }

    /// Bytes of a value as user space sees it: `value_size`, or for per-CPU maps
    /// `num_cpus() * round_up(value_size, 8)`.
    pub fn user_value_size(&self) -> usize {
        match &self.family {
            Family::Array(a) => a.user_value_size(),
            Family::Hash(h) => h.user_value_size(),
            _ => self.spec.value_size as usize,
        }
    }

    /// Elements present (arrays: `max_entries`; ring buffers: unconsumed bytes).
    pub fn len(&self) -> usize {
        let st = &self.storage;
        match &self.family {
            Family::Array(_) => self.spec.max_entries as usize,
            Family::Hash(h) => h.len(st) as usize,
            Family::Lpm(l) => l.len(st) as usize,
            Family::Queue(q) => q.len(st) as usize,
            Family::Bloom(_) => 0,
            Family::RingBuf(r) => r.query(st, ringbuf::BPF_RB_AVAIL_DATA) as usize,
            Family::FdArray(a) => a.len(st),
            Family::PerfEvent(p) => p.len(st),
            Family::Dev(d) => d.len(st),
        }
    }

    /// Whether [`Map::len`] is 0.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The whole storage region `(start address, length)`, to register as
    /// [`RegionKind::MapValue`] memory.
    pub fn region(&self) -> (u64, u64) {
        (self.storage.base(), self.storage.len() as u64)
    }

    /// The region as the interpreter's [`Region`] (read-only with `BPF_F_RDONLY_PROG`).
    pub fn memory_region(&self) -> Region {
        let (start, len) = self.region();
        Region {
            start,
            len,
            writable: self.spec.flags & BPF_F_RDONLY_PROG == 0,
            kind: RegionKind::MapValue,
        }
    }

    fn unsupported(&self, op: &'static str, errno: i32) -> MapError {
        MapError::OpNotSupported {
            op,
            map_type: self.spec.map_type,
            errno,
        }
    }

    fn user_read(&self, op: &'static str) -> Result<(), MapError> {
        if self.spec.flags & BPF_F_WRONLY != 0 {
            return Err(MapError::NotPermitted { op });
        }
        Ok(())
    }

    fn user_write(&self, op: &'static str) -> Result<(), MapError> {
        if self.spec.flags & BPF_F_RDONLY != 0 {
            return Err(MapError::NotPermitted { op });
        }
        if self.is_frozen() {
            return Err(MapError::Frozen { op });
        }
        Ok(())
    }

    /// `BPF_MAP_FREEZE`: from now on user space may only read the map (update, delete,
    /// lookup-and-delete, push/pop and their batches fail with `EPERM`, in this and every
    /// other process that opens the pin); programs keep the access their flags give them
    /// (`.rodata` maps are `BPF_F_RDONLY_PROG`, so nothing writes them any more).
    ///
    /// # Errors
    /// `EBUSY` if the map is already frozen, as the kernel.
    #[doc(alias = "BPF_MAP_FREEZE")]
    #[doc(alias = "bpf_map_freeze")]
    pub fn freeze(&self) -> Result<(), MapError> {
        let was = self
            .storage
            .u32_at(header::S_FROZEN)
            .swap(1, Ordering::SeqCst);
        if was != 0 {
            return Err(MapError::Errno {
                errno: error::EBUSY,
                reason: "the map is already frozen".to_string(),
            });
        }
        Ok(())
    }

    /// Whether [`Map::freeze`] was called on this map (by any process sharing its pin).
    pub fn is_frozen(&self) -> bool {
        self.storage.u32_at(header::S_FROZEN).load(Ordering::SeqCst) != 0
    }

    #[inline]
    fn prog_write(&self, op: &'static str) -> Result<(), MapError> {
        if self.spec.flags & BPF_F_RDONLY_PROG != 0 {
            return Err(MapError::NotPermitted { op });
        }
        Ok(())
    }

    fn empty_key(&self, key: &[u8]) -> Result<(), MapError> {
        if !key.is_empty() {
            return Err(MapError::WrongSize {
                what: "key",
                expected: 0,
                got: key.len(),
            });
        }
        Ok(())
    }

    // ---------------------------------------------------------------- user space

    /// `BPF_MAP_LOOKUP_ELEM`: a copy of the value (per-CPU maps: every CPU's value, each
    /// rounded up to 8 bytes; queue/stack: peek with an empty key).
    ///
    /// # Errors
    /// `ENOENT` if absent; `EINVAL` for a key of the wrong size and for bloom filters (use
    /// [`Map::contains`]); `EPERM` with `BPF_F_WRONLY`.
    #[doc(alias = "BPF_MAP_LOOKUP_ELEM")]
    #[doc(alias = "bpf_map_lookup_elem")]
    pub fn lookup(&self, key: &[u8]) -> Result<Vec<u8>, MapError> {
        self.user_read("lookup")?;
        let st = &self.storage;
        match &self.family {
            Family::Array(a) => a.lookup(st, key),
            Family::Hash(h) => h.lookup(st, key),
            Family::Lpm(l) => l.lookup(st, key),
            Family::Queue(q) => {
                self.empty_key(key)?;
                let mut out = vec![0u8; q.value_size()];
                q.pop(st, &mut out, false)?;
                Ok(out)
            }
            Family::Bloom(_) => Err(MapError::invalid(
                "bloom filter lookups take the value: use Map::contains",
            )),
            Family::RingBuf(_) => Err(self.unsupported("lookup", error::ENOTSUPP)),
            Family::FdArray(a) => a.lookup(st, key),
            Family::PerfEvent(_) => Err(self.unsupported("lookup", error::ENOTSUPP)),
            Family::Dev(d) => d.lookup(st, key),
        }
    }

    /// `BPF_MAP_UPDATE_ELEM` with `BPF_ANY`, `BPF_NOEXIST` or `BPF_EXIST` (queue, stack,
    /// bloom filter: push, with an empty key).
    ///
    /// # Errors
    /// `EEXIST`/`ENOENT` as the flags demand, `E2BIG` when full or an array index is out of
    /// range, `ENOSPC` for a full LPM trie, `EINVAL` for bad flags or sizes, `EPERM` with
    /// `BPF_F_RDONLY`.
    #[doc(alias = "BPF_MAP_UPDATE_ELEM")]
    #[doc(alias = "bpf_map_update_elem")]
    pub fn update(&self, key: &[u8], value: &[u8], flags: u64) -> Result<(), MapError> {
        self.user_write("update")?;
        self.update_as(key, value, flags, Writer::User)
    }

    fn update_as(&self, key: &[u8], value: &[u8], flags: u64, w: Writer) -> Result<(), MapError> {
        let st = &self.storage;
        match &self.family {
            Family::Array(a) => a.update(st, key, value, flags, w),
            Family::Hash(h) => h.update(st, key, value, flags, w),
            Family::Lpm(l) => l.update(st, key, value, flags),
            Family::Queue(q) => {
                self.empty_key(key)?;
                q.push(st, value, flags)
            }
            Family::Bloom(b) => {
                self.empty_key(key)?;
                b.push(st, value, flags)
            }
            Family::RingBuf(_) => Err(self.unsupported("update", error::ENOTSUPP)),
            Family::FdArray(a) => a.update(st, key, value, flags),
            Family::PerfEvent(p) => p.update(st, key, value, flags),
            Family::Dev(d) => d.update(st, key, value, flags),
        }
    }

    /// `BPF_MAP_DELETE_ELEM`.
    ///
    /// # Errors
    /// `ENOENT` if absent; `EINVAL` for arrays, queues and stacks; `EOPNOTSUPP` for bloom
    /// filters; `EPERM` with `BPF_F_RDONLY`.
    #[doc(alias = "BPF_MAP_DELETE_ELEM")]
    #[doc(alias = "bpf_map_delete_elem")]
    pub fn delete(&self, key: &[u8]) -> Result<(), MapError> {
        self.user_write("delete")?;
        self.delete_any(key)
    }

    fn delete_any(&self, key: &[u8]) -> Result<(), MapError> {
        let st = &self.storage;
        match &self.family {
            Family::Hash(h) => h.delete(st, key, false).map(drop),
            Family::Lpm(l) => l.delete(st, key),
            Family::Array(_) | Family::Queue(_) => Err(self.unsupported("delete", error::EINVAL)),
            Family::Bloom(_) => Err(self.unsupported("delete", error::EOPNOTSUPP)),
            Family::RingBuf(_) => Err(self.unsupported("delete", error::ENOTSUPP)),
            Family::FdArray(a) => a.delete(st, key),
            Family::PerfEvent(p) => p.delete(st, key),
            Family::Dev(d) => d.delete(st, key),
        }
    }

    /// `BPF_MAP_GET_NEXT_KEY`: the first key with `None`, else the key after `key` (the first
    /// key again if `key` is not in the map, as in the kernel).
    ///
    /// # Errors
    /// `ENOENT` after the last key; `EINVAL` for queues and stacks, `EOPNOTSUPP` for bloom
    /// filters.
    #[doc(alias = "BPF_MAP_GET_NEXT_KEY")]
    #[doc(alias = "bpf_map_get_next_key")]
    pub fn get_next_key(&self, key: Option<&[u8]>) -> Result<Vec<u8>, MapError> {
        self.user_read("get_next_key")?;
        self.next_key_any(key)
    }

    /// `get_next_key` without the user-space access check (for program-side iteration).
    pub(crate) fn next_key_any(&self, key: Option<&[u8]>) -> Result<Vec<u8>, MapError> {
        let st = &self.storage;
        match &self.family {
            Family::Array(a) => a.get_next_key(key),
            Family::Hash(h) => h.get_next_key(st, key),
            Family::Lpm(l) => l.get_next_key(st, key),
            Family::Queue(_) => Err(self.unsupported("get_next_key", error::EINVAL)),
            Family::Bloom(_) => Err(self.unsupported("get_next_key", error::EOPNOTSUPP)),
            Family::RingBuf(_) => Err(self.unsupported("get_next_key", error::ENOTSUPP)),
            Family::FdArray(a) => a.get_next_key(key),
            Family::PerfEvent(p) => p.get_next_key(key),
            Family::Dev(d) => d.get_next_key(st, key),
        }
    }

    /// Iterate over `(key, value)` pairs with `get_next_key` and `lookup`; elements deleted
    /// meanwhile are skipped.
    pub fn iter(&self) -> MapIter<'_> {
        MapIter {
            map: self,
            prev: None,
            done: false,
        }
    }

    /// Iterate over keys.
    pub fn keys(&self) -> impl Iterator<Item = Result<Vec<u8>, MapError>> + '_ {
        let mut prev: Option<Vec<u8>> = None;
        let mut done = false;
        std::iter::from_fn(move || {
            if done {
                return None;
            }
            match self.get_next_key(prev.as_deref()) {
                Ok(k) => {
                    prev = Some(k.clone());
                    Some(Ok(k))
                }
                Err(MapError::NotFound) => {
                    done = true;
                    None
                }
                Err(e) => {
                    done = true;
                    Some(Err(e))
                }
            }
        })
    }

    /// `BPF_MAP_LOOKUP_AND_DELETE_ELEM`: hash maps remove and return the element; queues and
    /// stacks pop (empty key).
    ///
    /// # Errors
    /// `ENOENT` if absent or empty; `ENOTSUPP` (524) for other types, as the kernel.
    #[doc(alias = "BPF_MAP_LOOKUP_AND_DELETE_ELEM")]
    pub fn lookup_and_delete(&self, key: &[u8]) -> Result<Vec<u8>, MapError> {
        self.user_read("lookup_and_delete")?;
        self.user_write("lookup_and_delete")?;
        let st = &self.storage;
        match &self.family {
            Family::Hash(h) => h.delete(st, key, true),
            Family::Queue(q) => {
                self.empty_key(key)?;
                let mut out = vec![0u8; q.value_size()];
                q.pop(st, &mut out, true)?;
                Ok(out)
            }
            _ => Err(self.unsupported("lookup_and_delete", error::ENOTSUPP)),
        }
    }

    /// Queue/stack/bloom filter push (`update` with an empty key).
    ///
    /// # Errors
    /// As [`Map::update`].
    pub fn push(&self, value: &[u8], flags: u64) -> Result<(), MapError> {
        self.update(&[], value, flags)
    }

    /// Queue/stack pop (`lookup_and_delete` with an empty key).
    ///
    /// # Errors
    /// As [`Map::lookup_and_delete`].
    pub fn pop(&self) -> Result<Vec<u8>, MapError> {
        self.lookup_and_delete(&[])
    }

    /// Queue/stack peek (`lookup` with an empty key).
    ///
    /// # Errors
    /// As [`Map::lookup`].
    pub fn peek(&self) -> Result<Vec<u8>, MapError> {
        self.lookup(&[])
    }

    /// Bloom filter query: whether `value` may have been pushed (`false` means certainly not).
    ///
    /// # Errors
    /// `EINVAL` for a value of the wrong size or a map that is not a bloom filter.
    pub fn contains(&self, value: &[u8]) -> Result<bool, MapError> {
        self.user_read("lookup")?;
        match &self.family {
            Family::Bloom(b) => match b.peek(&self.storage, value) {
                Ok(()) => Ok(true),
                Err(MapError::NotFound) => Ok(false),
                Err(e) => Err(e),
            },
            _ => Err(self.unsupported("contains", error::EINVAL)),
        }
    }

    /// `BPF_MAP_LOOKUP_BATCH`: up to `max` elements after `cursor` (`None`: from the start).
    ///
    /// # Errors
    /// As [`Map::get_next_key`] and [`Map::lookup`].
    #[doc(alias = "BPF_MAP_LOOKUP_BATCH")]
    pub fn lookup_batch(&self, cursor: Option<&[u8]>, max: usize) -> Result<Batch, MapError> {
        let mut batch = Batch::default();
        let mut prev = cursor.map(<[u8]>::to_vec);
        while batch.entries.len() < max {
            let key = match self.get_next_key(prev.as_deref()) {
                Ok(k) => k,
                Err(MapError::NotFound) => return Ok(batch),
                Err(e) => return Err(e),
            };
            match self.lookup(&key) {
                Ok(v) => batch.entries.push((key.clone(), v)),
                Err(MapError::NotFound) => {}
                Err(e) => return Err(e),
            }
            prev = Some(key);
        }
        batch.cursor = prev;
        Ok(batch)
    }

    /// `BPF_MAP_LOOKUP_AND_DELETE_BATCH`: remove and return up to `max` elements.
    ///
    /// # Errors
    /// As [`Map::lookup_and_delete`].
    #[doc(alias = "BPF_MAP_LOOKUP_AND_DELETE_BATCH")]
    pub fn lookup_and_delete_batch(&self, max: usize) -> Result<Vec<Entry>, MapError> {
        let mut out = Vec::new();
        while out.len() < max {
            let key = match self.get_next_key(None) {
                Ok(k) => k,
                Err(MapError::NotFound) => break,
                Err(e) => return Err(e),
            };
            match self.lookup_and_delete(&key) {
                Ok(v) => out.push((key, v)),
                Err(MapError::NotFound) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// `BPF_MAP_UPDATE_BATCH`: update each `(key, value)` in order.
    ///
    /// # Errors
    /// [`MapError::Batch`] with the number done and the first failure.
    #[doc(alias = "BPF_MAP_UPDATE_BATCH")]
    pub fn update_batch(&self, entries: &[(&[u8], &[u8])], flags: u64) -> Result<(), MapError> {
        for (i, (k, v)) in entries.iter().enumerate() {
            self.update(k, v, flags).map_err(|e| MapError::Batch {
                processed: i,
                source: Box::new(e),
            })?;
        }
        Ok(())
    }

    /// `BPF_MAP_DELETE_BATCH`: delete each key in order.
    ///
    /// # Errors
    /// [`MapError::Batch`] with the number done and the first failure.
    #[doc(alias = "BPF_MAP_DELETE_BATCH")]
    pub fn delete_batch(&self, keys: &[&[u8]]) -> Result<(), MapError> {
        for (i, k) in keys.iter().enumerate() {
            self.delete(k).map_err(|e| MapError::Batch {
                processed: i,
                source: Box::new(e),
            })?;
        }
        Ok(())
    }

    // ---------------------------------------------------------------- programs

    /// `bpf_map_lookup_elem` from a program: the address of the value inside the region
    /// (per-CPU maps: the calling thread's [`current_cpu`] slot), valid while the element
    /// exists; `None` if absent. LRU maps mark the element used. LPM tries: longest match.
    /// Other map types give `None`.
    pub fn lookup_ptr(&self, key: &[u8]) -> Option<u64> {
        self.lookup_ptr_cpu(key, current_cpu() as usize)
    }

    /// [`Map::lookup_ptr`] with the hash and array walks inlined, on CPU slot `cpu` (the
    /// calling thread's [`current_cpu`], which the caller has at hand): the direct calls of
    /// compiled code.
    #[inline]
    pub(crate) fn program_lookup_ptr(&self, key: &[u8], cpu: u32) -> Option<u64> {
        let st = &self.storage;
        let cpu = cpu as usize;
        match &self.family {
            Family::Hash(h) => h.lookup_ptr(st, key, || cpu, true),
            Family::Array(a) => a.lookup_ptr(st, key, cpu),
            _ => self.lookup_ptr_cpu(key, cpu),
        }
    }

    /// For plain hash maps with 4- or 8-byte keys: how generated code may look keys up
    /// itself (see [`crate::kernel_helpers::map_fast::HashInline`]).
    pub fn hash_inline(&self) -> Option<crate::kernel_helpers::map_fast::HashInline> {
        match &self.family {
            Family::Hash(h) => h.inline_layout(&self.storage),
            _ => None,
        }
    }

    /// For LPM tries with IPv4 keys: how generated code may look keys up itself (see
    /// [`crate::kernel_helpers::map_fast::LpmInline`]).
    pub fn lpm_inline(&self) -> Option<crate::kernel_helpers::map_fast::LpmInline> {
        match &self.family {
            Family::Lpm(l) => l.inline_layout(&self.storage),
            _ => None,
        }
    }

    /// `bpf_map_lookup_percpu_elem`: the address of `cpu`'s value (non-per-CPU maps: `None`).
    pub fn lookup_percpu_ptr(&self, key: &[u8], cpu: u32) -> Option<u64> {
        if !self.spec.map_type.is_percpu() || cpu >= self.ncpus {
            return None;
        }
        self.lookup_ptr_cpu(key, cpu as usize)
    }

    /// The address of the value as [`Map::lookup_ptr`] gives it, without marking an LRU
    /// element used (iteration by `bpf_for_each_map_elem`, which the kernel does by walking
    /// the buckets).
    pub(crate) fn value_ptr_unmarked(&self, key: &[u8]) -> Option<u64> {
        match &self.family {
            Family::Hash(h) => h.lookup_ptr(&self.storage, key, || current_cpu() as usize, false),
            _ => self.lookup_ptr(key),
        }
    }

    fn lookup_ptr_cpu(&self, key: &[u8], cpu: usize) -> Option<u64> {
        let st = &self.storage;
        match &self.family {
            Family::Array(a) => a.lookup_ptr(st, key, cpu),
            // A corrupt shared region reads as "not found" to programs.
            Family::Hash(h) => h.lookup_ptr(st, key, || cpu, true),
            Family::Lpm(l) => l.lookup_ptr(st, key).ok().flatten(),
            Family::Dev(d) => d.lookup_ptr(st, key).ok().flatten(),
            _ => None,
        }
    }

    /// `bpf_map_update_elem` from a program: `value` is `value_size` bytes (per-CPU maps:
    /// the calling thread's slot; a new per-CPU element has the other CPUs zeroed).
    ///
    /// # Errors
    /// As [`Map::update`]; `EPERM` with `BPF_F_RDONLY_PROG`.
    pub fn update_from_program(
        &self,
        key: &[u8],
        value: &[u8],
        flags: u64,
    ) -> Result<(), MapError> {
        self.prog_write("update")?;
        self.update_as(key, value, flags, Writer::Program(current_cpu() as usize))
    }

    /// [`Map::update_from_program`] with the array update inlined, on CPU slot `cpu` (the
    /// calling thread's [`current_cpu`]): the direct calls of compiled code.
    #[inline]
    pub(crate) fn program_update(
        &self,
        key: &[u8],
        value: &[u8],
        flags: u64,
        cpu: u32,
    ) -> Result<(), MapError> {
        self.prog_write("update")?;
        let who = Writer::Program(cpu as usize);
        match &self.family {
            Family::Array(a) => a.update(&self.storage, key, value, flags, who),
            _ => self.update_as(key, value, flags, who),
        }
    }

    /// `bpf_map_delete_elem` from a program.
    ///
    /// # Errors
    /// As [`Map::delete`]; `EPERM` with `BPF_F_RDONLY_PROG`.
    pub fn delete_from_program(&self, key: &[u8]) -> Result<(), MapError> {
        self.prog_write("delete")?;
        self.delete_any(key)
    }

    /// `bpf_map_push_elem` (queue, stack, bloom filter).
    ///
    /// # Errors
    /// `E2BIG` when full without `BPF_EXIST`; `EINVAL` for other map types and bad flags.
    pub fn push_from_program(&self, value: &[u8], flags: u64) -> Result<(), MapError> {
        self.prog_write("push")?;
        match &self.family {
            Family::Queue(q) => q.push(&self.storage, value, flags),
            Family::Bloom(b) => b.push(&self.storage, value, flags),
            _ => Err(self.unsupported("push", error::EINVAL)),
        }
    }

    /// `bpf_map_pop_elem` (queue, stack): the element is copied into `out`.
    ///
    /// # Errors
    /// `ENOENT` when empty; `EOPNOTSUPP` for bloom filters; `EINVAL` for other types.
    pub fn pop_from_program(&self, out: &mut [u8]) -> Result<(), MapError> {
        self.prog_write("pop")?;
        match &self.family {
            Family::Queue(q) => q.pop(&self.storage, out, true),
            Family::Bloom(_) => Err(self.unsupported("pop", error::EOPNOTSUPP)),
            _ => Err(self.unsupported("pop", error::EINVAL)),
        }
    }

    /// `bpf_map_peek_elem`: queue/stack copy the next element into `value`; bloom filters
    /// read `value` and answer `ENOENT` if it is certainly absent.
    ///
    /// # Errors
    /// `ENOENT` when empty or absent; `EINVAL` for other types.
    pub fn peek_from_program(&self, value: &mut [u8]) -> Result<(), MapError> {
        match &self.family {
            Family::Queue(q) => q.pop(&self.storage, value, false),
            Family::Bloom(b) => b.peek(&self.storage, value),
            _ => Err(self.unsupported("peek", error::EINVAL)),
        }
    }

    fn ring(&self, op: &'static str) -> Result<&RingBuf, MapError> {
        match &self.family {
            Family::RingBuf(r) => Ok(r),
            _ => Err(self.unsupported(op, error::EINVAL)),
        }
    }

    /// `bpf_ringbuf_reserve`: the address of `size` writable bytes in the ring.
    ///
    /// # Errors
    /// [`MapError::NoRoom`] when the ring is full (the helper returns NULL); `EINVAL` for
    /// flags other than 0 or a map that is not a ring buffer.
    pub fn ringbuf_reserve(&self, size: u64, flags: u64) -> Result<u64, MapError> {
        self.ring("ringbuf_reserve")?
            .reserve(&self.storage, size, flags)
    }

    /// `bpf_ringbuf_submit` of a sample from [`Map::ringbuf_reserve`].
    ///
    /// # Errors
    /// `EINVAL` if `addr` is not a reserved, unsubmitted sample of this ring.
    pub fn ringbuf_submit(&self, addr: u64, flags: u64) -> Result<(), MapError> {
        self.ring("ringbuf_submit")?
            .commit(&self.storage, addr, false, flags)
    }

    /// `bpf_ringbuf_discard` of a sample from [`Map::ringbuf_reserve`].
    ///
    /// # Errors
    /// As [`Map::ringbuf_submit`].
    pub fn ringbuf_discard(&self, addr: u64, flags: u64) -> Result<(), MapError> {
        self.ring("ringbuf_discard")?
            .commit(&self.storage, addr, true, flags)
    }

    /// `bpf_ringbuf_output`: copy `data` in as one sample.
    ///
    /// # Errors
    /// `EAGAIN` ([`MapError::NoRoom`]) when full; `EINVAL` for bad flags.
    pub fn ringbuf_output(&self, data: &[u8], flags: u64) -> Result<(), MapError> {
        self.ring("ringbuf_output")?
            .output(&self.storage, data, flags)
    }

    /// `bpf_ringbuf_query` (`BPF_RB_AVAIL_DATA`, `RING_SIZE`, `CONS_POS`, `PROD_POS`); 0 for
    /// other flags or maps.
    pub fn ringbuf_query(&self, flags: u64) -> u64 {
        match &self.family {
            Family::RingBuf(r) => r.query(&self.storage, flags),
            _ => 0,
        }
    }

    /// User-space consumer: hand each submitted sample to `f` in order and free its space;
    /// returns the number of samples (like `ring_buffer__consume`).
    ///
    /// # Errors
    /// `EINVAL` if the map is not a ring buffer; `EUCLEAN` for a corrupt ring.
    pub fn ringbuf_consume(&self, mut f: impl FnMut(&[u8])) -> Result<usize, MapError> {
        self.ring("ringbuf_consume")?.consume(&self.storage, &mut f)
    }

    /// What `bpf_redirect_map` finds under `key` in a redirect map: `Ok(Some(ifindex))` for
    /// a devmap entry, `Ok(Some(cpu))` for a cpumap entry, `Ok(None)` when the entry is
    /// empty (always, for an xskmap).
    ///
    /// # Errors
    /// `EINVAL` for maps that are not devmaps, cpumaps or xskmaps.
    pub fn redirect_target(&self, key: u32) -> Result<Option<u32>, MapError> {
        match &self.family {
            Family::Dev(d) => Ok(d.redirect_target(&self.storage, key)),
            _ => Err(self.unsupported("bpf_redirect_map", error::EINVAL)),
        }
    }

    /// The id stored under `key` in a prog_array, array_of_maps or hash_of_maps (a program
    /// or map id of the owning instance); `None` if absent or for other map types.
    pub fn lookup_id(&self, key: &[u8]) -> Option<u32> {
        match &self.family {
            Family::FdArray(a) => {
                let idx = u32::from_ne_bytes(key.try_into().ok()?);
                a.get(&self.storage, idx)
            }
            Family::Hash(h) if self.spec.map_type == MapType::HashOfMaps => {
                let v = h.lookup(&self.storage, key).ok()?;
                Some(u32::from_ne_bytes(v.get(..4)?.try_into().ok()?))
            }
            _ => None,
        }
    }

    /// The id in slot `index` of a prog_array or array_of_maps: `Err(())` when `index` is
    /// out of range (or the map is not such an array), `Ok(None)` when the slot is empty.
    #[allow(clippy::result_unit_err)]
    pub fn slot_id(&self, index: u32) -> Result<Option<u32>, ()> {
        match &self.family {
            Family::FdArray(a) if index < a.max_entries() => Ok(a.get(&self.storage, index)),
            _ => Err(()),
        }
    }

    fn perf(&self, op: &'static str) -> Result<&PerfEventArray, MapError> {
        match &self.family {
            Family::PerfEvent(p) => Ok(p),
            _ => Err(self.unsupported(op, error::EINVAL)),
        }
    }

    /// Open slot `index` of a perf event array for output (the kernel's "store a perf
    /// event fd"), emptying its ring.
    ///
    /// # Errors
    /// `E2BIG` beyond `max_entries`; `EINVAL` for other map types.
    pub fn perf_open(&self, index: u32) -> Result<(), MapError> {
        self.perf("perf_open")?.open(&self.storage, index)
    }

    /// Open every slot of a perf event array.
    ///
    /// # Errors
    /// As [`Map::perf_open`].
    pub fn perf_open_all(&self) -> Result<(), MapError> {
        for i in 0..self.spec.max_entries {
            self.perf_open(i)?;
        }
        Ok(())
    }

    /// `bpf_perf_event_output`: append `data` to the slot `flags` selects
    /// (`BPF_F_CURRENT_CPU` or an index).
    ///
    /// # Errors
    /// `EINVAL` for flags beyond the index bits, `E2BIG` for an index beyond
    /// `max_entries`, `ENOENT` for a slot not opened, `ENOSPC` when its ring is full.
    pub fn perf_event_output(&self, flags: u64, data: &[u8]) -> Result<(), MapError> {
        self.perf("perf_event_output")?
            .output(&self.storage, flags, data)
    }

    /// User-space reader: hand each record of slot `index` to `f` in order and free its
    /// space; returns the number of records.
    ///
    /// # Errors
    /// `E2BIG` beyond `max_entries`; `EINVAL` for other map types; `EUCLEAN` when corrupt.
    pub fn perf_read(&self, index: u32, mut f: impl FnMut(&[u8])) -> Result<usize, MapError> {
        self.perf("perf_read")?.read(&self.storage, index, &mut f)
    }

    /// Records of slot `index` lost because its ring was full.
    ///
    /// # Errors
    /// As [`Map::perf_read`].
    pub fn perf_lost(&self, index: u32) -> Result<u64, MapError> {
        self.perf("perf_lost")?.lost(&self.storage, index)
    }

    /// Write a pinned map's pages to its file now (they are written back by the OS anyway).
    ///
    /// # Errors
    /// The OS error of `msync`.
    pub fn flush(&self) -> Result<(), MapError> {
        self.storage.flush().map_err(|source| MapError::Io {
            path: self.pin.clone().unwrap_or_default(),
            source,
        })
    }
}

/// Iterator over a map's `(key, value)` pairs; see [`Map::iter`].
pub struct MapIter<'m> {
    map: &'m Map,
    prev: Option<Vec<u8>>,
    done: bool,
}

impl Iterator for MapIter<'_> {
    type Item = Result<Entry, MapError>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            let key = match self.map.get_next_key(self.prev.as_deref()) {
                Ok(k) => k,
                Err(MapError::NotFound) => {
                    self.done = true;
                    return None;
                }
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            };
            self.prev = Some(key.clone());
            match self.map.lookup(&key) {
                Ok(v) => return Some(Ok((key, v))),
                Err(MapError::NotFound) => continue,
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            }
        }
        None
    }
}
