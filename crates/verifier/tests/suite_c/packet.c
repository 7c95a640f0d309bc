/* Direct packet access (xdp and tc): a packet pointer may be dereferenced only within the
 * range proven by a comparison with data_end; copies share that range; data_end takes no
 * arithmetic; helpers that change the packet invalidate every packet pointer. */
#include "suite.h"

/* xdp_md: r2 = data, r3 = data_end. */
#define XDP_PTRS "r2 = *(u32 *)(r1 + 0); r3 = *(u32 *)(r1 + 4);"
/* __sk_buff: r2 = data, r3 = data_end. */
#define SKB_PTRS "r2 = *(u32 *)(r1 + 76); r3 = *(u32 *)(r1 + 80);"
/* Exit 0 unless r2 + n <= r3. */
#define CHECK(n) "r4 = r2; r4 += " #n "; if r4 > r3 goto l_out_%=;"
#define OUT "l_out_%=: r0 = 0; exit;"

CASE("xdp", __failure __msg("invalid access to packet, off=0 size=1, R2(id=0,off=0,r=0)"), xdp_unchecked_read,
     XDP_PTRS "r0 = *(u8 *)(r2 + 0);" OUT)
CASE("xdp", __success, xdp_checked_read, XDP_PTRS CHECK(14) "r0 = *(u8 *)(r2 + 13);" OUT)
CASE("xdp", __failure __msg("invalid access to packet, off=14 size=1, R2(id=0,off=14,r=14)"), xdp_read_just_past_range,
     XDP_PTRS CHECK(14) "r0 = *(u8 *)(r2 + 14);" OUT)
CASE("xdp", __failure __msg("invalid access to packet, off=12 size=4"), xdp_wide_read_past_range,
     XDP_PTRS CHECK(14) "r0 = *(u32 *)(r2 + 12);" OUT)
CASE("xdp", __success, xdp_wide_read_in_range, XDP_PTRS CHECK(14) "r0 = *(u32 *)(r2 + 10);" OUT)
CASE("xdp", __success, xdp_read_through_checked_pointer, XDP_PTRS CHECK(14) "r0 = *(u8 *)(r4 - 1);" OUT)
CASE("xdp", __failure __msg("invalid access to packet"), xdp_read_at_checked_pointer, XDP_PTRS CHECK(14) "r0 = *(u8 *)(r4 + 0);" OUT)
CASE("xdp", __failure __msg("invalid access to packet"), xdp_access_on_wrong_branch,
     XDP_PTRS "r4 = r2; r4 += 14; if r4 <= r3 goto l_out_%=; r0 = *(u8 *)(r2 + 0);" OUT)
CASE("xdp", __success, xdp_le_form, XDP_PTRS "r4 = r2; r4 += 8; if r4 <= r3 goto l0_%=; r0 = 0; exit; l0_%=: r0 = *(u64 *)(r2 + 0);" OUT)
CASE("xdp", __success, xdp_end_ge_form, XDP_PTRS "r4 = r2; r4 += 8; if r3 >= r4 goto l0_%=; r0 = 0; exit; l0_%=: r0 = *(u64 *)(r2 + 0);" OUT)
CASE("xdp", __success, xdp_end_lt_form, XDP_PTRS "r4 = r2; r4 += 8; if r3 < r4 goto l_out_%=; r0 = *(u64 *)(r2 + 0);" OUT)
/* data_end > data + 8 proves 9 bytes. */
CASE("xdp", __success, xdp_end_gt_form_one_more_byte,
     XDP_PTRS "r4 = r2; r4 += 8; if r3 > r4 goto l0_%=; r0 = 0; exit; l0_%=: r0 = *(u64 *)(r2 + 1);" OUT)
