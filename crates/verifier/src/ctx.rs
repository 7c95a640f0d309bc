//! Context layouts per program type: which offsets may be read or written, with which
//! sizes, and what a load yields.
//!
//! Takes a program type and an access (offset, size, read or write); gives the
//! [`CtxAccess`] (field name and what the loaded value is) or `None` when the kernel would
//! say "invalid bpf_context access". The tracing types read their context only (`pt_regs`
//! for kprobe, the event record for tracepoint, `u64 args[]` for raw_tracepoint,
//! `bpf_perf_event_data` for perf_event). Layouts follow the UAPI structs `xdp_md` and
//! `__sk_buff`, and the rules of the kernel's `xdp_is_valid_access`,
//! `sk_filter_is_valid_access`, `tc_cls_act_is_valid_access` and `bpf_skb_is_valid_access`.

use crate::input::ProgType;

/// What a context load gives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FieldKind {
    /// A number of the field's size.
    Scalar,
    /// Packet start (`data`).
    PacketData,
    /// Packet end (`data_end`).
    PacketEnd,
    /// Metadata start (`data_meta`).
    PacketMeta,
    /// The packet's socket or NULL (`__sk_buff.sk`, `PTR_TO_SOCK_COMMON_OR_NULL`).
    SockCommonOrNull,
    /// The message's socket (`sk_msg_md.sk`, `PTR_TO_SOCKET`).
    Sock,
}

/// One allowed context access.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CtxAccess {
    /// Field name in the UAPI struct.
    pub field: &'static str,
    /// What a load yields.
    pub kind: FieldKind,
}

/// `xdp_md`: every field a read-only u32.
const XDP_MD: [(&str, u32, FieldKind); 6] = [
    ("data", 0, FieldKind::PacketData),
    ("data_end", 4, FieldKind::PacketEnd),
    ("data_meta", 8, FieldKind::PacketMeta),
    ("ingress_ifindex", 12, FieldKind::Scalar),
    ("rx_queue_index", 16, FieldKind::Scalar),
    ("egress_ifindex", 20, FieldKind::Scalar),
];

/// `__sk_buff` fields: name, offset, size.
const SK_BUFF: [(&str, u32, u32); 34] = [
    ("len", 0, 4),
    ("pkt_type", 4, 4),
    ("mark", 8, 4),
    ("queue_mapping", 12, 4),
    ("protocol", 16, 4),
    ("vlan_present", 20, 4),
    ("vlan_tci", 24, 4),
    ("vlan_proto", 28, 4),
    ("priority", 32, 4),
    ("ingress_ifindex", 36, 4),
    ("ifindex", 40, 4),
    ("tc_index", 44, 4),
    ("cb", 48, 20),
    ("hash", 68, 4),
    ("tc_classid", 72, 4),
    ("data", 76, 4),
    ("data_end", 80, 4),
    ("napi_id", 84, 4),
    ("family", 88, 4),
    ("remote_ip4", 92, 4),
    ("local_ip4", 96, 4),
    ("remote_ip6", 100, 16),
    ("local_ip6", 116, 16),
    ("remote_port", 132, 4),
    ("local_port", 136, 4),
    ("data_meta", 140, 4),
    ("flow_keys", 144, 8),
    ("tstamp", 152, 8),
    ("wire_len", 160, 4),
    ("gso_segs", 164, 4),
    ("sk", 168, 8),
    ("gso_size", 176, 4),
    ("tstamp_type", 180, 4),
    ("hwtstamp", 184, 8),
];

