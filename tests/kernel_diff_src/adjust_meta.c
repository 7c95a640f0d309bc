/* XDP: bpf_xdp_adjust_meta: reserve 8 bytes of metadata before the packet, write and read
 * them back through data_meta; give them back; an oversized request fails. */
#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 5);
	__type(key, u32);
	__type(value, s64);
} out SEC(".maps");

SEC("xdp")
int adjust_meta(struct xdp_md *ctx)
{
	u32 k = 0;
	s64 r = bpf_xdp_adjust_meta(ctx, -8);
	bpf_map_update_elem(&out, &k, &r, BPF_ANY);
	if (r)
		return XDP_ABORTED;
	void *data = (void *)(long)ctx->data;
	void *meta = (void *)(long)ctx->data_meta;
	if (meta + 8 > data)
		return XDP_ABORTED;
	*(u32 *)meta = ctx->data_end - ctx->data;
	*(u32 *)(meta + 4) = 0x5eed;
	u64 both = *(u64 *)meta;
	k = 1;
	bpf_map_update_elem(&out, &k, &both, BPF_ANY);
	/* Metadata lengths must be multiples of 4: -EACCES. */
	r = bpf_xdp_adjust_meta(ctx, -6);
	k = 2;
	bpf_map_update_elem(&out, &k, &r, BPF_ANY);
	/* Metadata cannot reach into the frame header: -EINVAL. */
	r = bpf_xdp_adjust_meta(ctx, -4096);
	k = 3;
	bpf_map_update_elem(&out, &k, &r, BPF_ANY);
	r = bpf_xdp_adjust_meta(ctx, 8);
	k = 4;
	bpf_map_update_elem(&out, &k, &r, BPF_ANY);
	return ctx->data_meta == ctx->data ? XDP_PASS : XDP_DROP;
}

char _license[] SEC("license") = "GPL";
