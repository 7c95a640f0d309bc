//! The packet helpers of XDP and socket-buffer programs, with the kernel's semantics.
//!
//! Takes a [`Helpers`] registry and a [`ProgType`]; [`register_packet_helpers`] adds the
//! helpers that type offers: for XDP `bpf_xdp_adjust_head` (44), `bpf_xdp_adjust_meta` (54),
//! `bpf_xdp_adjust_tail` (65), `bpf_xdp_load_bytes` (189), `bpf_xdp_store_bytes` (190) and
//! `bpf_redirect` (23, the XDP flavour); for tc
//! `bpf_skb_load_bytes` (26), `bpf_skb_store_bytes` (9), `bpf_l3_csum_replace` (10),
//! `bpf_l4_csum_replace` (11) and `bpf_redirect` (23, the skb flavour); for socket filters
//! and cgroup_skb `bpf_skb_load_bytes`; for tc and cgroup_skb the socket casts
//! `bpf_sk_fullsock` (95) and `bpf_tcp_sock` (96), which give NULL: user space has no
//! socket. (`bpf_csum_diff` is in [`kernel_helpers`](crate::kernel_helpers).)
//!
//! Each helper finds the packet through the runtime context `r1` points to and touches
//! memory only through the run's [`MemoryMap`](crate::MemoryMap). Failures return the
//! kernel's negative errno. `bpf_redirect` records its target per thread, as the kernel
//! records it per CPU (`bpf_redirect_info`); [`take_redirect`] reads and clears it.
//! `bpf_redirect_map` (51), which needs the instance's maps, is registered by the instance
//! and records its target here through [`xdp_redirect_map`].

use std::cell::Cell;

use super::{csum, skb, xdp, ProgType};
use crate::helpers::{HelperContext, Helpers};
use crate::maps::MapType;

const EINVAL: u64 = (-22i64) as u64;
const EFAULT: u64 = (-14i64) as u64;
const EACCES: u64 = (-13i64) as u64;
const ETH_HLEN: i64 = 14;

/// `TC_ACT_SHOT`.
pub const TC_ACT_SHOT: u64 = 2;
/// `TC_ACT_REDIRECT`.
pub const TC_ACT_REDIRECT: u64 = 7;
/// `BPF_F_INGRESS`.
pub const BPF_F_INGRESS: u64 = 1;

/// `BPF_F_BROADCAST` (`bpf_redirect_map` on a devmap: every entry).
pub const BPF_F_BROADCAST: u64 = 1 << 3;
/// `BPF_F_EXCLUDE_INGRESS` (with `BPF_F_BROADCAST`: not the receiving interface).
pub const BPF_F_EXCLUDE_INGRESS: u64 = 1 << 4;

/// Where `bpf_redirect` or `bpf_redirect_map` asked the packet to go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Redirect {
    /// Target interface index (`bpf_redirect`, or the devmap entry's ifindex; 0 for a
    /// cpumap, an xskmap or a broadcast).
    pub ifindex: u32,
    /// Flags (`BPF_F_INGRESS` for the skb flavour; `BPF_F_BROADCAST` and
    /// `BPF_F_EXCLUDE_INGRESS` for a devmap broadcast, else 0).
    pub flags: u64,
    /// The map `bpf_redirect_map` used, if it was that helper.
    pub map: Option<RedirectMap>,
}

/// The map entry a `bpf_redirect_map` went through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RedirectMap {
    /// Devmap, devmap_hash, cpumap or xskmap.
    pub map_type: MapType,
    /// The key (a devmap index or key, a CPU, an AF_XDP queue).
    pub key: u32,
}

thread_local! {
    static REDIRECT: Cell<Option<Redirect>> = const { Cell::new(None) };
}

/// The redirect the last program run on this thread requested, cleared.
pub fn take_redirect() -> Option<Redirect> {
    REDIRECT.with(|r| r.take())
}

