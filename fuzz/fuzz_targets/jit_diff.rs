//! Differential fuzzing of the JIT against the interpreter: the fuzzer's bytes drive the
//! program generator of the JIT's differential test (`crates/jit/tests/support/gen.rs`);
//! both engines must give the same r0 or trap and leave the same input memory.
#![no_main]

use libfuzzer_sys::fuzz_target;
use userbpf_jit::{compile_unchecked, JitOptions};
use userbpf_runtime::Interpreter;

#[path = "../../crates/jit/tests/support/gen.rs"]
mod gen;

fuzz_target!(|data: &[u8]| {
    let mut rng = gen::Rng::from_bytes(data);
    let case = gen::generate(&mut rng);
    let helpers = gen::helpers();
    let vm = Interpreter::new(&case.program, &helpers).expect("generated programs load");
    let blind = data.first().is_some_and(|b| b & 3 == 3);
    let options = JitOptions::default().constant_blinding(blind);
    // SAFETY: generated programs access only their input and stack at in-bounds offsets,
    // jump forward only and recurse a bounded number of times.
    let jit = unsafe { compile_unchecked(&case.program, &helpers, &options) }
        .expect("generated programs compile");
    let mut mem_i = case.input.clone();
    let mut mem_j = case.input.clone();
    let ri = vm.run_raw(&mut mem_i);
    let rj = jit.run_raw(&mut mem_j);
    assert_eq!(ri, rj, "r0 or trap differ (blinding {blind})");
    assert_eq!(mem_i, mem_j, "memory differs (blinding {blind})");
});
