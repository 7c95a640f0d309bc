//! Helper prototypes by kernel id.
//!
//! Takes a helper id; gives its [`Proto`]: the kernel name, the argument types the verifier
//! checks in r1..r5, the return type that decides r0, the program types that may call it,
//! and side effects (invalidating packet pointers, releasing a reference). The argument and
//! return kinds mirror the kernel's `enum bpf_arg_type` and `enum bpf_return_type`.

use crate::input::ProgType;

/// Argument kinds (the kernel's `ARG_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arg {
    /// Not an argument.
    DontCare,
    /// `ARG_ANYTHING`: any initialised value.
    Anything,
    /// `ARG_CONST_MAP_PTR`
    ConstMapPtr,
    /// `ARG_PTR_TO_MAP_KEY`: key_size readable, initialised bytes.
    MapKey,
    /// `ARG_PTR_TO_MAP_VALUE`: value_size readable, initialised bytes.
    MapValue,
    /// `ARG_PTR_TO_MAP_VALUE | MEM_UNINIT`: value_size writable bytes.
    UninitMapValue,
    /// `ARG_PTR_TO_MAP_VALUE | PTR_MAYBE_NULL`: as `MapValue`, or NULL.
    NullableMapValue,
    /// `ARG_PTR_TO_MEM`: readable, initialised memory; size in the next argument.
    Mem,
    /// `ARG_PTR_TO_MEM | PTR_MAYBE_NULL`: as `Mem`, or NULL with size 0.
    MemOrNull,
    /// `ARG_PTR_TO_UNINIT_MEM`: writable memory, initialised by the helper.
    UninitMem,
    /// `ARG_CONST_SIZE`: a bounded, non-zero size of the previous argument.
    ConstSize,
    /// `ARG_CONST_SIZE_OR_ZERO`
    ConstSizeOrZero,
    /// `ARG_PTR_TO_CTX`
    Ctx,
    /// `ARG_PTR_TO_RINGBUF_MEM | OBJ_RELEASE`: a reserved record, released by the call.
    ReleaseRingbufMem,
    /// `ARG_CONST_ALLOC_SIZE_OR_ZERO`: a constant size of the memory returned.
    ConstAllocSize,
    /// `ARG_PTR_TO_FUNC`: a callback.
    Func,
    /// `ARG_PTR_TO_CONST_STR`: a read-only map value holding a string.
    ConstStr,
    /// `ARG_PTR_TO_CTX | PTR_MAYBE_NULL`: the unmodified context or NULL.
    CtxOrNull,
    /// `ARG_PTR_TO_FIXED_SIZE_MEM | MEM_UNINIT | MEM_ALIGNED`: `size` writable bytes,
    /// aligned to their size (`long *res` of `bpf_strtol`, `u32 *mtu_len` of `bpf_check_mtu`).
    FixedAlignedOut(u8),
    /// `ARG_PTR_TO_SOCK_COMMON` (and `ARG_PTR_TO_BTF_ID_SOCK_COMMON`): a non-null socket
    /// pointer of any kind (sock_common, sock, tcp_sock) with no offset.
    SockCommon,
    /// `ARG_PTR_TO_BTF_ID_SOCK_COMMON | OBJ_RELEASE`: an acquired socket, released by the
    /// call (`bpf_sk_release`).
    ReleaseSock,
}

/// Return kinds (the kernel's `RET_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ret {
    /// `RET_INTEGER`
    Integer,
    /// `RET_VOID`: r0 is left uninitialised.
    Void,
    /// r0 is the first argument unchanged (same pointer, id and offset): the userbpf
    /// built-ins `memset`, `memcpy`, `memmove` ([`crate::builtins`]).
    FirstArg,
    /// `RET_PTR_TO_MAP_VALUE_OR_NULL`
    MapValueOrNull,
    /// `RET_PTR_TO_RINGBUF_MEM_OR_NULL` (an acquired reference)
    RingbufMemOrNull,
    /// `RET_PTR_TO_SOCKET_OR_NULL` or `RET_PTR_TO_SOCK_COMMON_OR_NULL` (with `common`)
    /// of a socket lookup: an acquired reference.
    AcquiredSockOrNull {
        /// Whether only the common part is known (`bpf_skc_lookup_tcp`).
        common: bool,
    },
    /// `RET_PTR_TO_SOCKET_OR_NULL` / `RET_PTR_TO_TCP_SOCK_OR_NULL` (with `tcp`) cast from the
    /// socket argument (`bpf_sk_fullsock`, `bpf_tcp_sock`): it carries the argument's
    /// reference, if any.
    CastSockOrNull {
        /// Whether the result is a `bpf_tcp_sock`.
        tcp: bool,
    },
    /// `RET_PTR_TO_SOCKET_OR_NULL` without a reference (`bpf_get_listener_sock`).
    SockOrNull,
}

