//! Kernel maps: `BPF_MAP_CREATE` and the element commands.
//!
//! Takes a map's geometry ([`MapCreateOptions`]); gives a [`MapFd`] (closed on drop) that
//! looks up, updates, deletes, iterates, pops, freezes and dumps elements through `bpf()`,
//! and reads the records of a ring buffer through its memory mapping. Every buffer handed to
//! the kernel is sized from the map's geometry first, so a wrong key or value length is an
//! `EINVAL` here, never a kernel write past a buffer.
//!
//! Per-CPU maps (`percpu_hash`, `percpu_array`, `lru_percpu_hash`) read and write one value
//! per possible CPU, each rounded up to 8 bytes, concatenated: the layout `bpf()` uses.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::OnceLock;

use crate::attr::{
    InfoHead, MapCreateAttr, MapElemAttr, ObjInfoAttr, BPF_MAP_CREATE, BPF_MAP_DELETE_ELEM,
    BPF_MAP_FREEZE, BPF_MAP_GET_NEXT_KEY, BPF_MAP_LOOKUP_AND_DELETE_ELEM, BPF_MAP_LOOKUP_ELEM,
    BPF_MAP_UPDATE_ELEM, BPF_OBJ_GET_INFO_BY_FD, BPF_OBJ_NAME_LEN,
};
use crate::sys::{Linux, Sys};

/// Map types (`enum bpf_map_type`) the oracle knows by name; any other number may be passed.
#[allow(missing_docs)]
pub mod map_type {
    #[doc(alias = "BPF_MAP_TYPE_HASH")]
    pub const HASH: u32 = 1;
    #[doc(alias = "BPF_MAP_TYPE_ARRAY")]
    pub const ARRAY: u32 = 2;
    #[doc(alias = "BPF_MAP_TYPE_PROG_ARRAY")]
    pub const PROG_ARRAY: u32 = 3;
    #[doc(alias = "BPF_MAP_TYPE_PERF_EVENT_ARRAY")]
    pub const PERF_EVENT_ARRAY: u32 = 4;
    #[doc(alias = "BPF_MAP_TYPE_PERCPU_HASH")]
    pub const PERCPU_HASH: u32 = 5;
    #[doc(alias = "BPF_MAP_TYPE_PERCPU_ARRAY")]
    pub const PERCPU_ARRAY: u32 = 6;
    #[doc(alias = "BPF_MAP_TYPE_LRU_HASH")]
    pub const LRU_HASH: u32 = 9;
    #[doc(alias = "BPF_MAP_TYPE_LRU_PERCPU_HASH")]
    pub const LRU_PERCPU_HASH: u32 = 10;
    #[doc(alias = "BPF_MAP_TYPE_LPM_TRIE")]
    pub const LPM_TRIE: u32 = 11;
    #[doc(alias = "BPF_MAP_TYPE_ARRAY_OF_MAPS")]
    pub const ARRAY_OF_MAPS: u32 = 12;
    #[doc(alias = "BPF_MAP_TYPE_HASH_OF_MAPS")]
    pub const HASH_OF_MAPS: u32 = 13;
    #[doc(alias = "BPF_MAP_TYPE_QUEUE")]
    pub const QUEUE: u32 = 22;
    #[doc(alias = "BPF_MAP_TYPE_STACK")]
    pub const STACK: u32 = 23;
    #[doc(alias = "BPF_MAP_TYPE_RINGBUF")]
    pub const RINGBUF: u32 = 27;
    #[doc(alias = "BPF_MAP_TYPE_BLOOM_FILTER")]
    pub const BLOOM_FILTER: u32 = 30;
}

/// Update flags (`BPF_ANY`, `BPF_NOEXIST`, `BPF_EXIST`).
pub mod update_flags {
    /// Create or replace.
    pub const ANY: u64 = 0;
    /// Create only.
    pub const NOEXIST: u64 = 1;
    /// Replace only.
    pub const EXIST: u64 = 2;
}

/// Is `map_type` one of the per-CPU types, whose values `bpf()` reads one per CPU?
pub fn is_percpu(map_type: u32) -> bool {
    matches!(
        map_type,
        map_type::PERCPU_HASH | map_type::PERCPU_ARRAY | map_type::LRU_PERCPU_HASH
    )
}

