//! Packets per second on one core: the examples' XDP programs (firewall, counter, load
//! balancer, filter) on an in-memory pcap of 64-byte and of 1500-byte packets, through the
//! packet hook ([`PacketHook::run_pcap_bytes`]: read the capture's records, run every packet
//! with test-run semantics, in place in the capture when the program cannot write it, count
//! verdicts; also with every packet copied into the frame, and writing the packets that go
//! on to an in-memory pcap) with the JIT and with the interpreter, and the program alone in userbpf's test-run
//! loop, against the kernel running the same object with `BPF_PROG_TEST_RUN` and `repeat`
//! on the same packets (its own mean run time, and the wall time of the syscalls), in one
//! run, printed as a table with ratios to the kernel's run time.
//!
//! `cargo bench -p userbpf-hooks --bench packets [-- SECONDS_PER_CELL]`
//!
//! Needs a usable `bpf()` for the kernel column (otherwise prints "-").

#[path = "../tests/common/packet_setup.rs"]
mod packet_setup;

use std::io::Cursor;
use std::path::Path;
use std::time::{Duration, Instant};

use userbpf_hooks::packet::traffic::{Frame, L4};
use userbpf_hooks::packet::{
    CaptureReader, CaptureWriter, EngineKind, Format, PacketHook, Runner, Timestamp,
};
use userbpf_object::Object;
use userbpf_runtime::context::TestRunInput;

use packet_setup::{instance_with_setup, setup, VIP};

const PACKETS: usize = 256;

/// `PACKETS` UDP packets of `size` bytes (Ethernet to the end), to the VIP for the load
/// balancer, from varying sources the firewall lets through.
fn packets(size: usize) -> Vec<Vec<u8>> {
    let f = Frame::default();
    (0..PACKETS)
        .map(|i| {
            let payload = vec![0x5a; size - 42];
            let src = [10, 2, (i / 250) as u8, (i % 250) as u8 + 1];
            let p = f.ipv4(src, VIP, L4::Udp, 1024 + i as u16, 53, &payload);
            assert_eq!(p.len(), size);
            p
        })
        .collect()
}

/// The packets as an in-memory pcap.
fn pcap(packets: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    let format = Format::Pcap {
        nanos: false,
        big_endian: false,
    };
    let mut w = CaptureWriter::new(&mut out, format).unwrap();
    for (i, p) in packets.iter().enumerate() {
        let ts = Timestamp {
            secs: 1_700_000_000,
            nanos: i as u32 * 1000,
        };
        w.write(ts, p, p.len() as u32, 0, 1).unwrap();
    }
    w.finish().unwrap();
    out
}

fn hook(object: &Object, name: &str, engine: EngineKind) -> PacketHook {
    let instance = instance_with_setup(object, name);
    let prepared = instance.program(name).unwrap();
    let runner = Runner::verified(object, prepared, Some(engine)).unwrap();
    PacketHook::with_runner(runner).unwrap()
}

/// Length of one timed trial; each cell reports its best trial (this 2-core machine is
/// shared, and a trial preempted by another process measures the other process; the
/// kernel's own test-run timer stops while its loop is preempted).
const TRIAL: Duration = Duration::from_millis(20);

/// The best rate of `trial` (which gives how many packets it ran) over trials of at least
/// [`TRIAL`] each, for at least `time` in all.
fn best_rate(time: Duration, mut trial: impl FnMut() -> u64) -> f64 {
    trial(); // warm up
    let start = Instant::now();
    let mut best = 0f64;
    while start.elapsed() < time || best == 0.0 {
        let t = Instant::now();
        let mut n = 0;
        while t.elapsed() < TRIAL {
            n += trial();
        }
        best = best.max(n as f64 / t.elapsed().as_secs_f64());
    }
    best
}

/// Packets per second through the hook: the whole `userbpf xdp` path from the in-memory
/// capture's records to verdict counts (and, with `out`, the passed and sent-back packets
/// written to an in-memory pcap), reading the capture again and again.
/// How the hook is driven.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Drive {
    /// `run_pcap_bytes`, verdicts only (packets in place where the program allows).
    Tight,
    /// `run_pcap_bytes` with every packet copied into the frame, verdicts only.
    Copy,
    /// `run_pcap` writing the packets that go on.
    Out,
    /// `run_capture` with a callback per packet (what `userbpf xdp --json` uses), writing
    /// the packets that go on.
    Each,
}

