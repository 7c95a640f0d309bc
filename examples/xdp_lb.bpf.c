// SPDX-License-Identifier: GPL-2.0
// A header-rewriting load balancer in hairpin mode: an IPv4 TCP or UDP packet to the
// virtual address (VIP, element 0 of `config`) goes to one of the backends (chosen by a
// hash of its source address and ports): the Ethernet addresses are swapped for the
// backend's MAC and ours, the IP source becomes the VIP and the destination the backend,
// the IP and TCP/UDP checksums are updated incrementally, and the packet is sent back out
// with XDP_TX. Other packets pass. Counts packets per backend.
//
//   userbpf xdp examples/xdp_lb.bpf.o --pin-dir /tmp/lb
//   # VIP 10.0.0.100 and 2 backends (config value: vip (network order), backend count)
//   userbpf map update /tmp/lb/config --key 00000000 --value 0a00006402000000
//   # backend 0: 10.0.1.1, MAC 02:00:00:00:01:01; backend 1: 10.0.1.2, MAC 02:00:00:00:01:02
//   userbpf map update /tmp/lb/backends --key 00000000 --value 0a0001010200000001010000000000000000000000000000
//   userbpf map update /tmp/lb/backends --key 01000000 --value 0a0001020200000001020000000000000000000000000000
//   userbpf xdp examples/xdp_lb.bpf.o --pin-dir /tmp/lb --pcap examples/xdp_lb.pcap --out /tmp/tx.pcap
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define MAX_BACKENDS 16

struct config {
	__be32 vip;
	__u32 backend_count;
};

struct backend {
	__be32 ip;
	__u8 mac[6];
	__u8 pad[6];
	__u64 packets;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct config);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct backend);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} backends SEC(".maps");

/* One's-complement update of checksum `*sum` for a 32-bit field changing from `from` to `to`
 * (RFC 1624). */
static __always_inline void csum_replace4(__u16 *sum, __u32 from, __u32 to)
{
	__u32 s = (__u16)~*sum;
	s += (__u16)~from + (__u16)~(from >> 16);
	s += (__u16)to + (__u16)(to >> 16);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	*sum = ~s;
}

SEC("xdp")
int xdp_lb(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	__u32 zero = 0;

	if ((void *)(ip + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	struct config *cfg = bpf_map_lookup_elem(&config, &zero);
	if (!cfg || cfg->backend_count == 0 || ip->daddr != cfg->vip || ip->ihl != 5 ||
	    (ip->frag_off & bpf_htons(0x3fff)))
		return XDP_PASS;
	if (ip->protocol != IPPROTO_TCP && ip->protocol != IPPROTO_UDP)
		return XDP_PASS;
	__u16 *ports = (void *)(ip + 1);
	if ((void *)(ports + 2) > data_end)
		return XDP_PASS;

	__u32 hash = ip->saddr ^ ((__u32)ports[0] << 16 | ports[1]);
	hash ^= hash >> 16;
	hash *= 0x45d9f3b;
	hash ^= hash >> 16;
	__u32 index = hash % cfg->backend_count;
	if (index >= MAX_BACKENDS)
		return XDP_PASS;
	struct backend *be = bpf_map_lookup_elem(&backends, &index);
	if (!be)
		return XDP_PASS;
	__sync_fetch_and_add(&be->packets, 1);

	__u16 *l4_sum = 0;
	if (ip->protocol == IPPROTO_TCP) {
		struct tcphdr *tcp = (void *)(ip + 1);
		if ((void *)(tcp + 1) > data_end)
			return XDP_PASS;
		l4_sum = &tcp->check;
	} else {
		struct udphdr *udp = (void *)(ip + 1);
		if ((void *)(udp + 1) > data_end)
			return XDP_PASS;
		if (udp->check) /* 0: no checksum */
			l4_sum = &udp->check;
	}

	__be32 old_src = ip->saddr, old_dst = ip->daddr;
	__be32 new_src = cfg->vip, new_dst = be->ip;
	ip->saddr = new_src;
	ip->daddr = new_dst;
	csum_replace4(&ip->check, old_src, new_src);
	csum_replace4(&ip->check, old_dst, new_dst);
	if (l4_sum) {
		csum_replace4(l4_sum, old_src, new_src);
		csum_replace4(l4_sum, old_dst, new_dst);
	}

	/* Our MAC (the old destination) becomes the source; the backend's the destination. */
	__builtin_memcpy(eth->h_source, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, be->mac, ETH_ALEN);
	return XDP_TX;
}

char LICENSE[] SEC("license") = "GPL";
