//! State embedding with state pruning on: random raw-context programs (`common::gen`: plain,
//! with stack spills, and the rich generator with ALU32, sign-extending moves, guarded
//! accesses and loops), verified with `Options::record_states`; for each accepted program
//! the checked interpreter runs it on random inputs with its `trace` callback (the
//! runtime's `trace` feature), and before each instruction the concrete registers are
//! compared with the abstract registers the verifier recorded there (known bits, 64- and
//! 32-bit signed and unsigned bounds, joined over the paths the analysis took there).
//!
//! # What is checked when paths are pruned
//!
//! Without pruning every concrete run follows some explored path, so every register the
//! verifier holds as a scalar at an instruction must contain the concrete value. With
//! pruning, a path covered by an explored state at a prune point stops there; the concrete
//! run goes on below in the *explored* state's continuation, which agrees with the pruned
//! path only where the pruning compared them: live pointers, live precise scalars and the
//! stack slots read below (`VerifiedProgram::pruned_at`). Dead registers and imprecise
//! scalars may hold values outside the explored states there, by design.
//!
//! So the test keeps a shadow "trusted" bit per register and per stack slot along each
//! concrete run (all trusted at the start) and checks exactly the trusted scalars:
//!
//! - passing an instruction where some path was pruned keeps only what every pruning there
//!   relied on (the run may be on any of those paths, so the intersection);
//! - a result is trusted when its operands are (`dst op src`, moves, sign extension), a
//!   fresh value is trusted (constants, loads from the buffer, helper results), a fill is
//!   as trusted as the slot's spill;
//! - a conditional jump with an untrusted operand refines the other operand and every
//!   scalar linked with either (copies, `+= const`, spills and fills): the linked groups
//!   (an over-approximation of the verifier's scalar ids) lose their trust.
//!
//! This is still a real check: the transfer functions of every path, the joins, and the
//! coverage test of pruning (`leq` on what pruning compares) must keep the checked values
//! inside; a run reaching an instruction no path reached fails; and the counts printed show
//! how many values were checked below a pruned point. A precision bug (a scalar that
//! mattered marked imprecise) shows here only as far as the untrusted value reaches a
//! memory access: that is `soundness_exec`'s out-of-bounds check, with the same generators.
//!
//! `cargo test -p userbpf-verifier --test embedding -- --nocapture` prints the counts;
//! `EMBEDDING_CASES=N` changes the number of generated programs per generator (400: the
//! suite stays fast in debug builds; the long run below does the volume);
//! `SOUNDNESS_SECONDS=N cargo test --release -p userbpf-verifier --test embedding -- \
//! --ignored --nocapture` runs all generators in turn for N seconds (the long run).

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use common::gen::{long_run_rounds, options, run_cases, Gen, GENS, SIZE};
use userbpf_isa::{AluOp, AtomicOp, CallTarget, Insn, Source};
use userbpf_runtime::{Helpers, Interpreter};
use userbpf_verifier::{verify, Options, ProgType, RegSummary, VerifiedProgram, VerifierInput};

#[derive(Default, Debug)]
struct Counts {
    generated: u64,
    accepted: u64,
    runs: u64,
    insns: u64,
    /// Scalar values checked inside the recorded state.
    values: u64,
    /// Of those, checked after the run passed an instruction where a path was pruned.
    values_below_prune: u64,
    /// Scalars not checked: untrusted after pruning.
    skipped: u64,
    /// Instructions where some path was pruned, passed by a run.
    prune_passes: u64,
}

impl Counts {
    fn add(&mut self, o: &Counts) {
        self.generated += o.generated;
        self.accepted += o.accepted;
        self.runs += o.runs;
        self.insns += o.insns;
        self.values += o.values;
        self.values_below_prune += o.values_below_prune;
        self.skipped += o.skipped;
        self.prune_passes += o.prune_passes;
    }
}

type Trace = Arc<Mutex<Vec<(usize, [u64; 11])>>>;

/// Trusted bits and link groups of one concrete run (see the module doc).
struct Shadow {
    trusted: [bool; 11],
    group: [u64; 11],
    /// Stack slot `i` (`fp - 8*(i+1)`): trusted, group of the spilled value.
    slots: HashMap<u64, (bool, u64)>,
    next: u64,
    pruned: bool,
}

impl Shadow {
    fn new() -> Self {
        Shadow {
            trusted: [true; 11],
            group: std::array::from_fn(|i| i as u64 + 1),
            slots: HashMap::new(),
            next: 100,
            pruned: false,
        }
    }

    fn fresh(&mut self) -> u64 {
        self.next += 1;
        self.next
    }

    fn set(&mut self, r: usize, trusted: bool, group: Option<u64>) {
        self.trusted[r] = trusted;
        self.group[r] = group.unwrap_or_else(|| self.fresh());
    }

    /// Stack slots covered by `n` bytes at `addr`, if on the stack (`fp` = r10).
    fn stack_slots(fp: u64, addr: u64, n: usize) -> Option<std::ops::RangeInclusive<u64>> {
        let d = fp.checked_sub(addr)?;
        if d == 0 || d > 512 || (n as u64) > d {
            return None;
        }
        Some((d - n as u64) / 8..=(d - 1) / 8)
    }

