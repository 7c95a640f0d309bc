/* XDP: global data: an initialised counter (.data), constants (.rodata, frozen; the
 * verifier knows their values), zero-initialised state (.bss), and a second .data
 * section; all updated or read per packet. */
#include "common.h"

u64 packets = 100;
u32 last_len;
u64 histogram[4];
const volatile u32 threshold = 80;
const u32 weights[4] = { 1, 10, 100, 1000 };
u32 custom_counter SEC(".data.custom") = 7;

SEC("xdp")
int global_data(struct xdp_md *ctx)
{
	u32 len = ctx->data_end - ctx->data;
	packets++;
	last_len = len;
	u32 bucket = len / 32;
	if (bucket > 3)
		bucket = 3;
	histogram[bucket] += weights[bucket];
	custom_counter += 3;
	return len > threshold ? XDP_DROP : XDP_PASS;
}

char _license[] SEC("license") = "GPL";