/// Who may call a helper.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Allowed {
    /// Every program type (`bpf_base_func_proto`, privileged).
    All,
    /// Tracing program types only (kprobe, tracepoint, perf_event, ...).
    Tracing,
    /// Socket filter and tc.
    Skb,
    /// tc only.
    Tc,
    /// XDP only.
    Xdp,
    /// XDP and tc.
    XdpTc,
    /// Every program type except the tracing ones (kprobe, tracepoint, perf_event,
    /// raw_tracepoint, tracing, lsm).
    NotTracing,
    /// The program types with these kernel numbers (`enum bpf_prog_type`).
    Ids(&'static [u32]),
}

/// A helper prototype.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Proto {
    /// Kernel id.
    pub id: i32,
    /// Kernel name without the `bpf_` prefix.
    pub name: &'static str,
    /// r1..r5.
    pub args: [Arg; 5],
    /// What r0 becomes.
    pub ret: Ret,
    /// Program types allowed.
    pub allowed: Allowed,
    /// Whether the call may move packet data (invalidates packet pointers).
    pub changes_pkt: bool,
    /// Whether packet pointers may be passed to it (the kernel's `pkt_access`).
    pub pkt_access: bool,
}

use Arg::*;

const fn p(id: i32, name: &'static str, args: [Arg; 5], ret: Ret, allowed: Allowed) -> Proto {
    Proto {
        id,
        name,
        args,
        ret,
        allowed,
        changes_pkt: false,
        pkt_access: false,
    }
}

const fn pkt(mut proto: Proto) -> Proto {
    proto.changes_pkt = true;
    proto
}

/// A helper that accepts packet pointers for its memory arguments.
const fn pa(mut proto: Proto) -> Proto {
    proto.pkt_access = true;
    proto
}

const D: Arg = DontCare;
const A: Arg = Anything;

