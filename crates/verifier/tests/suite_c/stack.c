/* The stack: per-byte initialisation (a privileged load may read uninitialised stack,
 * CAP_PERFMON), bounds [r10 - 512, r10), alignment, and spilled registers keeping their
 * whole state (type, bounds) when filled back with the same size. */
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

#define OPS __imm(bpf_map_lookup_elem), __imm(bpf_ktime_get_ns), __imm_addr(arr16)

CASE("xdp", __success, write_then_read, "*(u64 *)(r10 - 8) = 1; r0 = *(u64 *)(r10 - 8); exit;")
CASE("xdp", __success, two_halves_then_read, "*(u32 *)(r10 - 8) = 1; *(u32 *)(r10 - 4) = 2; r0 = *(u64 *)(r10 - 8); exit;")
/* Privileged loads read uninitialised stack as unknown scalars. */
CASE("xdp", __success, uninit_read_privileged, "r0 = *(u64 *)(r10 - 8); exit;")
CASE("xdp", __success, partially_init_read_privileged, "*(u32 *)(r10 - 8) = 1; r0 = *(u64 *)(r10 - 8); exit;")
CASE("xdp", __failure __msg("invalid write to stack R10 off=-520 size=8"), write_below_frame, "*(u64 *)(r10 - 520) = 1; r0 = 0; exit;")
CASE("xdp", __failure __msg("invalid write to stack R10 off=-513 size=1"), byte_below_frame, "*(u8 *)(r10 - 513) = 1; r0 = 0; exit;")
CASE("xdp", __success, byte_at_frame_bottom, "*(u8 *)(r10 - 512) = 1; r0 = *(u8 *)(r10 - 512); exit;")
CASE("xdp", __success, dword_at_frame_bottom, "*(u64 *)(r10 - 512) = 1; r0 = *(u64 *)(r10 - 512); exit;")
CASE("xdp", __failure __msg("invalid write to stack R10 off=0 size=8"), write_at_fp, "*(u64 *)(r10 + 0) = 1; r0 = 0; exit;")
/* Alignment is checked before bounds. */
CASE("xdp", __failure __msg("misaligned stack access off 0+0+-4 size 8"), read_across_fp, "r0 = *(u64 *)(r10 - 4); exit;")
CASE("xdp", __failure __msg("invalid read from stack R10 off=0 size=8"), read_at_fp, "r0 = *(u64 *)(r10 + 0); exit;")
CASE("xdp", __success, read_last_byte_below_fp, "*(u8 *)(r10 - 1) = 3; r0 = *(u8 *)(r10 - 1); exit;")
CASE("xdp", __failure __msg("misaligned stack access"), misaligned_dword, "*(u64 *)(r10 - 12) = 1; r0 = 0; exit;")
CASE("xdp", __failure __msg("misaligned stack access"), misaligned_word, "*(u32 *)(r10 - 6) = 1; r0 = 0; exit;")
CASE("xdp", __success, aligned_halfword, "*(u16 *)(r10 - 6) = 1; r0 = *(u16 *)(r10 - 6); exit;")
CASE("xdp", __success, spill_fill_ctx, "*(u64 *)(r10 - 8) = r1; r2 = *(u64 *)(r10 - 8); r0 = *(u32 *)(r2 + 12); exit;")
CASE("xdp", __failure __msg("invalid size of register fill"), narrow_fill_of_pointer,
     "*(u64 *)(r10 - 8) = r1; r2 = *(u32 *)(r10 - 8); r0 = 0; exit;")
CASE("xdp", __failure __msg("invalid size of register spill"), narrow_spill_of_pointer,
     "*(u32 *)(r10 - 8) = r1; r0 = 0; exit;")
CASE("xdp", __failure __msg("R2 invalid mem access 'scalar'"), spilled_pointer_byte_overwritten,
     "*(u64 *)(r10 - 8) = r1; *(u8 *)(r10 - 8) = 0; r2 = *(u64 *)(r10 - 8); r0 = *(u32 *)(r2 + 12); exit;")
CASE("xdp", __success, spilled_pointer_other_slot_written,
     "*(u64 *)(r10 - 8) = r1; *(u8 *)(r10 - 16) = 0; r2 = *(u64 *)(r10 - 8); r0 = *(u32 *)(r2 + 12); exit;")
CASE("xdp", __success, spill_fill_stack_pointer,
     "r1 = r10; r1 += -16; *(u64 *)(r10 - 8) = r1; r2 = *(u64 *)(r10 - 8); *(u64 *)(r2 + 0) = 1; r0 = *(u64 *)(r10 - 16); exit;")