/// Size of the context struct (0 when unknown).
pub fn ctx_size(pt: ProgType) -> u32 {
    match pt {
        ProgType::Xdp => 24,
        ProgType::SocketFilter
        | ProgType::SchedCls
        | ProgType::Other(CGROUP_SKB | LWT_IN | LWT_OUT | LWT_XMIT | LWT_SEG6LOCAL | SK_SKB) => 192,
        ProgType::Other(SK_MSG) => SK_MSG_MD_SIZE,
        ProgType::Raw { size } => size,
        ProgType::Other(KPROBE) => PT_REGS_SIZE,
        ProgType::Other(TRACEPOINT) => PERF_MAX_TRACE_SIZE,
        ProgType::Other(RAW_TRACEPOINT | RAW_TRACEPOINT_WRITABLE) => RAW_TP_ARGS_SIZE,
        ProgType::Other(PERF_EVENT) => PERF_EVENT_DATA_SIZE,
        ProgType::Other(CGROUP_SOCK) => 80,
        ProgType::Other(SOCK_OPS) => 224,
        ProgType::Other(CGROUP_SOCK_ADDR) => 72,
        ProgType::Other(_) => 0,
    }
}

/// Kernel number of `BPF_PROG_TYPE_CGROUP_SOCK` (context: `struct bpf_sock`).
const CGROUP_SOCK: u32 = 9;
/// Kernel number of `BPF_PROG_TYPE_SOCK_OPS` (context: `struct bpf_sock_ops`).
const SOCK_OPS: u32 = 13;
/// Kernel number of `BPF_PROG_TYPE_CGROUP_SOCK_ADDR` (context: `struct bpf_sock_addr`).
const CGROUP_SOCK_ADDR: u32 = 18;

fn scalar(field: &'static str) -> Option<CtxAccess> {
    Some(CtxAccess {
        field,
        kind: FieldKind::Scalar,
    })
}

/// A narrow read of a u32 field: 1, 2 or 4 bytes (`bpf_ctx_narrow_access_ok`).
fn narrow_ok(size: u32) -> bool {
    matches!(size, 1 | 2 | 4)
}

/// `struct bpf_sock` for cgroup_sock (`sock_filter_is_valid_access`): bound_dev_if, mark
/// and priority are writable at socket creation and release; source addresses and port
/// are readable after bind only.
fn sock_access(attach: u32, off: u32, size: u32, write: bool) -> Option<CtxAccess> {
    use crate::input::attach_type as at;
    // The kernel loads cgroup_sock programs without an attach type as sock_create.
    let attach = if attach == 0 {
        at::CGROUP_INET_SOCK_CREATE
    } else {
        attach
    };
    let (field, ok) = match off {
        0 | 16 | 20 => {
            let name = match off {
                0 => "bound_dev_if",
                16 => "mark",
                _ => "priority",
            };
            let full = matches!(
                attach,
                at::CGROUP_INET_SOCK_CREATE | at::CGROUP_INET_SOCK_RELEASE
            );
            (name, full && size == 4)
        }
        24..=27 => (
            "src_ip4",
            attach == at::CGROUP_INET4_POST_BIND && !write && narrow_ok(size),
        ),
        28..=43 => (
            "src_ip6",
            attach == at::CGROUP_INET6_POST_BIND && !write && narrow_ok(size),
        ),
        44..=47 => (
            "src_port",
            matches!(
                attach,
                at::CGROUP_INET4_POST_BIND | at::CGROUP_INET6_POST_BIND
            ) && !write
                && narrow_ok(size),
        ),
        4..=15 | 72..=79 => ("family", !write && narrow_ok(size)),
        48..=49 => ("dst_port", !write && matches!(size, 1 | 2 | 4)),
        52..=71 => ("dst_ip", !write && narrow_ok(size)),
        _ => return None,
    };
    if !ok {
        return None;
    }
    scalar(field)
}

