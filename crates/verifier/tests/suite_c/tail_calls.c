/* Tail calls: bpf_tail_call(ctx, prog_array, index) needs the unmodified context, a
 * program array and a scalar index; it returns only on failure; from a subprogram the
 * stack of the frames below may not exceed 256 bytes. */
#include "suite.h"

struct {
	__uint(type, MAP_PROG_ARRAY);
	__uint(max_entries, 4);
	__type(key, u32);
	__type(value, u32);
} progs SEC(".maps");

struct {
	__uint(type, MAP_ARRAY);
	__uint(max_entries, 4);
	__type(key, u32);
	__type(value, u32);
} arr SEC(".maps");

#define OPS __imm(bpf_tail_call), __imm(bpf_ktime_get_ns), __imm_addr(progs), __imm_addr(arr)

static __naked __noinline __used int tail_from_sub(void)
{
	asm volatile ("r2 = %[progs] ll; r3 = 0; call %[bpf_tail_call]; r0 = 0; exit;" :: OPS : __clobber_all);
}

static __naked __noinline __used int tail_from_sub_big_stack(void)
{
	asm volatile ("*(u64 *)(r10 - 64) = 0; r2 = %[progs] ll; r3 = 0; call %[bpf_tail_call]; r0 = 0; exit;" :: OPS : __clobber_all);
}

CASE("xdp", __success, tail_call_constant_index, "r2 = %[progs] ll; r3 = 0; call %[bpf_tail_call]; r0 = 0; exit;", OPS)
CASE("xdp", __success, tail_call_unknown_index,
     "r6 = r1; call %[bpf_ktime_get_ns]; r3 = r0; r1 = r6; r2 = %[progs] ll; call %[bpf_tail_call]; r0 = 0; exit;", OPS)
CASE("xdp", __failure __msg("expected prog array map for tail call"), tail_call_on_array,
     "r2 = %[arr] ll; r3 = 0; call %[bpf_tail_call]; r0 = 0; exit;", OPS)
CASE("xdp", __failure __msg("R1 type=scalar expected=ctx"), tail_call_scalar_ctx,
     "r1 = 0; r2 = %[progs] ll; r3 = 0; call %[bpf_tail_call]; r0 = 0; exit;", OPS)
CASE("xdp", __failure __msg("R3 !read_ok"), tail_call_without_index, "r2 = %[progs] ll; call %[bpf_tail_call]; r0 = 0; exit;", OPS)
CASE("xdp", __failure __msg("R1 !read_ok"), ctx_gone_after_tail_call,
     "r2 = %[progs] ll; r3 = 0; call %[bpf_tail_call]; r0 = *(u32 *)(r1 + 12); exit;", OPS)
CASE("xdp", __success, ctx_kept_in_r6_after_tail_call,
     "r6 = r1; r2 = %[progs] ll; r3 = 0; call %[bpf_tail_call]; r0 = *(u32 *)(r6 + 12); exit;", OPS)
/* The index is ARG_ANYTHING: any value, even a pointer. */
CASE("xdp", __success, tail_call_pointer_index,
     "r2 = %[progs] ll; r3 = r2; call %[bpf_tail_call]; r0 = 0; exit;", OPS)
CASE("xdp", __success, tail_call_from_subprogram, "*(u64 *)(r10 - 64) = 0; call tail_from_sub; r0 = 0; exit;", OPS)
CASE("xdp", __failure __msg("tail_calls are not allowed when call stack of previous frames is 272 bytes. Too large"),
     tail_call_from_subprogram_deep_stack,
     "*(u64 *)(r10 - 264) = 0; call tail_from_sub_big_stack; r0 = 0; exit;", OPS)
/* The frames below the tail call: 248 bytes round up to 256, the limit; 240 stay under it. */
CASE("xdp", __failure __msg("tail_calls are not allowed when call stack of previous frames is 256 bytes. Too large"),
     tail_call_from_subprogram_stack_256,
     "*(u64 *)(r10 - 248) = 0; call tail_from_sub_big_stack; r0 = 0; exit;", OPS)
CASE("xdp", __success, tail_call_from_subprogram_stack_240,
     "*(u64 *)(r10 - 240) = 0; call tail_from_sub_big_stack; r0 = 0; exit;", OPS)
CASE("socket", __success, tail_call_in_socket_filter, "r2 = %[progs] ll; r3 = 1; call %[bpf_tail_call]; r0 = 0; exit;", OPS)
