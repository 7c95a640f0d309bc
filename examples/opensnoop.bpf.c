// SPDX-License-Identifier: GPL-2.0
// opensnoop: every openat() of the traced processes, with the path, flags and result.
// sys_enter_openat remembers the arguments per thread; sys_exit_openat sends one ring
// buffer event {pid, tid, comm, flags, ret, path}.
//
//   userbpf build examples/opensnoop.bpf.c
//   userbpf trace examples/opensnoop.bpf.o -- ls /
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define PATH_MAX_LEN 256

/* The records of tracefs events/syscalls/sys_{enter,exit}_openat/format. */
struct openat_enter {
	__u64 common;
	__s32 syscall_nr;
	__u32 pad;
	__u64 dfd;
	const char *filename;
	__u64 flags;
	__u64 mode;
};

struct openat_exit {
	__u64 common;
	__s32 syscall_nr;
	__u32 pad;
	__s64 ret;
};

struct args {
	const char *filename;
	__u64 flags;
};

struct event {
	__u32 pid;
	__u32 tid;
	char comm[16];
	__s32 flags;
	__s32 ret;
	char path[PATH_MAX_LEN];
};

/* Puts struct event in the BTF, so `userbpf trace` decodes the records. */
struct event *unused_event __attribute__((unused));

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, struct args);
} start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_openat")
int openat_entry(struct openat_enter *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct args a = { .filename = ctx->filename, .flags = ctx->flags };

	bpf_map_update_elem(&start, &tid, &a, BPF_ANY);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_openat")
int openat_exit(struct openat_exit *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id;
	struct args *a = bpf_map_lookup_elem(&start, &tid);
	struct event *e;

	if (!a)
		return 0;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (e) {
		e->pid = id >> 32;
		e->tid = tid;
		e->flags = a->flags;
		e->ret = ctx->ret;
		bpf_get_current_comm(e->comm, sizeof(e->comm));
		bpf_probe_read_user_str(e->path, sizeof(e->path), a->filename);
		bpf_ringbuf_submit(e, 0);
	}
	bpf_map_delete_elem(&start, &tid);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
