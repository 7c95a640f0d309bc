/* Callbacks of bpf_loop and bpf_for_each_map_elem: verified as functions with their own
 * frame and the helper's arguments (index and context; map, key, value and context),
 * returning 0 or 1; the callback argument must be a function (BPF_PSEUDO_FUNC). */
#include "suite.h"

struct val16 {
	u64 a, b;
};

struct {
	__uint(type, MAP_ARRAY);
	__uint(max_entries, 4);
	__type(key, u32);
	__type(value, struct val16);
} arr SEC(".maps");

#define CB(name, body, ...) \
	static __naked __noinline __used long name(void) \
	{ \
		asm volatile (body ::__VA_ARGS__ : __clobber_all); \
	}

CB(loop_ret0, "r0 = 0; exit;")
CB(loop_ret2, "r0 = 2; exit;")
CB(loop_no_r0, "exit;")
CB(loop_write_ctx, "*(u64 *)(r2 + 0) = r1; r0 = 0; exit;")
CB(loop_write_ctx_past, "*(u64 *)(r2 + 8) = r1; r0 = 0; exit;")
CB(loop_read_r3, "r0 = r3; r0 = 0; exit;")
CB(loop_own_stack, "*(u64 *)(r10 - 8) = 0; r0 = *(u64 *)(r10 - 8); r0 = 0; exit;")
CB(elem_read_value, "r0 = *(u64 *)(r3 + 8); r0 = 0; exit;")
CB(elem_read_past_value, "r0 = *(u64 *)(r3 + 16); r0 = 0; exit;")
CB(elem_read_key, "r0 = *(u32 *)(r2 + 0); r0 = 0; exit;")
CB(elem_write_key, "*(u32 *)(r2 + 0) = 1; r0 = 0; exit;")
CB(elem_ret1, "r0 = 1; exit;")

#define LOOP(cb) "r1 = 4; r2 = %[" #cb "] ll; r3 = r10; r3 += -8; *(u64 *)(r10 - 8) = 0; r4 = 0; call %[bpf_loop]; r0 = 0; exit;"
#define EACH(cb) "r1 = %[arr] ll; r2 = %[" #cb "] ll; r3 = 0; r4 = 0; call %[bpf_for_each_map_elem]; r0 = 0; exit;"

CASE("xdp", __success, loop_returning_0, LOOP(loop_ret0), __imm(bpf_loop), __imm_addr(loop_ret0))
CASE("xdp", __failure __msg("At callback return the register R0 has smin=2 smax=2 should have been in [0, 1]"),
     loop_returning_2, LOOP(loop_ret2), __imm(bpf_loop), __imm_addr(loop_ret2))
CASE("xdp", __failure __msg("R0 not a scalar value"), loop_callback_without_r0, LOOP(loop_no_r0), __imm(bpf_loop), __imm_addr(loop_no_r0))
CASE("xdp", __success, loop_callback_writes_ctx, LOOP(loop_write_ctx), __imm(bpf_loop), __imm_addr(loop_write_ctx))
CASE("xdp", __failure __msg("invalid write to stack"), loop_callback_writes_past_ctx,
     LOOP(loop_write_ctx_past), __imm(bpf_loop), __imm_addr(loop_write_ctx_past))
CASE("xdp", __failure __msg("R3 !read_ok"), loop_callback_reads_r3, LOOP(loop_read_r3), __imm(bpf_loop), __imm_addr(loop_read_r3))
CASE("xdp", __success, loop_callback_own_stack, LOOP(loop_own_stack), __imm(bpf_loop), __imm_addr(loop_own_stack))
CASE("xdp", __failure __msg("R2 type=scalar expected=func"), loop_scalar_callback,
     "r1 = 4; r2 = 0; r3 = 0; r4 = 0; call %[bpf_loop]; r0 = 0; exit;", __imm(bpf_loop))
CASE("xdp", __success, each_reads_value, EACH(elem_read_value), __imm(bpf_for_each_map_elem), __imm_addr(arr), __imm_addr(elem_read_value))
CASE("xdp", __failure __msg("invalid access to map value, value_size=16 off=16 size=8"), each_reads_past_value,
     EACH(elem_read_past_value), __imm(bpf_for_each_map_elem), __imm_addr(arr), __imm_addr(elem_read_past_value))
