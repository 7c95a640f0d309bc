//! Map-operation benchmark: the cost of one map operation from inside a program, userbpf
//! (an [`ObjectInstance`]'s program, verified and compiled with the JIT, and the same
//! prepared program in the interpreter; `BPF_PROG_TEST_RUN` semantics with repeat)
//! against the kernel (the same clang-19 object loaded with `bpf()`, `BPF_PROG_TEST_RUN`
//! with repeat), in one run.
//!
//! Takes `benches/maps_src/maps.bpf.c`, compiled with clang-19 when the bench starts; gives
//! a table: for each operation (array, hash, lru_hash, percpu_hash and lpm_trie lookup and
//! update; ringbuf reserve + submit) the nanoseconds per operation for our JIT, our
//! interpreter and the kernel, and the ratio JIT / kernel, plus the fixed cost of a run (an
//! empty program) and of the loop the operations sit in (the `baseline` program).
//!
//! Each program runs its operation [`OPS`] times in a loop; the cost of one operation is
//! `(time per run - time per run of baseline) / OPS`, where the baseline runs the same
//! loop without the operation. Each time is the best of nine `test_run` calls whose
//! repeat is calibrated to about 10 ms (the kernel reports the mean over its repeat loop,
//! ours is the thread's CPU time over the call, divided by the repeat count: both leave
//! out the time the thread was not running). Before timing, every program runs once on both sides and the
//! checksums they store in the `results` map must agree; after timing, the contents of
//! every map must agree too. The ring buffer is drained from user space between calls on
//! both sides.

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};

use std::collections::HashMap;

use userbpf_jit::{compile_prepared, JitObjectProgram, JitOptions};
use userbpf_kernel::{available, load_object, KernelObject, MapFd, TestRunOptions};
use userbpf_object::Object;
use userbpf_runtime::context::TestRunInput;
use userbpf_runtime::instance::{LoadOptions, ObjectInstance};
use userbpf_runtime::maps::{possible_cpus, Map};
use userbpf_runtime::PreparedProgram;

/// Operations per run (the `OPS` of the C source).
const OPS: f64 = 1000.0;
/// Keys of the array and hash maps (`HASH_KEYS` of the C source).
const HASH_KEYS: u32 = 64;
/// Prefixes of the LPM table (`LPM_PREFIXES`), plus a default route.
const LPM_PREFIXES: u32 = 1000;
/// Bytes one ring buffer record takes (8-byte header + 8-byte sample).
const RING_RECORD: usize = 16;
const RING_SIZE: usize = 4 << 20;

/// The programs timed, with their slot in `results`.
const PROGRAMS: &[(&str, u32, &str)] = &[
    ("array_lookup", 1, "array lookup"),
    ("array_update", 2, "array update"),
    ("hash_lookup", 3, "hash lookup (hit)"),
    ("hash_update", 4, "hash update (existing)"),
    ("lru_lookup", 5, "lru_hash lookup (hit)"),
    ("lru_update", 6, "lru_hash update (existing)"),
    ("percpu_lookup", 7, "percpu_hash lookup (hit)"),
    ("percpu_update", 8, "percpu_hash update (existing)"),
    ("lpm_lookup", 9, "lpm_trie lookup (1000 prefixes)"),
    ("lpm_update", 10, "lpm_trie update (existing)"),
    ("ringbuf", 11, "ringbuf reserve + submit"),
];

fn compile() -> Result<PathBuf, String> {
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("maps_src/maps.bpf.c");
    let out = std::env::temp_dir().join(format!("userbpf-bench-maps-{}.o", std::process::id()));
    let status = Command::new("clang-19")
        .args(["-g", "-O2", "-target", "bpf", "-mcpu=v3"])
        .arg("-I/usr/include/x86_64-linux-gnu")
        .arg("-c")
        .arg(&src)
        .arg("-o")
        .arg(&out)
        .status()
        .map_err(|e| format!("clang-19: {e}"))?;
    if !status.success() {
        return Err(format!("clang-19 failed on {}: {status}", src.display()));
    }
    Ok(out)
}

fn lpm_addr(i: u32) -> u32 {
    i.wrapping_mul(0x9E37_79B1)
}

fn lpm_len(i: u32) -> u32 {
    8 + (i * 13) % 25
}

