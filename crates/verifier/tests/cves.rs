//! Regressions for the kernel verifier's known soundness bugs, expressed without maps
//! (stack buffers stand in for map values). Each program is unsafe: a value the buggy
//! kernel believed bounded reaches a memory access out of bounds. Each must be rejected by
//! userbpf, and (where bpf() works) by today's kernel too.

mod common;

use common::{kernel, run};
use userbpf_verifier::{Options, ProgType};

/// Unknown 64-bit value in r6 (two random halves); r1 saved in r9.
const RAND64: &str = "r9 = r1\ncall 7\nr6 = r0\nr6 <<= 32\ncall 7\nr6 |= r0\n";

fn must_reject(name: &str, body: &str) {
    let code = format!("{RAND64}{body}");
    let ours = run(&code, ProgType::Xdp, &[], Options::default());
    assert!(ours.is_err(), "{name}: accepted an unsafe program");
    if let Some(k) = kernel(&code, ProgType::Xdp) {
        assert!(k.is_err(), "{name}: the running kernel accepts it");
    }
    println!("{name}: rejected: {}", ours.unwrap_err().message);
}

/// CVE-2020-8835: 32-bit bounds wrongly derived from 64-bit ones at a JMP32. With
/// 1 <= r6 <= 2^32 + 1 the low half may be 0 or 1 (not only 1).
#[test]
fn cve_2020_8835() {
    must_reject(
        "CVE-2020-8835",
        "if r6 < 1 goto +9\nr7 = 0x100000001 ll\nif r6 > r7 goto +6\nif w6 > 1 goto +5\nw6 -= 1\nr6 >>= 31\nr6 <<= 10\nr3 = r10\nr3 += -8\nr3 += r6\n*(u8 *)(r3 + 0) = 0\nr0 = 0\nexit",
    );
}

/// CVE-2021-31440: 64-bit bounds wrongly applied to the 32-bit subregister when the value
/// crosses a 32-bit boundary (`__reg_combine_64_into_32`).
#[test]
fn cve_2021_31440() {
    must_reject(
        "CVE-2021-31440",
        "r7 = 0x7fffffff ll\nif r6 < r7 goto +7\nr7 = 0x100000000 ll\nif r6 > r7 goto +4\nw6 += 1\nr6 &= 0x7fffffff\nr3 = r10\nr3 += r6\n*(u8 *)(r3 - 8) = 0\nr0 = 0\nexit",
    );
}

/// CVE-2021-3490: ALU32 and/or/xor bounds derived from the 64-bit bounds.
#[test]
fn cve_2021_3490() {
    for (op, v) in [("&=", "0xffffffff"), ("|=", "1"), ("^=", "1")] {
        must_reject(
            &format!("CVE-2021-3490 w {op}"),
            &format!("r7 = 0x100000000 ll\nif r6 > r7 goto +5\nw6 {op} {v}\nr3 = r10\nr3 += -8\nr3 += r6\n*(u8 *)(r3 + 0) = 0\nr0 = 0\nexit"),
        );
    }
}

/// CVE-2020-27194: 32-bit OR bounds (`scalar32_min_max_or`) used signed bounds wrongly.
#[test]
fn cve_2020_27194() {
    must_reject(
        "CVE-2020-27194",
        "if w6 s> 0 goto +6\nw6 |= 1\nw6 += 1\nr3 = r10\nr3 += -8\nr3 += r6\n*(u8 *)(r3 + 0) = 0\nr0 = 0\nexit",
    );
}

