//! What the verifier is given.
//!
//! Takes nothing; gives [`VerifierInput`]: the program, its [`ProgType`] (which decides the
//! context layout and the helpers allowed), the [`MapInfo`] of every map the program refers
//! to, and [`Options`]. Independent of the object loader and the runtime maps: they fill
//! these plain values in.

use userbpf_isa::Program;

/// Program types, with the context each one receives in r1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ProgType {
    /// `BPF_PROG_TYPE_SOCKET_FILTER`: `__sk_buff`, read-only except `cb[]`, no direct
    /// packet access.
    #[doc(alias = "BPF_PROG_TYPE_SOCKET_FILTER")]
    SocketFilter,
    /// `BPF_PROG_TYPE_SCHED_CLS` (tc): `__sk_buff` with direct packet access.
    #[doc(alias = "BPF_PROG_TYPE_SCHED_CLS")]
    SchedCls,
    /// `BPF_PROG_TYPE_XDP`: `xdp_md`.
    #[doc(alias = "BPF_PROG_TYPE_XDP")]
    Xdp,
    /// Plain bytecode run on a buffer (`userbpf run --raw`): r1 points to `size` readable and
    /// writable bytes, r2 holds `size`.
    Raw {
        /// Size of the input buffer in bytes.
        size: u32,
    },
    /// Any other kernel program type by number: no context fields are known yet, so
    /// context accesses are rejected.
    Other(u32),
}

impl ProgType {
    /// The kernel's `enum bpf_prog_type` number (0 for [`ProgType::Raw`]).
    pub fn kernel_id(self) -> u32 {
        match self {
            ProgType::SocketFilter => 1,
            ProgType::SchedCls => 3,
            ProgType::Xdp => 6,
            ProgType::Raw { .. } => 0,
            ProgType::Other(n) => n,
        }
    }

    /// From the kernel's number (`Other` for types without a context table).
    pub fn from_kernel_id(id: u32) -> ProgType {
        match id {
            1 => ProgType::SocketFilter,
            3 => ProgType::SchedCls,
            6 => ProgType::Xdp,
            n => ProgType::Other(n),
        }
    }

    /// Whether the context is an `__sk_buff`.
    pub fn is_skb(self) -> bool {
        matches!(self, ProgType::SocketFilter | ProgType::SchedCls)
    }
}

/// Kernel map type numbers (`enum bpf_map_type`) the verifier distinguishes.
pub mod map_type {
    /// `BPF_MAP_TYPE_HASH`
    pub const HASH: u32 = 1;
    /// `BPF_MAP_TYPE_ARRAY`
    pub const ARRAY: u32 = 2;
    /// `BPF_MAP_TYPE_PROG_ARRAY`
    pub const PROG_ARRAY: u32 = 3;
    /// `BPF_MAP_TYPE_PERF_EVENT_ARRAY`
    pub const PERF_EVENT_ARRAY: u32 = 4;
    /// `BPF_MAP_TYPE_PERCPU_HASH`
    pub const PERCPU_HASH: u32 = 5;
    /// `BPF_MAP_TYPE_PERCPU_ARRAY`
    pub const PERCPU_ARRAY: u32 = 6;
    /// `BPF_MAP_TYPE_STACK_TRACE`
    pub const STACK_TRACE: u32 = 7;
    /// `BPF_MAP_TYPE_CGROUP_ARRAY`
    pub const CGROUP_ARRAY: u32 = 8;
    /// `BPF_MAP_TYPE_LRU_HASH`
    pub const LRU_HASH: u32 = 9;
    /// `BPF_MAP_TYPE_ARRAY_OF_MAPS`
    pub const ARRAY_OF_MAPS: u32 = 12;
    /// `BPF_MAP_TYPE_HASH_OF_MAPS`
    pub const HASH_OF_MAPS: u32 = 13;
    /// `BPF_MAP_TYPE_DEVMAP`
    pub const DEVMAP: u32 = 14;
    /// `BPF_MAP_TYPE_SOCKMAP`
    pub const SOCKMAP: u32 = 15;
    /// `BPF_MAP_TYPE_CPUMAP`
    pub const CPUMAP: u32 = 16;
    /// `BPF_MAP_TYPE_XSKMAP`
    pub const XSKMAP: u32 = 17;
    /// `BPF_MAP_TYPE_SOCKHASH`
    pub const SOCKHASH: u32 = 18;
    /// `BPF_MAP_TYPE_CGROUP_STORAGE`
    pub const CGROUP_STORAGE: u32 = 19;
    /// `BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE`
    pub const PERCPU_CGROUP_STORAGE: u32 = 21;
    /// `BPF_MAP_TYPE_SK_STORAGE`
    pub const SK_STORAGE: u32 = 24;
    /// `BPF_MAP_TYPE_DEVMAP_HASH`
    pub const DEVMAP_HASH: u32 = 25;
    /// `BPF_MAP_TYPE_INODE_STORAGE`
    pub const INODE_STORAGE: u32 = 28;
    /// `BPF_MAP_TYPE_TASK_STORAGE`
    pub const TASK_STORAGE: u32 = 29;
    /// `BPF_MAP_TYPE_BLOOM_FILTER`
    pub const BLOOM_FILTER: u32 = 30;
    /// `BPF_MAP_TYPE_USER_RINGBUF`
    pub const USER_RINGBUF: u32 = 31;
    /// `BPF_MAP_TYPE_CGRP_STORAGE`
    pub const CGRP_STORAGE: u32 = 32;
    /// `BPF_MAP_TYPE_QUEUE`
    pub const QUEUE: u32 = 22;
    /// `BPF_MAP_TYPE_STACK`
    pub const STACK: u32 = 23;
    /// `BPF_MAP_TYPE_RINGBUF`
    pub const RINGBUF: u32 = 27;
}

