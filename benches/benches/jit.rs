//! JIT benchmark: one C source, four engines, one process, one run.
//!
//! Takes nothing (run with `cargo bench -p userbpf-benches --bench jit`); gives a table of
//! nanoseconds per run for each program of `benches/jit_src/kernels.h` on
//!
//! - **native**: the same C compiled with `cc -O2` into a shared library at bench start,
//!   called through `dlopen`;
//! - **kernel**: the kernel's JIT, the object (`clang-19 -O2 -target bpf`) loaded with
//!   `BPF_PROG_LOAD` and timed by `BPF_PROG_TEST_RUN` with repeat (its own mean);
//! - **jit**: our JIT (the program verified, then compiled with the verifier's facts), timed
//!   through our `BPF_PROG_TEST_RUN` equivalent with the same repeat loop;
//! - **interp**: our checked interpreter, the same way;
//!
//! and the ratios jit/native, jit/kernel and interp/kernel, the geometric mean of
//! jit/kernel, and compile times (µs per 1,000 instructions). Inputs larger than a test-run
//! packet (the 1 MiB copy and strcmp, log2's 1,024 values, the switch's 16 KiB) come from
//! array-map values filled identically on every engine. Results are checked against the
//! native result before timing.

use std::ffi::CString;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use userbpf_jit::{compile_prepared, compile_unchecked, JitOptions};
use userbpf_object::Object;
use userbpf_runtime::context::TestRunInput;
use userbpf_runtime::instance::{LoadOptions, ObjectInstance};
use userbpf_verifier::{Options, ProgType, VerifierInput};

const HALF: usize = 1 << 20;
const BIG: usize = 2 * HALF;
const SMALL: usize = 16 * 1024;

/// Map contents a benchmark starts from: (map, value of key 0).
type Fill = Vec<(&'static str, Vec<u8>)>;

struct Bench {
    name: &'static str,
    program: &'static str,
    native: &'static str,
    packet: Vec<u8>,
    fill: Fill,
}

fn xorshift(state: &mut u64) -> u64 {
    let mut x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *state = x;
    x
}

fn tcp_packet() -> Vec<u8> {
    let mut p = vec![0u8; 64];
    p[12] = 0x08; // IPv4
    p[14] = 0x45; // version 4, IHL 5
    p[23] = 6; // TCP
    p[26..30].copy_from_slice(&[10, 0, 0, 1]);
    p[30..34].copy_from_slice(&[10, 0, 0, 2]);
    p[34..36].copy_from_slice(&443u16.to_be_bytes());
    p[36..38].copy_from_slice(&8080u16.to_be_bytes());
    p[47] = 0x18; // PSH ACK
    p
}

fn benches() -> Vec<Bench> {
    // The params packet: limit, first candidate, first divisor, zero (kernels.h `param`).
    let mut params = vec![0u8; 64];
    for (i, v) in [10_000u32, 2, 2, 0].into_iter().enumerate() {
        params[i * 4..i * 4 + 4].copy_from_slice(&v.to_ne_bytes());
    }
    let mut copy = vec![0u8; BIG];
    for (i, b) in copy[..HALF].iter_mut().enumerate() {
        *b = (i * 7 + 3) as u8;
    }
    let mut equal = vec![0u8; BIG];
    for i in 0..HALF - 1 {
        let c = (i % 250) as u8 + 1;
        equal[i] = c;
        equal[HALF + i] = c;
    }
    let mut early = equal.clone();
    early[HALF + 10] ^= 0x40;
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    let mut logs = vec![0u8; SMALL];
    for i in 0..1024 {
        let r = xorshift(&mut rng);
        let v = (r >> (r % 64)) | 1;
        logs[i * 8..i * 8 + 8].copy_from_slice(&v.to_ne_bytes());
    }
    let mut bytes = vec![0u8; SMALL];
    for b in bytes.iter_mut() {
        *b = xorshift(&mut rng) as u8;
    }
    let mut sum2 = vec![0u8; 64];
    sum2[..8].copy_from_slice(&0x1234_5678_9abc_def0u64.to_ne_bytes());
    sum2[8..16].copy_from_slice(&0x0fed_cba9_8765_4321u64.to_ne_bytes());
    let pad = params.clone();
    let b = |name, program, native, packet: &Vec<u8>, fill: Fill| Bench {
        name,
        program,
        native,
        packet: packet.clone(),
        fill,
    };
    vec![
        b("primes < 10,000", "primes", "n_primes", &params, vec![]),
        b("copy 1 MiB", "copy", "n_copy", &pad, vec![("big", copy)]),
        b(
            "strcmp 1 MiB equal",
            "strcmp_",
            "n_strcmp",
            &pad,
            vec![("big", equal)],
        ),
        b(
            "strcmp 1 MiB early",
            "strcmp_",
            "n_strcmp",
            &pad,
            vec![("big", early)],
        ),
        b(
            "log2 x 1,024",
            "log2_",
            "n_log2",
            &pad,
            vec![("small", logs)],
        ),
        b(
            "switch x 16 KiB",
            "switch_",
            "n_switch",
            &pad,
            vec![("small", bytes)],
        ),
        b("sum of two u64", "sum2", "n_sum2", &sum2, vec![]),
        b("return constant", "constant", "n_constant", &pad, vec![]),
        b("packet parser", "parse", "n_parse", &tcp_packet(), vec![]),
        b("map counter", "counter", "n_counter", &pad, vec![]),
    ]
}

fn tmp() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("jit_src")
}

