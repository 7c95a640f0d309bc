//! Differential test: the JIT against the checked interpreter on generated programs.
//!
//! Each case (see `support/gen.rs`) runs in the interpreter and in the JIT (one case in
//! four with constant blinding); r0 or the trap, and the input buffer afterwards, must be
//! identical (the program folds its stack into r0 before exiting). `JIT_DIFF_CASES` sets
//! the number of cases (default 10,000); the `jit_diff` fuzz target runs the long campaign.

#[path = "support/gen.rs"]
mod gen;

use userbpf_jit::{compile_unchecked, JitOptions};
use userbpf_runtime::{Interpreter, Trap};

fn run_case(seed: u64) -> Result<(), String> {
    let mut rng = gen::Rng::new(seed);
    let case = gen::generate(&mut rng);
    let helpers = gen::helpers();
    let blind = seed % 4 == 3;
    let vm = Interpreter::new(&case.program, &helpers).map_err(|e| format!("interp load: {e}"))?;
    let options = JitOptions::default().constant_blinding(blind);
    // SAFETY: generated programs access only their input (through r1/r9 at in-bounds
    // offsets) and their stack, jump forward only and recurse a bounded number of times.
    let jit = unsafe { compile_unchecked(&case.program, &helpers, &options) }
        .map_err(|e| format!("jit compile: {e}"))?;
    let mut mem_i = case.input.clone();
    let mut mem_j = case.input.clone();
    let ri: Result<u64, Trap> = vm.run_raw(&mut mem_i);
    let rj: Result<u64, Trap> = jit.run_raw(&mut mem_j);
    if ri != rj || mem_i != mem_j {
        return Err(format!(
            "seed {seed} (blinding {blind}):\ninterpreter: {ri:?}\njit:         {rj:?}\nmemory equal: {}\n{}",
            mem_i == mem_j,
            userbpf_isa::disasm::format_program(&case.program)
        ));
    }
    Ok(())
}

#[test]
fn jit_matches_interpreter() {
    let n: u64 = std::env::var("JIT_DIFF_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000);
    let base: u64 = std::env::var("JIT_DIFF_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed);
    let mut traps = 0;
    for i in 0..n {
        let seed = base.wrapping_add(i);
        if std::env::var("JIT_DIFF_VERBOSE").is_ok() {
            eprintln!("seed {seed}");
        }
        if let Err(e) = run_case(seed) {
            panic!("{e}");
        }
        let mut rng = gen::Rng::new(seed);
        let case = gen::generate(&mut rng);
        let vm = Interpreter::new(&case.program, &gen::helpers()).unwrap();
        if vm.run_raw(&mut case.input.clone()).is_err() {
            traps += 1;
        }
    }
    println!("differential: {n} programs agree ({traps} of them trap in both engines)");
    assert!(
        traps > 0 && traps < n / 2,
        "trap share looks wrong: {traps} of {n}"
    );
}

#[test]
#[ignore]
fn debug_seed() {
    let seed: u64 = std::env::var("SEED").unwrap().parse().unwrap();
    let case = gen::generate(&mut gen::Rng::new(seed));
    eprintln!("{}", userbpf_isa::disasm::format_program(&case.program));
    let vm = Interpreter::new(&case.program, &gen::helpers()).unwrap();
    eprintln!("interp: {:?}", vm.run_raw(&mut case.input.clone()));
    let jit = unsafe { compile_unchecked(&case.program, &gen::helpers(), &JitOptions::default()) }
        .unwrap();
    eprintln!("compiled");
    eprintln!("jit: {:?}", jit.run_raw(&mut case.input.clone()));
}
