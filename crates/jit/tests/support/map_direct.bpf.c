// Programs for crates/jit/tests/map_direct.rs: map helper calls the JIT turns into direct
// calls (lookup, update, delete on hash, per-CPU hash, LRU hash, array, per-CPU array and
// LPM maps; ring buffer reserve, submit and discard), and a submit with bad flags, which
// must trap as in the interpreter.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define MAP(name, t, k, v, n)                                                  \
	struct {                                                               \
		__uint(type, t);                                               \
		__uint(max_entries, n);                                        \
		__type(key, k);                                                \
		__type(value, v);                                              \
	} name SEC(".maps")

MAP(hash, BPF_MAP_TYPE_HASH, __u32, __u64, 8);
MAP(pcpu, BPF_MAP_TYPE_PERCPU_HASH, __u32, __u64, 8);
MAP(lru, BPF_MAP_TYPE_LRU_HASH, __u32, __u64, 4);
/* Keys of 2 and 1 bytes (inline hash lookups load and compare them as words). */
MAP(hash16, BPF_MAP_TYPE_HASH, __u16, __u64, 8);
MAP(hash8, BPF_MAP_TYPE_HASH, __u8, __u64, 8);
MAP(arr, BPF_MAP_TYPE_ARRAY, __u32, __u64, 8);
MAP(parr, BPF_MAP_TYPE_PERCPU_ARRAY, __u32, __u64, 8);

struct lpm_key {
	__u32 prefixlen;
	__u8 addr[4];
};

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 16);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct lpm_key);
	__type(value, __u64);
} lpm SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} ring SEC(".maps");

/* Updates, lookups (adding to the value found) and deletes of keys `i % 6 * spread` of
 * type `key_t`. */
#define CHURN(fn, key_t, spread)                                               \
static __always_inline __u64 fn(void *map, __u32 n, __u64 salt)                \
{                                                                              \
	__u64 sum = 0;                                                         \
	for (__u32 i = 0; i < n; i++) {                                        \
		key_t k = (key_t)(i % 6 * spread);                             \
		__u64 v = i * salt + 1;                                        \
		long r = bpf_map_update_elem(map, &k, &v,                      \
					     i & 1 ? BPF_NOEXIST : BPF_ANY);   \
		sum = sum * 31 + (__u64)r;                                     \
		__u64 *p = bpf_map_lookup_elem(map, &k);                       \
		if (p) {                                                       \
			sum = sum * 31 + *p;                                   \
			*p += 1;                                               \
		}                                                              \
		if (i % 5 == 4) {                                              \
			r = bpf_map_delete_elem(map, &k);                      \
			sum = sum * 31 + (__u64)r;                             \
		}                                                              \
	}                                                                      \
	return sum;                                                            \
}

CHURN(churn16, __u16, 0x1234)
CHURN(churn8, __u8, 41)

static __always_inline __u64 churn(void *map, __u32 n, __u64 salt)
{
	__u64 sum = 0;
	for (__u32 i = 0; i < n; i++) {
		__u32 k = i % 6;
		__u64 v = i * salt + 1;
		long r = bpf_map_update_elem(map, &k, &v, i & 1 ? BPF_NOEXIST : BPF_ANY);
		sum = sum * 31 + (__u64)r;
		__u64 *p = bpf_map_lookup_elem(map, &k);
		if (p) {
			sum = sum * 31 + *p;
			*p += 1;
		}
		if (i % 5 == 4) {
			r = bpf_map_delete_elem(map, &k);
			sum = sum * 31 + (__u64)r;
		}
	}
	return sum;
}

SEC("xdp")
int elements(struct xdp_md *ctx)
{
	__u64 sum = churn(&hash, 20, 3);
	sum = sum * 7 + churn(&pcpu, 20, 5);
	sum = sum * 7 + churn(&lru, 20, 7);
	sum = sum * 7 + churn(&arr, 20, 11);
	sum = sum * 7 + churn(&parr, 20, 13);
	sum = sum * 7 + churn16(&hash16, 20, 17);
	sum = sum * 7 + churn8(&hash8, 20, 19);
	/* Absent keys whose low byte or word matches a present one's. */
	__u16 k16 = 0x3412;
	sum = sum * 7 + (bpf_map_lookup_elem(&hash16, &k16) != 0);
	__u8 k8 = 42;
	sum = sum * 7 + (bpf_map_lookup_elem(&hash8, &k8) != 0);
	/* Out of range and flags the kernel refuses. */
	__u32 k = 100;
	__u64 v = 1;
	sum = sum * 7 + (__u64)bpf_map_update_elem(&arr, &k, &v, BPF_ANY);
	sum = sum * 7 + (__u64)bpf_map_update_elem(&hash, &k, &v, 42);
	sum = sum * 7 + (__u64)bpf_map_update_elem(&hash, &k, &v, BPF_EXIST);
	sum = sum * 7 + (bpf_map_lookup_elem(&arr, &k) != 0);
	return (int)(sum ^ (sum >> 32));
}

