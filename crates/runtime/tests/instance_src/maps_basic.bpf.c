// Map helpers on element maps, queues, stacks, bloom filters, and global data.
// Programs do not touch their context, so the kernel can run them as XDP programs too.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u64);
} hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} percpu SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u32);
} lru SEC(".maps");

struct lpm_key {
	__u32 prefixlen;
	__u8 addr[4];
};

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 16);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct lpm_key);
	__type(value, __u32);
} lpm SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_QUEUE);
	__uint(max_entries, 8);
	__type(value, __u32);
} queue SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_STACK);
	__uint(max_entries, 8);
	__type(value, __u32);
} stack SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_BLOOM_FILTER);
	__uint(max_entries, 64);
	__type(value, __u32);
	__uint(map_extra, 3);
} bloom SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __s64);
} results SEC(".maps");

const volatile __u32 multiplier = 3;
__u64 data_counter = 100;
__u64 bss_counter;

static __always_inline void put(__u32 i, __s64 v)
{
	bpf_map_update_elem(&results, &i, &v, BPF_ANY);
}

SEC("xdp")
int count(void *ctx)
{
	__u32 k0 = 0, k7 = 7;
	__u64 one = 1, *v;
	v = bpf_map_lookup_elem(&counts, &k0);
	if (!v)
		return 1;
	__sync_fetch_and_add(v, 1);
	v = bpf_map_lookup_elem(&hash, &k7);
	if (v) {
		__sync_fetch_and_add(v, 1);
	} else {
		bpf_map_update_elem(&hash, &k7, &one, BPF_NOEXIST);
	}
	v = bpf_map_lookup_elem(&percpu, &k0);
	if (v)
		*v += 1;
	return 0;
}

SEC("xdp")
int globals(void *ctx)
{
	data_counter += multiplier;
	bss_counter += 1;
	return data_counter + bss_counter * 1000;
}

SEC("xdp")
int errnos(void *ctx)
{
	__u32 k = 1, missing = 99, big = 4;
	__u64 v = 5;
	put(0, bpf_map_update_elem(&hash, &k, &v, BPF_ANY));
	put(1, bpf_map_update_elem(&hash, &k, &v, BPF_NOEXIST));
	put(2, bpf_map_update_elem(&hash, &missing, &v, BPF_EXIST));
	put(3, bpf_map_delete_elem(&hash, &missing));
	put(4, bpf_map_delete_elem(&counts, &k));
	put(5, bpf_map_update_elem(&counts, &big, &v, BPF_ANY));
	put(6, bpf_map_update_elem(&counts, &k, &v, BPF_NOEXIST));
	put(7, bpf_map_update_elem(&hash, &k, &v, 7));
	put(8, bpf_map_delete_elem(&hash, &k));
	put(9, bpf_map_lookup_elem(&counts, &big) == 0);
	return 0;
}

SEC("xdp")
int lru_fill(void *ctx)
{
	for (__u32 i = 0; i < 10; i++) {
		__u32 v = i * 10;
		bpf_map_update_elem(&lru, &i, &v, BPF_ANY);
	}
	__u32 last = 9;
	__u32 *v = bpf_map_lookup_elem(&lru, &last);
	return v ? *v : -1;
}

SEC("xdp")
int lpm_lookup(void *ctx)
{
	struct lpm_key k = { .prefixlen = 32, .addr = { 10, 1, 2, 3 } };
	__u32 *v = bpf_map_lookup_elem(&lpm, &k);
	__u32 a = v ? *v : 0;
	struct lpm_key k2 = { .prefixlen = 32, .addr = { 192, 168, 0, 1 } };
	v = bpf_map_lookup_elem(&lpm, &k2);
	__u32 b = v ? *v : 0;
	return a * 1000 + b;
}

SEC("xdp")
int queues(void *ctx)
{
	__u32 v, out = 0;
	for (__u32 i = 1; i <= 3; i++) {
		v = i * 11;
		bpf_map_push_elem(&queue, &v, 0);
		bpf_map_push_elem(&stack, &v, 0);
	}
	__s64 r = 0;
	bpf_map_pop_elem(&queue, &out);   /* 11 */
	r = out;
	bpf_map_pop_elem(&stack, &out);   /* 33 */
	r = r * 100 + out;
	bpf_map_peek_elem(&queue, &out);  /* 22 */
	r = r * 100 + out;
	bpf_map_peek_elem(&stack, &out);  /* 22 */
	r = r * 100 + out;
	put(0, r);
	/* drain the queue: 22, 33, then -ENOENT with a zeroed value */
	bpf_map_pop_elem(&queue, &out);
	bpf_map_pop_elem(&queue, &out);
	out = 77;
	put(1, bpf_map_pop_elem(&queue, &out));
	put(2, out);
	return 0;
}

SEC("xdp")
int bloom_ops(void *ctx)
{
	__u32 v = 42, other = 43;
	put(0, bpf_map_push_elem(&bloom, &v, 0));
	put(1, bpf_map_peek_elem(&bloom, &v));
	put(2, bpf_map_peek_elem(&bloom, &other));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
