/* XDP and socket filter: bpf_get_current_pid_tgid, bpf_get_current_uid_gid and
 * bpf_get_current_comm, which the kernel offers to every program type: a test run executes
 * in the calling thread, so both sides must report the test thread's identity. */
#include "common.h"

struct task_info {
	u64 pid_tgid;
	u64 uid_gid;
	s64 comm_ret;
	char comm[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, u32);
	__type(value, struct task_info);
} tasks SEC(".maps");

static __always_inline void record(u32 k)
{
	struct task_info *t = bpf_map_lookup_elem(&tasks, &k);
	if (!t)
		return;
	t->pid_tgid = bpf_get_current_pid_tgid();
	t->uid_gid = bpf_get_current_uid_gid();
	t->comm_ret = bpf_get_current_comm(t->comm, sizeof(t->comm));
}

SEC("xdp")
int current_task(struct xdp_md *ctx)
{
	record(0);
	return XDP_PASS;
}

SEC("socket")
int current_task_socket(struct __sk_buff *skb)
{
	record(1);
	return 0;
}

char _license[] SEC("license") = "GPL";
