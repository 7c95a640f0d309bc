//! `BPF_PROG_TEST_RUN` semantics per program type, as `net/bpf/test_run.c` implements them.
//!
//! Takes a prepared program (any [`Executable`] whose context accesses were rewritten by
//! [`rewrite_context_accesses`](super::rewrite_context_accesses)), its [`ProgType`], its
//! [`CtxAccessFacts`] and a [`TestRunInput`]; builds the context and packet the kernel would
//! build, runs the program `repeat` times on them, and gives a [`TestRunOutput`]: retval,
//! packet out, context out, mean duration, and a `bpf_redirect` target if one was set.
//!
//! - **xdp** (`bpf_prog_test_run_xdp`): the packet sits in a 4096-byte frame after
//!   `XDP_PACKET_HEADROOM` (256) bytes, with 320 bytes of tailroom, so the
//!   `bpf_xdp_adjust_*` helpers work; `ctx_in` (`xdp_md`) may give `data` (metadata length:
//!   the first bytes of `data_in` are metadata), `data_end`, `ingress_ifindex` and
//!   `rx_queue_index`; `data_meta` and `egress_ifindex` must be 0. `data_out` is
//!   `[data_meta, data_end)`: metadata included. Without `ctx_in` the program sees the
//!   loopback device (ifindex 1), queue 0.
//! - **socket_filter, sched_cls/act, cgroup_skb** (`bpf_prog_test_run_skb`): `data_in` is
//!   an Ethernet frame (at least 14 bytes); the protocol comes from its Ethernet type, the
//!   packet type from its destination MAC (`eth_type_trans` on the loopback device, or on
//!   the device `ctx_in.ifindex` names); IPv4 and IPv6 packets need a whole IP header.
//!   tc programs see the packet from the MAC header (writable); socket filters and
//!   cgroup_skb programs from the network header (read-only), and their `data_out` starts
//!   with 14 zero bytes where the kernel pushes back a zeroed MAC header. `ctx_in`
//!   (`__sk_buff`) may set only mark, priority, ingress_ifindex, ifindex, cb, tstamp,
//!   wire_len, gso_segs, gso_size, hwtstamp (and data_end); anything else is `EINVAL`.
//! - **tracepoint, raw_tracepoint, kprobe, perf_event**: the context is `ctx_in`
//!   (`pt_regs` and `bpf_perf_event_data` zero-padded to their size; raw tracepoints at most
//!   12 arguments and at least as long as the program reads, as the kernel checks).
//!
//! Contexts are registered read-only except the fields the type may write (and, for XDP,
//! the pointers the adjust helpers move). Packets larger than the kernel's linear area
//! (multi-buffer XDP, non-linear skbs) are refused with [`TestRunError::Unsupported`].

use std::time::{Duration, Instant};

use thiserror::Error;

use super::packet_helpers::{take_redirect, Redirect};
use super::provenance::CtxAccessFacts;
use super::{get_u32, get_u64, put_u32, skb, tracing, xdp, ProgType};
use crate::engine::Executable;
use crate::error::Trap;
use crate::memory::{MemoryMap, RegionKind};

const EINVAL: i32 = 22;
const E2BIG: i32 = 7;
const ENODEV: i32 = 19;
const ETH_HLEN: usize = 14;
/// `NET_SKB_PAD + NET_IP_ALIGN` on x86-64: headroom of test-run skbs.
pub const SKB_HEADROOM: usize = 64;
/// `GSO_LEGACY_MAX_SIZE`.
const GSO_LEGACY_MAX_SIZE: u32 = 65536;
/// `GSO_MAX_SEGS`.
const GSO_MAX_SEGS: u32 = 65535;

/// Inputs of one test run.
#[derive(Clone, Copy, Debug, Default)]
pub struct TestRunInput<'a> {
    /// Packet data (`data_in`), empty for tracing types.
    pub data_in: &'a [u8],
    /// Context (`ctx_in`): `xdp_md`, `__sk_buff`, or the tracing context's bytes.
    pub ctx_in: Option<&'a [u8]>,
    /// Runs (0 counts as 1); the program runs on the same packet and context each time.
    pub repeat: u32,
}

