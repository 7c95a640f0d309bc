//! Pruning with liveness and precision, and callbacks (`bpf_loop`,
//! `bpf_for_each_map_elem`): each case's verdict, and that pruning keeps the work linear
//! where only imprecise values differ between paths.

mod common;

use common::run;
use userbpf_verifier::{map_type, MapInfo, Options, ProgType};

const XDP: ProgType = ProgType::Xdp;

const MAPS: &[MapInfo] = &[MapInfo {
    map_type: map_type::HASH,
    key_size: 4,
    value_size: 8,
    max_entries: 16,
    flags: 0,
    fd: Some(1),
    inner_map: None,
    frozen: None,
}];

fn ok(name: &str, code: &str) -> u64 {
    match run(code, XDP, MAPS, Options::default()) {
        Ok(n) => n,
        Err(e) => panic!("{name}: rejected at {}: {}", e.insn, e.message),
    }
}

fn err(name: &str, msg: &str, code: &str) {
    match run(code, XDP, MAPS, Options::default()) {
        Ok(_) => panic!("{name}: accepted, expected '{msg}'"),
        Err(e) => assert!(
            e.message.contains(msg),
            "{name}: '{}' lacks '{msg}'",
            e.message
        ),
    }
}

const PAD: &str = "r8 = 0\nr8 = 0\nr8 = 0\nr8 = 0\nr8 = 0\nr8 = 0\nr8 = 0\nr8 = 0\n";

#[test]
fn imprecise_values_are_pruned() {
    // 24 diamonds, each giving r6 a different value that is never used: without precision
    // tracking the paths would double at each one.
    let mut code = String::from("r9 = r1\n");
    for _ in 0..24 {
        code += "call 7\nr6 = 1\nif r0 > 5 goto +1\nr6 = 2\n";
    }
    code += "r0 = r6\nr0 &= 1\nexit\n";
    let n = ok("diamonds", &code);
    assert!(n < 2000, "processed {n} insns");
}

#[test]
fn precise_offset_is_not_pruned() {
    // The path with r6 = 0 is explored first; r6 = 100 reaches the same point and must not
    // be pruned: r6 becomes a stack offset.
    let code = format!(
        "call 7\n{PAD}r6 = 100\nif r0 > 5 goto +9\nr6 = 0\n{PAD}r7 = r10\nr7 += -8\nr7 += r6\n*(u8 *)(r7 + 0) = 0\nr0 = 0\nexit"
    );
    err("offset", "invalid write to stack", &code);
}

#[test]
fn precise_through_stack_spill() {
    // As above, with the value spilled to the stack and filled back after the join.
    let code = format!(
        "call 7\n{PAD}r6 = 100\n*(u64 *)(r10 - 16) = r6\nif r0 > 5 goto +10\nr6 = 0\n*(u64 *)(r10 - 16) = r6\n{PAD}r6 = 0\nr5 = *(u64 *)(r10 - 16)\nr7 = r10\nr7 += -8\nr7 += r5\n*(u8 *)(r7 + 0) = 0\nr0 = 0\nexit"
    );
    err("spill", "invalid write to stack", &code);
}

#[test]
fn precise_branch_decision() {
    // r6 decides a branch with a constant direction on each path; the other path must be
    // explored again.
    let code = format!(
        "call 7\n{PAD}r6 = 1\nif r0 > 5 goto +9\nr6 = 0\n{PAD}if r6 == 0 goto +2\nr0 = *(u64 *)(r10 - 64)\nexit\nr0 = 0\nexit"
    );
    err("branch", "invalid read from stack", &code);
}

#[test]
fn precise_helper_size() {
    let code = format!(
        "call 7\n{PAD}r6 = 64\nif r0 > 5 goto +9\nr6 = 8\n{PAD}*(u64 *)(r10 - 8) = 0\nr1 = r10\nr1 += -8\nr2 = r6\nr3 = 0\ncall 4\nr0 = 0\nexit"
    );
    let r = run(&code, ProgType::Other(2), MAPS, Options::default());
    assert!(r.is_err(), "helper size: accepted");
}

/// `*(fp - 8) = 0; bpf_loop(10, callback, fp - 8, 0); tail...; callback...` where the
/// callback follows the `tail` instructions.
fn with_loop(tail: &str, callback: &str) -> String {
    let n = tail.lines().count();
    format!(
        "*(u64 *)(r10 - 8) = 0\nr1 = 10\nld_pseudo r2, 4, {}\nr3 = r10\nr3 += -8\nr4 = 0\ncall 181\n{tail}{callback}",
        5 + n
    )
}

