/* suite.h: what the verifier suite's C files share (no libbpf headers needed).
 *
 * Each case is one program: a function in a SEC("...") section, usually
 *
 *   SEC("xdp") __success __naked void name(void) { asm volatile ("..." ::: __clobber_all); }
 *
 * annotated with the expectation, which clang records as BTF DECL_TAG records on the
 * function (compile with -g); the harness (../suite_c.rs) reads them back:
 *
 *   __success                   the kernel's verifier accepts the program
 *   __failure                   it rejects the program
 *   __msg("text")               our rejection message contains text (may repeat)
 *   __kernel_differs("why")     the running kernel gives the other verdict, for this reason
 *   __userbpf_differs("why")    userbpf gives the other verdict: a known bug of ours
 */
#ifndef USERBPF_SUITE_H
#define USERBPF_SUITE_H

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;
typedef signed char s8;
typedef short s16;
typedef int s32;
typedef long long s64;

#define SEC(name) __attribute__((section(name), used))
#define __naked __attribute__((naked))
#define __noinline __attribute__((noinline))
#define __used __attribute__((used))

#define __tag(text) __attribute__((btf_decl_tag("suite:" text)))
#define __success __tag("success")
#define __failure __tag("failure")
#define __msg(text) __tag("msg=" text)
#define __kernel_differs(why) __tag("kernel_differs=" why)
#define __userbpf_differs(why) __tag("userbpf_differs=" why)

/* Inline asm operands: helpers by number, maps and subprograms by address, constants. */
#define __imm(name) [name] "i"(name)
#define __imm_addr(name) [name] "i"(&name)
#define __imm_const(name, expr) [name] "i"(expr)
#define __clobber_all "r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9", "memory"

/* One case in one line: section, expectation, name, asm text, then its input operands. */
#define CASE(sec, expect, name, body, ...) \
	SEC(sec) expect __naked void name(void) \
	{ \
		asm volatile (body ::__VA_ARGS__ : __clobber_all); \
	}

/* BTF-defined maps (.maps). */
#define __uint(name, val) int(*name)[val]
#define __type(name, val) typeof(val) *name

#define MAP_HASH 1
#define MAP_ARRAY 2
#define MAP_PROG_ARRAY 3
#define MAP_PERCPU_ARRAY 6
#define MAP_QUEUE 22
#define MAP_RINGBUF 27
#define BPF_F_RDONLY_PROG (1U << 7)
#define BPF_F_WRONLY_PROG (1U << 8)

/* Helpers, by the kernel's number (enum bpf_func_id). */
static void *(*bpf_map_lookup_elem)(void *map, const void *key) = (void *)1;
static long (*bpf_map_update_elem)(void *map, const void *key, const void *value, u64 flags) = (void *)2;
static long (*bpf_map_delete_elem)(void *map, const void *key) = (void *)3;
static long (*bpf_probe_read)(void *dst, u32 size, const void *src) = (void *)4;
static u64 (*bpf_ktime_get_ns)(void) = (void *)5;
static long (*bpf_trace_printk)(const char *fmt, u32 fmt_size, ...) = (void *)6;
static u32 (*bpf_get_prandom_u32)(void) = (void *)7;
static u32 (*bpf_get_smp_processor_id)(void) = (void *)8;
static long (*bpf_skb_store_bytes)(void *skb, u32 off, const void *from, u32 len, u64 flags) = (void *)9;
static long (*bpf_tail_call)(void *ctx, void *prog_array, u32 index) = (void *)12;
static u64 (*bpf_get_current_pid_tgid)(void) = (void *)14;
static long (*bpf_get_current_comm)(void *buf, u32 size) = (void *)16;
static long (*bpf_redirect)(u32 ifindex, u64 flags) = (void *)23;
static long (*bpf_perf_event_output)(void *ctx, void *map, u64 flags, void *data, u64 size) = (void *)25;
static long (*bpf_skb_load_bytes)(const void *skb, u32 off, void *to, u32 len) = (void *)26;
static long (*bpf_csum_diff)(void *from, u32 from_size, void *to, u32 to_size, u32 seed) = (void *)28;
static long (*bpf_xdp_adjust_head)(void *xdp, int delta) = (void *)44;
static long (*bpf_probe_read_str)(void *dst, u32 size, const void *src) = (void *)45;
static long (*bpf_xdp_adjust_meta)(void *xdp, int delta) = (void *)54;
static long (*bpf_map_push_elem)(void *map, const void *value, u64 flags) = (void *)87;
static long (*bpf_map_pop_elem)(void *map, void *value) = (void *)88;
static long (*bpf_probe_read_kernel)(void *dst, u32 size, const void *src) = (void *)113;
static long (*bpf_ringbuf_output)(void *ringbuf, void *data, u64 size, u64 flags) = (void *)130;
static void *(*bpf_ringbuf_reserve)(void *ringbuf, u64 size, u64 flags) = (void *)131;
static void (*bpf_ringbuf_submit)(void *data, u64 flags) = (void *)132;
static void (*bpf_ringbuf_discard)(void *data, u64 flags) = (void *)133;
static long (*bpf_for_each_map_elem)(void *map, void *callback, void *ctx, u64 flags) = (void *)164;
static long (*bpf_loop)(u32 nr_loops, void *callback, void *ctx, u64 flags) = (void *)181;

char _license[] SEC("license") = "GPL";

#endif
