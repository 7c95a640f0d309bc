/* Null checks: a map lookup returns map_value_or_null; a comparison with 0 makes it a
 * map_value (or the constant 0) in every register and spill slot holding a copy (same id);
 * no arithmetic, dereference or helper use before the check. */
#include "suite.h"

struct {
	__uint(type, MAP_HASH);
	__uint(max_entries, 16);
	__type(key, u32);
	__type(value, u64);
} hash SEC(".maps");

#define LOOKUP \
	"*(u32 *)(r10 - 4) = 0;" \
	"r2 = r10;" \
	"r2 += -4;" \
	"r1 = %[hash] ll;" \
	"call %[bpf_map_lookup_elem];"
#define OPS __imm(bpf_map_lookup_elem), __imm(bpf_map_update_elem), __imm(bpf_probe_read_kernel), __imm_addr(hash)

CASE("xdp", __success, checked_read, LOOKUP "if r0 == 0 goto l0_%=; r0 = *(u64 *)(r0 + 0); l0_%=: r0 = 0; exit;", OPS)
CASE("xdp", __failure __msg("R0 invalid mem access 'map_value_or_null'"), unchecked_read,
     LOOKUP "r0 = *(u64 *)(r0 + 0); r0 = 0; exit;", OPS)
CASE("xdp", __failure __msg("R0 invalid mem access 'map_value_or_null'"), unchecked_write,
     LOOKUP "*(u64 *)(r0 + 0) = 1; r0 = 0; exit;", OPS)
CASE("xdp", __success, ne_form, LOOKUP "if r0 != 0 goto l0_%=; r0 = 0; exit; l0_%=: *(u64 *)(r0 + 0) = 1; r0 = 0; exit;", OPS)
CASE("xdp", __failure __msg("R0 invalid mem access 'scalar'"), wrong_branch,
     LOOKUP "if r0 != 0 goto l0_%=; r0 = *(u64 *)(r0 + 0); l0_%=: r0 = 0; exit;", OPS)
CASE("xdp", __failure __msg("R0 pointer arithmetic on map_value_or_null prohibited"), arithmetic_before_check,
     LOOKUP "r0 += 8; r0 = 0; exit;", OPS)
CASE("xdp", __success, arithmetic_after_check, LOOKUP "if r0 == 0 goto l0_%=; r0 += 4; r0 = *(u32 *)(r0 + 0); l0_%=: r0 = 0; exit;", OPS)
CASE("xdp", __success, check_reaches_copy, LOOKUP "r6 = r0; if r0 == 0 goto l0_%=; r0 = *(u64 *)(r6 + 0); l0_%=: r0 = 0; exit;", OPS)
CASE("xdp", __success, check_of_copy_reaches_original, LOOKUP "r6 = r0; if r6 == 0 goto l0_%=; r0 = *(u64 *)(r0 + 0); l0_%=: r0 = 0; exit;", OPS)
CASE("xdp", __success, check_reaches_spilled_copy,
     LOOKUP "*(u64 *)(r10 - 16) = r0; if r0 == 0 goto l0_%=; r1 = *(u64 *)(r10 - 16); r0 = *(u64 *)(r1 + 0); l0_%=: r0 = 0; exit;", OPS)
CASE("xdp", __failure __msg("R1 invalid mem access 'map_value_or_null'"), spilled_copy_without_check,
     LOOKUP "*(u64 *)(r10 - 16) = r0; r1 = *(u64 *)(r10 - 16); r0 = *(u64 *)(r1 + 0); r0 = 0; exit;", OPS)
CASE("xdp", __failure __msg("R6 invalid mem access 'map_value_or_null'"), second_lookup_not_checked,
     LOOKUP "r6 = r0;" LOOKUP "if r0 == 0 goto l0_%=; r0 = *(u64 *)(r6 + 0); l0_%=: r0 = 0; exit;", OPS)
CASE("xdp", __success, null_branch_is_constant_zero,
     LOOKUP "if r0 != 0 goto l0_%=; r1 = r10; r1 += r0; *(u64 *)(r1 - 8) = 0; l0_%=: r0 = 0; exit;", OPS)
CASE("xdp", __failure __msg("R0 invalid mem access 'map_value_or_null'"), compare_with_nonzero_constant,
     LOOKUP "if r0 == 1 goto l0_%=; r0 = *(u64 *)(r0 + 0); l0_%=: r0 = 0; exit;", OPS)
CASE("xdp", __success, equal_to_checked_pointer,
     LOOKUP "r6 = r0;" LOOKUP "if r6 == 0 goto l0_%=; if r6 != r0 goto l0_%=; r0 = *(u64 *)(r0 + 0); l0_%=: r0 = 0; exit;", OPS)
