/* tc: rewrite the source address and port with bpf_skb_store_bytes, fixing the IP checksum
 * with bpf_l3_csum_replace and the UDP/TCP checksum with bpf_l4_csum_replace (address as a
 * pseudo-header change, port as a plain 2-byte change). */
#include "common.h"

#define IP_OFF ETH_HLEN
#define IP_CSUM (IP_OFF + 10)
#define IP_SRC (IP_OFF + 12)
#define L4_OFF (IP_OFF + 20)

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 8);
	__type(key, u32);
	__type(value, s64);
} out SEC(".maps");

static __always_inline void put(u32 k, s64 v)
{
	bpf_map_update_elem(&out, &k, &v, BPF_ANY);
}

SEC("tc")
int l3_l4_csum(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct iphdr *ip = ipv4_of(data, data_end);
	if (!ip)
		return TC_ACT_OK;
	u32 proto = ip->protocol;
	u32 old_ip = ip->saddr;
	u32 new_ip = bpf_htonl(0x0a0a0a0a);
	int l4_csum;
	if (proto == IPPROTO_UDP)
		l4_csum = L4_OFF + 6;
	else if (proto == IPPROTO_TCP)
		l4_csum = L4_OFF + 16;
	else
		return TC_ACT_OK;
	u16 old_port;
	put(0, bpf_skb_load_bytes(skb, L4_OFF, &old_port, 2));
	u16 new_port = bpf_htons(5555);
	u32 flags = BPF_F_PSEUDO_HDR | 4;
	if (proto == IPPROTO_UDP)
		flags |= BPF_F_MARK_MANGLED_0;
	put(1, bpf_l4_csum_replace(skb, l4_csum, old_ip, new_ip, flags));
	put(2, bpf_l3_csum_replace(skb, IP_CSUM, old_ip, new_ip, 4));
	put(3, bpf_skb_store_bytes(skb, IP_SRC, &new_ip, 4, 0));
	u32 f2 = 2;
	if (proto == IPPROTO_UDP)
		f2 |= BPF_F_MARK_MANGLED_0;
	put(4, bpf_l4_csum_replace(skb, l4_csum, old_port, new_port, f2));
	put(5, bpf_skb_store_bytes(skb, L4_OFF, &new_port, 2, 0));
	/* Bad size flag. */
	put(6, bpf_l3_csum_replace(skb, IP_CSUM, 0, 0, 3));
	/* Offset past the end. */
	put(7, bpf_l3_csum_replace(skb, 4000, 0, 0, 2));
	return TC_ACT_OK;
}

char _license[] SEC("license") = "GPL";
