//! Map type ids, map flags and update flags, with the kernel's numeric values.
//!
//! Takes nothing; gives [`MapType`] (numbered as `enum bpf_map_type` in
//! `include/uapi/linux/bpf.h`, so a loader can convert definitions directly), [`MapSpec`]
//! (what `BPF_MAP_CREATE` takes) and the `BPF_*` flag constants.

use super::MapError;

/// `BPF_ANY`: create a new element or update an existing one.
pub const BPF_ANY: u64 = 0;
/// `BPF_NOEXIST`: create a new element only if it does not exist.
pub const BPF_NOEXIST: u64 = 1;
/// `BPF_EXIST`: update an existing element (queue/stack push: overwrite the oldest when full).
pub const BPF_EXIST: u64 = 2;
/// `BPF_F_LOCK`: update under the value's `bpf_spin_lock` (not supported: values carry no
/// BTF here, so it is rejected with `EINVAL` as the kernel does for maps without a lock).
pub const BPF_F_LOCK: u64 = 4;

/// `BPF_F_NO_PREALLOC`: do not preallocate elements (required by LPM tries).
pub const BPF_F_NO_PREALLOC: u32 = 1 << 0;
/// `BPF_F_NO_COMMON_LRU`: per-CPU LRU lists (max_entries is rounded to a multiple of the CPUs).
pub const BPF_F_NO_COMMON_LRU: u32 = 1 << 1;
/// `BPF_F_NUMA_NODE`: place the map on a NUMA node (accepted and ignored).
pub const BPF_F_NUMA_NODE: u32 = 1 << 2;
/// `BPF_F_RDONLY`: read-only from user space.
pub const BPF_F_RDONLY: u32 = 1 << 3;
/// `BPF_F_WRONLY`: write-only from user space.
pub const BPF_F_WRONLY: u32 = 1 << 4;
/// `BPF_F_STACK_BUILD_ID`: stack trace maps only.
pub const BPF_F_STACK_BUILD_ID: u32 = 1 << 5;
/// `BPF_F_ZERO_SEED`: hash with seed 0 (reproducible iteration order).
pub const BPF_F_ZERO_SEED: u32 = 1 << 6;
/// `BPF_F_RDONLY_PROG`: read-only for programs.
pub const BPF_F_RDONLY_PROG: u32 = 1 << 7;
/// `BPF_F_WRONLY_PROG`: write-only for programs.
pub const BPF_F_WRONLY_PROG: u32 = 1 << 8;
/// `BPF_F_CLONE`: clone local storage.
pub const BPF_F_CLONE: u32 = 1 << 9;
/// `BPF_F_MMAPABLE`: array can be mmap()ed.
pub const BPF_F_MMAPABLE: u32 = 1 << 10;
/// `BPF_F_PRESERVE_ELEMS`: keep perf event array elements on close.
pub const BPF_F_PRESERVE_ELEMS: u32 = 1 << 11;
/// `BPF_F_INNER_MAP`: inner map of a map-in-map with varying max_entries.
pub const BPF_F_INNER_MAP: u32 = 1 << 12;

/// The four access flags.
pub(crate) const BPF_F_ACCESS_MASK: u32 =
    BPF_F_RDONLY | BPF_F_RDONLY_PROG | BPF_F_WRONLY | BPF_F_WRONLY_PROG;

