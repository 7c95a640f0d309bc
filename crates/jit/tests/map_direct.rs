//! Direct map calls of JIT code (`userbpf_runtime::kernel_helpers::map_fast`) against the
//! interpreter, which calls the helpers: lookup, update and delete on every element map
//! type, with the flags and indices the kernel refuses, LPM prefixes, ring buffer records
//! (submitted, discarded, refused flags), and a submit with bad flags, which traps in both
//! (the direct call falls back to the helper). The code must call the direct functions.
//! Inline hash (keys of 1 to 8 bytes) and IPv4 LPM lookups also race with user-space writes.

use std::path::{Path, PathBuf};
use std::process::Command;

use iced_x86::{Decoder, DecoderOptions, Mnemonic, OpKind};
use userbpf_jit::{compile_prepared, JitOptions};
use userbpf_object::Object;
use userbpf_runtime::context::TestRunInput;
use userbpf_runtime::instance::{LoadOptions, ObjectInstance};
use userbpf_runtime::kernel_helpers::map_fast;

fn compile() -> Option<Vec<u8>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/map_direct.bpf.c");
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("jit-map_direct.bpf.o");
    let status = Command::new("clang-19")
        .args(["-g", "-O2", "-target", "bpf", "-mcpu=v3", "-c"])
        .arg("-I/usr/include/x86_64-linux-gnu")
        .arg(&src)
        .arg("-o")
        .arg(&out)
        .status();
    match status {
        Ok(s) if s.success() => Some(std::fs::read(&out).unwrap()),
        Ok(_) => panic!("clang-19 failed on {}", src.display()),
        Err(_) => {
            println!("skipped: clang-19 not found");
            None
        }
    }
}

/// Every map's entries (sorted) and the ring buffer's records, by map name.
type State = Vec<(String, Vec<(Vec<u8>, Vec<u8>)>)>;

fn state(instance: &ObjectInstance) -> State {
    instance
        .maps()
        .into_iter()
        .map(|(name, m)| {
            let mut entries: Vec<_> = if name == "ring" {
                let mut records = Vec::new();
                m.ringbuf_consume(|r| records.push((Vec::new(), r.to_vec())))
                    .unwrap();
                records
            } else {
                m.iter().map(|e| e.unwrap()).collect()
            };
            if name != "ring" {
                entries.sort();
            }
            (name, entries)
        })
        .collect()
}

/// The 64-bit immediates the code moves into registers (helper and map addresses).
fn immediates(code: &[u8]) -> Vec<u64> {
    let mut d = Decoder::with_ip(64, code, 0, DecoderOptions::NONE);
    let mut out = Vec::new();
    while d.can_decode() {
        let i = d.decode();
        if i.mnemonic() == Mnemonic::Mov && i.op_count() == 2 && i.op1_kind() == OpKind::Immediate64
        {
            out.push(i.immediate64());
        }
    }
    out
}

type Outcome = (Vec<Result<u32, String>>, State);

fn run(object: &Object, name: &str, jit: bool) -> Outcome {
    let instance = ObjectInstance::load(object, &LoadOptions::default()).unwrap();
    let prepared = instance.program(name).unwrap();
    let verified =
        userbpf_verifier::object_input::verify_with_tail_call_targets(object, name, &|_| true)
            .unwrap()
            .unwrap();
    prepared
        .limit_tail_call_targets(&|t| verified.may_reach(t))
        .unwrap();
    let verified = verified.program;
    let jp = jit.then(|| {
        // SAFETY: the verifier accepted the program (just above).
        let j = unsafe { compile_prepared(&prepared, Some(&verified), &JitOptions::default()) }
            .unwrap();
        let imms = immediates(j.jit().code());
        let expected: Vec<u64> = match name {
            "elements" => vec![
                map_fast::lookup_elem as *const () as u64,
                map_fast::update_elem as *const () as u64,
                map_fast::delete_elem as *const () as u64,
            ],
            "prefixes" | "longest" | "probe" => vec![map_fast::lookup_elem as *const () as u64],
            _ => vec![
                map_fast::ringbuf_reserve as *const () as u64,
                map_fast::ringbuf_submit as *const () as u64,
            ],
        };
        for f in expected {
            assert!(imms.contains(&f), "{name}: no direct call of 0x{f:x}");
        }
        j
    });
    let mut runs = Vec::new();
    for _ in 0..3 {
        let input = TestRunInput {
            data_in: &[0u8; 64],
            ctx_in: None,
            repeat: 1,
        };
        let out = match &jp {
            Some(j) => j.test_run(&input),
            None => prepared.test_run(&input),
        };
        runs.push(out.map(|o| o.retval).map_err(|e| {
            let msg = e.to_string();
            assert!(msg.contains("bpf_ringbuf_submit"), "{name}: {msg}");
            "trap in bpf_ringbuf_submit".to_string()
        }));
    }
    (runs, state(&instance))
}

