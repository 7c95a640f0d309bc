//! `BPF_MAP_TYPE_RINGBUF`: a multi-producer, single-consumer byte ring.
//!
//! Takes a spec with `key_size == 0`, `value_size == 0` and `max_entries` a power of two and
//! a multiple of 4096 (the data size); gives program-side reserve / submit / discard / output
//! / query and a user-space consumer. The region holds the producer and consumer positions in
//! the header and the data from offset 4096. Records are as the kernel's: an 8-byte header
//! `{len u32 with BUSY (bit 31) and DISCARD (bit 30), pg_off u32}` then the sample, padded to 8.
//! The kernel maps the data twice so records can wrap; here a record that would wrap is
//! preceded by a discarded padding record up to the end of the ring, so every sample is
//! contiguous. Producers serialise on the map lock; submission clears BUSY atomically.

use std::sync::atomic::Ordering;

use super::header::{Layout, S_CONS_LOCK, S_CONS_POS, S_GLOBAL_LOCK, S_PROD_POS};
use super::storage::Storage;
use super::types::*;
use super::{region_len, MapError};

/// Record header bit: not yet submitted.
pub const BPF_RINGBUF_BUSY_BIT: u32 = 1 << 31;
/// Record header bit: discarded.
pub const BPF_RINGBUF_DISCARD_BIT: u32 = 1 << 30;
/// Record header size.
pub const BPF_RINGBUF_HDR_SZ: usize = 8;
/// Submit/output flag: do not wake the consumer.
pub const BPF_RB_NO_WAKEUP: u64 = 1;
/// Submit/output flag: wake the consumer.
pub const BPF_RB_FORCE_WAKEUP: u64 = 2;
/// Query: bytes not yet consumed.
pub const BPF_RB_AVAIL_DATA: u64 = 0;
/// Query: data size.
pub const BPF_RB_RING_SIZE: u64 = 1;
/// Query: consumer position.
pub const BPF_RB_CONS_POS: u64 = 2;
/// Query: producer position.
pub const BPF_RB_PROD_POS: u64 = 3;

const DATA_OFF: usize = 4096;

/// A ring buffer's layout.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RingBuf {
    size: u64,
}

impl RingBuf {
    /// Check the spec as the kernel's `ringbuf_map_alloc` and lay out the region.
    pub(crate) fn new(spec: &MapSpec) -> Result<(RingBuf, Layout), MapError> {
        check_flags(spec, BPF_F_NUMA_NODE)?;
        let m = spec.max_entries;
        if spec.key_size != 0
            || spec.value_size != 0
            || !m.is_power_of_two()
            || !m.is_multiple_of(4096)
        {
            return Err(MapError::invalid(
                "ring buffers need key_size 0, value_size 0 and max_entries a power of two multiple of 4096",
            ));
        }
        let total = region_len(DATA_OFF as u64, m as u64)?;
        let layout = Layout {
            total_len: total,
            data_off: DATA_OFF as u64,
            meta: [m as u64, 0, 0, 0, 0, 0, 0, 0],
        };
        Ok((RingBuf { size: m as u64 }, layout))
    }

    fn hdr(&self, pos: u64) -> usize {
        DATA_OFF + (pos & (self.size - 1)) as usize
    }

    /// Reserve `size` bytes; returns the sample's address.
    pub(crate) fn reserve(&self, st: &Storage, size: u64, flags: u64) -> Result<u64, MapError> {
        if flags != 0 {
            return Err(MapError::BadUpdateFlags { flags });
        }
        let rec = round8(size as usize + BPF_RINGBUF_HDR_SZ) as u64;
        if size >= (1 << 30) || rec > self.size {
            return Err(MapError::NoRoom);
        }
        let _g = st.lock(S_GLOBAL_LOCK);
        let cons = st.u64_at(S_CONS_POS).load(Ordering::Acquire);
        let mut prod = st.u64_at(S_PROD_POS).load(Ordering::Relaxed);
        let off = prod & (self.size - 1);
        let pad = if off + rec > self.size {
            self.size - off
        } else {
            0
        };
        if (prod + pad + rec).wrapping_sub(cons) > self.size {
            return Err(MapError::NoRoom);
        }
        if pad > 0 {
            let h = self.hdr(prod);
            st.set32(h + 4, 0);
            st.u32_at(h).store(
                (pad as u32 - BPF_RINGBUF_HDR_SZ as u32) | BPF_RINGBUF_DISCARD_BIT,
                Ordering::Release,
            );
            prod += pad;
        }
        let h = self.hdr(prod);
        st.set32(h + 4, (h - DATA_OFF) as u32);
        st.u32_at(h)
            .store(size as u32 | BPF_RINGBUF_BUSY_BIT, Ordering::Release);
        st.u64_at(S_PROD_POS).store(prod + rec, Ordering::Release);
        Ok(st.addr(h + BPF_RINGBUF_HDR_SZ))
    }

