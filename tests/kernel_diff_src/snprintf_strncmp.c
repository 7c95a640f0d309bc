/* XDP: bpf_snprintf of packet fields into a global buffer (.bss) with a format from
 * .rodata (%u %x %d %llx %pI4 %s %c %%), truncation to a small buffer, and bpf_strncmp of
 * the result against constant strings. */
#include "common.h"

char line[96];
char small[8];
s64 results[6];

SEC("xdp")
int snprintf_strncmp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct iphdr *ip = ipv4_of(data, data_end);
	if (!ip)
		return XDP_PASS;
	static const char fmt[] = "len=%u proto=%x ttl=%d id=%llx src=%pI4 %s%c%%";
	u32 saddr = ip->saddr;
	u64 args[] = { (u64)(data_end - data), ip->protocol, -(s64)ip->ttl,
		       0x1234abcdULL, (u64)(long)&saddr, (u64)(long)"tag", 'Z' };
	results[0] = bpf_snprintf(line, sizeof(line), fmt, args, sizeof(args));
	static const char fmt2[] = "%u-%u";
	u64 args2[] = { 123456, 789 };
	results[1] = bpf_snprintf(small, sizeof(small), fmt2, args2, sizeof(args2));
	results[2] = bpf_strncmp(line, 4, "len=");
	results[3] = bpf_strncmp(small, 8, "123456-");
	results[4] = bpf_strncmp(small, 3, "124");
	results[5] = bpf_strncmp(line, 96, "len");
	return results[2] == 0 ? XDP_PASS : XDP_DROP;
}

char _license[] SEC("license") = "GPL";
