/* XDP: bpf_redirect_map on an empty devmap: the lookup misses and the low bits of the flags
 * (the fallback action) are returned. */
#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__uint(max_entries, 4);
	__type(key, u32);
	__type(value, u32);
} ports SEC(".maps");

SEC("xdp")
int redirect_map(struct xdp_md *ctx)
{
	u32 len = ctx->data_end - ctx->data;
	return bpf_redirect_map(&ports, len % 4, len > 100 ? XDP_PASS : XDP_DROP);
}

char _license[] SEC("license") = "GPL";