#[test]
fn direct_map_calls_match_the_helpers() {
    let Some(bytes) = compile() else {
        return;
    };
    let object = Object::parse(&bytes).unwrap();
    for name in ["elements", "prefixes", "longest", "records", "bad_submit"] {
        let interp = run(&object, name, false);
        let jit = run(&object, name, true);
        assert_eq!(interp, jit, "{name}");
        if name == "bad_submit" {
            assert!(jit.0.iter().all(|r| r.is_err()), "{name}: {:?}", jit.0);
        } else {
            assert!(jit.0.iter().all(|r| r.is_ok()), "{name}: {:?}", jit.0);
        }
    }
}

/// JIT lookups (inline for the plain hash) on several threads while user space deletes and
/// reinserts keys of the same map: keys never deleted are always found, and every value
/// found is its key's.
#[test]
fn lookups_race_with_user_space_writes() {
    let Some(bytes) = compile() else {
        return;
    };
    let object = Object::parse(&bytes).unwrap();
    let instance = ObjectInstance::load(&object, &LoadOptions::default()).unwrap();
    let hash = instance.map("hash").unwrap();
    let value = |k: u32| (k as u64 * 1000 + 7).to_ne_bytes();
    for k in 0..8u32 {
        hash.update(&k.to_ne_bytes(), &value(k), 0).unwrap();
    }
    race(&object, &instance, "probe", || {
        for k in 0..4u32 {
            hash.delete(&k.to_ne_bytes()).unwrap();
            hash.update(&k.to_ne_bytes(), &value(k), 0).unwrap();
        }
    });
}

/// The same for LPM lookups (inline for IPv4 keys) while user space deletes and reinserts
/// prefixes (which moves intermediate nodes in and out of the paths walked).
#[test]
fn lpm_lookups_race_with_user_space_writes() {
    let Some(bytes) = compile() else {
        return;
    };
    let object = Object::parse(&bytes).unwrap();
    let instance = ObjectInstance::load(&object, &LoadOptions::default()).unwrap();
    let lpm = instance.map("lpm").unwrap();
    let key = |plen: u32, addr: [u8; 4]| {
        let mut k = plen.to_ne_bytes().to_vec();
        k.extend_from_slice(&addr);
        k
    };
    let value = |v: u64| v.to_ne_bytes();
    lpm.update(&key(8, [10, 0, 0, 0]), &value(7), 0).unwrap();
    for k in 0..8u8 {
        lpm.update(&key(16, [10, k, 0, 0]), &value(k as u64 * 1000 + 7), 0)
            .unwrap();
    }
    race(&object, &instance, "probe_lpm", || {
        for k in 0..8u8 {
            let slash24 = key(24, [10, k, 1, 0]);
            lpm.update(&slash24, &value(k as u64 * 1000 + 9), 0)
                .unwrap();
            if k < 4 {
                let slash16 = key(16, [10, k, 0, 0]);
                lpm.delete(&slash16).unwrap();
                lpm.update(&slash16, &value(k as u64 * 1000 + 7), 0)
                    .unwrap();
            }
            lpm.delete(&slash24).unwrap();
        }
    });
}

/// Program `name` (JIT) on 3 threads, 3000 runs each, while `churn` runs over and over (at
/// least 100 times) on another: every run must return 0.
fn race(object: &Object, instance: &ObjectInstance, name: &str, churn: impl Fn() + Sync) {
    let verified =
        userbpf_verifier::object_input::verify_with_tail_call_targets(object, name, &|_| true)
            .unwrap()
            .unwrap();
    let prepared = instance.program(name).unwrap();
    prepared
        .limit_tail_call_targets(&|t| verified.may_reach(t))
        .unwrap();
    let verified = verified.program;
    // SAFETY: the verifier accepted the program (just above).
    let jit =
        unsafe { compile_prepared(&prepared, Some(&verified), &JitOptions::default()) }.unwrap();
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        let writer = s.spawn(|| {
            let mut rounds = 0u32;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) || rounds < 100 {
                churn();
                rounds += 1;
            }
            rounds
        });
        let readers: Vec<_> = (0..3)
            .map(|_| {
                s.spawn(|| {
                    for _ in 0..3000 {
                        let out = jit
                            .test_run(&TestRunInput {
                                data_in: &[0u8; 64],
                                ctx_in: None,
                                repeat: 1,
                            })
                            .unwrap();
                        assert_eq!(
                            out.retval, 0,
                            "{name}: a lookup missed a key or found another's value"
                        );
                    }
                })
            })
            .collect();
        // The writer stops before a reader's failure is reported (else the scope waits for
        // it forever).
        let results: Vec<_> = readers.into_iter().map(|r| r.join()).collect();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let rounds = writer.join().unwrap();
        for r in results {
            if let Err(panic) = r {
                std::panic::resume_unwind(panic);
            }
        }
        assert!(rounds >= 100);
    });
}
