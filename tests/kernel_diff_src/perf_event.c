/* XDP and tc: bpf_perf_event_output into a perf event array with no perf event open:
 * the kernel reports -ENOENT; the error code is recorded. */
#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(u32));
	__uint(value_size, sizeof(u32));
	__uint(max_entries, 4);
} perf SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, u32);
	__type(value, s64);
} out SEC(".maps");

SEC("xdp")
int perf_event(struct xdp_md *ctx)
{
	u64 sample = ctx->data_end - ctx->data;
	s64 r = bpf_perf_event_output(ctx, &perf, BPF_F_CURRENT_CPU, &sample, sizeof(sample));
	u32 k = 0;
	bpf_map_update_elem(&out, &k, &r, BPF_ANY);
	return r == 0 ? XDP_PASS : XDP_DROP;
}

SEC("tc")
int perf_event_tc(struct __sk_buff *skb)
{
	u64 sample = skb->len;
	s64 r = bpf_perf_event_output(skb, &perf, 1, &sample, sizeof(sample));
	u32 k = 1;
	bpf_map_update_elem(&out, &k, &r, BPF_ANY);
	return TC_ACT_OK;
}

char _license[] SEC("license") = "GPL";