macro_rules! map_types {
    ($($(#[$doc:meta])* $variant:ident = $id:literal, $kernel:literal, $short:literal;)*) => {
        /// A map type, numbered as the kernel's `enum bpf_map_type`.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[repr(u32)]
        #[doc(alias = "bpf_map_type")]
        pub enum MapType {
            $($(#[$doc])* #[doc(alias = $kernel)] $variant = $id,)*
        }

        impl MapType {
            /// The type with kernel id `id`.
            ///
            /// # Errors
            /// [`MapError::UnknownType`] for ids the kernel does not define.
            pub fn from_id(id: u32) -> Result<MapType, MapError> {
                match id {
                    $($id => Ok(MapType::$variant),)*
                    _ => Err(MapError::UnknownType(id)),
                }
            }

            /// The kernel's name, e.g. `BPF_MAP_TYPE_HASH`.
            pub fn kernel_name(self) -> &'static str {
                match self { $(MapType::$variant => $kernel,)* }
            }

            /// The short name bpftool and libbpf use, e.g. `hash`.
            pub fn short_name(self) -> &'static str {
                match self { $(MapType::$variant => $short,)* }
            }
        }
    };
}

map_types! {
    /// `BPF_MAP_TYPE_UNSPEC` (invalid).
    Unspec = 0, "BPF_MAP_TYPE_UNSPEC", "unspec";
    /// Hash table.
    Hash = 1, "BPF_MAP_TYPE_HASH", "hash";
    /// Array indexed by u32.
    Array = 2, "BPF_MAP_TYPE_ARRAY", "array";
    /// Program array for tail calls.
    ProgArray = 3, "BPF_MAP_TYPE_PROG_ARRAY", "prog_array";
    /// Perf event array.
    PerfEventArray = 4, "BPF_MAP_TYPE_PERF_EVENT_ARRAY", "perf_event_array";
    /// Hash table with one value per CPU.
    PercpuHash = 5, "BPF_MAP_TYPE_PERCPU_HASH", "percpu_hash";
    /// Array with one value per CPU.
    PercpuArray = 6, "BPF_MAP_TYPE_PERCPU_ARRAY", "percpu_array";
    /// Stack trace map.
    StackTrace = 7, "BPF_MAP_TYPE_STACK_TRACE", "stack_trace";
    /// Cgroup array.
    CgroupArray = 8, "BPF_MAP_TYPE_CGROUP_ARRAY", "cgroup_array";
    /// Hash table with LRU eviction.
    LruHash = 9, "BPF_MAP_TYPE_LRU_HASH", "lru_hash";
    /// Per-CPU hash table with LRU eviction.
    LruPercpuHash = 10, "BPF_MAP_TYPE_LRU_PERCPU_HASH", "lru_percpu_hash";
    /// Longest-prefix-match trie.
    LpmTrie = 11, "BPF_MAP_TYPE_LPM_TRIE", "lpm_trie";
    /// Array of maps.
    ArrayOfMaps = 12, "BPF_MAP_TYPE_ARRAY_OF_MAPS", "array_of_maps";
    /// Hash of maps.
    HashOfMaps = 13, "BPF_MAP_TYPE_HASH_OF_MAPS", "hash_of_maps";
    /// Device map.
    Devmap = 14, "BPF_MAP_TYPE_DEVMAP", "devmap";
    /// Socket map.
    Sockmap = 15, "BPF_MAP_TYPE_SOCKMAP", "sockmap";
    /// CPU map.
    Cpumap = 16, "BPF_MAP_TYPE_CPUMAP", "cpumap";
    /// AF_XDP socket map.
    Xskmap = 17, "BPF_MAP_TYPE_XSKMAP", "xskmap";
    /// Socket hash.
    Sockhash = 18, "BPF_MAP_TYPE_SOCKHASH", "sockhash";
    /// Cgroup storage (deprecated).
    CgroupStorage = 19, "BPF_MAP_TYPE_CGROUP_STORAGE", "cgroup_storage";
    /// Reuseport socket array.
    ReuseportSockarray = 20, "BPF_MAP_TYPE_REUSEPORT_SOCKARRAY", "reuseport_sockarray";
    /// Per-CPU cgroup storage.
    PercpuCgroupStorage = 21, "BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE", "percpu_cgroup_storage";
    /// FIFO queue.
    Queue = 22, "BPF_MAP_TYPE_QUEUE", "queue";
    /// LIFO stack.
    Stack = 23, "BPF_MAP_TYPE_STACK", "stack";
    /// Socket local storage.
    SkStorage = 24, "BPF_MAP_TYPE_SK_STORAGE", "sk_storage";
    /// Device hash map.
    DevmapHash = 25, "BPF_MAP_TYPE_DEVMAP_HASH", "devmap_hash";
    /// Struct ops.
    StructOps = 26, "BPF_MAP_TYPE_STRUCT_OPS", "struct_ops";
    /// Ring buffer.
    Ringbuf = 27, "BPF_MAP_TYPE_RINGBUF", "ringbuf";
    /// Inode storage.
    InodeStorage = 28, "BPF_MAP_TYPE_INODE_STORAGE", "inode_storage";
    /// Task storage.
    TaskStorage = 29, "BPF_MAP_TYPE_TASK_STORAGE", "task_storage";
    /// Bloom filter.
    BloomFilter = 30, "BPF_MAP_TYPE_BLOOM_FILTER", "bloom_filter";
    /// User ring buffer.
    UserRingbuf = 31, "BPF_MAP_TYPE_USER_RINGBUF", "user_ringbuf";
    /// Cgroup storage.
    CgrpStorage = 32, "BPF_MAP_TYPE_CGRP_STORAGE", "cgrp_storage";
    /// Arena.
    Arena = 33, "BPF_MAP_TYPE_ARENA", "arena";
}

impl std::fmt::Display for MapType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.kernel_name())
    }
}

