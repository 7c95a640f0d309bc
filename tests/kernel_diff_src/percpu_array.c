/* XDP: per-CPU statistics in a percpu_array; the value is the running CPU's slot. */
#include "common.h"

struct stats {
	u64 packets;
	u64 bytes;
	u64 max_len;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, u32);
	__type(value, struct stats);
} stats SEC(".maps");

SEC("xdp")
int percpu_array(struct xdp_md *ctx)
{
	u32 len = ctx->data_end - ctx->data;
	u32 key = len > 100;
	struct stats *s = bpf_map_lookup_elem(&stats, &key);
	if (!s)
		return XDP_ABORTED;
	s->packets++;
	s->bytes += len;
	if (len > s->max_len)
		s->max_len = len;
	/* An update replaces only this CPU's value. */
	struct stats fresh = { .packets = 1000, .bytes = s->bytes, .max_len = 7 };
	u32 other = !key;
	struct stats *o = bpf_map_lookup_elem(&stats, &other);
	if (o && o->packets == 0)
		bpf_map_update_elem(&stats, &other, &fresh, BPF_EXIST);
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
