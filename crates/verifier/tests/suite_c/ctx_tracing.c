/* Context accesses of the tracing types, read-only: tracepoint (the event record),
 * raw_tracepoint (u64 args[]), kprobe (struct pt_regs, 168 bytes on x86-64), perf_event
 * (struct bpf_perf_event_data: regs, then sample_period and addr). */
#include "suite.h"

CASE("tracepoint/syscalls/sys_enter_openat", __success, tp_read_u64, "r0 = *(u64 *)(r1 + 16); r0 = 0; exit;")
CASE("tracepoint/syscalls/sys_enter_openat", __success, tp_read_u32, "r0 = *(u32 *)(r1 + 8); r0 = 0; exit;")
CASE("tracepoint/syscalls/sys_enter_openat", __failure __msg("invalid bpf_context access"), tp_write,
     "r2 = 0; *(u64 *)(r1 + 16) = r2; r0 = 0; exit;")
CASE("tracepoint/syscalls/sys_enter_openat", __failure __msg("invalid bpf_context access off=4 size=8"), tp_misaligned,
     "r0 = *(u64 *)(r1 + 4); r0 = 0; exit;")
CASE("tracepoint/syscalls/sys_enter_openat", __failure __msg("invalid bpf_context access off=-8 size=8")
     __kernel_differs("the running kernel (6.18) loads this read before the tracepoint record; userbpf's tracepoint context is the "
                      "PERF_MAX_TRACE_SIZE (2048-byte) record, so the read would leave it"), tp_negative,
     "r0 = *(u64 *)(r1 - 8); r0 = 0; exit;")
CASE("tracepoint/syscalls/sys_enter_openat", __failure __msg("invalid bpf_context access off=2048 size=8")
     __kernel_differs("the running kernel (6.18) loads this read past PERF_MAX_TRACE_SIZE; userbpf's tracepoint context is the "
                      "2048-byte record, so the read would leave it"), tp_past_max,
     "r0 = *(u64 *)(r1 + 2048); r0 = 0; exit;")
CASE("tracepoint/syscalls/sys_enter_openat", __success, tp_read_near_max, "r0 = *(u64 *)(r1 + 2040); r0 = 0; exit;")
CASE("raw_tracepoint/sys_enter", __success, raw_tp_read_arg0, "r0 = *(u64 *)(r1 + 0); r0 = 0; exit;")
CASE("raw_tracepoint/sys_enter", __success, raw_tp_read_arg11, "r0 = *(u64 *)(r1 + 88); r0 = 0; exit;")
CASE("raw_tracepoint/sys_enter", __failure __msg("invalid bpf_context access off=96 size=8"), raw_tp_read_arg12,
     "r0 = *(u64 *)(r1 + 96); r0 = 0; exit;")
CASE("raw_tracepoint/sys_enter", __success, raw_tp_narrow,
     "r0 = *(u32 *)(r1 + 0); r0 = 0; exit;")
CASE("raw_tracepoint/sys_enter", __failure __msg("invalid bpf_context access"), raw_tp_write,
     "r2 = 0; *(u64 *)(r1 + 0) = r2; r0 = 0; exit;")
CASE("raw_tracepoint/sys_enter", __failure __msg("invalid bpf_context access off=4 size=8"), raw_tp_misaligned,
     "r0 = *(u64 *)(r1 + 4); r0 = 0; exit;")
CASE("kprobe/do_sys_open", __success, kprobe_read_di, "r0 = *(u64 *)(r1 + 112); r0 = 0; exit;")
CASE("kprobe/do_sys_open", __success, kprobe_read_ss, "r0 = *(u64 *)(r1 + 160); r0 = 0; exit;")
CASE("kprobe/do_sys_open", __success, kprobe_narrow_read, "r0 = *(u32 *)(r1 + 112); r0 = 0; exit;")
CASE("kprobe/do_sys_open", __failure __msg("invalid bpf_context access off=168 size=8"), kprobe_past_pt_regs,
     "r0 = *(u64 *)(r1 + 168); r0 = 0; exit;")