CASE("xdp", __success, xdp_end_gt_form, XDP_PTRS "r4 = r2; r4 += 8; if r3 > r4 goto l0_%=; r0 = 0; exit; l0_%=: r0 = *(u64 *)(r2 + 0);" OUT)
CASE("xdp", __success, xdp_write_after_check, XDP_PTRS CHECK(2) "*(u16 *)(r2 + 0) = 7;" OUT)
CASE("xdp", __failure __msg("invalid access to packet, off=0 size=2"), xdp_write_unchecked, XDP_PTRS "*(u16 *)(r2 + 0) = 7;" OUT)
CASE("xdp", __success, xdp_copies_share_range, XDP_PTRS "r5 = r2;" CHECK(4) "r0 = *(u32 *)(r5 + 0);" OUT)
CASE("xdp", __failure __msg("R3 pointer arithmetic on pkt_end prohibited"), xdp_pkt_end_arithmetic,
     "r3 = *(u32 *)(r1 + 4); r3 += 1; r0 = 0; exit;")
CASE("xdp", __failure __msg("R3 invalid mem access 'pkt_end'"), xdp_pkt_end_deref, "r3 = *(u32 *)(r1 + 4); r0 = *(u8 *)(r3 + 0); exit;")
CASE("xdp", __success, xdp_variable_offset_rechecked,
     XDP_PTRS CHECK(1) "r5 = *(u8 *)(r2 + 0); r5 &= 15; r2 += r5;" CHECK(1) "r0 = *(u8 *)(r2 + 0);" OUT)
CASE("xdp", __failure __msg("invalid access to packet"), xdp_variable_offset_not_rechecked,
     XDP_PTRS CHECK(2) "r5 = *(u8 *)(r2 + 0); r5 &= 15; r2 += r5; r0 = *(u8 *)(r2 + 0);" OUT)
CASE("xdp", __success, xdp_unbounded_offset_arithmetic, "r2 = *(u32 *)(r1 + 0); r5 = *(u32 *)(r1 + 12); r2 += r5; r0 = 0; exit;")
CASE("xdp", __failure __msg("invalid access to packet"), xdp_unbounded_offset_access,
     XDP_PTRS "r5 = *(u32 *)(r1 + 12); r2 += r5;" CHECK(1) "r0 = *(u8 *)(r2 + 0);" OUT)
CASE("xdp", __success, xdp_data_meta_checked,
     "r2 = *(u32 *)(r1 + 8); r3 = *(u32 *)(r1 + 0);" CHECK(4) "r0 = *(u32 *)(r2 + 0);" OUT)
CASE("xdp", __failure __msg("invalid access to packet"), xdp_data_meta_unchecked, "r2 = *(u32 *)(r1 + 8); r0 = *(u32 *)(r2 + 0); r0 = 0; exit;")
CASE("xdp", __failure __msg("invalid access to packet"), xdp_data_meta_checked_against_end,
     "r2 = *(u32 *)(r1 + 8); r3 = *(u32 *)(r1 + 4);" CHECK(4) "r0 = *(u32 *)(r2 + 0);" OUT)
CASE("xdp", __failure __msg("R7 invalid mem access 'scalar'"), xdp_pointer_after_adjust_head,
     "r6 = r1;" XDP_PTRS CHECK(4) "r7 = r2; r1 = r6; r2 = 0; call %[bpf_xdp_adjust_head]; r0 = *(u8 *)(r7 + 0);" OUT,
     __imm(bpf_xdp_adjust_head))
CASE("xdp", __success, xdp_reload_after_adjust_head,
     "r6 = r1; r2 = 0; call %[bpf_xdp_adjust_head]; r1 = r6;" XDP_PTRS CHECK(4) "r0 = *(u8 *)(r2 + 0);" OUT,
     __imm(bpf_xdp_adjust_head))
CASE("xdp", __failure __msg("R2 32-bit pointer arithmetic prohibited"), xdp_packet_32bit_add, "r2 = *(u32 *)(r1 + 0); w2 += 1; r0 = 0; exit;")
CASE("xdp", __failure __msg("invalid access to packet"), xdp_negative_offset, XDP_PTRS CHECK(4) "r0 = *(u8 *)(r2 - 1);" OUT)
CASE("xdp", __success, xdp_pointer_stored_in_packet, XDP_PTRS CHECK(8) "*(u64 *)(r2 + 0) = r2;" OUT)
CASE("xdp", __success, xdp_spilled_packet_pointer_keeps_range,
     XDP_PTRS CHECK(8) "*(u64 *)(r10 - 8) = r2; r5 = *(u64 *)(r10 - 8); r0 = *(u64 *)(r5 + 0);" OUT)
