// SPDX-License-Identifier: GPL-2.0
// execsnoop: every execve() of the traced processes, with the file, the first arguments
// and the result. sys_enter_execve records the event per thread; sys_exit_execve completes
// it with the return value (and the new comm) and sends it to the ring buffer.
//
//   userbpf build examples/execsnoop.bpf.c
//   userbpf trace examples/execsnoop.bpf.o -- sh -c 'ls; date'
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define MAX_ARGS 4
#define ARG_LEN 40

struct execve_enter {
	__u64 common;
	__s32 syscall_nr;
	__u32 pad;
	const char *filename;
	const char *const *argv;
	const char *const *envp;
};

struct execve_exit {
	__u64 common;
	__s32 syscall_nr;
	__u32 pad;
	__s64 ret;
};

struct event {
	__u32 pid;
	__u32 tid;
	__s32 ret;
	__s32 argc;
	char comm[16];
	char filename[96];
	char args[MAX_ARGS][ARG_LEN];
};

struct event *unused_event __attribute__((unused));

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct event);
} pending SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_execve")
int execve_entry(struct execve_enter *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id;
	struct event e = {};

	e.pid = id >> 32;
	e.tid = tid;
	bpf_probe_read_user_str(e.filename, sizeof(e.filename), ctx->filename);
	for (int i = 0; i < MAX_ARGS; i++) {
		const char *arg = 0;

		if (bpf_probe_read_user(&arg, sizeof(arg), &ctx->argv[i]) || !arg)
			break;
		bpf_probe_read_user_str(e.args[i], ARG_LEN, arg);
		e.argc = i + 1;
	}
	bpf_map_update_elem(&pending, &tid, &e, BPF_ANY);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_execve")
int execve_exit(struct execve_exit *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct event *e = bpf_map_lookup_elem(&pending, &tid);

	if (!e)
		return 0;
	e->ret = ctx->ret;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_ringbuf_output(&events, e, sizeof(*e), 0);
	bpf_map_delete_elem(&pending, &tid);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
