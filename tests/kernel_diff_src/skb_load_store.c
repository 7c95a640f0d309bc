/* tc: bpf_skb_load_bytes of the Ethernet and IP headers, bpf_skb_store_bytes swapping the
 * MAC addresses and writing a payload marker (with BPF_F_RECOMPUTE_CSUM); out-of-range
 * offsets fail with -EFAULT. */
#include "common.h"

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
int skb_load_store(struct __sk_buff *skb)
{
	struct ethhdr eth;
	put(0, bpf_skb_load_bytes(skb, 0, &eth, sizeof(eth)));
	u8 tmp[ETH_ALEN];
	__builtin_memcpy(tmp, eth.h_dest, ETH_ALEN);
	__builtin_memcpy(eth.h_dest, eth.h_source, ETH_ALEN);
	__builtin_memcpy(eth.h_source, tmp, ETH_ALEN);
	put(1, bpf_skb_store_bytes(skb, 0, &eth, 2 * ETH_ALEN, 0));
	struct iphdr ip;
	put(2, bpf_skb_load_bytes(skb, sizeof(eth), &ip, sizeof(ip)));
	put(3, ip.ttl);
	u8 big[16];
	put(4, bpf_skb_load_bytes(skb, skb->len - 8, big, sizeof(big)));
	u32 marker = bpf_htonl(0xfeedf00d);
	put(5, bpf_skb_store_bytes(skb, skb->len - 4, &marker, 4, BPF_F_RECOMPUTE_CSUM));
	put(6, bpf_skb_store_bytes(skb, skb->len - 2, &marker, 4, 0));
	put(7, skb->len);
	return ip.protocol == IPPROTO_UDP ? TC_ACT_OK : TC_ACT_SHOT;
}

char _license[] SEC("license") = "GPL";
