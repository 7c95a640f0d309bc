// SPDX-License-Identifier: GPL-2.0
// syscount: how many times each syscall was made by the traced processes, by syscall
// number (raw_tracepoint/sys_enter: args[1] is the id). `userbpf trace` prints the counts
// at exit, largest first.
//
//   userbpf build examples/syscount.bpf.c
//   userbpf trace examples/syscount.bpf.o -- ls /
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u64);
} syscalls SEC(".maps");

SEC("raw_tracepoint/sys_enter")
int count_syscall(struct bpf_raw_tracepoint_args *ctx)
{
	__u32 id = ctx->args[1];
	__u64 one = 1, *n;

	n = bpf_map_lookup_elem(&syscalls, &id);
	if (n)
		__sync_fetch_and_add(n, 1);
	else
		bpf_map_update_elem(&syscalls, &id, &one, BPF_NOEXIST);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