/// Kernel attach type numbers (`enum bpf_attach_type`) that change what the verifier allows.
pub mod attach_type {
    #![allow(missing_docs)]
    pub const CGROUP_INET_INGRESS: u32 = 0;
    pub const CGROUP_INET_EGRESS: u32 = 1;
    pub const CGROUP_INET_SOCK_CREATE: u32 = 2;
    pub const CGROUP_SOCK_OPS: u32 = 3;
    pub const SK_SKB_STREAM_PARSER: u32 = 4;
    pub const SK_SKB_STREAM_VERDICT: u32 = 5;
    pub const CGROUP_DEVICE: u32 = 6;
    pub const SK_MSG_VERDICT: u32 = 7;
    pub const CGROUP_INET4_BIND: u32 = 8;
    pub const CGROUP_INET6_BIND: u32 = 9;
    pub const CGROUP_INET4_CONNECT: u32 = 10;
    pub const CGROUP_INET6_CONNECT: u32 = 11;
    pub const CGROUP_INET4_POST_BIND: u32 = 12;
    pub const CGROUP_INET6_POST_BIND: u32 = 13;
    pub const CGROUP_UDP4_SENDMSG: u32 = 14;
    pub const CGROUP_UDP6_SENDMSG: u32 = 15;
    pub const FLOW_DISSECTOR: u32 = 17;
    pub const CGROUP_SYSCTL: u32 = 18;
    pub const CGROUP_UDP4_RECVMSG: u32 = 19;
    pub const CGROUP_UDP6_RECVMSG: u32 = 20;
    pub const CGROUP_GETSOCKOPT: u32 = 21;
    pub const CGROUP_SETSOCKOPT: u32 = 22;
    pub const TRACE_RAW_TP: u32 = 23;
    pub const TRACE_FENTRY: u32 = 24;
    pub const TRACE_FEXIT: u32 = 25;
    pub const MODIFY_RETURN: u32 = 26;
    pub const LSM_MAC: u32 = 27;
    pub const TRACE_ITER: u32 = 28;
    pub const CGROUP_INET4_GETPEERNAME: u32 = 29;
    pub const CGROUP_INET6_GETPEERNAME: u32 = 30;
    pub const CGROUP_INET4_GETSOCKNAME: u32 = 31;
    pub const CGROUP_INET6_GETSOCKNAME: u32 = 32;
    pub const XDP_DEVMAP: u32 = 33;
    pub const CGROUP_INET_SOCK_RELEASE: u32 = 34;
    pub const XDP_CPUMAP: u32 = 35;
    pub const SK_LOOKUP: u32 = 36;
    pub const XDP: u32 = 37;
    pub const LSM_CGROUP: u32 = 43;
    pub const NETFILTER: u32 = 45;
    pub const TCX_INGRESS: u32 = 46;
    pub const TCX_EGRESS: u32 = 47;
    pub const CGROUP_UNIX_CONNECT: u32 = 49;
    pub const CGROUP_UNIX_SENDMSG: u32 = 50;
    pub const CGROUP_UNIX_RECVMSG: u32 = 51;
    pub const CGROUP_UNIX_GETPEERNAME: u32 = 52;
    pub const CGROUP_UNIX_GETSOCKNAME: u32 = 53;
}

/// `BPF_F_RDONLY_PROG`: the program may not write map values.
pub const BPF_F_RDONLY_PROG: u32 = 1 << 7;
/// `BPF_F_WRONLY_PROG`: the program may not read map values.
pub const BPF_F_WRONLY_PROG: u32 = 1 << 8;

