// SPDX-License-Identifier: GPL-2.0
// Per-protocol packet and byte counters: for every IPv4 or IPv6 packet (behind up to two
// VLAN tags) the entry of its transport protocol number (6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6,
// 44 an IPv6 fragment header...) counts one packet and its length; non-IP frames count
// under 256 (ARP and others), truncated IP headers under 257. Every packet passes.
//
//   userbpf xdp examples/xdp_counter.bpf.o --pcap examples/xdp_counter.pcap --pin-dir /tmp/cnt
//   userbpf map dump /tmp/cnt/proto_stats
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define KEY_NOT_IP 256
#define KEY_TRUNCATED 257

struct counter {
	__u64 packets;
	__u64 bytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 258);
	__type(key, __u32);
	__type(value, struct counter);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} proto_stats SEC(".maps");

struct vlan_hdr {
	__be16 tci;
	__be16 proto;
};

SEC("xdp")
int xdp_counter(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	void *cursor = eth + 1;
	__u32 key = KEY_TRUNCATED;
	__u16 proto;

	if (cursor > data_end)
		goto count;
	proto = eth->h_proto;
#pragma unroll
	for (int i = 0; i < 2; i++) {
		if (proto != bpf_htons(ETH_P_8021Q) && proto != bpf_htons(ETH_P_8021AD))
			break;
		struct vlan_hdr *vh = cursor;
		if ((void *)(vh + 1) > data_end)
			goto count;
		proto = vh->proto;
		cursor = vh + 1;
	}
	if (proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = cursor;
		if ((void *)(ip + 1) > data_end)
			goto count;
		key = ip->protocol;
	} else if (proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = cursor;
		if ((void *)(ip6 + 1) > data_end)
			goto count;
		key = ip6->nexthdr;
	} else {
		key = KEY_NOT_IP;
	}
count:;
	struct counter *c = bpf_map_lookup_elem(&proto_stats, &key);
	if (c) {
		__sync_fetch_and_add(&c->packets, 1);
		__sync_fetch_and_add(&c->bytes, data_end - data);
	}
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
