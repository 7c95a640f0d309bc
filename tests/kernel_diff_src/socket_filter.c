/* socket filter: the program sees the packet from the IP header on; bpf_skb_load_bytes of
 * the IP and UDP headers; counts per destination port in a hash; the return value is how
 * many bytes to keep (0 drops). */
#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, u16);
	__type(value, u64);
} ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, u32);
	__type(value, u64);
} info SEC(".maps");

SEC("socket")
int socket_filter(struct __sk_buff *skb)
{
	struct iphdr ip;
	if (bpf_skb_load_bytes(skb, 0, &ip, sizeof(ip)))
		return 0;
	u32 k = 0;
	u64 v = skb->len;
	bpf_map_update_elem(&info, &k, &v, BPF_ANY);
	k = 1;
	v = bpf_ntohs(skb->protocol);
	bpf_map_update_elem(&info, &k, &v, BPF_ANY);
	k = 2;
	v = ip.version << 4 | ip.ihl;
	bpf_map_update_elem(&info, &k, &v, BPF_ANY);
	if (ip.protocol != IPPROTO_UDP)
		return 0;
	struct udphdr udp;
	if (bpf_skb_load_bytes(skb, sizeof(ip), &udp, sizeof(udp)))
		return 0;
	u16 port = bpf_ntohs(udp.dest);
	u64 *c = bpf_map_lookup_elem(&ports, &port);
	if (c) {
		__sync_fetch_and_add(c, 1);
	} else {
		u64 one = 1;
		bpf_map_update_elem(&ports, &port, &one, BPF_ANY);
	}
	return port == 53 ? skb->len : 64;
}

char _license[] SEC("license") = "GPL";
