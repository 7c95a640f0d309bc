//! Soundness by execution: random raw-context programs (r1 = a 32-byte buffer, r2 = 32);
//! whenever the verifier accepts one, the checked interpreter must never leave the memory
//! regions it was given (no `Trap::OutOfBounds`) on random inputs.

mod common;

use proptest::prelude::*;
use userbpf_runtime::{Helpers, Interpreter, Trap};
use userbpf_verifier::{verify, Options, ProgType, VerifierInput};

use std::sync::atomic::{AtomicUsize, Ordering};

const SIZE: usize = 32;
static ACCEPTED: AtomicUsize = AtomicUsize::new(0);
static TOTAL: AtomicUsize = AtomicUsize::new(0);
static ACCEPTED_PRUNE: AtomicUsize = AtomicUsize::new(0);
static TOTAL_PRUNE: AtomicUsize = AtomicUsize::new(0);

fn line(kind: u8, a: u8, b: u8, c: i16, i: usize, n: usize) -> String {
    // r1 stays the buffer; r3..r5 are scratch; r6 holds a derived pointer.
    let ra = ["r0", "r3", "r4", "r5"][a as usize % 4];
    let rb = ["r0", "r2", "r3", "r4", "r5"][b as usize % 5];
    let ops = [
        "+=", "-=", "*=", "&=", "|=", "^=", "<<=", ">>=", "s>>=", "/=", "%=",
    ];
    let conds = ["==", "!=", ">", ">=", "<", "<=", "s>", "s>=", "s<", "s<="];
    let small = c % 48;
    match kind % 12 {
        0 => format!("{ra} = {small}"),
        1 => format!(
            "{ra} {} {}",
            ops[b as usize % ops.len()],
            (c % 40).unsigned_abs()
        ),
        2 => format!("{ra} {} {rb}", ops[c as usize % ops.len()]),
        3 => format!(
            "w{} {} {}",
            &ra[1..],
            ops[b as usize % ops.len()],
            (c % 40).unsigned_abs()
        ),
        4 => format!("{ra} = *(u8 *)(r1 + {})", (c as usize) % SIZE),
        5 => format!("{ra} = *(u32 *)(r6 + {})", small.rem_euclid(8)),
        6 => "r6 = r1".to_string(),
        7 => format!("r6 += {rb}"),
        8 => format!("*(u8 *)(r6 + {}) = {}", small.rem_euclid(8), b),
        9 | 10 => {
            let room = n.saturating_sub(i + 1).max(1);
            let k = (c.unsigned_abs() as usize) % room;
            format!(
                "if {ra} {} {small} goto +{k}",
                conds[b as usize % conds.len()]
            )
        }
        _ => format!(
            "if w{} {} w{} goto +{}",
            &ra[1..],
            conds[c as usize % conds.len()],
            &rb[1..],
            (b as usize) % n.saturating_sub(i + 1).max(1)
        ),
        #[allow(unreachable_patterns)]
        _ => format!(
            "if w{} {} {rb} goto +{}",
            &ra[1..],
            conds[c as usize % conds.len()],
            (b as usize) % n.saturating_sub(i + 1).max(1)
        ),
    }
}

/// With stack spills and fills (of numbers and of the derived pointer r6), copies and
/// `+= const` (linked scalars).
fn line_stack(kind: u8, a: u8, b: u8, c: i16, i: usize, n: usize) -> String {
    let ra = ["r0", "r3", "r4", "r5", "r6"][a as usize % 5];
    let slot = if b.is_multiple_of(2) { 8 } else { 16 };
    let rb = ["r0", "r3", "r4", "r5"][b as usize % 4];
    match kind % 17 {
        12 => format!("*(u64 *)(r10 - {slot}) = {ra}"),
        13 => format!("{ra} = *(u64 *)(r10 - {slot})"),
        // Copies and `+= const` on copies: linked scalars.
        14 => format!("{ra} = {rb}"),
        15 => format!("{ra} += {}", (c % 16).unsigned_abs()),
        16 => format!("{ra} &= {}", (c % 64).unsigned_abs()),
        k => line(k, a, b, c, i, n),
    }
}

fn build_stack(ops: &[(u8, u8, u8, i16)]) -> String {
    let n = ops.len();
    let mut text = String::from(
        "r0 = 0\nr3 = 0\nr4 = 0\nr5 = 0\nr6 = r1\n*(u64 *)(r10 - 8) = r0\n*(u64 *)(r10 - 16) = r6\n",
    );
    for (i, &(k, a, b, c)) in ops.iter().enumerate() {
        text.push_str(&line_stack(k, a, b, c, i, n));
        text.push('\n');
    }
    text.push_str("r0 = 0\nexit\n");
    text
}

fn build(ops: &[(u8, u8, u8, i16)]) -> String {
    let n = ops.len();
    let mut text = String::from("r0 = 0\nr3 = 0\nr4 = 0\nr5 = 0\nr6 = r1\n");
    for (i, &(k, a, b, c)) in ops.iter().enumerate() {
        text.push_str(&line(k, a, b, c, i, n));
        text.push('\n');
    }
    text.push_str("r0 = 0\nexit\n");
    text
}

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