fn build_object() -> Vec<u8> {
    let out = tmp().join("jit-bench.bpf.o");
    let status = Command::new("clang-19")
        .args(["-g", "-O2", "-target", "bpf", "-mcpu=v3", "-c"])
        .arg("-I/usr/include/x86_64-linux-gnu")
        .arg(src().join("jit.bpf.c"))
        .arg("-o")
        .arg(&out)
        .status()
        .expect("clang-19 runs");
    assert!(status.success(), "clang-19 failed");
    std::fs::read(out).unwrap()
}

/// The native entry point signature of `native.c`.
type NativeFn = unsafe extern "C" fn(*mut u8, u64, *mut u8) -> u64;

struct Native {
    handle: *mut libc::c_void,
}

impl Native {
    fn build() -> Native {
        let out = tmp().join("jit-bench-native.so");
        let status = Command::new("cc")
            .args(["-O2", "-shared", "-fPIC"])
            .arg(src().join("native.c"))
            .arg("-o")
            .arg(&out)
            .status()
            .expect("cc runs");
        assert!(status.success(), "cc failed");
        let path = CString::new(out.to_str().unwrap()).unwrap();
        // SAFETY: a library we just built from our own source; no initialisers with effects.
        let handle = unsafe { libc::dlopen(path.as_ptr(), libc::RTLD_NOW) };
        assert!(!handle.is_null(), "dlopen failed");
        Native { handle }
    }

    fn get(&self, name: &str) -> NativeFn {
        let sym = CString::new(name).unwrap();
        // SAFETY: the handle is open; the symbol is a function of native.c with this
        // signature.
        unsafe {
            let p = libc::dlsym(self.handle, sym.as_ptr());
            assert!(!p.is_null(), "no symbol {name}");
            std::mem::transmute::<*mut libc::c_void, NativeFn>(p)
        }
    }
}

/// Repeats that take about `target` given one run of `once`.
fn repeats(once: Duration, target: Duration) -> u32 {
    let ns = once.as_nanos().max(1);
    (target.as_nanos() / ns).clamp(1, 5_000_000) as u32
}

const TARGET: Duration = Duration::from_millis(150);

fn time_native(f: NativeFn, bench: &Bench) -> (u64, f64) {
    let mut packet = bench.packet.clone();
    let mut map = match bench.name {
        "map counter" => vec![0u8; 64 * 8],
        _ => bench
            .fill
            .first()
            .map_or_else(|| vec![0u8; 8], |(_, v)| v.clone()),
    };
    let len = packet.len() as u64;
    // SAFETY: the buffers match what each native function reads (packet, map value sizes
    // of jit.bpf.c).
    let call = |p: &mut Vec<u8>, m: &mut Vec<u8>| unsafe {
        f(
            black_box(p.as_mut_ptr()),
            black_box(len),
            black_box(m.as_mut_ptr()),
        )
    };
    let first = call(&mut packet, &mut map);
    let t = Instant::now();
    call(&mut packet, &mut map);
    let n = repeats(t.elapsed(), TARGET);
    let mut best = f64::MAX;
    for _ in 0..3 {
        let t = Instant::now();
        for _ in 0..n {
            black_box(call(&mut packet, &mut map));
        }
        best = best.min(t.elapsed().as_nanos() as f64 / n as f64);
    }
    (first & 0xffff_ffff, best)
}