fn userbpf_rate(
    object: &Object,
    name: &str,
    engine: EngineKind,
    file: &[u8],
    path: Drive,
    time: Duration,
) -> f64 {
    let mut hook = hook(object, name, engine);
    hook.set_in_place(path != Drive::Copy);
    let mut sink = Vec::with_capacity(file.len() * 2);
    best_rate(time, || {
        let s = if matches!(path, Drive::Out | Drive::Each) {
            let reader = CaptureReader::new(Cursor::new(file)).unwrap();
            let format = reader.format();
            sink.clear();
            let mut w = CaptureWriter::new(&mut sink, format).unwrap();
            let mut lens = 0u64;
            let s = if path == Drive::Each {
                hook.run_capture(reader, Some(&mut w), |_, r| {
                    lens += r.data.len() as u64;
                })
            } else {
                hook.run_pcap(reader, Some(&mut w))
            }
            .expect("capture runs");
            std::hint::black_box(lens);
            w.finish().unwrap();
            assert!(s.written > 0 || name == "xdp_firewall" || s.packets == 0);
            s
        } else {
            hook.run_pcap_bytes::<Vec<u8>>(file, None)
                .expect("capture runs")
        };
        assert_eq!(s.traps, 0);
        s.packets
    })
}

/// Runs per second of userbpf's own test-run loop (`repeat` on each packet in turn, its
/// mean duration): the program alone, as the kernel's loop measures it.
fn userbpf_loop_rate(
    object: &Object,
    name: &str,
    engine: EngineKind,
    packets: &[Vec<u8>],
    time: Duration,
) -> f64 {
    let hook = hook(object, name, engine);
    let runner = hook.runner();
    let mut best = 0f64;
    let start = Instant::now();
    while start.elapsed() < time || best == 0.0 {
        let mut total = 0f64;
        for p in packets {
            let out = runner
                .test_run(&TestRunInput {
                    data_in: p,
                    ctx_in: None,
                    repeat: 200,
                })
                .unwrap();
            total += out.duration.as_secs_f64();
        }
        best = best.max(packets.len() as f64 / total);
    }
    best
}

/// The kernel's rates on the packets, each for at least `time`.
struct KernelRates {
    /// `repeat` runs on each packet in turn, by the kernel's own run timer.
    loop_reported: f64,
    /// The same runs by wall time.
    loop_wall: f64,
    /// Each packet once (`repeat` 1) in turn, by wall time: a capture run through the
    /// kernel's test run packet by packet, as `userbpf xdp` runs it.
    each_wall: f64,
}

/// The kernel's test-run rates on `packets` ([`KernelRates`]).
fn kernel_rate(
    object: &Object,
    name: &str,
    packets: &[Vec<u8>],
    time: Duration,
) -> Option<KernelRates> {
    let kernel = userbpf_kernel::load_object(object).ok()?;
    for (map, key, value) in setup(name) {
        let fd = kernel.map(map)?;
        let mut v = value;
        v.resize(fd.value_size() as usize, 0);
        fd.update(&key, &v, 0).ok()?;
    }
    let prog = kernel.program(name)?;
    const REPEAT: u32 = 2000;
    let start = Instant::now();
    let mut n = 0u64;
    let mut reported_ns = 0u64;
    while start.elapsed() < time {
        for p in packets {
            let r = prog
                .test_run_with(&userbpf_kernel::TestRunOptions {
                    data_in: p,
                    repeat: REPEAT,
                    ..Default::default()
                })
                .ok()?;
            n += u64::from(REPEAT);
            reported_ns += u64::from(r.duration_ns) * u64::from(REPEAT);
        }
    }
    let loop_wall = n as f64 / start.elapsed().as_secs_f64();
    let loop_reported = n as f64 * 1e9 / reported_ns.max(1) as f64;
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < time {
        for p in packets {
            prog.test_run_with(&userbpf_kernel::TestRunOptions {
                data_in: p,
                repeat: 1,
                ..Default::default()
            })
            .ok()?;
            n += 1;
        }
    }
    let each_wall = n as f64 / start.elapsed().as_secs_f64();
    Some(KernelRates {
        loop_reported,
        loop_wall,
        each_wall,
    })
}