/// Register the packet helpers `prog_type` may call (see the module documentation).
pub fn register_packet_helpers(helpers: &mut Helpers, prog_type: ProgType) {
    match prog_type {
        ProgType::Xdp => {
            helpers.register(44, "bpf_xdp_adjust_head", xdp_adjust_head);
            helpers.register(54, "bpf_xdp_adjust_meta", xdp_adjust_meta);
            helpers.register(65, "bpf_xdp_adjust_tail", xdp_adjust_tail);
            helpers.register(189, "bpf_xdp_load_bytes", |c, a| xdp_bytes(c, a, false));
            helpers.register(190, "bpf_xdp_store_bytes", |c, a| xdp_bytes(c, a, true));
            helpers.register(23, "bpf_redirect", |_, a| {
                if a[1] != 0 {
                    return Ok(xdp::XDP_ABORTED);
                }
                set_redirect(a[0] as u32, 0);
                Ok(xdp::XDP_REDIRECT)
            });
        }
        ProgType::SchedCls | ProgType::SchedAct => {
            helpers.register(26, "bpf_skb_load_bytes", skb_load_bytes);
            helpers.register(9, "bpf_skb_store_bytes", skb_store_bytes);
            helpers.register(10, "bpf_l3_csum_replace", |c, a| csum_replace(c, a, false));
            helpers.register(11, "bpf_l4_csum_replace", |c, a| csum_replace(c, a, true));
            helpers.register(23, "bpf_redirect", |_, a| {
                if a[1] & !BPF_F_INGRESS != 0 {
                    return Ok(TC_ACT_SHOT);
                }
                set_redirect(a[0] as u32, a[1]);
                Ok(TC_ACT_REDIRECT)
            });
            register_socket_casts(helpers);
        }
        ProgType::CgroupSkb => {
            helpers.register(26, "bpf_skb_load_bytes", skb_load_bytes);
            register_socket_casts(helpers);
        }
        ProgType::SocketFilter => {
            helpers.register(26, "bpf_skb_load_bytes", skb_load_bytes);
        }
        _ => {}
    }
}

/// `bpf_sk_fullsock` (95) and `bpf_tcp_sock` (96): casts of a socket the program holds.
/// User space has no socket (`__sk_buff.sk` reads NULL, no lookup helper gives one), so the
/// verifier's non-NULL socket argument is never met at run time; were one passed, the
/// answer is NULL, "not a full socket", which programs must handle.
fn register_socket_casts(helpers: &mut Helpers) {
    helpers.register(95, "bpf_sk_fullsock", |_, _| Ok(0));
    helpers.register(96, "bpf_tcp_sock", |_, _| Ok(0));
}

fn set_redirect(ifindex: u32, flags: u64) {
    REDIRECT.with(|r| {
        r.set(Some(Redirect {
            ifindex,
            flags,
            map: None,
        }))
    });
}

/// `bpf_redirect_map` in an XDP program, as the kernel's `__bpf_xdp_redirect_map`:
/// flags beyond the fallback action (low 2 bits) and, for devmaps, `BPF_F_BROADCAST |
/// BPF_F_EXCLUDE_INGRESS` give `XDP_ABORTED`; `target` looks the key (truncated to 32 bits)
/// up. A miss without `BPF_F_BROADCAST` clears the recorded redirect and returns the
/// fallback action `flags & 3`; otherwise the target is recorded and the result is
/// `XDP_REDIRECT`.
pub(crate) fn xdp_redirect_map(
    map_type: MapType,
    key: u64,
    flags: u64,
    target: impl FnOnce(u32) -> Option<u32>,
) -> u64 {
    const ACTION_MASK: u64 = 3; // XDP_ABORTED | XDP_DROP | XDP_PASS | XDP_TX
    let flag_mask = match map_type {
        MapType::Devmap | MapType::DevmapHash => BPF_F_BROADCAST | BPF_F_EXCLUDE_INGRESS,
        _ => 0,
    };
    if flags & !(ACTION_MASK | flag_mask) != 0 {
        return xdp::XDP_ABORTED;
    }
    let key = key as u32;
    let found = target(key);
    let broadcast = flags & BPF_F_BROADCAST != 0;
    if found.is_none() && !broadcast {
        REDIRECT.with(|r| r.set(None));
        return flags & ACTION_MASK;
    }
    let ifindex = match map_type {
        MapType::Devmap | MapType::DevmapHash if !broadcast => found.unwrap_or(0),
        _ => 0,
    };
    REDIRECT.with(|r| {
        r.set(Some(Redirect {
            ifindex,
            flags: if broadcast { flags } else { 0 },
            map: Some(RedirectMap { map_type, key }),
        }))
    });
    xdp::XDP_REDIRECT
}

fn read_u64(c: &HelperContext<'_, '_>, addr: u64) -> Result<u64, String> {
    let b = c
        .memory
        .read_bytes(addr, 8)
        .map_err(|e| format!("context: {e}"))?;
    Ok(u64::from_le_bytes(b.try_into().expect("8 bytes")))
}

