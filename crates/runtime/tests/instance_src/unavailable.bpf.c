// Helpers user space cannot provide are refused when the program is prepared.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("kprobe/do_sys_open")
int task(void *ctx)
{
	return bpf_get_current_task() != 0;
}

SEC("kprobe/do_sys_open")
int write_user(void *ctx)
{
	char buf[4] = {};
	return bpf_probe_write_user((void *)0x1000, buf, sizeof(buf));
}

SEC("xdp")
int fine(void *ctx)
{
	return bpf_get_prandom_u32() & 0;
}

char LICENSE[] SEC("license") = "GPL";
