// tc, socket filter and cgroup_skb programs for the context tests.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <linux/in.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

char LICENSE[] SEC("license") = "GPL";

#define IP_OFF ETH_HLEN
#define TTL_OFF (IP_OFF + __builtin_offsetof(struct iphdr, ttl))
#define IPCSUM_OFF (IP_OFF + __builtin_offsetof(struct iphdr, check))
#define UDP_OFF (IP_OFF + sizeof(struct iphdr))
#define UDP_DPORT_OFF (UDP_OFF + __builtin_offsetof(struct udphdr, dest))
#define UDP_CSUM_OFF (UDP_OFF + __builtin_offsetof(struct udphdr, check))

/* Rewrite UDP port 53 to 5353 with skb_store_bytes + l4_csum_replace, decrement TTL with
 * l3_csum_replace, set mark/priority/cb, and return a summary of what the context said. */
SEC("tc")
int tc_rewrite(struct __sk_buff *skb)
{
	skb->mark = skb->mark + 7;
	skb->priority = 3;
	skb->cb[0] = skb->len;
	skb->cb[4] = skb->protocol;
	skb->tc_index = 0x12345;
	skb->queue_mapping = 2;
	if (skb->protocol != bpf_htons(ETH_P_IP))
		return TC_ACT_OK;
	__u8 proto;
	if (bpf_skb_load_bytes(skb, IP_OFF + __builtin_offsetof(struct iphdr, protocol), &proto, 1))
		return TC_ACT_SHOT;
	if (proto != IPPROTO_UDP)
		return TC_ACT_UNSPEC;
	__be16 old_port, new_port = bpf_htons(5353);
	if (bpf_skb_load_bytes(skb, UDP_DPORT_OFF, &old_port, 2))
		return TC_ACT_SHOT;
	if (old_port != bpf_htons(53))
		return 10 + skb->pkt_type + (skb->tc_index << 4);
	bpf_l4_csum_replace(skb, UDP_CSUM_OFF, old_port, new_port, sizeof(new_port));
	bpf_skb_store_bytes(skb, UDP_DPORT_OFF, &new_port, sizeof(new_port), 0);
	__u8 ttl;
	bpf_skb_load_bytes(skb, TTL_OFF, &ttl, 1);
	__u8 new_ttl = ttl - 1;
	bpf_l3_csum_replace(skb, IPCSUM_OFF, bpf_htons(ttl << 8), bpf_htons(new_ttl << 8), 2);
	bpf_skb_store_bytes(skb, TTL_OFF, &new_ttl, 1, 0);
	/* Failing calls: out of range, bad flags. */
	if (bpf_skb_store_bytes(skb, 100000, &ttl, 1, 0) != -14)
		return 1;
	if (bpf_l3_csum_replace(skb, IPCSUM_OFF, 0, 0, 3) != -22)
		return 2;
	if (bpf_skb_load_bytes(skb, skb->len - 1, &old_port, 2) != -14)
		return 3;
	return TC_ACT_OK + (skb->ifindex << 8) + (skb->ingress_ifindex << 16);
}

/* Direct packet access in tc: data/data_end, write the first byte. */
SEC("tc")
int tc_direct(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	void *meta = (void *)(long)skb->data_meta;
	if (data + 20 > data_end)
		return TC_ACT_SHOT;
	((unsigned char *)data)[19] ^= 0x5a;
	skb->cb[1] = data_end - data;
	skb->tstamp = 123456789;
	return (data - meta) + skb->gso_segs + skb->wire_len;
}

SEC("tc")
int tc_redir(struct __sk_buff *skb)
{
	if (skb->cb[2] == 1)
		return bpf_redirect(1, 8); /* bad flags: TC_ACT_SHOT */
	return bpf_redirect(1, BPF_F_INGRESS);
}

/* Socket filter: accept UDP packets (whole length), drop the rest. */
SEC("socket")
int sock_filter(struct __sk_buff *skb)
{
	__u8 proto = 0;
	if (skb->protocol != bpf_htons(ETH_P_IP))
		return skb->pkt_type + 1000;
	if (bpf_skb_load_bytes(skb, __builtin_offsetof(struct iphdr, protocol), &proto, 1))
		return 0;
	skb->cb[0] = proto;
	if (proto == IPPROTO_UDP)
		return skb->len + skb->cb[0];
	return 0;
}

/* cgroup_skb: direct reads, the socket family and addresses. */
SEC("cgroup_skb/ingress")
int cg_skb(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	if (data + sizeof(struct iphdr) > data_end)
		return 0;
	struct iphdr *ip = data;
	skb->mark = skb->family + (ip->daddr == skb->remote_ip4) * 100 + (ip->saddr == skb->local_ip4) * 1000;
	return 1;
}