fn write_u64(c: &HelperContext<'_, '_>, addr: u64, v: u64) -> Result<(), String> {
    c.memory
        .write_bytes(addr, &v.to_le_bytes())
        .map_err(|e| format!("context: {e}"))
}

/// The pointer part of an XDP runtime context.
struct XdpPtrs {
    data: u64,
    data_end: u64,
    data_meta: u64,
    hard_start: u64,
    frame_sz: u64,
}

fn xdp_read(c: &HelperContext<'_, '_>, ctx: u64) -> Result<XdpPtrs, String> {
    let at = |off: usize| read_u64(c, ctx.wrapping_add(off as u64));
    Ok(XdpPtrs {
        data: at(xdp::RT_DATA)?,
        data_end: at(xdp::RT_DATA_END)?,
        data_meta: at(xdp::RT_DATA_META)?,
        hard_start: at(xdp::RT_HARD_START)?,
        frame_sz: at(xdp::RT_FRAME_SZ)?,
    })
}

fn xdp_adjust_head(c: &mut HelperContext<'_, '_>, a: [u64; 5]) -> Result<u64, String> {
    let ctx = a[0];
    let offset = a[1] as u32 as i32 as i64;
    let p = xdp_read(c, ctx)?;
    let frame_end = p.hard_start as i64 + xdp::XDP_FRAME_SIZE as i64;
    let metalen = p.data as i64 - p.data_meta as i64;
    let data_start = frame_end + metalen;
    let data = p.data as i64 + offset;
    if data < data_start || data > p.data_end as i64 - ETH_HLEN {
        return Ok(EINVAL);
    }
    if metalen > 0 {
        let meta = c.memory.read_bytes(p.data_meta, metalen as usize)?;
        c.memory
            .write_bytes((p.data_meta as i64 + offset) as u64, &meta)?;
    }
    write_u64(
        c,
        ctx + xdp::RT_DATA_META as u64,
        (p.data_meta as i64 + offset) as u64,
    )?;
    write_u64(c, ctx + xdp::RT_DATA as u64, data as u64)?;
    Ok(0)
}

fn xdp_adjust_meta(c: &mut HelperContext<'_, '_>, a: [u64; 5]) -> Result<u64, String> {
    let ctx = a[0];
    let offset = a[1] as u32 as i32 as i64;
    let p = xdp_read(c, ctx)?;
    let frame_end = p.hard_start as i64 + xdp::XDP_FRAME_SIZE as i64;
    let meta = p.data_meta as i64 + offset;
    if meta < frame_end || meta > p.data as i64 {
        return Ok(EINVAL);
    }
    let metalen = (p.data as i64 - meta) as u64;
    if !metalen.is_multiple_of(4) || metalen > xdp::MAX_META_LEN {
        return Ok(EACCES);
    }
    write_u64(c, ctx + xdp::RT_DATA_META as u64, meta as u64)?;
    Ok(0)
}

fn xdp_adjust_tail(c: &mut HelperContext<'_, '_>, a: [u64; 5]) -> Result<u64, String> {
    let ctx = a[0];
    let offset = a[1] as u32 as i32 as i64;
    let p = xdp_read(c, ctx)?;
    let hard_end = (p.hard_start + p.frame_sz) as i64 - xdp::SHARED_INFO_SIZE as i64;
    let data_end = p.data_end as i64 + offset;
    if data_end > hard_end || data_end < p.data as i64 + ETH_HLEN {
        return Ok(EINVAL);
    }
    if offset > 0 {
        c.memory
            .write_bytes(p.data_end, &vec![0u8; offset as usize])?;
    }
    write_u64(c, ctx + xdp::RT_DATA_END as u64, data_end as u64)?;
    Ok(0)
}

/// `bpf_xdp_load_bytes` (189) and `bpf_xdp_store_bytes` (190), as the kernel's
/// `bpf_xdp_pointer` checks them: offset or length above 0xffff is `-EFAULT`, a range
/// beyond the packet (from `data`; the frame is linear here) is `-EINVAL`; on error the
/// buffer is left as it was.
fn xdp_bytes(c: &mut HelperContext<'_, '_>, a: [u64; 5], store: bool) -> Result<u64, String> {
    let (ctx, offset, buf, len) = (a[0], a[1] as u32 as u64, a[2], a[3] as u32 as u64);
    if offset > 0xffff || len > 0xffff {
        return Ok(EFAULT);
    }
    let p = xdp_read(c, ctx)?;
    if offset + len > p.data_end.saturating_sub(p.data) {
        return Ok(EINVAL);
    }
    let (from, to) = if store {
        (buf, p.data + offset)
    } else {
        (p.data + offset, buf)
    };
    let bytes = c.memory.read_bytes(from, len as usize)?;
    c.memory.write_bytes(to, &bytes)?;
    Ok(0)
}

