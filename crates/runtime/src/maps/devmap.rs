//! The redirect maps of XDP: `DEVMAP`, `DEVMAP_HASH`, `CPUMAP` and `XSKMAP`.
//!
//! Takes a spec with `key_size == 4`; gives the maps `bpf_redirect_map` looks targets up in,
//! with the kernel's checks and errno values (`kernel/bpf/devmap.c`, `cpumap.c`,
//! `net/xdp/xskmap.c`):
//!
//! - `DEVMAP`: an array of `struct bpf_devmap_val { u32 ifindex; union { int fd; u32 id; }
//!   bpf_prog; }` (value_size 8) or of a 4-byte ifindex. An update needs an interface that
//!   exists on this machine (the kernel's `dev_get_by_index`; here `/sys/class/net/*/ifindex`),
//!   else `EINVAL`; ifindex 0 empties the slot; `BPF_NOEXIST` is `EEXIST`, an index beyond
//!   max_entries `E2BIG`. Delete empties a slot (`EINVAL` beyond max_entries, never
//!   `ENOENT`); iteration lists every index, as for arrays. The map gets
//!   `BPF_F_RDONLY_PROG` (programs may look entries up, not change them).
//! - `DEVMAP_HASH`: the same values under any u32 key, in `roundup_pow_of_two(max_entries)`
//!   buckets indexed by the key's low bits (not hashed), newest first in a bucket, so that
//!   `get_next_key` gives the kernel's order. ifindex 0 is `EINVAL`, a new key in a full map
//!   `E2BIG`, delete of a missing key `ENOENT`.
//! - `CPUMAP`: an array of `struct bpf_cpumap_val { u32 qsize; ... bpf_prog; }` (or a 4-byte
//!   qsize) indexed by CPU: qsize above 16384 is `EOVERFLOW`, a CPU that is not possible
//!   (here: beyond [`possible_cpus`](super::possible_cpus)) `ENODEV`, qsize 0 empties the
//!   slot. `max_entries` may not exceed `NR_CPUS` (8192 here) (`E2BIG`).
//! - `XSKMAP`: AF_XDP sockets do not exist in user space: the map can be created, looked up
//!   by programs (always empty) and iterated, but an update is refused with `EOPNOTSUPP`
//!   and user-space lookups are `EOPNOTSUPP`, as in the kernel.
//!
//! Programs attached to devmap or cpumap entries (`bpf_prog.fd > 0`) are refused with
//! `EOPNOTSUPP`: userbpf has no program file descriptors to run there.
//!
//! Layout: array kinds have one 8-byte slot per index `{value u32, prog id u32}` (empty when
//! the first word is 0); the hash kind has `n_buckets` u32 chain heads, then elements
//! `{next u32, key u32, value u32, prog id u32}` from a [`Slab`]. Every operation takes the
//! map lock.

use super::header::{Layout, HEADER_LEN, S_GLOBAL_LOCK};
use super::slab::{Slab, NEXT};
use super::storage::Storage;
use super::types::*;
use super::{error, region_len, MapError};

const EOVERFLOW: i32 = 75;
const ENODEV: i32 = 19;
/// `NR_CPUS` of common kernel configurations, the limit of a cpumap's max_entries.
const NR_CPUS: u32 = 8192;
/// The kernel's sanity limit on a cpumap entry's queue size.
const CPUMAP_MAX_QSIZE: u32 = 16384;

const E_KEY: usize = 4;
const E_VAL: usize = 8;

/// Which of the four map types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Dev,
    DevHash,
    Cpu,
    Xsk,
}

/// A redirect map's layout.
#[derive(Clone, Copy, Debug)]
pub(crate) struct DevMap {
    kind: Kind,
    value_size: usize,
    max_entries: u32,
    ncpus: u32,
    n_buckets: u32,
    slab: Slab,
}

/// The flags the kernel adds at creation: devmaps are read-only for programs.
pub(crate) fn effective_flags(map_type: MapType, flags: u32) -> u32 {
    match map_type {
        MapType::Devmap | MapType::DevmapHash => flags | BPF_F_RDONLY_PROG,
        _ => flags,
    }
}

/// Whether an interface with this index exists (`/sys/class/net/*/ifindex`).
fn ifindex_exists(ifindex: u32) -> bool {
    let Ok(dir) = std::fs::read_dir("/sys/class/net") else {
        return false;
    };
    dir.flatten().any(|e| {
        std::fs::read_to_string(e.path().join("ifindex"))
            .ok()
            .and_then(|s| s.trim().parse::<u32>().ok())
            == Some(ifindex)
    })
}

