//! Verification time and peak memory for every corpus program
//! (`$USERBPF_SHARED/corpus/ebpf-samples`, `invalid/` aside) and for the corpus's C sources
//! (`src/*.c`) compiled here with clang-19, and, for the programs the kernel loads here
//! (`userbpf_kernel::load_object_with_log_level`), the kernel's own verification time in
//! the same run.
//!
//! `cargo bench -p userbpf-verifier --bench verify` (add `-- FILTER` to keep programs whose
//! name contains FILTER).
//!
//! - Our time: the best of several `verify` calls (as many as fit in about 20 ms, 1 to 20).
//! - Peak memory: the highest number of bytes live during one `verify` call above what was
//!   live before it, measured by the counting global allocator of this binary.
//! - Kernel time: the object reduced to this one program is loaded with `log_level` 4
//!   (`BPF_LOG_STATS`), and the kernel's "verification time N usec" line is read from the
//!   log (the time of `bpf_check`, whole microseconds); best of 3 loads. Needs root (or
//!   CAP_BPF + CAP_NET_ADMIN + CAP_PERFMON).
//! - The clang-19 set: `clang-19 -O2 -g -target bpf -ffreestanding -I/usr/include/bpf`
//!   (libbpf-dev's `bpf_helpers.h`) on each `src/*.c`, into a temporary directory; a source
//!   that does not compile is listed and left out.

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::{Path, PathBuf};
use std::process::Command;
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
    /// Instructions processed (the kernel's "processed N insns").
    processed: u64,
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
    let processed = match &result {
        Ok(v) => v.processed_insns,
        Err(e) => e.processed,
    };
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
        processed,
        time: best,
        peak,
    }
}

/// The kernel's own verification time for `object` (one program, `name`): the best of 3
/// loads at `BPF_LOG_STATS`, with its processed-instruction count; `None` when the kernel
/// refuses it.
fn kernel_time(object: &Object, name: &str) -> Option<(Duration, u64)> {
    let mut best: Option<Duration> = None;
    let mut processed = 0;
    for _ in 0..3 {
        let loaded = userbpf_kernel::load_object_with_log_level(object, 4).ok()?;
        let log = loaded.program(name)?.log();
        let usec: u64 = log
            .lines()
            .find_map(|l| l.strip_prefix("verification time "))
            .and_then(|l| l.strip_suffix(" usec"))
            .and_then(|n| n.trim().parse().ok())?;
        processed = log
            .lines()
            .find_map(|l| l.strip_prefix("processed "))
            .and_then(|l| l.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        let t = Duration::from_micros(usec);
        best = Some(best.map_or(t, |b| b.min(t)));
    }
    best.map(|t| (t, processed))
}

/// Compile the corpus's `src/*.c` with clang-19 into `out`; the objects, and the sources
/// that failed (name and first error line).
fn compile_sources(src: &Path, out: &Path) -> (Vec<PathBuf>, Vec<(String, String)>) {
    let mut objs = Vec::new();
    let mut failed = Vec::new();
    let Ok(rd) = std::fs::read_dir(src) else {
        return (objs, failed);
    };
    let mut sources: Vec<PathBuf> = rd
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "c"))
        .collect();
    sources.sort();
    for c in sources {
        let stem = c
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let o = out.join(format!("{stem}.o"));
        let result = Command::new("clang-19")
            .args([
                "-O2",
                "-g",
                "-target",
                "bpf",
                "-ffreestanding",
                "-I/usr/include/bpf",
            ])
            .arg("-c")
            .arg(&c)
            .arg("-o")
            .arg(&o)
            .output();
        match result {
            Ok(r) if r.status.success() => objs.push(o),
            Ok(r) => {
                let err = String::from_utf8_lossy(&r.stderr);
                let line = err
                    .lines()
                    .find(|l| l.contains("error"))
                    .unwrap_or("failed");
                failed.push((stem, line.to_string()));
            }
            Err(e) => failed.push((stem, format!("clang-19: {e}"))),
        }
    }
    (objs, failed)
}

/// Totals of one set of programs.
#[derive(Default)]
struct Summary {
    total: usize,
    accepted: usize,
    /// Programs both the kernel and we accept.
    compared: usize,
    faster: usize,
    slower: Vec<String>,
    /// Programs the kernel accepts and we reject.
    kernel_only: Vec<String>,
    largest: Option<(String, usize, usize)>,
    max_peak: (String, usize),
    ours_total: Duration,
    kernel_total: Duration,
}

