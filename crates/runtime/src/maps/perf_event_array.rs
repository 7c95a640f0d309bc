//! `BPF_MAP_TYPE_PERF_EVENT_ARRAY`: per-CPU record queues that user space drains.
//!
//! Takes a spec with `key_size == 4`, `value_size == 4` and `max_entries` slots (one per CPU,
//! as libbpf creates it); gives `bpf_perf_event_output` for programs and a reader for user
//! space. In the kernel each slot holds a perf event whose ring buffer user space maps; here
//! each slot owns a ring of [`PERF_RING_SIZE`] bytes inside the map's region. A slot is
//! closed until user space opens it (the kernel's "store a perf event fd in the slot":
//! [`Map::update`](super::Map::update) with any 4-byte value, or
//! [`Map::perf_open`](super::Map::perf_open)); delete closes it.
//!
//! Records are `{size u32, 0 u32}` then the sample, padded to 8 bytes (the raw part of a
//! `PERF_RECORD_SAMPLE`). Output as the kernel's `bpf_perf_event_output`: flags other than
//! the index bits are `EINVAL`, index `BPF_F_CURRENT_CPU` (0xffffffff) is the calling
//! thread's CPU slot, an index beyond `max_entries` is `E2BIG`, a closed slot `ENOENT`, and a
//! full ring `ENOSPC` (the record is counted as lost, as perf's `PERF_RECORD_LOST`). Unlike
//! the kernel, a program may write to a slot other than its own CPU's.
//!
//! Per slot the region holds a control block `{lock u32, open u32, head u64, tail u64, lost
//! u64}` (64 bytes, after the header) and its ring (after all control blocks).

use super::header::{Layout, HEADER_LEN};
use super::storage::Storage;
use super::types::*;
use super::{current_cpu, region_len, MapError};

/// Bytes of each slot's ring.
pub const PERF_RING_SIZE: usize = 64 * 1024;
/// `BPF_F_CURRENT_CPU`: the index meaning "this CPU".
pub const BPF_F_CURRENT_CPU: u64 = 0xffff_ffff;
/// `BPF_F_INDEX_MASK`.
pub const BPF_F_INDEX_MASK: u64 = 0xffff_ffff;

const CTRL: usize = 64;
const C_LOCK: usize = 0;
const C_OPEN: usize = 4;
const C_HEAD: usize = 8;
const C_TAIL: usize = 16;
const C_LOST: usize = 24;
const REC_HDR: usize = 8;

/// A perf event array's layout.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PerfEventArray {
    max_entries: u32,
    rings_off: usize,
}

impl PerfEventArray {
    /// Check the spec as the kernel's `fd_array_map_alloc_check` and lay out the region.
    pub(crate) fn new(spec: &MapSpec) -> Result<(PerfEventArray, Layout), MapError> {
        check_flags(
            spec,
            BPF_F_NUMA_NODE | BPF_F_ACCESS_MASK | BPF_F_PRESERVE_ELEMS,
        )?;
        if spec.max_entries == 0 || spec.key_size != 4 || spec.value_size != 4 {
            return Err(MapError::invalid(
                "perf event arrays need key_size 4, value_size 4 and max_entries > 0",
            ));
        }
        if spec.max_entries > 65536 {
            return Err(MapError::TooLarge {
                reason: format!(
                    "perf event array of {} slots exceeds 65536",
                    spec.max_entries
                ),
            });
        }
        let n = spec.max_entries as u64;
        let rings_off = (HEADER_LEN as u64 + CTRL as u64 * n).next_multiple_of(4096);
        let total = region_len(rings_off, PERF_RING_SIZE as u64 * n)?;
        let layout = Layout {
            total_len: total,
            data_off: HEADER_LEN as u64,
            meta: [rings_off, PERF_RING_SIZE as u64, 0, 0, 0, 0, 0, 0],
        };
        Ok((
            PerfEventArray {
                max_entries: spec.max_entries,
                rings_off: rings_off as usize,
            },
            layout,
        ))
    }

    fn ctrl(&self, idx: u32) -> usize {
        HEADER_LEN + CTRL * idx as usize
    }

    fn ring(&self, idx: u32) -> usize {
        self.rings_off + PERF_RING_SIZE * idx as usize
    }

    fn index(key: &[u8]) -> Result<u32, MapError> {
        super::array::index_key(key)
    }

    fn checked(&self, idx: u32) -> Result<u32, MapError> {
        if idx >= self.max_entries {
            return Err(MapError::IndexOutOfRange {
                index: idx,
                max_entries: self.max_entries,
            });
        }
        Ok(idx)
    }

    /// Open slot `idx` (empty ring, no losses).
    pub(crate) fn open(&self, st: &Storage, idx: u32) -> Result<(), MapError> {
        let c = self.ctrl(self.checked(idx)?);
        let _g = st.lock(c + C_LOCK);
        st.set64(c + C_HEAD, 0);
        st.set64(c + C_TAIL, 0);
        st.set64(c + C_LOST, 0);
        st.set32(c + C_OPEN, 1);
        Ok(())
    }

    /// User-space update: open slot `key` (the value, a perf event fd in the kernel, is
    /// not used).
    pub(crate) fn update(
        &self,
        st: &Storage,
        key: &[u8],
        value: &[u8],
        flags: u64,
    ) -> Result<(), MapError> {
        if flags != BPF_ANY {
            return Err(MapError::BadUpdateFlags { flags });
        }
        if value.len() != 4 {
            return Err(MapError::WrongSize {
                what: "value",
                expected: 4,
                got: value.len(),
            });
        }
        self.open(st, Self::index(key)?)
    }

