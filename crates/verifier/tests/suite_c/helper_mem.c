/* Helper arguments of memory plus size: the size a known or bounded non-negative scalar,
 * the memory initialised where the helper reads it (or any stack where it writes), within
 * its region; context arguments unmodified; helpers allowed per program type. */
#include "suite.h"

CASE("xdp", __success, printk_constant_fmt,
     "r1 = 0x0a6968 ll; *(u64 *)(r10 - 8) = r1; r1 = r10; r1 += -8; r2 = 8; call %[bpf_trace_printk]; r0 = 0; exit;",
     __imm(bpf_trace_printk))
CASE("xdp", __failure __msg("R2 invalid zero-sized read"), printk_zero_size,
     "*(u64 *)(r10 - 8) = 0; r1 = r10; r1 += -8; r2 = 0; call %[bpf_trace_printk]; r0 = 0; exit;",
     __imm(bpf_trace_printk))
CASE("xdp", __failure __msg("R1 type=scalar"), printk_scalar_pointer,
     "r1 = 0; r2 = 8; call %[bpf_trace_printk]; r0 = 0; exit;", __imm(bpf_trace_printk))
CASE("xdp", __failure __msg("invalid read from stack R1 off=-8 size=16"), printk_size_past_frame,
     "*(u64 *)(r10 - 8) = 0; r1 = r10; r1 += -8; r2 = 16; call %[bpf_trace_printk]; r0 = 0; exit;",
     __imm(bpf_trace_printk))
CASE("xdp", __success, probe_read_kernel_into_stack,
     "r1 = r10; r1 += -8; r2 = 8; r3 = 0; call %[bpf_probe_read_kernel]; r0 = *(u64 *)(r10 - 8); exit;",
     __imm(bpf_probe_read_kernel))
CASE("xdp", __success, probe_read_kernel_zero_size,
     "r1 = r10; r1 += -8; r2 = 0; r3 = 0; call %[bpf_probe_read_kernel]; r0 = 0; exit;", __imm(bpf_probe_read_kernel))
CASE("xdp", __failure __msg("R2 min value is negative, either use unsigned or 'var &= const'"), probe_read_kernel_unbounded_size,
     "call %[bpf_ktime_get_ns]; r2 = r0; r1 = r10; r1 += -8; r3 = 0; call %[bpf_probe_read_kernel]; r0 = 0; exit;",
     __imm(bpf_probe_read_kernel), __imm(bpf_ktime_get_ns))
CASE("xdp", __failure __msg("R2 min value is negative"), probe_read_kernel_negative_size,
     "call %[bpf_ktime_get_ns]; r2 = r0; if r2 s> 8 goto l0_%=; r1 = r10; r1 += -8; r3 = 0; call %[bpf_probe_read_kernel]; l0_%=: r0 = 0; exit;",
     __imm(bpf_probe_read_kernel), __imm(bpf_ktime_get_ns))
CASE("xdp", __success, probe_read_kernel_bounded_size,
     "call %[bpf_ktime_get_ns]; r2 = r0; r2 &= 7; r1 = r10; r1 += -8; r3 = 0; call %[bpf_probe_read_kernel]; r0 = 0; exit;",
     __imm(bpf_probe_read_kernel), __imm(bpf_ktime_get_ns))
CASE("xdp", __failure __msg("invalid write to stack R1 off=-8 size=9"), probe_read_kernel_bounded_size_too_big,
     "call %[bpf_ktime_get_ns]; r2 = r0; if r2 > 9 goto l0_%=; r1 = r10; r1 += -8; r3 = 0; call %[bpf_probe_read_kernel]; l0_%=: r0 = 0; exit;",
     __imm(bpf_probe_read_kernel), __imm(bpf_ktime_get_ns))
CASE("xdp", __failure __msg("R1 type=scalar expected="), probe_read_kernel_into_scalar,
     "r1 = 0; r2 = 8; r3 = 0; call %[bpf_probe_read_kernel]; r0 = 0; exit;", __imm(bpf_probe_read_kernel))
