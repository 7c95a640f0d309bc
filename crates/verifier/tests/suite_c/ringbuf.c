/* Ring buffer records: bpf_ringbuf_reserve returns ringbuf_mem_or_null with a reference
 * that every path must release (submit or discard) exactly once, through the unmodified
 * pointer; the record is as large as the constant size reserved. */
#include "suite.h"

struct {
	__uint(type, MAP_RINGBUF);
	__uint(max_entries, 4096);
} rb SEC(".maps");

struct {
	__uint(type, MAP_HASH);
	__uint(max_entries, 16);
	__type(key, u32);
	__type(value, u64);
} hash SEC(".maps");

#define OPS __imm(bpf_ringbuf_reserve), __imm(bpf_ringbuf_submit), __imm(bpf_ringbuf_discard), \
	__imm(bpf_ringbuf_output), __imm(bpf_ktime_get_ns), __imm(bpf_map_lookup_elem), __imm_addr(rb), __imm_addr(hash)
#define RESERVE8 "r1 = %[rb] ll; r2 = 8; r3 = 0; call %[bpf_ringbuf_reserve];"
#define OUT "l_out_%=: r0 = 0; exit;"

CASE("xdp", __success, reserve_submit,
     RESERVE8 "if r0 == 0 goto l_out_%=; *(u64 *)(r0 + 0) = 1; r1 = r0; r2 = 0; call %[bpf_ringbuf_submit];" OUT, OPS)
CASE("xdp", __success, reserve_discard,
     RESERVE8 "if r0 == 0 goto l_out_%=; r1 = r0; r2 = 0; call %[bpf_ringbuf_discard];" OUT, OPS)
CASE("xdp", __failure __msg("Unreleased reference id="), reserve_without_release,
     RESERVE8 "if r0 == 0 goto l_out_%=; *(u64 *)(r0 + 0) = 1;" OUT, OPS)
CASE("xdp", __failure __msg("Unreleased reference"), release_on_one_path,
     RESERVE8 "if r0 == 0 goto l_out_%=; r6 = r0; call %[bpf_ktime_get_ns]; if r0 > 5 goto l_out_%=;"
     "r1 = r6; r2 = 0; call %[bpf_ringbuf_submit];" OUT, OPS)
CASE("xdp", __success, submit_or_discard_by_path,
     RESERVE8 "if r0 == 0 goto l_out_%=; r6 = r0; call %[bpf_ktime_get_ns]; if r0 > 5 goto l0_%=;"
     "r1 = r6; r2 = 0; call %[bpf_ringbuf_submit]; goto l_out_%=;"
     "l0_%=: r1 = r6; r2 = 0; call %[bpf_ringbuf_discard];" OUT, OPS)
CASE("xdp", __failure __msg("R1 type=ringbuf_mem_or_null expected=ringbuf_mem"), submit_without_null_check,
     RESERVE8 "r1 = r0; r2 = 0; call %[bpf_ringbuf_submit];" OUT, OPS)
CASE("xdp", __failure __msg("R0 invalid mem access 'ringbuf_mem_or_null'"), write_without_null_check,
     RESERVE8 "*(u64 *)(r0 + 0) = 1;" OUT, OPS)
CASE("xdp", __failure __msg("is not a known constant"), reserve_variable_size,
     "call %[bpf_ktime_get_ns]; r2 = r0; r1 = %[rb] ll; r3 = 0; call %[bpf_ringbuf_reserve];"
     "if r0 == 0 goto l_out_%=; r1 = r0; r2 = 0; call %[bpf_ringbuf_discard];" OUT, OPS)
CASE("xdp", __failure __msg("invalid access to memory, mem_size=8 off=8 size=8"), write_past_record,
     RESERVE8 "if r0 == 0 goto l_out_%=; *(u64 *)(r0 + 8) = 1; r1 = r0; r2 = 0; call %[bpf_ringbuf_submit];" OUT, OPS)
CASE("xdp", __success, write_last_byte_of_record,
     RESERVE8 "if r0 == 0 goto l_out_%=; *(u8 *)(r0 + 7) = 1; r1 = r0; r2 = 0; call %[bpf_ringbuf_submit];" OUT, OPS)
CASE("xdp", __failure __msg("R1 type=scalar expected=ringbuf_mem"), submit_twice,
     RESERVE8 "if r0 == 0 goto l_out_%=; r6 = r0; r1 = r0; r2 = 0; call %[bpf_ringbuf_submit];"
     "r1 = r6; r2 = 0; call %[bpf_ringbuf_submit];" OUT, OPS)
CASE("xdp", __failure __msg("R6 invalid mem access 'scalar'"), use_after_submit,
     RESERVE8 "if r0 == 0 goto l_out_%=; r6 = r0; r1 = r0; r2 = 0; call %[bpf_ringbuf_submit]; *(u64 *)(r6 + 0) = 1;" OUT, OPS)
CASE("xdp", __failure __msg("R1 must have zero offset when passed to release func"), submit_with_offset,
     RESERVE8 "if r0 == 0 goto l_out_%=; r1 = r0; r1 += 4; r2 = 0; call %[bpf_ringbuf_submit];" OUT, OPS)
