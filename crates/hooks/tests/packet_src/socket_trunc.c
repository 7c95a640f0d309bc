// SPDX-License-Identifier: GPL-2.0
// Golden-test program: a socket filter whose return value is the number of bytes to keep.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

SEC("socket")
int socket_trunc(struct __sk_buff *skb)
{
	__u8 vers_proto[10];
	__u32 k = 0;
	__u64 *c;

	if (skb->protocol != bpf_htons(ETH_P_IP) && skb->protocol != bpf_htons(ETH_P_IPV6)) {
		k = 3;
		c = bpf_map_lookup_elem(&counts, &k);
		if (c)
			__sync_fetch_and_add(c, 1);
		return 0;
	}
	if (bpf_skb_load_bytes(skb, 0, vers_proto, 10))
		return 0;
	__u8 proto = skb->protocol == bpf_htons(ETH_P_IP) ? vers_proto[9] : vers_proto[6];
	k = proto == IPPROTO_TCP ? 0 : proto == IPPROTO_UDP ? 1 : 2;
	c = bpf_map_lookup_elem(&counts, &k);
	if (c)
		__sync_fetch_and_add(c, skb->len);
	if (proto == IPPROTO_TCP)
		return 40;
	if (proto == IPPROTO_UDP)
		return skb->len;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
