// Map-operation benchmark programs: each XDP program performs OPS operations of one kind
// in a bounded loop and stores a checksum of what it saw in results[<its slot>], so that
// userbpf and the kernel can be compared on the same answers. `baseline` runs the same
// loop with no map operation; `empty` returns at once (the per-run fixed cost).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define OPS 1000
#define HASH_KEYS 64
#define LPM_PREFIXES 1000

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __u64);
} results SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, HASH_KEYS);
	__type(key, __u32);
	__type(value, __u64);
} arr SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u64);
} hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u64);
} lru SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u64);
} percpu SEC(".maps");

struct lpm_key {
	__u32 prefixlen;
	__u32 addr;
};

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 2 * LPM_PREFIXES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct lpm_key);
	__type(value, __u64);
} lpm SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 << 20);
} ring SEC(".maps");

enum { R_BASELINE, R_ARRAY_LOOKUP, R_ARRAY_UPDATE, R_HASH_LOOKUP, R_HASH_UPDATE,
       R_LRU_LOOKUP, R_LRU_UPDATE, R_PERCPU_LOOKUP, R_PERCPU_UPDATE, R_LPM_LOOKUP,
       R_LPM_UPDATE, R_RINGBUF };

static __always_inline void record(__u32 slot, __u64 sum)
{
	__u64 *r = bpf_map_lookup_elem(&results, &slot);
	if (r)
		*r = sum;
}

/* The address the i-th LPM operation uses (the bench builds its table from the same). */
static __always_inline __u32 lpm_addr(__u32 i)
{
	return i * 0x9E3779B1u;
}

static __always_inline __u32 lpm_len(__u32 i)
{
	return 8 + (i * 13) % 25;
}

SEC("xdp")
int empty(struct xdp_md *ctx)
{
	return XDP_PASS;
}

SEC("xdp")
int baseline(struct xdp_md *ctx)
{
	__u64 sum = 0;
	for (__u32 i = 0; i < OPS; i++) {
		__u32 key = i & (HASH_KEYS - 1);
		asm volatile("" : "+r"(key));
		sum += key;
	}
	record(R_BASELINE, sum);
	return XDP_PASS;
}

#define LOOKUP_PROG(name, map, slot)                                    \
	SEC("xdp")                                                      \
	int name(struct xdp_md *ctx)                                    \
	{                                                               \
		__u64 sum = 0;                                          \
		for (__u32 i = 0; i < OPS; i++) {                       \
			__u32 key = i & (HASH_KEYS - 1);                \
			__u64 *v = bpf_map_lookup_elem(&map, &key);     \
			if (v)                                          \
				sum += *v;                              \
		}                                                       \
		record(slot, sum);                                      \
		return XDP_PASS;                                        \
	}

#define UPDATE_PROG(name, map, slot, flags)                             \
	SEC("xdp")                                                      \
	int name(struct xdp_md *ctx)                                    \
	{                                                               \
		__u64 sum = 0;                                          \
		for (__u32 i = 0; i < OPS; i++) {                       \
			__u32 key = i & (HASH_KEYS - 1);                \
			__u64 value = i;                                \
			if (bpf_map_update_elem(&map, &key, &value, flags) == 0) \
				sum += 1;                               \
		}                                                       \
		record(slot, sum);                                      \
		return XDP_PASS;                                        \
	}

LOOKUP_PROG(array_lookup, arr, R_ARRAY_LOOKUP)
UPDATE_PROG(array_update, arr, R_ARRAY_UPDATE, BPF_ANY)
LOOKUP_PROG(hash_lookup, hash, R_HASH_LOOKUP)
UPDATE_PROG(hash_update, hash, R_HASH_UPDATE, BPF_EXIST)
LOOKUP_PROG(lru_lookup, lru, R_LRU_LOOKUP)
UPDATE_PROG(lru_update, lru, R_LRU_UPDATE, BPF_EXIST)
LOOKUP_PROG(percpu_lookup, percpu, R_PERCPU_LOOKUP)
UPDATE_PROG(percpu_update, percpu, R_PERCPU_UPDATE, BPF_EXIST)

SEC("xdp")
int lpm_lookup(struct xdp_md *ctx)
{
	__u64 sum = 0;
	for (__u32 i = 0; i < OPS; i++) {
		struct lpm_key key = { 32, bpf_htonl(lpm_addr(i)) };
		__u64 *v = bpf_map_lookup_elem(&lpm, &key);
		if (v)
			sum += *v;
	}
	record(R_LPM_LOOKUP, sum);
	return XDP_PASS;
}

SEC("xdp")
int lpm_update(struct xdp_md *ctx)
{
	__u64 sum = 0;
	for (__u32 i = 0; i < OPS; i++) {
		__u32 len = lpm_len(i);
		struct lpm_key key = { len, bpf_htonl(lpm_addr(i) & ~(0xffffffffu >> len)) };
		__u64 value = i + 1;
		if (bpf_map_update_elem(&lpm, &key, &value, BPF_EXIST) == 0)
			sum += 1;
	}
	record(R_LPM_UPDATE, sum);
	return XDP_PASS;
}

SEC("xdp")
int ringbuf(struct xdp_md *ctx)
{
	__u64 sum = 0;
	for (__u32 i = 0; i < OPS; i++) {
		__u64 *rec = bpf_ringbuf_reserve(&ring, sizeof(__u64), 0);
		if (!rec)
			continue;
		*rec = i;
		bpf_ringbuf_submit(rec, 0);
		sum += 1;
	}
	record(R_RINGBUF, sum);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
