//! Verification time and peak memory for every corpus program
//! (`$USERBPF_SHARED/corpus/ebpf-samples`, `invalid/` aside), and, for the programs the
//! kernel loads here (`userbpf_kernel::load_object`), the kernel's `BPF_PROG_LOAD` time in
//! the same run.
//!
//! `cargo bench -p userbpf-verifier --bench verify` (add `-- FILTER` to keep programs whose
//! name contains FILTER).
//!
//! - Our time: the best of several `verify` calls (as many as fit in about 20 ms, 1 to 20).
//! - Peak memory: the highest number of bytes live during one `verify` call above what was
//!   live before it, measured by the counting global allocator of this binary.
//! - Kernel time: the object reduced to this one program is loaded with `load_object`, and
//!   the same object without programs (maps and BTF only) is loaded too; the kernel's time
//!   is the difference of the two (best of 3 each), i.e. the `BPF_PROG_LOAD` call, which the
//!   kernel's verifier dominates; a difference under 1 µs is shown as `noise` and left out
//!   of the comparison. Needs root (or CAP_BPF + CAP_NET_ADMIN + CAP_PERFMON).

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use userbpf_object::{Object, ProgramSpec, ProgramType};
use userbpf_verifier::object_input::{input_for, map_infos};
use userbpf_verifier::{verify, ProgType};

/// The system allocator, counting the bytes live and their highest value.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded unchanged to `System`, which upholds `GlobalAlloc`'s
// contract; the counters are only bookkeeping on the side.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's `layout` obligations are passed on to `System`.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as `alloc`.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            let now = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from this allocator (hence `System`) with `layout`.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `ptr` came from this allocator with `layout`; `new_size` is the caller's.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size >= layout.size() {
                let grow = new_size - layout.size();
                let now = LIVE.fetch_add(grow, Ordering::Relaxed) + grow;
                PEAK.fetch_max(now, Ordering::Relaxed);
            } else {
                LIVE.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        p
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

fn objects(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = rd.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            if p.file_name().is_some_and(|n| n != "invalid") {
                objects(&p, out);
            }
        } else if p.extension().is_some_and(|e| e == "o") {
            out.push(p);
        }
    }
}

/// The program type, as the corpus test gives it: sections libbpf does not know are tc
/// classifiers (their loaders), or XDP for Cilium's `*xdp*` objects.
fn prog_type(p: &ProgramSpec, path: &str) -> ProgType {
    match userbpf_verifier::object_input::section_prog_type(p) {
        ProgramType::Unspecified if path.contains("xdp") => ProgType::Xdp,
        ProgramType::Unspecified => ProgType::SchedCls,
        _ => userbpf_verifier::object_input::prog_type_of(p),
    }
}

struct Ours {
    accepted: bool,
    time: Duration,
    peak: usize,
}

fn measure_ours(p: &ProgramSpec, maps: &[userbpf_verifier::MapInfo], pt: ProgType) -> Ours {
    let mut input = input_for(p, maps);
    input.prog_type = pt;
    let base = LIVE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let start = Instant::now();
    let result = verify(&input);
    let first = start.elapsed();
    let accepted = result.is_ok();
    drop(result);
    let peak = PEAK.load(Ordering::Relaxed).saturating_sub(base);
    let reps = (Duration::from_millis(20).as_nanos() / first.as_nanos().max(1)).clamp(1, 20);
    let mut best = first;
    for _ in 1..reps {
        let start = Instant::now();
        let r = verify(&input);
        best = best.min(start.elapsed());
        drop(r);
    }
    Ours {
        accepted,
        time: best,
        peak,
    }
}

/// Best time of 3 `load_object` calls of `object`, or `None` when the kernel refuses it.
fn kernel_load(object: &Object) -> Option<Duration> {
    let mut best: Option<Duration> = None;
    for _ in 0..3 {
        let start = Instant::now();
        let loaded = userbpf_kernel::load_object(object).ok()?;
        let t = start.elapsed();
        drop(loaded);
        best = Some(best.map_or(t, |b| b.min(t)));
    }
    best
}

