// SPDX-License-Identifier: GPL-2.0
// syslat: a log2 histogram of syscall latency in nanoseconds (raw_tracepoint sys_enter
// and sys_exit). `userbpf trace` prints `latency_hist` as bars like bpftrace's hist().
//
//   userbpf build examples/syslat.bpf.c
//   userbpf trace examples/syslat.bpf.o -- ls /
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define SLOTS 64

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, __u64);
} start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} latency_hist SEC(".maps");

static __always_inline __u32 log2l(__u64 v)
{
	__u32 r = 0;

	for (int i = 0; i < 64 && v > 1; i++) {
		v >>= 1;
		r++;
	}
	return r;
}

SEC("raw_tracepoint/sys_enter")
int sys_enter(struct bpf_raw_tracepoint_args *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u64 ts = bpf_ktime_get_ns();

	bpf_map_update_elem(&start, &tid, &ts, BPF_ANY);
	return 0;
}

SEC("raw_tracepoint/sys_exit")
int sys_exit(struct bpf_raw_tracepoint_args *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u64 *ts = bpf_map_lookup_elem(&start, &tid);
	__u32 slot;
	__u64 *n;

	if (!ts)
		return 0;
	slot = log2l(bpf_ktime_get_ns() - *ts);
	if (slot >= SLOTS)
		slot = SLOTS - 1;
	n = bpf_map_lookup_elem(&latency_hist, &slot);
	if (n)
		__sync_fetch_and_add(n, 1);
	bpf_map_delete_elem(&start, &tid);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
