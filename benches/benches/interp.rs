//! Engine benchmark: our checked interpreter and our JIT against rbpf 0.4's interpreter,
//! the kernel's JIT (via `BPF_PROG_TEST_RUN` with repeat) and native Rust, in one run.
//!
//! Takes nothing (run with `cargo bench -p userbpf-benches --bench interp`); gives a table
//! of nanoseconds per run and the ratios interp/native, rbpf/interp, interp/kernel-JIT,
//! jit/native and jit/kernel-JIT.
//! Each user-space number is the median of at least five timed runs after a warm-up; the
//! kernel's is the mean it reports over its repeat loop (best of three calls). The kernel
//! copies only as much as one XDP test packet holds; its time is scaled per byte to 1 MiB.

use std::hint::black_box;
use std::time::{Duration, Instant};

use userbpf_benches::{
    bytecode, copy_kernel_program, copy_program, native_copy, native_primes, COPY_LEN, PRIMES,
    PRIMES_BELOW_LIMIT, PRIMES_KERNEL, PRIMES_LIMIT,
};
use userbpf_isa::Program;
use userbpf_jit::{compile_unchecked, JitOptions, JitProgram};
use userbpf_kernel::{available, prog_load, prog_type};
use userbpf_runtime::{Helpers, Interpreter};

/// Median wall time of one call of `f`, in nanoseconds.
fn measure(mut f: impl FnMut()) -> f64 {
    f();
    let budget = Duration::from_millis(700);
    let start = Instant::now();
    let mut samples = Vec::new();
    while samples.len() < 5 || (start.elapsed() < budget && samples.len() < 10_000) {
        let t = Instant::now();
        f();
        samples.push(t.elapsed().as_nanos() as f64);
    }
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

fn interpreter(text: &str) -> Interpreter {
    let program = Program::decode(&bytecode(text)).expect("benchmark program decodes");
    Interpreter::new(&program, &Helpers::new()).expect("interpreter accepts")
}

fn jit(text: &str) -> JitProgram {
    let program = Program::decode(&bytecode(text)).expect("benchmark program decodes");
    // SAFETY: the benchmark programs are trusted: they touch only their input (checked by
    // the interpreter runs of the same programs in this crate's tests).
    unsafe { compile_unchecked(&program, &Helpers::new(), &JitOptions::default()) }
        .expect("JIT accepts")
}

/// One row of the table.
struct Row {
    name: &'static str,
    native: f64,
    interp: f64,
    jit: f64,
    rbpf: f64,
    kernel: Result<f64, String>,
    note: String,
}

fn primes() -> Row {
    let native = measure(|| {
        assert_eq!(
            native_primes(black_box(PRIMES_LIMIT as u64)),
            PRIMES_BELOW_LIMIT
        );
    });

    let vm = interpreter(PRIMES);
    let interp = measure(|| {
        assert_eq!(vm.run_raw(black_box(&mut [])), Ok(PRIMES_BELOW_LIMIT));
    });

    let jp = jit(PRIMES);
    let jit = measure(|| {
        assert_eq!(jp.run_raw(black_box(&mut [])), Ok(PRIMES_BELOW_LIMIT));
    });

    let code = bytecode(PRIMES);
    let rvm = rbpf::EbpfVmNoData::new(Some(&code)).expect("rbpf accepts primes");
    let rbpf = measure(|| {
        assert_eq!(
            rvm.execute_program().expect("rbpf runs"),
            PRIMES_BELOW_LIMIT
        );
    });

    let kernel = available().and_then(|()| {
        let prog = prog_load(prog_type::XDP, &bytecode(PRIMES_KERNEL), "GPL", 0)
            .map_err(|e| e.to_string())?;
        let mut packet = [0u8; 64];
        packet[..4].copy_from_slice(&PRIMES_LIMIT.to_le_bytes());
        packet[4..8].copy_from_slice(&2u32.to_le_bytes());
        best_of_three(|| {
            let run = prog.test_run(&packet, 200, 64).map_err(|e| e.to_string())?;
            assert_eq!(run.retval as u64, PRIMES_BELOW_LIMIT);
            Ok(run.duration_ns as f64)
        })
    });
    Row {
        name: "primes < 10000",
        native,
        interp,
        jit,
        rbpf,
        kernel,
        note: "kernel: limit read from the packet, may_goto in both loops".into(),
    }
}

fn best_of_three(mut f: impl FnMut() -> Result<f64, String>) -> Result<f64, String> {
    let mut best = f64::INFINITY;
    for _ in 0..3 {
        best = best.min(f()?);
    }
    Ok(best)
}

/// The largest XDP packet test_run accepts, its copy program and the kernel's time per byte.
fn kernel_copy_per_byte() -> Result<(usize, f64), String> {
    available()?;
    // 4 KiB pages: 4096 - 256 (XDP_PACKET_HEADROOM) - 320 (skb_shared_info) = 3520.
    let mut len = 3520usize;
    loop {
        let half = len / 2;
        let code = bytecode(&copy_kernel_program(half as u16));
        let prog = prog_load(prog_type::XDP, &code, "GPL", 0).map_err(|e| e.to_string())?;
        let packet: Vec<u8> = (0..len).map(|i| (i * 31 + 7) as u8).collect();
        match prog.test_run(&packet, 1, len) {
            Ok(run) => {
                let mut expected = packet.clone();
                native_copy(&mut expected);
                assert_eq!(run.retval, 2);
                assert_eq!(run.data_out, expected, "kernel copy result");
                let ns = best_of_three(|| {
                    let run = prog
                        .test_run(&packet, 2000, len)
                        .map_err(|e| e.to_string())?;
                    Ok(run.duration_ns as f64)
                })?;
                return Ok((half, ns / half as f64));
            }
            // EINVAL: packet too large for this kernel's page and headroom sizes.
            Err(e) if len > 256 && e.kind() == std::io::ErrorKind::InvalidInput => len -= 64,
            Err(e) => return Err(format!("BPF_PROG_TEST_RUN: {e}")),
        }
    }
}

fn copy() -> Row {
    let fresh = || -> Vec<u8> { (0..2 * COPY_LEN).map(|i| (i * 13 + 1) as u8).collect() };
    let mut expected = fresh();
    native_copy(&mut expected);

    let mut buf = fresh();
    let native = measure(|| native_copy(black_box(&mut buf)));
    assert_eq!(buf, expected);

    let text = copy_program(COPY_LEN as u32);
    let vm = interpreter(&text);
    let mut buf = fresh();
    let interp = measure(|| {
        assert_eq!(vm.run_raw(black_box(&mut buf)), Ok(0));
    });
    assert_eq!(buf, expected);

    let jp = jit(&text);
    let mut buf = fresh();
    let jit = measure(|| {
        assert_eq!(jp.run_raw(black_box(&mut buf)), Ok(0));
    });
    assert_eq!(buf, expected);

    // rbpf ties the memory borrow to the VM's lifetime, so each run builds its VM
    // (a verifier pass over 11 instructions: negligible next to 6 million executed).
    let code = bytecode(&text);
    let mut buf = fresh();
    let rbpf = measure(|| {
        let rvm = rbpf::EbpfVmRaw::new(Some(&code)).expect("rbpf accepts copy");
        assert_eq!(
            rvm.execute_program(black_box(&mut buf)).expect("rbpf runs"),
            0
        );
    });
    assert_eq!(buf, expected);

    let (kernel, note) = match kernel_copy_per_byte() {
        Ok((half, per_byte)) => (
            Ok(per_byte * COPY_LEN as f64),
            format!(
                "kernel: {half} bytes per XDP packet (largest accepted), scaled to 1 MiB; \
                 checks data_end per byte"
            ),
        ),
        Err(e) => (Err(e), String::new()),
    };
    Row {
        name: "copy 1 MiB",
        native,
        interp,
        jit,
        rbpf,
        kernel,
        note,
    }
}

fn fmt_ns(ns: f64) -> String {
    if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.1} us", ns / 1e3)
    } else {
        format!("{ns:.0} ns")
    }
}

