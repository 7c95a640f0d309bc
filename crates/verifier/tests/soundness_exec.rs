//! Soundness by execution: random raw-context programs (r1 = a 32-byte buffer, r2 = 32) of
//! the generators of `common::gen`; whenever the verifier accepts one, the checked
//! interpreter must never leave the memory regions it was given (no `Trap::OutOfBounds`)
//! on random inputs. Run without pruning-heavy options (`plain`), with a checkpoint at every
//! prune point (`stack`: spills and fills of numbers and pointers; `rich`: ALU32,
//! sign-extending moves, guarded accesses, counter and `may_goto` loops).
//!
//! `SOUNDNESS_SECONDS=N cargo test --release -p userbpf-verifier --test soundness_exec -- \
//! --ignored --nocapture` runs all generators in turn for N seconds and prints the counts.

mod common;

use common::gen::{long_run_rounds, options, run_cases, Gen, Op, GENS, SIZE};

use userbpf_runtime::{Helpers, Interpreter, Trap};
use userbpf_verifier::{verify, Options, ProgType, VerifierInput};

#[derive(Default, Debug, Clone, Copy)]
struct Counts {
    generated: u64,
    accepted: u64,
    runs: u64,
    /// Runs that ended by exit (not by the instruction budget or a division trap).
    completed: u64,
}

/// Verify `text`; when accepted, run it on `inputs`: an out-of-bounds trap is a failure.
fn check(text: &str, inputs: Vec<Vec<u8>>, options: Options, c: &mut Counts) -> Result<(), String> {
    let program = common::program(text);
    let input = VerifierInput {
        program: &program,
        prog_type: ProgType::Raw { size: SIZE as u32 },
        maps: &[],
        options,
    };
    c.generated += 1;
    if verify(&input).is_err() {
        return Ok(());
    }
    c.accepted += 1;
    let helpers = Helpers::new();
    let mut interp = Interpreter::new(&program, &helpers).map_err(|e| e.to_string())?;
    interp.set_budget(Some(100_000));
    for mut data in inputs {
        c.runs += 1;
        match interp.run_raw(&mut data) {
            Ok(_) => c.completed += 1,
            Err(t @ Trap::OutOfBounds { .. }) => {
                return Err(format!("accepted program trapped: {t}\n{text}"));
            }
            Err(_) => {}
        }
    }
    Ok(())
}

/// Run `cases` programs of `gen`; the counts, or the first failure (shrunk).
fn run(cases: u32, max_len: usize, gen: Gen, options: Options) -> (Counts, Result<(), String>) {
    let counts = std::cell::RefCell::new(Counts::default());
    let result = run_cases(cases, max_len, gen, |text, inputs| {
        check(text, inputs, options, &mut counts.borrow_mut())
    });
    (counts.into_inner(), result)
}

fn print(name: &str, c: &Counts) {
    println!(
        "soundness_exec ({name}): {} programs generated, {} accepted, {} runs ({} to exit)",
        c.generated, c.accepted, c.runs, c.completed
    );
}

fn one(g: usize, cases: u32) {
    let (name, max_len, gen, freq) = GENS[g];
    let (c, result) = run(cases, max_len, gen, options(freq));
    if let Err(e) = result {
        panic!("{e}");
    }
    print(name, &c);
    assert!(c.accepted > 0);
}

#[test]
fn accepted_programs_stay_in_bounds() {
    one(0, 1000);
}

/// Cases proptest once found (formerly `soundness_exec.proptest-regressions`), kept as
/// plain cases: `(generator, ops)` run on zeroed inputs.
#[test]
fn past_failures() {
    let cases: [(usize, &[Op]); 1] = [(0, &[(11, 0, 0, 0)])];
    for (g, ops) in cases {
        let (_, _, gen, freq) = GENS[g];
        let options = Options {
            test_state_freq: freq,
            ..Options::default()
        };
        let mut c = Counts::default();
        check(&gen(ops), vec![vec![0u8; SIZE]; 3], options, &mut c).unwrap();
        assert_eq!(c.generated, 1);
    }
}

/// Pruning at every prune point (liveness, precision, stack slots): the programs spill
/// numbers and pointers and fill them back.
#[test]
fn accepted_programs_stay_in_bounds_with_pruning() {
    one(1, 1000);
}

/// ALU32, sign extension, guarded accesses and loops, with pruning at every prune point.
#[test]
fn accepted_programs_stay_in_bounds_rich() {
    one(2, 800);
}

/// The long run: `SOUNDNESS_SECONDS` (default 60) of all generators in turn.
#[test]
#[ignore]
fn long_run() {
    let mut totals = [Counts::default(); 3];
    let failures = long_run_rounds(|g| {
        let (_, max_len, gen, freq) = GENS[g];
        let (c, result) = run(1000, max_len, gen, options(freq));
        let t = &mut totals[g];
        t.generated += c.generated;
        t.accepted += c.accepted;
        t.runs += c.runs;
        t.completed += c.completed;
        result
    });
    for (g, c) in totals.iter().enumerate() {
        print(GENS[g].0, c);
    }
    println!("{} findings", failures.len());
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
