// SPDX-License-Identifier: GPL-2.0
// An XDP firewall: drops IPv4 packets whose source address falls in a blocked prefix
// (an LPM trie) or whose TCP/UDP destination port is blocked (a hash), passes the rest, and
// counts packets per reason. Understands one 802.1Q/802.1ad VLAN tag.
//
// Fill the maps from user space, then run a capture through it:
//
//   userbpf xdp examples/xdp_firewall.bpf.o --pin-dir /tmp/fw   # create and pin the maps
//   # block 192.168.0.0/16: key = prefix length (u32, little-endian) + address (network order)
//   userbpf map update /tmp/fw/blocked_src --key 10000000c0a80000 --value 01
//   # block destination port 23 (key: u16, host order)
//   userbpf map update /tmp/fw/blocked_ports --key 1700 --value 01
//   userbpf xdp examples/xdp_firewall.bpf.o --pin-dir /tmp/fw --pcap examples/xdp_firewall.pcap \
//       --out /tmp/passed.pcap
//   userbpf map dump /tmp/fw/stats
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct lpm_v4_key {
	__u32 prefixlen;
	__u32 addr; /* network byte order */
};

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 1024);
	__type(key, struct lpm_v4_key);
	__type(value, __u8);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} blocked_src SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, __u16); /* host byte order */
	__type(value, __u8);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} blocked_ports SEC(".maps");

enum { STAT_PASS, STAT_DROP_SRC, STAT_DROP_PORT, STAT_MAX };

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} stats SEC(".maps");

struct vlan_hdr {
	__be16 tci;
	__be16 proto;
};

static __always_inline int verdict(__u32 stat, int action)
{
	__u64 *n = bpf_map_lookup_elem(&stats, &stat);
	if (n)
		__sync_fetch_and_add(n, 1);
	return action;
}

SEC("xdp")
int xdp_firewall(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	void *cursor = eth + 1;
	__u16 proto;

	if (cursor > data_end)
		return verdict(STAT_PASS, XDP_PASS);
	proto = eth->h_proto;
	if (proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD)) {
		struct vlan_hdr *vh = cursor;
		if ((void *)(vh + 1) > data_end)
			return verdict(STAT_PASS, XDP_PASS);
		proto = vh->proto;
		cursor = vh + 1;
	}
	if (proto != bpf_htons(ETH_P_IP))
		return verdict(STAT_PASS, XDP_PASS);

	struct iphdr *ip = cursor;
	if ((void *)(ip + 1) > data_end || ip->ihl < 5)
		return verdict(STAT_PASS, XDP_PASS);

	struct lpm_v4_key key = { .prefixlen = 32, .addr = ip->saddr };
	if (bpf_map_lookup_elem(&blocked_src, &key))
		return verdict(STAT_DROP_SRC, XDP_DROP);

	/* Only first fragments carry ports. */
	if ((ip->protocol == IPPROTO_TCP || ip->protocol == IPPROTO_UDP) &&
	    !(ip->frag_off & bpf_htons(0x1fff))) {
		__u16 *ports = (void *)ip + ip->ihl * 4;
		if ((void *)(ports + 2) > data_end)
			return verdict(STAT_PASS, XDP_PASS);
		__u16 dport = bpf_ntohs(ports[1]);
		if (bpf_map_lookup_elem(&blocked_ports, &dport))
			return verdict(STAT_DROP_PORT, XDP_DROP);
	}
	return verdict(STAT_PASS, XDP_PASS);
}

char LICENSE[] SEC("license") = "GPL";
