/* XDP: TCP flag statistics in a hash keyed by the flag byte, with a SYN-flood style rule:
 * more than two SYNs from one source in an LRU hash drops the packet. Direct packet
 * reads of the TCP header. */
#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 32);
	__type(key, u8);
	__type(value, u64);
} flag_counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16);
	__type(key, u32);
	__type(value, u32);
} syns SEC(".maps");

SEC("xdp")
int tcp_flags(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct iphdr *ip = ipv4_of(data, data_end);
	if (!ip)
		return XDP_PASS;
	struct tcphdr *tcp = tcp_of(ip, data_end);
	if (!tcp)
		return XDP_PASS;
	u8 flags = ((u8 *)tcp)[13];
	u64 *c = bpf_map_lookup_elem(&flag_counts, &flags);
	if (c) {
		(*c)++;
	} else {
		u64 one = 1;
		bpf_map_update_elem(&flag_counts, &flags, &one, BPF_NOEXIST);
	}
	if (tcp->syn && !tcp->ack) {
		u32 src = ip->saddr;
		u32 *n = bpf_map_lookup_elem(&syns, &src);
		if (n) {
			*n += 1;
			if (*n > 2)
				return XDP_DROP;
		} else {
			u32 one = 1;
			bpf_map_update_elem(&syns, &src, &one, BPF_ANY);
		}
	}
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
