/* XDP: bpf_redirect to an interface index (test_run reports XDP_REDIRECT without sending);
 * invalid flags give XDP_ABORTED. */
#include "common.h"

SEC("xdp")
int redirect(struct xdp_md *ctx)
{
	u32 len = ctx->data_end - ctx->data;
	if (len > 100)
		return bpf_redirect(1, 1);
	return bpf_redirect(1, 0);
}

SEC("tc")
int redirect_tc(struct __sk_buff *skb)
{
	/* tc: BPF_F_INGRESS is the only flag; unknown flags give TC_ACT_SHOT. */
	if (skb->len > 100)
		return bpf_redirect(1, 0x80);
	return bpf_redirect(1, BPF_F_INGRESS);
}

char _license[] SEC("license") = "GPL";
