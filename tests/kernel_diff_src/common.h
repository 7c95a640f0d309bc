/* Shared includes and packet-parsing helpers of the kernel differential test programs. */
#ifndef KDIFF_COMMON_H
#define KDIFF_COMMON_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <linux/tcp.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

typedef __u8 u8;
typedef __u16 u16;
typedef __u32 u32;
typedef __u64 u64;
typedef __s64 s64;

/* An Ethernet + IPv4 packet between data and data_end: the IP header, or NULL. */
static __always_inline struct iphdr *ipv4_of(void *data, void *data_end)
{
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > data_end)
		return 0;
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return 0;
	struct iphdr *ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > data_end)
		return 0;
	if (ip->ihl != 5)
		return 0;
	return ip;
}

/* The UDP header following a 20-byte IPv4 header, or NULL. */
static __always_inline struct udphdr *udp_of(struct iphdr *ip, void *data_end)
{
	if (ip->protocol != IPPROTO_UDP)
		return 0;
	struct udphdr *udp = (void *)(ip + 1);
	if ((void *)(udp + 1) > data_end)
		return 0;
	return udp;
}

/* The TCP header following a 20-byte IPv4 header, or NULL. */
static __always_inline struct tcphdr *tcp_of(struct iphdr *ip, void *data_end)
{
	if (ip->protocol != IPPROTO_TCP)
		return 0;
	struct tcphdr *tcp = (void *)(ip + 1);
	if ((void *)(tcp + 1) > data_end)
		return 0;
	return tcp;
}

struct flow {
	u32 saddr;
	u32 daddr;
	u16 sport;
	u16 dport;
	u8 proto;
	u8 pad[3];
};

#endif