/// Every known prototype.
pub static PROTOS: &[Proto] = &[
    pa(p(
        1,
        "map_lookup_elem",
        [ConstMapPtr, MapKey, D, D, D],
        Ret::MapValueOrNull,
        Allowed::All,
    )),
    pa(p(
        2,
        "map_update_elem",
        [ConstMapPtr, MapKey, MapValue, A, D],
        Ret::Integer,
        Allowed::All,
    )),
    pa(p(
        3,
        "map_delete_elem",
        [ConstMapPtr, MapKey, D, D, D],
        Ret::Integer,
        Allowed::All,
    )),
    p(
        4,
        "probe_read",
        [UninitMem, ConstSizeOrZero, A, D, D],
        Ret::Integer,
        Allowed::Tracing,
    ),
    p(5, "ktime_get_ns", [D; 5], Ret::Integer, Allowed::All),
    p(
        6,
        "trace_printk",
        [Mem, ConstSize, D, D, D],
        Ret::Integer,
        Allowed::All,
    ),
    p(7, "get_prandom_u32", [D; 5], Ret::Integer, Allowed::All),
    p(
        8,
        "get_smp_processor_id",
        [D; 5],
        Ret::Integer,
        Allowed::All,
    ),
    pkt(p(
        9,
        "skb_store_bytes",
        [Ctx, A, Mem, ConstSize, A],
        Ret::Integer,
        Allowed::Tc,
    )),
    pkt(p(
        10,
        "l3_csum_replace",
        [Ctx, A, A, A, A],
        Ret::Integer,
        Allowed::Tc,
    )),
    pkt(p(
        11,
        "l4_csum_replace",
        [Ctx, A, A, A, A],
        Ret::Integer,
        Allowed::Tc,
    )),
    pkt(p(
        12,
        "tail_call",
        [Ctx, ConstMapPtr, A, D, D],
        Ret::Void,
        Allowed::All,
    )),
    p(
        14,
        "get_current_pid_tgid",
        [D; 5],
        Ret::Integer,
        Allowed::All,
    ),
    p(
        15,
        "get_current_uid_gid",
        [D; 5],
        Ret::Integer,
        Allowed::Tracing,
    ),
    p(
        16,
        "get_current_comm",
        [UninitMem, ConstSize, D, D, D],
        Ret::Integer,
        Allowed::Tracing,
    ),
    p(
        23,
        "redirect",
        [A, A, D, D, D],
        Ret::Integer,
        Allowed::XdpTc,
    ),
    p(
        25,
        "perf_event_output",
        [Ctx, ConstMapPtr, A, Mem, ConstSizeOrZero],
        Ret::Integer,
        Allowed::All,
    ),
    p(
        26,
        "skb_load_bytes",
        [Ctx, A, UninitMem, ConstSize, D],
        Ret::Integer,
        Allowed::Skb,
    ),
    pa(p(
        28,
        "csum_diff",
        [MemOrNull, ConstSizeOrZero, MemOrNull, ConstSizeOrZero, A],
        Ret::Integer,
        Allowed::XdpTc,
    )),
    p(
        13,
        "clone_redirect",
        [Ctx, A, A, D, D],
        Ret::Integer,
        Allowed::Tc,
    ),
    p(
        17,
        "get_cgroup_classid",
        [Ctx, D, D, D, D],
        Ret::Integer,
        Allowed::Tc,
    ),
    pkt(p(
        18,
        "skb_vlan_push",
        [Ctx, A, A, D, D],
        Ret::Integer,
        Allowed::Tc,
    )),
    pkt(p(
        19,
        "skb_vlan_pop",
        [Ctx, D, D, D, D],
        Ret::Integer,
        Allowed::Tc,
    )),
    p(
        20,
        "skb_get_tunnel_key",
        [Ctx, UninitMem, ConstSize, A, D],
        Ret::Integer,
        Allowed::Tc,
    ),
    p(
        21,
        "skb_set_tunnel_key",
        [Ctx, Mem, ConstSize, A, D],
        Ret::Integer,
        Allowed::Tc,
    ),
    p(
        22,
        "perf_event_read",
        [ConstMapPtr, A, D, D, D],
        Ret::Integer,
        Allowed::Tracing,
    ),
    p(
        24,
        "get_route_realm",
        [Ctx, D, D, D, D],
        Ret::Integer,
        Allowed::Tc,
    ),
    p(
        27,
        "get_stackid",
        [Ctx, ConstMapPtr, A, D, D],
        Ret::Integer,
        Allowed::Ids(TRACING_TYPES),
    ),
    pkt(p(
        31,
        "skb_change_proto",
        [Ctx, A, A, D, D],
        Ret::Integer,
        Allowed::Tc,
    )),
    p(
        32,
        "skb_change_type",
        [Ctx, A, D, D, D],
        Ret::Integer,
        Allowed::Tc,
    ),
    p(
        34,
        "get_hash_recalc",
        [Ctx, D, D, D, D],
        Ret::Integer,
        Allowed::Tc,
    ),
    p(35, "get_current_task", [D; 5], Ret::Integer, Allowed::All),
    p(
        36,
        "probe_write_user",
        [A, Mem, ConstSize, D, D],
        Ret::Integer,
        Allowed::Ids(TRACING_TYPES),
    ),
    pkt(p(
        38,
        "skb_change_tail",
        [Ctx, A, A, D, D],
        Ret::Integer,
        Allowed::Tc,
    )),
    pkt(p(
        39,
        "skb_pull_data",
        [Ctx, A, D, D, D],
        Ret::Integer,
        Allowed::Tc,
    )),
    p(
        40,
        "csum_update",
        [Ctx, A, D, D, D],
        Ret::Integer,
        Allowed::Tc,
    ),
    p(
        41,
        "set_hash_invalid",
        [Ctx, D, D, D, D],
        Ret::Integer,
        Allowed::Tc,
    ),
    pkt(p(
        43,
        "skb_change_head",
        [Ctx, A, A, D, D],
        Ret::Integer,
        Allowed::Ids(&[3, 4, 12]),
    )),
    p(
        45,
        "probe_read_str",
        [UninitMem, ConstSizeOrZero, A, D, D],
        Ret::Integer,
        Allowed::Ids(TRACING_TYPES),
    ),
    p(
        46,
        "get_socket_cookie",
        [Ctx, D, D, D, D],
        Ret::Integer,
        Allowed::Ids(&[1, 3, 4, 8, 9, 13, 14, 18]),
    ),
    p(
        47,
        "get_socket_uid",
        [Ctx, D, D, D, D],
        Ret::Integer,
        Allowed::Skb,
    ),
    p(48, "set_hash", [Ctx, A, D, D, D], Ret::Integer, Allowed::Tc),
    pkt(p(
        50,
        "skb_adjust_room",
        [Ctx, A, A, A, D],
        Ret::Integer,
        Allowed::Tc,
    )),
    p(
        58,
        "override_return",
        [Ctx, A, D, D, D],
        Ret::Integer,
        Allowed::Ids(&[2]),
    ),
    p(
        67,
        "get_stack",
        [Ctx, UninitMem, ConstSizeOrZero, A, D],
        Ret::Integer,
        Allowed::Ids(TRACING_TYPES),
    ),
    p(
        68,
        "skb_load_bytes_relative",
        [Ctx, A, UninitMem, ConstSize, A],
        Ret::Integer,
        Allowed::Skb,
    ),
    p(
        69,
        "fib_lookup",
        [Ctx, Mem, ConstSize, A, D],
        Ret::Integer,
        Allowed::XdpTc,
    ),
    p(
        79,
        "skb_cgroup_id",
        [Ctx, D, D, D, D],
        Ret::Integer,
        Allowed::Tc,
    ),
    p(
        80,
        "get_current_cgroup_id",
        [D; 5],
        Ret::Integer,
        Allowed::Tracing,
    ),
    p(
        105,
        "strtol",
        [Mem, ConstSize, A, FixedAlignedOut(8), D],
        Ret::Integer,
        Allowed::All,
    ),
    p(
        106,
        "strtoul",
        [Mem, ConstSize, A, FixedAlignedOut(8), D],
        Ret::Integer,
        Allowed::All,
    ),
    p(
        109,
        "send_signal",
        [A, D, D, D, D],
        Ret::Integer,
        Allowed::Ids(TRACING_TYPES),
    ),
    p(
        117,
        "send_signal_thread",
        [A, D, D, D, D],
        Ret::Integer,
        Allowed::Ids(TRACING_TYPES),
    ),
    p(
        122,
        "get_netns_cookie",
        [CtxOrNull, D, D, D, D],
        Ret::Integer,
        Allowed::Ids(&[3, 4, 8, 9, 13, 16, 18, 25]),
    ),
    p(
        123,
        "get_current_ancestor_cgroup_id",
        [A, D, D, D, D],
        Ret::Integer,
        Allowed::Tracing,
    ),
    p(
        163,
        "check_mtu",
        [Ctx, A, FixedAlignedOut(4), A, A],
        Ret::Integer,
        Allowed::XdpTc,
    ),
    p(
        29,
        "skb_get_tunnel_opt",
        [Ctx, UninitMem, ConstSize, D, D],
        Ret::Integer,
        Allowed::Tc,
    ),
    p(
        30,
        "skb_set_tunnel_opt",
        [Ctx, Mem, ConstSize, D, D],
        Ret::Integer,
        Allowed::Tc,
    ),
    p(
        33,
        "skb_under_cgroup",
        [Ctx, ConstMapPtr, A, D, D],
        Ret::Integer,
        Allowed::Tc,
    ),
    p(
        37,
        "current_task_under_cgroup",
        [ConstMapPtr, A, D, D, D],
        Ret::Integer,
        Allowed::Ids(TRACING_TYPES),
    ),
    p(
        55,
        "perf_event_read_value",
        [ConstMapPtr, A, UninitMem, ConstSize, D],
        Ret::Integer,
        Allowed::Ids(TRACING_TYPES),
    ),
    p(
        56,
        "perf_prog_read_value",
        [Ctx, UninitMem, ConstSize, D, D],
        Ret::Integer,
        Allowed::Ids(&[7]),
    ),
    p(
        152,
        "redirect_neigh",
        [A, MemOrNull, ConstSizeOrZero, A, D],
        Ret::Integer,
        Allowed::Tc,
    ),
    p(42, "get_numa_node_id", [D; 5], Ret::Integer, Allowed::All),
    pkt(p(
        44,
        "xdp_adjust_head",
        [Ctx, A, D, D, D],
        Ret::Integer,
        Allowed::Xdp,
    )),
    p(
        51,
        "redirect_map",
        [ConstMapPtr, A, A, D, D],
        Ret::Integer,
        Allowed::XdpTc,
    ),
    pkt(p(
        54,
        "xdp_adjust_meta",
        [Ctx, A, D, D, D],
        Ret::Integer,
        Allowed::Xdp,
    )),
    pkt(p(
        65,
        "xdp_adjust_tail",
        [Ctx, A, D, D, D],
        Ret::Integer,
        Allowed::Xdp,
    )),
    pa(p(
        87,
        "map_push_elem",
        [ConstMapPtr, MapValue, A, D, D],
        Ret::Integer,
        Allowed::All,
    )),
    pa(p(
        88,
        "map_pop_elem",
        [ConstMapPtr, UninitMapValue, D, D, D],
        Ret::Integer,
        Allowed::All,
    )),
    pa(p(
        89,
        "map_peek_elem",
        [ConstMapPtr, UninitMapValue, D, D, D],
        Ret::Integer,
        Allowed::All,
    )),
    p(
        112,
        "probe_read_user",
        [UninitMem, ConstSizeOrZero, A, D, D],
        Ret::Integer,
        Allowed::All,
    ),
    p(
        113,
        "probe_read_kernel",
        [UninitMem, ConstSizeOrZero, A, D, D],
        Ret::Integer,
        Allowed::All,
    ),
    p(
        114,
        "probe_read_user_str",
        [UninitMem, ConstSizeOrZero, A, D, D],
        Ret::Integer,
        Allowed::All,
    ),
    p(
        115,
        "probe_read_kernel_str",
        [UninitMem, ConstSizeOrZero, A, D, D],
        Ret::Integer,
        Allowed::All,
    ),
    p(118, "jiffies64", [D; 5], Ret::Integer, Allowed::All),
    p(125, "ktime_get_boot_ns", [D; 5], Ret::Integer, Allowed::All),
    p(
        130,
        "ringbuf_output",
        [ConstMapPtr, Mem, ConstSizeOrZero, A, D],
        Ret::Integer,
        Allowed::All,
    ),
    p(
        131,
        "ringbuf_reserve",
        [ConstMapPtr, ConstAllocSize, A, D, D],
        Ret::RingbufMemOrNull,
        Allowed::All,
    ),
    p(
        132,
        "ringbuf_submit",
        [ReleaseRingbufMem, A, D, D, D],
        Ret::Void,
        Allowed::All,
    ),
    p(
        133,
        "ringbuf_discard",
        [ReleaseRingbufMem, A, D, D, D],
        Ret::Void,
        Allowed::All,
    ),
    p(
        134,
        "ringbuf_query",
        [ConstMapPtr, A, D, D, D],
        Ret::Integer,
        Allowed::All,
    ),
    p(
        160,
        "ktime_get_coarse_ns",
        [D; 5],
        Ret::Integer,
        Allowed::NotTracing,
    ),
    // Offered to the tracing types; the call itself then accepts only kprobe (uprobes
    // too) and fentry/fexit/fmod_ret tracing programs (`check_get_func_ip`).
    p(
        173,
        "get_func_ip",
        [Ctx, D, D, D, D],
        Ret::Integer,
        Allowed::Ids(TRACING_TYPES),
    ),
    p(
        164,
        "for_each_map_elem",
        [ConstMapPtr, Func, A, A, D],
        Ret::Integer,
        Allowed::All,
    ),
    p(
        165,
        "snprintf",
        [
            MemOrNull,
            ConstSizeOrZero,
            ConstStr,
            MemOrNull,
            ConstSizeOrZero,
        ],
        Ret::Integer,
        Allowed::All,
    ),
    p(
        177,
        "trace_vprintk",
        [Mem, ConstSize, MemOrNull, ConstSizeOrZero, D],
        Ret::Integer,
        Allowed::All,
    ),
    p(181, "loop", [A, Func, A, A, D], Ret::Integer, Allowed::All),
    // sock_ops (13) and cgroup_sock_addr (18): socket options of the program's socket.
    p(
        49,
        "setsockopt",
        [Ctx, A, A, Mem, ConstSize],
        Ret::Integer,
        Allowed::Ids(&[13, 18]),
    ),
    p(
        57,
        "getsockopt",
        [Ctx, A, A, UninitMem, ConstSize],
        Ret::Integer,
        Allowed::Ids(&[13, 18]),
    ),
    p(
        59,
        "sock_ops_cb_flags_set",
        [Ctx, A, D, D, D],
        Ret::Integer,
        Allowed::Ids(&[13]),
    ),
    p(
        182,
        "strncmp",
        [Mem, ConstSize, ConstStr, D, D],
        Ret::Integer,
        Allowed::All,
    ),
    p(208, "ktime_get_tai_ns", [D; 5], Ret::Integer, Allowed::All),
    pa(p(
        84,
        "sk_lookup_tcp",
        [Ctx, Mem, ConstSize, A, A],
        Ret::AcquiredSockOrNull { common: false },
        Allowed::Ids(SK_LOOKUP_TYPES),
    )),
    pa(p(
        85,
        "sk_lookup_udp",
        [Ctx, Mem, ConstSize, A, A],
        Ret::AcquiredSockOrNull { common: false },
        Allowed::Ids(SK_LOOKUP_TYPES),
    )),
    pa(p(
        99,
        "skc_lookup_tcp",
        [Ctx, Mem, ConstSize, A, A],
        Ret::AcquiredSockOrNull { common: true },
        Allowed::Ids(SK_LOOKUP_TYPES),
    )),
    p(
        86,
        "sk_release",
        [ReleaseSock, D, D, D, D],
        Ret::Integer,
        Allowed::Ids(&[3, 6, 14, 18, 30]),
    ),
    p(
        95,
        "sk_fullsock",
        [SockCommon, D, D, D, D],
        Ret::CastSockOrNull { tcp: false },
        Allowed::Ids(&[3, 8]),
    ),
    p(
        96,
        "tcp_sock",
        [SockCommon, D, D, D, D],
        Ret::CastSockOrNull { tcp: true },
        Allowed::Ids(&[3, 8]),
    ),
    p(
        98,
        "get_listener_sock",
        [SockCommon, D, D, D, D],
        Ret::SockOrNull,
        Allowed::Ids(&[3, 8]),
    ),
    p(
        53,
        "sock_map_update",
        [Ctx, ConstMapPtr, MapKey, A, D],
        Ret::Integer,
        Allowed::Ids(&[13]),
    ),
    p(
        70,
        "sock_hash_update",
        [Ctx, ConstMapPtr, MapKey, A, D],
        Ret::Integer,
        Allowed::Ids(&[13]),
    ),
    p(
        188,
        "xdp_get_buff_len",
        [Ctx, D, D, D, D],
        Ret::Integer,
        Allowed::Xdp,
    ),
    p(
        189,
        "xdp_load_bytes",
        [Ctx, A, UninitMem, ConstSize, D],
        Ret::Integer,
        Allowed::Xdp,
    ),
    p(
        190,
        "xdp_store_bytes",
        [Ctx, A, Mem, ConstSize, D],
        Ret::Integer,
        Allowed::Xdp,
    ),
    p(
        107,
        "sk_storage_get",
        [ConstMapPtr, SockCommon, NullableMapValue, A, D],
        Ret::MapValueOrNull,
        Allowed::Ids(SK_STORAGE_TYPES),
    ),
    p(
        108,
        "sk_storage_delete",
        [ConstMapPtr, SockCommon, D, D, D],
        Ret::Integer,
        Allowed::Ids(SK_STORAGE_TYPES),
    ),
    p(
        124,
        "sk_assign",
        [Ctx, SockCommon, A, D, D],
        Ret::Integer,
        Allowed::Ids(&[3]),
    ),
];