#[test]
fn bpf_loop_callbacks() {
    ok("loop", &with_loop("r0 = 0\nexit\n", "r0 = 0\nexit"));
    err(
        "loop ret",
        "At callback return the register R0 has smin=2 smax=2 should have been in [0, 1]",
        &with_loop("r0 = 0\nexit\n", "r0 = 2\nexit"),
    );
    err(
        "loop ret unknown",
        "At callback return the register R0",
        &with_loop("r0 = 0\nexit\n", "r0 = r1\nexit"),
    );
    // The callback writes through callback_ctx into the caller's stack.
    ok(
        "loop ctx write",
        &with_loop(
            "r0 = *(u64 *)(r10 - 8)\nexit\n",
            "*(u64 *)(r2 + 0) = r1\nr0 = 0\nexit",
        ),
    );
    err(
        "loop ctx overflow",
        "invalid write to stack",
        &with_loop("r0 = 0\nexit\n", "*(u64 *)(r2 + 8) = r1\nr0 = 0\nexit"),
    );
    // The index is a 32-bit unknown: using it as an offset unbounded.
    err(
        "loop index",
        "invalid variable-offset write to stack R3",
        &with_loop(
            "r0 = 0\nexit\n",
            "r3 = r10\nr3 += -8\nr3 += r1\n*(u8 *)(r3 + 0) = 0\nr0 = 0\nexit",
        ),
    );
    // A counter the callback increments is unbounded after the loop (iterated to a
    // fixed point): it cannot index the stack.
    err(
        "loop counter",
        "write to stack R2",
        &with_loop("r1 = *(u64 *)(r10 - 8)\nr2 = r10\nr2 += -64\nr2 += r1\n*(u8 *)(r2 + 0) = 0\nr0 = 0\nexit\n", "r3 = *(u64 *)(r2 + 0)\nr3 += 1\n*(u64 *)(r2 + 0) = r3\nr0 = 0\nexit")
            .replace("r1 = 10\n", "call 7\nr1 = r0\n"),
    );
    // With a count of 10, at most 10 iterations (as the kernel's `callback_depth`): the
    // counter stays within [0, 10].
    ok(
        "loop counter bounded by the count",
        &with_loop("r1 = *(u64 *)(r10 - 8)\nr2 = r10\nr2 += -64\nr2 += r1\n*(u8 *)(r2 + 0) = 0\nr0 = 0\nexit\n", "r3 = *(u64 *)(r2 + 0)\nr3 += 1\n*(u64 *)(r2 + 0) = r3\nr0 = 0\nexit"),
    );
    err(
        "loop counter past the count",
        "write to stack R2",
        &with_loop("r1 = *(u64 *)(r10 - 8)\nr2 = r10\nr2 += -64\nr2 += r1\n*(u8 *)(r2 + 54) = 0\nr0 = 0\nexit\n", "r3 = *(u64 *)(r2 + 0)\nr3 += 1\n*(u64 *)(r2 + 0) = r3\nr0 = 0\nexit"),
    );
    // The callback runs zero times on some paths: the caller's value stays as it was.
    ok(
        "loop counter bounded",
        &with_loop("r1 = *(u64 *)(r10 - 8)\nr1 &= 7\nr2 = r10\nr2 += -64\nr2 += r1\n*(u8 *)(r2 + 0) = 0\nr0 = 0\nexit\n", "r3 = *(u64 *)(r2 + 0)\nr3 += 1\n*(u64 *)(r2 + 0) = r3\nr0 = 0\nexit"),
    );
}

const EACH: &str =
    "ld_pseudo r1, 1, 1\nld_pseudo r2, 4, 6\nr3 = 0\nr4 = 0\ncall 164\nr0 = 0\nexit\n";

#[test]
fn for_each_map_elem_callbacks() {
    ok(
        "each",
        &format!("{EACH}r0 = *(u32 *)(r2 + 0)\nr5 = *(u64 *)(r3 + 0)\n*(u64 *)(r3 + 0) = r0\nr0 = 0\nexit"),
    );
    err(
        "each key write",
        "write to change key R2 not allowed",
        &format!("{EACH}*(u32 *)(r2 + 0) = 1\nr0 = 0\nexit"),
    );
    err(
        "each key past end",
        "invalid access to map key, key_size=4 off=0 size=8",
        &format!("{EACH}r0 = *(u64 *)(r2 + 0)\nr0 = 0\nexit"),
    );
    err(
        "each value past end",
        "invalid access to map value, value_size=8 off=4 size=8",
        &format!("{EACH}r0 = *(u64 *)(r3 + 4)\nr0 = 0\nexit"),
    );
    err(
        "each ret",
        "At callback return the register R0",
        &format!("{EACH}r0 = *(u64 *)(r3 + 0)\nexit"),
    );
}

