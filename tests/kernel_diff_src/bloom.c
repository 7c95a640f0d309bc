/* XDP: a bloom filter of source addresses: push, then peek for a seen and an unseen value
 * (an unseen value with 3 hashes in a 1024-bit filter is reliably absent). */
#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_BLOOM_FILTER);
	__uint(max_entries, 64);
	__uint(map_extra, 3);
	__type(value, u32);
} seen SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, u32);
	__type(value, s64);
} out SEC(".maps");

SEC("xdp")
int bloom(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct iphdr *ip = ipv4_of(data, data_end);
	if (!ip)
		return XDP_PASS;
	u32 addr = ip->saddr;
	s64 before = bpf_map_peek_elem(&seen, &addr);
	s64 push = bpf_map_push_elem(&seen, &addr, BPF_ANY);
	s64 after = bpf_map_peek_elem(&seen, &addr);
	u32 k = 0;
	bpf_map_update_elem(&out, &k, &before, BPF_ANY);
	k = 1;
	bpf_map_update_elem(&out, &k, &push, BPF_ANY);
	k = 2;
	bpf_map_update_elem(&out, &k, &after, BPF_ANY);
	return before == 0 ? XDP_DROP : XDP_PASS;
}

char _license[] SEC("license") = "GPL";
