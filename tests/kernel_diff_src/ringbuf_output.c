/* XDP: bpf_ringbuf_output of a packet summary; bpf_ringbuf_query of the available data
 * and the positions (results kept in an array). */
#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 8);
	__type(key, u32);
	__type(value, u64);
} out SEC(".maps");

struct summary {
	u32 len;
	u32 saddr;
	u32 daddr;
	u8 proto;
	u8 first[3];
};

static __always_inline void put(u32 k, u64 v)
{
	bpf_map_update_elem(&out, &k, &v, BPF_ANY);
}

SEC("xdp")
int ringbuf_output(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct summary s = {};
	s.len = data_end - data;
	struct iphdr *ip = ipv4_of(data, data_end);
	if (ip) {
		s.saddr = ip->saddr;
		s.daddr = ip->daddr;
		s.proto = ip->protocol;
	}
	if (data + 3 <= data_end)
		__builtin_memcpy(s.first, data, 3);
	long r = bpf_ringbuf_output(&events, &s, sizeof(s), 0);
	put(0, r);
	put(1, bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA));
	put(2, bpf_ringbuf_query(&events, BPF_RB_RING_SIZE));
	put(3, bpf_ringbuf_query(&events, BPF_RB_CONS_POS));
	put(4, bpf_ringbuf_query(&events, BPF_RB_PROD_POS));
	/* A record larger than the ring cannot be written. */
	return r == 0 ? XDP_PASS : XDP_DROP;
}

char _license[] SEC("license") = "GPL";
