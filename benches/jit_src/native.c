/* The native side of the JIT benchmark: the same kernels, gcc -O2, as a shared library.
 * Every entry point takes (packet, packet length, map value). */
#include "kernels.h"

u64 n_primes(u8 *d, u64 len, u8 *m) { return k_primes(d, d + len); }
u64 n_copy(u8 *d, u64 len, u8 *m) { return k_copy(m, param(d, d + len, 3)); }
u64 n_strcmp(u8 *d, u64 len, u8 *m) { return k_strcmp(m, param(d, d + len, 3)); }
u64 n_log2(u8 *d, u64 len, u8 *m) { return k_log2(m, param(d, d + len, 3)); }
u64 n_switch(u8 *d, u64 len, u8 *m) { return k_switch(m, param(d, d + len, 3)); }
u64 n_sum2(u8 *d, u64 len, u8 *m) { return k_sum2(d, d + len); }
u64 n_constant(u8 *d, u64 len, u8 *m) { return 2; }
u64 n_parse(u8 *d, u64 len, u8 *m) { return k_parse(d, d + len); }

u64 n_counter(u8 *d, u64 len, u8 *m)
{
	u64 *counters = (u64 *)m;
	u64 total = 0;
	for (u32 i = param(d, d + len, 3); i < COUNTER_ROUNDS; i++) {
		u32 key = i & (N_COUNTERS - 1);
		u64 *v = &counters[key];
		*v += 1;
		total += *v;
	}
	return total;
}