/// `struct bpf_sock_ops` (`sock_ops_is_valid_access`): u32 fields read whole, the byte
/// counters and pointers as u64; writes only to `reply`/`replylong` and `sk_txhash`.
fn sock_ops_access(off: u32, size: u32, write: bool) -> Option<CtxAccess> {
    if off >= 224 {
        return None;
    }
    if write {
        return (matches!(off, 4..=19 | 164) && size == 4)
            .then(|| scalar("reply"))
            .flatten();
    }
    // The u64 fields and pointers are read whole (a narrower read of any of their bytes
    // is refused).
    match off {
        168..=183 | 216..=223 => (size == 8 && off.is_multiple_of(8))
            .then(|| scalar("u64_field"))
            .flatten(),
        // The socket pointer is not modelled.
        184..=191 => None,
        192..=199 => (off == 192 && size == 8).then_some(CtxAccess {
            field: "skb_data",
            kind: FieldKind::PacketData,
        }),
        200..=207 => (off == 200 && size == 8).then_some(CtxAccess {
            field: "skb_data_end",
            kind: FieldKind::PacketEnd,
        }),
        212..=215 => narrow_ok(size).then(|| scalar("skb_tcp_flags")).flatten(),
        _ => (size == 4).then(|| scalar("field")).flatten(),
    }
}

/// `struct bpf_sock_addr` (`sock_addr_is_valid_access`): the user address fields of the
/// attach type's family are readable (narrowly) and writable (whole), the others read as
/// u32; the socket pointer is not modelled.
fn sock_addr_access(attach: u32, off: u32, size: u32, write: bool) -> Option<CtxAccess> {
    use crate::input::attach_type as at;
    if off >= 72 {
        return None;
    }
    let v4 = matches!(
        attach,
        at::CGROUP_INET4_BIND
            | at::CGROUP_INET4_CONNECT
            | at::CGROUP_INET4_GETPEERNAME
            | at::CGROUP_INET4_GETSOCKNAME
            | at::CGROUP_UDP4_SENDMSG
            | at::CGROUP_UDP4_RECVMSG
    );
    let v6 = matches!(
        attach,
        at::CGROUP_INET6_BIND
            | at::CGROUP_INET6_CONNECT
            | at::CGROUP_INET6_GETPEERNAME
            | at::CGROUP_INET6_GETSOCKNAME
            | at::CGROUP_UDP6_SENDMSG
            | at::CGROUP_UDP6_RECVMSG
    );
    let (field, family_ok, wide) = match off {
        4..=7 => ("user_ip4", v4, false),
        8..=23 => ("user_ip6", v6, true),
        40..=43 => ("msg_src_ip4", attach == at::CGROUP_UDP4_SENDMSG, false),
        44..=59 => ("msg_src_ip6", attach == at::CGROUP_UDP6_SENDMSG, true),
        24..=27 => ("user_port", true, false),
        // The socket pointer (not modelled), whole or in part.
        64..=71 => {
            return None;
        }
        _ => {
            return (!write && size == 4).then(|| scalar("field")).flatten();
        }
    };
    if !family_ok {
        return None;
    }
    let wide_ok = wide && size == 8 && off.is_multiple_of(8);
    let ok = if write {
        wide_ok || size == 4
    } else {
        wide_ok || narrow_ok(size)
    };
    ok.then(|| scalar(field)).flatten()
}

/// Kernel number of `BPF_PROG_TYPE_KPROBE` (context: `struct pt_regs`).
const KPROBE: u32 = 2;
/// Kernel number of `BPF_PROG_TYPE_TRACEPOINT` (context: the event's record).
const TRACEPOINT: u32 = 5;
/// Kernel number of `BPF_PROG_TYPE_PERF_EVENT` (context: `struct bpf_perf_event_data`).
const PERF_EVENT: u32 = 7;
/// Kernel number of `BPF_PROG_TYPE_RAW_TRACEPOINT` (context: `u64 args[]`).
const RAW_TRACEPOINT: u32 = 17;
/// Kernel number of `BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE`.
const RAW_TRACEPOINT_WRITABLE: u32 = 24;
/// `sizeof(struct pt_regs)` on x86-64 (21 registers).
pub const PT_REGS_SIZE: u32 = 168;
/// `PERF_MAX_TRACE_SIZE`: the largest tracepoint record.
pub const PERF_MAX_TRACE_SIZE: u32 = 2048;
/// `sizeof(u64) * MAX_BPF_FUNC_ARGS`: raw tracepoint arguments.
pub const RAW_TP_ARGS_SIZE: u32 = 8 * 12;
/// `sizeof(struct bpf_perf_event_data)`: `pt_regs`, then `sample_period` and `addr`.
pub const PERF_EVENT_DATA_SIZE: u32 = PT_REGS_SIZE + 16;

