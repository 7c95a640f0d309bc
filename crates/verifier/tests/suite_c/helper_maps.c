/* Map helpers checked against their prototypes: r1 a map pointer of a type the helper
 * takes, keys and values pointers to initialised memory of the map's key and value size,
 * the map pointer itself neither dereferenced nor moved. */
#include "suite.h"

struct val16 {
	u64 a, b;
};

struct {
	__uint(type, MAP_HASH);
	__uint(max_entries, 16);
	__type(key, u32);
	__type(value, u64);
} hash SEC(".maps");

struct {
	__uint(type, MAP_ARRAY);
	__uint(max_entries, 4);
	__type(key, u32);
	__type(value, struct val16);
} arr SEC(".maps");

struct {
	__uint(type, MAP_HASH);
	__uint(max_entries, 16);
	__type(key, struct val16);
	__type(value, u32);
} bigkey SEC(".maps");

struct {
	__uint(type, MAP_QUEUE);
	__uint(max_entries, 16);
	__type(value, u64);
} queue SEC(".maps");

struct {
	__uint(type, MAP_RINGBUF);
	__uint(max_entries, 4096);
} rb SEC(".maps");

struct {
	__uint(type, MAP_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, u64);
	__uint(map_flags, BPF_F_RDONLY_PROG);
} rdonly SEC(".maps");

struct {
	__uint(type, MAP_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, u64);
	__uint(map_flags, BPF_F_WRONLY_PROG);
} wronly SEC(".maps");

/* Global data: a one-element array map (.data) whose value is the section. */
volatile u64 gdata[2] = {1, 2};

#define OPS __imm(bpf_map_lookup_elem), __imm(bpf_map_update_elem), __imm(bpf_map_delete_elem), \
	__imm(bpf_map_push_elem), __imm(bpf_map_pop_elem), __imm_addr(hash), __imm_addr(arr), __imm_addr(bigkey), \
	__imm_addr(queue), __imm_addr(rb), __imm_addr(rdonly), __imm_addr(wronly)
#define KEY0 "*(u32 *)(r10 - 4) = 0; r2 = r10; r2 += -4;"
#define OUT "l_out_%=: r0 = 0; exit;"

CASE("xdp", __success, lookup_hash, KEY0 "r1 = %[hash] ll; call %[bpf_map_lookup_elem];" OUT, OPS)
CASE("xdp", __success, lookup_uninit_key_privileged, "r2 = r10; r2 += -4; r1 = %[hash] ll; call %[bpf_map_lookup_elem];" OUT, OPS)
CASE("xdp", __failure __msg("R2 type=scalar expected="), lookup_scalar_key, "r2 = 0; r1 = %[hash] ll; call %[bpf_map_lookup_elem];" OUT, OPS)
CASE("xdp", __failure __msg("R2 type=ctx expected="), lookup_ctx_key, "r2 = r1; r1 = %[hash] ll; call %[bpf_map_lookup_elem];" OUT, OPS)
CASE("xdp", __failure __msg("invalid read from stack R2 off=-4 size=16"), lookup_key_too_small_for_map,
     KEY0 "r1 = %[bigkey] ll; call %[bpf_map_lookup_elem];" OUT, OPS)
CASE("xdp", __success, lookup_big_key, "*(u64 *)(r10 - 16) = 0; *(u64 *)(r10 - 8) = 0; r2 = r10; r2 += -16; r1 = %[bigkey] ll; call %[bpf_map_lookup_elem];" OUT, OPS)
CASE("xdp", __failure __msg("invalid read from stack R2 off=-4 size=16"), key_crosses_frame_top,
     "r2 = r10; r2 += -4; r1 = %[bigkey] ll; call %[bpf_map_lookup_elem];" OUT, OPS)
CASE("xdp", __success, key_from_map_value,
     KEY0 "r1 = %[arr] ll; call %[bpf_map_lookup_elem]; if r0 == 0 goto l_out_%=; r2 = r0; r1 = %[hash] ll; call %[bpf_map_lookup_elem];" OUT, OPS)
CASE("xdp", __failure __msg("R1 type=ctx expected=map_ptr"), lookup_ctx_as_map, KEY0 "call %[bpf_map_lookup_elem];" OUT, OPS)
CASE("xdp", __failure __msg("R1 type=scalar expected=map_ptr"), lookup_scalar_as_map, KEY0 "r1 = 0; call %[bpf_map_lookup_elem];" OUT, OPS)
CASE("xdp", __failure __msg("R1 pointer arithmetic on map_ptr prohibited"), map_pointer_arithmetic, "r1 = %[hash] ll; r1 += 8;" OUT, OPS)
CASE("xdp", __success __userbpf_differs("the kernel lets privileged programs read struct bpf_map fields through a map pointer, "
     "at the running kernel's vmlinux BTF offsets (offset 0 is the ops pointer, then e.g. max_entries); userbpf's map pointer "
     "is a handle to its own map object, which has no struct bpf_map layout to read: left unmodelled"), map_pointer_deref, "r1 = %[hash] ll; r0 = *(u64 *)(r1 + 0);" OUT, OPS)