fn lpm_key(len: u32, addr: u32) -> Vec<u8> {
    let mask = if len == 0 { 0 } else { !0u32 << (32 - len) };
    let mut k = len.to_ne_bytes().to_vec();
    k.extend_from_slice(&(addr & mask).to_be_bytes());
    k
}

/// The initial contents of the maps: `(map, key, one CPU's value)`.
fn initial_contents() -> Vec<(&'static str, Vec<u8>, Vec<u8>)> {
    let mut v = Vec::new();
    for k in 0..HASH_KEYS {
        let key = k.to_ne_bytes().to_vec();
        v.push((
            "arr",
            key.clone(),
            (k as u64 * 3 + 1).to_ne_bytes().to_vec(),
        ));
        for (map, mul) in [("hash", 5u64), ("lru", 7), ("percpu", 11)] {
            v.push((
                map,
                key.clone(),
                (k as u64 * mul + 2).to_ne_bytes().to_vec(),
            ));
        }
    }
    v.push(("lpm", lpm_key(0, 0), 1u64.to_ne_bytes().to_vec()));
    for j in 0..LPM_PREFIXES {
        let value = (1000 + j as u64).to_ne_bytes().to_vec();
        v.push(("lpm", lpm_key(lpm_len(j), lpm_addr(j)), value));
    }
    v
}

fn per_cpu_value(value: &[u8], percpu: bool, cpus: usize) -> Vec<u8> {
    if percpu {
        value.repeat(cpus)
    } else {
        value.to_vec()
    }
}

/// Both sides, loaded and filled; every program of the instance also compiled with the JIT
/// (after the verifier accepted it).
struct Sides {
    user: ObjectInstance,
    jit: HashMap<String, JitObjectProgram>,
    kernel: KernelObject,
}

/// Verify program `name` of `object` as the kernel would load it and compile it with the JIT.
fn jit_program(
    object: &Object,
    user: &ObjectInstance,
    name: &str,
) -> Result<JitObjectProgram, String> {
    let verified =
        userbpf_verifier::object_input::verify_with_tail_call_targets(object, name, &|_| true)?
            .ok_or_else(|| format!("{name}: no such program"))?;
    let prepared = user.program(name).map_err(|e| e.to_string())?;
    prepared
        .limit_tail_call_targets(&|target| verified.may_reach(target))
        .map_err(|e| e.to_string())?;
    // SAFETY: the verifier accepted the program (just above) and every program its tail
    // calls may reach (limited just above to those), and `verified` is its result.
    unsafe { compile_prepared(&prepared, Some(&verified.program), &JitOptions::default()) }
        .map_err(|e| format!("{name}: {e}"))
}

fn load(object: &Object) -> Result<Sides, String> {
    let user = ObjectInstance::load(object, &LoadOptions::default()).map_err(|e| e.to_string())?;
    let mut jit = HashMap::new();
    for p in &object.programs {
        jit.insert(p.name.clone(), jit_program(object, &user, &p.name)?);
    }
    let kernel = load_object(object).map_err(|e| e.to_string())?;
    for (map, key, value) in initial_contents() {
        let percpu = map == "percpu";
        let m = user.map(map).map_err(|e| e.to_string())?;
        m.update(
            &key,
            &per_cpu_value(&value, percpu, possible_cpus() as usize),
            0,
        )
        .map_err(|e| format!("userbpf {map}: {e}"))?;
        let k = kernel.map(map).ok_or("kernel map missing")?;
        k.update(
            &key,
            &per_cpu_value(&value, percpu, k.value_buf_size() / 8),
            0,
        )
        .map_err(|e| format!("kernel {map}: {e}"))?;
    }
    Ok(Sides { user, jit, kernel })
}

fn user_result(user: &ObjectInstance, slot: u32) -> u64 {
    let v = user
        .map("results")
        .expect("results map")
        .lookup(&slot.to_ne_bytes())
        .expect("results slot");
    u64::from_ne_bytes(v[..8].try_into().expect("8 bytes"))
}

fn kernel_result(kernel: &KernelObject, slot: u32) -> u64 {
    let v = kernel
        .map("results")
        .expect("results map")
        .lookup(&slot.to_ne_bytes())
        .expect("bpf lookup")
        .expect("results slot");
    u64::from_ne_bytes(v[..8].try_into().expect("8 bytes"))
}

