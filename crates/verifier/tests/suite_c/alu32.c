/* 32-bit ALU and JMP32: results are zero-extended into the full register, 32-bit
 * comparisons bound the low half only, constant shifts must be smaller than the width,
 * division by a constant zero is refused, pointers allow no 32-bit arithmetic. */
#include "suite.h"

struct val16 {
	u64 a, b;
};

struct {
	__uint(type, MAP_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct val16);
} arr16 SEC(".maps");

/* r6 = &arr16[0] (or exit 0); r0 = any u64. */
#define VALUE_AND_U64 \
	"*(u32 *)(r10 - 4) = 0;" \
	"r2 = r10;" \
	"r2 += -4;" \
	"r1 = %[arr16] ll;" \
	"call %[bpf_map_lookup_elem];" \
	"if r0 == 0 goto l_out_%=;" \
	"r6 = r0;" \
	"call %[bpf_ktime_get_ns];"
#define READ_BYTE "r6 += r0; r0 = *(u8 *)(r6 + 0);"
#define OUT "l_out_%=: r0 = 0; exit;"
#define OPS __imm(bpf_map_lookup_elem), __imm(bpf_ktime_get_ns), __imm_addr(arr16)

CASE("xdp", __success, w_and_zero_extends, VALUE_AND_U64 "w0 &= 15;" READ_BYTE OUT, OPS)
CASE("xdp", __failure __msg("R6 unbounded memory access"), w_add_keeps_32_bits, VALUE_AND_U64 "w0 += 1;" READ_BYTE OUT, OPS)
CASE("xdp", __success, w_mov_zero_extends_then_jgt, VALUE_AND_U64 "w0 = w0; if r0 > 15 goto l_out_%=;" READ_BYTE OUT, OPS)
CASE("xdp", __failure __msg("math between map_value pointer and register with unbounded min value"), jmp32_leaves_upper_half,
     VALUE_AND_U64 "if w0 > 15 goto l_out_%=;" READ_BYTE OUT, OPS)
CASE("xdp", __success, jmp32_after_zero_extension, VALUE_AND_U64 "w1 = w0; if w1 > 15 goto l_out_%=; r0 = r1;" READ_BYTE OUT, OPS)
CASE("xdp", __success, jgt64_bounds_low_half, VALUE_AND_U64 "if r0 > 15 goto l_out_%=; w0 += 0;" READ_BYTE OUT, OPS)
CASE("xdp", __failure __msg("value_size=16"), jmp32_bound_16, VALUE_AND_U64 "w0 = w0; if w0 > 16 goto l_out_%=;" READ_BYTE OUT, OPS)
CASE("xdp", __success, jmp32_signed_both_sides,
     VALUE_AND_U64 "w0 = w0; if w0 s> 15 goto l_out_%=; if w0 s< 0 goto l_out_%=;" READ_BYTE OUT, OPS)
CASE("xdp", __failure __msg("R6 unbounded memory access"), jmp32_signed_upper_only,
     VALUE_AND_U64 "w0 = w0; if w0 s> 15 goto l_out_%=;" READ_BYTE OUT, OPS)
