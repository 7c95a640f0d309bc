// SPDX-License-Identifier: GPL-2.0
// A small XDP firewall: drops UDP packets to port 53 (DNS) that come from outside
// 10.0.0.0/8, passes everything else, and counts packets per verdict.
//
//   userbpf build examples/xdp_filter.bpf.c
//   userbpf run examples/xdp_filter.bpf.o --program xdp_filter --data-hex <packet>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} verdicts SEC(".maps");

static __always_inline void count(__u32 verdict)
{
	__u64 *n = bpf_map_lookup_elem(&verdicts, &verdict);
	if (n)
		__sync_fetch_and_add(n, 1);
}

SEC("xdp")
int xdp_filter(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip;
	struct udphdr *udp;

	if ((void *)(eth + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
		goto pass;
	ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > data_end || ip->protocol != IPPROTO_UDP)
		goto pass;
	udp = (void *)ip + ip->ihl * 4;
	if ((void *)(udp + 1) > data_end)
		goto pass;
	if (udp->dest == bpf_htons(53) && (bpf_ntohl(ip->saddr) >> 24) != 10) {
		count(XDP_DROP);
		return XDP_DROP;
	}
pass:
	count(XDP_PASS);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