/// Number of possible CPUs (`/sys/devices/system/cpu/possible`, as libbpf reads it): the
/// number of values a per-CPU lookup returns.
pub fn possible_cpus() -> usize {
    static CPUS: OnceLock<usize> = OnceLock::new();
    *CPUS.get_or_init(|| {
        std::fs::read_to_string("/sys/devices/system/cpu/possible")
            .ok()
            .and_then(|s| parse_cpu_list(s.trim()))
            .unwrap_or(1)
    })
}

/// The number of CPUs a list such as `0-3,5,7-8` names (the highest index + 1).
pub(crate) fn parse_cpu_list(list: &str) -> Option<usize> {
    let mut highest = None;
    for part in list.split(',').filter(|p| !p.is_empty()) {
        let last = match part.split_once('-') {
            Some((_, hi)) => hi.trim().parse::<usize>().ok()?,
            None => part.trim().parse::<usize>().ok()?,
        };
        highest = Some(highest.map_or(last, |h: usize| h.max(last)));
    }
    highest.map(|h| h + 1)
}

/// What `BPF_MAP_CREATE` is asked for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MapCreateOptions {
    /// `enum bpf_map_type` ([`map_type`]).
    pub map_type: u32,
    /// Key size in bytes (0 for queue, stack, bloom filter, ringbuf).
    pub key_size: u32,
    /// Value size in bytes.
    pub value_size: u32,
    /// Maximum number of elements (bytes of the data area for a ringbuf).
    pub max_entries: u32,
    /// `BPF_F_*` creation flags.
    pub map_flags: u32,
    /// The template map of a map-in-map.
    pub inner_map_fd: Option<RawFd>,
    /// `numa_node` (used with `BPF_F_NUMA_NODE` only).
    pub numa_node: u32,
    /// `map_extra` (bloom filter: number of hash functions).
    pub map_extra: u64,
    /// `map_name`: characters other than alphanumerics, `_` and `.` are dropped, at most 15
    /// bytes are kept.
    pub name: String,
}

/// A map the kernel created: its file descriptor (closed on drop) and its geometry.
#[derive(Debug)]
pub struct MapFd {
    fd: OwnedFd,
    map_type: u32,
    key_size: u32,
    value_size: u32,
    max_entries: u32,
}

/// A kernel object name: allowed characters only, at most 15 bytes, NUL-padded.
pub(crate) fn object_name(name: &str) -> [u8; BPF_OBJ_NAME_LEN] {
    let mut out = [0u8; BPF_OBJ_NAME_LEN];
    for (d, s) in out
        .iter_mut()
        .zip(
            name.bytes()
                .filter(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'.'),
        )
        .take(BPF_OBJ_NAME_LEN - 1)
    {
        *d = s;
    }
    out
}

fn errno(code: i32) -> io::Error {
    io::Error::from_raw_os_error(code)
}

/// Create a map.
///
/// # Errors
/// The errno of `BPF_MAP_CREATE` (`EINVAL` for a geometry the type refuses, `EPERM`
/// without privilege, `E2BIG`, `ENOMEM`).
///
/// ```no_run
/// use userbpf_kernel::{map_create, map_type, MapCreateOptions};
/// let map = map_create(&MapCreateOptions {
///     map_type: map_type::HASH,
///     key_size: 4,
///     value_size: 8,
///     max_entries: 16,
///     name: "counts".into(),
///     ..MapCreateOptions::default()
/// })?;
/// map.update(&7u32.to_ne_bytes(), &1u64.to_ne_bytes(), 0)?;
/// assert_eq!(map.lookup(&7u32.to_ne_bytes())?, Some(1u64.to_ne_bytes().to_vec()));
/// # Ok::<(), std::io::Error>(())
/// ```
#[doc(alias = "BPF_MAP_CREATE")]
pub fn map_create(opts: &MapCreateOptions) -> io::Result<MapFd> {
    map_create_in(&Linux, opts)
}

pub(crate) fn map_create_in<S: Sys>(sys: &S, opts: &MapCreateOptions) -> io::Result<MapFd> {
    let mut attr = MapCreateAttr {
        map_type: opts.map_type,
        key_size: opts.key_size,
        value_size: opts.value_size,
        max_entries: opts.max_entries,
        map_flags: opts.map_flags,
        inner_map_fd: match opts.inner_map_fd {
            Some(fd) => u32::try_from(fd).map_err(|_| errno(libc::EBADF))?,
            None => 0,
        },
        numa_node: opts.numa_node,
        map_name: object_name(&opts.name),
        map_extra: opts.map_extra,
        ..MapCreateAttr::default()
    };
    let fd = sys.bpf(BPF_MAP_CREATE, &mut attr)?;
    let fd = RawFd::try_from(fd).map_err(|_| errno(libc::EBADF))?;
    // SAFETY: BPF_MAP_CREATE returned a fresh file descriptor that nothing else owns;
    // OwnedFd takes it over and closes it once.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    Ok(MapFd {
        fd,
        map_type: opts.map_type,
        key_size: opts.key_size,
        value_size: opts.value_size,
        max_entries: opts.max_entries,
    })
}

