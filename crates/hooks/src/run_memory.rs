//! One memory map per hook program, kept from run to run.
//!
//! Takes a prepared program (whose instance's map regions every run must see) and, for
//! JIT runs on contexts shorter than the verifier's, the size of a zeroed pad to copy them
//! into; gives [`RunMemory::run`], which hands a run that map (the map regions only: the run
//! adds its context with [`MemoryMap::with_regions`], which removes it again) and the pad.
//! No memory map is built per run.
//!
//! Hooks are shared between threads (a [`CustomHook`](crate::custom::CustomHook) fires from
//! any thread), so the map sits behind a lock that is only tried: a run that finds it taken
//! (another thread is running the same program) builds a map and a pad of its own, as
//! every run did before. A run that panicked leaves the lock poisoned; the next one rebuilds
//! the map. The map is rebuilt too when maps were added to the instance since.

use std::sync::{Mutex, MutexGuard, TryLockError};

use userbpf_runtime::instance::PreparedProgram;
use userbpf_runtime::memory::MemoryMap;

/// A zeroed buffer that short contexts are copied into (the rest reads as zero).
#[derive(Debug)]
pub(crate) struct Pad {
    buf: Box<[u8]>,
    /// Bytes at the start that may be non-zero (the last context copied in).
    dirty: usize,
}

impl Pad {
    fn new(len: usize) -> Pad {
        Pad {
            buf: vec![0; len].into_boxed_slice(),
            dirty: 0,
        }
    }

    /// `ctx` at the start of the pad, zeros after it, the whole pad (`ctx` must not be
    /// longer than the pad; it is cut to the pad otherwise).
    pub(crate) fn fill(&mut self, ctx: &[u8]) -> &[u8] {
        let n = ctx.len().min(self.buf.len());
        self.buf[..n].copy_from_slice(&ctx[..n]);
        if self.dirty > n {
            self.buf[n..self.dirty].fill(0);
        }
        self.dirty = n;
        &self.buf
    }
}

/// The map regions of one program's instance in a memory map, and the pad.
#[derive(Debug)]
struct Kept {
    memory: MemoryMap<'static>,
    /// Number of the instance's maps when `memory` was built.
    maps: usize,
    pad: Pad,
}

impl Kept {
    fn new(prepared: &PreparedProgram, pad: usize) -> Kept {
        let mut kept = Kept {
            memory: MemoryMap::new(),
            maps: 0,
            pad: Pad::new(pad),
        };
        kept.rebuild(prepared);
        kept
    }

    fn rebuild(&mut self, prepared: &PreparedProgram) {
        let regions = prepared.map_regions();
        // Room for the run's context regions, the interpreter's or JIT's stack and the
        // regions helpers add, so that runs do not reallocate.
        let mut memory = MemoryMap::with_capacity(regions.len() + 8);
        for r in regions.iter() {
            // SAFETY: the map regions belong to the instance's maps, which `prepared`
            // holds; the owner of this `Kept` holds `prepared` for as long as it exists.
            unsafe { memory.add_raw(*r) };
        }
        self.memory = memory;
        self.maps = regions.len();
    }

    fn run<R>(
        &mut self,
        prepared: &PreparedProgram,
        f: impl FnOnce(&mut MemoryMap<'static>, &mut Pad) -> R,
    ) -> R {
        if prepared.map_count() != self.maps {
            self.rebuild(prepared);
        }
        let result = f(&mut self.memory, &mut self.pad);
        if self.memory.regions().len() != self.maps {
            // A region of the run was left behind: it must not outlive the run.
            self.rebuild(prepared);
        }
        result
    }
}

/// A program's memory map and pad, kept from run to run (see the [module docs](self)).
#[derive(Debug)]
pub(crate) struct RunMemory {
    kept: Mutex<Kept>,
    pad: usize,
}

impl RunMemory {
    /// The map regions of `prepared`'s instance, and a pad of `pad` bytes (0: none).
    pub(crate) fn new(prepared: &PreparedProgram, pad: usize) -> RunMemory {
        RunMemory {
            kept: Mutex::new(Kept::new(prepared, pad)),
            pad,
        }
    }

