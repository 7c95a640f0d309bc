/* tc: a chain of tail calls through a prog_array filled by user space: each stage
 * decrements the TTL byte (direct packet write) and calls the next; the chain stops at the
 * first empty slot. skb->mark is set and read back along the way. */
#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 4);
	__uint(key_size, sizeof(u32));
	__uint(value_size, sizeof(u32));
} chain SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, u32);
	__type(value, u64);
} marks SEC(".maps");

static __always_inline int step(struct __sk_buff *skb, u32 index)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct iphdr *ip = ipv4_of(data, data_end);
	if (!ip)
		return TC_ACT_SHOT;
	ip->ttl--;
	skb->mark = skb->mark * 10 + index + 1;
	u64 m = skb->mark;
	bpf_map_update_elem(&marks, &index, &m, BPF_ANY);
	bpf_tail_call(skb, &chain, index + 1);
	return index + 100;
}

SEC("tc")
int tc_stage1(struct __sk_buff *skb)
{
	return step(skb, 1);
}

SEC("tc")
int tc_stage2(struct __sk_buff *skb)
{
	return step(skb, 2);
}

SEC("tc")
int tc_tail_call(struct __sk_buff *skb)
{
	skb->mark = 0;
	return step(skb, 0);
}

char _license[] SEC("license") = "GPL";
