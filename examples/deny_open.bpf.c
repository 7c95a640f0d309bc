// SPDX-License-Identifier: GPL-2.0
// A deny policy: opening any file under DENY_DIR fails with EACCES, without the syscall
// running (bpf_override_return on sys_enter_openat). Each denial is counted and logged.
//
//   userbpf build examples/deny_open.bpf.c [-D 'DENY_DIR="/srv/secret/"']
//   userbpf trace examples/deny_open.bpf.o -- cat /tmp/userbpf-denied/file
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#ifndef DENY_DIR
#define DENY_DIR "/tmp/userbpf-denied/"
#endif
#define PREFIX_LEN 64

/* Read-only configuration (.rodata): the directory and the errno. */
const volatile char deny_dir[PREFIX_LEN] = DENY_DIR;
const volatile int deny_errno = 13; /* EACCES */

struct openat_enter {
	__u64 common;
	__s32 syscall_nr;
	__u32 pad;
	__u64 dfd;
	const char *filename;
	__u64 flags;
	__u64 mode;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} denied SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_openat")
int deny_openat(struct openat_enter *ctx)
{
	char path[PREFIX_LEN];
	__u32 zero = 0;
	__u64 *count;

	if (bpf_probe_read_user_str(path, sizeof(path), ctx->filename) <= 0)
		return 0;
	for (int i = 0; i < PREFIX_LEN; i++) {
		char c = deny_dir[i];

		if (c == 0)
			break;
		if (path[i] != c)
			return 0;
	}
	bpf_override_return((void *)ctx, -deny_errno);
	count = bpf_map_lookup_elem(&denied, &zero);
	if (count)
		__sync_fetch_and_add(count, 1);
	bpf_printk("denied open of %s", path);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