CASE("xdp", __failure __msg("R0 invalid mem access 'map_value_or_null'"), not_equal_to_checked_pointer,
     LOOKUP "r6 = r0;" LOOKUP "if r6 == 0 goto l0_%=; if r6 == r0 goto l0_%=; r0 = *(u64 *)(r0 + 0); l0_%=: r0 = 0; exit;", OPS)
CASE("xdp", __failure __msg("R3 type=map_value_or_null"), unchecked_value_to_helper,
     LOOKUP "r3 = r0; r2 = r10; r2 += -4; r1 = %[hash] ll; r4 = 0; call %[bpf_map_update_elem]; r0 = 0; exit;", OPS)
CASE("xdp", __success, checked_value_to_helper,
     LOOKUP "if r0 == 0 goto l0_%=; r3 = r0; r2 = r10; r2 += -4; r1 = %[hash] ll; r4 = 0; call %[bpf_map_update_elem]; l0_%=: r0 = 0; exit;", OPS)
CASE("xdp", __success, value_as_helper_destination,
     LOOKUP "if r0 == 0 goto l0_%=; r1 = r0; r2 = 8; r3 = 0; call %[bpf_probe_read_kernel]; l0_%=: r0 = 0; exit;", OPS)
CASE("xdp", __failure __msg("invalid access to map value, value_size=8 off=8 size=1"), value_read_past_end,
     LOOKUP "if r0 == 0 goto l0_%=; r0 = *(u8 *)(r0 + 8); l0_%=: r0 = 0; exit;", OPS)
CASE("xdp", __failure __msg("invalid access to map value, value_size=8 off=-1 size=1"), value_read_before_start,
     LOOKUP "if r0 == 0 goto l0_%=; r0 = *(u8 *)(r0 - 1); l0_%=: r0 = 0; exit;", OPS)
CASE("xdp", __success, checked_after_call_clobbers_nothing,
     LOOKUP "r6 = r0; call %[bpf_ktime_get_ns]; if r6 == 0 goto l0_%=; r0 = *(u64 *)(r6 + 0); l0_%=: r0 = 0; exit;",
     OPS, __imm(bpf_ktime_get_ns))
CASE("xdp", __failure __msg("R0 invalid mem access 'scalar'"), lookup_result_after_another_call,
     LOOKUP "if r0 == 0 goto l0_%=; call %[bpf_ktime_get_ns]; r0 = *(u64 *)(r0 + 0); l0_%=: r0 = 0; exit;",
     OPS, __imm(bpf_ktime_get_ns))
/* Safe, but the kernel null-checks a pointer only against an immediate 0, not against a
 * register known to be 0; userbpf follows it. */
CASE("xdp", __failure __msg("R0 invalid mem access 'map_value_or_null'"), jeq_with_register_zero,
     LOOKUP "r1 = 0; if r0 == r1 goto l0_%=; r0 = *(u64 *)(r0 + 0); l0_%=: r0 = 0; exit;", OPS)
/* Only a 64-bit comparison with zero null-checks. */
CASE("xdp", __failure __msg("R0 invalid mem access 'map_value_or_null'"), jmp32_is_not_a_null_check,
     LOOKUP "if w0 == 0 goto l0_%=; r0 = *(u64 *)(r0 + 0); l0_%=: r0 = 0; exit;", OPS)
CASE("xdp", __failure __msg("R0 invalid mem access 'map_value_or_null'"), jgt_zero_is_not_a_null_check,
     LOOKUP "if r0 > 0 goto l1_%=; goto l0_%=; l1_%=: r0 = *(u64 *)(r0 + 0); l0_%=: r0 = 0; exit;", OPS)
CASE("xdp", __success, misaligned_map_value_read, LOOKUP "if r0 == 0 goto l0_%=; r0 = *(u32 *)(r0 + 1); l0_%=: r0 = 0; exit;", OPS)
CASE("xdp", __failure __msg("R1 invalid mem access 'scalar'"), copy_is_null_on_the_null_path,
     LOOKUP "r1 = r0; if r0 == 0 goto l0_%=; l0_%=: r0 = *(u64 *)(r1 + 0); r0 = 0; exit;", OPS)
CASE("xdp", __failure __msg("math between map_value pointer and -536870912 is not allowed"), value_pointer_minus_huge,
     LOOKUP "if r0 == 0 goto l0_%=; r0 += -0x20000000; l0_%=: r0 = 0; exit;", OPS)
