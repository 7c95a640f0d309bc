//! The safe entry point: programs the verifier accepts (as `Raw` programs on a 64-byte
//! input), compiled with its facts, against the checked interpreter. Generated programs
//! (`support/gen.rs`) that the verifier accepts run on both engines; r0 or the trap and the
//! input afterwards must be identical. Also: runs with another input size than the verified
//! one are refused, and the facts remove the division's zero check.

#[path = "support/gen.rs"]
mod gen;

use userbpf_isa::asm::assemble;
use userbpf_isa::Program;
use userbpf_jit::{compile, JitOptions};
use userbpf_runtime::{Helpers, Interpreter};
use userbpf_verifier::{verify, Options, ProgType, VerifierInput};

fn verify_raw(program: &Program, size: u32) -> Option<userbpf_verifier::VerifiedProgram> {
    let input = VerifierInput {
        program,
        prog_type: ProgType::Raw { size },
        maps: &[],
        options: Options {
            allow_uninit_stack: true,
            ..Options::default()
        },
    };
    verify(&input).ok()
}

#[test]
fn verified_generated_programs_match_interpreter() {
    let n: u64 = std::env::var("JIT_VERIFIED_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5_000);
    let mut accepted = 0;
    for seed in 0..n {
        let case = gen::generate(&mut gen::Rng::new(seed));
        let Some(verified) = verify_raw(&case.program, gen::INPUT_LEN as u32) else {
            continue;
        };
        accepted += 1;
        let helpers = gen::helpers();
        let vm = Interpreter::new(&case.program, &helpers).unwrap();
        let jit = compile(&verified, &helpers, &JitOptions::default()).unwrap();
        let (mut mi, mut mj) = (case.input.clone(), case.input.clone());
        let (ri, rj) = (vm.run_raw(&mut mi), jit.run_raw(&mut mj));
        assert_eq!(
            (ri, &mi),
            (rj, &mj),
            "seed {seed}\n{}",
            userbpf_isa::disasm::format_program(&case.program)
        );
    }
    println!("verified differential: {accepted} of {n} generated programs accepted and agree");
}

const DIV_PROGRAM: &str = "
    r2 = *(u8 *)(r1 + 0)
    r2 |= 1
    r3 = *(u32 *)(r1 + 4)
    r3 /= r2
    r0 = *(u32 *)(r1 + 4)
    w0 = w0
    r0 += r3
    exit
";

#[test]
fn facts_remove_division_check_and_zero_extension() {
    let program = Program::from_insns(assemble(DIV_PROGRAM).unwrap());
    let verified = verify_raw(&program, 8).expect("accepted");
    let slot = program.starts()[3];
    assert!(verified.facts[3].divisor_nonzero);
    let jit = compile(&verified, &Helpers::new(), &JitOptions::default()).unwrap();
    // SAFETY: only compiled and measured, never run.
    let unchecked = unsafe {
        userbpf_jit::compile_unchecked(&program, &Helpers::new(), &JitOptions::default())
    }
    .unwrap();
    let len = |j: &userbpf_jit::JitProgram, s: usize| {
        j.slot_offset(s + 1).unwrap() - j.slot_offset(s).unwrap()
    };
    assert!(
        len(&jit, slot) < len(&unchecked, slot),
        "the verified division is shorter"
    );
    // `w0 = w0` after a 32-bit load: no code.
    assert_eq!(len(&jit, program.starts()[5]), 0);
    let mut input = [7u8, 0, 0, 0, 100, 0, 0, 0];
    assert_eq!(jit.run_raw(&mut input), Ok(100 + 100 / 7));
    let vm = Interpreter::new(&program, &Helpers::new()).unwrap();
    assert_eq!(vm.run_raw(&mut input), Ok(100 + 100 / 7));
}

#[test]
fn verified_programs_refuse_other_inputs() {
    let program = Program::from_insns(assemble(DIV_PROGRAM).unwrap());
    let verified = verify_raw(&program, 8).unwrap();
    let jit = compile(&verified, &Helpers::new(), &JitOptions::default()).unwrap();
    assert!(jit.run_raw(&mut [0u8; 4]).is_err());
    assert!(jit.run_raw(&mut [0u8; 9]).is_err());
    assert!(jit.run_raw(&mut []).is_err());
    assert!(jit.run_raw(&mut [1u8; 8]).is_ok());
}

#[test]
fn kernel_program_types_need_an_instance() {
    let program = Program::from_insns(assemble("r0 = 2\nexit\n").unwrap());
    let verified = verify(&VerifierInput::new(&program, ProgType::Xdp)).unwrap();
    let err = compile(&verified, &Helpers::new(), &JitOptions::default()).unwrap_err();
    assert!(err.to_string().contains("compile_prepared"), "{err}");
}
