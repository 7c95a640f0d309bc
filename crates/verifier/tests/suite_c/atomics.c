/* Atomic read-modify-write instructions (-mcpu=v3): allowed on the stack and on map
 * values, refused on the context and on the packet; the register fetched receives the
 * old value. */
#include "suite.h"

struct {
	__uint(type, MAP_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, u64);
} arr SEC(".maps");

#define OPS __imm(bpf_map_lookup_elem), __imm_addr(arr)
#define VALUE "*(u32 *)(r10 - 4) = 0; r2 = r10; r2 += -4; r1 = %[arr] ll; call %[bpf_map_lookup_elem]; if r0 == 0 goto l_out_%=;"
#define OUT "l_out_%=: r0 = 0; exit;"

CASE("xdp", __success, add_on_stack, "*(u64 *)(r10 - 8) = 0; r1 = 1; lock *(u64 *)(r10 - 8) += r1; r0 = *(u64 *)(r10 - 8); exit;")
CASE("xdp", __success, add_on_map_value, VALUE "r1 = 1; lock *(u64 *)(r0 + 0) += r1;" OUT, OPS)
CASE("xdp", __failure __msg("invalid access to map value, value_size=8 off=8 size=8"), add_past_map_value,
     VALUE "r1 = 1; lock *(u64 *)(r0 + 8) += r1;" OUT, OPS)
CASE("xdp", __failure __msg("BPF_ATOMIC stores into R1 ctx is not allowed"), add_on_ctx, "r2 = 1; lock *(u32 *)(r1 + 12) += r2; r0 = 0; exit;")
CASE("xdp", __failure __msg("BPF_ATOMIC stores into R2 pkt is not allowed"), add_on_packet,
     "r2 = *(u32 *)(r1 + 0); r3 = *(u32 *)(r1 + 4); r4 = r2; r4 += 8; if r4 > r3 goto l0_%=; r5 = 1; lock *(u64 *)(r2 + 0) += r5; l0_%=: r0 = 0; exit;")
CASE("xdp", __success, fetch_add_on_stack,
     "*(u64 *)(r10 - 8) = 5; r1 = 1; r1 = atomic_fetch_add((u64 *)(r10 - 8), r1); r0 = r1; exit;")
CASE("xdp", __success, xchg_on_map_value, VALUE "r1 = 3; r1 = xchg_64(r0 + 0, r1);" OUT, OPS)
CASE("xdp", __success, cmpxchg_on_stack,
     "*(u64 *)(r10 - 8) = 0; r0 = 0; r1 = 7; r0 = cmpxchg_64(r10 - 8, r0, r1); r0 = *(u64 *)(r10 - 8); exit;")
CASE("xdp", __failure __msg("R0 !read_ok"), cmpxchg_needs_r0,
     "*(u64 *)(r10 - 8) = 0; r1 = 7; r0 = cmpxchg_64(r10 - 8, r0, r1); exit;")
CASE("xdp", __success, xchg_pointer_into_stack_privileged,
     "*(u64 *)(r10 - 8) = 0; r1 = r10; r1 = xchg_64(r10 - 8, r1); r0 = 0; exit;")
CASE("xdp", __success, w_add_on_stack, "*(u32 *)(r10 - 4) = 0; w1 = 1; lock *(u32 *)(r10 - 4) += w1; r0 = 0; exit;")
CASE("xdp", __failure __msg("misaligned stack access"), add_misaligned_on_stack,
     "*(u64 *)(r10 - 16) = 0; r1 = 1; lock *(u64 *)(r10 - 12) += r1; r0 = 0; exit;")
