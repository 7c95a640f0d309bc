//! Tracing contexts: tracepoint records, raw tracepoint arguments, `struct pt_regs` for
//! kprobes and uprobes, and `struct bpf_perf_event_data`.
//!
//! Takes nothing; gives the layouts and the access rules of the kernel's
//! `tp_prog_is_valid_access`, `raw_tp_prog_is_valid_access`, `kprobe_prog_is_valid_access`
//! and `pe_prog_is_valid_access`. All are read-only, and the runtime layout is the UAPI
//! layout itself, so no access is rewritten (only checked):
//!
//! - tracepoint: the record as the kernel writes it (`--ctx-in` bytes); the first 8 bytes
//!   (the common fields) may not be read;
//! - raw tracepoint: `struct bpf_raw_tracepoint_args { __u64 args[]; }`, at most 12 args;
//! - kprobe / uprobe: x86-64 `struct pt_regs`, 21 registers of 8 bytes (168 bytes);
//! - perf_event: `pt_regs`, then `sample_period` (168) and `addr` (176); 184 bytes.

use userbpf_isa::MemSize;

use super::{Direction, FieldAccess, ProgType};

/// `sizeof(struct pt_regs)` on x86-64.
pub const PT_REGS_SIZE: usize = 168;
/// `sizeof(struct bpf_perf_event_data)` on x86-64.
pub const PERF_EVENT_DATA_SIZE: usize = 184;
/// `offsetof(struct bpf_perf_event_data, sample_period)`.
pub const PERF_SAMPLE_PERIOD: i64 = 168;
/// `offsetof(struct bpf_perf_event_data, addr)`.
pub const PERF_ADDR: i64 = 176;
/// `MAX_BPF_FUNC_ARGS`: raw tracepoint arguments.
pub const MAX_RAW_TP_ARGS: usize = 12;
/// `PERF_MAX_TRACE_SIZE`: the largest tracepoint record.
pub const PERF_MAX_TRACE_SIZE: i64 = 8192;

/// x86-64 `struct pt_regs` members in order (each 8 bytes).
pub const PT_REGS_FIELDS: [&str; 21] = [
    "r15", "r14", "r13", "r12", "bp", "bx", "r11", "r10", "r9", "r8", "ax", "cx", "dx", "si", "di",
    "orig_ax", "ip", "cs", "flags", "sp", "ss",
];

/// Byte offset of a `pt_regs` member by name (`di` is the first argument register).
pub fn pt_regs_offset(name: &str) -> Option<usize> {
    PT_REGS_FIELDS
        .iter()
        .position(|f| *f == name)
        .map(|i| i * 8)
}

/// The access rules of the tracing program types.
pub(super) fn access(t: ProgType, off: i64, size: MemSize, dir: Direction) -> Option<FieldAccess> {
    let n = size.bytes() as i64;
    if dir == Direction::Write || off % n != 0 {
        return None;
    }
    // The kernel compares the tracepoint offset with `sizeof(void *)` unsigned, so
    // negative offsets pass its check (they read before the record; here they trap).
    if t != ProgType::Tracepoint && off < 0 {
        return None;
    }
    let ok = match t {
        ProgType::Tracepoint => (off as u64) >= 8 && off < PERF_MAX_TRACE_SIZE,
        ProgType::RawTracepoint => off < (MAX_RAW_TP_ARGS * 8) as i64,
        ProgType::Kprobe => off + n <= PT_REGS_SIZE as i64,
        ProgType::PerfEvent => {
            if off >= PERF_EVENT_DATA_SIZE as i64 {
                false
            } else if off >= PERF_SAMPLE_PERIOD {
                // sample_period and addr: narrow reads allowed.
                true
            } else {
                n == 8
            }
        }
        _ => false,
    };
    ok.then_some(FieldAccess::Same { off: off as i16 })
}
