/* XDP: an array of maps selects a per-protocol inner array; counts go into the inner map.
 * Slot 2 stays empty (lookup gives NULL). */
#include "common.h"

struct inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, u32);
	__type(value, u64);
};

struct inner udp_counts SEC(".maps");
struct inner other_counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 4);
	__type(key, u32);
	__array(values, struct inner);
} outer SEC(".maps") = {
	.values = { [0] = &udp_counts, [1] = &other_counts },
};

SEC("xdp")
int array_of_maps(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct iphdr *ip = ipv4_of(data, data_end);
	u32 slot = !ip ? 2 : ip->protocol == IPPROTO_UDP ? 0 : 1;
	void *inner = bpf_map_lookup_elem(&outer, &slot);
	if (!inner)
		return XDP_DROP;
	u32 k = 0;
	u64 *v = bpf_map_lookup_elem(inner, &k);
	if (v)
		(*v)++;
	k = 1;
	u64 len = data_end - data;
	bpf_map_update_elem(inner, &k, &len, BPF_ANY);
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
