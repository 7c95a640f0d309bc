/* tc: an LRU per-CPU hash counting packets per (protocol, length) key. */
#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
	__uint(max_entries, 32);
	__type(key, u32);
	__type(value, u64);
} by_len SEC(".maps");

SEC("tc")
int lru_percpu_hash(struct __sk_buff *skb)
{
	u32 key = (skb->protocol << 16) | skb->len;
	u64 *v = bpf_map_lookup_elem(&by_len, &key);
	if (v) {
		*v += 1;
		return TC_ACT_OK;
	}
	u64 one = 1;
	long r = bpf_map_update_elem(&by_len, &key, &one, BPF_ANY);
	return r ? TC_ACT_SHOT : TC_ACT_UNSPEC;
}

char _license[] SEC("license") = "GPL";