CASE("xdp", __success, update_hash,
     KEY0 "*(u64 *)(r10 - 16) = 0; r3 = r10; r3 += -16; r4 = 0; r1 = %[hash] ll; call %[bpf_map_update_elem];" OUT, OPS)
CASE("xdp", __failure __msg("invalid read from stack R3 off=-8 size=16"), update_value_too_small,
     KEY0 "*(u64 *)(r10 - 16) = 0; r3 = r10; r3 += -8; r4 = 0; r1 = %[arr] ll; call %[bpf_map_update_elem];" OUT, OPS)
CASE("xdp", __success, update_array_full_value,
     KEY0 "*(u64 *)(r10 - 24) = 0; *(u64 *)(r10 - 16) = 0; r3 = r10; r3 += -24; r4 = 0; r1 = %[arr] ll; call %[bpf_map_update_elem];" OUT, OPS)
CASE("xdp", __failure __msg("R3 type=scalar expected="), update_scalar_value,
     KEY0 "r3 = 0; r4 = 0; r1 = %[hash] ll; call %[bpf_map_update_elem];" OUT, OPS)
CASE("xdp", __success, update_value_from_packet,
     "r6 = *(u32 *)(r1 + 0); r7 = *(u32 *)(r1 + 4); r4 = r6; r4 += 8; if r4 > r7 goto l_out_%=;"
     KEY0 "r3 = r6; r4 = 0; r1 = %[hash] ll; call %[bpf_map_update_elem];" OUT, OPS)
CASE("xdp", __failure __msg("invalid access to packet"), update_value_from_short_packet,
     "r6 = *(u32 *)(r1 + 0); r7 = *(u32 *)(r1 + 4); r4 = r6; r4 += 4; if r4 > r7 goto l_out_%=;"
     KEY0 "r3 = r6; r4 = 0; r1 = %[hash] ll; call %[bpf_map_update_elem];" OUT, OPS)
CASE("xdp", __success, delete_hash, KEY0 "r1 = %[hash] ll; call %[bpf_map_delete_elem];" OUT, OPS)
CASE("xdp", __failure __msg("R2 !read_ok"), delete_without_key, "r1 = %[hash] ll; call %[bpf_map_delete_elem];" OUT, OPS)
CASE("xdp", __failure __msg("invalid zero-sized read"), lookup_on_ringbuf,
     KEY0 "r1 = %[rb] ll; call %[bpf_map_lookup_elem];" OUT, OPS)
/* A queue has key_size 0: the key argument is a zero-sized read, refused before the map type. */
CASE("xdp", __failure __msg("invalid zero-sized read"), lookup_on_queue,
     KEY0 "r1 = %[queue] ll; call %[bpf_map_lookup_elem];" OUT, OPS)
CASE("xdp", __success, push_to_queue,
     "*(u64 *)(r10 - 8) = 0; r2 = r10; r2 += -8; r3 = 0; r1 = %[queue] ll; call %[bpf_map_push_elem];" OUT, OPS)
CASE("xdp", __success, pop_from_queue, "r2 = r10; r2 += -8; r1 = %[queue] ll; call %[bpf_map_pop_elem];" OUT, OPS)
CASE("xdp", __failure __msg("cannot pass map_type 1 into func bpf_map_push_elem#87"), push_to_hash,
     "*(u64 *)(r10 - 8) = 0; r2 = r10; r2 += -8; r3 = 0; r1 = %[hash] ll; call %[bpf_map_push_elem];" OUT, OPS)
CASE("xdp", __failure __msg("invalid write to stack R2 off=-4 size=8"), pop_into_short_buffer,
     "r2 = r10; r2 += -4; r1 = %[queue] ll; call %[bpf_map_pop_elem];" OUT, OPS)
CASE("xdp", __failure __msg("write into map forbidden"), write_read_only_map,
     KEY0 "r1 = %[rdonly] ll; call %[bpf_map_lookup_elem]; if r0 == 0 goto l_out_%=; *(u64 *)(r0 + 0) = 1;" OUT, OPS)
CASE("xdp", __failure __msg("write into map forbidden"), helper_writes_read_only_map,
     KEY0 "r1 = %[rdonly] ll; call %[bpf_map_lookup_elem]; if r0 == 0 goto l_out_%=;"
     "r2 = r0; r1 = %[queue] ll; call %[bpf_map_pop_elem];" OUT, OPS)
