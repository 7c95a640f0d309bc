/* XDP: longest-prefix-match routing on the destination address (lpm_trie, pre-populated
 * from user space); the matched route's counter is bumped and its action returned. */
#include "common.h"

struct lpm_key {
	u32 prefixlen;
	u32 addr;
};

struct route {
	u32 action;
	u32 hits;
};

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 16);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct lpm_key);
	__type(value, struct route);
} routes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, u64);
} misses SEC(".maps");

SEC("xdp")
int lpm_route(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct iphdr *ip = ipv4_of(data, data_end);
	if (!ip)
		return XDP_PASS;
	struct lpm_key key = { .prefixlen = 32, .addr = ip->daddr };
	struct route *r = bpf_map_lookup_elem(&routes, &key);
	if (!r) {
		u32 zero = 0;
		u64 *m = bpf_map_lookup_elem(&misses, &zero);
		if (m)
			(*m)++;
		/* Learn a /24 for the missed destination. */
		struct lpm_key learn = { .prefixlen = 24, .addr = ip->daddr };
		struct route nr = { .action = XDP_TX, .hits = 0 };
		bpf_map_update_elem(&routes, &learn, &nr, BPF_NOEXIST);
		return XDP_DROP;
	}
	__sync_fetch_and_add(&r->hits, 1);
	/* Delete a /8 once a more specific route was hit twice. */
	if (r->hits == 2) {
		struct lpm_key wide = { .prefixlen = 8, .addr = bpf_htonl(0x0a000000) };
		bpf_map_delete_elem(&routes, &wide);
	}
	return r->action;
}

char _license[] SEC("license") = "GPL";