SEC("xdp")
int prefixes(struct xdp_md *ctx)
{
	__u64 sum = 0;
	for (__u32 i = 0; i < 12; i++) {
		struct lpm_key key = { 8 + (i % 4) * 8, { 10, i & 3, i & 1, 0 } };
		__u64 v = i;
		sum = sum * 31 + (__u64)bpf_map_update_elem(&lpm, &key, &v, BPF_ANY);
		key.prefixlen = 32;
		key.addr[3] = i;
		__u64 *p = bpf_map_lookup_elem(&lpm, &key);
		sum = sum * 31 + (p ? *p + 1 : 0);
		if (i == 9) {
			key.prefixlen = 16;
			key.addr[1] = 1;
			sum = sum * 31 + (__u64)bpf_map_delete_elem(&lpm, &key);
		}
	}
	return (int)(sum ^ (sum >> 32));
}

/* Longest-prefix lookups (inline in JIT code for IPv4 keys) of keys of every prefix length,
 * above 32 too, among nested and sibling prefixes, with and without a default route. */
SEC("xdp")
int longest(struct xdp_md *ctx)
{
	__u64 sum = 0;
	for (__u32 round = 0; round < 2; round++) {
		for (__u32 i = 0; i < 14; i++) {
			struct lpm_key key = { (i * 7 + round) % 33,
					       { 10, (i & 3) << 6, i & 1 ? 0x80 : 3, i } };
			__u64 v = i + 100 * round;
			sum = sum * 31 + (__u64)bpf_map_update_elem(&lpm, &key, &v, BPF_ANY);
		}
		for (__u32 j = 0; j < 48; j++) {
			struct lpm_key key = { (j * 5) % 35,
					       { j & 8 ? 10 : 11, (j & 3) << 6, j & 4 ? 0x80 : 3, j % 14 } };
			__u64 *p = bpf_map_lookup_elem(&lpm, &key);
			sum = sum * 31 + (p ? *p + 1 : 0);
		}
		/* Without the default route. */
		struct lpm_key zero = { 0, { 0, 0, 0, 0 } };
		sum = sum * 31 + (__u64)bpf_map_delete_elem(&lpm, &zero);
	}
	return (int)(sum ^ (sum >> 32));
}

SEC("xdp")
int records(struct xdp_md *ctx)
{
	int n = 0;
	for (__u32 i = 0; i < 10; i++) {
		__u64 *rec = bpf_ringbuf_reserve(&ring, sizeof(__u64), 0);
		if (!rec)
			continue;
		*rec = i;
		if (i % 3 == 2)
			bpf_ringbuf_discard(rec, 0);
		else
			bpf_ringbuf_submit(rec, BPF_RB_NO_WAKEUP);
		n++;
	}
	/* Bad reserve flags: NULL. */
	__u64 *bad = bpf_ringbuf_reserve(&ring, 8, 1);
	if (bad) {
		bpf_ringbuf_discard(bad, 0);
		n += 100;
	}
	return n;
}

SEC("xdp")
int bad_submit(struct xdp_md *ctx)
{
	__u64 *rec = bpf_ringbuf_reserve(&ring, sizeof(__u64), 0);
	if (!rec)
		return 1;
	*rec = 7;
	bpf_ringbuf_submit(rec, 4);
	return 2;
}

/* Lookups while user space deletes and reinserts keys 0-3 (values k * 1000 + 7): keys
 * 4-7 stay, so they must always be found; a value found must be its key's. */
SEC("xdp")
int probe(struct xdp_md *ctx)
{
	int bad = 0;
	for (__u32 i = 0; i < 64; i++) {
		__u32 k = i % 8;
		__u64 *p = bpf_map_lookup_elem(&hash, &k);
		if (p) {
			if (*p != k * 1000 + 7)
				bad += 1;
		} else if (k >= 4) {
			bad += 100;
		}
	}
	return bad;
}

/* LPM lookups of 10.k.1.1/32 while user space deletes and reinserts 10.k.0.0/16 (value
 * k * 1000 + 7) for k 0-3 and 10.k.1.0/24 for k 0-7: 10.0.0.0/8 (value 7) and the /16 of k
 * 4-7 stay, so a lookup always finds a value, the /8's, the /24's (k * 1000 + 9) or its
 * /16's, and k 4-7 never the /8's. */
SEC("xdp")
int probe_lpm(struct xdp_md *ctx)
{
	int bad = 0;
	for (__u32 i = 0; i < 64; i++) {
		__u32 k = i % 8;
		struct lpm_key key = { 32, { 10, k, 1, 1 } };
		__u64 *p = bpf_map_lookup_elem(&lpm, &key);
		if (!p)
			bad += 100;
		else if (*p != k * 1000 + 7 && *p != k * 1000 + 9 && (k >= 4 || *p != 7))
			bad += 1;
	}
	return bad;
}

char LICENSE[] SEC("license") = "GPL";