CASE("xdp", __success, read_read_only_map,
     KEY0 "r1 = %[rdonly] ll; call %[bpf_map_lookup_elem]; if r0 == 0 goto l_out_%=; r0 = *(u64 *)(r0 + 0);" OUT, OPS)
CASE("xdp", __failure __msg("read from map forbidden"), read_write_only_map,
     KEY0 "r1 = %[wronly] ll; call %[bpf_map_lookup_elem]; if r0 == 0 goto l_out_%=; r0 = *(u64 *)(r0 + 0);" OUT, OPS)
CASE("xdp", __success, write_write_only_map,
     KEY0 "r1 = %[wronly] ll; call %[bpf_map_lookup_elem]; if r0 == 0 goto l_out_%=; *(u64 *)(r0 + 0) = 1;" OUT, OPS)
CASE("xdp", __success, global_data_access, "r1 = %[gdata] ll; r0 = *(u64 *)(r1 + 8); exit;", __imm_addr(gdata))
CASE("xdp", __failure __msg("invalid access to map value"), global_data_past_end, "r1 = %[gdata] ll; r0 = *(u64 *)(r1 + 16); exit;", __imm_addr(gdata))
CASE("xdp", __success, global_data_write, "r1 = %[gdata] ll; *(u64 *)(r1 + 0) = 3; r0 = 0; exit;", __imm_addr(gdata))
CASE("xdp", __success, array_value_last_byte,
     KEY0 "r1 = %[arr] ll; call %[bpf_map_lookup_elem]; if r0 == 0 goto l_out_%=; r0 = *(u8 *)(r0 + 15);" OUT, OPS)
CASE("xdp", __failure __msg("invalid access to map value, value_size=16 off=16 size=1"), array_value_past_end,
     KEY0 "r1 = %[arr] ll; call %[bpf_map_lookup_elem]; if r0 == 0 goto l_out_%=; r0 = *(u8 *)(r0 + 16);" OUT, OPS)
CASE("xdp", __success, map_value_pointer_spilled_and_used,
     KEY0 "r1 = %[arr] ll; call %[bpf_map_lookup_elem]; if r0 == 0 goto l_out_%=; *(u64 *)(r10 - 16) = r0;"
     "r1 = *(u64 *)(r10 - 16); *(u64 *)(r1 + 8) = 1;" OUT, OPS)
CASE("xdp", __success, pointer_stored_in_map_value_privileged,
     KEY0 "r1 = %[arr] ll; call %[bpf_map_lookup_elem]; if r0 == 0 goto l_out_%=; *(u64 *)(r0 + 0) = r10;" OUT, OPS)
CASE("xdp", __failure __msg("invalid access to map value, value_size=16 off=0 size=32"), map_value_as_too_small_buffer,
     KEY0 "r1 = %[arr] ll; call %[bpf_map_lookup_elem]; if r0 == 0 goto l_out_%=; r1 = r0; r2 = 32; r3 = 0;"
     "call %[bpf_probe_read_kernel];" OUT, OPS, __imm(bpf_probe_read_kernel))
CASE("xdp", __success, map_value_as_buffer,
     KEY0 "r1 = %[arr] ll; call %[bpf_map_lookup_elem]; if r0 == 0 goto l_out_%=; r1 = r0; r2 = 16; r3 = 0;"
     "call %[bpf_probe_read_kernel];" OUT, OPS, __imm(bpf_probe_read_kernel))
CASE("xdp", __failure __msg("R1 type=ctx expected="), ctx_as_helper_buffer,
     "r2 = 8; r3 = 0; call %[bpf_probe_read_kernel]; r0 = 0; exit;", __imm(bpf_probe_read_kernel))
CASE("xdp", __success, map_value_bounded_loop,
     KEY0 "r1 = %[arr] ll; call %[bpf_map_lookup_elem]; if r0 == 0 goto l_out_%=; r1 = 0;"
     "l0_%=: r2 = r0; r2 += r1; *(u8 *)(r2 + 0) = 0; r1 += 1; if r1 < 16 goto l0_%=;" OUT, OPS)
CASE("xdp", __failure __msg("invalid access to map value, value_size=16 off=16 size=1"), map_value_loop_one_too_far,
     KEY0 "r1 = %[arr] ll; call %[bpf_map_lookup_elem]; if r0 == 0 goto l_out_%=; r1 = 0;"
     "l0_%=: r2 = r0; r2 += r1; *(u8 *)(r2 + 0) = 0; r1 += 1; if r1 <= 16 goto l0_%=;" OUT, OPS)
CASE("xdp", __failure __msg("R1 type=map_value expected=map_ptr"), map_value_as_map,
     KEY0 "r1 = %[arr] ll; call %[bpf_map_lookup_elem]; if r0 == 0 goto l_out_%=; r1 = r0; r2 = r10; r2 += -4;"
     "call %[bpf_map_lookup_elem];" OUT, OPS)