    /// Run `f` with a memory map holding the map regions of `prepared` (the program this
    /// was made for) and the pad. `f` adds its run's own regions only for the run
    /// ([`MemoryMap::with_regions`]).
    pub(crate) fn run<R>(
        &self,
        prepared: &PreparedProgram,
        f: impl FnOnce(&mut MemoryMap<'static>, &mut Pad) -> R,
    ) -> R {
        let mut kept: MutexGuard<'_, Kept> = match self.kept.try_lock() {
            Ok(kept) => kept,
            Err(TryLockError::Poisoned(p)) => {
                // A run panicked: its regions may still be in the map.
                let mut kept = p.into_inner();
                kept.rebuild(prepared);
                self.kept.clear_poison();
                kept
            }
            Err(TryLockError::WouldBlock) => {
                // Another thread runs the program now: a map of this run's own.
                return Kept::new(prepared, self.pad).run(prepared, f);
            }
        };
        kept.run(prepared, f)
    }
}

#[cfg(test)]
mod tests {
    use super::{Pad, RunMemory};
    use userbpf_runtime::instance::{LoadOptions, ObjectInstance, PreparedProgram};
    use userbpf_runtime::memory::{Region, RegionKind};

    fn prepared() -> PreparedProgram {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/syscount.bpf.o");
        let object = userbpf_object::Object::parse(&std::fs::read(path).unwrap()).unwrap();
        let instance = ObjectInstance::load(&object, &LoadOptions::default()).unwrap();
        instance.program("count_syscall").unwrap()
    }

    const STRAY: Region = Region {
        start: 0x1000,
        len: 8,
        writable: false,
        kind: RegionKind::Context,
    };

    /// The map holds the map regions, and only them, whatever the run before did: taken
    /// by another thread, left a region behind, or panicked.
    #[test]
    fn every_run_starts_from_the_map_regions() {
        let prepared = prepared();
        let maps = prepared.map_regions().len();
        assert!(maps > 0);
        let memory = RunMemory::new(&prepared, 4);
        let check = |m: &mut userbpf_runtime::memory::MemoryMap<'static>, pad: &mut Pad| {
            assert_eq!(m.regions(), &prepared.map_regions()[..]);
            assert_eq!(pad.fill(&[]), &[0; 4]);
        };
        memory.run(&prepared, check);
        // A region left behind (SAFETY: never dereferenced: no program runs on the map).
        memory.run(&prepared, |m, _| unsafe { m.add_raw(STRAY) });
        memory.run(&prepared, check);
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            memory.run(&prepared, |m, pad| {
                pad.fill(&[9; 4]);
                // SAFETY: as above.
                unsafe { m.add_raw(STRAY) };
                panic!("a run panics");
            })
        }));
        assert!(panicked.is_err());
        memory.run(&prepared, |m, _| {
            assert_eq!(m.regions().len(), maps);
        });
        // Taken by another thread: this run gets a map of its own.
        let held = memory.kept.lock().unwrap();
        memory.run(&prepared, check);
        drop(held);
        memory.run(&prepared, |m, _| assert_eq!(m.regions().len(), maps));
    }

    #[test]
    fn hooks_stay_send_and_sync() {
        fn shared<T: Send + Sync>() {}
        shared::<crate::custom::CustomHook>();
        shared::<crate::trace_engine::HookRunner>();
    }

    #[test]
    fn pad_reads_zero_after_the_context() {
        let mut pad = Pad::new(16);
        assert_eq!(
            pad.fill(&[1; 10]),
            &[[1; 10].as_slice(), &[0; 6]].concat()[..]
        );
        assert_eq!(
            pad.fill(&[2; 3]),
            &[[2; 3].as_slice(), &[0; 13]].concat()[..]
        );
        assert_eq!(pad.fill(&[]), &[0; 16][..]);
        assert_eq!(pad.fill(&[3; 20]), &[3; 16][..]);
    }
}