CASE("xdp", __failure __msg("invalid access to packet"), xdp_spilled_before_check_gets_range_too_late,
     XDP_PTRS "r5 = r2; r5 += 1;" CHECK(8) "r0 = *(u64 *)(r5 + 0);" OUT)
CASE("xdp", __success, xdp_jmp_pkt_end_on_both_sides,
     XDP_PTRS CHECK(20) "r4 = r2; r4 += 40; if r4 > r3 goto l0_%=; r0 = *(u8 *)(r2 + 39); l0_%=: r0 = *(u8 *)(r2 + 19);" OUT)
CASE("xdp", __failure __msg("invalid access to packet"), xdp_larger_range_only_on_one_branch,
     XDP_PTRS CHECK(20) "r4 = r2; r4 += 40; if r4 > r3 goto l0_%=; r0 = 0; l0_%=: r0 = *(u8 *)(r2 + 39);" OUT)
/* tc: the same rules through __sk_buff->data / data_end. */
CASE("tc", __success, tc_checked_read, SKB_PTRS CHECK(14) "r0 = *(u8 *)(r2 + 13);" OUT)
CASE("tc", __failure __msg("invalid access to packet, off=0 size=1, R2(id=0,off=0,r=0)"), tc_unchecked_read,
     "r2 = *(u32 *)(r1 + 76); r0 = *(u8 *)(r2 + 0); r0 = 0; exit;")
CASE("tc", __success, tc_write_after_check, SKB_PTRS CHECK(4) "*(u32 *)(r2 + 0) = 1;" OUT)
CASE("tc", __failure __msg("invalid access to packet"), tc_read_past_range, SKB_PTRS CHECK(4) "r0 = *(u32 *)(r2 + 2);" OUT)
CASE("tc", __failure __msg("R6 invalid mem access 'scalar'"), tc_pointer_after_skb_store_bytes,
     "r7 = r1;" SKB_PTRS CHECK(4) "r6 = r2; r1 = r7; r2 = 0; r3 = r10; r3 += -8; *(u64 *)(r10 - 8) = 0; r4 = 4; r5 = 0;"
     "call %[bpf_skb_store_bytes]; r0 = *(u8 *)(r6 + 0);" OUT, __imm(bpf_skb_store_bytes))
CASE("tc", __success, tc_data_meta_checked,
     "r2 = *(u32 *)(r1 + 140); r3 = *(u32 *)(r1 + 76);" CHECK(4) "r0 = *(u32 *)(r2 + 0);" OUT)
CASE("tc", __failure __msg("R3 pointer arithmetic on pkt_end prohibited"), tc_pkt_end_arithmetic,
     "r3 = *(u32 *)(r1 + 80); r3 += 4; r0 = 0; exit;")
CASE("cgroup_skb/ingress", __success, cgroup_skb_checked_read, SKB_PTRS CHECK(1) "r0 = *(u8 *)(r2 + 0); r0 = 1; exit;" OUT)
CASE("cgroup_skb/ingress", __failure __msg("invalid access to packet"), cgroup_skb_unchecked_read,
     SKB_PTRS "r0 = *(u8 *)(r2 + 0); r0 = 1; exit;")
/* Packet pointers and their lengths. */
CASE("xdp", __success, xdp_spilled_packet_pointer_before_adjust_head_is_scalar_after_checked,
     "r6 = r1;" XDP_PTRS CHECK(4) "*(u64 *)(r10 - 8) = r2; r1 = r6; r2 = 0; call %[bpf_xdp_adjust_head];"
     "r2 = *(u64 *)(r10 - 8); r0 = 0; exit;" OUT, __imm(bpf_xdp_adjust_head))
