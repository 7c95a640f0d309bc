/* Scalar bounds and known bits (tnum): what each ALU operation and branch proves about an
 * unknown number, checked by using it as an index into a 16-byte map value (or the stack).
 * Helpers return a 64-bit unknown (RET_INTEGER): VALUE_AND_U32 zero-extends it with
 * w0 = w0 to [0, 0xffffffff]; VALUE_AND_U64 leaves it any u64. */
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

/* r6 = &arr16[0] (or exit 0); r0 = a random u32. */
#define VALUE_AND_U32 \
	"*(u32 *)(r10 - 4) = 0;" \
	"r2 = r10;" \
	"r2 += -4;" \
	"r1 = %[arr16] ll;" \
	"call %[bpf_map_lookup_elem];" \
	"if r0 == 0 goto l_out_%=;" \
	"r6 = r0;" \
	"call %[bpf_get_prandom_u32];" \
	"w0 = w0;"
/* The same with r0 = any u64. */
#define VALUE_AND_U64 \
	"*(u32 *)(r10 - 4) = 0;" \
	"r2 = r10;" \
	"r2 += -4;" \
	"r1 = %[arr16] ll;" \
	"call %[bpf_map_lookup_elem];" \
	"if r0 == 0 goto l_out_%=;" \
	"r6 = r0;" \
	"call %[bpf_ktime_get_ns];"
/* Read one byte at r6 + r0. */
#define READ_BYTE "r6 += r0; r0 = *(u8 *)(r6 + 0);"
#define OUT "l_out_%=: r0 = 0; exit;"
#define OPS __imm(bpf_map_lookup_elem), __imm(bpf_get_prandom_u32), __imm(bpf_ktime_get_ns), __imm_addr(arr16)

#define CASE(verdict, name, body) \
	SEC("xdp") verdict __naked void name(void) \
	{ \
		asm volatile (body ::OPS : __clobber_all); \
	}

CASE(__success, and_mask_15, VALUE_AND_U32 "r0 &= 15;" READ_BYTE OUT)
CASE(__failure __msg("invalid access to map value, value_size=16 off=16 size=1"), and_mask_16,
     VALUE_AND_U32 "r0 &= 16;" READ_BYTE OUT)
CASE(__failure __msg("invalid access to map value, value_size=16"), and_mask_31,
     VALUE_AND_U32 "r0 &= 31;" READ_BYTE OUT)
CASE(__success, jgt_15, VALUE_AND_U32 "if r0 > 15 goto l_out_%=;" READ_BYTE OUT)
CASE(__failure __msg("invalid access to map value, value_size=16 off=16 size=1"), jgt_16,
     VALUE_AND_U32 "if r0 > 16 goto l_out_%=;" READ_BYTE OUT)
CASE(__success, jge_16, VALUE_AND_U32 "if r0 >= 16 goto l_out_%=;" READ_BYTE OUT)
CASE(__failure __msg("value_size=16 off=16 size=1"), jge_17,
     VALUE_AND_U32 "if r0 >= 17 goto l_out_%=;" READ_BYTE OUT)
CASE(__success, jlt_taken_branch, VALUE_AND_U32 "if r0 < 16 goto l_ok_%=; r0 = 0; exit; l_ok_%=:" READ_BYTE OUT)
CASE(__failure __msg("value_size=16 off=16 size=1"), jle_taken_branch_16,
     VALUE_AND_U32 "if r0 <= 16 goto l_ok_%=; r0 = 0; exit; l_ok_%=:" READ_BYTE OUT)
CASE(__success, jle_taken_branch_15, VALUE_AND_U32 "if r0 <= 15 goto l_ok_%=; r0 = 0; exit; l_ok_%=:" READ_BYTE OUT)
CASE(__failure __msg("R6 unbounded memory access"), no_check_u32, VALUE_AND_U32 READ_BYTE OUT)
CASE(__failure __msg("math between map_value pointer and register with unbounded min value is not allowed"), no_check_u64, VALUE_AND_U64 READ_BYTE OUT)
/* A u32 is never negative: a signed upper bound is enough. */
CASE(__success, jsgt_on_u32, VALUE_AND_U32 "if r0 s> 15 goto l_out_%=;" READ_BYTE OUT)
CASE(__failure __msg("math between map_value pointer and register with unbounded min value"), jsgt_on_u64, VALUE_AND_U64 "if r0 s> 15 goto l_out_%=;" READ_BYTE OUT)
CASE(__success, jsgt_and_jslt_on_u64,
     VALUE_AND_U64 "if r0 s> 15 goto l_out_%=; if r0 s< 0 goto l_out_%=;" READ_BYTE OUT)
CASE(__failure __msg("value_size=16 off=16 size=1"), jsgt_16_and_jslt_on_u64,
     VALUE_AND_U64 "if r0 s> 16 goto l_out_%=; if r0 s< 0 goto l_out_%=;" READ_BYTE OUT)