/// A map's contents as `(key, value)` pairs sorted by key; per-CPU values as their largest
/// per-CPU value (the CPUs the runs used differ between the sides).
fn user_dump(m: &Map, percpu: bool) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut v: Vec<_> = m
        .iter()
        .map(|e| e.expect("iterate"))
        .map(|(k, v)| (k, if percpu { percpu_values(&v) } else { v }))
        .collect();
    v.sort();
    v
}

fn kernel_dump(m: &MapFd, percpu: bool) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut v: Vec<_> = m
        .dump()
        .expect("bpf dump")
        .into_iter()
        .map(|(k, v)| (k, if percpu { percpu_values(&v) } else { v }))
        .collect();
    v.sort();
    v
}

/// The largest of the 8-byte values of a per-CPU value (the updates write values above the
/// initial ones).
fn percpu_values(raw: &[u8]) -> Vec<u8> {
    let vals: Vec<u64> = raw
        .chunks_exact(8)
        .map(|c| u64::from_ne_bytes(c.try_into().expect("8 bytes")))
        .collect();
    vals.iter()
        .max()
        .copied()
        .unwrap_or(0)
        .to_ne_bytes()
        .to_vec()
}

fn compare_maps(sides: &Sides) -> Result<(), String> {
    for (map, percpu) in [
        ("arr", false),
        ("hash", false),
        ("lru", false),
        ("percpu", true),
        ("lpm", false),
        ("results", false),
    ] {
        let mut u = user_dump(&*sides.user.map(map).map_err(|e| e.to_string())?, percpu);
        let mut k = kernel_dump(sides.kernel.map(map).ok_or("kernel map")?, percpu);
        if map == "results" {
            // The per-CPU lookup's checksum depends on the CPUs the earlier updates ran on.
            let slot = 7u32.to_ne_bytes().to_vec();
            u.retain(|(key, _)| *key != slot);
            k.retain(|(key, _)| *key != slot);
        }
        if u != k {
            return Err(format!(
                "map {map} differs: userbpf {} entries, kernel {} entries; first difference {:?}",
                u.len(),
                k.len(),
                u.iter().zip(&k).find(|(a, b)| a != b)
            ));
        }
    }
    Ok(())
}

/// Mark every record of the kernel's ring buffer consumed (consumer position = producer
/// position), through the buffer's memory mapping.
fn kernel_drain(ring: &MapFd) -> Result<(), String> {
    use std::os::fd::AsRawFd;
    let fd = ring.as_raw_fd();
    // SAFETY: fresh shared mappings of the ring buffer's consumer page (writable, offset 0)
    // and producer page (read-only, offset one page) chosen by the kernel; they are only
    // accessed as atomic u64 below and unmapped before returning.
    unsafe {
        let cons = libc::mmap(
            std::ptr::null_mut(),
            4096,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED,
            fd,
            0,
        );
        if cons == libc::MAP_FAILED {
            return Err(format!(
                "mmap consumer page: {}",
                std::io::Error::last_os_error()
            ));
        }
        let prod = libc::mmap(
            std::ptr::null_mut(),
            4096,
            libc::PROT_READ,
            libc::MAP_SHARED,
            fd,
            4096,
        );
        if prod == libc::MAP_FAILED {
            libc::munmap(cons, 4096);
            return Err(format!(
                "mmap producer page: {}",
                std::io::Error::last_os_error()
            ));
        }
        let p = AtomicU64::from_ptr(prod as *mut u64).load(Ordering::Acquire);
        AtomicU64::from_ptr(cons as *mut u64).store(p, Ordering::Release);
        libc::munmap(prod, 4096);
        libc::munmap(cons, 4096);
    }
    Ok(())
}

fn user_drain(ring: &Map) {
    ring.ringbuf_consume(|_| {}).expect("consume");
}

const PACKET: [u8; 64] = [0; 64];

/// Best of nine timed calls of `run(repeat)` (ns per run), `repeat` calibrated to about
/// 10 ms per call (at most `max_repeat`); `before` runs before each call, untimed.
fn time_runs(max_repeat: u32, mut before: impl FnMut(), mut run: impl FnMut(u32) -> f64) -> f64 {
    before();
    let once = run(10).max(1.0);
    let repeat = ((10e6 / once) as u32).clamp(10, max_repeat);
    let mut best = f64::INFINITY;
    for _ in 0..9 {
        before();
        best = best.min(run(repeat));
    }
    best
}

