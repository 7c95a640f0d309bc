//! The "CPUs" of per-CPU maps.
//!
//! Takes nothing; gives [`possible_cpus`], the number of value slots per-CPU maps have (the
//! number of CPUs this process may run on, `std::thread::available_parallelism`, fixed at the
//! first call), and [`current_cpu`], the slot the calling thread uses. A user-space thread is
//! not pinned to a CPU, so each thread gets a slot round-robin the first time it asks (or the
//! one a hook sets with [`set_current_cpu`], e.g. one slot per worker thread). Threads beyond
//! the CPU count share slots; programs that update per-CPU values without atomics should then
//! not run on more threads than there are CPUs.
//!
//! This slot is also the program's "current CPU": `bpf_get_smp_processor_id` and
//! `BPF_F_CURRENT_CPU` return it, so a program indexing per-CPU data by its CPU id agrees
//! with the value slot its per-CPU map lookups reach, as in the kernel. [`current_cpu_ptr`]
//! gives the slot's address, for code generators that read it inline.

use std::cell::Cell;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

static POSSIBLE: OnceLock<u32> = OnceLock::new();
static NEXT_SLOT: AtomicU32 = AtomicU32::new(0);

/// [`SLOT`] before the thread's first [`current_cpu`] (slots are below 4096).
const UNSET: u32 = u32::MAX;

thread_local! {
    /// The thread's slot, or [`UNSET`]. A `u32` without a destructor: its address stays
    /// valid, and reading it keeps working, for the whole life of the thread.
    static SLOT: Cell<u32> = const { Cell::new(UNSET) };
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
        UNSET => {
            let c = NEXT_SLOT.fetch_add(1, Ordering::Relaxed) % possible_cpus();
            s.set(c);
            c
        }
        c => c,
    })
}

/// The address of the calling thread's CPU slot (assigned first if it was not yet): a
/// `u32` that holds [`current_cpu`] whenever this thread reads it, also after
/// [`set_current_cpu`]. Valid for the life of the calling thread; only this thread may
/// read it (other threads would see a slot that is not theirs, racing with its changes).
pub fn current_cpu_ptr() -> *const u32 {
    current_cpu();
    SLOT.with(|s| s.as_ptr() as *const u32)
}

/// Make the calling thread use CPU slot `cpu % possible_cpus()`.
pub fn set_current_cpu(cpu: u32) {
    SLOT.with(|s| s.set(cpu % possible_cpus()));
}
