/* tc: a hash of maps keyed by destination port selects an inner hash; the inner hash
 * counts per source address. */
#include "common.h"

struct inner {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8);
	__type(key, u32);
	__type(value, u64);
};

struct inner dns SEC(".maps");
struct inner web SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
	__uint(max_entries, 128);
	__type(key, u32);
	__array(values, struct inner);
} by_port SEC(".maps") = {
	.values = { [53] = &dns, [80] = &web },
};

SEC("tc")
int hash_of_maps(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct iphdr *ip = ipv4_of(data, data_end);
	if (!ip)
		return TC_ACT_OK;
	u32 port = 0;
	struct udphdr *udp = udp_of(ip, data_end);
	struct tcphdr *tcp = tcp_of(ip, data_end);
	if (udp)
		port = bpf_ntohs(udp->dest);
	else if (tcp)
		port = bpf_ntohs(tcp->dest);
	void *inner = bpf_map_lookup_elem(&by_port, &port);
	if (!inner)
		return TC_ACT_SHOT;
	u32 src = ip->saddr;
	u64 *v = bpf_map_lookup_elem(inner, &src);
	if (v) {
		__sync_fetch_and_add(v, 1);
	} else {
		u64 one = 1;
		bpf_map_update_elem(inner, &src, &one, BPF_NOEXIST);
	}
	return TC_ACT_OK;
}

char _license[] SEC("license") = "GPL";
