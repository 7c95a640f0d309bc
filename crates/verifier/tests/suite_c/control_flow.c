/* Control flow: every path explored, bounded loops verified by walking them (with state
 * pruning), the 1,000,000 processed-instruction limit, infinite loops, unreachable code. */
#include "suite.h"

CASE("xdp", __success, bounded_loop_10, "r0 = 0; l0_%=: r0 += 1; if r0 < 10 goto l0_%=; exit;")
CASE("xdp", __success, bounded_loop_1000, "r0 = 0; l0_%=: r0 += 1; if r0 < 1000 goto l0_%=; exit;")
CASE("xdp", __failure __msg("BPF program is too large. Processed 1000001 insn"), loop_over_the_limit,
     "r0 = 0; r1 = 0; l0_%=: r0 += 1; r1 += 2; if r0 < 600000 goto l0_%=; exit;")
CASE("xdp", __failure __msg("infinite loop detected"), infinite_loop, "r0 = 0; l0_%=: goto l0_%=;")
CASE("xdp", __failure __msg("infinite loop detected"), loop_without_progress, "r0 = 0; l0_%=: r1 = 1; if r0 == 0 goto l0_%=; exit;")
CASE("xdp", __failure __msg("infinite loop detected at insn 1"), unbounded_loop_on_unknown,
     "call %[bpf_ktime_get_ns]; l0_%=: r0 += 1; if r0 != 0 goto l0_%=; exit;", __imm(bpf_ktime_get_ns))
CASE("xdp", __success, loop_bounded_by_unknown_with_cap,
     "call %[bpf_ktime_get_ns]; r0 &= 63; r1 = 0; l0_%=: r1 += 1; if r1 < r0 goto l0_%=; r0 = 0; exit;", __imm(bpf_ktime_get_ns))
CASE("xdp", __success, countdown_loop, "r1 = 50; l0_%=: r1 -= 1; if r1 != 0 goto l0_%=; r0 = 0; exit;")
CASE("xdp", __success, loop_writing_stack,
     "r1 = 0; l0_%=: r2 = r10; r2 += -64; r2 += r1; *(u8 *)(r2 + 0) = 0; r1 += 1; if r1 < 64 goto l0_%=; r0 = 0; exit;")
CASE("xdp", __failure __msg("invalid write to stack"), loop_writing_stack_one_too_far,
     "r1 = 0; l0_%=: r2 = r10; r2 += -64; r2 += r1; *(u8 *)(r2 + 0) = 0; r1 += 1; if r1 <= 64 goto l0_%=; r0 = 0; exit;")
CASE("xdp", __success, dead_branch_not_explored, "r0 = 0; if r0 == 1 goto l0_%=; exit; l0_%=: r0 = *(u8 *)(r5 + 0); exit;")
CASE("xdp", __failure __msg("R5 !read_ok"), live_branch_explored, "r0 = 1; if r0 == 1 goto l0_%=; exit; l0_%=: r0 = *(u8 *)(r5 + 0); exit;")
CASE("xdp", __success, many_branches_pruned,
     "call %[bpf_ktime_get_ns]; r1 = 0; if r0 > 1 goto l1_%=; r1 = 1; l1_%=: if r0 > 2 goto l2_%=; r1 = 2;"
     "l2_%=: if r0 > 3 goto l3_%=; r1 = 3; l3_%=: if r0 > 4 goto l4_%=; r1 = 4; l4_%=: if r0 > 5 goto l5_%=; r1 = 5;"
     "l5_%=: if r0 > 6 goto l6_%=; r1 = 6; l6_%=: r0 = 0; exit;", __imm(bpf_ktime_get_ns))
CASE("xdp", __failure __msg("R1 invalid mem access 'scalar'"), error_on_a_late_path_found,
     "call %[bpf_ktime_get_ns]; r1 = r10; r1 += -8; if r0 > 1 goto l1_%=; r2 = 1; l1_%=: if r0 > 2 goto l2_%=; r2 = 2;"
     "l2_%=: if r0 != 77 goto l3_%=; r1 = 0; l3_%=: *(u64 *)(r1 + 0) = 0; r0 = 0; exit;", __imm(bpf_ktime_get_ns))
/* Pruning must not merge a state where r2 is a safe offset with one where it is not. */
CASE("xdp", __failure __msg("invalid write to stack"), precision_keeps_states_apart,
     "call %[bpf_ktime_get_ns]; r2 = -8; if r0 > 10 goto l0_%=; r2 = 8; l0_%=: r1 = r10; r1 += r2; *(u64 *)(r1 + 0) = 0; r0 = 0; exit;",
     __imm(bpf_ktime_get_ns))
