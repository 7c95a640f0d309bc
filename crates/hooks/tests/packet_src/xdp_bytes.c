// SPDX-License-Identifier: GPL-2.0
// Golden-test program: bpf_xdp_load_bytes / bpf_xdp_store_bytes (in range, past the end,
// offsets above 0xffff) and bpf_redirect_map through a devmap (hits, misses with each
// fallback action), decided by the packet's length.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u32);
} tx_port SEC(".maps");

/* (call << 24 | result & 0xffff) << 8 | first byte of the buffer -> count */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u64);
} results SEC(".maps");

static __always_inline void note(__u32 call, long r, __u8 first)
{
	__u32 key = (call << 24) | (((__u32)r & 0xffff) << 8) | first;
	__u64 one = 1, *v = bpf_map_lookup_elem(&results, &key);
	if (v)
		__sync_fetch_and_add(v, 1);
	else
		bpf_map_update_elem(&results, &key, &one, BPF_NOEXIST);
}

SEC("xdp")
int xdp_bytes(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 len = (__u64)(data_end - data);
	__u8 buf[16];
	long r;

	__builtin_memset(buf, 0xaa, sizeof(buf));
	/* An offset that lands inside, at the end of, or past short packets. */
	__u32 off = (len * 7) % 96;
	r = bpf_xdp_load_bytes(ctx, off, buf, 16);
	note(1, r, buf[0]);
	if (r == 0) {
		__u8 rev[8];
		for (int i = 0; i < 8; i++)
			rev[i] = buf[7 - i] ^ 0x5a;
		r = bpf_xdp_store_bytes(ctx, off, rev, 8);
		note(2, r, rev[0]);
	}
	/* Past the end: the buffer keeps its bytes. */
	__builtin_memset(buf, 0xbb, sizeof(buf));
	r = bpf_xdp_load_bytes(ctx, len - 4, buf, 8);
	note(3, r, buf[0]);
	/* Offset above 0xffff. */
	r = bpf_xdp_load_bytes(ctx, 0x10000 + (len & 3), buf, 4);
	note(4, r, buf[0]);
	r = bpf_xdp_store_bytes(ctx, 0x10000, buf, 4);
	note(5, r, buf[0]);
	/* The whole packet's last byte, by store then load. */
	if (len >= 1 && len <= 1500) {
		__u8 b = (__u8)len;
		r = bpf_xdp_store_bytes(ctx, len - 1, &b, 1);
		note(6, r, b);
	}

	/* Devmap: slots 0, 1, 3 and 5 hold lo; the others are empty. The fallback action
	 * of a miss is DROP, PASS or TX by length. */
	__u32 slot = len % 8;
	__u64 fallback = (len / 8) % 3 + 1;
	return bpf_redirect_map(&tx_port, slot, fallback);
}

char LICENSE[] SEC("license") = "GPL";