    fn slot(&self, i: u64) -> (bool, Option<u64>) {
        self.slots
            .get(&i)
            .map_or((true, None), |&(t, g)| (t, Some(g)))
    }

    /// Untrust every register and slot in the groups of `regs`.
    fn untrust_groups(&mut self, regs: &[usize]) {
        let groups: Vec<u64> = regs.iter().map(|&r| self.group[r]).collect();
        for r in 0..11 {
            if groups.contains(&self.group[r]) {
                self.trusted[r] = false;
            }
        }
        for (t, g) in self.slots.values_mut() {
            if groups.contains(g) {
                *t = false;
            }
        }
        for &r in regs {
            self.trusted[r] = false;
        }
    }

    fn group_trusted(&self, r: usize) -> bool {
        let g = self.group[r];
        self.trusted[r]
            && (0..11).all(|q| self.group[q] != g || self.trusted[q])
            && self.slots.values().all(|&(t, sg)| sg != g || t)
    }

    /// The effect of `insn`, run with registers `regs`, on the trusted bits.
    fn step(&mut self, insn: &Insn, regs: &[u64; 11]) -> Result<(), String> {
        let fp = regs[10];
        match *insn {
            Insn::Alu { op, dst, src, .. } => {
                let d = dst.num() as usize;
                match (op, src) {
                    (AluOp::Mov, Source::Reg(s)) => {
                        let s = s.num() as usize;
                        self.set(d, self.trusted[s], Some(self.group[s]));
                    }
                    (AluOp::Mov, Source::Imm(_)) => self.set(d, true, None),
                    (AluOp::Add | AluOp::Sub, Source::Imm(_)) => {}
                    (_, Source::Imm(_)) => self.set(d, self.trusted[d], None),
                    (_, Source::Reg(s)) => {
                        let t = self.trusted[d] && self.trusted[s.num() as usize];
                        self.set(d, t, None);
                    }
                }
            }
            Insn::Neg { dst, .. } | Insn::Endian { dst, .. } => {
                let d = dst.num() as usize;
                self.set(d, self.trusted[d], None);
            }
            Insn::MovSx { dst, src, .. } => {
                self.set(dst.num() as usize, self.trusted[src.num() as usize], None);
            }
            Insn::Load {
                size,
                dst,
                src,
                off,
                ..
            }
            | Insn::LoadSx {
                size,
                dst,
                src,
                off,
                ..
            } => {
                let addr = regs[src.num() as usize].wrapping_add(off as i64 as u64);
                let d = dst.num() as usize;
                match Self::stack_slots(fp, addr, size.bytes()) {
                    Some(range) => {
                        let first = self.slot(*range.end());
                        let t = range.clone().all(|i| self.slot(i).0);
                        self.set(d, t, first.1);
                    }
                    None => self.set(d, true, None),
                }
            }
            Insn::Store {
                size,
                dst,
                off,
                src,
            } => {
                let addr = regs[dst.num() as usize].wrapping_add(off as i64 as u64);
                if let Some(range) = Self::stack_slots(fp, addr, size.bytes()) {
                    let (t, g) = match src {
                        Source::Reg(s) => {
                            (self.trusted[s.num() as usize], self.group[s.num() as usize])
                        }
                        Source::Imm(_) => (true, self.fresh()),
                    };
                    for i in range {
                        let old = self.slot(i).0;
                        let t = if size.bytes() == 8 { t } else { t && old };
                        self.slots.insert(i, (t, g));
                    }
                }
            }
            Insn::Atomic {
                size,
                op,
                dst,
                src,
                off,
            } => {
                let addr = regs[dst.num() as usize].wrapping_add(off as i64 as u64);
                let n = if matches!(size, userbpf_isa::AtomicSize::W) {
                    4
                } else {
                    8
                };
                if let Some(range) = Self::stack_slots(fp, addr, n) {
                    for i in range {
                        let g = self.fresh();
                        self.slots.insert(i, (false, g));
                    }
                }
                self.set(src.num() as usize, false, None);
                if op == AtomicOp::CmpXchg {
                    self.set(0, false, None);
                }
            }
            Insn::LdImm64 { dst, .. } => self.set(dst.num() as usize, true, None),
            Insn::LoadPacket { .. } => {
                for r in 0..6 {
                    self.set(r, true, None);
                }
            }
            Insn::Jump { dst, src, .. } => {
                let mut ops = vec![dst.num() as usize];
                if let Source::Reg(s) = src {
                    ops.push(s.num() as usize);
                }
                if !ops.iter().all(|&r| self.group_trusted(r)) {
                    self.untrust_groups(&ops);
                }
            }
            Insn::Call(CallTarget::Helper(_)) => {
                for r in 0..6 {
                    self.set(r, true, None);
                }
            }
            Insn::Call(_) | Insn::CallX { .. } => {
                return Err("calls other than helpers are not modelled".into());
            }
            Insn::Ja { .. } | Insn::Gotol { .. } | Insn::MayGoto { .. } | Insn::Exit => {}
        }
        Ok(())
    }
}