/// Read-only contexts of the tracing program types (`kprobe_prog_is_valid_access`,
/// `tp_prog_is_valid_access`, `raw_tp_prog_is_valid_access`, `pe_prog_is_valid_access`):
/// aligned reads inside the struct; perf_event registers only as whole 8-byte words.
fn tracing_access(id: u32, off: u32, size: u32, write: bool) -> Option<CtxAccess> {
    if write {
        return None;
    }
    let field = match id {
        KPROBE => {
            if off + size > PT_REGS_SIZE {
                return None;
            }
            "regs"
        }
        TRACEPOINT => "record",
        PERF_EVENT => match off {
            o if o < PT_REGS_SIZE => {
                if size != 8 {
                    return None;
                }
                "regs"
            }
            o if o < PT_REGS_SIZE + 8 => "sample_period",
            _ => "addr",
        },
        _ => "args",
    };
    Some(CtxAccess {
        field,
        kind: FieldKind::Scalar,
    })
}

/// Check an access of `size` bytes at `off` into the context of `pt` (expected attach
/// type 0).
pub fn check_access(pt: ProgType, off: i64, size: u32, write: bool) -> Option<CtxAccess> {
    check_access_attach(pt, 0, off, size, write)
}

/// Check an access of `size` bytes at `off` into the context of `pt` loaded with
/// `expected_attach_type` `attach` (some fields exist only for some attach points).
pub fn check_access_attach(
    pt: ProgType,
    attach: u32,
    off: i64,
    size: u32,
    write: bool,
) -> Option<CtxAccess> {
    if let ProgType::Other(id @ (CGROUP_SOCK | SOCK_OPS | CGROUP_SOCK_ADDR)) = pt {
        if off < 0 || off % size as i64 != 0 {
            return None;
        }
        let off = off as u32;
        return match id {
            CGROUP_SOCK => sock_access(attach, off, size, write),
            SOCK_OPS => sock_ops_access(off, size, write),
            _ => sock_addr_access(attach, off, size, write),
        };
    }
    if off < 0 || off >= ctx_size(pt) as i64 || off % size as i64 != 0 {
        return None;
    }
    let off = off as u32;
    match pt {
        ProgType::Xdp => {
            // egress_ifindex exists only for programs run from a devmap
            // (`xdp_is_valid_access`).
            if write || size != 4 || (off == 20 && attach != crate::input::attach_type::XDP_DEVMAP)
            {
                return None;
            }
            XDP_MD
                .iter()
                .find(|f| f.1 == off)
                .map(|&(field, _, kind)| CtxAccess { field, kind })
        }
        ProgType::SocketFilter | ProgType::SchedCls => skb_access(pt, off, size, write),
        ProgType::Other(CGROUP_SKB) => cg_skb_access(off, size, write),
        ProgType::Other(LWT_IN | LWT_OUT | LWT_XMIT | LWT_SEG6LOCAL) => {
            lwt_access(off, size, write)
        }
        ProgType::Other(SK_MSG) => sk_msg_access(off, size, write),
        ProgType::Other(SK_SKB) => sk_skb_access(off, size, write),
        ProgType::Other(
            id @ (KPROBE | TRACEPOINT | PERF_EVENT | RAW_TRACEPOINT | RAW_TRACEPOINT_WRITABLE),
        ) => tracing_access(id, off, size, write),
        ProgType::Raw { .. } | ProgType::Other(_) => None,
    }
}

/// Kernel number of `BPF_PROG_TYPE_CGROUP_SKB`.
const CGROUP_SKB: u32 = 8;

