/* tc: bpf_for_each_map_elem over a hash (summing values, deleting odd keys, stopping at a
 * marker) and over an array (rewriting values in place). */
#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, u32);
	__type(value, u64);
} table SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 6);
	__type(key, u32);
	__type(value, u64);
} arr SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, u32);
	__type(value, s64);
} out SEC(".maps");

struct acc {
	u64 sum;
	u64 count;
};

static long visit_hash(void *map, u32 *key, u64 *value, struct acc *acc)
{
	acc->sum += *value;
	acc->count++;
	if (*key & 1)
		bpf_map_delete_elem(map, key);
	return 0;
}

static long visit_array(void *map, u32 *key, u64 *value, struct acc *acc)
{
	*value = *value * 2 + *key;
	acc->count++;
	return *key == 3;
}

SEC("tc")
int for_each(struct __sk_buff *skb)
{
	u32 k = skb->len & 7;
	u64 v = skb->len;
	bpf_map_update_elem(&table, &k, &v, BPF_ANY);
	struct acc a = {};
	s64 n = bpf_for_each_map_elem(&table, visit_hash, &a, 0);
	u32 o = 0;
	bpf_map_update_elem(&out, &o, &n, BPF_ANY);
	o = 1;
	s64 sum = a.sum;
	bpf_map_update_elem(&out, &o, &sum, BPF_ANY);
	struct acc b = {};
	n = bpf_for_each_map_elem(&arr, visit_array, &b, 0);
	o = 2;
	bpf_map_update_elem(&out, &o, &n, BPF_ANY);
	o = 3;
	s64 cnt = b.count;
	bpf_map_update_elem(&out, &o, &cnt, BPF_ANY);
	return TC_ACT_OK;
}

char _license[] SEC("license") = "GPL";