/// Results of one test run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TestRunOutput {
    /// The return value as the kernel reports it (low 32 bits of r0).
    pub retval: u32,
    /// The full r0 of the last run.
    pub r0: u64,
    /// The packet after the runs (empty for tracing types).
    pub data_out: Vec<u8>,
    /// The context after the runs, in the UAPI layout (`xdp_md` or `__sk_buff`; empty for
    /// tracing types).
    pub ctx_out: Vec<u8>,
    /// Mean duration per run.
    pub duration: Duration,
    /// Number of runs.
    pub repeat: u32,
    /// Target of `bpf_redirect` in the last run, if it was called.
    pub redirect: Option<Redirect>,
}

/// Why a test run did not happen or did not finish.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum TestRunError {
    /// The kernel would refuse these inputs with this errno.
    #[error("BPF_PROG_TEST_RUN: {reason} ({})", std::io::Error::from_raw_os_error(*errno))]
    Invalid {
        /// The errno the kernel returns.
        errno: i32,
        /// What is wrong.
        reason: String,
    },
    /// Inputs the kernel accepts but user space cannot model.
    #[error("BPF_PROG_TEST_RUN: {0}")]
    Unsupported(String),
    /// The program trapped.
    #[error(transparent)]
    Trap(#[from] Trap),
}

fn invalid(errno: i32, reason: impl Into<String>) -> TestRunError {
    TestRunError::Invalid {
        errno,
        reason: reason.into(),
    }
}

/// Run `exe` as a `prog_type` program on `input` with `BPF_PROG_TEST_RUN` semantics.
///
/// # Errors
/// [`TestRunError::Invalid`] with the kernel's errno for inputs it refuses,
/// [`TestRunError::Unsupported`] for inputs user space cannot model, or the program's trap.
pub fn test_run_program<E: Executable + ?Sized>(
    exe: &E,
    prog_type: ProgType,
    facts: &CtxAccessFacts,
    input: &TestRunInput<'_>,
) -> Result<TestRunOutput, TestRunError> {
    test_run_program_with(exe, prog_type, facts, input, &mut |_| {})
}

/// [`test_run_program`], calling `setup` with the run's memory map after the context and
/// packet are registered (to add map regions, for example).
///
/// # Errors
/// As [`test_run_program`].
pub fn test_run_program_with<E: Executable + ?Sized>(
    exe: &E,
    prog_type: ProgType,
    facts: &CtxAccessFacts,
    input: &TestRunInput<'_>,
    setup: &mut dyn FnMut(&mut MemoryMap<'_>),
) -> Result<TestRunOutput, TestRunError> {
    match prog_type {
        ProgType::Xdp => run_xdp(exe, input, setup),
        t if t.is_skb() => run_skb(exe, t, input, setup),
        t => run_tracing(exe, t, facts, input, setup),
    }
}

/// `bpf_ctx_init`: the context from `ctx_in`, zero-padded to `max`; bytes beyond `max` must
/// be zero.
fn ctx_init(ctx_in: Option<&[u8]>, max: usize) -> Result<Option<Vec<u8>>, TestRunError> {
    let Some(c) = ctx_in else { return Ok(None) };
    if c.len() > max && c[max..].iter().any(|&b| b != 0) {
        return Err(invalid(
            E2BIG,
            format!("ctx_in has non-zero bytes beyond {max}"),
        ));
    }
    let mut v = vec![0u8; max];
    let n = c.len().min(max);
    v[..n].copy_from_slice(&c[..n]);
    Ok(Some(v))
}

/// Register a context buffer as regions: runs of bytes with the same writability.
fn add_ctx<'a>(memory: &mut MemoryMap<'a>, mut buf: &'a mut [u8], writable: &[bool]) -> u64 {
    let start = buf.as_ptr() as u64;
    let mut i = 0;
    while !buf.is_empty() {
        let w = writable.get(i).copied().unwrap_or(false);
        let run = (i..i + buf.len())
            .take_while(|&j| writable.get(j).copied().unwrap_or(false) == w)
            .count();
        let (head, tail) = buf.split_at_mut(run);
        if w {
            memory.add_mut(head, RegionKind::Context);
        } else {
            memory.add_ref(head, RegionKind::Context);
        }
        buf = tail;
        i += run;
    }
    start
}

