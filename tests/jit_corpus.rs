//! Differential test of the JIT against the interpreter on the real-world corpus
//! (`../shared/corpus/ebpf-samples`, `invalid/` skipped).
//!
//! For every xdp, socket filter and tc program the verifier accepts (with the object's
//! maps, as the packet hooks verify for the JIT: [`engine::map_infos`],
//! [`engine::prog_type_for_jit`], packet types only; with a program array in the object, every other program
//! must be accepted too, since tail calls may reach it), two fresh
//! [`ObjectInstance`]s are loaded: one runs the program in the interpreter
//! ([`PreparedProgram::test_run`]), the other in the JIT
//! ([`userbpf_jit::compile_prepared`], [`JitObjectProgram::test_run`]). Both get the same
//! generated packets (a deterministic PRNG: Ethernet + IPv4/IPv6 + TCP/UDP with random
//! fields and payloads, and a few frames of random bytes); the return value, r0, the output
//! packet and context are compared per packet, and every map's contents (listed from user
//! space) after all packets; on a map difference the packets are replayed on fresh
//! instances to name the first packet after which the maps differ.
//!
//! Programs are prepared as [`ObjectInstance::program`] does (kernel, packet and map
//! helpers), except that the clock and random-number helpers count up from fixed values in
//! both engines. The thread is pinned to one CPU, so `bpf_get_smp_processor_id` and the
//! per-CPU map slots are the same in both runs. Skipped, with the reason counted: programs
//! whose preparation fails (helpers user space cannot provide, objects the runtime cannot
//! load), and programs of objects with a program array where some program is not verified.
//!
//! `cargo test -p userbpf-tests --test jit_corpus -- --nocapture` prints the counts.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use userbpf_hooks::packet::engine;
use userbpf_jit::{JitObjectProgram, JitOptions};
use userbpf_object::Object;
use userbpf_runtime::context::{
    register_packet_helpers, ProgType, TestRunError, TestRunInput, TestRunOutput,
};
use userbpf_runtime::kernel_helpers::{self, LocalEnv, TraceSink};
use userbpf_runtime::{Helpers, LoadOptions, ObjectInstance, PreparedProgram};
use userbpf_verifier::{Options, VerifiedProgram, VerifierInput};

/// Structured packets per program, then frames of random bytes.
const PACKETS: usize = 10;
const RANDOM_FRAMES: usize = 3;

/// Helpers whose results differ between two calls (clocks, random numbers): both engines
/// get the same deterministic stand-ins (a counter per instance), so runs stay comparable.
const NONDETERMINISTIC: &[(u32, &str)] = &[
    (5, "bpf_ktime_get_ns"),
    (7, "bpf_get_prandom_u32"),
    (118, "bpf_jiffies64"),
    (125, "bpf_ktime_get_boot_ns"),
    (160, "bpf_ktime_get_coarse_ns"),
    (208, "bpf_ktime_get_tai_ns"),
];

/// xorshift64*.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }

    fn port(&mut self) -> u16 {
        const COMMON: [u16; 6] = [53, 80, 443, 22, 8080, 4789];
        if self.below(2) == 0 {
            COMMON[self.below(COMMON.len() as u64) as usize]
        } else {
            self.next() as u16
        }
    }
}

