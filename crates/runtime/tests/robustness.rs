//! Random programs never crash the interpreter: each decodable program runs under a budget on
//! random memory and ends with r0 or a trap. (The cargo-fuzz target `interp` runs the same
//! property coverage-guided; this is its smoke test on stable Rust.)

use proptest::prelude::*;
use userbpf_isa::{Program, RawInsn};
use userbpf_runtime::{Helpers, Interpreter, Trap};

/// Slots biased towards valid instructions: real opcodes, registers r0..r10, small offsets.
fn slot() -> impl Strategy<Value = RawInsn> {
    let opcodes: Vec<u8> = (0u8..=255).collect();
    (
        proptest::sample::select(opcodes),
        0u8..11,
        0u8..11,
        -8i16..8,
        prop_oneof![Just(0i32), -16i32..16, any::<i32>()],
    )
        .prop_map(|(opcode, dst, src, off, imm)| RawInsn::new(opcode, dst, src, off, imm))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4000, ..ProptestConfig::default() })]

    #[test]
    fn random_programs_end_in_r0_or_a_trap(
        slots in proptest::collection::vec(slot(), 1..24),
        mem in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let bytes: Vec<u8> = slots.iter().flat_map(|s| s.to_bytes()).collect();
        if let Ok(program) = Program::decode(&bytes) {
            if let Ok(mut vm) = Interpreter::new(&program, &Helpers::conformance()) {
                vm.set_budget(Some(2_000));
                let mut mem = mem.clone();
                match vm.run_raw(&mut mem) {
                    Ok(_) => {}
                    Err(t) => {
                        // Every trap names an instruction inside the program (or one past it).
                        prop_assert!(t.slot() <= program.slot_count());
                        let _ = matches!(t, Trap::OutOfBounds { .. });
                    }
                }
            }
        }
    }
}

#[test]
fn wild_pointer_is_a_trap_not_a_crash() {
    // r1 = 0x1000 (unmapped); *(u64 *)(r1 + 0) = 1; exit
    let code = userbpf_isa::asm::assemble("r1 = 0x1000 ll\n*(u64 *)(r1 + 0) = 1\nr0 = 0\nexit")
        .expect("assemble");
    let program = Program::from_insns(code);
    let vm = Interpreter::new(&program, &Helpers::new()).unwrap();
    let err = vm.run_raw(&mut []).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("instruction 2: invalid write of 8 bytes at 0x1000"),
        "{text}"
    );
    assert!(text.contains("nearest region: stack"), "{text}");
}

#[test]
fn stack_is_512_bytes_per_frame() {
    let ok = userbpf_isa::asm::assemble("*(u8 *)(r10 - 512) = 1\nr0 = 0\nexit").unwrap();
    let bad = userbpf_isa::asm::assemble("*(u8 *)(r10 - 513) = 1\nr0 = 0\nexit").unwrap();
    let run = |insns| {
        Interpreter::new(&Program::from_insns(insns), &Helpers::new())
            .unwrap()
            .run_raw(&mut [])
    };
    assert_eq!(run(ok), Ok(0));
    assert!(matches!(run(bad), Err(Trap::OutOfBounds { slot: 0, .. })));
}

#[test]
fn call_depth_is_limited_to_eight_frames() {
    // A function that calls itself forever.
    let insns = userbpf_isa::asm::assemble("f:\ncall local f\nexit").unwrap();
    let vm = Interpreter::new(&Program::from_insns(insns), &Helpers::new()).unwrap();
    assert!(matches!(
        vm.run_raw(&mut []),
        Err(Trap::CallDepth { max: 8, .. })
    ));
}

#[test]
fn budget_stops_an_infinite_loop() {
    let insns = userbpf_isa::asm::assemble("l:\ngoto l").unwrap();
    let mut vm = Interpreter::new(&Program::from_insns(insns), &Helpers::new()).unwrap();
    vm.set_budget(Some(1000));
    assert!(matches!(
        vm.run_raw(&mut []),
        Err(Trap::BudgetExhausted { budget: 1000, .. })
    ));
}

#[test]
fn falling_off_the_end_is_a_trap() {
    let insns = userbpf_isa::asm::assemble("r0 = 1").unwrap();
    let vm = Interpreter::new(&Program::from_insns(insns), &Helpers::new()).unwrap();
    assert_eq!(vm.run_raw(&mut []), Err(Trap::FellOffEnd { slot: 1 }));
}

#[test]
fn legacy_packet_load_is_refused_clearly() {
    let insns = userbpf_isa::asm::assemble("r0 = *(u8 *)skb[12]\nexit").unwrap();
    let err = Interpreter::new(&Program::from_insns(insns), &Helpers::new()).unwrap_err();
    assert!(err.to_string().contains("legacy packet load"), "{err}");
}
