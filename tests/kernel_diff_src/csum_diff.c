/* XDP: NAT of the destination address with the IP checksum updated incrementally through
 * bpf_csum_diff, and the UDP checksum through a second csum_diff; plus csum_diff of a
 * buffer against nothing (a plain sum) recorded. */
#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, u32);
	__type(value, s64);
} out SEC(".maps");

static __always_inline u16 fold(u64 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return ~sum;
}

SEC("xdp")
int csum_diff(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct iphdr *ip = ipv4_of(data, data_end);
	if (!ip)
		return XDP_PASS;
	u32 old = ip->daddr;
	u32 new = bpf_htonl(0xc0a80063); /* 192.168.0.99 */
	s64 d = bpf_csum_diff(&old, 4, &new, 4, ~(u32)ip->check & 0xffff);
	u32 k = 0;
	bpf_map_update_elem(&out, &k, &d, BPF_ANY);
	ip->daddr = new;
	ip->check = fold(d);
	struct udphdr *udp = udp_of(ip, data_end);
	if (udp && udp->check) {
		s64 u = bpf_csum_diff(&old, 4, &new, 4, ~(u32)udp->check & 0xffff);
		udp->check = fold(u);
	}
	/* A sum of the whole IP header (must fold to 0 when the checksum is right). */
	s64 whole = bpf_csum_diff(0, 0, (void *)ip, sizeof(*ip), 0);
	k = 1;
	bpf_map_update_elem(&out, &k, &whole, BPF_ANY);
	k = 2;
	s64 folded = fold(whole);
	bpf_map_update_elem(&out, &k, &folded, BPF_ANY);
	return XDP_TX;
}

char _license[] SEC("license") = "GPL";
