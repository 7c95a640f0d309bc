/* Pointer arithmetic and comparison in a privileged load: add and subtract of scalars
 * (64-bit only), pointer minus pointer of the same region, no bitwise or multiplicative
 * operators, no pointer plus pointer, no arithmetic on map pointers or packet end, stack
 * offsets bounded; comparing pointers is allowed. */
#include "suite.h"

CASE("xdp", __failure __msg("R1 bitwise operator &= on pointer prohibited"), and_on_pointer, "r1 &= 1; r0 = 0; exit;")
CASE("xdp", __failure __msg("R1 bitwise operator |= on pointer prohibited"), or_on_pointer, "r1 |= 1; r0 = 0; exit;")
CASE("xdp", __failure __msg("R1 bitwise operator ^= on pointer prohibited"), xor_on_pointer, "r1 ^= 1; r0 = 0; exit;")
CASE("xdp", __failure __msg("R1 pointer arithmetic with *= operator prohibited"), mul_on_pointer, "r1 *= 2; r0 = 0; exit;")
CASE("xdp", __failure __msg("R1 pointer arithmetic with <<= operator prohibited"), lsh_on_pointer, "r1 <<= 2; r0 = 0; exit;")
CASE("xdp", __failure __msg("R1 pointer arithmetic with >>= operator prohibited"), rsh_on_pointer, "r1 >>= 2; r0 = 0; exit;")
CASE("xdp", __failure __msg("R1 pointer arithmetic with /= operator prohibited"), div_on_pointer, "r1 /= 2; r0 = 0; exit;")
/* Privileged: negating a pointer gives a scalar. */
CASE("xdp", __success, neg_on_pointer, "r1 = -r1; r0 = 0; exit;")
CASE("xdp", __failure __msg("R1 invalid mem access 'scalar'"), neg_on_pointer_then_deref, "r1 = -r1; r1 = -r1; r0 = *(u32 *)(r1 + 0); exit;")
CASE("xdp", __success, pointer_minus_pointer, "r2 = r1; r2 -= r1; r0 = r2; exit;")
CASE("xdp", __success, stack_pointer_difference, "r2 = r10; r2 += -8; r3 = r10; r3 -= r2; r0 = r3; exit;")
CASE("xdp", __failure __msg("R2 pointer += pointer prohibited"), pointer_plus_pointer, "r2 = r1; r2 += r1; r0 = 0; exit;")
CASE("xdp", __failure __msg("R0 tried to subtract pointer from scalar"), scalar_minus_pointer, "r0 = 0; r0 -= r1; exit;")
CASE("xdp", __success, scalar_plus_pointer, "r0 = -8; r0 += r10; *(u64 *)(r0 + 0) = 1; r0 = 0; exit;")
CASE("xdp", __failure __msg("math between fp pointer and 536870912 is not allowed"), fp_plus_huge_constant,
     "r3 = r10; r3 += 0x20000000; r0 = 0; exit;")
CASE("xdp", __success, fp_plus_large_constant_unused, "r3 = r10; r3 += 0x1000; r0 = 0; exit;")
CASE("xdp", __failure __msg("invalid write to stack"), fp_plus_large_constant_used, "r3 = r10; r3 += 0x1000; *(u8 *)(r3 + 0) = 0; r0 = 0; exit;")
CASE("xdp", __success, pointer_compare, "r2 = r10; if r2 == r1 goto l0_%=; l0_%=: r0 = 0; exit;")
CASE("xdp", __success, pointer_compare_with_scalar, "r2 = 5; if r1 > r2 goto l0_%=; l0_%=: r0 = 0; exit;")
CASE("xdp", __success, pointer_jset, "if r1 & 0x7 goto l0_%=; l0_%=: r0 = 0; exit;")
CASE("xdp", __success, ctx_pointer_moved_and_back, "r1 += 8; r1 += -8; r0 = *(u32 *)(r1 + 12); exit;")
CASE("xdp", __failure __msg("variable ctx access var_off=(0x0; 0x4) disallowed"), ctx_pointer_moved_by_unknown,
     "r6 = r1; call %[bpf_ktime_get_ns]; r0 &= 4; r6 += r0; r0 = *(u32 *)(r6 + 0); exit;", __imm(bpf_ktime_get_ns))
CASE("xdp", __success, stack_pointer_variable_then_constant,
     "call %[bpf_ktime_get_ns]; r0 &= 8; r1 = r10; r1 += -24; r1 += r0; *(u64 *)(r1 + 8) = 0; r0 = 0; exit;", __imm(bpf_ktime_get_ns))
CASE("xdp", __failure __msg("invalid variable-offset write to stack"), stack_pointer_variable_past_top,
     "call %[bpf_ktime_get_ns]; r0 &= 24; r1 = r10; r1 += -24; r1 += r0; *(u64 *)(r1 + 8) = 0; r0 = 0; exit;", __imm(bpf_ktime_get_ns))
CASE("xdp", __failure __msg("R2 subtraction from stack pointer prohibited"), stack_pointer_sub_constant, "r2 = r10; r2 -= 8; *(u64 *)(r2 + 0) = 0; r0 = 0; exit;")
CASE("xdp", __success, ctx_pointer_sub_constant, "r1 += 16; r1 -= 4; r0 = 0; exit;")
CASE("xdp", __failure __msg("R2 invalid mem access 'scalar'"), pointer_lost_by_32bit_move, "w2 = w10; *(u64 *)(r2 - 8) = 0; r0 = 0; exit;")
/* The offset's sanity is checked before the operator: r3 is unbounded. */
CASE("xdp", __failure __msg("math between fp pointer and register with unbounded min value is not allowed"), stack_pointer_minus_difference,
     "r2 = r10; r2 += -16; r3 = r10; r3 -= r2; r4 = r10; r4 -= r3; *(u64 *)(r4 + 0) = 0; r0 = 0; exit;")
CASE("xdp", __failure __msg("R1 subtraction from stack pointer prohibited"), stack_pointer_minus_known_register,
     "r1 = r10; r2 = 8; r1 -= r2; *(u64 *)(r1 + 0) = 0; r0 = 0; exit;")
CASE("xdp", __failure __msg("invalid access to packet"), packet_pointer_plus_huge_constant,
     "r2 = *(u32 *)(r1 + 0); r3 = *(u32 *)(r1 + 4); r2 += 0x10000; r4 = r2; r4 += 1; if r4 > r3 goto l0_%=;"
     "r0 = *(u8 *)(r2 + 0); l0_%=: r0 = 0; exit;")
CASE("xdp", __success, packet_pointer_plus_max_constant, "r2 = *(u32 *)(r1 + 0); r2 += 0xffff; r0 = 0; exit;")
CASE("xdp", __failure __msg("invalid variable-offset write to stack R1"), stack_pointer_far_below_then_variable,
     "call %[bpf_ktime_get_ns]; r0 &= 7; r1 = r10; r1 += -600; r1 += r0; *(u8 *)(r1 + 0) = 0; r0 = 0; exit;", __imm(bpf_ktime_get_ns))
CASE("xdp", __failure __msg("invalid bpf_context access"), ctx_max_offset, "r0 = *(u32 *)(r1 + 32764); exit;")
CASE("xdp", __failure __msg("invalid read from stack"), stack_min_offset, "r0 = *(u64 *)(r10 - 32768); exit;")
CASE("xdp", __failure __msg("math between fp pointer and -536870912 is not allowed"), fp_minus_huge_constant,
     "r3 = r10; r3 += -0x20000000; r0 = 0; exit;")
