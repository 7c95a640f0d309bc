/* tc: bpf_ringbuf_reserve + submit for UDP, reserve + discard for other packets, and a
 * reservation too large for the ring (NULL). */
#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8192);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, u32);
	__type(value, u64);
} out SEC(".maps");

struct event {
	u32 len;
	u32 protocol;
	u8 payload[8];
};

SEC("tc")
int ringbuf_reserve(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct iphdr *ip = ipv4_of(data, data_end);
	u32 k = 0;
	void *huge = bpf_ringbuf_reserve(&events, 16384, 0);
	u64 huge_null = huge == 0;
	if (huge)
		bpf_ringbuf_discard(huge, 0);
	bpf_map_update_elem(&out, &k, &huge_null, BPF_ANY);
	struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		return TC_ACT_SHOT;
	e->len = skb->len;
	e->protocol = bpf_ntohs(skb->protocol);
	__builtin_memset(e->payload, 0, sizeof(e->payload));
	if (ip && udp_of(ip, data_end)) {
		bpf_skb_load_bytes(skb, 42, e->payload, 8);
		bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
		k = 1;
	} else {
		bpf_ringbuf_discard(e, BPF_RB_NO_WAKEUP);
		k = 2;
	}
	u64 *c = bpf_map_lookup_elem(&out, &k);
	if (c)
		(*c)++;
	k = 3;
	u64 avail = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);
	bpf_map_update_elem(&out, &k, &avail, BPF_ANY);
	return TC_ACT_OK;
}

char _license[] SEC("license") = "GPL";
