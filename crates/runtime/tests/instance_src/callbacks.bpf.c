// bpf_loop and bpf_for_each_map_elem.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct bpf_map;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 32);
	__type(key, __u32);
	__type(value, __u64);
} hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u64);
} arr SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __s64);
} results SEC(".maps");

static __always_inline void put(__u32 i, __s64 v)
{
	bpf_map_update_elem(&results, &i, &v, BPF_ANY);
}

struct loop_ctx {
	__u64 sum;
	__u32 stop_at;
};

static long loop_body(__u64 index, void *data)
{
	struct loop_ctx *c = data;
	c->sum += index;
	if (c->stop_at && index == c->stop_at)
		return 1;
	return 0;
}

SEC("xdp")
int loops(void *ctx)
{
	struct loop_ctx c = { 0, 0 };
	put(0, bpf_loop(100, loop_body, &c, 0));
	put(1, c.sum);
	c.sum = 0;
	c.stop_at = 10;
	put(2, bpf_loop(100, loop_body, &c, 0));
	put(3, c.sum);
	put(4, bpf_loop(1, loop_body, &c, 1));
	put(5, bpf_loop((1 << 23) + 1, loop_body, &c, 0));
	put(6, bpf_loop(0, loop_body, &c, 0));
	return 0;
}

struct each_ctx {
	__u64 keys;
	__u64 values;
	__u32 limit;
	__u32 seen;
};

static long sum_elem(struct bpf_map *map, __u32 *key, __u64 *value, struct each_ctx *c)
{
	c->keys += *key;
	c->values += *value;
	*value += 1000;
	c->seen++;
	if (c->limit && c->seen >= c->limit)
		return 1;
	return 0;
}

static long delete_odd(struct bpf_map *map, __u32 *key, __u64 *value, void *c)
{
	if (*key & 1)
		bpf_map_delete_elem(map, key);
	return 0;
}

SEC("xdp")
int each(void *ctx)
{
	struct each_ctx c = {};
	put(0, bpf_for_each_map_elem(&hash, sum_elem, &c, 0));
	put(1, c.keys);
	put(2, c.values);
	struct each_ctx a = { .limit = 3 };
	put(3, bpf_for_each_map_elem(&arr, sum_elem, &a, 0));
	put(4, a.keys);
	put(5, a.values);
	put(6, bpf_for_each_map_elem(&hash, sum_elem, &c, 1));
	put(7, bpf_for_each_map_elem(&hash, delete_odd, 0, 0));
	return 0;
}

/* Nested: a loop whose body iterates a map. */
static long inner_each(struct bpf_map *map, __u32 *key, __u64 *value, __u64 *total)
{
	*total += *value;
	return 0;
}

static long outer_loop(__u64 index, __u64 *total)
{
	bpf_for_each_map_elem(&arr, inner_each, total, 0);
	return 0;
}

SEC("xdp")
int nested(void *ctx)
{
	__u64 total = 0;
	bpf_loop(3, outer_loop, &total, 0);
	return total;
}

char LICENSE[] SEC("license") = "GPL";