/// `__sk_buff` for cgroup_skb (`cg_skb_is_valid_access`): no tc_classid, data_meta or
/// wire_len; direct packet reads; writes only to mark, priority, cb[] and tstamp; the
/// socket fields are readable.
fn cg_skb_access(off: u32, size: u32, write: bool) -> Option<CtxAccess> {
    let &(field, _, _) = SK_BUFF.iter().find(|&&(_, o, s)| off >= o && off < o + s)?;
    if matches!(field, "tc_classid" | "data_meta" | "wire_len") {
        return None;
    }
    if write && !matches!(field, "mark" | "priority" | "cb" | "tstamp") {
        return None;
    }
    common_skb_access(field, off, size, write)
}

/// Kernel numbers of the lightweight-tunnel program types (`BPF_PROG_TYPE_LWT_*`).
const LWT_IN: u32 = 10;
const LWT_OUT: u32 = 11;
const LWT_XMIT: u32 = 12;
const LWT_SEG6LOCAL: u32 = 19;
/// Kernel number of `BPF_PROG_TYPE_SK_MSG` (context: `struct sk_msg_md`).
const SK_MSG: u32 = 16;
/// Size of `struct sk_msg_md`.
const SK_MSG_MD_SIZE: u32 = 80;

/// `__sk_buff` for the lwt program types (`lwt_is_valid_access`): no tc_classid, socket
/// fields, data_meta, tstamp, wire_len or hwtstamp; writes only to mark, priority and cb[];
/// direct packet access (written only by lwt_xmit, see the packet checks).
fn lwt_access(off: u32, size: u32, write: bool) -> Option<CtxAccess> {
    let &(field, _, _) = SK_BUFF.iter().find(|&&(_, o, s)| off >= o && off < o + s)?;
    if matches!(
        field,
        "tc_classid"
            | "family"
            | "remote_ip4"
            | "local_ip4"
            | "remote_ip6"
            | "local_ip6"
            | "remote_port"
            | "local_port"
            | "data_meta"
            | "tstamp"
            | "wire_len"
            | "hwtstamp"
    ) {
        return None;
    }
    if write && !matches!(field, "mark" | "priority" | "cb") {
        return None;
    }
    common_skb_access(field, off, size, write)
}

/// Kernel number of `BPF_PROG_TYPE_SK_SKB`.
const SK_SKB: u32 = 14;

/// `__sk_buff` for sk_skb (`sk_skb_is_valid_access`): no tc_classid, data_meta, tstamp,
/// wire_len, hwtstamp or mark; writes only to tc_index and priority; direct packet access.
fn sk_skb_access(off: u32, size: u32, write: bool) -> Option<CtxAccess> {
    let &(field, _, _) = SK_BUFF.iter().find(|&&(_, o, s)| off >= o && off < o + s)?;
    if matches!(
        field,
        "tc_classid" | "data_meta" | "tstamp" | "wire_len" | "hwtstamp" | "mark"
    ) {
        return None;
    }
    if write && !matches!(field, "tc_index" | "priority") {
        return None;
    }
    common_skb_access(field, off, size, write)
}

/// `struct sk_msg_md` (`sk_msg_is_valid_access`): read only; data, data_end and the socket
/// as u64 pointers, the other fields as whole u32s.
fn sk_msg_access(off: u32, size: u32, write: bool) -> Option<CtxAccess> {
    if write {
        return None;
    }
    let (field, kind, ok) = match off {
        0 => ("data", FieldKind::PacketData, size == 8),
        8 => ("data_end", FieldKind::PacketEnd, size == 8),
        72 => ("sk", FieldKind::Sock, size == 8),
        16..=71 => ("field", FieldKind::Scalar, size == 4),
        _ => return None,
    };
    ok.then_some(CtxAccess { field, kind })
}

fn in_field(off: u32, name: &str) -> bool {
    SK_BUFF
        .iter()
        .any(|&(n, o, s)| n == name && off >= o && off < o + s)
}

