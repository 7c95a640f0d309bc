/* bpf-to-bpf calls: arguments in r1-r5, r6-r9 not passed, r0 returned, at most 8 frames,
 * 512 bytes per frame and 512 bytes over the whole call chain, no stack pointer of a
 * callee returned to its caller, no recursion. */
#include "suite.h"

struct {
	__uint(type, MAP_HASH);
	__uint(max_entries, 16);
	__type(key, u32);
	__type(value, u64);
} hash SEC(".maps");

struct {
	__uint(type, MAP_RINGBUF);
	__uint(max_entries, 4096);
} rb SEC(".maps");

#define SUB(name, body, ...) \
	static __naked __noinline __used void name(void) \
	{ \
		asm volatile (body ::__VA_ARGS__ : __clobber_all); \
	}

SUB(ret_one, "r0 = 1; exit;")
SUB(ret_arg, "r0 = r1; exit;")
SUB(read_r6, "r0 = r6; exit;")
SUB(no_r0, "r1 = 0; exit;")
SUB(write_through_arg, "*(u64 *)(r1 + 0) = 7; r0 = 0; exit;")
SUB(read_through_arg, "r0 = *(u64 *)(r1 + 0); exit;")
SUB(ret_own_stack, "*(u64 *)(r10 - 8) = 0; r0 = r10; r0 += -8; exit;")
SUB(stack_256, "*(u64 *)(r10 - 256) = 0; r0 = 0; exit;")
SUB(stack_512, "*(u64 *)(r10 - 512) = 0; r0 = 0; exit;")
SUB(ret_masked, "call %[bpf_ktime_get_ns]; r0 &= 7; exit;", __imm(bpf_ktime_get_ns))
SUB(deref_ctx_arg, "r0 = *(u32 *)(r1 + 12); exit;")

/* Depth chains: depth_N calls depth_N-1; depth_1 is a leaf. */
SUB(depth_1, "r0 = 0; exit;")
SUB(depth_2, "call depth_1; exit;")
SUB(depth_3, "call depth_2; exit;")
SUB(depth_4, "call depth_3; exit;")
SUB(depth_5, "call depth_4; exit;")
SUB(depth_6, "call depth_5; exit;")
SUB(depth_7, "call depth_6; exit;")
SUB(depth_8, "call depth_7; exit;")

/* The stack of two nested callees (each 256 bytes), plus the caller's. */
SUB(nested_256, "*(u64 *)(r10 - 256) = 0; call stack_256; exit;")
SUB(recurse, "r1 += 1; r0 = r1; if r1 > 3 goto l0_%=; call recurse; l0_%=: exit;")

CASE("xdp", __success, call_returns_value, "call ret_one; exit;")
CASE("xdp", __success, call_passes_argument, "r1 = 5; call ret_arg; exit;")
CASE("xdp", __failure __msg("R1 !read_ok"), callee_reads_unset_argument, "call %[bpf_ktime_get_ns]; call ret_arg; exit;", __imm(bpf_ktime_get_ns))
CASE("xdp", __failure __msg("R6 !read_ok"), callee_cannot_read_r6, "r6 = 1; call read_r6; exit;")
CASE("xdp", __failure __msg("R0 !read_ok"), callee_without_r0, "call no_r0; exit;")
CASE("xdp", __failure __msg("R1 !read_ok"), caller_r1_clobbered, "r1 = 1; call ret_one; r0 = r1; exit;")
CASE("xdp", __success, caller_r6_preserved, "r6 = 3; call ret_one; r0 = r6; exit;")
CASE("xdp", __success, callee_writes_caller_stack,
     "r1 = r10; r1 += -8; call write_through_arg; r0 = *(u64 *)(r10 - 8); exit;")
CASE("xdp", __success, callee_reads_caller_stack,
     "*(u64 *)(r10 - 8) = 3; r1 = r10; r1 += -8; call read_through_arg; exit;")
CASE("xdp", __failure __msg("misaligned stack access off 0+-4+0 size 8"), callee_writes_past_caller_frame,
     "r1 = r10; r1 += -4; call write_through_arg; r0 = 0; exit;")
CASE("xdp", __success, ctx_passed_to_callee, "call deref_ctx_arg; exit;")
CASE("xdp", __failure __msg("R1 invalid mem access 'scalar'"), scalar_passed_as_ctx, "r1 = 0; call deref_ctx_arg; exit;")
CASE("xdp", __failure __msg("cannot return stack pointer to the caller"), callee_returns_own_stack,
     "call ret_own_stack; r0 = *(u64 *)(r0 + 0); exit;")
CASE("xdp", __success, callee_return_bounds_kept,
     "call ret_masked; r1 = r10; r1 += -16; r1 += r0; *(u64 *)(r10 - 16) = 0; *(u64 *)(r10 - 8) = 0; r0 = *(u8 *)(r1 + 0); exit;",
     __imm(bpf_ktime_get_ns))
CASE("xdp", __failure __msg("invalid variable-offset read from stack"), callee_return_bounds_too_wide,
     "call ret_masked; r0 <<= 2; r1 = r10; r1 += -16; r1 += r0; *(u64 *)(r10 - 16) = 0; *(u64 *)(r10 - 8) = 0; r0 = *(u8 *)(r1 + 0); exit;",
     __imm(bpf_ktime_get_ns))