CASE("kprobe/do_sys_open", __failure __msg("invalid bpf_context access"), kprobe_write,
     "r2 = 0; *(u64 *)(r1 + 112) = r2; r0 = 0; exit;")
CASE("kprobe/do_sys_open", __failure __msg("invalid bpf_context access off=4 size=8"), kprobe_misaligned,
     "r0 = *(u64 *)(r1 + 4); r0 = 0; exit;")
CASE("kprobe/do_sys_open", __failure __msg("dereference of modified ctx ptr"), kprobe_modified_ctx,
     "r1 += 8; r0 = *(u64 *)(r1 + 0); r0 = 0; exit;")
CASE("perf_event", __success, perf_read_regs, "r0 = *(u64 *)(r1 + 0); r0 = 0; exit;")
CASE("perf_event", __success, perf_read_sample_period, "r0 = *(u64 *)(r1 + 168); r0 = 0; exit;")
CASE("perf_event", __success, perf_narrow_sample_period, "r0 = *(u32 *)(r1 + 168); r0 = 0; exit;")
CASE("perf_event", __success, perf_read_addr, "r0 = *(u64 *)(r1 + 176); r0 = 0; exit;")
CASE("perf_event", __failure __msg("invalid bpf_context access off=0 size=4"), perf_narrow_regs,
     "r0 = *(u32 *)(r1 + 0); r0 = 0; exit;")
CASE("perf_event", __failure __msg("invalid bpf_context access off=184 size=8"), perf_past_end,
     "r0 = *(u64 *)(r1 + 184); r0 = 0; exit;")
CASE("perf_event", __failure __msg("invalid bpf_context access"), perf_write,
     "r2 = 0; *(u64 *)(r1 + 168) = r2; r0 = 0; exit;")
CASE("kprobe/do_sys_open", __success, kprobe_byte_read, "r0 = *(u8 *)(r1 + 113); r0 = 0; exit;")
CASE("kprobe/do_sys_open", __failure __msg("invalid bpf_context access off=0 size=8"), kprobe_st, "*(u64 *)(r1 + 0) = 0; r0 = 0; exit;")
CASE("perf_event", __success, perf_narrow_addr, "r0 = *(u32 *)(r1 + 176); r0 = 0; exit;")
CASE("perf_event", __failure __msg("invalid bpf_context access off=8 size=2"), perf_narrow_regs_u16, "r0 = *(u16 *)(r1 + 8); r0 = 0; exit;")
CASE("tracepoint/syscalls/sys_enter_openat", __success, tp_byte_read, "r0 = *(u8 *)(r1 + 9); r0 = 0; exit;")
CASE("raw_tracepoint/sys_enter", __success, raw_tp_probe_read_of_arg,
     "r3 = *(u64 *)(r1 + 8); r1 = r10; r1 += -8; r2 = 8; call %[bpf_probe_read_kernel]; r0 = 0; exit;", __imm(bpf_probe_read_kernel))
CASE("raw_tracepoint/sys_enter", __failure __msg("R3 invalid mem access 'scalar'"), raw_tp_arg_is_scalar,
     "r3 = *(u64 *)(r1 + 8); r0 = *(u64 *)(r3 + 0); r0 = 0; exit;")
/* bpf_get_func_ip (helper 173): kprobe (uprobes too) and fentry/fexit/fmod_ret only. */
CASE("kprobe/do_sys_open", __success, kprobe_get_func_ip, "call 173; r0 = 0; exit;")
CASE("uprobe", __success, uprobe_get_func_ip, "call 173; r0 = 0; exit;")
CASE("tracepoint/syscalls/sys_enter_openat", __failure __msg("func bpf_get_func_ip#173 not supported for program type 5"),
     tp_get_func_ip, "call 173; r0 = 0; exit;")
CASE("xdp", __failure __msg("program of this type cannot use helper bpf_get_func_ip#173"), xdp_get_func_ip,
     "call 173; r0 = 0; exit;")
