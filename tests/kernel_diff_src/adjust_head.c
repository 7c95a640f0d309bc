/* XDP: bpf_xdp_adjust_head. UDP to port 4789 is "decapsulated" (the outer Ethernet + IP +
 * UDP + 8-byte VXLAN headers are removed, leaving the inner frame); other IPv4 packets
 * get an 8-byte tag pushed in front of a copied Ethernet header. Too large a move fails. */
#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, u32);
	__type(value, s64);
} out SEC(".maps");

#define OUTER (sizeof(struct ethhdr) + sizeof(struct iphdr) + sizeof(struct udphdr) + 8)

SEC("xdp")
int adjust_head(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	u32 k = 0;
	s64 bad = bpf_xdp_adjust_head(ctx, -4096);
	bpf_map_update_elem(&out, &k, &bad, BPF_ANY);
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	struct iphdr *ip = ipv4_of(data, data_end);
	if (!ip)
		return XDP_PASS;
	struct udphdr *udp = udp_of(ip, data_end);
	if (udp && udp->dest == bpf_htons(4789)) {
		s64 r = bpf_xdp_adjust_head(ctx, (int)OUTER);
		k = 1;
		bpf_map_update_elem(&out, &k, &r, BPF_ANY);
		return r ? XDP_ABORTED : XDP_TX;
	}
	struct ethhdr eth;
	__builtin_memcpy(&eth, data, sizeof(eth));
	s64 r = bpf_xdp_adjust_head(ctx, -8);
	k = 2;
	bpf_map_update_elem(&out, &k, &r, BPF_ANY);
	if (r)
		return XDP_ABORTED;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if (data + sizeof(eth) + 8 > data_end)
		return XDP_ABORTED;
	__builtin_memcpy(data, &eth, sizeof(eth));
	u8 *tag = data + sizeof(eth);
	/* The original ethertype moves behind the tag. */
	((struct ethhdr *)data)->h_proto = bpf_htons(0x88b5);
	tag[0] = 0xde;
	tag[1] = 0xad;
	tag[2] = 0xbe;
	tag[3] = 0xef;
	tag[4] = ctx->data_end - ctx->data;
	tag[5] = 0;
	tag[6] = 0x08;
	tag[7] = 0x00;
	return XDP_TX;
}

char _license[] SEC("license") = "GPL";