CASE("xdp", __success, imprecise_register_pruned,
     "call %[bpf_ktime_get_ns]; r3 = 1; if r0 > 10 goto l0_%=; r3 = 2; l0_%=: r1 = r10; r1 += -8; *(u64 *)(r1 + 0) = r3; r0 = 0; exit;",
     __imm(bpf_ktime_get_ns))
CASE("xdp", __success, jmp32_conditions, "r0 = 5; if w0 > 3 goto l0_%=; exit; l0_%=: if w0 s< 10 goto l1_%=; exit; l1_%=: r0 = 1; exit;")
CASE("xdp", __failure __msg("unreachable insn"), unreachable_after_exit, "r0 = 0; exit; r0 = 1; exit;")
CASE("xdp", __failure __msg("unreachable insn"), unreachable_jumped_over, "r0 = 0; goto l0_%=; r0 = 1; l0_%=: exit;")
CASE("xdp", __success, goto_zero_is_fine, "r0 = 0; goto l0_%=; l0_%=: exit;")
CASE("xdp", __success, nested_bounded_loops,
     "r0 = 0; r1 = 0; l0_%=: r2 = 0; l1_%=: r0 += 1; r2 += 1; if r2 < 5 goto l1_%=; r1 += 1; if r1 < 5 goto l0_%=; exit;")
CASE("xdp", __success, signed_loop_counter, "r1 = -10; l0_%=: r1 += 1; if r1 s< 0 goto l0_%=; r0 = 0; exit;")

/* Plain C: a bounded loop summing the first bytes of the packet. */
struct xdp_md_min {
	u32 data, data_end;
};

SEC("xdp") __success int c_bounded_packet_loop(struct xdp_md_min *ctx)
{
	u8 *data = (u8 *)(long)ctx->data;
	u8 *end = (u8 *)(long)ctx->data_end;
	u32 sum = 0;

	for (int i = 0; i < 16; i++) {
		if (data + i + 1 > end)
			break;
		sum += data[i];
	}
	return sum & 3;
}
/* Precision: after the join, a few instructions make a checkpoint likely; the register that
 * later becomes a stack offset must keep the two paths apart. */
CASE("xdp", __failure __msg("invalid write to stack"), precision_through_alu,
     "call %[bpf_ktime_get_ns]; r6 = r0; r7 = 0; if r6 > 10 goto l0_%=; r7 = 16; l0_%=: r1 = 1; r2 = 2; r3 = 3;"
     "r8 = r10; r9 = r7; r9 += -16; r8 += r9; *(u64 *)(r8 + 0) = 0; r0 = 0; exit;", __imm(bpf_ktime_get_ns))
CASE("xdp", __success, precision_through_alu_both_safe,
     "call %[bpf_ktime_get_ns]; r6 = r0; r7 = 0; if r6 > 10 goto l0_%=; r7 = 8; l0_%=: r1 = 1; r2 = 2; r3 = 3;"
     "r8 = r10; r9 = r7; r9 += -16; r8 += r9; *(u64 *)(r8 + 0) = 0; r0 = 0; exit;", __imm(bpf_ktime_get_ns))
CASE("xdp", __failure __msg("invalid write to stack"), precision_through_spill_and_call,
     "call %[bpf_ktime_get_ns]; r7 = 0; if r0 > 10 goto l0_%=; r7 = 16; l0_%=: *(u64 *)(r10 - 24) = r7;"
     "call %[bpf_ktime_get_ns]; r7 = *(u64 *)(r10 - 24); r8 = r10; r8 += -16; r8 += r7; *(u64 *)(r8 + 0) = 0; r0 = 0; exit;",
     __imm(bpf_ktime_get_ns))
CASE("xdp", __failure __msg("invalid write to stack"), precision_in_loop_body,
     "r6 = 0; l0_%=: call %[bpf_ktime_get_ns]; r7 = -8; if r0 != 5 goto l1_%=; r7 = 8; l1_%=: r8 = r10; r8 += r7;"
     "*(u64 *)(r8 + 0) = 0; r6 += 1; if r6 < 3 goto l0_%=; r0 = 0; exit;", __imm(bpf_ktime_get_ns))
CASE("xdp", __success, loop_with_imprecise_accumulator,
     "r6 = 0; r7 = 0; l0_%=: call %[bpf_ktime_get_ns]; r7 += r0; r6 += 1; if r6 < 30 goto l0_%=; r0 = 0; exit;",
     __imm(bpf_ktime_get_ns))