impl DevMap {
    /// Check the spec as the kernel's `dev_map_alloc_check`, `cpu_map_alloc` and
    /// `xsk_map_alloc`, and lay out the region.
    pub(crate) fn new(spec: &MapSpec, ncpus: u32) -> Result<(DevMap, Layout), MapError> {
        let kind = match spec.map_type {
            MapType::Devmap => Kind::Dev,
            MapType::DevmapHash => Kind::DevHash,
            MapType::Cpumap => Kind::Cpu,
            _ => Kind::Xsk,
        };
        let vs = spec.value_size;
        let (flags_ok, value_ok) = match kind {
            Kind::Dev | Kind::DevHash => (
                BPF_F_NUMA_NODE | BPF_F_RDONLY | BPF_F_WRONLY | BPF_F_RDONLY_PROG,
                vs == 4 || vs == 8,
            ),
            Kind::Cpu => (BPF_F_NUMA_NODE, vs == 4 || vs == 8),
            Kind::Xsk => (BPF_F_NUMA_NODE | BPF_F_RDONLY | BPF_F_WRONLY, vs == 4),
        };
        if spec.max_entries == 0 || spec.key_size != 4 || !value_ok || spec.flags & !flags_ok != 0 {
            return Err(MapError::invalid(format!(
                "{} maps need key_size 4, value_size {}, max_entries > 0 and flags within \
                 0x{flags_ok:x}",
                spec.map_type,
                if kind == Kind::Xsk { "4" } else { "4 or 8" },
            )));
        }
        if kind == Kind::DevHash && spec.max_entries > 1 << 31 {
            return Err(MapError::invalid("devmap_hash max_entries above 2^31"));
        }
        if kind == Kind::Cpu && spec.max_entries > NR_CPUS {
            return Err(MapError::TooLarge {
                reason: format!("cpumap max_entries above NR_CPUS ({NR_CPUS})"),
            });
        }
        let (n_buckets, first, total) = if kind == Kind::DevHash {
            let n = spec.max_entries.next_power_of_two();
            let first = HEADER_LEN as u64 + 4 * n as u64;
            let first = first.next_multiple_of(8);
            (n, first, region_len(first, 16 * spec.max_entries as u64)?)
        } else {
            let first = HEADER_LEN as u64;
            (0, first, region_len(first, 8 * spec.max_entries as u64)?)
        };
        let map = DevMap {
            kind,
            value_size: vs as usize,
            max_entries: spec.max_entries,
            ncpus: ncpus.max(1),
            n_buckets,
            slab: Slab {
                first: first as usize,
                elem_size: 16,
                count: spec.max_entries,
            },
        };
        let layout = Layout {
            total_len: total,
            data_off: HEADER_LEN as u64,
            meta: [n_buckets as u64, first, 0, 0, 0, 0, 0, 0],
        };
        Ok((map, layout))
    }

    fn key(key: &[u8]) -> Result<u32, MapError> {
        super::array::index_key(key)
    }

    fn slot_off(idx: u32) -> usize {
        HEADER_LEN + 8 * idx as usize
    }

    fn bucket_off(&self, key: u32) -> usize {
        HEADER_LEN + 4 * (key & (self.n_buckets - 1)) as usize
    }

    /// The element holding `key` in a devmap_hash and its predecessor (0 = bucket head).
    fn find(&self, st: &Storage, key: u32) -> Result<Option<(u32, u32)>, MapError> {
        let mut prev = 0;
        let mut idx = st.get32(self.bucket_off(key));
        let mut steps = 0u32;
        while idx != 0 {
            let off = self.slab.off(idx)?;
            if st.get32(off + E_KEY) == key {
                return Ok(Some((prev, idx)));
            }
            steps += 1;
            if steps > self.max_entries {
                return Err(MapError::Corrupt("cycle in a devmap_hash bucket"));
            }
            prev = idx;
            idx = st.get32(off + NEXT);
        }
        Ok(None)
    }

    fn unlink(&self, st: &Storage, key: u32, prev: u32, idx: u32) -> Result<(), MapError> {
        let next = st.get32(self.slab.off(idx)? + NEXT);
        if prev == 0 {
            st.set32(self.bucket_off(key), next);
        } else {
            st.set32(self.slab.off(prev)? + NEXT, next);
        }
        Ok(())
    }