/// One of our engines running a program of the instance.
#[derive(Clone, Copy)]
enum Engine<'a> {
    Jit(&'a JitObjectProgram),
    Interp(&'a PreparedProgram),
}

impl Engine<'_> {
    fn test_run(
        &self,
        input: &TestRunInput<'_>,
    ) -> Result<userbpf_runtime::context::TestRunOutput, userbpf_runtime::context::TestRunError>
    {
        match self {
            Engine::Jit(p) => p.test_run(input),
            Engine::Interp(p) => p.test_run(input),
        }
    }
}

/// CPU time of the calling thread, in ns.
fn thread_cpu_ns() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid timespec for the call to fill.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID)");
    ts.tv_sec as f64 * 1e9 + ts.tv_nsec as f64
}

/// ns per run of `prog`, by the thread's CPU time over a `test_run` with `repeat` (the
/// kernel's test-run timer likewise leaves out the time its thread is rescheduled; on this
/// shared machine the wall clock would count other processes' time slices).
fn user_time(prog: Engine<'_>, max_repeat: u32, before: impl FnMut()) -> f64 {
    time_runs(max_repeat, before, |repeat| {
        let start = thread_cpu_ns();
        prog.test_run(&TestRunInput {
            data_in: &PACKET,
            ctx_in: None,
            repeat,
        })
        .expect("userbpf test_run");
        (thread_cpu_ns() - start) / repeat as f64
    })
}

fn kernel_time(kernel: &KernelObject, name: &str, max_repeat: u32, before: impl FnMut()) -> f64 {
    let prog = kernel.program(name).expect("kernel program");
    time_runs(max_repeat, before, |repeat| {
        let out = prog
            .test_run_with(&TestRunOptions {
                data_in: &PACKET,
                repeat,
                ..TestRunOptions::default()
            })
            .expect("kernel test_run");
        out.duration_ns as f64
    })
}

/// ns per run of one program: our JIT, our interpreter, the kernel.
#[derive(Clone, Copy)]
struct Times {
    jit: f64,
    interp: f64,
    kernel: f64,
}

fn time_program(sides: &Sides, name: &str) -> Times {
    let prog = sides.user.program(name).expect("userbpf program");
    let jit = Engine::Jit(&sides.jit[name]);
    let interp = Engine::Interp(&prog);
    if name == "ringbuf" {
        let max = (RING_SIZE / (RING_RECORD * OPS as usize)) as u32 - 2;
        let uring = sides.user.map("ring").expect("ring");
        let kring = sides.kernel.map("ring").expect("ring");
        Times {
            jit: user_time(jit, max, || user_drain(&uring)),
            interp: user_time(interp, max, || user_drain(&uring)),
            kernel: kernel_time(&sides.kernel, name, max, || {
                kernel_drain(kring).expect("drain")
            }),
        }
    } else {
        Times {
            jit: user_time(jit, 1_000_000, || {}),
            interp: user_time(interp, 1_000_000, || {}),
            kernel: kernel_time(&sides.kernel, name, 1_000_000, || {}),
        }
    }
}

