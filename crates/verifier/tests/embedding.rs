//! State embedding: the random raw-context programs of `soundness_exec` (plain and with
//! stack spills), verified with `Options::record_states`; for each accepted program the
//! checked interpreter runs it on random inputs with its `trace` callback (the runtime's
//! `trace` feature), and before each instruction every register the verifier holds as a
//! scalar on all paths must have a concrete value inside the recorded abstract scalar (known
//! bits, 64- and 32-bit signed and unsigned bounds).
//!
//! `cargo test -p userbpf-verifier --test embedding -- --nocapture` prints the counts;
//! `EMBEDDING_CASES=N` changes the number of generated programs per generator.

mod common;

use std::sync::{Arc, Mutex};

use common::gen::{build, build_stack, SIZE};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use userbpf_runtime::{Helpers, Interpreter};
use userbpf_verifier::{verify, Options, ProgType, RegSummary, VerifierInput};

#[derive(Default)]
struct Counts {
    generated: u64,
    accepted: u64,
    runs: u64,
    insns: u64,
    values: u64,
}

/// A program generator of `common::gen`.
type Gen = fn(&[(u8, u8, u8, i16)]) -> String;

type Trace = Arc<Mutex<Vec<(usize, [u64; 11])>>>;

fn check(text: &str, inputs: Vec<Vec<u8>>, counts: &mut Counts) -> Result<(), String> {
    let program = common::program(text);
    let input = VerifierInput {
        program: &program,
        prog_type: ProgType::Raw { size: SIZE as u32 },
        maps: &[],
        options: Options {
            record_states: true,
            ..Options::default()
        },
    };
    counts.generated += 1;
    let Ok(verified) = verify(&input) else {
        return Ok(());
    };
    counts.accepted += 1;
    // Slot -> instruction index.
    let starts = program.starts();
    let slots = starts.last().map_or(0, |s| s + 2);
    let mut insn_of = vec![usize::MAX; slots];
    for (i, &s) in starts.iter().enumerate() {
        insn_of[s] = i;
    }
    let trace: Trace = Arc::default();
    let helpers = Helpers::new();
    let mut interp = Interpreter::new(&program, &helpers).map_err(|e| e.to_string())?;
    interp.set_budget(Some(100_000));
    let sink = trace.clone();
    interp.set_trace(Some(Arc::new(move |slot: usize, regs: &[u64]| {
        let mut r = [0u64; 11];
        r.copy_from_slice(&regs[..11]);
        sink.lock().unwrap().push((slot, r));
    })));
    for mut data in inputs {
        trace.lock().unwrap().clear();
        let _ = interp.run_raw(&mut data);
        counts.runs += 1;
        for &(slot, regs) in trace.lock().unwrap().iter() {
            let Some(&insn) = insn_of.get(slot).filter(|&&i| i != usize::MAX) else {
                continue;
            };
            let Some(states) = verified.states_at(insn) else {
                return Err(format!(
                    "insn {insn} (slot {slot}) ran but the verifier never reached it\n{text}"
                ));
            };
            counts.insns += 1;
            for (r, (state, &value)) in states.iter().zip(regs.iter()).enumerate() {
                if let RegSummary::Scalar(s) = state {
                    counts.values += 1;
                    if !s.contains(value) {
                        return Err(format!(
                            "insn {insn} (slot {slot}): r{r} = {value:#x} outside {s:?}\n{text}"
                        ));
                    }
                }
            }
        }
    }
    Ok(())
}

fn cases() -> u32 {
    std::env::var("EMBEDDING_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000)
}

fn run(name: &str, max_len: usize, gen: Gen) {
    let mut runner = TestRunner::new(Config {
        cases: cases(),
        failure_persistence: None,
        ..Config::default()
    });
    let counts = Mutex::new(Counts::default());
    let strategy = (
        prop::collection::vec(
            (any::<u8>(), any::<u8>(), any::<u8>(), any::<i16>()),
            1..max_len,
        ),
        prop::collection::vec(prop::collection::vec(any::<u8>(), SIZE), 3),
    );
    let result = runner.run(&strategy, |(ops, inputs)| {
        let text = gen(&ops);
        let mut c = counts.lock().unwrap();
        check(&text, inputs, &mut c).map_err(TestCaseError::fail)
    });
    let c = counts.into_inner().unwrap();
    println!(
        "embedding ({name}): {} programs generated, {} accepted, {} runs, {} instructions \
         checked, {} scalar register values inside the verifier's state",
        c.generated, c.accepted, c.runs, c.insns, c.values
    );
    if let Err(e) = result {
        panic!("{e}");
    }
    assert!(c.accepted > 0 && c.values > 0);
}

#[test]
fn concrete_values_lie_in_abstract_states() {
    run("plain", 24, build);
}

#[test]
fn concrete_values_lie_in_abstract_states_with_stack() {
    run("stack", 32, build_stack);
}