fn time_kernel(object: &Object, bench: &Bench) -> Result<(u64, f64), String> {
    userbpf_kernel::available()?;
    let loaded = userbpf_kernel::load_object(object).map_err(|e| e.to_string())?;
    for (map, value) in &bench.fill {
        loaded
            .map(map)
            .ok_or("no map")?
            .update(&0u32.to_ne_bytes(), value, 0)
            .map_err(|e| e.to_string())?;
    }
    let prog = loaded.program(bench.program).ok_or("no program")?;
    let first = prog
        .test_run(&bench.packet, 1, bench.packet.len())
        .map_err(|e| e.to_string())?;
    let t = Instant::now();
    prog.test_run(&bench.packet, 1, bench.packet.len())
        .map_err(|e| e.to_string())?;
    let n = repeats(t.elapsed(), TARGET);
    let mut best = f64::MAX;
    for _ in 0..3 {
        let r = prog
            .test_run(&bench.packet, n, bench.packet.len())
            .map_err(|e| e.to_string())?;
        best = best.min(r.duration_ns as f64);
    }
    Ok((first.retval as u64, best))
}

fn verify(object: &Object, name: &str) -> userbpf_verifier::VerifiedProgram {
    let p = object.program(name).unwrap();
    let maps = userbpf_verifier::object_input::map_infos(object);
    userbpf_verifier::verify(&VerifierInput {
        program: &p.insns,
        prog_type: ProgType::Xdp,
        maps: &maps,
        options: Options {
            allow_uninit_stack: true,
            ..Options::default()
        },
    })
    .unwrap_or_else(|e| panic!("{name} rejected: {}", e.message))
}

/// Our engines: (result, ns per run) for the JIT and the interpreter, and the JIT's
/// compile time in µs per 1,000 instructions.
struct Ours {
    jit: (u64, f64),
    interp: (u64, f64),
    compile_us_per_k: f64,
    insns: usize,
}

fn time_ours(object: &Object, bench: &Bench) -> Ours {
    let instance = |fill: &Fill| {
        let inst = ObjectInstance::load(object, &LoadOptions::default()).unwrap();
        for (map, value) in fill {
            inst.map(map)
                .unwrap()
                .update(&0u32.to_ne_bytes(), value, 0)
                .unwrap();
        }
        inst
    };
    let verified = verify(object, bench.program);
    let run = |test: &dyn Fn(u32) -> (u64, Duration)| {
        let (first, _) = test(1);
        let (_, once) = test(1);
        let n = repeats(once, TARGET);
        let mut best = f64::MAX;
        for _ in 0..3 {
            let (_, mean) = test(n);
            best = best.min(mean.as_nanos() as f64);
        }
        (first, best)
    };
    let input = |repeat| TestRunInput {
        data_in: &bench.packet,
        ctx_in: None,
        repeat,
    };

    let inst = instance(&bench.fill);
    let prepared = inst.program(bench.program).unwrap();
    // SAFETY: the verifier accepted the program (checked just above).
    let jit =
        unsafe { compile_prepared(&prepared, Some(&verified), &JitOptions::default()) }.unwrap();
    let jit_r = run(&|n| {
        let o = jit.test_run(&input(n)).unwrap();
        (o.retval as u64, o.duration)
    });

    // Compile time of the program itself (the instructions the JIT translates).
    let runnable = prepared.runnable_program().unwrap();
    let insns = runnable.insns().len();
    let mut samples = Vec::new();
    for _ in 0..50 {
        let t = Instant::now();
        // SAFETY: only compiled, never run.
        let p = unsafe { compile_unchecked(&runnable, prepared.helpers(), &JitOptions::default()) };
        samples.push(t.elapsed().as_nanos() as f64);
        drop(black_box(p));
    }
    samples.sort_by(f64::total_cmp);
    let compile_us_per_k = samples[samples.len() / 2] / 1000.0 / insns as f64 * 1000.0;

    let inst = instance(&bench.fill);
    let prepared = inst.program(bench.program).unwrap();
    let interp_r = run(&|n| {
        let o = prepared.test_run(&input(n)).unwrap();
        (o.retval as u64, o.duration)
    });
    Ours {
        jit: jit_r,
        interp: interp_r,
        compile_us_per_k,
        insns,
    }
}

fn fmt_ns(ns: f64) -> String {
    if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.1} µs", ns / 1e3)
    } else {
        format!("{ns:.1} ns")
    }
}