CASE("xdp", __success, each_reads_key, EACH(elem_read_key), __imm(bpf_for_each_map_elem), __imm_addr(arr), __imm_addr(elem_read_key))
CASE("xdp", __failure __msg("write to"), each_writes_key, EACH(elem_write_key), __imm(bpf_for_each_map_elem), __imm_addr(arr), __imm_addr(elem_write_key))
CASE("xdp", __success, each_returning_1, EACH(elem_ret1), __imm(bpf_for_each_map_elem), __imm_addr(arr), __imm_addr(elem_ret1))
CASE("xdp", __failure __msg("At callback return the register R0 has smin=2 smax=2 should have been in [0, 1]"),
     each_returning_2, EACH(loop_ret2), __imm(bpf_for_each_map_elem), __imm_addr(arr), __imm_addr(loop_ret2))
/* nr_loops is ARG_ANYTHING. */
CASE("xdp", __success __kernel_differs("the running kernel fails with 'verifier bug: backtracking misuse' "
     "when nr_loops holds a pointer (its precision tracking expects a scalar there)"), loop_count_is_pointer,
     "r2 = %[loop_ret0] ll; r3 = 0; r4 = 0; call %[bpf_loop]; r0 = 0; exit;", __imm(bpf_loop), __imm_addr(loop_ret0))
CASE("xdp", __success, loop_unknown_count,
     "call %[bpf_ktime_get_ns]; r1 = r0; r2 = %[loop_ret0] ll; r3 = 0; r4 = 0; call %[bpf_loop]; r0 = 0; exit;",
     __imm(bpf_loop), __imm(bpf_ktime_get_ns), __imm_addr(loop_ret0))
CB(loop_ret_unknown, "call %[bpf_ktime_get_ns]; exit;", __imm(bpf_ktime_get_ns))
CB(loop_ret_masked, "call %[bpf_ktime_get_ns]; r0 &= 1; exit;", __imm(bpf_ktime_get_ns))
CASE("xdp", __failure __msg("At callback return the register R0 has") __msg("should have been in [0, 1]"),
     loop_returning_unknown, LOOP(loop_ret_unknown), __imm(bpf_loop), __imm_addr(loop_ret_unknown))
CASE("xdp", __success, loop_returning_masked, LOOP(loop_ret_masked), __imm(bpf_loop), __imm_addr(loop_ret_masked))
struct {
	__uint(type, MAP_RINGBUF);
	__uint(max_entries, 4096);
} rb SEC(".maps");

CB(loop_reserve_leak, "r1 = %[rb] ll; r2 = 8; r3 = 0; call %[bpf_ringbuf_reserve]; r0 = 0; exit;",
   __imm(bpf_ringbuf_reserve), __imm_addr(rb))
CB(loop_reserve_release, "r1 = %[rb] ll; r2 = 8; r3 = 0; call %[bpf_ringbuf_reserve]; if r0 == 0 goto l0_%=;"
   "r1 = r0; r2 = 0; call %[bpf_ringbuf_submit]; l0_%=: r0 = 0; exit;",
   __imm(bpf_ringbuf_reserve), __imm(bpf_ringbuf_submit), __imm_addr(rb))
CASE("xdp", __failure __msg("Unreleased reference"), loop_callback_leaks_reference,
     LOOP(loop_reserve_leak), __imm(bpf_loop), __imm_addr(loop_reserve_leak))
CASE("xdp", __success, loop_callback_releases_reference,
     LOOP(loop_reserve_release), __imm(bpf_loop), __imm_addr(loop_reserve_release))
/* Callbacks that call bpf_loop themselves. */
CB(inner_cb, "r0 = 0; exit;")
CB(outer_cb, "r1 = 2; r2 = %[inner_cb] ll; r3 = 0; r4 = 0; call %[bpf_loop]; r0 = 0; exit;",
   __imm(bpf_loop), __imm_addr(inner_cb))
CB(self_cb, "r1 = 2; r2 = %[self_cb] ll; r3 = 0; r4 = 0; call %[bpf_loop]; r0 = 0; exit;",
   __imm(bpf_loop), __imm_addr(self_cb))
CASE("xdp", __success, nested_loop_callbacks, LOOP(outer_cb), __imm(bpf_loop), __imm_addr(outer_cb))
CASE("xdp", __failure __msg("the call stack of 9 frames is too deep"), callback_recursion, LOOP(self_cb), __imm(bpf_loop), __imm_addr(self_cb))
