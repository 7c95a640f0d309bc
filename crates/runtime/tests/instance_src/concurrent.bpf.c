// Counters updated with atomics from many threads at once; r1 points at a 4-byte key.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} total SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u64);
} per_key SEC(".maps");

SEC("raw")
int work(void *ctx)
{
	__u32 key = *(__u32 *)ctx & 15, zero = 0;
	__u64 *t = bpf_map_lookup_elem(&total, &zero);
	if (t)
		__sync_fetch_and_add(t, 1);
	for (int tries = 0; tries < 2; tries++) {
		__u64 *v = bpf_map_lookup_elem(&per_key, &key);
		if (v) {
			__sync_fetch_and_add(v, 1);
			return 0;
		}
		__u64 one = 1;
		if (bpf_map_update_elem(&per_key, &key, &one, BPF_NOEXIST) == 0)
			return 0;
	}
	return 1;
}

char LICENSE[] SEC("license") = "GPL";
