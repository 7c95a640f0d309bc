#include "common.h"

struct bpf_map_def {
    unsigned int type, key_size, value_size, max_entries, map_flags, inner_map_idx, numa_node;
};

struct bpf_map_def SEC("maps") arr = { .type = 2, .key_size = 4, .value_size = 8, .max_entries = 16 };
struct bpf_map_def SEC("maps") inner = { .type = 2, .key_size = 4, .value_size = 4, .max_entries = 1 };
struct bpf_map_def SEC("maps") outer = { .type = 13, .key_size = 4, .value_size = 4, .max_entries = 8, .inner_map_idx = 1 };

SEC("kprobe/sys_execve")
int probe(void *ctx)
{
    __u32 k = 0;
    __u64 *v = bpf_map_lookup_elem(&arr, &k);
    if (v)
        *v += 1;
    return bpf_map_lookup_elem(&outer, &k) != 0;
}

char _license[] SEC("license") = "GPL";