/// Read the 8-byte head of `bpf_map_info` / `bpf_prog_info` of `fd`: (type, id).
pub(crate) fn info_head_in<S: Sys>(sys: &S, fd: RawFd) -> io::Result<InfoHead> {
    let mut head = InfoHead::default();
    let mut attr = ObjInfoAttr {
        bpf_fd: fd as u32,
        info_len: std::mem::size_of::<InfoHead>() as u32,
        info: &mut head as *mut InfoHead as u64,
    };
    sys.bpf(BPF_OBJ_GET_INFO_BY_FD, &mut attr)?;
    Ok(head)
}

/// A pointer for the kernel: null for an empty slice.
fn ptr(bytes: &[u8]) -> u64 {
    if bytes.is_empty() {
        0
    } else {
        bytes.as_ptr() as u64
    }
}

impl MapFd {
    /// `enum bpf_map_type` of the map.
    pub fn map_type(&self) -> u32 {
        self.map_type
    }

    /// Key size in bytes.
    pub fn key_size(&self) -> u32 {
        self.key_size
    }

    /// Value size in bytes (of one CPU's value for per-CPU maps).
    pub fn value_size(&self) -> u32 {
        self.value_size
    }

    /// Maximum number of elements.
    pub fn max_entries(&self) -> u32 {
        self.max_entries
    }

    /// Size of the value buffer `bpf()` reads and writes: `value_size`, or for per-CPU maps
    /// `round_up(value_size, 8) * possible_cpus()`.
    pub fn value_buf_size(&self) -> usize {
        if is_percpu(self.map_type) {
            (self.value_size as usize).next_multiple_of(8) * possible_cpus()
        } else {
            self.value_size as usize
        }
    }

    /// The map's global id (`bpf_map_info.id`), which lookups in map-in-map maps return.
    ///
    /// # Errors
    /// The errno of `BPF_OBJ_GET_INFO_BY_FD`.
    pub fn id(&self) -> io::Result<u32> {
        Ok(info_head_in(&Linux, self.as_raw_fd())?.id)
    }

    fn check_key(&self, key: Option<&[u8]>) -> io::Result<u64> {
        match key {
            Some(k) if k.len() == self.key_size as usize => Ok(ptr(k)),
            None => Ok(0),
            Some(_) => Err(errno(libc::EINVAL)),
        }
    }

    fn elem<S: Sys>(&self, sys: &S, cmd: u32, key: u64, value: u64, flags: u64) -> io::Result<()> {
        let mut attr = MapElemAttr {
            map_fd: self.as_raw_fd() as u32,
            key,
            value,
            flags,
            ..MapElemAttr::default()
        };
        sys.bpf(cmd, &mut attr).map(drop)
    }

    /// The value stored under `key` (all CPUs' values for per-CPU maps; the inner map's or
    /// program's id for map-in-map and program-array maps), `None` when absent.
    ///
    /// # Errors
    /// `EINVAL` for a key of the wrong size; the errno of `BPF_MAP_LOOKUP_ELEM` other than
    /// `ENOENT` (e.g. `ENOTSUPP` (524) for perf event arrays).
    #[doc(alias = "BPF_MAP_LOOKUP_ELEM")]
    pub fn lookup(&self, key: &[u8]) -> io::Result<Option<Vec<u8>>> {
        self.lookup_in(&Linux, Some(key), 0)
    }

    /// [`MapFd::lookup`] with `flags` (`BPF_F_LOCK`) and an optional key: `None` peeks at
    /// the head of a queue or stack.
    ///
    /// # Errors
    /// As [`MapFd::lookup`].
    pub fn lookup_with(&self, key: Option<&[u8]>, flags: u64) -> io::Result<Option<Vec<u8>>> {
        self.lookup_in(&Linux, key, flags)
    }