fn main() {
    // `cargo bench` passes --bench; a filter argument is accepted and ignored.
    let rows = [primes(), copy()];
    println!();
    println!(
        "{:<16} {:>10} {:>10} {:>10} {:>10} {:>10} {:>8} {:>8} {:>8} {:>8} {:>8}",
        "program",
        "native",
        "interp",
        "jit",
        "rbpf 0.4",
        "kernel JIT",
        "int/nat",
        "rbpf/int",
        "int/kern",
        "jit/nat",
        "jit/kern"
    );
    for r in &rows {
        let ratio = |a: f64| match &r.kernel {
            Ok(k) => format!("{:.2}x", a / k),
            Err(_) => "n/a".into(),
        };
        let k = match &r.kernel {
            Ok(k) => fmt_ns(*k),
            Err(_) => "n/a".into(),
        };
        println!(
            "{:<16} {:>10} {:>10} {:>10} {:>10} {:>10} {:>8} {:>8} {:>8} {:>8} {:>8}",
            r.name,
            fmt_ns(r.native),
            fmt_ns(r.interp),
            fmt_ns(r.jit),
            fmt_ns(r.rbpf),
            k,
            format!("{:.1}x", r.interp / r.native),
            format!("{:.2}x", r.rbpf / r.interp),
            ratio(r.interp),
            format!("{:.2}x", r.jit / r.native),
            ratio(r.jit),
        );
    }
    println!();
    for r in &rows {
        match &r.kernel {
            Ok(_) if !r.note.is_empty() => println!("{}: {}", r.name, r.note),
            Ok(_) => {}
            Err(e) => println!("{}: kernel skipped: {e}", r.name),
        }
    }
}
