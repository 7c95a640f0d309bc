/* XDP: bpf_xdp_adjust_tail: trim UDP payloads to 8 bytes (fixing the IP and UDP lengths),
 * grow other packets by 16 bytes and fill them; a shrink below ETH_HLEN fails. */
#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, u32);
	__type(value, s64);
} out SEC(".maps");

SEC("xdp")
int adjust_tail(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	s64 len = data_end - data;
	u32 k = 0;
	s64 bad = bpf_xdp_adjust_tail(ctx, -(int)len);
	bpf_map_update_elem(&out, &k, &bad, BPF_ANY);
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	struct iphdr *ip = ipv4_of(data, data_end);
	if (!ip)
		return XDP_PASS;
	struct udphdr *udp = udp_of(ip, data_end);
	if (udp) {
		int keep = sizeof(struct ethhdr) + sizeof(struct iphdr) + sizeof(struct udphdr) + 8;
		if (len <= keep)
			return XDP_PASS;
		ip->tot_len = bpf_htons(keep - sizeof(struct ethhdr));
		udp->len = bpf_htons(16);
		udp->check = 0;
		s64 r = bpf_xdp_adjust_tail(ctx, keep - (int)len);
		k = 1;
		bpf_map_update_elem(&out, &k, &r, BPF_ANY);
		return XDP_TX;
	}
	s64 r = bpf_xdp_adjust_tail(ctx, 16);
	k = 2;
	bpf_map_update_elem(&out, &k, &r, BPF_ANY);
	if (r)
		return XDP_ABORTED;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	u32 off = (u32)(data_end - data) - 16;
	asm volatile("" : "+r"(off));
	off &= 0x7ff;
	u8 *tail = data + off;
	if ((void *)(tail + 16) > data_end)
		return XDP_ABORTED;
	for (int i = 0; i < 16; i++)
		tail[i] = 0xa0 + i;
	k = 3;
	s64 nl = data_end - data;
	bpf_map_update_elem(&out, &k, &nl, BPF_ANY);
	return XDP_TX;
}

char _license[] SEC("license") = "GPL";