CASE(__success, jsge_and_jsle, VALUE_AND_U64 "if r0 s>= 16 goto l_out_%=; if r0 s<= -1 goto l_out_%=;" READ_BYTE OUT)
CASE(__success, unsigned_check_on_u64, VALUE_AND_U64 "if r0 > 15 goto l_out_%=;" READ_BYTE OUT)
CASE(__success, rsh_60, VALUE_AND_U64 "r0 >>= 60;" READ_BYTE OUT)
CASE(__failure __msg("value_size=16"), rsh_59, VALUE_AND_U64 "r0 >>= 59;" READ_BYTE OUT)
CASE(__success, lsh_rsh_pair, VALUE_AND_U64 "r0 <<= 60; r0 >>= 60;" READ_BYTE OUT)
CASE(__failure __msg("value_size=16"), lsh_rsh_pair_too_wide, VALUE_AND_U64 "r0 <<= 59; r0 >>= 59;" READ_BYTE OUT)
CASE(__success, arsh_after_mask, VALUE_AND_U32 "r0 &= 0xf0; r0 s>>= 4;" READ_BYTE OUT)
CASE(__failure __msg("min value is negative"), arsh_of_top_bits, VALUE_AND_U64 "r0 s>>= 60;" READ_BYTE OUT)
CASE(__success, mask_then_shift, VALUE_AND_U32 "r0 &= 0xf0; r0 >>= 4;" READ_BYTE OUT)
CASE(__failure __msg("value_size=16"), mask_then_shift_too_little, VALUE_AND_U32 "r0 &= 0xf0; r0 >>= 3;" READ_BYTE OUT)
CASE(__success, add_constant_in_range, VALUE_AND_U32 "r0 &= 7; r0 += 8;" READ_BYTE OUT)
CASE(__failure __msg("value_size=16 off=16 size=1"), add_constant_past_end, VALUE_AND_U32 "r0 &= 7; r0 += 9;" READ_BYTE OUT)
CASE(__failure __msg("min value is negative"), sub_may_go_negative, VALUE_AND_U32 "r0 &= 7; r0 -= 1;" READ_BYTE OUT)
CASE(__success, sub_after_lower_bound,
     VALUE_AND_U32 "r0 &= 15; if r0 < 1 goto l_out_%=; r0 -= 1;" READ_BYTE OUT)
CASE(__success, add_two_bounded, VALUE_AND_U32 "r1 = r0; r0 &= 7; r1 >>= 29; r0 += r1;" READ_BYTE OUT)
CASE(__failure __msg("invalid access to map value, value_size=16"), add_two_bounded_too_big,
     VALUE_AND_U32 "r1 = r0; r0 &= 7; r1 >>= 28; r0 += r1;" READ_BYTE OUT)
CASE(__success, mul_in_range, VALUE_AND_U32 "r0 &= 3; r0 *= 4; r6 += r0; r0 = *(u32 *)(r6 + 0);" OUT)
CASE(__failure __msg("value_size=16"), mul_past_end, VALUE_AND_U32 "r0 &= 3; r0 *= 5; r6 += r0; r0 = *(u32 *)(r6 + 0);" OUT)
CASE(__success, or_sets_bits, VALUE_AND_U32 "r0 &= 7; r0 |= 8;" READ_BYTE OUT)
CASE(__failure __msg("value_size=16"), or_sets_too_high, VALUE_AND_U32 "r0 &= 7; r0 |= 16;" READ_BYTE OUT)
CASE(__success, xor_in_range, VALUE_AND_U32 "r0 &= 7; r0 ^= 8;" READ_BYTE OUT)
CASE(__failure __msg("value_size=16"), xor_out_of_range, VALUE_AND_U32 "r0 &= 7; r0 ^= 16;" READ_BYTE OUT)
CASE(__success, jeq_makes_constant, VALUE_AND_U64 "if r0 != 5 goto l_out_%=;" READ_BYTE OUT)
CASE(__failure __msg("value_size=16 off=16 size=1"), jeq_constant_past_end, VALUE_AND_U64 "if r0 != 16 goto l_out_%=;" READ_BYTE OUT)
CASE(__success, jset_clears_bits, VALUE_AND_U32 "r0 &= 0xff; if r0 & 0xf0 goto l_out_%=;" READ_BYTE OUT)
CASE(__failure __msg("value_size=16"), jset_clears_too_few, VALUE_AND_U32 "r0 &= 0xff; if r0 & 0xe0 goto l_out_%=;" READ_BYTE OUT)
CASE(__success, compare_with_register_bound,
     VALUE_AND_U32 "r1 = 15; if r0 > r1 goto l_out_%=;" READ_BYTE OUT)
CASE(__failure __msg("value_size=16 off=16 size=1"), compare_with_register_bound_16,
     VALUE_AND_U32 "r1 = 16; if r0 > r1 goto l_out_%=;" READ_BYTE OUT)
CASE(__success, bound_through_copy, VALUE_AND_U32 "r1 = r0; if r1 > 15 goto l_out_%=;" READ_BYTE OUT)
CASE(__failure __msg("value_size=16"), copy_bound_before_change,
     VALUE_AND_U32 "r1 = r0; r0 += 1; if r1 > 15 goto l_out_%=;" READ_BYTE OUT)