/// Program types with the socket storage helpers (socket filter, tc, cgroup_skb, sock_ops,
/// cgroup_sock_addr, cgroup_sockopt, tracing, lsm).
const SK_STORAGE_TYPES: &[u32] = &[1, 3, 4, 8, 13, 18, 25, 26, 29];

/// Program types with the socket lookup helpers (tc, xdp, sk_skb, cgroup_sock_addr).
const SK_LOOKUP_TYPES: &[u32] = &[3, 6, 14, 18];

/// One past the kernel's last helper id (`__BPF_FUNC_MAX_ID`, Linux 6.1 to 6.18): calls
/// of ids outside `0..FUNC_MAX_ID` are "invalid func".
pub const FUNC_MAX_ID: i32 = 212;

/// The prototype of helper `id`: a kernel helper, or a userbpf built-in
/// ([`crate::builtins`], ids from [`FUNC_MAX_ID`] on).
pub fn proto(id: i32) -> Option<&'static Proto> {
    PROTOS
        .iter()
        .find(|p| p.id == id)
        .or_else(|| crate::builtins::proto(id))
}

/// Kernel numbers of the tracing program types (kprobe, tracepoint, perf_event,
/// raw_tracepoint, raw_tracepoint_writable, tracing, lsm).
pub const TRACING_TYPES: &[u32] = &[2, 5, 7, 17, 24, 26, 29];
/// Kernel numbers of the cgroup program types that see the current task (cgroup_skb,
/// cgroup_sock, cgroup_device, cgroup_sock_addr, cgroup_sysctl, cgroup_sockopt).
const CGROUP_TYPES: &[u32] = &[8, 9, 15, 18, 23, 25];

