//! Helpers that read the clock, the CPU and randomness.
//!
//! Takes nothing; gives the implementations of ktime_get_ns (5), ktime_get_boot_ns (125),
//! ktime_get_coarse_ns (160), ktime_get_tai_ns (208), jiffies64 (118), get_prandom_u32 (7),
//! get_smp_processor_id (8) and get_numa_node_id (42).

use std::cell::Cell;

/// The kernel's HZ on Debian's x86-64 kernels; jiffies64 counts ticks of 1/HZ seconds.
pub const HZ: u64 = 250;

/// Nanoseconds of a clock.
pub fn clock_ns(clock: libc::clockid_t) -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; clock ids passed here are constants.
    let rc = unsafe { libc::clock_gettime(clock, &mut ts) };
    if rc != 0 {
        return 0;
    }
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// The CPU the calling thread runs on right now (`sched_getcpu`), for trace headers (which
/// say where the thread ran). Programs see [`smp_processor_id`] instead.
pub fn current_cpu() -> u32 {
    // SAFETY: sched_getcpu has no preconditions.
    let cpu = unsafe { libc::sched_getcpu() };
    cpu.max(0) as u32
}

/// `bpf_get_smp_processor_id`: the calling thread's per-CPU map slot
/// ([`crate::maps::cpu::current_cpu`]), so that a program indexing per-CPU data by its CPU
/// agrees with the slot its per-CPU map lookups and `BPF_F_CURRENT_CPU` use, as in the
/// kernel (a user-space thread is not pinned, so the real CPU could differ between the two).
pub fn smp_processor_id() -> u32 {
    crate::maps::cpu::current_cpu()
}

thread_local! {
    static RNG: Cell<u64> = Cell::new({
        let seed = clock_ns(libc::CLOCK_MONOTONIC) ^ (current_cpu() as u64).rotate_left(32);
        seed | 1
    });
}

/// A pseudo-random u32 (xorshift64*, per thread), like the kernel's per-CPU prandom state.
pub fn prandom_u32() -> u32 {
    RNG.with(|s| {
        let mut x = s.get();
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        s.set(x);
        (x.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 32) as u32
    })
}

/// jiffies since boot.
pub fn jiffies64() -> u64 {
    clock_ns(libc::CLOCK_BOOTTIME) / (1_000_000_000 / HZ)
}