/// CVE-2022-23222: arithmetic on an or-null pointer before its null check. Without maps,
/// the or-null pointer comes from a ringbuf reservation... which needs a map; the stack
/// variant below checks the same rule on the kernel-free path, and the suite checks
/// `map_value_or_null` arithmetic with our own map description.
#[test]
fn cve_2022_23222() {
    use userbpf_verifier::{map_type, MapInfo};
    let maps = [MapInfo {
        map_type: map_type::RINGBUF,
        key_size: 0,
        value_size: 0,
        max_entries: 4096,
        flags: 0,
        fd: Some(3),
        inner_map: None,
        frozen: None,
    }];
    let code = "ld_pseudo r1, 1, 3\nr2 = 8\nr3 = 0\ncall 131\nr0 += 8\nif r0 == 0 goto +4\nr1 = r0\nr1 += -8\nr2 = 0\ncall 132\nr0 = 0\nexit";
    let err = run(code, ProgType::Xdp, &maps, Options::default()).unwrap_err();
    assert!(
        err.message.contains("null-check it first"),
        "{}",
        err.message
    );
}

/// CVE-2023-2163: pruning that ignored precision. A state with an imprecise scalar must not
/// cover one where the scalar is later used as an offset.
#[test]
fn cve_2023_2163() {
    must_reject(
        "CVE-2023-2163",
        "r8 = 0\nif r6 > 100 goto +1\nr8 = 64\nr7 = 0\nif r6 > 200 goto +1\nr7 = 1\nr3 = r10\nr3 += -8\nr3 += r8\n*(u8 *)(r3 + 0) = 0\nr0 = 0\nexit",
    );
}

/// CVE-2023-2163 as the kernel fixed it: the bound of r7 comes from `if r7 > r8`, so when
/// r7 must be precise (it becomes an offset), r8 must be too. The path with r8 = 8 is
/// explored first and checkpointed where r8 is set; the path with r8 = 255 reaches that
/// checkpoint and must not be pruned there.
#[test]
fn cve_2023_2163_register_compare() {
    let pad = "r5 = 0\n".repeat(8);
    must_reject(
        "CVE-2023-2163 (jump on registers)",
        &format!(
            "r7 = r6\nr7 &= 255\nr8 = 255\nif r0 > 5 goto +9\nr8 = 8\n{pad}if r7 > r8 goto +5\nr2 = r10\nr2 += -16\nr2 += r7\n*(u8 *)(r2 + 0) = 0\nr0 = 0\nexit"
        ),
    );
}

/// CVE-2021-3444: 32-bit modulo by zero leaves the dividend, whose upper bits the kernel's
/// rewrite failed to clear; the result must keep the dividend's full range.
#[test]
fn cve_2021_3444() {
    must_reject(
        "CVE-2021-3444",
        "w7 = 0\nr8 = r6\nw8 %= w7\nr3 = r10\nr3 += -8\nr8 &= 0xff\nr3 += r8\n*(u8 *)(r3 + 0) = 0\nr0 = 0\nexit",
    );
}

/// CVE-2021-3600: 32-bit division by a register that may be zero (`div32` truncation).
#[test]
fn cve_2021_3600() {
    must_reject(
        "CVE-2021-3600",
        "r7 = r6\nr7 &= 1\nw6 /= w7\nr6 &= 0xff\nr3 = r10\nr3 += -8\nr3 += r6\n*(u8 *)(r3 + 0) = 0\nr0 = 0\nexit",
    );
}

/// CVE-2017-16995: sign extension of a 32-bit move (`mov32 r2, 0xffffffff` is 0xffffffff,
/// not -1).
#[test]
fn cve_2017_16995() {
    must_reject(
        "CVE-2017-16995",
        "w2 = -1\nr2 >>= 24\nr3 = r10\nr3 += -8\nr3 += r2\n*(u8 *)(r3 + 0) = 0\nr0 = 0\nexit",
    );
    // And the 32-bit move is exactly 0xffffffff: this one is safe.
    let ok = "w2 = -1\nr2 >>= 32\nr3 = r10\nr3 += -8\nr3 += r2\n*(u8 *)(r3 + 0) = 0\nr0 = 0\nexit";
    run(ok, ProgType::Xdp, &[], Options::default()).unwrap();
}
