//! `BPF_MAP_TYPE_QUEUE` (FIFO) and `BPF_MAP_TYPE_STACK` (LIFO).
//!
//! Takes a spec with `key_size == 0` and `value_size > 0`; gives push, pop and peek over a
//! ring of `max_entries + 1` slots (each value rounded up to 8) under the map lock. As in the
//! kernel: push on a full map is `E2BIG` unless `BPF_EXIST` is given, which overwrites the
//! oldest element; pop and peek on an empty map are `ENOENT`; `BPF_NOEXIST` is `EINVAL`.

use super::header::{Layout, HEADER_LEN, S_GLOBAL_LOCK, S_Q_HEAD, S_Q_TAIL};
use super::storage::Storage;
use super::types::*;
use super::{region_len, MapError};

/// A queue's or stack's layout.
#[derive(Clone, Copy, Debug)]
pub(crate) struct QueueMap {
    lifo: bool,
    value_size: usize,
    slot: usize,
    /// Ring slots: max_entries + 1.
    size: u32,
    max_entries: u32,
}

impl QueueMap {
    /// Check the spec as the kernel's `queue_stack_map_alloc_check` and lay out the region.
    pub(crate) fn new(spec: &MapSpec) -> Result<(QueueMap, Layout), MapError> {
        check_flags(spec, BPF_F_NUMA_NODE | BPF_F_ACCESS_MASK)?;
        if spec.max_entries == 0 || spec.key_size != 0 || spec.value_size == 0 {
            return Err(MapError::invalid(
                "queue and stack maps need key_size 0, value_size > 0 and max_entries > 0",
            ));
        }
        if spec.value_size as u64 >= (1 << 22) {
            return Err(MapError::TooLarge {
                reason: format!("value of {} bytes is too large", spec.value_size),
            });
        }
        let slot = round8(spec.value_size as usize);
        let size = spec.max_entries as u64 + 1;
        let total = region_len(HEADER_LEN as u64, slot as u64 * size)?;
        let q = QueueMap {
            lifo: spec.map_type == MapType::Stack,
            value_size: spec.value_size as usize,
            slot,
            size: size as u32,
            max_entries: spec.max_entries,
        };
        let layout = Layout {
            total_len: total,
            data_off: HEADER_LEN as u64,
            meta: [slot as u64, size, 0, 0, 0, 0, 0, 0],
        };
        Ok((q, layout))
    }

    fn off(&self, i: u32) -> usize {
        HEADER_LEN + i as usize * self.slot
    }

    fn positions(&self, st: &Storage) -> Result<(u32, u32), MapError> {
        let (head, tail) = (st.get32(S_Q_HEAD), st.get32(S_Q_TAIL));
        if head >= self.size || tail >= self.size {
            return Err(MapError::Corrupt("queue position out of range"));
        }
        Ok((head, tail))
    }

    /// Push `value`; `BPF_EXIST` overwrites the oldest element when full.
    pub(crate) fn push(&self, st: &Storage, value: &[u8], flags: u64) -> Result<(), MapError> {
        if flags & BPF_NOEXIST != 0 || flags > BPF_EXIST {
            return Err(MapError::BadUpdateFlags { flags });
        }
        if value.len() != self.value_size {
            return Err(MapError::WrongSize {
                what: "value",
                expected: self.value_size,
                got: value.len(),
            });
        }
        let _g = st.lock(S_GLOBAL_LOCK);
        let (head, mut tail) = self.positions(st)?;
        if (head + 1) % self.size == tail {
            if flags & BPF_EXIST == 0 {
                return Err(MapError::Full {
                    max_entries: self.max_entries,
                });
            }
            tail = (tail + 1) % self.size;
            st.set32(S_Q_TAIL, tail);
        }
        st.write(self.off(head), value);
        st.set32(S_Q_HEAD, (head + 1) % self.size);
        Ok(())
    }

    /// Copy the next element out (queue: oldest; stack: newest); remove it with `delete`.
    pub(crate) fn pop(&self, st: &Storage, out: &mut [u8], delete: bool) -> Result<(), MapError> {
        if out.len() != self.value_size {
            return Err(MapError::WrongSize {
                what: "value",
                expected: self.value_size,
                got: out.len(),
            });
        }
        let _g = st.lock(S_GLOBAL_LOCK);
        let (head, tail) = self.positions(st)?;
        if head == tail {
            return Err(MapError::NotFound);
        }
        if self.lifo {
            let i = (head + self.size - 1) % self.size;
            st.read(self.off(i), out);
            if delete {
                st.set32(S_Q_HEAD, i);
            }
        } else {
            st.read(self.off(tail), out);
            if delete {
                st.set32(S_Q_TAIL, (tail + 1) % self.size);
            }
        }
        Ok(())
    }

    /// Value size in bytes.
    pub(crate) fn value_size(&self) -> usize {
        self.value_size
    }

    /// Elements held.
    pub(crate) fn len(&self, st: &Storage) -> u32 {
        let _g = st.lock(S_GLOBAL_LOCK);
        match self.positions(st) {
            Ok((head, tail)) => (head + self.size - tail) % self.size,
            Err(_) => 0,
        }
    }
}