/// Measure every program of the objects `files` (named relative to `root`, with `prefix`),
/// print a table row each, and add them to `sum`.
fn measure_set(
    files: &[PathBuf],
    root: &Path,
    prefix: &str,
    filter: &str,
    kernel: bool,
    sum: &mut Summary,
) {
    for f in files {
        let rel = format!("{prefix}{}", f.strip_prefix(root).unwrap_or(f).display());
        let Ok(bytes) = std::fs::read(f) else {
            continue;
        };
        let Ok(object) = Object::parse(&bytes) else {
            continue;
        };
        let maps = map_infos(&object);
        for p in &object.programs {
            let name = format!("{rel} {}", p.section);
            if !name.contains(filter) {
                continue;
            }
            let insns = p.insns.insns().len();
            let ours = measure_ours(p, &maps, prog_type(p, &rel));
            sum.total += 1;
            sum.accepted += usize::from(ours.accepted);
            let theirs = kernel
                .then(|| {
                    let mut o = object.clone();
                    o.programs
                        .retain(|q| q.name == p.name && q.section == p.section);
                    kernel_time(&o, &p.name)
                })
                .flatten();
            let our_us = ours.time.as_secs_f64() * 1e6;
            let (k, ratio, kproc) = match theirs {
                Some((t, n)) => {
                    let k = t.as_secs_f64() * 1e6;
                    (
                        format!("{k:.0}"),
                        format!("{:.3}", our_us / k.max(0.5)),
                        n.to_string(),
                    )
                }
                None => ("-".into(), "-".into(), "-".into()),
            };
            if let Some((t, _)) = theirs {
                if ours.accepted {
                    sum.compared += 1;
                    sum.ours_total += ours.time;
                    sum.kernel_total += t;
                    if ours.time < t {
                        sum.faster += 1;
                    } else {
                        sum.slower
                            .push(format!("{name} ({our_us:.1} vs {} µs)", t.as_micros()));
                    }
                } else {
                    sum.kernel_only.push(name.clone());
                }
            }
            println!(
                "{:<64} {:>7} {:>4} {:>10.1} {:>10} {:>7} {:>9} {:>9} {:>9.1}",
                name,
                insns,
                if ours.accepted { "yes" } else { "no" },
                our_us,
                k,
                ratio,
                ours.processed,
                kproc,
                ours.peak as f64 / 1024.0
            );
            if sum.largest.as_ref().is_none_or(|l| insns > l.1) {
                sum.largest = Some((name.clone(), insns, ours.peak));
            }
            if ours.peak > sum.max_peak.1 {
                sum.max_peak = (name, ours.peak);
            }
        }
    }
}

fn print_summary(what: &str, s: &Summary, kernel: bool) {
    println!(
        "{what}: {} programs measured, {} accepted by us",
        s.total, s.accepted
    );
    if kernel {
        println!(
            "  faster than the kernel's verification time on {} of {} programs both accept \
             (total {:.0} µs ours vs {:.0} µs kernel){}",
            s.faster,
            s.compared,
            s.ours_total.as_secs_f64() * 1e6,
            s.kernel_total.as_secs_f64() * 1e6,
            if s.slower.is_empty() {
                String::new()
            } else {
                format!("; slower on: {}", s.slower.join(", "))
            }
        );
        if !s.kernel_only.is_empty() {
            println!(
                "  accepted by the kernel, rejected by us: {}",
                s.kernel_only.join(", ")
            );
        }
    }
    const GOAL: usize = 64 << 20;
    if let Some((name, insns, peak)) = &s.largest {
        println!(
            "  largest program: {name} ({insns} insns), peak {:.2} MiB (goal < 64 MiB: {})",
            *peak as f64 / (1 << 20) as f64,
            if *peak < GOAL { "met" } else { "missed" }
        );
    }
    println!(
        "  highest peak: {} {:.2} MiB",
        s.max_peak.0,
        s.max_peak.1 as f64 / (1 << 20) as f64
    );
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
        "{:<64} {:>7} {:>4} {:>10} {:>10} {:>7} {:>9} {:>9} {:>9}",
        "program",
        "insns",
        "ok",
        "our µs",
        "kernel µs",
        "ratio",
        "our proc",
        "kern proc",
        "peak KiB"
    );
    let mut corpus = Summary::default();
    measure_set(&files, &samples, "", &filter, kernel, &mut corpus);

    let out = std::env::temp_dir().join(format!("userbpf-verify-bench-{}", std::process::id()));
    let mut clang = Summary::default();
    let clang_note = match std::fs::create_dir_all(&out) {
        Ok(()) => {
            let (objs, failed) = compile_sources(&samples.join("src"), &out);
            measure_set(&objs, &out, "clang-19/", &filter, kernel, &mut clang);
            let _ = std::fs::remove_dir_all(&out);
            failed
                .iter()
                .map(|(n, e)| format!("{n}: {e}"))
                .collect::<Vec<_>>()
        }
        Err(e) => vec![format!("{}: {e}", out.display())],
    };
    println!();
    print_summary("corpus objects", &corpus, kernel);
    print_summary("corpus sources compiled with clang-19", &clang, kernel);
    if !clang_note.is_empty() {
        println!("  not compiled: {}", clang_note.join("; "));
    }
}
