// Ring buffer and perf event array output.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} rb SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __s64);
} results SEC(".maps");

struct event {
	__u32 seq;
	__u32 kind;
	__u64 value;
};

static __always_inline void put(__u32 i, __s64 v)
{
	bpf_map_update_elem(&results, &i, &v, BPF_ANY);
}

SEC("xdp")
int ring(void *ctx)
{
	struct event *e = bpf_ringbuf_reserve(&rb, sizeof(*e), 0);
	if (!e)
		return 1;
	e->seq = 1;
	e->kind = 7;
	e->value = 0x1122334455667788ULL;
	bpf_ringbuf_submit(e, 0);

	e = bpf_ringbuf_reserve(&rb, sizeof(*e), 0);
	if (!e)
		return 2;
	e->seq = 2;
	bpf_ringbuf_discard(e, 0);

	struct event out = { .seq = 3, .kind = 9, .value = 42 };
	put(0, bpf_ringbuf_output(&rb, &out, sizeof(out), 0));
	put(1, bpf_ringbuf_query(&rb, BPF_RB_AVAIL_DATA));
	put(2, bpf_ringbuf_query(&rb, BPF_RB_RING_SIZE));
	/* Too big for the ring: NULL. */
	put(3, bpf_ringbuf_reserve(&rb, 8192, 0) == 0);
	return 0;
}

SEC("xdp")
int perf(void *ctx)
{
	struct event out = { .seq = 5, .kind = 1, .value = 99 };
	put(0, bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, &out, sizeof(out)));
	put(1, bpf_perf_event_output(ctx, &events, 0, &out, 12));
	put(2, bpf_perf_event_output(ctx, &events, 100000, &out, sizeof(out)));
	put(3, bpf_perf_event_output(ctx, &events, 1ULL << 40, &out, sizeof(out)));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
