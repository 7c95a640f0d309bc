/* The JIT benchmark programs (benches/benches/jit.rs): XDP programs around kernels.h. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "kernels.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__uint(value_size, BIG);
} big SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__uint(value_size, SWITCH_LEN);
} small SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, N_COUNTERS);
	__type(key, u32);
	__type(value, u64);
} counters SEC(".maps");

#define DATA(ctx) ((u8 *)(long)(ctx)->data)
#define END(ctx) ((u8 *)(long)(ctx)->data_end)

static __always_inline u8 *value(void *map)
{
	u32 zero = 0;
	return bpf_map_lookup_elem(map, &zero);
}

SEC("xdp") int primes(struct xdp_md *ctx) { return k_primes(DATA(ctx), END(ctx)); }

SEC("xdp") int copy(struct xdp_md *ctx)
{
	u8 *m = value(&big);
	return m ? k_copy(m, param(DATA(ctx), END(ctx), 3)) : 0;
}

SEC("xdp") int strcmp_(struct xdp_md *ctx)
{
	u8 *m = value(&big);
	return m ? k_strcmp(m, param(DATA(ctx), END(ctx), 3)) : 0;
}

SEC("xdp") int log2_(struct xdp_md *ctx)
{
	u8 *m = value(&small);
	return m ? k_log2(m, param(DATA(ctx), END(ctx), 3)) : 0;
}

SEC("xdp") int switch_(struct xdp_md *ctx)
{
	u8 *m = value(&small);
	return m ? k_switch(m, param(DATA(ctx), END(ctx), 3)) : 0;
}

SEC("xdp") int sum2(struct xdp_md *ctx) { return k_sum2(DATA(ctx), END(ctx)); }

SEC("xdp") int constant(struct xdp_md *ctx) { return XDP_PASS; }

SEC("xdp") int parse(struct xdp_md *ctx) { return k_parse(DATA(ctx), END(ctx)); }

/* Map-heavy: COUNTER_ROUNDS lookups and increments of an array map. */
SEC("xdp") int counter(struct xdp_md *ctx)
{
	u64 total = 0;
	for (u32 i = param(DATA(ctx), END(ctx), 3); i < COUNTER_ROUNDS; i++) {
		cond_break;
		u32 key = i & (N_COUNTERS - 1);
		u64 *v = bpf_map_lookup_elem(&counters, &key);
		if (!v)
			return 0;
		*v += 1;
		total += *v;
	}
	return total;
}

char LICENSE[] SEC("license") = "GPL";
