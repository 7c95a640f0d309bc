/* The benchmark kernels, shared by the eBPF programs (jit.bpf.c, clang-19 -O2 -target bpf)
 * and the native harness (native.c, gcc -O2). Each takes the packet [data, end) and, where
 * its input exceeds a test-run packet, an array-map value `m`. Loops carry `cond_break`
 * (the kernel's may_goto) for the verifier; natively it is nothing. */
#ifndef KERNELS_H
#define KERNELS_H

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;

#define HALF (1u << 20)        /* 1 MiB copied, compared */
#define BIG (2u * HALF)        /* value size of the big map */
#define N_LOG (1024u)          /* u64 values for log2 */
#define SWITCH_LEN (16u * 1024) /* bytes for the switch loop */
#define N_COUNTERS 64u
#define COUNTER_ROUNDS 256u

#ifdef __bpf__
#define cond_break                                                                     \
	({                                                                             \
		__label__ l_break, l_continue;                                         \
		asm volatile goto("may_goto %l[l_break]" :::: l_break);                \
		goto l_continue;                                                       \
	l_break:                                                                       \
		break;                                                                 \
	l_continue:;                                                                   \
	})
#define INLINE static __attribute__((always_inline)) inline
/* Keeps clang from turning an index into a pointer induction the verifier cannot bound. */
#define opaque(x) asm volatile("" : "+r"(x))
#else
#define cond_break
#define opaque(x)
#define INLINE static inline
#endif

/* Loop parameters come from the packet ("params": u32 limit, first candidate, first divisor,
 * zero), so that the verifier cannot follow loop counters from constants and its may_goto
 * states converge. */
INLINE u32 param(u8 *data, u8 *end, u32 i)
{
	if (data + 16 > end)
		return 0;
	return ((u32 *)data)[i & 3];
}

/* Primes below the limit, by trial division. */
INLINE u64 k_primes(u8 *data, u8 *end)
{
	if (data + 16 > end)
		return 0;
	u32 limit = ((u32 *)data)[0], first = ((u32 *)data)[1], two = ((u32 *)data)[2];
	u32 count = 0;
	for (u32 n = first; n < limit; n++) {
		cond_break;
		u32 prime = 1;
		for (u32 d = two; d * d <= n; d++) {
			cond_break;
			if (n % d == 0) {
				prime = 0;
				break;
			}
		}
		count += prime;
	}
	return count;
}

/* Copy the first HALF bytes of m to the second half, byte by byte. */
INLINE u64 k_copy(u8 *m, u32 zero)
{
	for (u32 i = zero; i < HALF; i++) {
		cond_break;
		opaque(i);
		if (i >= HALF)
			break;
		m[HALF + i] = m[i];
	}
	return m[BIG - 1];
}

/* strcmp of the two NUL-terminated halves of m. */
INLINE u64 k_strcmp(u8 *m, u32 zero)
{
	for (u32 i = zero; i < HALF; i++) {
		cond_break;
		opaque(i);
		if (i >= HALF)
			break;
		u8 a = m[i], b = m[HALF + i];
		if (a != b)
			return (u64)(int)(a - b);
		if (a == 0)
			return 0;
	}
	return 0;
}

/* Sum of floor(log2(v)) over N_LOG u64 values of m (branchy binary search). */
INLINE u64 k_log2(u8 *m, u32 zero)
{
	u64 sum = 0;
	for (u32 i = zero; i < N_LOG; i++) {
		cond_break;
		opaque(i);
		if (i >= N_LOG)
			break;
		u64 v = ((u64 *)m)[i];
		u64 r = 0;
		if (v >> 32) { v >>= 32; r += 32; }
		if (v >> 16) { v >>= 16; r += 16; }
		if (v >> 8) { v >>= 8; r += 8; }
		if (v >> 4) { v >>= 4; r += 4; }
		if (v >> 2) { v >>= 2; r += 2; }
		if (v >> 1) { r += 1; }
		sum += r;
	}
	return sum;
}

/* A 16-way switch on every byte of SWITCH_LEN bytes of m. */
INLINE u64 k_switch(u8 *m, u32 zero)
{
	u64 acc = 1;
	for (u32 i = zero; i < SWITCH_LEN; i++) {
		cond_break;
		opaque(i);
		if (i >= SWITCH_LEN)
			break;
		u8 b = m[i];
		switch (b & 15) {
		case 0: acc += b; break;
		case 1: acc ^= b << 3; break;
		case 2: acc = acc * 3 + 1; break;
		case 3: acc -= b; break;
		case 4: acc += acc >> 7; break;
		case 5: acc ^= 0x5a5a; break;
		case 6: acc = (acc << 1) | (acc >> 63); break;
		case 7: acc += i; break;
		case 8: acc |= b; break;
		case 9: acc &= ~(u64)b; break;
		case 10: acc += 0x1234567; break;
		case 11: acc ^= acc >> 13; break;
		case 12: acc = acc * 5; break;
		case 13: acc -= i * 3; break;
		case 14: acc += b * b; break;
		default: acc ^= 0xffff; break;
		}
	}
	return acc;
}

/* The sum of the two u64 at the start of the packet. */
INLINE u64 k_sum2(u8 *data, u8 *end)
{
	if (data + 16 > end)
		return 0;
	return ((u64 *)data)[0] + ((u64 *)data)[1];
}

/* Ethernet / IPv4 / TCP with bounds checks: a verdict from the ports and flags. */
INLINE u64 k_parse(u8 *data, u8 *end)
{
	u8 *p = data;
	if (p + 14 > end)
		return 1;
	u16 proto = (u16)(p[12] << 8 | p[13]);
	if (proto != 0x0800)
		return 2;
	p += 14;
	if (p + 20 > end)
		return 1;
	u8 vihl = p[0];
	if (vihl >> 4 != 4)
		return 1;
	u32 ihl = (vihl & 15) * 4;
	if (ihl < 20)
		return 1;
	if (p[9] != 6)
		return 2;
	u32 src = *(u32 *)(p + 12), dst = *(u32 *)(p + 16);
	if (ihl > 60)
		return 1;
	p += ihl;
	if (p + 20 > end)
		return 1;
	u16 sport = (u16)(p[0] << 8 | p[1]), dport = (u16)(p[2] << 8 | p[3]);
	u8 flags = p[13];
	if (dport == 22 && (flags & 0x02))
		return 1;
	if ((src ^ dst) == 0)
		return 1;
	return 2 + ((sport ^ dport ^ flags) & 1);
}

#endif
