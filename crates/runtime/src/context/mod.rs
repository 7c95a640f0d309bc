//! Program contexts: what `r1` points to when a program starts, per program type.
//!
//! Takes a decoded [`Program`](userbpf_isa::Program) and its [`ProgType`]; gives
//!
//! - the kernel's UAPI layouts (`struct xdp_md`, `struct __sk_buff`, `struct pt_regs`, ...)
//!   and the runtime layouts the program really reads, which hold real 64-bit pointers
//!   (the kernel's `xdp_buff` and `sk_buff` play this role): [`xdp`], [`skb`], [`tracing`];
//! - which context fields each program type may read or write, with the kernel's message
//!   `invalid bpf_context access off=%d size=%d` for the others ([`check_access`]);
//! - [`find_context_accesses`], a provenance analysis that finds the loads and stores whose
//!   base register is the context ([`provenance`]; the verifier's facts will replace it);
//! - [`rewrite_context_accesses`], the kernel's `convert_ctx_access` step: each UAPI access
//!   becomes an access of the runtime layout ([`rewrite`]);
//! - [`test_run_program`], `BPF_PROG_TEST_RUN` semantics per type ([`test_run`]);
//! - the packet helpers that work on these contexts ([`packet_helpers`]);
//! - [`XdpFrame`], the XDP test run made once and reused packet after packet ([`xdp_frame`]).
//!
//! Every runtime layout starts with an image of the UAPI structure (so most fields are read
//! at their UAPI offset, unchanged) followed by the real pointers; a UAPI pointer field
//! (`xdp_md.data`, a `u32`) becomes one 8-byte load of the pointer. Rewriting therefore keeps
//! the instruction count, except for the few stores the kernel also expands.
//!
//! ```
//! use userbpf_isa::{asm::assemble, Program};
//! use userbpf_runtime::context::{find_context_accesses, rewrite_context_accesses, ProgType};
//! // w2 = xdp_md.data; w3 = xdp_md.data_end
//! let p = Program::from_insns(assemble("r2 = *(u32 *)(r1 + 0)\nr3 = *(u32 *)(r1 + 4)\nr0 = 2\nexit").unwrap());
//! let facts = find_context_accesses(&p).unwrap();
//! let out = rewrite_context_accesses(&p, ProgType::Xdp, &facts).unwrap();
//! assert_eq!(out.insns().len(), 4);
//! ```

pub mod csum;
pub mod packet_helpers;
pub mod provenance;
pub mod rewrite;
pub mod skb;
pub mod test_run;
pub mod tracing;
pub mod xdp;
pub mod xdp_frame;

use thiserror::Error;
use userbpf_isa::MemSize;

pub use packet_helpers::{register_packet_helpers, take_redirect, Redirect, RedirectMap};
pub use provenance::{find_context_accesses, CtxAccess, CtxAccessFacts, CtxAccessKind};
pub use rewrite::rewrite_context_accesses;
pub use test_run::{
    test_run_program, test_run_program_with, TestRunError, TestRunInput, TestRunOutput,
};
pub use xdp_frame::{may_redirect, may_write_outside_packet, reads_packet_only, XdpFrame, XdpRun};

/// Program types whose contexts this module knows (`enum bpf_prog_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ProgType {
    /// `BPF_PROG_TYPE_SOCKET_FILTER`: `__sk_buff`, data at the network header, read-only.
    #[doc(alias = "BPF_PROG_TYPE_SOCKET_FILTER")]
    SocketFilter,
    /// `BPF_PROG_TYPE_KPROBE` (kprobes and uprobes): `struct pt_regs`.
    #[doc(alias = "BPF_PROG_TYPE_KPROBE")]
    Kprobe,
    /// `BPF_PROG_TYPE_SCHED_CLS` (tc): `__sk_buff`, data at the MAC header, writable.
    #[doc(alias = "BPF_PROG_TYPE_SCHED_CLS")]
    SchedCls,
    /// `BPF_PROG_TYPE_SCHED_ACT`: as `SchedCls`.
    #[doc(alias = "BPF_PROG_TYPE_SCHED_ACT")]
    SchedAct,
    /// `BPF_PROG_TYPE_TRACEPOINT`: the raw tracepoint record.
    #[doc(alias = "BPF_PROG_TYPE_TRACEPOINT")]
    Tracepoint,
    /// `BPF_PROG_TYPE_XDP`: `xdp_md`.
    #[doc(alias = "BPF_PROG_TYPE_XDP")]
    Xdp,
    /// `BPF_PROG_TYPE_PERF_EVENT`: `struct bpf_perf_event_data`.
    #[doc(alias = "BPF_PROG_TYPE_PERF_EVENT")]
    PerfEvent,
    /// `BPF_PROG_TYPE_CGROUP_SKB`: `__sk_buff`, data at the network header, read-only.
    #[doc(alias = "BPF_PROG_TYPE_CGROUP_SKB")]
    CgroupSkb,
    /// `BPF_PROG_TYPE_RAW_TRACEPOINT`: `struct bpf_raw_tracepoint_args`.
    #[doc(alias = "BPF_PROG_TYPE_RAW_TRACEPOINT")]
    RawTracepoint,
}

