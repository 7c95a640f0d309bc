// SPDX-License-Identifier: GPL-2.0
/* uprobe + uretprobe pair on add_numbers() of examples/uprobe_target.c: one ring buffer
 * record at each call (the two arguments) and at each return (the return value), with
 * the thread and the probed function's address (bpf_get_func_ip).
 *
 *   cc -O1 -pthread -o uprobe_target examples/uprobe_target.c
 *   PATH=.:$PATH userbpf trace examples/uprobe_args.bpf.o -- uprobe_target 3 2
 *
 * "uprobe_target" has no '/': like libbpf, userbpf looks for it in PATH.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

/* x86-64 struct pt_regs */
struct regs {
	unsigned long r15, r14, r13, r12, bp, bx, r11, r10, r9, r8, ax, cx, dx, si, di, orig_ax,
		ip, cs, flags, sp, ss;
};

struct event {
	__u32 pid;
	__u32 tid;
	__u32 is_return;
	__u32 pad;
	__s64 a;
	__s64 b;
	__s64 ret;
	__u64 func_ip;
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 16);
} events SEC(".maps");

static __always_inline int emit(struct regs *ctx, __u32 is_return)
{
	struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	__u64 id = bpf_get_current_pid_tgid();

	if (!e)
		return 0;
	e->pid = id >> 32;
	e->tid = (__u32)id;
	e->is_return = is_return;
	e->pad = 0;
	e->a = is_return ? 0 : ctx->di;
	e->b = is_return ? 0 : ctx->si;
	e->ret = is_return ? ctx->ax : 0;
	e->func_ip = bpf_get_func_ip(ctx);
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("uprobe/uprobe_target:add_numbers")
int add_entry(struct regs *ctx)
{
	return emit(ctx, 0);
}

SEC("uretprobe/uprobe_target:add_numbers")
int add_return(struct regs *ctx)
{
	return emit(ctx, 1);
}

char LICENSE[] SEC("license") = "GPL";