CASE("xdp", __failure __msg("invalid write to stack"), spilled_stack_pointer_out_of_frame,
     "r1 = r10; r1 += -16; *(u64 *)(r10 - 8) = r1; r2 = *(u64 *)(r10 - 8); *(u64 *)(r2 + 16) = 1; r0 = 0; exit;")
/* A spilled bounded scalar keeps its bounds. */
CASE("xdp", __success, spilled_scalar_keeps_bounds,
     "*(u32 *)(r10 - 4) = 0; r2 = r10; r2 += -4; r1 = %[arr16] ll; call %[bpf_map_lookup_elem];"
     "if r0 == 0 goto l_out_%=; r6 = r0; call %[bpf_ktime_get_ns]; r0 &= 15;"
     "*(u64 *)(r10 - 16) = r0; r1 = *(u64 *)(r10 - 16); r6 += r1; r0 = *(u8 *)(r6 + 0);"
     "l_out_%=: r0 = 0; exit;", OPS)
CASE("xdp", __failure __msg("math between map_value pointer and register with unbounded min value"), spilled_scalar_half_overwritten,
     "*(u32 *)(r10 - 4) = 0; r2 = r10; r2 += -4; r1 = %[arr16] ll; call %[bpf_map_lookup_elem];"
     "if r0 == 0 goto l_out_%=; r6 = r0; call %[bpf_ktime_get_ns]; r0 &= 15;"
     "*(u64 *)(r10 - 16) = r0; call %[bpf_ktime_get_ns]; *(u32 *)(r10 - 12) = r0;"
     "r1 = *(u64 *)(r10 - 16); r6 += r1; r0 = *(u8 *)(r6 + 0);"
     "l_out_%=: r0 = 0; exit;", OPS)
CASE("xdp", __success, spilled_constant_used_as_offset,
     "r2 = -16; *(u64 *)(r10 - 8) = r2; r3 = *(u64 *)(r10 - 8); r4 = r10; r4 += r3; *(u64 *)(r4 + 0) = 1; r0 = 0; exit;")
CASE("xdp", __failure __msg("invalid write to stack R4 off=-520 size=8"), spilled_constant_out_of_frame,
     "r2 = -520; *(u64 *)(r10 - 8) = r2; r3 = *(u64 *)(r10 - 8); r4 = r10; r4 += r3; *(u64 *)(r4 + 0) = 1; r0 = 0; exit;")
CASE("xdp", __failure __msg("R4 subtraction from stack pointer prohibited"), fp_minus_register,
     "r3 = 16; r4 = r10; r4 -= r3; *(u64 *)(r4 + 0) = 1; r0 = 0; exit;")
CASE("xdp", __success, zero_byte_read_back_is_zero,
     "*(u8 *)(r10 - 1) = 0; r0 = *(u8 *)(r10 - 1); if r0 == 0 goto l0_%=; r0 = *(u8 *)(r0 + 0); l0_%=: exit;")
CASE("xdp", __failure __msg("R0 invalid mem access 'scalar'"), unknown_byte_read_back,
     "call %[bpf_ktime_get_ns]; *(u8 *)(r10 - 1) = r0; r0 = *(u8 *)(r10 - 1); if r0 == 0 goto l0_%=; r0 = *(u8 *)(r0 + 0); l0_%=: exit;",
     __imm(bpf_ktime_get_ns))
CASE("xdp", __success, variable_offset_write_in_frame,
     "call %[bpf_ktime_get_ns]; r0 &= 7; r1 = r10; r1 += -16; r1 += r0; *(u8 *)(r1 + 0) = 1; r0 = 0; exit;",
     __imm(bpf_ktime_get_ns))
CASE("xdp", __failure __msg("invalid variable-offset write to stack R1"), variable_offset_write_past_fp,
     "call %[bpf_ktime_get_ns]; r0 &= 31; r1 = r10; r1 += -16; r1 += r0; *(u8 *)(r1 + 0) = 1; r0 = 0; exit;",
     __imm(bpf_ktime_get_ns))
CASE("xdp", __failure __msg("math between fp pointer and register with unbounded min value is not allowed"), fp_plus_unknown,
     "call %[bpf_ktime_get_ns]; r1 = r10; r1 += r0; r0 = 0; exit;", __imm(bpf_ktime_get_ns))
CASE("xdp", __success, stack_pointer_passed_around,
     "r2 = r10; r2 += -8; *(u64 *)(r2 + 0) = 5; r0 = *(u64 *)(r10 - 8); exit;")
