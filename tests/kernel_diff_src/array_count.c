/* XDP: per-protocol packet and byte counters in an array (lookup + atomic add, update). */
#include "common.h"

struct counter {
	u64 packets;
	u64 bytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 256);
	__type(key, u32);
	__type(value, struct counter);
} proto_counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, u32);
	__type(value, u64);
} misc SEC(".maps");

SEC("xdp")
int array_count(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	u32 len = data_end - data;
	struct iphdr *ip = ipv4_of(data, data_end);
	u32 key = ip ? ip->protocol : 255;
	struct counter *c = bpf_map_lookup_elem(&proto_counts, &key);
	if (!c)
		return XDP_ABORTED;
	__sync_fetch_and_add(&c->packets, 1);
	__sync_fetch_and_add(&c->bytes, len);
	/* Out of range: lookup gives NULL, update gives -E2BIG. */
	u32 bad = 256;
	u64 one = 1;
	u32 k0 = 0, k1 = 1;
	long r = bpf_map_update_elem(&misc, &bad, &one, BPF_ANY);
	bpf_map_update_elem(&misc, &k0, &r, BPF_ANY);
	/* NOEXIST on an array always fails with -EEXIST. */
	r = bpf_map_update_elem(&misc, &k1, &one, BPF_NOEXIST);
	u32 k2 = 2;
	bpf_map_update_elem(&misc, &k2, &r, BPF_ANY);
	/* Arrays cannot delete: -EINVAL. */
	r = bpf_map_delete_elem(&misc, &k1);
	u32 k3 = 3;
	u64 *last = bpf_map_lookup_elem(&misc, &k3);
	if (last)
		*last = (u64)r + len;
	if (!ip)
		return XDP_DROP;
	return ip->protocol == IPPROTO_UDP ? XDP_PASS : XDP_TX;
}

char _license[] SEC("license") = "GPL";