/// `(skb->data, skb->len)` from a runtime `__sk_buff`.
fn skb_read(c: &HelperContext<'_, '_>, ctx: u64) -> Result<(u64, u64), String> {
    let len = c
        .memory
        .read_bytes(ctx.wrapping_add(skb::LEN as u64), 4)
        .map_err(|e| format!("context: {e}"))?;
    let len = u32::from_le_bytes(len.try_into().expect("4 bytes")) as u64;
    Ok((read_u64(c, ctx.wrapping_add(skb::RT_DATA as u64))?, len))
}

fn skb_load_bytes(c: &mut HelperContext<'_, '_>, a: [u64; 5]) -> Result<u64, String> {
    let (ctx, offset, to, len) = (a[0], a[1] as u32 as u64, a[2], a[3] as u32 as usize);
    let (data, skb_len) = skb_read(c, ctx)?;
    if offset > i32::MAX as u64 || offset + len as u64 > skb_len {
        c.memory.write_bytes(to, &vec![0u8; len])?;
        return Ok(EFAULT);
    }
    let bytes = c.memory.read_bytes(data + offset, len)?;
    c.memory.write_bytes(to, &bytes)?;
    Ok(0)
}

fn skb_store_bytes(c: &mut HelperContext<'_, '_>, a: [u64; 5]) -> Result<u64, String> {
    let (ctx, offset, from, len, flags) = (a[0], a[1] as u32 as u64, a[2], a[3] as u32, a[4]);
    // BPF_F_RECOMPUTE_CSUM | BPF_F_INVALIDATE_HASH
    if flags & !3 != 0 {
        return Ok(EINVAL);
    }
    let (data, skb_len) = skb_read(c, ctx)?;
    if offset > i32::MAX as u64 || offset + len as u64 > skb_len {
        return Ok(EFAULT);
    }
    let bytes = c.memory.read_bytes(from, len as usize)?;
    c.memory.write_bytes(data + offset, &bytes)?;
    Ok(0)
}

fn csum_replace(c: &mut HelperContext<'_, '_>, a: [u64; 5], l4: bool) -> Result<u64, String> {
    const HDR_FIELD_MASK: u64 = 0xf;
    const PSEUDO_HDR: u64 = 1 << 4;
    const MARK_MANGLED_0: u64 = 1 << 5;
    const MARK_ENFORCE: u64 = 1 << 6;
    const IPV6: u64 = 1 << 7;
    let (ctx, offset, from, to, flags) = (a[0], a[1] as u32 as u64, a[2], a[3], a[4]);
    let allowed = if l4 {
        MARK_MANGLED_0 | MARK_ENFORCE | PSEUDO_HDR | HDR_FIELD_MASK | IPV6
    } else {
        HDR_FIELD_MASK
    };
    if flags & !allowed != 0 {
        return Ok(EINVAL);
    }
    if offset > 0xffff || offset & 1 != 0 {
        return Ok(EFAULT);
    }
    let (data, skb_len) = skb_read(c, ctx)?;
    if offset + 2 > skb_len {
        return Ok(EFAULT);
    }
    let at = data + offset;
    let old = c.memory.read_bytes(at, 2)?;
    let sum = u16::from_le_bytes([old[0], old[1]]);
    let mmzero = l4 && flags & MARK_MANGLED_0 != 0;
    if mmzero && flags & MARK_ENFORCE == 0 && sum == 0 {
        return Ok(0);
    }
    let mut new = match flags & HDR_FIELD_MASK {
        0 => {
            if from != 0 {
                return Ok(EINVAL);
            }
            csum::replace_by_diff(sum, to as u32)
        }
        2 => csum::replace2(sum, from as u16, to as u16),
        4 => csum::replace4(sum, from as u32, to as u32),
        _ => return Ok(EINVAL),
    };
    if mmzero && new == 0 {
        new = 0xffff; // CSUM_MANGLED_0
    }
    c.memory.write_bytes(at, &new.to_le_bytes())?;
    Ok(0)
}