/// The helpers a program on one of userbpf's syscall hooks may call beyond the kernel's
/// rules for its program type ([`crate::Options::syscall_hook`]): `bpf_override_return`,
/// `bpf_send_signal`, `bpf_send_signal_thread`.
pub const SYSCALL_HOOK_HELPERS: &[i32] = &[58, 109, 117];

/// Whether `pt` may call the helper, with `syscall_hook` set when the program runs on
/// userbpf's syscall hooks (a tracepoint or raw tracepoint program that may also enforce,
/// see [`SYSCALL_HOOK_HELPERS`]).
pub fn allowed_on(proto: &Proto, pt: ProgType, syscall_hook: bool) -> bool {
    let hook_type = matches!(pt.kernel_id(), 5 | 17);
    allowed(proto, pt) || (syscall_hook && hook_type && SYSCALL_HOOK_HELPERS.contains(&proto.id))
}

/// Whether `pt` may call the helper (the kernel's rules).
pub fn allowed(proto: &Proto, pt: ProgType) -> bool {
    let id = pt.kernel_id();
    let raw = matches!(pt, ProgType::Raw { .. } | ProgType::Other(0));
    match proto.allowed {
        Allowed::All => true,
        Allowed::Tracing => raw || TRACING_TYPES.contains(&id) || CGROUP_TYPES.contains(&id),
        // socket filter, tc, cgroup_skb, lwt, sk_skb
        Allowed::Skb => raw || matches!(id, 1 | 3 | 4 | 8 | 10 | 11 | 12 | 14),
        Allowed::Tc => raw || matches!(id, 3 | 4),
        Allowed::Xdp => raw || id == 6,
        Allowed::XdpTc => raw || matches!(id, 3 | 4 | 6),
        Allowed::NotTracing => !TRACING_TYPES.contains(&id),
        Allowed::Ids(ids) => raw || ids.contains(&id),
    }
}