    /// Close slot `key`; `ENOENT` if it was not open.
    pub(crate) fn delete(&self, st: &Storage, key: &[u8]) -> Result<(), MapError> {
        let c = self.ctrl(self.checked(Self::index(key)?)?);
        let _g = st.lock(c + C_LOCK);
        if st.get32(c + C_OPEN) == 0 {
            return Err(MapError::NotFound);
        }
        st.set32(c + C_OPEN, 0);
        Ok(())
    }

    /// The kernel's `array_map_get_next_key`.
    pub(crate) fn get_next_key(&self, key: Option<&[u8]>) -> Result<Vec<u8>, MapError> {
        super::array::array_next_key(key, self.max_entries)
    }

    /// `bpf_perf_event_output`: append `data` as one record to the slot `flags` selects.
    pub(crate) fn output(&self, st: &Storage, flags: u64, data: &[u8]) -> Result<(), MapError> {
        if flags & !BPF_F_INDEX_MASK != 0 {
            return Err(MapError::BadUpdateFlags { flags });
        }
        let idx = match flags & BPF_F_INDEX_MASK {
            BPF_F_CURRENT_CPU => current_cpu(),
            i => i as u32,
        };
        let c = self.ctrl(self.checked(idx)?);
        let len = REC_HDR + round8(data.len());
        let _g = st.lock(c + C_LOCK);
        if st.get32(c + C_OPEN) == 0 {
            return Err(MapError::NotFound);
        }
        let (head, tail) = (st.get64(c + C_HEAD), st.get64(c + C_TAIL));
        let used = head.wrapping_sub(tail);
        if used > PERF_RING_SIZE as u64 {
            return Err(MapError::Corrupt("perf ring positions out of range"));
        }
        if len as u64 > PERF_RING_SIZE as u64 - used {
            st.set64(c + C_LOST, st.get64(c + C_LOST).wrapping_add(1));
            return Err(MapError::PerfRingFull);
        }
        let mut rec = Vec::with_capacity(len);
        rec.extend_from_slice(&(data.len() as u32).to_ne_bytes());
        rec.extend_from_slice(&0u32.to_ne_bytes());
        rec.extend_from_slice(data);
        rec.resize(len, 0);
        self.copy_in(st, idx, head, &rec);
        st.set64(c + C_HEAD, head + len as u64);
        Ok(())
    }

    fn copy_in(&self, st: &Storage, idx: u32, pos: u64, bytes: &[u8]) {
        let ring = self.ring(idx);
        let at = (pos % PERF_RING_SIZE as u64) as usize;
        let first = bytes.len().min(PERF_RING_SIZE - at);
        st.write(ring + at, &bytes[..first]);
        if first < bytes.len() {
            st.write(ring, &bytes[first..]);
        }
    }

    fn copy_out(&self, st: &Storage, idx: u32, pos: u64, out: &mut [u8]) {
        let ring = self.ring(idx);
        let at = (pos % PERF_RING_SIZE as u64) as usize;
        let first = out.len().min(PERF_RING_SIZE - at);
        st.read(ring + at, &mut out[..first]);
        if first < out.len() {
            st.read(ring, &mut out[first..]);
        }
    }

    /// Hand each record of slot `idx` to `f` in order and free its space; the number read.
    pub(crate) fn read(
        &self,
        st: &Storage,
        idx: u32,
        f: &mut dyn FnMut(&[u8]),
    ) -> Result<usize, MapError> {
        let c = self.ctrl(self.checked(idx)?);
        let mut records = Vec::new();
        {
            let _g = st.lock(c + C_LOCK);
            let head = st.get64(c + C_HEAD);
            let mut tail = st.get64(c + C_TAIL);
            if head.wrapping_sub(tail) > PERF_RING_SIZE as u64 {
                return Err(MapError::Corrupt("perf ring positions out of range"));
            }
            while tail < head {
                let mut hdr = [0u8; REC_HDR];
                self.copy_out(st, idx, tail, &mut hdr);
                let size = u32::from_ne_bytes([hdr[0], hdr[1], hdr[2], hdr[3]]) as usize;
                let len = (REC_HDR + round8(size)) as u64;
                if len > head - tail {
                    return Err(MapError::Corrupt(
                        "perf record crosses the producer position",
                    ));
                }
                let mut data = vec![0u8; size];
                self.copy_out(st, idx, tail + REC_HDR as u64, &mut data);
                records.push(data);
                tail += len;
            }
            st.set64(c + C_TAIL, tail);
        }
        for r in &records {
            f(r);
        }
        Ok(records.len())
    }

    /// Records lost in slot `idx` because its ring was full.
    pub(crate) fn lost(&self, st: &Storage, idx: u32) -> Result<u64, MapError> {
        let c = self.ctrl(self.checked(idx)?);
        Ok(st.get64(c + C_LOST))
    }

    /// Open slots.
    pub(crate) fn len(&self, st: &Storage) -> usize {
        (0..self.max_entries)
            .filter(|i| st.get32(self.ctrl(*i) + C_OPEN) != 0)
            .count()
    }
}
