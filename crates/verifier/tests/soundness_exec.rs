//! Soundness by execution: random raw-context programs (r1 = a 32-byte buffer, r2 = 32);
//! whenever the verifier accepts one, the checked interpreter must never leave the memory
//! regions it was given (no `Trap::OutOfBounds`) on random inputs.

mod common;

use common::gen::{build, build_stack, SIZE};

use proptest::prelude::*;
use userbpf_runtime::{Helpers, Interpreter, Trap};
use userbpf_verifier::{verify, Options, ProgType, VerifierInput};

use std::sync::atomic::{AtomicUsize, Ordering};

static ACCEPTED: AtomicUsize = AtomicUsize::new(0);
static TOTAL: AtomicUsize = AtomicUsize::new(0);
static ACCEPTED_PRUNE: AtomicUsize = AtomicUsize::new(0);
static TOTAL_PRUNE: AtomicUsize = AtomicUsize::new(0);

proptest! {
    #![proptest_config(ProptestConfig { cases: 4000, ..ProptestConfig::default() })]
    #[test]
    fn accepted_programs_stay_in_bounds(
        ops in prop::collection::vec((any::<u8>(), any::<u8>(), any::<u8>(), any::<i16>()), 1..24),
        inputs in prop::collection::vec(prop::collection::vec(any::<u8>(), SIZE), 3),
    ) {
        let text = build(&ops);
        let program = common::program(&text);
        let input = VerifierInput { program: &program, prog_type: ProgType::Raw { size: SIZE as u32 }, maps: &[], options: Options::default() };
        let verdict = verify(&input);
        TOTAL.fetch_add(1, Ordering::Relaxed);
        if verdict.is_ok() {
            let n = ACCEPTED.fetch_add(1, Ordering::Relaxed) + 1;
            if n.is_multiple_of(500) {
                println!("{n} accepted of {} generated", TOTAL.load(Ordering::Relaxed));
            }
            let helpers = Helpers::new();
            let mut interp = Interpreter::new(&program, &helpers).expect("interpreter");
            interp.set_budget(Some(100_000));
            for mut data in inputs {
                if let Err(t @ Trap::OutOfBounds { .. }) = interp.run_raw(&mut data) {
                    prop_assert!(false, "accepted program trapped: {t}\n{text}");
                }
            }
        }
    }

    /// Pruning at every prune point (liveness, precision, stack slots): the programs spill
    /// numbers and pointers and fill them back.
    #[test]
    fn accepted_programs_stay_in_bounds_with_pruning(
        ops in prop::collection::vec((any::<u8>(), any::<u8>(), any::<u8>(), any::<i16>()), 1..32),
        inputs in prop::collection::vec(prop::collection::vec(any::<u8>(), SIZE), 3),
    ) {
        let text = build_stack(&ops);
        let program = common::program(&text);
        let options = Options { test_state_freq: true, ..Options::default() };
        let input = VerifierInput { program: &program, prog_type: ProgType::Raw { size: SIZE as u32 }, maps: &[], options };
        let verdict = verify(&input);
        TOTAL_PRUNE.fetch_add(1, Ordering::Relaxed);
        if let Ok(v) = &verdict {
            let n = ACCEPTED_PRUNE.fetch_add(1, Ordering::Relaxed) + 1;
            if n.is_multiple_of(500) {
                println!(
                    "with pruning: {n} accepted of {} generated (last: {} states)",
                    TOTAL_PRUNE.load(Ordering::Relaxed),
                    v.total_states
                );
            }
            let helpers = Helpers::new();
            let mut interp = Interpreter::new(&program, &helpers).expect("interpreter");
            interp.set_budget(Some(100_000));
            for mut data in inputs {
                if let Err(t @ Trap::OutOfBounds { .. }) = interp.run_raw(&mut data) {
                    prop_assert!(false, "accepted program trapped: {t}\n{text}");
                }
            }
        }
    }
}
