/* tc: per-CPU hash keyed by destination port; lookup, in-place update, update from a
 * stack value, delete. */
#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 16);
	__type(key, u16);
	__type(value, u64);
} port_bytes SEC(".maps");

SEC("tc")
int percpu_hash(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct iphdr *ip = ipv4_of(data, data_end);
	if (!ip)
		return TC_ACT_OK;
	struct udphdr *udp = udp_of(ip, data_end);
	if (!udp)
		return TC_ACT_SHOT;
	u16 port = bpf_ntohs(udp->dest);
	u64 *v = bpf_map_lookup_elem(&port_bytes, &port);
	if (v) {
		*v += skb->len;
	} else {
		u64 init = skb->len;
		bpf_map_update_elem(&port_bytes, &port, &init, BPF_NOEXIST);
	}
	u16 gone = 7;
	bpf_map_delete_elem(&port_bytes, &gone);
	return port == 53 ? TC_ACT_OK : TC_ACT_SHOT;
}

char _license[] SEC("license") = "GPL";