    /// Offset of the value `{value u32, prog id u32}` of `key`, if present (lock held).
    fn value_off(&self, st: &Storage, key: u32) -> Result<Option<usize>, MapError> {
        match self.kind {
            Kind::DevHash => match self.find(st, key)? {
                Some((_, idx)) => Ok(Some(self.slab.off(idx)? + E_VAL)),
                None => Ok(None),
            },
            _ if key >= self.max_entries => Ok(None),
            _ => {
                let off = Self::slot_off(key);
                Ok((st.get32(off) != 0).then_some(off))
            }
        }
    }

    /// User-space lookup: `{ifindex or qsize, prog id}` (value_size bytes).
    pub(crate) fn lookup(&self, st: &Storage, key: &[u8]) -> Result<Vec<u8>, MapError> {
        if self.kind == Kind::Xsk {
            return Err(MapError::OpNotSupported {
                op: "lookup",
                map_type: MapType::Xskmap,
                errno: error::EOPNOTSUPP,
            });
        }
        let key = Self::key(key)?;
        let _g = st.lock(S_GLOBAL_LOCK);
        let off = self.value_off(st, key)?.ok_or(MapError::NotFound)?;
        let mut out = vec![0u8; self.value_size];
        st.read(off, &mut out);
        Ok(out)
    }

    /// Program-side lookup: the address of the value (xskmaps: never present).
    pub(crate) fn lookup_ptr(&self, st: &Storage, key: &[u8]) -> Result<Option<u64>, MapError> {
        if self.kind == Kind::Xsk || key.len() != 4 {
            return Ok(None);
        }
        let _g = st.lock(S_GLOBAL_LOCK);
        Ok(self.value_off(st, Self::key(key)?)?.map(|o| st.addr(o)))
    }

    /// What `bpf_redirect_map` finds under `key`: a devmap's ifindex, a cpumap's CPU
    /// (the key), or nothing.
    pub(crate) fn redirect_target(&self, st: &Storage, key: u32) -> Option<u32> {
        if self.kind == Kind::Xsk {
            return None;
        }
        let _g = st.lock(S_GLOBAL_LOCK);
        let off = self.value_off(st, key).ok().flatten()?;
        Some(match self.kind {
            Kind::Cpu => key,
            _ => st.get32(off),
        })
    }

    /// The value's two words, checked as the kernel's `__dev_map_alloc_node` and
    /// `__cpu_map_entry_alloc` do (the first word non-zero).
    fn check_target(&self, first: u32, prog_fd: i32) -> Result<(), MapError> {
        if prog_fd > 0 {
            return Err(MapError::OpNotSupported {
                op: "a program in an entry (bpf_prog.fd)",
                map_type: self.map_type(),
                errno: error::EOPNOTSUPP,
            });
        }
        match self.kind {
            Kind::Dev | Kind::DevHash if !ifindex_exists(first) => Err(MapError::invalid(format!(
                "no network interface with ifindex {first} on this machine"
            ))),
            _ => Ok(()),
        }
    }

    fn map_type(&self) -> MapType {
        match self.kind {
            Kind::Dev => MapType::Devmap,
            Kind::DevHash => MapType::DevmapHash,
            Kind::Cpu => MapType::Cpumap,
            Kind::Xsk => MapType::Xskmap,
        }
    }

