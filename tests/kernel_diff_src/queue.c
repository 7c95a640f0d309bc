/* XDP: a FIFO queue of packet lengths: push (with and without BPF_EXIST when full),
 * peek, pop; results in an array. */
#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_QUEUE);
	__uint(max_entries, 4);
	__type(value, u32);
} lengths SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 8);
	__type(key, u32);
	__type(value, s64);
} out SEC(".maps");

static __always_inline void put(u32 k, s64 v)
{
	bpf_map_update_elem(&out, &k, &v, BPF_ANY);
}

SEC("xdp")
int queue(struct xdp_md *ctx)
{
	u32 len = ctx->data_end - ctx->data;
	long r = bpf_map_push_elem(&lengths, &len, 0);
	put(0, r);
	if (r == -7) {
		/* Full: BPF_EXIST makes room by dropping the oldest. */
		put(1, bpf_map_push_elem(&lengths, &len, BPF_EXIST));
	}
	u32 head = 0;
	put(2, bpf_map_peek_elem(&lengths, &head));
	put(3, head);
	if (len > 80) {
		u32 popped = 0;
		put(4, bpf_map_pop_elem(&lengths, &popped));
		put(5, popped);
	}
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