CASE(__success __kernel_differs("the kernel does not track bounds through BPF_MOD (the result becomes unknown); r0 mod 16 is in [0, 15]"), mod_16, VALUE_AND_U32 "r0 %%= 16;" READ_BYTE OUT)
CASE(__success __kernel_differs("the kernel does not track bounds through BPF_DIV (the result becomes unknown); (r0 & 255) / 16 is in [0, 15]"), div_bounds, VALUE_AND_U32 "r0 &= 255; r0 /= 16;" READ_BYTE OUT)
CASE(__success, eight_byte_read_at_8, VALUE_AND_U32 "r0 &= 8; r6 += r0; r0 = *(u64 *)(r6 + 0);" OUT)
CASE(__failure __msg("value_size=16 off=9 size=8"), eight_byte_read_may_pass_end,
     VALUE_AND_U32 "r0 &= 9; r6 += r0; r0 = *(u64 *)(r6 + 0);" OUT)
CASE(__success, negative_constant_offset_after_add,
     VALUE_AND_U32 "r0 &= 7; r0 += 8; r6 += r0; r0 = *(u8 *)(r6 - 8);" OUT)
CASE(__failure __msg("invalid access to map value, value_size=16 off=-4 size=1"), negative_offset_before_start,
     VALUE_AND_U32 "r0 &= 7; r0 += 4; r6 += r0; r0 = *(u8 *)(r6 - 8);" OUT)
CASE(__success, signed_range_from_sign_extension,
     VALUE_AND_U32 "r0 &= 7; r0 = (s8)r0;" READ_BYTE OUT)
CASE(__failure __msg("min value is negative"), sign_extension_may_be_negative,
     VALUE_AND_U32 "r0 &= 0xff; r0 = (s8)r0;" READ_BYTE OUT)

/* Variable offsets on the stack: both slots written, the index masked. */
SEC("xdp") __success __naked void stack_variable_read(void)
{
	asm volatile ("call %[bpf_get_prandom_u32];"
		      "*(u64 *)(r10 - 16) = 0;"
		      "*(u64 *)(r10 - 8) = 0;"
		      "r0 &= 15;"
		      "r1 = r10;"
		      "r1 += -16;"
		      "r1 += r0;"
		      "r0 = *(u8 *)(r1 + 0);"
		      "exit;"
		      :: __imm(bpf_get_prandom_u32) : __clobber_all);
}

SEC("xdp") __failure __msg("invalid variable-offset") __naked void stack_variable_read_past_fp(void)
{
	asm volatile ("call %[bpf_get_prandom_u32];"
		      "*(u64 *)(r10 - 16) = 0;"
		      "*(u64 *)(r10 - 8) = 0;"
		      "r0 &= 31;"
		      "r1 = r10;"
		      "r1 += -16;"
		      "r1 += r0;"
		      "r0 = *(u8 *)(r1 + 0);"
		      "exit;"
		      :: __imm(bpf_get_prandom_u32) : __clobber_all);
}
CASE(__success, neg_of_bounded, VALUE_AND_U32 "r0 &= 7; r0 = -r0; r0 += 7;" READ_BYTE OUT)
CASE(__failure __msg("min value is negative"), neg_of_bounded_not_shifted, VALUE_AND_U32 "r0 &= 7; r0 = -r0; r0 += 6;" READ_BYTE OUT)
CASE(__success, signed_and_unsigned_checks_combine,
     VALUE_AND_U64 "if r0 s< 0 goto l_out_%=; if r0 s> 15 goto l_out_%=;" READ_BYTE OUT)
CASE(__success, unsigned_lower_and_upper, VALUE_AND_U64 "if r0 < 4 goto l_out_%=; if r0 > 19 goto l_out_%=; r0 -= 4;" READ_BYTE OUT)
CASE(__failure __msg("value_size=16"), unsigned_lower_and_upper_off_by_one,
     VALUE_AND_U64 "if r0 < 4 goto l_out_%=; if r0 > 20 goto l_out_%=; r0 -= 4;" READ_BYTE OUT)
CASE(__success, jne_excludes_nothing_in_range,
     VALUE_AND_U64 "if r0 > 16 goto l_out_%=; if r0 == 16 goto l_out_%=;" READ_BYTE OUT)
CASE(__success, two_registers_compared,
     VALUE_AND_U32 "r1 = r0; r1 &= 15; r0 &= 255; if r0 > r1 goto l_out_%=;" READ_BYTE OUT)
CASE(__failure __msg("value_size=16"), two_registers_compared_wrong_way,
     VALUE_AND_U32 "r1 = r0; r1 &= 15; r0 &= 255; if r0 < r1 goto l_out_%=;" READ_BYTE OUT)
CASE(__success, arsh_of_negative_constant, VALUE_AND_U32 "r0 = -16; r0 s>>= 2; r0 += 4;" READ_BYTE OUT)
CASE(__success, tnum_add_of_aligned, VALUE_AND_U32 "r0 &= 4; r1 = r0; r1 &= 8; r0 += r1; r0 += 3;" READ_BYTE OUT)