fn checksum(bytes: &[u8]) -> u16 {
    let mut sum = 0u32;
    for chunk in bytes.chunks(2) {
        sum += u32::from(u16::from_be_bytes([chunk[0], *chunk.get(1).unwrap_or(&0)]));
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Ethernet + IPv4 or IPv6 + TCP or UDP (sometimes another protocol number), with random
/// fields and a payload of random length.
fn packet(rng: &mut Rng) -> Vec<u8> {
    let v6 = rng.below(3) == 0;
    let proto: u8 = match rng.below(8) {
        0 => rng.next() as u8,
        1..=4 => 6,
        _ => 17,
    };
    let payload_len = rng.below(160) as usize;
    let payload = rng.bytes(payload_len);
    let mut l4 = Vec::new();
    if proto == 6 {
        l4.extend(rng.port().to_be_bytes());
        l4.extend(rng.port().to_be_bytes());
        l4.extend(rng.bytes(8)); // seq, ack
        l4.push(5 << 4); // data offset
        l4.push(rng.next() as u8); // flags
        l4.extend(rng.bytes(6)); // window, checksum, urgent pointer
    } else if proto == 17 {
        l4.extend(rng.port().to_be_bytes());
        l4.extend(rng.port().to_be_bytes());
        l4.extend(((8 + payload.len()) as u16).to_be_bytes());
        l4.extend(rng.bytes(2));
    }
    l4.extend(&payload);

    let mut p = Vec::new();
    p.extend(rng.bytes(12)); // destination and source MAC
    if v6 {
        p.extend([0x86, 0xdd]);
        p.extend([
            0x60,
            rng.next() as u8 & 0x0f,
            rng.next() as u8,
            rng.next() as u8,
        ]);
        p.extend((l4.len() as u16).to_be_bytes());
        p.push(proto);
        p.push(rng.next() as u8); // hop limit
        p.extend(rng.bytes(32));
    } else {
        p.extend([0x08, 0x00]);
        let mut ip = vec![0x45, rng.next() as u8];
        ip.extend(((20 + l4.len()) as u16).to_be_bytes());
        ip.extend(rng.bytes(2)); // id
        let frag: u16 = match rng.below(6) {
            0 => rng.next() as u16,
            1 => 0x2000,
            _ => 0x4000,
        };
        ip.extend(frag.to_be_bytes());
        ip.push(rng.next() as u8); // ttl
        ip.push(proto);
        ip.extend([0, 0]);
        ip.extend(rng.bytes(8));
        if rng.below(4) != 0 {
            let c = checksum(&ip);
            ip[10..12].copy_from_slice(&c.to_be_bytes());
        }
        p.extend(ip);
    }
    p.extend(l4);
    p
}

fn packets(seed: u64) -> Vec<Vec<u8>> {
    let mut rng = Rng(seed | 1);
    let mut out: Vec<Vec<u8>> = (0..PACKETS).map(|_| packet(&mut rng)).collect();
    for _ in 0..RANDOM_FRAMES {
        let n = rng.below(96) as usize;
        out.push(rng.bytes(n));
    }
    out
}

fn seed_of(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// Pin the calling thread to the first CPU it may run on.
fn pin_thread() {
    // SAFETY: `set` is a valid cpu_set_t owned by this frame; pid 0 is the calling thread.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
            return;
        }
        let Some(cpu) = (0..libc::CPU_SETSIZE as usize).find(|&c| libc::CPU_ISSET(c, &set)) else {
            return;
        };
        libc::CPU_ZERO(&mut set);
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}

fn load(object: &Object) -> Result<ObjectInstance, String> {
    let options = LoadOptions {
        helper_env: Some(Arc::new(LocalEnv::new(TraceSink::Discard))),
        ..LoadOptions::default()
    };
    ObjectInstance::load(object, &options).map_err(|e| e.to_string())
}

/// Every map's contents (`Err` text for maps that cannot be listed).
type MapDump = Vec<(String, Result<Vec<(Vec<u8>, Vec<u8>)>, String>)>;

fn dump(instance: &ObjectInstance) -> MapDump {
    instance
        .maps()
        .into_iter()
        .map(|(name, map)| {
            // Hash maps list their elements in an order of their own (hash seeds differ
            // between instances): compare them sorted by key.
            let entries: Result<Vec<_>, _> = map.iter().collect();
            let entries = entries.map(|mut v| {
                v.sort();
                v
            });
            (name, entries.map_err(|e| e.to_string()))
        })
        .collect()
}

/// What a run gave, in a comparable form.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Ran {
        retval: u32,
        r0: u64,
        data_out: Vec<u8>,
        ctx_out: Vec<u8>,
    },
    Refused(i32),
    Unsupported,
    Trapped,
}

fn outcome(r: Result<TestRunOutput, TestRunError>) -> Outcome {
    match r {
        Ok(o) => Outcome::Ran {
            retval: o.retval,
            r0: o.r0,
            data_out: o.data_out,
            ctx_out: o.ctx_out,
        },
        Err(TestRunError::Invalid { errno, .. }) => Outcome::Refused(errno),
        Err(TestRunError::Unsupported(_)) => Outcome::Unsupported,
        Err(TestRunError::Trap(_)) => Outcome::Trapped,
    }
}

