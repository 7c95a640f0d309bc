/* XDP: bpf_loop with a callback that sums the first payload bytes (read through the
 * context passed as callback data) and stops early on a zero byte; a second loop with a
 * count that is too large fails with -E2BIG. */
#include "common.h"

struct loop_ctx {
	struct xdp_md *xdp;
	u64 sum;
	u32 seen;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, u32);
	__type(value, s64);
} out SEC(".maps");

static long add_byte(u64 index, void *arg)
{
	struct loop_ctx *lc = arg;
	void *data = (void *)(long)lc->xdp->data;
	void *data_end = (void *)(long)lc->xdp->data_end;
	u8 *p = data + 42 + (index & 63);
	if ((void *)(p + 1) > data_end)
		return 1;
	if (*p == 0)
		return 1;
	lc->sum += *p * (index + 1);
	lc->seen++;
	return 0;
}

static long nothing(u64 index, void *arg)
{
	return 0;
}

SEC("xdp")
int bpf_loop_prog(struct xdp_md *ctx)
{
	struct loop_ctx lc = { .xdp = ctx };
	s64 n = bpf_loop(64, add_byte, &lc, 0);
	u32 k = 0;
	bpf_map_update_elem(&out, &k, &n, BPF_ANY);
	k = 1;
	s64 sum = lc.sum;
	bpf_map_update_elem(&out, &k, &sum, BPF_ANY);
	k = 2;
	s64 big = bpf_loop(1 << 24, nothing, 0, 0);
	bpf_map_update_elem(&out, &k, &big, BPF_ANY);
	k = 3;
	s64 flags = bpf_loop(1, nothing, 0, 1);
	bpf_map_update_elem(&out, &k, &flags, BPF_ANY);
	return lc.seen > 10 ? XDP_PASS : XDP_DROP;
}

char _license[] SEC("license") = "GPL";