fn main() {
    // `cargo bench` passes --bench; a filter argument selects rows by name.
    let filter: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let bytes = build_object();
    let object = Object::parse(&bytes).unwrap();
    let native = Native::build();
    println!(
        "{:<20} {:>10} {:>10} {:>10} {:>10} {:>9} {:>9} {:>9}",
        "program", "native", "kernel", "jit", "interp", "jit/nat", "jit/kern", "int/kern"
    );
    let mut ratios = Vec::new();
    let mut compile = Vec::new();
    let mut kernel_note = None;
    for bench in benches() {
        if filter.as_deref().is_some_and(|f| !bench.name.contains(f)) {
            continue;
        }
        let (native_r, native_ns) = time_native(native.get(bench.native), &bench);
        let kernel = time_kernel(&object, &bench);
        let ours = time_ours(&object, &bench);
        // Retvals are the low 32 bits of r0.
        let low = |v: u64| v & 0xffff_ffff;
        assert_eq!(low(ours.jit.0), native_r, "{}: jit result", bench.name);
        assert_eq!(
            low(ours.interp.0),
            native_r,
            "{}: interp result",
            bench.name
        );
        let (kernel_ns, kernel_cell) = match &kernel {
            Ok((r, ns)) => {
                assert_eq!(low(*r), native_r, "{}: kernel result", bench.name);
                (Some(*ns), fmt_ns(*ns))
            }
            Err(e) => {
                let first = e.lines().next().unwrap_or("").to_string();
                println!("{}: kernel: {first}", bench.name);
                kernel_note = Some(first);
                (None, "n/a".to_string())
            }
        };
        let ratio = |a: f64, b: Option<f64>| match b {
            Some(b) if b > 0.0 => format!("{:.2}", a / b),
            _ => "n/a".to_string(),
        };
        println!(
            "{:<20} {:>10} {:>10} {:>10} {:>10} {:>9} {:>9} {:>9}",
            bench.name,
            fmt_ns(native_ns),
            kernel_cell,
            fmt_ns(ours.jit.1),
            fmt_ns(ours.interp.1),
            ratio(ours.jit.1, Some(native_ns)),
            ratio(ours.jit.1, kernel_ns),
            ratio(ours.interp.1, kernel_ns),
        );
        if let Some(k) = kernel_ns {
            // The kernel reports whole nanoseconds: below 1 ns it says 0 or 1.
            ratios.push(ours.jit.1 / k.max(1.0));
        }
        compile.push((bench.program, ours.insns, ours.compile_us_per_k));
    }
    if let Some(e) = kernel_note {
        println!("kernel: skipped: bpf() unavailable ({e})");
    }
    if !ratios.is_empty() {
        let geo = (ratios.iter().map(|r| r.ln()).sum::<f64>() / ratios.len() as f64).exp();
        let worst = ratios.iter().cloned().fold(0.0, f64::max);
        println!(
            "jit/kernel: geometric mean {geo:.2} (goal <= 0.80), worst {worst:.2} (goal <= 1.00)"
        );
    }
    println!("compile time (median of 50, µs per 1,000 instructions; goal < 50):");
    compile.dedup_by_key(|c| c.0);
    for (name, insns, us) in &compile {
        println!("  {name:<10} {insns:>6} insns  {us:>6.1}");
    }
    // Larger programs: the per-program cost (mapping pages) spread over more instructions.
    for n in [1_000usize, 10_000, 100_000] {
        let program = synthetic(n);
        let mut samples = Vec::new();
        for _ in 0..if n > 10_000 { 5 } else { 50 } {
            let t = Instant::now();
            // SAFETY: only compiled, never run.
            let p = unsafe {
                compile_unchecked(
                    &program,
                    &userbpf_runtime::Helpers::new(),
                    &JitOptions::default(),
                )
            }
            .expect("the synthetic program compiles");
            samples.push(t.elapsed().as_nanos() as f64);
            drop(black_box(p));
        }
        samples.sort_by(f64::total_cmp);
        let us = samples[samples.len() / 2] / 1000.0;
        println!(
            "  synthetic  {:>6} insns  {:>6.1}   ({us:.0} µs in all)",
            n,
            us / n as f64 * 1000.0
        );
    }
}

/// A straight-line program of about `n` instructions: ALU operations of every kind, loads
/// and stores on the stack, and short forward branches.
fn synthetic(n: usize) -> userbpf_isa::Program {
    let mut text = String::from("r0 = 0\nr1 = 7\nr2 = 3\n");
    let body = [
        "r0 += r1",
        "r1 ^= 0x55",
        "w2 = w1",
        "r2 <<= 3",
        "if r2 > 100 goto +1",
        "r2 |= 1",
        "r3 = r0",
        "r3 /= r2",
        "*(u64 *)(r10 - 8) = r3",
        "r4 = *(u64 *)(r10 - 8)",
        "r0 -= r4",
        "r5 = r0",
        "r5 += 16",
        "r1 *= 3",
    ];
    let mut i = 0;
    while i + 1 < n {
        text.push_str(body[i % body.len()]);
        text.push('\n');
        i += 1;
    }
    text.push_str("r0 += 1\nexit\n");
    userbpf_isa::Program::from_insns(userbpf_isa::asm::assemble(&text).expect("assembles"))
}
