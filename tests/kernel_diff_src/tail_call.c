/* XDP: a dispatcher tail-calls a per-protocol stage through a prog_array (filled from the
 * object's .values and from user space); a stage tail-calls a final stage; a missing index
 * falls through. Each stage counts in an array. */
#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 8);
	__type(key, u32);
	__type(value, u64);
} hits SEC(".maps");

static __always_inline void hit(u32 k)
{
	u64 *v = bpf_map_lookup_elem(&hits, &k);
	if (v)
		(*v)++;
}

int stage_udp(struct xdp_md *ctx);
int stage_tcp(struct xdp_md *ctx);
int stage_final(struct xdp_md *ctx);

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 8);
	__type(key, u32);
	__array(values, int(void *));
} jump SEC(".maps") = {
	.values = {
		[IPPROTO_TCP % 8] = (void *)&stage_tcp,
		[IPPROTO_UDP % 8] = (void *)&stage_udp,
	},
};

SEC("xdp")
int stage_final(struct xdp_md *ctx)
{
	hit(5);
	return XDP_TX;
}

SEC("xdp")
int stage_udp(struct xdp_md *ctx)
{
	hit(1);
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct iphdr *ip = ipv4_of(data, data_end);
	if (ip && ip->ttl < 32)
		bpf_tail_call(ctx, &jump, 7);
	hit(2);
	return XDP_PASS;
}

SEC("xdp")
int stage_tcp(struct xdp_md *ctx)
{
	hit(3);
	/* Index 5 is empty: the call falls through. */
	bpf_tail_call(ctx, &jump, 5);
	hit(4);
	return XDP_DROP;
}

SEC("xdp")
int tail_call(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	hit(0);
	struct iphdr *ip = ipv4_of(data, data_end);
	if (!ip)
		return XDP_ABORTED;
	bpf_tail_call(ctx, &jump, ip->protocol % 8);
	/* Out of range index. */
	bpf_tail_call(ctx, &jump, 100);
	hit(6);
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