CASE("xdp", __failure __msg("invalid bpf_context access off=12 size=4"), st_into_ctx, "*(u32 *)(r1 + 12) = 1; r0 = 0; exit;")
CASE("xdp", __success, spill_of_32bit_scalar_fill_32,
     "w2 = 7; *(u32 *)(r10 - 4) = r2; r0 = *(u32 *)(r10 - 4); exit;")
/* A variable-offset write may hit a spilled pointer: the slot no longer holds it. */
CASE("xdp", __failure __msg("R2 invalid mem access 'scalar'"), variable_write_destroys_spill,
     "r6 = r1; *(u64 *)(r10 - 16) = r1; call %[bpf_ktime_get_ns]; r0 &= 8; r1 = r10; r1 += -24; r1 += r0;"
     "*(u64 *)(r1 + 0) = 0; r2 = *(u64 *)(r10 - 16); r0 = *(u32 *)(r2 + 12); exit;", __imm(bpf_ktime_get_ns))
CASE("xdp", __success, variable_write_elsewhere_keeps_spill,
     "r6 = r1; *(u64 *)(r10 - 16) = r1; call %[bpf_ktime_get_ns]; r0 &= 8; r1 = r10; r1 += -40; r1 += r0;"
     "*(u64 *)(r1 + 0) = 0; r2 = *(u64 *)(r10 - 16); r0 = *(u32 *)(r2 + 12); exit;", __imm(bpf_ktime_get_ns))
/* Pruning compares stack slots too: one path spills a safe offset, the other an unsafe one. */
CASE("xdp", __failure __msg("invalid write to stack"), pruning_sees_spilled_offsets,
     "call %[bpf_ktime_get_ns]; r1 = -8; if r0 > 10 goto l0_%=; r1 = 8; l0_%=: *(u64 *)(r10 - 8) = r1; r1 = 0;"
     "r2 = *(u64 *)(r10 - 8); r3 = r10; r3 += r2; *(u64 *)(r3 + 0) = 0; r0 = 0; exit;", __imm(bpf_ktime_get_ns))
CASE("xdp", __success, pruning_spilled_offsets_both_safe,
     "call %[bpf_ktime_get_ns]; r1 = -8; if r0 > 10 goto l0_%=; r1 = -16; l0_%=: *(u64 *)(r10 - 8) = r1; r1 = 0;"
     "r2 = *(u64 *)(r10 - 8); r3 = r10; r3 += r2; *(u64 *)(r3 + 0) = 0; r0 = 0; exit;", __imm(bpf_ktime_get_ns))
CASE("xdp", __success, loop_counter_on_stack,
     "*(u64 *)(r10 - 8) = 0; l0_%=: r1 = *(u64 *)(r10 - 8); r1 += 1; *(u64 *)(r10 - 8) = r1; if r1 < 20 goto l0_%=; r0 = 0; exit;")
/* A 32-bit spill keeps the register's bounds only in a slot's low half (8-byte aligned). */
CASE("xdp", __failure __msg("variable-offset read from stack R2"), spill_32bit_scalar_in_high_half,
     "call %[bpf_ktime_get_ns]; w0 &= 7; *(u32 *)(r10 - 4) = w0; w1 = *(u32 *)(r10 - 4); *(u64 *)(r10 - 16) = 0;"
     "r2 = r10; r2 += -16; r2 += r1; r0 = *(u8 *)(r2 + 0); exit;", __imm(bpf_ktime_get_ns))
CASE("xdp", __success, spill_32bit_scalar_keeps_bounds_32bit_fill,
     "call %[bpf_ktime_get_ns]; w0 &= 7; *(u32 *)(r10 - 8) = w0; w1 = *(u32 *)(r10 - 8); *(u64 *)(r10 - 16) = 0;"
     "r2 = r10; r2 += -16; r2 += r1; r0 = *(u8 *)(r2 + 0); exit;", __imm(bpf_ktime_get_ns))
CASE("xdp", __success, narrow_fill_of_spilled_scalar,
     "call %[bpf_ktime_get_ns]; *(u64 *)(r10 - 8) = r0; r1 = *(u32 *)(r10 - 8); r0 = 0; exit;", __imm(bpf_ktime_get_ns))
CASE("xdp", __success, narrow_fill_of_spilled_constant_is_constant,
     "r1 = 8; *(u64 *)(r10 - 8) = r1; r2 = *(u32 *)(r10 - 8); r3 = r10; r3 += -16; r3 += r2; *(u64 *)(r3 + 0) = 0; r0 = 0; exit;")
