/* tc: a LIFO stack of source ports: push, peek, pop, pop on empty (-ENOENT). */
#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_STACK);
	__uint(max_entries, 3);
	__type(value, u64);
} ports SEC(".maps");

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
int stack(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct iphdr *ip = ipv4_of(data, data_end);
	if (!ip)
		return TC_ACT_OK;
	struct udphdr *udp = udp_of(ip, data_end);
	u64 port = udp ? bpf_ntohs(udp->source) : 0;
	put(0, bpf_map_push_elem(&ports, &port, 0));
	u64 top = 0;
	put(1, bpf_map_peek_elem(&ports, &top));
	put(2, top);
	if (!udp) {
		/* Drain: the third pop of a two-element stack fails. */
		for (int i = 0; i < 4; i++) {
			u64 v = 0;
			long r = bpf_map_pop_elem(&ports, &v);
			put(3 + i, r == 0 ? (s64)v : r);
		}
	}
	return TC_ACT_OK;
}

char _license[] SEC("license") = "GPL";