/// Run every program once on both sides (on ours with `engine`) and compare the checksums.
fn check_answers(sides: &Sides, use_jit: bool) -> Result<(), String> {
    // Per-CPU values back to the same value on every CPU: the lookup's checksum then does
    // not depend on the CPU an earlier update ran on (the kernel's runs may migrate).
    for (map, key, value) in initial_contents() {
        if map != "percpu" {
            continue;
        }
        let u = sides.user.map(map).map_err(|e| e.to_string())?;
        u.update(
            &key,
            &per_cpu_value(&value, true, possible_cpus() as usize),
            0,
        )
        .map_err(|e| format!("userbpf {map}: {e}"))?;
        let k = sides.kernel.map(map).ok_or("kernel map missing")?;
        k.update(
            &key,
            &per_cpu_value(&value, true, k.value_buf_size() / 8),
            0,
        )
        .map_err(|e| format!("kernel {map}: {e}"))?;
    }
    for &(name, slot, _) in std::iter::once(&("baseline", 0, "")).chain(PROGRAMS) {
        let prepared = sides.user.program(name).map_err(|e| e.to_string())?;
        let prog = if use_jit {
            Engine::Jit(&sides.jit[name])
        } else {
            Engine::Interp(&prepared)
        };
        let out = prog
            .test_run(&TestRunInput {
                data_in: &PACKET,
                ctx_in: None,
                repeat: 1,
            })
            .map_err(|e| format!("userbpf {name}: {e}"))?;
        let kout = sides
            .kernel
            .program(name)
            .ok_or("kernel program")?
            .test_run(&PACKET, 1, 0)
            .map_err(|e| format!("kernel {name}: {e}"))?;
        if out.retval != kout.retval {
            return Err(format!(
                "{name}: retval {} vs kernel {}",
                out.retval, kout.retval
            ));
        }
        let (u, k) = (
            user_result(&sides.user, slot),
            kernel_result(&sides.kernel, slot),
        );
        if u != k {
            return Err(format!("{name}: checksum {u} vs kernel {k}"));
        }
    }
    user_drain(&*sides.user.map("ring").map_err(|e| e.to_string())?);
    kernel_drain(sides.kernel.map("ring").ok_or("ring")?)?;
    compare_maps(sides)
}

fn main() {
    if let Err(e) = available() {
        println!("skipped: bpf() unavailable ({e})");
        return;
    }
    let path = match compile() {
        Ok(p) => p,
        Err(e) => {
            println!("skipped: {e}");
            return;
        }
    };
    let bytes = std::fs::read(&path).expect("read object");
    let _ = std::fs::remove_file(&path);
    let object = Object::parse(&bytes).expect("object parses");
    let sides = load(&object).unwrap_or_else(|e| panic!("load: {e}"));
    check_answers(&sides, false).unwrap_or_else(|e| panic!("interpreter answers differ: {e}"));
    check_answers(&sides, true).unwrap_or_else(|e| panic!("JIT answers differ: {e}"));
    if let Ok(name) = std::env::var("USERBPF_BENCH_PROFILE") {
        // Profiling aid: run one program on userbpf's JIT only, for about five seconds.
        let prog = &sides.jit[&name];
        let start = std::time::Instant::now();
        while start.elapsed().as_secs() < 5 {
            let input = TestRunInput {
                data_in: &PACKET,
                ctx_in: None,
                repeat: 100,
            };
            prog.test_run(&input).expect("test_run");
            user_drain(&sides.user.map("ring").expect("ring"));
        }
        return;
    }

    let empty = time_program(&sides, "empty");
    let baseline = time_program(&sides, "baseline");
    println!(
        "map operations from inside an XDP program: {OPS} per run, ns per operation = (run - baseline run) / {OPS}"
    );
    println!(
        "{:<34} {:>10} {:>10} {:>10} {:>11} {:>13}",
        "operation", "jit ns", "interp ns", "kernel ns", "jit/kernel", "interp/kernel"
    );
    let row = |label: &str, t: Times, note: &str| {
        println!(
            "{label:<34} {:>10.2} {:>10.2} {:>10.2} {:>11.2} {:>13.2}{note}",
            t.jit,
            t.interp,
            t.kernel,
            t.jit / t.kernel.max(0.01),
            t.interp / t.kernel.max(0.01)
        )
    };
    row("empty program", empty, "   (per run, fixed)");
    row(
        "baseline loop",
        baseline,
        &format!("   (per run, {OPS} loop iterations)"),
    );
    let mut slower = Vec::new();
    for &(name, _, label) in PROGRAMS {
        let t = time_program(&sides, name);
        let per_op = |run: f64, base: f64| ((run - base) / OPS).max(0.0);
        let op = Times {
            jit: per_op(t.jit, baseline.jit),
            interp: per_op(t.interp, baseline.interp),
            kernel: per_op(t.kernel, baseline.kernel),
        };
        if op.jit > op.kernel {
            slower.push(label);
        }
        row(label, op, "");
    }
    compare_maps(&sides).unwrap_or_else(|e| panic!("after timing: {e}"));
    println!(
        "answers: checksums and final map contents agree with the kernel (JIT and interpreter)"
    );
    if slower.is_empty() {
        println!("goal met: no operation slower than the kernel's (JIT)");
    } else {
        println!("slower than the kernel (JIT): {}", slower.join(", "));
    }
}