    /// `BPF_MAP_UPDATE_ELEM`.
    pub(crate) fn update(
        &self,
        st: &Storage,
        key: &[u8],
        value: &[u8],
        flags: u64,
    ) -> Result<(), MapError> {
        let k = Self::key(key)?;
        if value.len() != self.value_size {
            return Err(MapError::WrongSize {
                what: "value",
                expected: self.value_size,
                got: value.len(),
            });
        }
        let word = |i: usize| {
            value
                .get(4 * i..4 * i + 4)
                .map_or(0, |b| u32::from_ne_bytes(b.try_into().expect("4 bytes")))
        };
        let (first, prog_fd) = (
            word(0),
            if self.value_size == 8 {
                word(1) as i32
            } else {
                -1
            },
        );
        if flags > BPF_EXIST {
            return Err(MapError::BadUpdateFlags { flags });
        }
        match self.kind {
            Kind::Xsk => {
                if k >= self.max_entries {
                    return Err(MapError::IndexOutOfRange {
                        index: k,
                        max_entries: self.max_entries,
                    });
                }
                Err(MapError::OpNotSupported {
                    op: "update (AF_XDP sockets do not exist in user space)",
                    map_type: MapType::Xskmap,
                    errno: error::EOPNOTSUPP,
                })
            }
            Kind::Dev | Kind::Cpu => {
                if k >= self.max_entries {
                    return Err(MapError::IndexOutOfRange {
                        index: k,
                        max_entries: self.max_entries,
                    });
                }
                if flags == BPF_NOEXIST {
                    return Err(MapError::Exists);
                }
                if self.kind == Kind::Cpu {
                    if first > CPUMAP_MAX_QSIZE {
                        return Err(MapError::Errno {
                            errno: EOVERFLOW,
                            reason: format!("cpumap qsize {first} above {CPUMAP_MAX_QSIZE}"),
                        });
                    }
                    if k >= self.ncpus {
                        return Err(MapError::Errno {
                            errno: ENODEV,
                            reason: format!("CPU {k} is not a possible CPU"),
                        });
                    }
                }
                if first == 0 {
                    if self.kind == Kind::Dev && prog_fd > 0 {
                        return Err(MapError::invalid("a program fd without an ifindex"));
                    }
                } else {
                    self.check_target(first, prog_fd)?;
                }
                let _g = st.lock(S_GLOBAL_LOCK);
                st.set32(Self::slot_off(k), first);
                st.set32(Self::slot_off(k) + 4, 0);
                Ok(())
            }
            Kind::DevHash => {
                if first == 0 {
                    return Err(MapError::invalid("devmap_hash entries need an ifindex"));
                }
                let _g = st.lock(S_GLOBAL_LOCK);
                let old = self.find(st, k)?;
                if old.is_some() && flags == BPF_NOEXIST {
                    return Err(MapError::Exists);
                }
                self.check_target(first, prog_fd)?;
                let idx = match old {
                    // The kernel replaces the entry and links it at the head of its bucket.
                    Some((prev, idx)) => {
                        self.unlink(st, k, prev, idx)?;
                        idx
                    }
                    None => self.slab.alloc(st)?.ok_or(MapError::Full {
                        max_entries: self.max_entries,
                    })?,
                };
                let off = self.slab.off(idx)?;
                st.set32(off + E_KEY, k);
                st.set32(off + E_VAL, first);
                st.set32(off + E_VAL + 4, 0);
                st.set32(off + NEXT, st.get32(self.bucket_off(k)));
                st.set32(self.bucket_off(k), idx);
                Ok(())
            }
        }
    }

    /// `BPF_MAP_DELETE_ELEM`.
    pub(crate) fn delete(&self, st: &Storage, key: &[u8]) -> Result<(), MapError> {
        let k = Self::key(key)?;
        let _g = st.lock(S_GLOBAL_LOCK);
        match self.kind {
            Kind::DevHash => {
                let (prev, idx) = self.find(st, k)?.ok_or(MapError::NotFound)?;
                self.unlink(st, k, prev, idx)?;
                self.slab.free(st, idx)
            }
            _ if k >= self.max_entries => Err(MapError::invalid(format!(
                "index {k} beyond max_entries {}",
                self.max_entries
            ))),
            _ => {
                st.set32(Self::slot_off(k), 0);
                st.set32(Self::slot_off(k) + 4, 0);
                Ok(())
            }
        }
    }

    /// `BPF_MAP_GET_NEXT_KEY`: every index for the array kinds; bucket order for the hash.
    pub(crate) fn get_next_key(
        &self,
        st: &Storage,
        key: Option<&[u8]>,
    ) -> Result<Vec<u8>, MapError> {
        if self.kind != Kind::DevHash {
            return super::array::array_next_key(key, self.max_entries);
        }
        let key = key.map(Self::key).transpose()?;
        let _g = st.lock(S_GLOBAL_LOCK);
        let mut bucket = 0;
        if let Some(k) = key {
            if let Some((_, idx)) = self.find(st, k)? {
                let next = st.get32(self.slab.off(idx)? + NEXT);
                if next != 0 {
                    let nk = st.get32(self.slab.off(next)? + E_KEY);
                    return Ok(nk.to_ne_bytes().to_vec());
                }
                bucket = (k & (self.n_buckets - 1)) + 1;
            }
        }
        for b in bucket..self.n_buckets {
            let head = st.get32(HEADER_LEN + 4 * b as usize);
            if head != 0 {
                let nk = st.get32(self.slab.off(head)? + E_KEY);
                return Ok(nk.to_ne_bytes().to_vec());
            }
        }
        Err(MapError::NotFound)
    }

    /// Entries present.
    pub(crate) fn len(&self, st: &Storage) -> usize {
        match self.kind {
            Kind::DevHash => self.slab.in_use(st) as usize,
            _ => (0..self.max_entries)
                .filter(|i| st.get32(Self::slot_off(*i)) != 0)
                .count(),
        }
    }
}