impl TryFrom<u32> for MapType {
    type Error = MapError;
    fn try_from(id: u32) -> Result<MapType, MapError> {
        MapType::from_id(id)
    }
}

impl MapType {
    /// Whether values are stored once per CPU.
    pub fn is_percpu(self) -> bool {
        matches!(
            self,
            MapType::PercpuArray | MapType::PercpuHash | MapType::LruPercpuHash
        )
    }

    /// Whether this is an element map (hash table, array, LPM trie): the map types
    /// `bpf_map_lookup_elem`, `bpf_map_update_elem` and `bpf_map_delete_elem` work on.
    pub fn is_element_map(self) -> bool {
        matches!(
            self,
            MapType::Hash
                | MapType::PercpuHash
                | MapType::LruHash
                | MapType::LruPercpuHash
                | MapType::Array
                | MapType::PercpuArray
                | MapType::LpmTrie
        )
    }
}

/// What `BPF_MAP_CREATE` takes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MapSpec {
    /// The map type.
    pub map_type: MapType,
    /// Key size in bytes (0 for queue, stack, bloom filter, ring buffer).
    pub key_size: u32,
    /// Value size in bytes (0 for ring buffers).
    pub value_size: u32,
    /// Capacity (ring buffer: size of the data area in bytes, a power-of-two page multiple).
    pub max_entries: u32,
    /// `BPF_F_*` map flags.
    pub flags: u32,
    /// `map_extra` (bloom filter: number of hash functions in the low 4 bits).
    pub map_extra: u64,
    /// The map's name (at most 15 bytes are kept in a pinned file's header).
    pub name: String,
}

impl MapSpec {
    /// A spec with no flags, no map_extra and an empty name.
    pub fn new(map_type: MapType, key_size: u32, value_size: u32, max_entries: u32) -> MapSpec {
        MapSpec {
            map_type,
            key_size,
            value_size,
            max_entries,
            flags: 0,
            map_extra: 0,
            name: String::new(),
        }
    }

    /// The same spec with `flags`.
    pub fn with_flags(mut self, flags: u32) -> MapSpec {
        self.flags = flags;
        self
    }

    /// The same spec with `map_extra`.
    pub fn with_map_extra(mut self, map_extra: u64) -> MapSpec {
        self.map_extra = map_extra;
        self
    }

    /// The same spec with `name`.
    pub fn with_name(mut self, name: &str) -> MapSpec {
        self.name = name.to_string();
        self
    }
}

/// Kernel checks common to all types: the access flag pairs, and flags outside `allowed`.
pub(crate) fn check_flags(spec: &MapSpec, allowed: u32) -> Result<(), MapError> {
    let f = spec.flags;
    if f & !allowed != 0 {
        return Err(MapError::invalid(format!(
            "map flags 0x{:x} not allowed for {} maps",
            f & !allowed,
            spec.map_type
        )));
    }
    if f & BPF_F_RDONLY_PROG != 0 && f & BPF_F_WRONLY_PROG != 0 {
        return Err(MapError::invalid(
            "BPF_F_RDONLY_PROG and BPF_F_WRONLY_PROG together",
        ));
    }
    if f & BPF_F_RDONLY != 0 && f & BPF_F_WRONLY != 0 {
        return Err(MapError::invalid("BPF_F_RDONLY and BPF_F_WRONLY together"));
    }
    Ok(())
}

/// Check update flags of hash and array updates: `BPF_ANY`, `BPF_NOEXIST`, `BPF_EXIST`.
#[inline]
pub(crate) fn check_update_flags(flags: u64) -> Result<(), MapError> {
    if (flags & !BPF_F_LOCK) > BPF_EXIST {
        return Err(MapError::BadUpdateFlags { flags });
    }
    if flags & BPF_F_LOCK != 0 {
        return Err(MapError::invalid(
            "BPF_F_LOCK needs a bpf_spin_lock in the value (not supported)",
        ));
    }
    Ok(())
}

/// `x` rounded up to a multiple of 8.
#[inline]
pub(crate) const fn round8(x: usize) -> usize {
    (x + 7) & !7
}