/// Pin the process to one CPU (the kernel's test runs happen on the calling CPU).
fn pin_one_core() {
    // SAFETY: a zeroed cpu_set_t is a valid empty set; the call only reads it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(0, &mut set);
        let _ = libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}

fn mpps(r: f64) -> String {
    format!("{:>8.2}", r / 1e6)
}

fn main() {
    let secs: f64 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(1.0);
    let time = Duration::from_secs_f64(secs);
    pin_one_core();
    let kernel_ok = userbpf_kernel::available().is_ok();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    println!(
        "packets/s (millions) on one core, {PACKETS}-packet in-memory pcap, {secs} s per cell; \
         kernel: BPF_PROG_TEST_RUN repeat"
    );
    println!(
        "{:<13} {:>5} | {:>8} {:>8} {:>8} {:>8} {:>8} {:>8} | {:>9} {:>9} {:>9} | {:>8} {:>8} {:>8} {:>8}",
        "program",
        "size",
        "hook-jit",
        "hook-cpy",
        "hook-out",
        "each-jit",
        "hook-int",
        "loop-jit",
        "kern-loop",
        "kern-wall",
        "kern-each",
        "hook/kl",
        "out/kl",
        "loop/kl",
        "each/ke"
    );
    for name in ["xdp_firewall", "xdp_counter", "xdp_lb", "xdp_filter"] {
        let path = repo.join("examples").join(format!("{name}.bpf.o"));
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let object = Object::parse(&bytes).unwrap();
        for size in [64usize, 1500] {
            let packets = packets(size);
            let file = pcap(&packets);
            let jit = userbpf_rate(&object, name, EngineKind::Jit, &file, Drive::Tight, time);
            let copy = userbpf_rate(&object, name, EngineKind::Jit, &file, Drive::Copy, time);
            let out = userbpf_rate(&object, name, EngineKind::Jit, &file, Drive::Out, time);
            let each = userbpf_rate(&object, name, EngineKind::Jit, &file, Drive::Each, time);
            let interp = userbpf_rate(&object, name, EngineKind::Interp, &file, Drive::Tight, time);
            let loop_jit = userbpf_loop_rate(&object, name, EngineKind::Jit, &packets, time);
            let kernel = kernel_ok
                .then(|| kernel_rate(&object, name, &packets, time))
                .flatten();
            let cols = match kernel {
                Some(k) => format!(
                    "{:>9.2} {:>9.2} {:>9.2} | {:>8.2} {:>8.2} {:>8.2} {:>8.2}",
                    k.loop_reported / 1e6,
                    k.loop_wall / 1e6,
                    k.each_wall / 1e6,
                    jit / k.loop_reported,
                    out / k.loop_reported,
                    loop_jit / k.loop_reported,
                    each / k.each_wall
                ),
                None => format!(
                    "{:>9} {:>9} {:>9} | {:>8} {:>8} {:>8} {:>8}",
                    "-", "-", "-", "-", "-", "-", "-"
                ),
            };
            println!(
                "{name:<13} {size:>5} | {} {} {} {} {} {} | {cols}",
                mpps(jit),
                mpps(copy),
                mpps(out),
                mpps(each),
                mpps(interp),
                mpps(loop_jit)
            );
        }
    }
    println!(
        "hook-jit/-int: PacketHook::run_pcap_bytes over the in-memory pcap (records read, \
         packets run with test-run semantics, in place in the capture when the program cannot \
         write them, verdicts counted), best of {}-ms trials; hook-cpy: the same with every \
         packet copied into the frame (the path of programs that write); hook-out: \
         PacketHook::run_pcap, writing the passed and sent-back packets to an in-memory pcap; each-jit: \
         PacketHook::run_capture, the per-packet path of `userbpf xdp --json` (each result \
         handed to a callback), writing as hook-out; loop-jit: \
         userbpf's test_run repeat (the program alone); kern-loop: the kernel's own mean run \
         time with repeat; kern-wall: the same runs by wall time (each BPF_PROG_TEST_RUN \
         call of an XDP program with repeat > 1 swaps the XDP dispatcher); kern-each: each \
         packet once in turn (repeat 1, one BPF_PROG_TEST_RUN per packet), by wall time — \
         the kernel's test-run rate on the capture, packet by packet as each-jit",
        TRIAL.as_millis()
    );
}