impl ProgType {
    /// Every type this module knows.
    pub const ALL: [ProgType; 9] = [
        ProgType::SocketFilter,
        ProgType::Kprobe,
        ProgType::SchedCls,
        ProgType::SchedAct,
        ProgType::Tracepoint,
        ProgType::Xdp,
        ProgType::PerfEvent,
        ProgType::CgroupSkb,
        ProgType::RawTracepoint,
    ];

    /// The kernel's number (`enum bpf_prog_type`).
    pub const fn id(self) -> u32 {
        match self {
            ProgType::SocketFilter => 1,
            ProgType::Kprobe => 2,
            ProgType::SchedCls => 3,
            ProgType::SchedAct => 4,
            ProgType::Tracepoint => 5,
            ProgType::Xdp => 6,
            ProgType::PerfEvent => 7,
            ProgType::CgroupSkb => 8,
            ProgType::RawTracepoint => 17,
        }
    }

    /// The type with kernel number `id`, if this module knows it.
    pub fn from_id(id: u32) -> Option<ProgType> {
        ProgType::ALL.into_iter().find(|t| t.id() == id)
    }

    /// Whether the context is a `__sk_buff`.
    pub const fn is_skb(self) -> bool {
        matches!(
            self,
            ProgType::SocketFilter | ProgType::SchedCls | ProgType::SchedAct | ProgType::CgroupSkb
        )
    }

    /// Size of the runtime context structure the program's `r1` points to (0 when it is the
    /// caller's bytes, as for tracepoints and raw tracepoints).
    pub const fn runtime_size(self) -> usize {
        match self {
            ProgType::Xdp => xdp::RUNTIME_SIZE,
            ProgType::SocketFilter
            | ProgType::SchedCls
            | ProgType::SchedAct
            | ProgType::CgroupSkb => skb::RUNTIME_SIZE,
            ProgType::Kprobe => tracing::PT_REGS_SIZE,
            ProgType::PerfEvent => tracing::PERF_EVENT_DATA_SIZE,
            ProgType::Tracepoint | ProgType::RawTracepoint => 0,
        }
    }
}

impl std::fmt::Display for ProgType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ProgType::SocketFilter => "socket_filter",
            ProgType::Kprobe => "kprobe",
            ProgType::SchedCls => "sched_cls",
            ProgType::SchedAct => "sched_act",
            ProgType::Tracepoint => "tracepoint",
            ProgType::Xdp => "xdp",
            ProgType::PerfEvent => "perf_event",
            ProgType::CgroupSkb => "cgroup_skb",
            ProgType::RawTracepoint => "raw_tracepoint",
        })
    }
}