fn run_repeat<E: Executable + ?Sized>(
    exe: &E,
    r1: u64,
    memory: &mut MemoryMap<'_>,
    repeat: u32,
) -> Result<(u64, Duration, Option<Redirect>), Trap> {
    let repeat = repeat.max(1);
    take_redirect();
    let start = Instant::now();
    let mut r0 = 0;
    for _ in 0..repeat {
        r0 = exe.run(&[r1], memory)?;
    }
    Ok((r0, start.elapsed() / repeat, take_redirect()))
}

/// A network device of this host, by ifindex, from sysfs.
#[derive(Clone)]
struct Device {
    mac: [u8; 6],
    broadcast: [u8; 6],
    rx_queues: u32,
}

thread_local! {
    /// The XDP frame of the last run on this thread, for reuse.
    static FRAME: std::cell::Cell<Vec<u8>> = const { std::cell::Cell::new(Vec::new()) };
}

/// How long a device looked up in sysfs is remembered.
const DEVICE_CACHE_TTL: Duration = Duration::from_secs(1);

/// [`device_uncached`], remembered for [`DEVICE_CACHE_TTL`] (runs on packet after packet
/// with the same `ctx_in` would otherwise scan `/sys/class/net` every time).
fn device(ifindex: u32) -> Option<Device> {
    use std::collections::HashMap;
    use std::sync::Mutex;
    type Cache = HashMap<u32, (Instant, Option<Device>)>;
    static CACHE: Mutex<Option<Cache>> = Mutex::new(None);
    let now = Instant::now();
    if let Ok(mut cache) = CACHE.lock() {
        let map = cache.get_or_insert_with(HashMap::new);
        if let Some((at, dev)) = map.get(&ifindex) {
            if now.duration_since(*at) < DEVICE_CACHE_TTL {
                return dev.clone();
            }
        }
        let dev = device_uncached(ifindex);
        map.insert(ifindex, (now, dev.clone()));
        return dev;
    }
    device_uncached(ifindex)
}

fn device_uncached(ifindex: u32) -> Option<Device> {
    for entry in std::fs::read_dir("/sys/class/net").ok()?.flatten() {
        let dir = entry.path();
        let idx = std::fs::read_to_string(dir.join("ifindex")).ok()?;
        if idx.trim().parse::<u32>().ok() != Some(ifindex) {
            continue;
        }
        let read_mac = |file: &str| {
            let mut mac = [0u8; 6];
            if let Ok(text) = std::fs::read_to_string(dir.join(file)) {
                for (m, part) in mac.iter_mut().zip(text.trim().split(':')) {
                    *m = u8::from_str_radix(part, 16).unwrap_or(0);
                }
            }
            mac
        };
        let (mac, broadcast) = (read_mac("address"), read_mac("broadcast"));
        let rx_queues = std::fs::read_dir(dir.join("queues"))
            .map(|d| {
                d.flatten()
                    .filter(|e| e.file_name().to_string_lossy().starts_with("rx-"))
                    .count() as u32
            })
            .unwrap_or(1)
            .max(1);
        return Some(Device {
            mac,
            broadcast,
            rx_queues,
        });
    }
    None
}

