/* XDP: bpf_trace_printk (up to 3 arguments) and bpf_trace_vprintk (more) through
 * bpf_printk; their return values (bytes written) are recorded. */
#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, u32);
	__type(value, s64);
} out SEC(".maps");

SEC("xdp")
int trace_printk(struct xdp_md *ctx)
{
	u32 len = ctx->data_end - ctx->data;
	static const char f1[] = "kdiff len=%u\n";
	s64 r = bpf_trace_printk(f1, sizeof(f1), len);
	u32 k = 0;
	bpf_map_update_elem(&out, &k, &r, BPF_ANY);
	static const char f2[] = "kdiff %d %x %lld %s\n";
	/* Built at run time (len), so the string's address is a relocated lddw, not a
	 * pointer stored in .rodata (which libbpf leaves unrelocated). */
	u64 args[] = { -(s64)len, 0xbeef, 1234567890123LL, (u64)(long)"str" };
	r = bpf_trace_vprintk(f2, sizeof(f2), args, sizeof(args));
	k = 1;
	bpf_map_update_elem(&out, &k, &r, BPF_ANY);
	r = bpf_printk("kdiff three %u %u %u", 1, 2, 3);
	k = 2;
	bpf_map_update_elem(&out, &k, &r, BPF_ANY);
	r = bpf_printk("kdiff five %u %u %u %u %u", 1, 2, 3, 4, len);
	k = 3;
	bpf_map_update_elem(&out, &k, &r, BPF_ANY);
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
