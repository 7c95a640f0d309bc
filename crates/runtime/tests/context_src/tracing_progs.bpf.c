// Tracing programs for the context tests.
#include <linux/bpf.h>
#include <linux/ptrace.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

SEC("raw_tracepoint/sys_enter")
int raw_tp(struct bpf_raw_tracepoint_args *ctx)
{
	return ctx->args[0] * 3 + ctx->args[1];
}

struct pt_regs_x86 {
	unsigned long r15, r14, r13, r12, bp, bx, r11, r10, r9, r8, ax, cx, dx, si, di;
	unsigned long orig_ax, ip, cs, flags, sp, ss;
};

SEC("kprobe/do_sys_open")
int kprobe_args(struct pt_regs_x86 *regs)
{
	return regs->di * 2 + regs->si + (regs->ip == 0x1000);
}

struct open_record {
	unsigned long long common;
	int syscall_nr;
	int pad;
	unsigned long long dfd;
	unsigned long long filename;
};

SEC("tracepoint/syscalls/sys_enter_openat")
int tp_openat(struct open_record *rec)
{
	return rec->syscall_nr + rec->dfd;
}