fn input(data: &[u8]) -> TestRunInput<'_> {
    TestRunInput {
        data_in: data,
        ctx_in: None,
        repeat: 1,
    }
}

/// Program `name` of `instance` with the helpers [`ObjectInstance::program`] gives (kernel
/// helpers, the packet helpers of its type, the instance's map helpers), except that the
/// clocks and random numbers count up from fixed values.
fn prepare(instance: &ObjectInstance, name: &str) -> Result<PreparedProgram, String> {
    let mut base = Helpers::new();
    kernel_helpers::register(&mut base, Arc::new(LocalEnv::new(TraceSink::Discard)));
    let spec = instance
        .program_spec(name)
        .ok_or_else(|| format!("no program {name}"))?;
    if let Some(pt) = ProgType::from_id(spec.prog_type.id()) {
        register_packet_helpers(&mut base, pt);
    }
    let calls = Arc::new(AtomicU64::new(0));
    for &(id, helper) in NONDETERMINISTIC {
        let calls = calls.clone();
        base.register(id, helper, move |_, _| {
            let n = calls.fetch_add(1, Ordering::Relaxed);
            Ok(if id == 7 {
                (n.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 32) as u32 as u64
            } else {
                1_000_000_000 + n * 1_000
            })
        });
    }
    instance
        .program_with(name, &base)
        .map_err(|e| e.to_string())
}

/// Runs one packet through an engine.
type RunFn = Box<dyn Fn(&[u8]) -> Outcome>;

/// One engine's instance and program.
struct Side {
    instance: ObjectInstance,
    run: RunFn,
}

fn interp_side(object: &Object, name: &str) -> Result<Side, String> {
    let instance = load(object)?;
    let prepared = prepare(&instance, name)?;
    Ok(Side {
        instance,
        run: Box::new(move |data| outcome(prepared.test_run(&input(data)))),
    })
}

fn jit_side(object: &Object, name: &str, verified: &VerifiedProgram) -> Result<Side, String> {
    let instance = load(object)?;
    let prepared = prepare(&instance, name)?;
    // SAFETY: `verified` is the verifier's result for this program of the object the
    // instance was loaded from (with the object's maps), and with a program array every
    // other program of the object was accepted too (see `verify_all`).
    let jit: JitObjectProgram =
        unsafe { userbpf_jit::compile_prepared(&prepared, Some(verified), &JitOptions::default()) }
            .map_err(|e| format!("JIT: {e}"))?;
    Ok(Side {
        instance,
        run: Box::new(move |data| outcome(jit.test_run(&input(data)))),
    })
}

/// The verifier's verdict on every program of the modelled types (None: not modelled).
fn verify_all(object: &Object) -> Vec<Option<Result<VerifiedProgram, String>>> {
    let maps = engine::map_infos(object);
    object
        .programs
        .iter()
        .map(|p| {
            // Packet programs: the generated inputs are packets.
            let prog_type = engine::prog_type_for_jit(p).filter(|t| {
                matches!(
                    t,
                    userbpf_verifier::ProgType::Xdp
                        | userbpf_verifier::ProgType::SocketFilter
                        | userbpf_verifier::ProgType::SchedCls
                )
            })?;
            let input = VerifierInput {
                program: &p.insns,
                prog_type,
                maps: &maps,
                options: Options {
                    allow_uninit_stack: true,
                    ..Options::default()
                },
            };
            Some(userbpf_verifier::verify(&input).map_err(|e| e.message))
        })
        .collect()
}

#[derive(Default)]
struct Counts {
    objects: usize,
    programs: usize,
    packets: usize,
    ran: usize,
    refused: usize,
    trapped: usize,
    rejected: usize,
    skipped: BTreeMap<String, usize>,
    failures: Vec<String>,
}