/// What the verifier needs to know about one map.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MapInfo {
    /// `enum bpf_map_type` (see [`map_type`]).
    pub map_type: u32,
    /// Key size in bytes.
    pub key_size: u32,
    /// Value size in bytes.
    pub value_size: u32,
    /// Maximum number of entries.
    pub max_entries: u32,
    /// `map_flags`.
    pub flags: u32,
    /// The file descriptor `lddw rX, map_fd` instructions use for this map (`BPF_PSEUDO_MAP_FD`);
    /// `BPF_PSEUDO_MAP_IDX` instructions use the index into [`VerifierInput::maps`] instead.
    pub fd: Option<i32>,
    /// For maps of maps (`ARRAY_OF_MAPS`, `HASH_OF_MAPS`): the index in
    /// [`VerifierInput::maps`] of the inner map's template. A lookup then gives, after its
    /// null check, a pointer to that map rather than to a value.
    pub inner_map: Option<u32>,
    /// The contents of a frozen, read-only array map of one element (`BPF_F_RDONLY_PROG`,
    /// frozen as libbpf freezes `.rodata` after loading): loads at a constant offset from
    /// its value give known scalars, as the kernel's `bpf_map_direct_read`. Only set when
    /// the runtime guarantees nobody writes the value after verification; `None` otherwise.
    pub frozen: Option<std::sync::Arc<[u8]>>,
}

/// Verifier settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Options {
    /// 0: no log; 1: instructions as processed and states at branch points; 2: the state
    /// after every instruction.
    pub log_level: u32,
    /// Treat reads of uninitialised stack as unknown scalars, as the kernel does for
    /// programs loaded with CAP_PERFMON. Off by default: such reads are rejected.
    pub allow_uninit_stack: bool,
    /// Processed-instruction limit (the kernel's `BPF_COMPLEXITY_LIMIT_INSNS`).
    pub max_insns: u64,
    /// The program's `expected_attach_type` (see [`attach_type`]): decides, for some program
    /// types, the context fields allowed and the range r0 must lie in at exit.
    pub expected_attach_type: u32,
    /// Record a checkpoint at every prune point (the kernel's `BPF_F_TEST_STATE_FREQ`), not
    /// only every few instructions: more pruning, to test it.
    pub test_state_freq: bool,
    /// Debug mode: keep, per instruction, the join of the register states the analysis saw
    /// there ([`crate::VerifiedProgram::states_at`]), to check that concrete runs stay within
    /// them (state embedding). Pruning stays on: the state of a pruned path is recorded at
    /// the prune point, and what the pruning relied on (live pointers, live precise scalars,
    /// stack slots read below) is kept per instruction
    /// ([`crate::VerifiedProgram::pruned_at`]): below a pruned path, a concrete run lies in
    /// the recorded states only in those.
    pub record_states: bool,
    /// userbpf's syscall hooks (`userbpf trace`): the program runs at a syscall stop of the
    /// ptrace hook, which can make the syscall fail or change its result, so the
    /// enforcement helpers the kernel offers only to kprobes (`bpf_override_return`, 58) are
    /// allowed beside `bpf_send_signal` (109) and `bpf_send_signal_thread` (117).
    /// [`crate::object_input::privileged_options`] sets it for the syscall sections
    /// (`tracepoint/syscalls/sys_{enter,exit}_*`, `raw_tracepoint/sys_{enter,exit}` and their
    /// short forms); off, the kernel's rules apply unchanged.
    pub syscall_hook: bool,
    /// For LSM programs (`lsm/NAME`): the kind of hook they attach to, which the kernel reads
    /// from the hook's BTF prototype and which decides the range r0 must lie in at exit
    /// ([`crate::lsm::section_hook`] gives it from the section name). `None`: not known, no
    /// range is checked.
    pub lsm_hook: Option<LsmHook>,
}

/// The kinds of LSM hooks (see [`crate::lsm`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LsmHook {
    /// Returns 0 or a negative errno: r0 in [-4095, 0].
    Errno,
    /// Returns 0 or 1.
    Bool,
    /// Returns nothing: any r0 (1 for `lsm_cgroup`).
    Void,
    /// BPF programs may not attach there.
    Disabled,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            log_level: 0,
            allow_uninit_stack: false,
            max_insns: 1_000_000,
            expected_attach_type: 0,
            test_state_freq: false,
            record_states: false,
            syscall_hook: false,
            lsm_hook: None,
        }
    }
}

/// Everything `verify` needs.
#[derive(Clone, Copy, Debug)]
pub struct VerifierInput<'a> {
    /// The program (maps referenced by fd or index, not yet by address).
    pub program: &'a Program,
    /// Program type.
    pub prog_type: ProgType,
    /// The maps the program refers to.
    pub maps: &'a [MapInfo],
    /// Settings.
    pub options: Options,
}

impl<'a> VerifierInput<'a> {
    /// A program of `prog_type` without maps, default options.
    pub fn new(program: &'a Program, prog_type: ProgType) -> Self {
        VerifierInput {
            program,
            prog_type,
            maps: &[],
            options: Options::default(),
        }
    }
}