CASE("xdp", __failure __msg("R1 type=map_value expected=ringbuf_mem"), submit_map_value,
     "*(u32 *)(r10 - 4) = 0; r2 = r10; r2 += -4; r1 = %[hash] ll; call %[bpf_map_lookup_elem];"
     "if r0 == 0 goto l_out_%=; r1 = r0; r2 = 0; call %[bpf_ringbuf_submit];" OUT, OPS)
CASE("xdp", __success, ringbuf_output,
     "*(u64 *)(r10 - 8) = 0; r1 = %[rb] ll; r2 = r10; r2 += -8; r3 = 8; r4 = 0; call %[bpf_ringbuf_output];" OUT, OPS)
CASE("xdp", __failure __msg("invalid read from stack R2 off=-8 size=16"), ringbuf_output_past_frame,
     "*(u64 *)(r10 - 8) = 0; r1 = %[rb] ll; r2 = r10; r2 += -8; r3 = 16; r4 = 0; call %[bpf_ringbuf_output];" OUT, OPS)
CASE("xdp", __success, record_spilled_and_submitted,
     RESERVE8 "if r0 == 0 goto l_out_%=; *(u64 *)(r10 - 8) = r0; r1 = *(u64 *)(r10 - 8); r2 = 0; call %[bpf_ringbuf_submit];" OUT, OPS)
CASE("xdp", __failure __msg("cannot pass map_type 1 into func bpf_ringbuf_reserve#131"), reserve_on_hash,
     "r1 = %[hash] ll; r2 = 8; r3 = 0; call %[bpf_ringbuf_reserve];" OUT, OPS)
CASE("xdp", __success, copy_released_with_original,
     RESERVE8 "r6 = r0; if r0 == 0 goto l_out_%=; r1 = r6; r2 = 0; call %[bpf_ringbuf_submit];" OUT, OPS)
CASE("xdp", __failure __msg("Unreleased reference"), record_only_spilled,
     RESERVE8 "if r0 == 0 goto l_out_%=; *(u64 *)(r10 - 8) = r0;" OUT, OPS)
CASE("xdp", __failure __msg("R1 type=scalar expected=ringbuf_mem"), copy_checked_other_released,
     RESERVE8 "r6 = r0; r7 = r0; if r7 == 0 goto l0_%=; l0_%=: r1 = r6; r2 = 0; call %[bpf_ringbuf_submit];" OUT, OPS)
CASE("xdp", __success, record_written_with_variable_offset,
     "r1 = %[rb] ll; r2 = 16; r3 = 0; call %[bpf_ringbuf_reserve]; if r0 == 0 goto l_out_%=; r6 = r0;"
     "call %[bpf_ktime_get_ns]; r0 &= 8; r1 = r6; r1 += r0; *(u64 *)(r1 + 0) = 1; r1 = r6; r2 = 0; call %[bpf_ringbuf_submit];" OUT, OPS)
CASE("xdp", __failure __msg("invalid access to memory, mem_size=16"), record_variable_offset_past_end,
     "r1 = %[rb] ll; r2 = 16; r3 = 0; call %[bpf_ringbuf_reserve]; if r0 == 0 goto l_out_%=; r6 = r0;"
     "call %[bpf_ktime_get_ns]; r0 &= 9; r1 = r6; r1 += r0; *(u64 *)(r1 + 0) = 1; r1 = r6; r2 = 0; call %[bpf_ringbuf_submit];" OUT, OPS)
struct {
	__uint(type, MAP_PROG_ARRAY);
	__uint(max_entries, 4);
	__type(key, u32);
	__type(value, u32);
} progs SEC(".maps");

CASE("xdp", __failure __msg("tail_call would lead to reference leak"), tail_call_while_holding_record,
     "r6 = r1;" RESERVE8 "if r0 == 0 goto l_out_%=; r7 = r0; r1 = r6; r2 = %[progs] ll; r3 = 0; call %[bpf_tail_call];"
     "r1 = r7; r2 = 0; call %[bpf_ringbuf_discard];" OUT, OPS, __imm(bpf_tail_call), __imm_addr(progs))
CASE("xdp", __success, tail_call_after_release,
     "r6 = r1;" RESERVE8 "if r0 == 0 goto l0_%=; r1 = r0; r2 = 0; call %[bpf_ringbuf_discard];"
     "l0_%=: r1 = r6; r2 = %[progs] ll; r3 = 0; call %[bpf_tail_call];" OUT, OPS, __imm(bpf_tail_call), __imm_addr(progs))
CASE("socket", __failure __msg("BPF_LD_[ABS|IND] would lead to reference leak"), ld_abs_while_holding_record,
     "r6 = r1;" RESERVE8 "if r0 == 0 goto l_out_%=; r7 = r0; r0 = *(u8 *)skb[0]; r1 = r7; r2 = 0; call %[bpf_ringbuf_discard];" OUT, OPS)
