//! ELF object programs in the JIT against the interpreter: the runtime's instance test
//! objects (clang-19 from `crates/runtime/tests/instance_src`: maps of every kind,
//! `bpf_loop` and `bpf_for_each_map_elem` callbacks, nested callbacks, tail calls with the
//! limit of 33, tail calls from subprograms, maps of maps). Each program runs with
//! `BPF_PROG_TEST_RUN` semantics on a fresh instance per engine (maps pre-filled the same
//! way), three times; retval or trap, packet out and every map's contents must agree.

use std::path::{Path, PathBuf};
use std::process::Command;

use userbpf_jit::{compile_prepared, JitOptions};
use userbpf_object::Object;
use userbpf_runtime::context::TestRunInput;
use userbpf_runtime::instance::{LoadOptions, ObjectInstance};
use userbpf_runtime::maps::MapType;

fn compile_c(name: &str) -> Option<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../runtime/tests/instance_src");
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("jit-{name}.bpf.o"));
    let status = Command::new("clang-19")
        .args(["-g", "-O2", "-target", "bpf", "-mcpu=v3", "-c"])
        .arg("-I/usr/include/x86_64-linux-gnu")
        .arg("-I")
        .arg(&dir)
        .arg(dir.join(format!("{name}.bpf.c")))
        .arg("-o")
        .arg(&out)
        .status();
    match status {
        Ok(s) if s.success() => Some(std::fs::read(&out).unwrap()),
        Ok(_) => panic!("clang-19 failed on {name}"),
        Err(_) => {
            println!("skipped: clang-19 not found");
            None
        }
    }
}

/// The same contents in every instance: keys 0..8 of 4-byte-key maps with 8-byte values.
fn fill(instance: &ObjectInstance) {
    for (_, m) in instance.maps() {
        let spec = m.spec();
        let plain = matches!(
            m.map_type(),
            MapType::Hash | MapType::Array | MapType::LruHash
        );
        if plain && spec.key_size == 4 && spec.value_size == 8 {
            for k in 0..8u32 {
                let _ = m.update(&k.to_ne_bytes(), &(k as u64 * 3 + 1).to_ne_bytes(), 0);
            }
        }
    }
}

/// Every map's entries, sorted, by map name.
type MapState = Vec<(String, Vec<(Vec<u8>, Vec<u8>)>)>;

fn map_state(instance: &ObjectInstance) -> MapState {
    instance
        .maps()
        .into_iter()
        .filter(|(_, m)| {
            !matches!(
                m.map_type(),
                MapType::ProgArray | MapType::ArrayOfMaps | MapType::HashOfMaps
            )
        })
        .map(|(name, m)| {
            let mut entries: Vec<_> = m
                .keys()
                .filter_map(|k| k.ok())
                .filter_map(|k| m.lookup(&k).ok().map(|v| (k, v)))
                .collect();
            entries.sort();
            (name, entries)
        })
        .collect()
}

type Outcome = (Vec<Result<(u32, Vec<u8>), String>>, MapState);

fn run(object: &Object, program: &str, jit: bool) -> Outcome {
    let instance = ObjectInstance::load(object, &LoadOptions::default()).unwrap();
    fill(&instance);
    let prepared = match instance.program(program) {
        Ok(p) => p,
        Err(e) => return (vec![Err(format!("prepare: {e}"))], Vec::new()),
    };
    let jp = jit.then(|| {
        // SAFETY: the runtime's test programs, all accepted by the kernel's verifier (they
        // are the objects of the runtime's instance tests, written for the kernel).
        unsafe { compile_prepared(&prepared, None, &JitOptions::default()) }.unwrap()
    });
    let mut runs = Vec::new();
    for i in 0..3u8 {
        let data: Vec<u8> = (0..64u8)
            .map(|b| b.wrapping_mul(7).wrapping_add(i))
            .collect();
        let input = TestRunInput {
            data_in: &data,
            ctx_in: None,
            repeat: 1,
        };
        let out = match &jp {
            Some(j) => j.test_run(&input),
            None => prepared.test_run(&input),
        };
        runs.push(
            out.map(|o| (o.retval, o.data_out))
                .map_err(|e| format!("{e:?}").split(':').next().unwrap_or("").to_string()),
        );
    }
    (runs, map_state(&instance))
}

#[test]
fn object_programs_match_interpreter() {
    let mut compared = 0;
    for name in [
        "callbacks",
        "tail_calls",
        "maps_basic",
        "map_in_map",
        "events",
    ] {
        let Some(bytes) = compile_c(name) else {
            return;
        };
        let object = Object::parse(&bytes).unwrap();
        for p in &object.programs {
            let interp = run(&object, &p.name, false);
            let jit = run(&object, &p.name, true);
            assert_eq!(interp, jit, "{name}/{}", p.name);
            compared += 1;
        }
    }
    println!("objects: {compared} programs agree between the interpreter and the JIT");
    assert!(compared >= 15);
}

#[test]
fn tail_call_limit_and_slots() {
    let Some(bytes) = compile_c("tail_calls") else {
        return;
    };
    let object = Object::parse(&bytes).unwrap();
    let instance = ObjectInstance::load(&object, &LoadOptions::default()).unwrap();
    instance.set_tail_call("jumps", 3, "chain").unwrap();
    let chain = instance.program("chain").unwrap();
    // SAFETY: as above.
    let jit = unsafe { compile_prepared(&chain, None, &JitOptions::default()) }.unwrap();
    let state = instance.map("state").unwrap();
    let count = || {
        u64::from_ne_bytes(
            state.lookup(&3u32.to_ne_bytes()).unwrap()[..8]
                .try_into()
                .unwrap(),
        )
    };
    assert_eq!(jit.run_raw(&mut []).unwrap(), 7);
    // The first run plus 33 tail calls, as in the kernel; the count is per run.
    assert_eq!(count(), 34);
    assert_eq!(jit.run_raw(&mut []).unwrap(), 7);
    assert_eq!(count(), 68);
    let entry = instance.program("entry").unwrap();
    // SAFETY: as above.
    let jit = unsafe { compile_prepared(&entry, None, &JitOptions::default()) }.unwrap();
    assert_eq!(jit.run_raw(&mut [0u8; 4]).unwrap(), 42);
    instance.clear_tail_call("jumps", 1).unwrap();
    assert_eq!(jit.run_raw(&mut []).unwrap(), 200);
}