/// Check one run's trace against the recorded states.
fn check_trace(
    verified: &VerifiedProgram,
    insn_of: &[usize],
    trace: &[(usize, [u64; 11])],
    text: &str,
    counts: &mut Counts,
) -> Result<(), String> {
    let insns = verified.program().insns();
    let mut sh = Shadow::new();
    for &(slot, regs) in trace {
        let Some(&insn) = insn_of.get(slot).filter(|&&i| i != usize::MAX) else {
            return Err(format!("slot {slot} is not an instruction start\n{text}"));
        };
        let Some(states) = verified.states_at(insn) else {
            return Err(format!(
                "insn {insn} (slot {slot}) ran but the verifier never reached it\n{text}"
            ));
        };
        counts.insns += 1;
        for (r, (state, &value)) in states.iter().zip(regs.iter()).enumerate() {
            let RegSummary::Scalar(s) = state else {
                continue;
            };
            if !sh.trusted[r] {
                counts.skipped += 1;
                continue;
            }
            counts.values += 1;
            if sh.pruned {
                counts.values_below_prune += 1;
            }
            if !s.contains(value) {
                return Err(format!(
                    "insn {insn} (slot {slot}): r{r} = {value:#x} outside {s:?}{}\n{text}",
                    if sh.pruned {
                        " (below a pruned point)"
                    } else {
                        ""
                    }
                ));
            }
        }
        if let Some(rel) = verified.pruned_at(insn) {
            counts.prune_passes += 1;
            sh.pruned = true;
            for r in 0..11 {
                if rel.regs & (1 << r) == 0 {
                    sh.trusted[r] = false;
                }
            }
            for (&i, (t, _)) in sh.slots.iter_mut() {
                if i < 64 && rel.stack & (1 << i) == 0 {
                    *t = false;
                }
            }
            // Slots never written by this run are uninitialised: reading one is rejected.
            for i in 0..64u64 {
                if rel.stack & (1 << i) == 0 && !sh.slots.contains_key(&i) {
                    let g = sh.fresh();
                    sh.slots.insert(i, (false, g));
                }
            }
        }
        sh.step(&insns[insn], &regs)?;
    }
    Ok(())
}

fn check(
    text: &str,
    inputs: Vec<Vec<u8>>,
    options: Options,
    counts: &mut Counts,
) -> Result<(), String> {
    let program = common::program(text);
    let input = VerifierInput {
        program: &program,
        prog_type: ProgType::Raw { size: SIZE as u32 },
        maps: &[],
        options: Options {
            record_states: true,
            ..options
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
        let t = trace.lock().unwrap();
        check_trace(&verified, &insn_of, &t, text, counts)?;
    }
    Ok(())
}

fn cases() -> u32 {
    std::env::var("EMBEDDING_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(400)
}

/// Run `cases` programs of `gen` (up to `max_len` lines) with `options`; the counts, or the
/// first failure (shrunk).
fn run(cases: u32, max_len: usize, gen: Gen, options: Options) -> (Counts, Result<(), String>) {
    let counts = Mutex::new(Counts::default());
    let result = run_cases(cases, max_len, gen, |text, inputs| {
        check(text, inputs, options, &mut counts.lock().unwrap())
    });
    (counts.into_inner().unwrap(), result)
}

fn print(name: &str, c: &Counts) {
    println!(
        "embedding ({name}): {} programs generated, {} accepted, {} runs, {} instructions \
         checked, {} scalar register values inside the verifier's state ({} of them below a \
         pruned point), {} untrusted after pruning not checked, {} passes over pruned points",
        c.generated,
        c.accepted,
        c.runs,
        c.insns,
        c.values,
        c.values_below_prune,
        c.skipped,
        c.prune_passes
    );
}

fn one(g: usize) {
    let (name, max_len, gen, freq) = GENS[g];
    let (c, result) = run(cases(), max_len, gen, options(freq));
    print(name, &c);
    if let Err(e) = result {
        panic!("{e}");
    }
    assert!(c.accepted > 0 && c.values > 0);
    if freq {
        assert!(
            c.values_below_prune > 0,
            "no value was checked below a pruned point"
        );
    }
}

#[test]
fn concrete_values_lie_in_abstract_states() {
    one(0);
}

#[test]
fn concrete_values_lie_in_abstract_states_with_stack() {
    one(1);
}

#[test]
fn concrete_values_lie_in_abstract_states_rich() {
    one(2);
}

/// The long run: `SOUNDNESS_SECONDS` (default 60) of all generators in turn.
#[test]
#[ignore]
fn long_run() {
    let mut totals: Vec<Counts> = GENS.iter().map(|_| Counts::default()).collect();
    let failures = long_run_rounds(|g| {
        let (_, max_len, gen, freq) = GENS[g];
        let (c, result) = run(500, max_len, gen, options(freq));
        totals[g].add(&c);
        result
    });
    let mut all = Counts::default();
    for (g, c) in totals.iter().enumerate() {
        print(GENS[g].0, c);
        all.add(c);
    }
    print("all", &all);
    println!("{} findings", failures.len());
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
