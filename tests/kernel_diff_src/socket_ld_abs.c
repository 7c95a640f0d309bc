/* socket filter: legacy packet loads (BPF_LD_ABS/IND via load_byte/half/word) and a queue
 * of protocols; accept TCP, drop the rest. */
#include "common.h"

unsigned long long load_byte(void *skb, unsigned long long off) asm("llvm.bpf.load.byte");
unsigned long long load_half(void *skb, unsigned long long off) asm("llvm.bpf.load.half");
unsigned long long load_word(void *skb, unsigned long long off) asm("llvm.bpf.load.word");

struct {
	__uint(type, BPF_MAP_TYPE_QUEUE);
	__uint(max_entries, 8);
	__type(value, u32);
} seen SEC(".maps");

SEC("socket")
int socket_ld_abs(struct __sk_buff *skb)
{
	u32 proto = load_byte(skb, 9);
	u32 ver = load_byte(skb, 0) >> 4;
	u32 dst = load_word(skb, 16);
	u32 dport = load_half(skb, 22);
	u32 rec = proto << 24 | ver << 16 | (dst & 0xff) << 8 | (dport & 0xff);
	bpf_map_push_elem(&seen, &rec, BPF_EXIST);
	return proto == IPPROTO_TCP ? -1 : 0;
}

char _license[] SEC("license") = "GPL";
