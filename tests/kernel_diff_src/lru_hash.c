/* XDP: an LRU hash of source addresses; each packet also inserts a few keys derived
 * from the payload so that the map fills and evicts. */
#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 64);
	__type(key, u32);
	__type(value, u64);
} recent SEC(".maps");

SEC("xdp")
int lru_hash(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct iphdr *ip = ipv4_of(data, data_end);
	if (!ip)
		return XDP_PASS;
	u32 key = bpf_ntohl(ip->saddr);
	u64 *seen = bpf_map_lookup_elem(&recent, &key);
	if (seen) {
		(*seen)++;
		return XDP_DROP;
	}
	u64 one = 1;
	bpf_map_update_elem(&recent, &key, &one, BPF_NOEXIST);
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