CASE("xdp", __failure __msg("R2 invalid mem access 'scalar'"), xdp_spilled_packet_pointer_after_adjust_head,
     "r6 = r1;" XDP_PTRS CHECK(4) "*(u64 *)(r10 - 8) = r2; r1 = r6; r2 = 0; call %[bpf_xdp_adjust_head];"
     "r2 = *(u64 *)(r10 - 8); r0 = *(u8 *)(r2 + 0);" OUT, __imm(bpf_xdp_adjust_head))
CASE("xdp", __success, xdp_packet_length_from_pointers, XDP_PTRS "r3 -= r2; r0 = r3; exit;")
CASE("xdp", __success, xdp_packet_read_into_helper,
     XDP_PTRS CHECK(8) "r3 = r2; r1 = r10; r1 += -8; r2 = 8; call %[bpf_probe_read_kernel];" OUT, __imm(bpf_probe_read_kernel))
CASE("xdp", __failure __msg("helper access to the packet is not allowed"), xdp_short_packet_into_helper,
     XDP_PTRS CHECK(4) "r1 = r2; r2 = 8; r3 = 0; call %[bpf_probe_read_kernel];" OUT, __imm(bpf_probe_read_kernel))
CASE("xdp", __failure __msg("helper access to the packet is not allowed"),
     xdp_packet_as_helper_destination,
     XDP_PTRS CHECK(8) "r1 = r2; r2 = 8; r3 = 0; call %[bpf_probe_read_kernel];" OUT, __imm(bpf_probe_read_kernel))
CASE("xdp", __success, xdp_bounded_loop_over_packet,
     XDP_PTRS CHECK(16) "r0 = 0; r5 = 0; l0_%=: r4 = r2; r4 += r5; r1 = *(u8 *)(r4 + 0); r0 += r1; r5 += 1; if r5 < 16 goto l0_%=;" OUT)
CASE("xdp", __failure __msg("invalid access to packet"), xdp_bounded_loop_one_past_range,
     XDP_PTRS CHECK(16) "r0 = 0; r5 = 0; l0_%=: r4 = r2; r4 += r5; r1 = *(u8 *)(r4 + 0); r0 += r1; r5 += 1; if r5 <= 16 goto l0_%=;" OUT)
CASE("tc", __success, tc_ld_abs, "r6 = r1; r0 = *(u16 *)skb[12]; exit;")
CASE("xdp", __success, xdp_misaligned_packet_read, XDP_PTRS CHECK(8) "r0 = *(u32 *)(r2 + 3);" OUT)
/* A subprogram that may change the packet invalidates the caller's packet pointers. */
static __naked __noinline __used int adjust_in_sub(void)
{
	asm volatile ("r2 = 0; call %[bpf_xdp_adjust_head]; r0 = 0; exit;" :: __imm(bpf_xdp_adjust_head) : __clobber_all);
}

static __naked __noinline __used int no_adjust_in_sub(void)
{
	asm volatile ("r0 = 0; exit;" ::: __clobber_all);
}

CASE("xdp", __failure __msg("invalid mem access 'scalar'"), xdp_pointer_after_subprogram_adjusts,
     "r6 = r1;" XDP_PTRS CHECK(4) "r7 = r2; r1 = r6; call adjust_in_sub; r0 = *(u8 *)(r7 + 0);" OUT)
CASE("xdp", __success, xdp_pointer_after_plain_subprogram,
     "r6 = r1;" XDP_PTRS CHECK(4) "r7 = r2; r1 = r6; call no_adjust_in_sub; r0 = *(u8 *)(r7 + 0);" OUT)
static __naked __noinline __used int read_packet_arg(void)
{
	asm volatile ("r0 = *(u8 *)(r1 + 3); exit;" ::: __clobber_all);
}
CASE("xdp", __success, xdp_checked_pointer_passed_to_subprogram,
     XDP_PTRS CHECK(4) "r1 = r2; call read_packet_arg;" OUT)
CASE("xdp", __failure __msg("invalid access to packet"), xdp_short_pointer_passed_to_subprogram,
     XDP_PTRS CHECK(3) "r1 = r2; call read_packet_arg;" OUT)
