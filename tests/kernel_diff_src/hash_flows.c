/* XDP: a hash of flows keyed by the 5-tuple: NOEXIST insert, EXIST update, lookup,
 * delete, and the error numbers of each flag on present and absent keys. */
#include "common.h"

struct flow_stats {
	u64 packets;
	u64 bytes;
	s64 last_err;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4);
	__type(key, struct flow);
	__type(value, struct flow_stats);
} flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8);
	__type(key, u32);
	__type(value, s64);
} results SEC(".maps");

static __always_inline void note(u32 k, s64 v)
{
	bpf_map_update_elem(&results, &k, &v, BPF_ANY);
}

SEC("xdp")
int hash_flows(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct iphdr *ip = ipv4_of(data, data_end);
	if (!ip)
		return XDP_PASS;
	struct flow f = {};
	f.saddr = ip->saddr;
	f.daddr = ip->daddr;
	f.proto = ip->protocol;
	struct udphdr *udp = udp_of(ip, data_end);
	if (udp) {
		f.sport = udp->source;
		f.dport = udp->dest;
	}
	struct flow_stats *st = bpf_map_lookup_elem(&flows, &f);
	if (st) {
		st->packets++;
		st->bytes += data_end - data;
		struct flow_stats copy = *st;
		copy.last_err = bpf_map_update_elem(&flows, &f, &copy, BPF_NOEXIST);
		note(1, copy.last_err);
		note(2, bpf_map_update_elem(&flows, &f, &copy, BPF_EXIST));
	} else {
		struct flow_stats init = { .packets = 1, .bytes = data_end - data };
		init.last_err = bpf_map_update_elem(&flows, &f, &init, BPF_EXIST);
		note(3, init.last_err);
		note(4, bpf_map_update_elem(&flows, &f, &init, BPF_NOEXIST));
	}
	/* A flow with port 9 is deleted after it is counted; deleting twice gives -ENOENT. */
	if (udp && udp->dest == bpf_htons(9)) {
		note(5, bpf_map_delete_elem(&flows, &f));
		note(6, bpf_map_delete_elem(&flows, &f));
	}
	/* The map holds 4 flows: a fifth new one gives -E2BIG. */
	struct flow probe = f;
	probe.pad[0] = 1;
	struct flow_stats z = {};
	long r = bpf_map_update_elem(&flows, &probe, &z, BPF_NOEXIST);
	note(7, r);
	if (r == 0)
		bpf_map_delete_elem(&flows, &probe);
	return st ? XDP_TX : XDP_PASS;
}

char _license[] SEC("license") = "GPL";