fn main() {
    let filter = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .unwrap_or_default();
    let samples = Path::new(env!("USERBPF_SHARED")).join("corpus/ebpf-samples");
    let mut files = Vec::new();
    objects(&samples, &mut files);
    if files.is_empty() {
        println!(
            "corpus not found at {}: nothing to measure",
            samples.display()
        );
        return;
    }
    let kernel = match userbpf_kernel::available() {
        Ok(()) => true,
        Err(e) => {
            println!("kernel column empty: {e}");
            false
        }
    };
    println!(
        "{:<64} {:>7} {:>4} {:>10} {:>10} {:>7} {:>9}",
        "program", "insns", "ok", "our µs", "kernel µs", "ratio", "peak KiB"
    );
    let (mut total, mut accepted, mut compared, mut faster, mut noise) = (0, 0, 0, 0, 0);
    let mut slower = Vec::new();
    let mut largest: Option<(String, usize, usize)> = None;
    let mut max_peak: (String, usize) = (String::new(), 0);
    for f in &files {
        let rel = f.strip_prefix(&samples).unwrap_or(f).display().to_string();
        let Ok(bytes) = std::fs::read(f) else {
            continue;
        };
        let Ok(object) = Object::parse(&bytes) else {
            continue;
        };
        let maps = map_infos(&object);
        // The object without programs: maps and BTF, subtracted from each program's load.
        let base = kernel
            .then(|| {
                let mut o = object.clone();
                o.programs.clear();
                kernel_load(&o)
            })
            .flatten();
        for p in &object.programs {
            let name = format!("{rel} {}", p.section);
            if !name.contains(&filter) {
                continue;
            }
            let insns = p.insns.insns().len();
            let ours = measure_ours(p, &maps, prog_type(p, &rel));
            total += 1;
            accepted += usize::from(ours.accepted);
            let theirs = base.and_then(|b| {
                let mut o = object.clone();
                o.programs
                    .retain(|q| q.name == p.name && q.section == p.section);
                kernel_load(&o).map(|t| t.saturating_sub(b))
            });
            // Map creation and freeing vary more than a small program's load: a difference
            // under 1 µs is noise, not a measurement.
            let noisy = theirs.is_some_and(|t| t < Duration::from_micros(1));
            noise += usize::from(noisy);
            let theirs = theirs.filter(|_| !noisy);
            let our_us = ours.time.as_secs_f64() * 1e6;
            let (k, ratio) = match theirs {
                Some(t) => {
                    let k = t.as_secs_f64() * 1e6;
                    (format!("{k:.1}"), format!("{:.3}", our_us / k.max(0.1)))
                }
                None if noisy => ("noise".into(), "-".into()),
                None => ("-".into(), "-".into()),
            };
            if let Some(t) = theirs {
                if ours.accepted {
                    compared += 1;
                    if ours.time < t {
                        faster += 1;
                    } else {
                        slower.push(name.clone());
                    }
                }
            }
            println!(
                "{:<64} {:>7} {:>4} {:>10.1} {:>10} {:>7} {:>9.1}",
                name,
                insns,
                if ours.accepted { "yes" } else { "no" },
                our_us,
                k,
                ratio,
                ours.peak as f64 / 1024.0
            );
            if largest.as_ref().is_none_or(|l| insns > l.1) {
                largest = Some((name.clone(), insns, ours.peak));
            }
            if ours.peak > max_peak.1 {
                max_peak = (name, ours.peak);
            }
        }
    }
    println!();
    println!("{total} programs measured, {accepted} accepted by us");
    if kernel {
        println!(
            "faster than the kernel on {faster} of {compared} programs both accept \
             ({noise} kernel loads within map-creation noise left out){}",
            if slower.is_empty() {
                String::new()
            } else {
                format!("; slower on: {}", slower.join(", "))
            }
        );
    }
    const GOAL: usize = 64 << 20;
    if let Some((name, insns, peak)) = largest {
        println!(
            "largest program: {name} ({insns} insns), peak {:.1} MiB (goal < 64 MiB: {})",
            peak as f64 / (1 << 20) as f64,
            if peak < GOAL { "met" } else { "missed" }
        );
    }
    println!(
        "highest peak: {} {:.1} MiB",
        max_peak.0,
        max_peak.1 as f64 / (1 << 20) as f64
    );
}