CASE("xdp", __success, csum_diff_with_null_from,
     "*(u64 *)(r10 - 8) = 0; r1 = 0; r2 = 0; r3 = r10; r3 += -8; r4 = 8; r5 = 0; call %[bpf_csum_diff]; exit;",
     __imm(bpf_csum_diff))
CASE("xdp", __failure __msg("R1 type=scalar expected="), csum_diff_scalar_from_with_size,
     "*(u64 *)(r10 - 8) = 0; r1 = 1; r2 = 4; r3 = r10; r3 += -8; r4 = 8; r5 = 0; call %[bpf_csum_diff]; exit;",
     __imm(bpf_csum_diff))
CASE("socket", __success, skb_load_bytes_into_stack,
     "r2 = 0; r3 = r10; r3 += -8; r4 = 8; call %[bpf_skb_load_bytes]; r0 = *(u64 *)(r10 - 8); exit;", __imm(bpf_skb_load_bytes))
CASE("socket", __failure __msg("invalid write to stack R3 off=-8 size=16"), skb_load_bytes_too_long,
     "r2 = 0; r3 = r10; r3 += -8; r4 = 16; call %[bpf_skb_load_bytes]; r0 = 0; exit;", __imm(bpf_skb_load_bytes))
CASE("xdp", __failure __msg("program of this type cannot use helper bpf_skb_load_bytes#26"), skb_load_bytes_in_xdp,
     "r2 = 0; r3 = r10; r3 += -8; r4 = 8; call %[bpf_skb_load_bytes]; r0 = 0; exit;", __imm(bpf_skb_load_bytes))
CASE("socket", __failure __msg("program of this type cannot use helper bpf_xdp_adjust_head#44"), adjust_head_in_socket,
     "r2 = 0; call %[bpf_xdp_adjust_head]; r0 = 0; exit;", __imm(bpf_xdp_adjust_head))
CASE("xdp", __success, adjust_head_in_xdp, "r2 = 0; call %[bpf_xdp_adjust_head]; r0 = 2; exit;", __imm(bpf_xdp_adjust_head))
CASE("xdp", __failure __msg("R1 type=scalar expected=ctx"), helper_wants_ctx,
     "r1 = 0; r2 = 0; call %[bpf_xdp_adjust_head]; r0 = 0; exit;", __imm(bpf_xdp_adjust_head))
CASE("xdp", __failure __msg("dereference of modified ctx ptr R1 off=4 disallowed"), helper_modified_ctx,
     "r1 += 4; r2 = 0; call %[bpf_xdp_adjust_head]; r0 = 0; exit;", __imm(bpf_xdp_adjust_head))
CASE("socket", __success, smp_processor_id_in_socket, "call %[bpf_get_smp_processor_id]; exit;", __imm(bpf_get_smp_processor_id))
CASE("xdp", __success, pid_tgid_in_xdp, "call %[bpf_get_current_pid_tgid]; exit;", __imm(bpf_get_current_pid_tgid))
CASE("xdp", __failure __msg("program of this type cannot use helper bpf_probe_read#4"), probe_read_in_xdp,
     "r1 = r10; r1 += -8; r2 = 8; r3 = 0; call %[bpf_probe_read]; r0 = 0; exit;", __imm(bpf_probe_read))
CASE("kprobe/do_sys_open", __success, probe_read_in_kprobe,
     "r1 = r10; r1 += -8; r2 = 8; r3 = 0; call %[bpf_probe_read]; r0 = 0; exit;", __imm(bpf_probe_read))
CASE("kprobe/do_sys_open", __success, current_comm_in_kprobe,
     "r1 = r10; r1 += -16; r2 = 16; call %[bpf_get_current_comm]; r0 = 0; exit;", __imm(bpf_get_current_comm))
