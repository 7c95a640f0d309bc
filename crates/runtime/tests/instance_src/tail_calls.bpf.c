// Tail calls through a prog_array (filled from the object's initial values and from user
// space), and the kernel's limit of 33 tail calls per run.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} state SEC(".maps");

int step1(void *ctx);
int step2(void *ctx);

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 8);
	__uint(key_size, sizeof(__u32));
	__array(values, int (void *));
} jumps SEC(".maps") = {
	.values = {
		[1] = (void *)&step1,
		[2] = (void *)&step2,
	},
};

static __always_inline __u64 *slot(__u32 i)
{
	return bpf_map_lookup_elem(&state, &i);
}

SEC("xdp")
int entry(void *ctx)
{
	__u64 *s = slot(0);
	if (!s)
		return 100;
	*s += 1;
	bpf_tail_call(ctx, &jumps, 1);
	/* reached only if the tail call fails */
	return 200;
}

SEC("xdp")
int step1(void *ctx)
{
	__u64 *s = slot(1);
	if (s)
		*s += 10;
	bpf_tail_call(ctx, &jumps, 2);
	return 300;
}

SEC("xdp")
int step2(void *ctx)
{
	__u64 *s = slot(2);
	if (s)
		*s += 100;
	/* empty slot and out of range: both fail and continue */
	bpf_tail_call(ctx, &jumps, 5);
	bpf_tail_call(ctx, &jumps, 1000);
	return 42;
}

/* Calls itself through slot 3 until the kernel's limit stops it. */
SEC("xdp")
int chain(void *ctx)
{
	__u64 *s = slot(3);
	if (s)
		*s += 1;
	bpf_tail_call(ctx, &jumps, 3);
	return 7;
}

/* A tail call from a subprogram: the target's result is the subprogram's. */
static __noinline int sub(void *ctx)
{
	bpf_tail_call(ctx, &jumps, 2);
	__u64 *s = slot(0);
	return s ? *s : 5;
}

SEC("xdp")
int from_sub(void *ctx)
{
	return sub(ctx) + 1000;
}

char LICENSE[] SEC("license") = "GPL";
