/* tc: bpf-to-bpf calls: static noinline functions (with stack frames of their own,
 * pointer arguments, nested calls), a global function, and a map update made in a callee. */
#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8);
	__type(key, u32);
	__type(value, u64);
} out SEC(".maps");

static __noinline u64 mix(u64 a, u64 b)
{
	volatile u64 scratch[4] = { a, b, a ^ b, a + b };
	return (scratch[0] * 31 + scratch[1]) ^ (scratch[2] << 3) ^ scratch[3];
}

static __noinline u64 checksum_header(struct __sk_buff *skb, u32 off, u32 words)
{
	u64 acc = 0;
	for (u32 i = 0; i < 5 && i < words; i++) {
		u32 w = 0;
		if (bpf_skb_load_bytes(skb, off + i * 4, &w, 4))
			return (u64)-1;
		acc = mix(acc, w);
	}
	return acc;
}

static __noinline void record(u32 key, u64 value)
{
	bpf_map_update_elem(&out, &key, &value, BPF_ANY);
}

__noinline int classify(u32 len)
{
	if (len < 64)
		return 1;
	if (len < 128)
		return 2;
	return 3;
}

SEC("tc")
int subprog_calls(struct __sk_buff *skb)
{
	u64 h = checksum_header(skb, ETH_HLEN, 5);
	record(0, h);
	record(1, mix(skb->len, skb->protocol));
	int c = classify(skb->len);
	record(2, c);
	return c == 1 ? TC_ACT_SHOT : TC_ACT_OK;
}

char _license[] SEC("license") = "GPL";
