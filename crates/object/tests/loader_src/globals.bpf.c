#include "common.h"

int counter = 7;                 /* .data */
int second = 9;                  /* .data, offset 4 */
const volatile int limit = 100;  /* .rodata */
__u64 hits[4];                   /* .bss */
int extra SEC(".data.extra") = 42;
static const char msg[] = "hello";

static __noinline int add(int a, int b)
{
    return a + b + msg[1];
}

__noinline int global_helper(int x)
{
    hits[x & 3] += 1;
    return add(x, counter);
}

static __noinline int twice(int x)
{
    return add(x, x);
}

SEC("tracepoint/syscalls/sys_enter_openat")
int on_open(void *ctx)
{
    if (counter > limit)
        return 0;
    counter += extra;
    return global_helper(counter) + twice(3);
}

SEC("socket")
int sock_a(void *ctx)
{
    return twice(limit);
}

SEC("socket")
int sock_b(void *ctx)
{
    return global_helper(1) + second;
}

static long (*bpf_loop)(__u32 nr_loops, void *callback_fn, void *callback_ctx, __u64 flags) = (void *)181;

static int step(__u32 index, void *data)
{
    *(__u64 *)data += index;
    return 0;
}

SEC("xdp")
int looper(struct xdp_md *ctx)
{
    __u64 sum = 0;
    bpf_loop(4, step, &sum, 0);
    return sum == 6 ? 2 : 1;
}

char LICENSE[] SEC("license") = "GPL";
__u32 _version SEC("version") = 0x050a00;
