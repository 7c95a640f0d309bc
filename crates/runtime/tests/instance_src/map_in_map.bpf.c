// Maps of maps: an array of maps filled from the object's initial values, a hash of maps
// filled by user space.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
};

struct inner inner_a SEC(".maps");
struct inner inner_b SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 4);
	__type(key, __u32);
	__array(values, struct inner);
} outer SEC(".maps") = {
	.values = { [0] = &inner_a, [2] = &inner_b },
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
	__uint(max_entries, 4);
	__type(key, __u32);
	__array(values, struct inner);
} by_name SEC(".maps");

/* Adds 1 to element 0 of every inner map present; returns how many there were. */
SEC("xdp")
int bump(void *ctx)
{
	int found = 0;
	for (__u32 i = 0; i < 4; i++) {
		void *inner = bpf_map_lookup_elem(&outer, &i);
		if (!inner)
			continue;
		__u32 zero = 0;
		__u64 *v = bpf_map_lookup_elem(inner, &zero);
		if (v) {
			__sync_fetch_and_add(v, 1);
			found++;
		}
	}
	__u32 key = 1234;
	void *inner = bpf_map_lookup_elem(&by_name, &key);
	if (inner) {
		__u32 one = 1;
		__u64 v = 77;
		bpf_map_update_elem(inner, &one, &v, BPF_ANY);
		found += 10;
	}
	return found;
}

char LICENSE[] SEC("license") = "GPL";