fn skb_access(pt: ProgType, off: u32, size: u32, write: bool) -> Option<CtxAccess> {
    let &(field, _, _) = SK_BUFF.iter().find(|&&(_, o, s)| off >= o && off < o + s)?;
    let tc = pt == ProgType::SchedCls;
    if !tc {
        if matches!(
            field,
            "tc_classid"
                | "data"
                | "data_meta"
                | "data_end"
                | "family"
                | "remote_ip4"
                | "local_ip4"
                | "remote_ip6"
                | "local_ip6"
                | "remote_port"
                | "local_port"
                | "tstamp"
                | "wire_len"
                | "hwtstamp"
        ) {
            return None;
        }
        if write && field != "cb" {
            return None;
        }
    } else {
        if write
            && !matches!(
                field,
                "mark" | "tc_index" | "priority" | "tc_classid" | "cb" | "tstamp" | "queue_mapping"
            )
        {
            return None;
        }
        if matches!(
            field,
            "family"
                | "remote_ip4"
                | "local_ip4"
                | "remote_ip6"
                | "local_ip6"
                | "remote_port"
                | "local_port"
        ) {
            return None;
        }
    }
    common_skb_access(field, off, size, write)
}

/// The checks every `__sk_buff` access goes through (`bpf_skb_is_valid_access`).
fn common_skb_access(field: &'static str, off: u32, size: u32, write: bool) -> Option<CtxAccess> {
    let kind = match field {
        "data" => FieldKind::PacketData,
        "data_end" => FieldKind::PacketEnd,
        "data_meta" => FieldKind::PacketMeta,
        "sk" => FieldKind::SockCommonOrNull,
        _ => FieldKind::Scalar,
    };
    let ok = match field {
        "cb" => off + size <= 68,
        "remote_ip6" | "local_ip6" | "remote_ip4" | "local_ip4" | "data" | "data_meta"
        | "data_end" => size == 4,
        // The socket pointer, read whole.
        "sk" => !write && size == 8 && off == 168,
        // Kernel pointers and fields we do not model.
        "flow_keys" | "tstamp_type" => false,
        "hwtstamp" => !write && size == 8,
        "tstamp" => size == 8,
        _ => {
            if write {
                size == 4
            } else {
                size <= 4
            }
        }
    };
    let _ = in_field;
    ok.then_some(CtxAccess { field, kind })
}

/// Size of `struct bpf_sock`.
pub const BPF_SOCK_SIZE: u32 = 80;
/// End of `struct bpf_tcp_sock`'s last field (`icsk_retransmits`).
pub const BPF_TCP_SOCK_END: u32 = 112;

/// Whether a read of `size` bytes at `off` of a `struct bpf_sock` behind a socket pointer is
/// allowed (`bpf_sock_is_valid_access`; with `common`, `bpf_sock_common_is_valid_access`,
/// which refuses `type` through `priority`): u32 fields read whole or narrowly where the
/// kernel converts narrow loads, `dst_port` as 2 or 4 bytes, the others whole.
pub fn sock_field_ok(off: u32, size: u32, common: bool) -> bool {
    if off >= BPF_SOCK_SIZE || size == 0 || !off.is_multiple_of(size) {
        return false;
    }
    if common && (8..24).contains(&off) {
        return false;
    }
    // Narrow reads within the field's 4 bytes.
    let narrow = |size: u32| matches!(size, 1 | 2 | 4);
    match off {
        // family, type, protocol, src_ip4, src_ip6, src_port, dst_ip4, dst_ip6, state,
        // rx_queue_mapping
        4..=15 | 24..=47 | 52..=79 => narrow(size),
        48..=49 => matches!(size, 1 | 2 | 4),
        50..=51 => false,
        _ => size == 4,
    }
}

/// Whether a read of `size` bytes at `off` of a `struct bpf_tcp_sock` is allowed
/// (`bpf_tcp_sock_is_valid_access`): the two byte counters as u64, the rest as u32.
pub fn tcp_sock_field_ok(off: u32, size: u32) -> bool {
    if off >= BPF_TCP_SOCK_END || size == 0 || !off.is_multiple_of(size) {
        return false;
    }
    match off {
        80 | 88 => size == 8,
        _ => size == 4,
    }
}