    /// Commit (or discard) the sample at `addr` returned by [`RingBuf::reserve`].
    pub(crate) fn commit(
        &self,
        st: &Storage,
        addr: u64,
        discard: bool,
        flags: u64,
    ) -> Result<(), MapError> {
        if flags & !(BPF_RB_NO_WAKEUP | BPF_RB_FORCE_WAKEUP) != 0 {
            return Err(MapError::BadUpdateFlags { flags });
        }
        let bad = || MapError::invalid(format!("0x{addr:x} is not a reserved ring buffer sample"));
        let h = addr
            .checked_sub(BPF_RINGBUF_HDR_SZ as u64)
            .and_then(|a| st.offset_of(a, BPF_RINGBUF_HDR_SZ))
            .ok_or_else(bad)?;
        if h < DATA_OFF || !(h - DATA_OFF).is_multiple_of(8) {
            return Err(bad());
        }
        let word = st.u32_at(h);
        let v = word.load(Ordering::Acquire);
        if v & BPF_RINGBUF_BUSY_BIT == 0 {
            return Err(bad());
        }
        let mut new = v & !BPF_RINGBUF_BUSY_BIT;
        if discard {
            new |= BPF_RINGBUF_DISCARD_BIT;
        }
        word.store(new, Ordering::Release);
        Ok(())
    }

    /// Copy `data` in as one sample.
    pub(crate) fn output(&self, st: &Storage, data: &[u8], flags: u64) -> Result<(), MapError> {
        if flags & !(BPF_RB_NO_WAKEUP | BPF_RB_FORCE_WAKEUP) != 0 {
            return Err(MapError::BadUpdateFlags { flags });
        }
        let addr = self.reserve(st, data.len() as u64, 0)?;
        let off = st
            .offset_of(addr, data.len())
            .ok_or(MapError::Corrupt("reserved sample outside the region"))?;
        st.write(off, data);
        self.commit(st, addr, false, flags)
    }

    /// `bpf_ringbuf_query`.
    pub(crate) fn query(&self, st: &Storage, flags: u64) -> u64 {
        let cons = st.u64_at(S_CONS_POS).load(Ordering::Acquire);
        let prod = st.u64_at(S_PROD_POS).load(Ordering::Acquire);
        match flags {
            BPF_RB_AVAIL_DATA => prod.wrapping_sub(cons),
            BPF_RB_RING_SIZE => self.size,
            BPF_RB_CONS_POS => cons,
            BPF_RB_PROD_POS => prod,
            _ => 0,
        }
    }

    /// Hand every submitted sample to `f`, in order, and release its space. Stops at the
    /// first sample still being written. Returns the number of samples handed out.
    pub(crate) fn consume(
        &self,
        st: &Storage,
        f: &mut dyn FnMut(&[u8]),
    ) -> Result<usize, MapError> {
        let _g = st.lock(S_CONS_LOCK);
        let mut cons = st.u64_at(S_CONS_POS).load(Ordering::Relaxed);
        let prod = st.u64_at(S_PROD_POS).load(Ordering::Acquire);
        let mut n = 0;
        let mut buf = Vec::new();
        while cons < prod {
            let h = self.hdr(cons);
            let v = st.u32_at(h).load(Ordering::Acquire);
            if v & BPF_RINGBUF_BUSY_BIT != 0 {
                break;
            }
            let len = (v & !(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT)) as usize;
            let rec = round8(len + BPF_RINGBUF_HDR_SZ) as u64;
            if (h - DATA_OFF) as u64 + rec > self.size {
                return Err(MapError::Corrupt("ring buffer record crosses the end"));
            }
            if v & BPF_RINGBUF_DISCARD_BIT == 0 {
                buf.resize(len, 0);
                st.read(h + BPF_RINGBUF_HDR_SZ, &mut buf);
                f(&buf);
                n += 1;
            }
            cons += rec;
            st.u64_at(S_CONS_POS).store(cons, Ordering::Release);
        }
        Ok(n)
    }
}