    pub(crate) fn lookup_in<S: Sys>(
        &self,
        sys: &S,
        key: Option<&[u8]>,
        flags: u64,
    ) -> io::Result<Option<Vec<u8>>> {
        let key = self.check_key(key)?;
        let mut value = vec![0u8; self.value_buf_size()];
        match self.elem(
            sys,
            BPF_MAP_LOOKUP_ELEM,
            key,
            value.as_mut_ptr() as u64,
            flags,
        ) {
            Ok(()) => Ok(Some(value)),
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Whether a bloom filter may contain `value` (`BPF_MAP_LOOKUP_ELEM` with no key).
    ///
    /// # Errors
    /// `EINVAL` for a value of the wrong size; errnos other than `ENOENT`.
    pub fn bloom_contains(&self, value: &[u8]) -> io::Result<bool> {
        if value.len() != self.value_size as usize {
            return Err(errno(libc::EINVAL));
        }
        match self.elem(&Linux, BPF_MAP_LOOKUP_ELEM, 0, ptr(value), 0) {
            Ok(()) => Ok(true),
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Store `value` under `key` with `flags` ([`update_flags`]). For per-CPU maps `value`
    /// holds every CPU's value ([`MapFd::value_buf_size`] bytes); for map-in-map and
    /// program-array maps it is a 4-byte file descriptor.
    ///
    /// # Errors
    /// `EINVAL` for wrong sizes; the errno of `BPF_MAP_UPDATE_ELEM` (`EEXIST`, `ENOENT`,
    /// `E2BIG`, ...).
    #[doc(alias = "BPF_MAP_UPDATE_ELEM")]
    pub fn update(&self, key: &[u8], value: &[u8], flags: u64) -> io::Result<()> {
        self.update_in(&Linux, Some(key), value, flags)
    }

    /// Push `value` onto a queue or stack, or add it to a bloom filter (update with no key).
    ///
    /// # Errors
    /// As [`MapFd::update`]; `E2BIG` when full (without `BPF_EXIST`).
    pub fn push(&self, value: &[u8], flags: u64) -> io::Result<()> {
        self.update_in(&Linux, None, value, flags)
    }

    pub(crate) fn update_in<S: Sys>(
        &self,
        sys: &S,
        key: Option<&[u8]>,
        value: &[u8],
        flags: u64,
    ) -> io::Result<()> {
        let key = self.check_key(key)?;
        let expected = match self.map_type {
            map_type::PROG_ARRAY
            | map_type::PERF_EVENT_ARRAY
            | map_type::ARRAY_OF_MAPS
            | map_type::HASH_OF_MAPS => 4,
            _ => self.value_buf_size(),
        };
        if value.len() != expected {
            return Err(errno(libc::EINVAL));
        }
        self.elem(sys, BPF_MAP_UPDATE_ELEM, key, ptr(value), flags)
    }

    /// Delete the element under `key`; `Ok(false)` when there was none.
    ///
    /// # Errors
    /// `EINVAL` for a key of the wrong size (and for arrays, which cannot delete).
    #[doc(alias = "BPF_MAP_DELETE_ELEM")]
    pub fn delete(&self, key: &[u8]) -> io::Result<bool> {
        let key = self.check_key(Some(key))?;
        match self.elem(&Linux, BPF_MAP_DELETE_ELEM, key, 0, 0) {
            Ok(()) => Ok(true),
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The key after `key` in the kernel's iteration order (`None`: the first key), or
    /// `None` at the end.
    ///
    /// # Errors
    /// `EINVAL` for a key of the wrong size; errnos other than `ENOENT`.
    #[doc(alias = "BPF_MAP_GET_NEXT_KEY")]
    pub fn next_key(&self, key: Option<&[u8]>) -> io::Result<Option<Vec<u8>>> {
        self.next_key_in(&Linux, key)
    }

    pub(crate) fn next_key_in<S: Sys>(
        &self,
        sys: &S,
        key: Option<&[u8]>,
    ) -> io::Result<Option<Vec<u8>>> {
        let key = self.check_key(key)?;
        let mut next = vec![0u8; self.key_size as usize];
        match self.elem(sys, BPF_MAP_GET_NEXT_KEY, key, next.as_mut_ptr() as u64, 0) {
            Ok(()) => Ok(Some(next)),
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Look up and delete in one step; with `key` `None` this pops the head of a queue or
    /// stack. `None` when there was nothing.
    ///
    /// # Errors
    /// `EINVAL` for a key of the wrong size; errnos other than `ENOENT`.
    #[doc(alias = "BPF_MAP_LOOKUP_AND_DELETE_ELEM")]
    pub fn lookup_and_delete(&self, key: Option<&[u8]>) -> io::Result<Option<Vec<u8>>> {
        let key = self.check_key(key)?;
        let mut value = vec![0u8; self.value_buf_size()];
        match self.elem(
            &Linux,
            BPF_MAP_LOOKUP_AND_DELETE_ELEM,
            key,
            value.as_mut_ptr() as u64,
            0,
        ) {
            Ok(()) => Ok(Some(value)),
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Pop the head of a queue or stack.
    ///
    /// # Errors
    /// As [`MapFd::lookup_and_delete`].
    pub fn pop(&self) -> io::Result<Option<Vec<u8>>> {
        self.lookup_and_delete(None)
    }

    /// Make the map read-only for `bpf()` (programs keep their access); after this the
    /// verifier treats a `BPF_F_RDONLY_PROG` map's contents as constants.
    ///
    /// # Errors
    /// The errno of `BPF_MAP_FREEZE` (`EBUSY` when already frozen).
    #[doc(alias = "BPF_MAP_FREEZE")]
    pub fn freeze(&self) -> io::Result<()> {
        self.elem(&Linux, BPF_MAP_FREEZE, 0, 0, 0)
    }

    /// Every key, in the kernel's iteration order.
    ///
    /// # Errors
    /// The errno of `BPF_MAP_GET_NEXT_KEY`.
    pub fn keys(&self) -> io::Result<Vec<Vec<u8>>> {
        let mut keys: Vec<Vec<u8>> = Vec::new();
        let mut cursor = self.next_key(None)?;
        // A hash map may restart from its first bucket if the key vanished; the bound keeps
        // a concurrently changing map from looping forever.
        let bound = (self.max_entries as usize).saturating_mul(2).max(16);
        while let Some(key) = cursor {
            if keys.len() >= bound {
                break;
            }
            cursor = self.next_key(Some(&key))?;
            keys.push(key);
        }
        Ok(keys)
    }

    /// Everything the map holds, as `(key, value)` pairs:
    ///
    /// - keyed maps: every key in iteration order with its value (per-CPU values
    ///   concatenated with 8-byte rounding, inner map / program ids for fd maps);
    /// - queue and stack: the elements from the head on, with empty keys (read by popping
    ///   every element and pushing them back, so the map ends as it started);
    /// - ringbuf: the submitted records not yet consumed, with empty keys
    ///   ([`MapFd::ringbuf_records`]);
    /// - bloom filter and perf event array: nothing (the kernel offers no way to list them).
    ///
    /// # Errors
    /// The errno of the first failing command.
    pub fn dump(&self) -> io::Result<Vec<(Vec<u8>, Vec<u8>)>> {
        match self.map_type {
            map_type::QUEUE | map_type::STACK => {
                let mut values = Vec::new();
                while let Some(v) = self.pop()? {
                    values.push(v);
                }
                // A queue pops oldest first, so pushing in pop order restores it; a stack
                // pops newest first, so push back oldest first.
                let order: Vec<&Vec<u8>> = if self.map_type == map_type::STACK {
                    values.iter().rev().collect()
                } else {
                    values.iter().collect()
                };
                for v in order {
                    self.push(v, update_flags::ANY)?;
                }
                Ok(values.into_iter().map(|v| (Vec::new(), v)).collect())
            }
            map_type::RINGBUF => Ok(self
                .ringbuf_records()?
                .into_iter()
                .map(|r| (Vec::new(), r))
                .collect()),
            map_type::BLOOM_FILTER | map_type::PERF_EVENT_ARRAY => Ok(Vec::new()),
            _ => {
                let mut out = Vec::new();
                for key in self.keys()? {
                    if let Some(value) = self.lookup(&key)? {
                        out.push((key, value));
                    }
                }
                Ok(out)
            }
        }
    }

    /// The records of a ring buffer that were submitted (not discarded) and not yet
    /// consumed, oldest first. Reads the kernel's memory mapping of the buffer; consumes
    /// nothing.
    ///
    /// # Errors
    /// `EINVAL` for other map types; the errno of `mmap`.
    pub fn ringbuf_records(&self) -> io::Result<Vec<Vec<u8>>> {
        if self.map_type != map_type::RINGBUF {
            return Err(errno(libc::EINVAL));
        }
        crate::ringbuf::records(self.as_raw_fd(), self.max_entries as usize)
    }
}

impl AsRawFd for MapFd {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}