#[test]
fn dead_stack_slots_are_pruned() {
    // Each diamond leaves a pointer or a number in fp-16, never read again.
    let mut code = String::from("r9 = r1\n");
    for _ in 0..24 {
        code += "call 7\n*(u64 *)(r10 - 16) = r10\nif r0 > 5 goto +1\n*(u64 *)(r10 - 16) = r0\n";
    }
    code += "r0 = 0\nexit\n";
    let n = ok("dead slots", &code);
    assert!(n < 2000, "processed {n} insns");
}

#[test]
fn live_stack_slot_is_compared() {
    // The path storing a pointer in fp-16 is explored first; the one leaving a number there
    // reaches the same point and must not be pruned: the slot is read and dereferenced.
    let code = format!(
        "call 7\n{PAD}*(u64 *)(r10 - 16) = r0\n*(u64 *)(r10 - 8) = 0\nif r0 > 5 goto +9\n*(u64 *)(r10 - 16) = r10\n{PAD}r1 = *(u64 *)(r10 - 16)\nr0 = *(u64 *)(r1 - 8)\nr0 = 0\nexit"
    );
    err("live slot", "invalid mem access 'scalar'", &code);
}

#[test]
fn may_goto_loops() {
    // The index decides accesses: it stays exact (precise) through the iterations.
    let n = ok(
        "may_goto indexed",
        "r1 = 0\n*(u64 *)(r10 - 64) = r1\n*(u64 *)(r10 - 56) = r1\nl: may_goto +6\nr2 = r10\nr2 += -64\nr2 += r1\n*(u8 *)(r2 + 0) = 0\nr1 += 1\nif r1 < 16 goto l\nr0 = 0\nexit",
    );
    assert!(n < 2000, "processed {n} insns");
    // An imprecise counter is widened: the loop converges.
    ok(
        "may_goto counter",
        "r0 = 0\nr3 = 0\nl: may_goto +3\nr0 += 1\nr3 += 2\ngoto l\nr0 = 0\nexit",
    );
    // A jump to itself never progresses.
    err(
        "may_goto self",
        "infinite loop detected",
        "r0 = 0\nl: may_goto -1\nr0 = 0\nexit",
    );
}

/// 24 diamonds, each leaving r3 a stack pointer on one side and the context on the other
/// (after 8 more instructions, so that the join gets a checkpoint), just before a `bpf_map_lookup_elem` (`helper`, 2 arguments) or `bpf_map_update_elem`
/// (4 arguments, r3 its value).
fn helper_diamonds(helper: u32) -> String {
    let mut code = String::from("r9 = r1\n*(u32 *)(r10 - 4) = 0\n*(u64 *)(r10 - 16) = 0\n");
    for _ in 0..24 {
        code += &format!(
            "call 7\nr3 = r10\nr3 += -16\nif r0 > 5 goto +9\n{PAD}r3 = r9\nr2 = r10\nr2 += -4\nld_pseudo r1, 1, 1\nr4 = 0\ncall {helper}\n"
        );
    }
    code + "r0 = 0\nexit\n"
}

#[test]
fn registers_a_helper_does_not_read_are_dead() {
    // r3 is no argument of bpf_map_lookup_elem (map, key): the paths that differ only in r3
    // meet before the call, and the second is pruned there (the kernel's liveness reads a
    // helper's arguments from its prototype). Before, every helper call counted r1-r5 as
    // read and the second path of each diamond went on to the next one: 713 instructions
    // (now 461).
    let n = ok("dead helper argument", &helper_diamonds(1));
    assert!(n < 500, "processed {n} insns");
}

#[test]
fn helper_arguments_stay_live() {
    // The same with bpf_map_update_elem, whose value r3 is: the path with r3 = ctx is not
    // pruned against the one with a stack pointer, and is refused at the call.
    err(
        "live helper argument",
        "R3 type=ctx expected=fp",
        &helper_diamonds(2),
    );
}

#[test]
fn unread_helper_registers_may_be_uninitialised() {
    // Why r3 may be left out of the comparison before bpf_map_lookup_elem: the call never
    // reads it, so even a never-written r3 is accepted there (as by the kernel), while
    // bpf_map_update_elem refuses it.
    let call = |helper: u32| {
        format!("*(u32 *)(r10 - 4) = 0\nr2 = r10\nr2 += -4\nld_pseudo r1, 1, 1\ncall {helper}\nr0 = 0\nexit\n")
    };
    ok("lookup with r3 unset", &call(1));
    err("update with r3 unset", "R3 !read_ok", &call(2));
}