fn compare_program(object: &Object, name: &str, verified: &VerifiedProgram, c: &mut Counts) {
    let sides = interp_side(object, name).and_then(|i| Ok((i, jit_side(object, name, verified)?)));
    let (interp, jit) = match sides {
        Ok(s) => s,
        Err(why) => {
            // Keep the reason short: the helper, not the program and instruction.
            let reason = match (why.find("helper "), why.find(" is not provided")) {
                (Some(a), Some(b)) if a < b => format!("{} not provided in user space", &why[a..b]),
                _ => why,
            };
            *c.skipped
                .entry(format!("preparation: {reason}"))
                .or_default() += 1;
            return;
        }
    };
    let inputs = packets(seed_of(name));
    c.programs += 1;
    for (k, data) in inputs.iter().enumerate() {
        let a = (interp.run)(data);
        let b = (jit.run)(data);
        c.packets += 1;
        match &a {
            Outcome::Ran { .. } => c.ran += 1,
            Outcome::Refused(_) | Outcome::Unsupported => c.refused += 1,
            Outcome::Trapped => c.trapped += 1,
        }
        if a != b {
            c.failures.push(format!(
                "packet {k} ({data:02x?}): interpreter {a:?}, JIT {b:?}"
            ));
            return;
        }
    }
    if dump(&interp.instance) == dump(&jit.instance) {
        return;
    }
    // Find the first packet after which the maps differ.
    let (Ok(interp), Ok(jit)) = (interp_side(object, name), jit_side(object, name, verified))
    else {
        c.failures.push("maps differ".to_string());
        return;
    };
    for (k, data) in inputs.iter().enumerate() {
        (interp.run)(data);
        (jit.run)(data);
        let (a, b) = (dump(&interp.instance), dump(&jit.instance));
        if a != b {
            let diff: Vec<String> = a
                .iter()
                .zip(&b)
                .filter(|(x, y)| x != y)
                .map(|(x, y)| format!("map {}: interpreter {:02x?}, JIT {:02x?}", x.0, x.1, y.1))
                .collect();
            c.failures.push(format!(
                "maps differ after packet {k} ({data:02x?}): {}",
                diff.join("; ")
            ));
            return;
        }
    }
    c.failures
        .push("maps differ after all packets, not on replay".to_string());
}

#[test]
fn jit_matches_interpreter_on_corpus() {
    let dir = userbpf_tests::shared_dir().join("corpus/ebpf-samples");
    if !dir.exists() {
        eprintln!("corpus not found at {}: skipped", dir.display());
        return;
    }
    pin_thread();
    let mut c = Counts::default();
    for path in userbpf_tests::elf_files(&dir) {
        let rel = path
            .strip_prefix(&dir)
            .unwrap_or(&path)
            .display()
            .to_string();
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        let Ok(object) = Object::parse(&bytes) else {
            continue;
        };
        let verdicts = verify_all(&object);
        if verdicts.iter().all(|v| v.is_none()) {
            continue;
        }
        c.objects += 1;
        let prog_array = userbpf_verifier::input::map_type::PROG_ARRAY;
        let tail_calls = object.maps.iter().any(|m| m.map_type == prog_array);
        let all_accepted = verdicts.iter().all(|v| matches!(v, Some(Ok(_))));
        for (p, verdict) in object.programs.iter().zip(&verdicts) {
            let Some(verdict) = verdict else {
                continue;
            };
            let Ok(verified) = verdict else {
                c.rejected += 1;
                continue;
            };
            if tail_calls && !all_accepted {
                let reason = "a tail-call target is not verified".to_string();
                *c.skipped.entry(reason).or_default() += 1;
                continue;
            }
            let name = format!("{rel}:{}", p.name);
            let before = c.failures.len();
            compare_program(&object, &p.name, verified, &mut c);
            for f in &mut c.failures[before..] {
                *f = format!("{name}: {f}");
            }
        }
    }
    println!(
        "jit corpus: {} objects, {} programs compared, {} packets ({} ran, {} refused by \
         test-run, {} trapped in both), {} rejected by the verifier",
        c.objects, c.programs, c.packets, c.ran, c.refused, c.trapped, c.rejected
    );
    for (reason, n) in &c.skipped {
        println!("  skipped {n}: {reason}");
    }
    for f in &c.failures {
        println!("MISMATCH {f}");
    }
    assert!(
        c.failures.is_empty(),
        "{} programs differ between the interpreter and the JIT",
        c.failures.len()
    );
}