CASE("kprobe/do_sys_open", __failure __msg("invalid write to stack R1 off=-16 size=32"), current_comm_past_frame,
     "r1 = r10; r1 += -16; r2 = 32; call %[bpf_get_current_comm]; r0 = 0; exit;", __imm(bpf_get_current_comm))
CASE("xdp", __failure __msg("invalid func unknown#999"), unknown_helper, "call 999; exit;")
CASE("socket", __success, ld_abs, "r6 = r1; r0 = *(u8 *)skb[0]; exit;")
CASE("socket", __success, ld_ind, "r6 = r1; r2 = 3; r0 = *(u16 *)skb[r2]; exit;")
CASE("xdp", __failure __msg("BPF_LD_[ABS|IND] instructions not allowed for this program type"), ld_abs_in_xdp,
     "r6 = r1; r0 = *(u8 *)skb[0]; exit;")
CASE("socket", __failure __msg("R6 !read_ok"), ld_abs_without_r6, "r0 = *(u8 *)skb[0]; exit;")
CASE("socket", __failure __msg("at the time of BPF_LD_ABS|IND R6 != pointer to skb"), ld_abs_scalar_r6, "r6 = 0; r0 = *(u8 *)skb[0]; exit;")
CASE("socket", __failure __msg("R2 !read_ok"), ld_abs_clobbers_r2, "r6 = r1; r2 = 1; r0 = *(u8 *)skb[0]; r0 = r2; exit;")
CASE("kprobe/do_sys_open", __failure __msg("program of this type cannot use helper bpf_xdp_adjust_head#44"), adjust_head_in_kprobe,
     "r2 = 0; call %[bpf_xdp_adjust_head]; r0 = 0; exit;", __imm(bpf_xdp_adjust_head))
CASE("tc", __success, skb_store_bytes_in_tc,
     "*(u64 *)(r10 - 8) = 0; r2 = 0; r3 = r10; r3 += -8; r4 = 8; r5 = 0; call %[bpf_skb_store_bytes]; r0 = 0; exit;",
     __imm(bpf_skb_store_bytes))
CASE("socket", __failure __msg("program of this type cannot use helper bpf_skb_store_bytes#9"), skb_store_bytes_in_socket,
     "*(u64 *)(r10 - 8) = 0; r2 = 0; r3 = r10; r3 += -8; r4 = 8; r5 = 0; call %[bpf_skb_store_bytes]; r0 = 0; exit;",
     __imm(bpf_skb_store_bytes))
CASE("tc", __success, ld_abs_in_tc, "r6 = r1; r0 = *(u32 *)skb[0]; exit;")
CASE("xdp", __success, redirect_in_xdp, "r1 = 1; r2 = 0; call %[bpf_redirect]; exit;", __imm(bpf_redirect))
CASE("socket", __failure __msg("program of this type cannot use helper bpf_redirect#23"), redirect_in_socket,
     "r1 = 1; r2 = 0; call %[bpf_redirect]; r0 = 0; exit;", __imm(bpf_redirect))
CASE("socket", __success, probe_read_kernel_in_socket,
     "r1 = r10; r1 += -8; r2 = 8; r3 = 0; call %[bpf_probe_read_kernel]; r0 = 0; exit;", __imm(bpf_probe_read_kernel))
CASE("kprobe/do_sys_open", __success, probe_read_str_in_kprobe,
     "r1 = r10; r1 += -16; r2 = 16; r3 = 0; call %[bpf_probe_read_str]; r0 = 0; exit;", __imm(bpf_probe_read_str))
CASE("xdp", __success, adjust_meta_in_xdp, "r2 = -4; call %[bpf_xdp_adjust_meta]; r0 = 2; exit;", __imm(bpf_xdp_adjust_meta))
CASE("tc", __failure __msg("program of this type cannot use helper bpf_xdp_adjust_meta#54"), adjust_meta_in_tc,
     "r2 = -4; call %[bpf_xdp_adjust_meta]; r0 = 0; exit;", __imm(bpf_xdp_adjust_meta))