fn run_xdp<E: Executable + ?Sized>(
    exe: &E,
    input: &TestRunInput<'_>,
    setup: &mut dyn FnMut(&mut MemoryMap<'_>),
) -> Result<TestRunOutput, TestRunError> {
    let size_in = input.data_in.len();
    let ctx = ctx_init(input.ctx_in, xdp::MD_SIZE)?;
    let mut headroom = xdp::XDP_PACKET_HEADROOM;
    let mut meta_sz = 0usize;
    let mut linear = size_in;
    let (mut ingress, mut rxq) = (0u32, 0u32);
    if let Some(c) = &ctx {
        let (data, data_end, data_meta) = (get_u32(c, 0), get_u32(c, 4), get_u32(c, 8));
        if data_meta != 0 || data_end as usize > size_in || data > data_end {
            return Err(invalid(
                EINVAL,
                "xdp_md: data_meta must be 0 and data <= data_end <= data_in length",
            ));
        }
        meta_sz = data as usize;
        if !meta_sz.is_multiple_of(4)
            || meta_sz as u64 > xdp::MAX_META_LEN
            || meta_sz > headroom - xdp::XDP_FRAME_SIZE
        {
            return Err(invalid(
                EINVAL,
                format!("invalid metadata length {meta_sz}"),
            ));
        }
        headroom -= meta_sz;
        linear = data_end as usize;
        ingress = get_u32(c, xdp::MD_INGRESS_IFINDEX as usize);
        rxq = get_u32(c, xdp::MD_RX_QUEUE_INDEX as usize);
    }
    let max_linear = xdp::PAGE_SIZE - headroom - xdp::SHARED_INFO_SIZE;
    linear = linear.min(max_linear);
    if size_in < meta_sz + ETH_HLEN {
        return Err(invalid(EINVAL, "packet shorter than an Ethernet header"));
    }
    if size_in > linear {
        return Err(TestRunError::Unsupported(format!(
            "multi-buffer XDP is not supported: {size_in} bytes of data_in but a linear area of \
             {linear} (at most {max_linear}; set xdp_md.data_end to the whole length)"
        )));
    }
    if let Some(c) = &ctx {
        if get_u32(c, xdp::MD_EGRESS_IFINDEX as usize) != 0 {
            return Err(invalid(EINVAL, "xdp_md.egress_ifindex must be 0"));
        }
        if ingress == 0 && rxq != 0 {
            return Err(invalid(EINVAL, "rx_queue_index without ingress_ifindex"));
        }
        if ingress != 0 {
            let dev = device(ingress)
                .ok_or_else(|| invalid(ENODEV, format!("no device with ifindex {ingress}")))?;
            if rxq >= dev.rx_queues {
                return Err(invalid(
                    EINVAL,
                    format!("rx_queue_index {rxq} >= {} queues", dev.rx_queues),
                ));
            }
        }
    }

    // The frame is the kernel's zeroed page; reused from run to run on this thread (taken
    // out while in use), with everything outside the packet zeroed again.
    let mut frame = FRAME.with(|f| f.take());
    frame.resize(xdp::PAGE_SIZE, 0);
    frame[..headroom].fill(0);
    frame[headroom..headroom + linear].copy_from_slice(&input.data_in[..linear]);
    frame[headroom + linear..].fill(0);
    let mut ctxbuf;
    let (r0, duration, redirect);
    {
        let mut memory = MemoryMap::new();
        let base = memory.add_mut(&mut frame, RegionKind::Packet);
        let rt = xdp::XdpRuntime {
            data_meta: base + headroom as u64,
            data: base + (headroom + meta_sz) as u64,
            data_end: base + (headroom + linear) as u64,
            data_hard_start: base,
            frame_sz: xdp::PAGE_SIZE as u64,
            ingress_ifindex: if ingress != 0 { ingress } else { 1 },
            rx_queue_index: rxq,
        };
        ctxbuf = rt.to_bytes();
        let mut writable = [false; xdp::RUNTIME_SIZE];
        writable[xdp::RT_DATA..].fill(true);
        let r1 = add_ctx(&mut memory, &mut ctxbuf, &writable);
        setup(&mut memory);
        (r0, duration, redirect) = run_repeat(exe, r1, &mut memory, input.repeat)?;
    }
    let rt = xdp::XdpRuntime::from_bytes(&ctxbuf);
    let base = rt.data_hard_start;
    let end = base + xdp::PAGE_SIZE as u64;
    if !(base <= rt.data_meta
        && rt.data_meta <= rt.data
        && rt.data <= rt.data_end
        && rt.data_end <= end)
    {
        return Err(TestRunError::Unsupported(
            "the program left inconsistent packet pointers in its context".into(),
        ));
    }
    let data_out = frame[(rt.data_meta - base) as usize..(rt.data_end - base) as usize].to_vec();
    FRAME.with(|f| f.set(frame));
    let mut ctx_out = ctx.unwrap_or_else(|| vec![0u8; xdp::MD_SIZE]);
    put_u32(&mut ctx_out, 0, (rt.data - rt.data_meta) as u32);
    put_u32(&mut ctx_out, 4, (rt.data_end - rt.data_meta) as u32);
    Ok(TestRunOutput {
        retval: r0 as u32,
        r0,
        data_out,
        ctx_out,
        duration,
        repeat: input.repeat.max(1),
        redirect,
    })
}

/// The `__sk_buff` fields `ctx_in` may set; every other byte must be zero
/// (`convert___skb_to_skb`).
fn skb_ctx_allowed(off: usize) -> bool {
    let off = off as i64;
    let within = |start: i64, len: i64| off >= start && off < start + len;
    within(skb::MARK, 4)
        || within(skb::PRIORITY, 12) // priority, ingress_ifindex, ifindex
        || within(skb::CB, 20)
        || within(skb::DATA_END, 4)
        || within(skb::TSTAMP, 16) // tstamp, wire_len, gso_segs
        || within(skb::GSO_SIZE, 4)
        || within(skb::HWTSTAMP, 8)
}

fn run_skb<E: Executable + ?Sized>(
    exe: &E,
    t: ProgType,
    input: &TestRunInput<'_>,
    setup: &mut dyn FnMut(&mut MemoryMap<'_>),
) -> Result<TestRunOutput, TestRunError> {
    let data_in = input.data_in;
    let size_in = data_in.len();
    if size_in < ETH_HLEN {
        return Err(invalid(EINVAL, "packet shorter than an Ethernet header"));
    }
    let is_l2 = matches!(t, ProgType::SchedCls | ProgType::SchedAct);
    let ctx = ctx_init(input.ctx_in, skb::SK_BUFF_SIZE)?;
    let mut linear = size_in;
    if let Some(c) = &ctx {
        let data_end = get_u32(c, skb::DATA_END as usize) as usize;
        if data_end > size_in
            || get_u32(c, skb::DATA as usize) != 0
            || get_u32(c, skb::DATA_META as usize) != 0
        {
            return Err(invalid(
                EINVAL,
                "__sk_buff: data and data_meta must be 0, data_end at most the data_in length",
            ));
        }
        if data_end != 0 {
            linear = data_end.max(ETH_HLEN);
        }
    }
    let max_linear = xdp::PAGE_SIZE - SKB_HEADROOM - xdp::SHARED_INFO_SIZE;
    linear = linear.min(max_linear);
    if size_in > linear {
        return Err(TestRunError::Unsupported(format!(
            "non-linear skbs are not supported: {size_in} bytes of data_in but a linear area of \
             {linear} (at most {max_linear})"
        )));
    }
    let ifindex_in = ctx
        .as_ref()
        .map_or(0, |c| get_u32(c, skb::IFINDEX as usize));
    let (ifindex, dev) = if ifindex_in > 1 {
        let dev = device(ifindex_in)
            .ok_or_else(|| invalid(ENODEV, format!("no device with ifindex {ifindex_in}")))?;
        (ifindex_in, dev)
    } else {
        // The loopback device: all-zero address and broadcast address.
        let lo = device(1).unwrap_or(Device {
            mac: [0; 6],
            broadcast: [0; 6],
            rx_queues: 1,
        });
        (1, lo)
    };

    // eth_type_trans
    let dest = &data_in[..6];
    let pkt_type: u32 = if dest == dev.mac {
        0 // PACKET_HOST
    } else if dest[0] & 1 != 0 {
        if dest == dev.broadcast {
            1 // PACKET_BROADCAST
        } else {
            2 // PACKET_MULTICAST
        }
    } else {
        3 // PACKET_OTHERHOST
    };
    let h_proto = u16::from_be_bytes([data_in[12], data_in[13]]);
    let protocol: u16 = if h_proto >= 0x0600 {
        h_proto
    } else if linear >= ETH_HLEN + 2 && data_in[14] == 0xff && data_in[15] == 0xff {
        0x0001 // ETH_P_802_3
    } else {
        0x0004 // ETH_P_802_2
    };
    let headlen = linear - ETH_HLEN;
    let net = &data_in[ETH_HLEN..linear];
    let mut rt = skb::SkbRuntime::default();
    match protocol {
        0x0800 => {
            if headlen < 20 {
                return Err(invalid(EINVAL, "IPv4 packet shorter than an IP header"));
            }
            rt.set(skb::FAMILY, 2);
            rt.set(skb::LOCAL_IP4, get_u32(net, 12));
            rt.set(skb::REMOTE_IP4, get_u32(net, 16));
        }
        0x86dd => {
            if headlen < 40 {
                return Err(invalid(EINVAL, "IPv6 packet shorter than an IPv6 header"));
            }
            rt.set(skb::FAMILY, 10);
            for k in 0..4 {
                rt.set(skb::LOCAL_IP6 + 4 * k, get_u32(net, 8 + 4 * k as usize));
                rt.set(skb::REMOTE_IP6 + 4 * k, get_u32(net, 24 + 4 * k as usize));
            }
        }
        _ => {}
    }
    let len = if is_l2 { linear } else { headlen } as u32;

    // convert___skb_to_skb
    let zero = [0u8; skb::SK_BUFF_SIZE];
    let c = ctx.as_deref().unwrap_or(&zero);
    if let Some(bad) = (0..skb::SK_BUFF_SIZE).find(|&i| c[i] != 0 && !skb_ctx_allowed(i)) {
        let name = skb::field_at(bad as i64).map_or("padding", |f| f.0);
        return Err(invalid(
            EINVAL,
            format!("__sk_buff.{name} may not be set in ctx_in"),
        ));
    }
    let wire_len = get_u32(c, skb::WIRE_LEN as usize);
    let wire_len = if ctx.is_none() {
        0 // without ctx_in the kernel leaves the qdisc cb's pkt_len unset
    } else if wire_len == 0 {
        len
    } else if wire_len < len || wire_len > GSO_LEGACY_MAX_SIZE {
        return Err(invalid(EINVAL, format!("invalid wire_len {wire_len}")));
    } else {
        wire_len
    };
    let gso_segs = get_u32(c, skb::GSO_SEGS as usize);
    if gso_segs > GSO_MAX_SEGS {
        return Err(invalid(EINVAL, format!("invalid gso_segs {gso_segs}")));
    }
    rt.set(skb::LEN, len);
    rt.set(skb::PKT_TYPE, pkt_type);
    rt.set(skb::MARK, get_u32(c, skb::MARK as usize));
    rt.set(skb::PROTOCOL, protocol.to_be() as u32);
    rt.set(skb::PRIORITY, get_u32(c, skb::PRIORITY as usize));
    rt.set(
        skb::INGRESS_IFINDEX,
        get_u32(c, skb::INGRESS_IFINDEX as usize),
    );
    rt.set(skb::IFINDEX, ifindex);
    rt.image[skb::CB as usize..skb::CB as usize + 20]
        .copy_from_slice(&c[skb::CB as usize..skb::CB as usize + 20]);
    rt.set64(skb::TSTAMP, get_u64(c, skb::TSTAMP as usize));
    rt.set(skb::WIRE_LEN, wire_len);
    rt.set(skb::GSO_SEGS, gso_segs);
    rt.set(skb::GSO_SIZE, get_u32(c, skb::GSO_SIZE as usize));
    rt.set64(skb::HWTSTAMP, get_u64(c, skb::HWTSTAMP as usize));

    let mut buf = vec![0u8; SKB_HEADROOM + linear + xdp::SHARED_INFO_SIZE];
    buf[SKB_HEADROOM..SKB_HEADROOM + linear].copy_from_slice(&data_in[..linear]);
    let data_off = SKB_HEADROOM + if is_l2 { 0 } else { ETH_HLEN };
    let mut ctxbuf;
    let (r0, duration, redirect);
    {
        let mut memory = MemoryMap::new();
        let (_, rest) = buf.split_at_mut(data_off);
        let (pkt, _) = rest.split_at_mut(len as usize);
        let data = if is_l2 {
            memory.add_mut(pkt, RegionKind::Packet)
        } else {
            memory.add_ref(pkt, RegionKind::Packet)
        };
        rt.data = data;
        rt.data_end = data + len as u64;
        rt.data_meta = data;
        ctxbuf = rt.to_bytes();
        let r1 = add_ctx(&mut memory, &mut ctxbuf, &skb::writable_bytes(t));
        setup(&mut memory);
        (r0, duration, redirect) = run_repeat(exe, r1, &mut memory, input.repeat)?;
    }
    let fin = skb::SkbRuntime::from_bytes(&ctxbuf);
    let data_out = if is_l2 {
        buf[data_off..data_off + len as usize].to_vec()
    } else {
        let mut v = vec![0u8; ETH_HLEN];
        v.extend_from_slice(&buf[data_off..data_off + len as usize]);
        v
    };
    // convert_skb_to___skb
    let mut ctx_out = ctx.unwrap_or_else(|| vec![0u8; skb::SK_BUFF_SIZE]);
    for (off, n) in [
        (skb::MARK, 4),
        (skb::PRIORITY, 4),
        (skb::INGRESS_IFINDEX, 4),
        (skb::IFINDEX, 4),
        (skb::TSTAMP, 8),
        (skb::CB, 20),
        (skb::WIRE_LEN, 4),
        (skb::GSO_SEGS, 4),
        (skb::HWTSTAMP, 8),
    ] {
        let o = off as usize;
        ctx_out[o..o + n].copy_from_slice(&fin.image[o..o + n]);
    }
    Ok(TestRunOutput {
        retval: r0 as u32,
        r0,
        data_out,
        ctx_out,
        duration,
        repeat: input.repeat.max(1),
        redirect,
    })
}

fn run_tracing<E: Executable + ?Sized>(
    exe: &E,
    t: ProgType,
    facts: &CtxAccessFacts,
    input: &TestRunInput<'_>,
    setup: &mut dyn FnMut(&mut MemoryMap<'_>),
) -> Result<TestRunOutput, TestRunError> {
    if !input.data_in.is_empty() {
        return Err(invalid(EINVAL, format!("{t} programs take no data_in")));
    }
    let need = facts.max_ctx_offset() as usize;
    let ctx = match t {
        ProgType::Kprobe => ctx_init(input.ctx_in, tracing::PT_REGS_SIZE)?
            .unwrap_or_else(|| vec![0; tracing::PT_REGS_SIZE]),
        ProgType::PerfEvent => ctx_init(input.ctx_in, tracing::PERF_EVENT_DATA_SIZE)?
            .unwrap_or_else(|| vec![0; tracing::PERF_EVENT_DATA_SIZE]),
        _ => {
            let c = input.ctx_in.unwrap_or(&[]).to_vec();
            let max = if t == ProgType::RawTracepoint {
                tracing::MAX_RAW_TP_ARGS * 8
            } else {
                tracing::PERF_MAX_TRACE_SIZE as usize
            };
            if c.len() < need || c.len() > max {
                return Err(invalid(
                    EINVAL,
                    format!(
                        "ctx_in of {} bytes: the program reads {need} bytes, at most {max} allowed",
                        c.len()
                    ),
                ));
            }
            c
        }
    };
    let (r0, duration, redirect);
    {
        let mut memory = MemoryMap::new();
        let r1 = if ctx.is_empty() {
            0
        } else {
            memory.add_ref(&ctx, RegionKind::Context)
        };
        setup(&mut memory);
        (r0, duration, redirect) = run_repeat(exe, r1, &mut memory, input.repeat)?;
    }
    Ok(TestRunOutput {
        retval: r0 as u32,
        r0,
        data_out: Vec::new(),
        ctx_out: Vec::new(),
        duration,
        repeat: input.repeat.max(1),
        redirect,
    })
}
