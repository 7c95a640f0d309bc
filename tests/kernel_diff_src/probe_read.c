/* tc: bpf_probe_read_kernel and bpf_probe_read_kernel_str copying from the program's own
 * stack, bpf_probe_read_user and _str from a NULL address (-EFAULT, destination zeroed). */
#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 8);
	__type(key, u32);
	__type(value, s64);
} out SEC(".maps");

static __always_inline void put(u32 k, s64 v)
{
	bpf_map_update_elem(&out, &k, &v, BPF_ANY);
}

SEC("tc")
int probe_read(struct __sk_buff *skb)
{
	char src[16] = "hello, kernel";
	u64 word = 0;
	put(0, bpf_probe_read_kernel(&word, sizeof(word), src));
	put(1, word);
	char dst[8];
	put(2, bpf_probe_read_kernel_str(dst, sizeof(dst), src));
	put(3, *(s64 *)dst);
	u64 user = 0x1111;
	put(4, bpf_probe_read_user(&user, sizeof(user), 0));
	put(5, user);
	char ustr[4] = "abc";
	put(6, bpf_probe_read_user_str(ustr, sizeof(ustr), 0));
	put(7, *(u32 *)ustr);
	return TC_ACT_OK;
}

char _license[] SEC("license") = "GPL";
