//! The random raw-context programs of the soundness tests (`soundness_exec`, `embedding`):
//! r1 = a [`SIZE`]-byte buffer, r2 = its size, forward jumps only.

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
