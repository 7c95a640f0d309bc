// SPDX-License-Identifier: GPL-2.0
// Golden-test program: every XDP verdict and every adjust helper, decided by the packet.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u64);
} seen SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} last_len SEC(".maps");

static __always_inline void bump(__u32 key)
{
	__u64 one = 1, *v = bpf_map_lookup_elem(&seen, &key);
	if (v)
		__sync_fetch_and_add(v, 1);
	else
		bpf_map_update_elem(&seen, &key, &one, BPF_NOEXIST);
}

SEC("xdp")
int xdp_mangle(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	__u32 zero = 0;
	__u64 *prev = bpf_map_lookup_elem(&last_len, &zero);
	__u64 len = data_end - data;

	if ((void *)(eth + 1) > data_end)
		return XDP_ABORTED;
	/* Map state carried between packets: a packet as long as the one before is dropped. */
	if (prev) {
		__u64 p = *prev;
		*prev = len;
		if (p == len)
			return XDP_DROP;
	}
	__u16 proto = eth->h_proto;
	bump(proto);
	if (proto == bpf_htons(ETH_P_8021Q)) {
		/* Pop the VLAN tag: move the MAC addresses forward, drop 4 bytes. */
		__u8 macs[12];
		if (data + 18 > data_end)
			return XDP_DROP;
		__builtin_memcpy(macs, data, 12);
		if (bpf_xdp_adjust_head(ctx, 4))
			return XDP_ABORTED;
		data = (void *)(long)ctx->data;
		data_end = (void *)(long)ctx->data_end;
		if (data + 14 > data_end)
			return XDP_ABORTED;
		__builtin_memcpy(data, macs, 12);
		return XDP_PASS;
	}
	if (proto == bpf_htons(ETH_P_ARP)) {
		/* Swap MACs and send back. */
		__u8 tmp[6];
		__builtin_memcpy(tmp, eth->h_dest, 6);
		__builtin_memcpy(eth->h_dest, eth->h_source, 6);
		__builtin_memcpy(eth->h_source, tmp, 6);
		return XDP_TX;
	}
	if (proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);
		if ((void *)(ip6 + 1) > data_end)
			return XDP_DROP;
		bump(1000 + ip6->nexthdr);
		if (ip6->nexthdr == IPPROTO_UDP) {
			/* Push 8 bytes of metadata and a 4-byte "encapsulation" header. */
			if (bpf_xdp_adjust_meta(ctx, -8))
				return XDP_ABORTED;
			if (bpf_xdp_adjust_head(ctx, -4))
				return XDP_ABORTED;
			void *meta = (void *)(long)ctx->data_meta;
			data = (void *)(long)ctx->data;
			data_end = (void *)(long)ctx->data_end;
			if (meta + 8 > data || data + 18 > data_end)
				return XDP_ABORTED;
			*(__u64 *)meta = 0x1122334455667788ULL;
			__builtin_memmove(data, data + 4, 12);
			*(__u32 *)(data + 12) = bpf_htonl(0x8100002a);
			return XDP_PASS;
		}
		return ip6->nexthdr == IPPROTO_TCP ? XDP_REDIRECT : XDP_PASS;
	}
	if (proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	struct iphdr *ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > data_end)
		return XDP_DROP;
	if (ip->ihl < 5 || ip->version != 4)
		return XDP_ABORTED;
	bump(2000 + ip->protocol);
	if (ip->frag_off & bpf_htons(0x3fff))
		return XDP_DROP;
	if (ip->protocol == IPPROTO_ICMP) {
		/* Trim to 60 bytes (grow to 64 first if shorter). */
		if (len > 60) {
			if (bpf_xdp_adjust_tail(ctx, 60 - (int)len))
				return XDP_ABORTED;
		} else if (bpf_xdp_adjust_tail(ctx, 64 - (int)len)) {
			return XDP_ABORTED;
		}
		return XDP_TX;
	}
	if (ip->protocol == IPPROTO_TCP)
		return bpf_redirect(7 + (ip->ttl & 1), 0);
	/* UDP: decrement the TTL (checksum by RFC 1624) and pass. */
	__u16 old = *(__u16 *)&ip->ttl;
	ip->ttl--;
	__u32 sum = (__u16)~ip->check + (__u16)~old + *(__u16 *)&ip->ttl;
	sum = (sum & 0xffff) + (sum >> 16);
	ip->check = ~((sum & 0xffff) + (sum >> 16));
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
