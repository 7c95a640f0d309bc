#include "common.h"

struct inner {
    __uint(type, 2 /* BPF_MAP_TYPE_ARRAY */);
    __uint(max_entries, 4);
    __type(key, __u32);
    __type(value, __u64);
} inner_a SEC(".maps"), inner_b SEC(".maps");

struct {
    __uint(type, 1 /* BPF_MAP_TYPE_HASH */);
    __uint(max_entries, 1024);
    __type(key, __u32);
    __type(value, __u64);
    __uint(map_flags, 1 /* BPF_F_NO_PREALLOC */);
    __uint(pinning, 1 /* LIBBPF_PIN_BY_NAME */);
} counts SEC(".maps");

struct {
    __uint(type, 12 /* BPF_MAP_TYPE_ARRAY_OF_MAPS */);
    __uint(max_entries, 2);
    __type(key, __u32);
    __array(values, struct inner);
} outer SEC(".maps") = {
    .values = { &inner_a, &inner_b },
};

struct {
    __uint(type, 30 /* BPF_MAP_TYPE_BLOOM_FILTER */);
    __uint(max_entries, 64);
    __uint(value_size, 8);
    __uint(map_extra, 3);
} bloom SEC(".maps");

SEC("xdp")
int count_packets(struct xdp_md *ctx)
{
    __u32 key = ctx->ingress_ifindex;
    __u64 one = 1, *v = bpf_map_lookup_elem(&counts, &key);
    if (v)
        __sync_fetch_and_add(v, 1);
    else
        bpf_map_update_elem(&counts, &key, &one, 0);
    void *in = bpf_map_lookup_elem(&outer, &key);
    if (in) {
        __u64 *x = bpf_map_lookup_elem(in, &key);
        if (x)
            *x += 1;
    }
    return 2;
}

char _license[] SEC("license") = "Dual MIT/GPL";
