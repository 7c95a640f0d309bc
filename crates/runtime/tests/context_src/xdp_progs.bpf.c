// XDP programs for the context tests: parsing, rewriting, adjust_head/tail/meta.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

char LICENSE[] SEC("license") = "GPL";

static __always_inline void swap_mac(struct ethhdr *eth)
{
	unsigned char tmp[ETH_ALEN];
	__builtin_memcpy(tmp, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, tmp, ETH_ALEN);
}

/* UDP to port 53: swap MACs, decrement TTL with checksum fix, XDP_TX; TCP: drop. */
SEC("xdp")
int xdp_parse(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > data_end)
		return XDP_ABORTED;
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	struct iphdr *ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > data_end)
		return XDP_ABORTED;
	if (ip->protocol == IPPROTO_TCP)
		return XDP_DROP;
	if (ip->protocol != IPPROTO_UDP)
		return XDP_PASS;
	struct udphdr *udp = (void *)ip + ip->ihl * 4;
	if ((void *)(udp + 1) > data_end)
		return XDP_ABORTED;
	if (udp->dest != bpf_htons(53))
		return XDP_PASS;
	swap_mac(eth);
	__u32 csum = (__u16)~ip->check;
	csum += (__u16)~bpf_htons(ip->ttl << 8);
	ip->ttl--;
	csum += bpf_htons(ip->ttl << 8);
	csum = (csum & 0xffff) + (csum >> 16);
	csum = (csum & 0xffff) + (csum >> 16);
	ip->check = ~csum;
	return XDP_TX;
}

/* Push a new Ethernet header in front (encapsulation-style) and trim 4 bytes at the tail. */
SEC("xdp")
int xdp_encap(struct xdp_md *ctx)
{
	if (bpf_xdp_adjust_head(ctx, -(int)sizeof(struct ethhdr)))
		return XDP_ABORTED;
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *outer = data;
	struct ethhdr *inner = data + sizeof(*outer);
	if ((void *)(inner + 1) > data_end)
		return XDP_ABORTED;
	__builtin_memcpy(outer->h_dest, inner->h_source, ETH_ALEN);
	__builtin_memcpy(outer->h_source, inner->h_dest, ETH_ALEN);
	outer->h_proto = bpf_htons(0x88b5);
	if (bpf_xdp_adjust_tail(ctx, -4))
		return XDP_DROP;
	return XDP_PASS;
}

/* Strip the Ethernet header, grow the tail by 6 zero bytes, report the length. */
SEC("xdp")
int xdp_strip(struct xdp_md *ctx)
{
	long r = bpf_xdp_adjust_head(ctx, sizeof(struct ethhdr));
	if (r)
		return 100 + (int)-r;
	r = bpf_xdp_adjust_tail(ctx, 6);
	if (r)
		return 200 + (int)-r;
	/* Too far: must fail with -EINVAL and change nothing. */
	if (bpf_xdp_adjust_head(ctx, 100000) != -22)
		return 1;
	if (bpf_xdp_adjust_tail(ctx, 5000) != -22)
		return 1;
	return (int)(ctx->data_end - ctx->data) + 1000;
}

/* Metadata: reserve 8 bytes, write them, read them back; bad sizes fail. */
SEC("xdp")
int xdp_meta(struct xdp_md *ctx)
{
	if (bpf_xdp_adjust_meta(ctx, -3) != -13)
		return 1;
	if (bpf_xdp_adjust_meta(ctx, -8))
		return 2;
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 *meta = (void *)(long)ctx->data_meta;
	if ((void *)(meta + 2) > data)
		return 3;
	meta[0] = 0x11223344;
	meta[1] = ctx->ingress_ifindex + (ctx->rx_queue_index << 8);
	unsigned char *p = data;
	if ((void *)(p + 1) > data_end)
		return 4;
	p[0] ^= 0xff;
	return XDP_PASS;
}

/* Redirect to ifindex 1. */
SEC("xdp")
int xdp_redir(struct xdp_md *ctx)
{
	return bpf_redirect(1, 0);
}
