//! The "CPUs" of per-CPU maps.
//!
//! Takes nothing; gives [`possible_cpus`], the number of value slots per-CPU maps have (the
//! number of CPUs this process may run on, `std::thread::available_parallelism`, fixed at the
//! first call), and [`current_cpu`], the slot the calling thread uses. A user-space thread is
//! not pinned to a CPU, so each thread gets a slot round-robin the first time it asks (or the
//! one a hook sets with [`set_current_cpu`], e.g. one slot per worker thread). Threads beyond
//! the CPU count share slots; programs that update per-CPU values without atomics should then
//! not run on more threads than there are CPUs.

use std::cell::Cell;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

static POSSIBLE: OnceLock<u32> = OnceLock::new();
static NEXT_SLOT: AtomicU32 = AtomicU32::new(0);

thread_local! {
    static SLOT: Cell<Option<u32>> = const { Cell::new(None) };
}

/// Value slots per CPU in per-CPU maps created by this process (at least 1).
pub fn possible_cpus() -> u32 {
    *POSSIBLE.get_or_init(|| {
        std::thread::available_parallelism()
            .map(|n| n.get() as u32)
            .unwrap_or(1)
            .clamp(1, 4096)
    })
}

/// The calling thread's CPU slot, in `0..possible_cpus()`.
pub fn current_cpu() -> u32 {
    SLOT.with(|s| match s.get() {
        Some(c) => c,
        None => {
            let c = NEXT_SLOT.fetch_add(1, Ordering::Relaxed) % possible_cpus();
            s.set(Some(c));
            c
        }
    })
}

/// Make the calling thread use CPU slot `cpu % possible_cpus()`.
pub fn set_current_cpu(cpu: u32) {
    SLOT.with(|s| s.set(Some(cpu % possible_cpus())));
}
