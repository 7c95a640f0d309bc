//! The random raw-context programs of the soundness tests (`soundness_exec`, `embedding`):
//! r1 = a [`SIZE`]-byte buffer, r2 = its size. `build` and `build_stack` jump forward only;
//! `build_rich` adds ALU32 register operations and moves, sign-extending moves, accesses
//! guarded by a bounds check on the index (the packet pattern on a raw buffer), and wraps
//! the body in a loop (a counter bounded by a compare, or `may_goto` plus a counter).

/// Size of the input buffer.
pub const SIZE: usize = 32;

pub fn line(kind: u8, a: u8, b: u8, c: i16, i: usize, n: usize) -> String {
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
pub fn line_stack(kind: u8, a: u8, b: u8, c: i16, i: usize, n: usize) -> String {
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

pub fn build_stack(ops: &[(u8, u8, u8, i16)]) -> String {
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

pub fn build(ops: &[(u8, u8, u8, i16)]) -> String {
    let n = ops.len();
    let mut text = String::from("r0 = 0\nr3 = 0\nr4 = 0\nr5 = 0\nr6 = r1\n");
    for (i, &(k, a, b, c)) in ops.iter().enumerate() {
        text.push_str(&line(k, a, b, c, i, n));
        text.push('\n');
    }
    text.push_str("r0 = 0\nexit\n");
    text
}

/// `line_stack` plus ALU32 register operations and moves, sign-extending moves, and
/// guarded accesses: `if idx > k goto +3; r6 = r1; r6 += idx; rX = *(u32 *)(r6 + 0)`
/// (safe when `k <= SIZE - 4`, rejected otherwise, so both sides are generated). One line
/// may be several instructions: forward jumps computed in lines still stay in range.
pub fn line_rich(kind: u8, a: u8, b: u8, c: i16, i: usize, n: usize) -> String {
    let ra = ["r0", "r3", "r4", "r5"][a as usize % 4];
    let rb = ["r0", "r3", "r4", "r5"][b as usize % 4];
    let ops32 = [
        "+=", "-=", "*=", "&=", "|=", "^=", "<<=", ">>=", "s>>=", "/=", "%=", "=",
    ];
    match kind % 24 {
        17 => format!(
            "w{} {} w{}",
            &ra[1..],
            ops32[c as usize % ops32.len()],
            &rb[1..]
        ),
        18 => format!(
            "{ra} = ({}){rb}",
            ["s8", "s16", "s32"][c.unsigned_abs() as usize % 3]
        ),
        19 => format!("{ra} s>>= {}", (c % 64).unsigned_abs()),
        20 | 21 => {
            // Guarded access: the bound is right (<= SIZE - 4) three times in four.
            let k = if c % 4 == 0 {
                (c.unsigned_abs() as usize) % SIZE
            } else {
                (c.unsigned_abs() as usize) % (SIZE - 3)
            };
            let cond = if kind % 24 == 20 { ">" } else { "s>" };
            let guard = if cond == "s>" {
                format!("if {ra} s< 0 goto +4\n")
            } else {
                String::new()
            };
            format!(
                "{guard}if {ra} {cond} {k} goto +3\nr6 = r1\nr6 += {ra}\n{rb} = *(u32 *)(r6 + 0)"
            )
        }
        22 => format!(
            "w{} = *(u16 *)(r1 + {})",
            &ra[1..],
            (c as usize) % (SIZE - 1)
        ),
        23 => format!(
            "if {ra} {} {rb} goto +{}",
            [">", "<", "s>=", "=="][c as usize % 4],
            {
                let room = n.saturating_sub(i + 1).max(1);
                (b as usize) % room
            }
        ),
        k => line_stack(k, a, b, c, i, n),
    }
}

/// Random `line_rich` lines after the usual prologue; `ops[0].0 % 3` picks the shape:
/// straight line, a loop on a counter (r7 < bound), or a `may_goto` loop with a counter.
pub fn build_rich(ops: &[(u8, u8, u8, i16)]) -> String {
    let n = ops.len();
    let mut body = String::new();
    for (i, &(k, a, b, c)) in ops.iter().enumerate() {
        body.push_str(&line_rich(k, a, b, c, i, n));
        body.push('\n');
    }
    let len = body.lines().count();
    let bound = ops.first().map_or(1, |o| 1 + o.1 as usize % 6);
    let mut text = String::from(
        "r0 = 0\nr3 = 0\nr4 = 0\nr5 = 0\nr6 = r1\nr7 = 0\n*(u64 *)(r10 - 8) = r0\n*(u64 *)(r10 - 16) = r6\n",
    );
    match ops.first().map_or(0, |o| o.0 % 3) {
        0 => text.push_str(&body),
        1 => {
            // body; r7 += 1; if r7 < bound goto body
            text.push_str(&body);
            text.push_str(&format!("r7 += 1\nif r7 < {bound} goto -{}\n", len + 2));
        }
        _ => {
            // may_goto +exit; body; r7 += 1; if r7 > bound goto exit; goto may_goto
            text.push_str(&format!("may_goto +{}\n", len + 3));
            text.push_str(&body);
            text.push_str(&format!(
                "r7 += 1\nif r7 > {} goto +1\ngoto -{}\n",
                bound * 3,
                len + 4
            ));
        }
    }
    text.push_str("r0 = 0\nexit\n");
    text
}

/// One generated line's choices (kind, a, b, c).
pub type Op = (u8, u8, u8, i16);

/// A program generator of this module.
pub type Gen = fn(&[Op]) -> String;

/// The generators: name, maximum length, generator, every prune point a checkpoint.
pub const GENS: [(&str, usize, Gen, bool); 3] = [
    ("plain", 24, build, false),
    ("stack", 32, build_stack, true),
    ("rich", 28, build_rich, true),
];

/// The verifier options for a generator: a checkpoint at every prune point when `freq`.
pub fn options(freq: bool) -> userbpf_verifier::Options {
    userbpf_verifier::Options {
        test_state_freq: freq,
        ..userbpf_verifier::Options::default()
    }
}

/// Run `cases` programs of `gen` (1 to `max_len` lines), each through `check` with three
/// random [`SIZE`]-byte inputs; the first failure, shrunk.
pub fn run_cases(
    cases: u32,
    max_len: usize,
    gen: Gen,
    check: impl Fn(&str, Vec<Vec<u8>>) -> Result<(), String>,
) -> Result<(), String> {
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = (
        prop::collection::vec(
            (any::<u8>(), any::<u8>(), any::<u8>(), any::<i16>()),
            1..max_len,
        ),
        prop::collection::vec(prop::collection::vec(any::<u8>(), SIZE), 3),
    );
    runner
        .run(&strategy, |(ops, inputs)| {
            check(&gen(&ops), inputs).map_err(TestCaseError::fail)
        })
        .map_err(|e| e.to_string())
}

/// The long runs: `round(g)` for each generator `g` of [`GENS`] in turn, for
/// `SOUNDNESS_SECONDS` (default 60); the findings, each printed as it comes.
pub fn long_run_rounds(mut round: impl FnMut(usize) -> Result<(), String>) -> Vec<String> {
    let secs: u64 = std::env::var("SOUNDNESS_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60);
    let end = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    let mut failures = Vec::new();
    let mut next = 0usize;
    while std::time::Instant::now() < end {
        let g = next % GENS.len();
        next += 1;
        if let Err(e) = round(g) {
            println!("FINDING ({}): {e}", GENS[g].0);
            failures.push(e);
        }
    }
    failures
}