CASE("xdp", __success, w_rsh_28, VALUE_AND_U64 "w0 >>= 28;" READ_BYTE OUT, OPS)
CASE("xdp", __failure __msg("value_size=16"), w_rsh_27, VALUE_AND_U64 "w0 >>= 27;" READ_BYTE OUT, OPS)
CASE("xdp", __success, w_arsh_of_masked, VALUE_AND_U64 "w0 &= 0xff; w0 s>>= 4;" READ_BYTE OUT, OPS)
CASE("xdp", __failure __msg("R6 unbounded memory access"), w_arsh_of_sign_bit, VALUE_AND_U64 "w0 s>>= 28;" READ_BYTE OUT, OPS)
CASE("xdp", __success, w_mul_bounded, VALUE_AND_U64 "w0 &= 3; w0 *= 5;" READ_BYTE OUT, OPS)
CASE("xdp", __failure __msg("value_size=16"), w_mul_past_end, VALUE_AND_U64 "w0 &= 3; w0 *= 6;" READ_BYTE OUT, OPS)
CASE("xdp", __failure __msg("R6 unbounded memory access"), w_sub_wraps, VALUE_AND_U64 "w0 &= 7; w0 -= 1;" READ_BYTE OUT, OPS)
CASE("xdp", __success, w_or_xor_bounded, VALUE_AND_U64 "w0 &= 3; w0 |= 4; w0 ^= 8;" READ_BYTE OUT, OPS)
CASE("xdp", __success, w_neg_of_constant, VALUE_AND_U64 "w0 = -1; w0 = -w0;" READ_BYTE OUT, OPS)
CASE("xdp", __success, w_mov_constant_minus_one_is_u32_max, "r0 = 0; w0 = -1; r0 >>= 31; exit;")
CASE("xdp", __success, w_lsh_31, "r0 = 1; w0 <<= 31; exit;")
CASE("xdp", __failure __msg("invalid shift 32"), w_lsh_32, "r0 = 1; w0 <<= 32; exit;")
CASE("xdp", __success, r_lsh_63, "r0 = 1; r0 <<= 63; exit;")
CASE("xdp", __failure __msg("invalid shift 64"), r_lsh_64, "r0 = 1; r0 <<= 64; exit;")
CASE("xdp", __failure __msg("invalid shift 32"), w_arsh_32, "r0 = 1; w0 s>>= 32; exit;")
CASE("xdp", __failure __msg("div by zero"), div_by_constant_zero, "r0 = 1; r0 /= 0; exit;")
CASE("xdp", __failure __msg("div by zero"), w_mod_by_constant_zero, "r0 = 1; w0 %%= 0; exit;")
CASE("xdp", __success, div_by_register_zero, "r0 = 5; r1 = 0; r0 /= r1; exit;")
CASE("xdp", __success, w_mod_by_register_zero, "w0 = 5; w1 = 0; w0 %%= w1; exit;")
CASE("xdp", __success, alu32_ops_on_constants,
     "w0 = 7; w0 *= 3; w0 -= 1; w0 /= 2; w0 %%= 7; w0 |= 8; w0 &= 12; w0 ^= 1; w0 <<= 2; w0 >>= 1; w0 s>>= 1; w0 = -w0; exit;")
CASE("xdp", __success, byte_swaps, "r0 = 0x1234; r0 = be16 r0; r0 = le32 r0; r0 = bswap64 r0; exit;")
CASE("xdp", __success, sign_extending_moves, "r0 = 0xff; r0 = (s8)r0; w0 = (s16)w0; r0 = (s32)r0; exit;")
CASE("xdp", __success, signed_division, "r0 = -8; r1 = 2; r0 s/= r1; r0 s%%= r1; exit;")
CASE("xdp", __failure __msg("R1 32-bit pointer arithmetic prohibited"), w_add_on_ctx, "w1 += 1; r0 = 0; exit;")
/* Privileged: a 32-bit subtraction from a pointer gives an unknown scalar. */
CASE("xdp", __success, w_sub_on_ctx, "w1 -= 4; r0 = 0; exit;")
CASE("xdp", __failure __msg("R1 invalid mem access 'scalar'"), w_sub_on_ctx_then_deref, "w1 -= 4; r0 = *(u32 *)(r1 + 0); exit;")
CASE("xdp", __success, w_mov_of_pointer_is_scalar, "w0 = w1; exit;")
CASE("xdp", __failure __msg("R1 invalid mem access 'scalar'"), w_mov_of_pointer_no_deref, "w1 = w1; r0 = *(u32 *)(r1 + 0); exit;")
CASE("xdp", __failure __msg("R2 32-bit pointer arithmetic prohibited"), w_add_on_stack_pointer, "r2 = r10; w2 += -8; r0 = 0; exit;")
CASE("xdp", __success, jmp32_on_constants, "r0 = 5; if w0 > 3 goto l0_%=; exit; l0_%=: if w0 s< 10 goto l1_%=; exit; l1_%=: r0 = 1; exit;")
CASE("xdp", __success, w_wrap_then_shift, VALUE_AND_U64 "if r0 > 0xffffffff goto l_out_%=; w0 += 1; r0 >>= 28;" READ_BYTE OUT, OPS)
CASE("xdp", __failure __msg("value_size=16"), w_wrap_then_shift_too_little,
     VALUE_AND_U64 "if r0 > 0xffffffff goto l_out_%=; w0 += 1; r0 >>= 27;" READ_BYTE OUT, OPS)
CASE("xdp", __success, jmp32_signed_on_negative_range,
     VALUE_AND_U64 "w0 = w0; if w0 s> -1 goto l_out_%=; if w0 s< -16 goto l_out_%=; w0 += 16; r0 &= 0xff;" READ_BYTE OUT, OPS)
CASE("xdp", __success, w_movsx_byte_bounds, VALUE_AND_U64 "w0 &= 0x7; w0 = (s8)w0;" READ_BYTE OUT, OPS)
CASE("xdp", __failure __msg("R6 unbounded memory access"), w_movsx_byte_negative, VALUE_AND_U64 "w0 &= 0xff; w0 = (s8)w0;" READ_BYTE OUT, OPS)
