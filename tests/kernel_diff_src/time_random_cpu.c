/* XDP: ktime_get_ns, ktime_get_boot_ns, ktime_get_coarse_ns, ktime_get_tai_ns,
 * jiffies64, get_prandom_u32, get_smp_processor_id and get_numa_node_id run; only
 * properties that hold everywhere are recorded (monotonic, non-zero, in range). */
#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 8);
	__type(key, u32);
	__type(value, u64);
} out SEC(".maps");

static __always_inline void put(u32 k, u64 v)
{
	bpf_map_update_elem(&out, &k, &v, BPF_ANY);
}

SEC("xdp")
int time_random_cpu(struct xdp_md *ctx)
{
	u64 t0 = bpf_ktime_get_ns();
	u64 t1 = bpf_ktime_get_ns();
	put(0, t1 >= t0 && t0 > 0);
	u64 b0 = bpf_ktime_get_boot_ns();
	put(1, b0 >= t0);
	u64 c0 = bpf_ktime_get_coarse_ns();
	put(2, c0 > 0);
	u64 tai = bpf_ktime_get_tai_ns();
	put(3, tai > 1000000000ULL * 1000000000ULL / 1000000000ULL);
	u64 j = bpf_jiffies64();
	put(4, j > 0);
	u32 r1 = bpf_get_prandom_u32();
	u32 r2 = bpf_get_prandom_u32();
	u32 r3 = bpf_get_prandom_u32();
	put(5, !(r1 == r2 && r2 == r3));
	u32 cpu = bpf_get_smp_processor_id();
	put(6, cpu < 4096);
	u32 node = bpf_get_numa_node_id();
	put(7, node < 1024);
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
