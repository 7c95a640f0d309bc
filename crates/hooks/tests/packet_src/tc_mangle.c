// SPDX-License-Identifier: GPL-2.0
// Golden-test program: a tc classifier with the skb helpers and every main tc verdict.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u64);
} by_proto SEC(".maps");

SEC("tc")
int tc_mangle(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	__u32 key = skb->protocol;
	__u64 one = 1, *v;

	v = bpf_map_lookup_elem(&by_proto, &key);
	if (v)
		__sync_fetch_and_add(v, skb->len);
	else
		bpf_map_update_elem(&by_proto, &key, &one, BPF_ANY);
	if ((void *)(eth + 1) > data_end)
		return TC_ACT_SHOT;
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return skb->pkt_type == 0 ? TC_ACT_OK : TC_ACT_UNSPEC;
	struct iphdr *ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > data_end)
		return TC_ACT_SHOT;
	if (ip->protocol == IPPROTO_TCP)
		return bpf_redirect(3, 0);
	if (ip->ttl <= 1 || ip->protocol == IPPROTO_ICMP)
		return TC_ACT_SHOT;
	/* TTL - 1 through bpf_l3_csum_replace and bpf_skb_store_bytes. */
	__u16 old = *(__u16 *)&ip->ttl;
	__u16 new = old;
	((__u8 *)&new)[0]--;
	if (bpf_skb_store_bytes(skb, 14 + 8, &new, 2, 0))
		return TC_ACT_SHOT;
	if (bpf_l3_csum_replace(skb, 14 + 10, old, new, 2))
		return TC_ACT_SHOT;
	data = (void *)(long)skb->data;
	data_end = (void *)(long)skb->data_end;
	ip = data + 14;
	if ((void *)(ip + 1) > data_end)
		return TC_ACT_SHOT;
	if (ip->protocol == IPPROTO_UDP && ip->ihl == 5 && !(ip->frag_off & bpf_htons(0x3fff))) {
		/* Rewrite destination port 53 to 5353, with the UDP checksum. */
		struct udphdr *udp = (void *)(ip + 1);
		if ((void *)(udp + 1) > data_end)
			return TC_ACT_OK;
		if (udp->dest == bpf_htons(53)) {
			__u16 np = bpf_htons(5353), op = udp->dest;
			if (udp->check &&
			    bpf_l4_csum_replace(skb, 14 + 20 + 6, op, np, 2))
				return TC_ACT_SHOT;
			if (bpf_skb_store_bytes(skb, 14 + 20 + 2, &np, 2, 0))
				return TC_ACT_SHOT;
		}
	}
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