CASE("xdp", __success, eight_frames, "call depth_7; exit;")
CASE("xdp", __failure __msg("the call stack of 9 frames is too deep"), nine_frames, "call depth_8; exit;")
CASE("xdp", __success, callee_with_512_stack, "call stack_512; exit;")
CASE("xdp", __success, combined_stack_512, "*(u64 *)(r10 - 256) = 0; call stack_256; exit;")
CASE("xdp", __failure __msg("combined stack size of 2 calls is"), combined_stack_520,
     "*(u64 *)(r10 - 264) = 0; call stack_256; exit;")
CASE("xdp", __failure __msg("combined stack size of 3 calls is"), combined_stack_three_frames,
     "*(u64 *)(r10 - 8) = 0; call nested_256; exit;")
CASE("xdp", __success, two_callees_stack_not_added,
     "*(u64 *)(r10 - 256) = 0; call stack_256; call stack_256; exit;")
CASE("xdp", __failure __msg("the call stack of 8 frames is too deep"), recursion, "r1 = 0; call recurse; exit;")
SUB(store_ctx_to_arg, "*(u64 *)(r1 + 0) = r2; r0 = 0; exit;")
SUB(lookup_in_sub, "*(u32 *)(r10 - 4) = 0; r2 = r10; r2 += -4; r1 = %[hash] ll; call %[bpf_map_lookup_elem]; exit;",
    __imm(bpf_map_lookup_elem), __imm_addr(hash))
SUB(deref_or_null_arg, "if r1 == 0 goto l0_%=; r0 = *(u64 *)(r1 + 0); exit; l0_%=: r0 = 0; exit;")
SUB(deref_arg_unchecked, "r0 = *(u64 *)(r1 + 0); exit;")
SUB(reserve_in_sub, "r1 = %[rb] ll; r2 = 8; r3 = 0; call %[bpf_ringbuf_reserve]; exit;",
    __imm(bpf_ringbuf_reserve), __imm_addr(rb))

CASE("xdp", __success, callee_spills_pointer_into_caller_frame,
     "r2 = r1; r1 = r10; r1 += -8; call store_ctx_to_arg; r1 = *(u64 *)(r10 - 8); r0 = *(u32 *)(r1 + 12); exit;")
CASE("xdp", __success, callee_returns_map_value_or_null_checked,
     "call lookup_in_sub; if r0 == 0 goto l0_%=; r0 = *(u64 *)(r0 + 0); l0_%=: r0 = 0; exit;")
CASE("xdp", __failure __msg("R0 invalid mem access 'map_value_or_null'"), callee_returns_map_value_or_null_unchecked,
     "call lookup_in_sub; r0 = *(u64 *)(r0 + 0); r0 = 0; exit;")
CASE("xdp", __success, or_null_passed_and_checked_in_callee,
     "*(u32 *)(r10 - 4) = 0; r2 = r10; r2 += -4; r1 = %[hash] ll; call %[bpf_map_lookup_elem]; r1 = r0; call deref_or_null_arg; exit;",
     __imm(bpf_map_lookup_elem), __imm_addr(hash))
CASE("xdp", __failure __msg("R1 invalid mem access 'map_value_or_null'"), or_null_passed_unchecked,
     "*(u32 *)(r10 - 4) = 0; r2 = r10; r2 += -4; r1 = %[hash] ll; call %[bpf_map_lookup_elem]; r1 = r0; call deref_arg_unchecked; exit;",
     __imm(bpf_map_lookup_elem), __imm_addr(hash))
CASE("xdp", __success, reference_from_callee_released_by_caller,
     "call reserve_in_sub; if r0 == 0 goto l0_%=; r1 = r0; r2 = 0; call %[bpf_ringbuf_discard]; l0_%=: r0 = 0; exit;",
     __imm(bpf_ringbuf_discard))
CASE("xdp", __failure __msg("Unreleased reference"), reference_from_callee_leaked,
     "call reserve_in_sub; r0 = 0; exit;")
SUB(leak_own_stack_into_arg, "*(u64 *)(r10 - 8) = 0; r2 = r10; r2 += -8; *(u64 *)(r1 + 0) = r2; r0 = 0; exit;")
CASE("xdp", __failure __msg("cannot spill pointers to stack into stack frame of the caller"),
     callee_stack_pointer_left_in_caller_frame,
     "r1 = r10; r1 += -8; call leak_own_stack_into_arg; r1 = *(u64 *)(r10 - 8); r0 = *(u64 *)(r1 + 0); exit;")
SUB(store_caller_pointer_in_caller_frame, "r2 = r1; r2 += 8; *(u64 *)(r1 + 0) = r2; r0 = 0; exit;")
CASE("xdp", __failure __msg("cannot spill pointers to stack into stack frame of the caller"),
     callee_stores_caller_pointer_in_caller_frame,
     "r1 = r10; r1 += -16; call store_caller_pointer_in_caller_frame; r1 = *(u64 *)(r10 - 16); *(u64 *)(r1 + 0) = 1; r0 = 0; exit;")
CASE("xdp", __failure __msg("cannot spill pointers to stack into stack frame of the caller"),
     callee_stack_pointer_stored_unused,
     "r1 = r10; r1 += -8; call leak_own_stack_into_arg; r0 = 0; exit;")
SUB(spill_arg_in_own_frame, "*(u64 *)(r10 - 8) = r1; r2 = *(u64 *)(r10 - 8); *(u64 *)(r2 + 0) = 5; r0 = 0; exit;")
CASE("xdp", __success, callee_spills_caller_pointer_in_own_frame,
     "r1 = r10; r1 += -8; call spill_arg_in_own_frame; r0 = *(u64 *)(r10 - 8); exit;")