/// Why context accesses cannot be found or rewritten. Every variant names the instruction
/// (index into [`Program::insns`](userbpf_isa::Program::insns)); the messages are the kernel
/// verifier's where it has one.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum ContextError {
    /// An offset, size or direction the program type does not allow.
    #[error("instruction {insn}: invalid bpf_context access off={off} size={size}")]
    InvalidAccess {
        /// Instruction index.
        insn: usize,
        /// Offset into the UAPI context structure.
        off: i64,
        /// Access size in bytes.
        size: usize,
    },
    /// The context pointer was moved by a constant before the access.
    #[error("instruction {insn}: dereference of modified ctx ptr R{reg} off={off} disallowed")]
    ModifiedCtx {
        /// Instruction index.
        insn: usize,
        /// Base register.
        reg: u8,
        /// Constant added to the context pointer.
        off: i64,
    },
    /// The context pointer was moved by a variable amount before the access.
    #[error("instruction {insn}: variable ctx access var_off=(unknown) disallowed (R{reg})")]
    VariableCtx {
        /// Instruction index.
        insn: usize,
        /// Base register.
        reg: u8,
    },
    /// The base register is the context on some paths and something else on others.
    #[error(
        "instruction {insn}: same insn cannot be used with different pointers \
         (R{reg} is the context on some paths and not on others)"
    )]
    MixedPointer {
        /// Instruction index.
        insn: usize,
        /// Base register.
        reg: u8,
    },
    /// An atomic operation or immediate store on the context.
    #[error("instruction {insn}: {what} stores into R{reg} ctx is not allowed")]
    BadStore {
        /// Instruction index.
        insn: usize,
        /// Base register.
        reg: u8,
        /// `BPF_ATOMIC` or `BPF_ST`.
        what: &'static str,
    },
    /// A field the kernel offers but user space cannot provide.
    #[error("instruction {insn}: {what} is not supported in user space")]
    Unsupported {
        /// Instruction index.
        insn: usize,
        /// What the access is.
        what: String,
    },
    /// The analysis cannot follow the program.
    #[error("instruction {insn}: context analysis: {why}")]
    Analysis {
        /// Instruction index.
        insn: usize,
        /// What went wrong.
        why: String,
    },
    /// A legacy packet load (`BPF_LD | BPF_ABS/BPF_IND`) the kernel refuses here (the
    /// kernel's message).
    #[error("instruction {insn}: {why}")]
    LdAbs {
        /// Instruction index.
        insn: usize,
        /// The kernel's message.
        why: String,
    },
    /// Rewriting made a jump too long for its 16-bit offset.
    #[error("instruction {insn}: jump offset out of range after rewriting context accesses")]
    JumpRange {
        /// Instruction index (in the original program).
        insn: usize,
    },
}

/// Whether an access reads or writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// A load.
    Read,
    /// A store.
    Write,
}

/// How one valid UAPI access maps onto the runtime layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldAccess {
    /// Access `size` bytes at this runtime offset (same size as the UAPI access).
    Same {
        /// Runtime offset.
        off: i16,
    },
    /// A UAPI `u32` pointer field: one 8-byte load at this runtime offset.
    Pointer {
        /// Runtime offset of the 64-bit pointer.
        off: i16,
    },
    /// A 4-byte store into a 16-bit kernel field (`tc_index`, `tc_classid`): a 2-byte store
    /// at this runtime offset.
    Store16 {
        /// Runtime offset.
        off: i16,
    },
    /// `__sk_buff.queue_mapping` store: 2-byte store, skipped when the value is `>= 0xffff`
    /// (`NO_QUEUE_MAPPING`), as the kernel does.
    QueueMapping {
        /// Runtime offset.
        off: i16,
    },
    /// A pointer field to a kernel object user space does not have (`__sk_buff.sk`): the
    /// load becomes `dst = 0`, NULL, which the kernel's field may be too (the verifier
    /// makes programs check it before use).
    Null,
}

/// Check a context access of `size` bytes at UAPI offset `off` for `prog_type`, as the
/// kernel's `is_valid_access` does, and say how it maps onto the runtime layout.
///
/// # Errors
/// [`ContextError::InvalidAccess`] (with `insn` 0: callers fill it in).
pub fn check_access(
    prog_type: ProgType,
    off: i64,
    size: MemSize,
    dir: Direction,
) -> Result<FieldAccess, ContextError> {
    let invalid = || ContextError::InvalidAccess {
        insn: 0,
        off,
        size: size.bytes(),
    };
    let found = match prog_type {
        ProgType::Xdp => xdp::access(off, size, dir),
        t if t.is_skb() => skb::access(t, off, size, dir),
        t => tracing::access(t, off, size, dir),
    };
    found.ok_or_else(invalid)
}

#[inline]
fn put_u32(buf: &mut [u8], off: usize, v: u32) {
    buf[off..off + 4].copy_from_slice(&v.to_le_bytes());
}

#[inline]
fn put_u64(buf: &mut [u8], off: usize, v: u64) {
    buf[off..off + 8].copy_from_slice(&v.to_le_bytes());
}

#[inline]
fn get_u32(buf: &[u8], off: usize) -> u32 {
    u32::from_le_bytes(buf[off..off + 4].try_into().expect("4 bytes"))
}

#[inline]
fn get_u64(buf: &[u8], off: usize) -> u64 {
    u64::from_le_bytes(buf[off..off + 8].try_into().expect("8 bytes"))
}
