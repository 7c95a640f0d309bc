//! The disassembler's output format, one case per instruction kind.
//!
//! Takes tables of (encoded bytes, text) whose texts were printed by `llvm-objdump-19 -d
//! --no-show-raw-insn` on objects assembled by `clang-19 -target bpf -mcpu=v4` (from LLVM
//! assembly, and from `.quad` directives for encodings the assembler does not produce); gives
//! a check that [`disasm`] prints the same text for each, plus the documented differences.

use userbpf_isa::disasm::{self, Options};
use userbpf_isa::{decode_insn, Insn, Program, RawInsn};

/// `llvm-objdump-19 -d --no-show-raw-insn` (default cpu): bytes and the text it prints.
const DEFAULT_CPU: &[(&str, &str)] = &[
    ("b7 00 00 00 01 00 00 00", "r0 = 0x1"),
    ("b7 01 00 00 ff ff ff ff", "r1 = -0x1"),
    ("b4 00 00 00 ff ff ff ff", "w0 = -0x1"),
    ("07 01 00 00 f8 ff ff ff", "r1 += -0x8"),
    ("0c 21 00 00 00 00 00 00", "w1 += w2"),
    ("1f 21 00 00 00 00 00 00", "r1 -= r2"),
    ("24 01 00 00 03 00 00 00", "w1 *= 0x3"),
    ("3f 21 00 00 00 00 00 00", "r1 /= r2"),
    ("34 01 01 00 03 00 00 00", "w1 s/= 0x3"),
    ("9f 21 01 00 00 00 00 00", "r1 s%= r2"),
    ("97 01 00 00 07 00 00 00", "r1 %= 0x7"),
    ("47 01 00 00 ff ff ff 7f", "r1 |= 0x7fffffff"),
    ("57 01 00 00 00 00 00 80", "r1 &= -0x80000000"),
    ("67 01 00 00 03 00 00 00", "r1 <<= 0x3"),
    ("7c 21 00 00 00 00 00 00", "w1 >>= w2"),
    ("c7 01 00 00 05 00 00 00", "r1 s>>= 0x5"),
    ("af 21 00 00 00 00 00 00", "r1 ^= r2"),
    ("bf 21 00 00 00 00 00 00", "r1 = r2"),
    ("bc 21 00 00 00 00 00 00", "w1 = w2"),
    ("87 01 00 00 00 00 00 00", "r1 = -r1"),
    ("84 01 00 00 00 00 00 00", "w1 = -w1"),
    ("bf 21 08 00 00 00 00 00", "r1 = (s8)r2"),
    ("bf 21 10 00 00 00 00 00", "r1 = (s16)r2"),
    ("bf 21 20 00 00 00 00 00", "r1 = (s32)r2"),
    ("bc 21 08 00 00 00 00 00", "w1 = (s8)w2"),
    ("bc 21 10 00 00 00 00 00", "w1 = (s16)w2"),
    ("dc 01 00 00 10 00 00 00", "r1 = be16 r1"),
    ("dc 01 00 00 20 00 00 00", "r1 = be32 r1"),
    ("dc 01 00 00 40 00 00 00", "r1 = be64 r1"),
    ("d4 01 00 00 10 00 00 00", "r1 = le16 r1"),
    ("d4 01 00 00 20 00 00 00", "r1 = le32 r1"),
    ("d4 01 00 00 40 00 00 00", "r1 = le64 r1"),
    ("d7 01 00 00 10 00 00 00", "r1 = bswap16 r1"),
    ("d7 01 00 00 20 00 00 00", "r1 = bswap32 r1"),
    ("d7 01 00 00 40 00 00 00", "r1 = bswap64 r1"),
    ("71 12 02 00 00 00 00 00", "r2 = *(u8 *)(r1 + 0x2)"),
    ("69 a2 f8 ff 00 00 00 00", "r2 = *(u16 *)(r10 - 0x8)"),
    ("61 12 00 00 00 00 00 00", "r2 = *(u32 *)(r1 + 0x0)"),
    ("79 12 ff 7f 00 00 00 00", "r2 = *(u64 *)(r1 + 0x7fff)"),
    ("79 12 00 80 00 00 00 00", "r2 = *(u64 *)(r1 - 0x8000)"),
    ("61 12 00 00 00 00 00 00", "r2 = *(u32 *)(r1 + 0x0)"),
    ("71 12 00 00 00 00 00 00", "r2 = *(u8 *)(r1 + 0x0)"),
    ("91 12 00 00 00 00 00 00", "r2 = *(s8 *)(r1 + 0x0)"),
    ("89 12 00 00 00 00 00 00", "r2 = *(s16 *)(r1 + 0x0)"),
    ("81 12 00 00 00 00 00 00", "r2 = *(s32 *)(r1 + 0x0)"),
    ("73 1a ff ff 00 00 00 00", "*(u8 *)(r10 - 0x1) = r1"),
    ("6b 1a fe ff 00 00 00 00", "*(u16 *)(r10 - 0x2) = r1"),
    ("63 1a fc ff 00 00 00 00", "*(u32 *)(r10 - 0x4) = r1"),
    ("7b 1a f8 ff 00 00 00 00", "*(u64 *)(r10 - 0x8) = r1"),
    ("63 1a fc ff 00 00 00 00", "*(u32 *)(r10 - 0x4) = r1"),
    ("72 0a ff ff 05 00 00 00", "*(u8 *)(r10 - 0x1) = 0x5"),
    ("7a 0a f8 ff ff ff ff ff", "*(u64 *)(r10 - 0x8) = -0x1"),
    ("62 0a f8 ff 64 00 00 00", "*(u32 *)(r10 - 0x8) = 0x64"),
    ("db 21 00 00 00 00 00 00", "lock *(u64 *)(r1 + 0x0) += r2"),
    ("c3 21 00 00 00 00 00 00", "lock *(u32 *)(r1 + 0x0) += r2"),
    ("db 21 08 00 40 00 00 00", "lock *(u64 *)(r1 + 0x8) |= r2"),
    ("db 21 08 00 50 00 00 00", "lock *(u64 *)(r1 + 0x8) &= r2"),
    ("db 21 08 00 a0 00 00 00", "lock *(u64 *)(r1 + 0x8) ^= r2"),
    (
        "db 21 00 00 01 00 00 00",
        "r2 = atomic_fetch_add((u64 *)(r1 + 0x0), r2)",
    ),
    (
        "db 21 00 00 41 00 00 00",
        "r2 = atomic_fetch_or((u64 *)(r1 + 0x0), r2)",
    ),
    (
        "db 21 00 00 51 00 00 00",
        "r2 = atomic_fetch_and((u64 *)(r1 + 0x0), r2)",
    ),
    (
        "db 21 00 00 a1 00 00 00",
        "r2 = atomic_fetch_xor((u64 *)(r1 + 0x0), r2)",
    ),
    ("db 21 00 00 e1 00 00 00", "r2 = xchg_64(r1 + 0x0, r2)"),
    (
        "db 21 00 00 f1 00 00 00",
        "r0 = cmpxchg_64(r1 + 0x0, r0, r2)",
    ),
    (
        "18 01 00 00 34 12 00 00 00 00 00 00 00 00 00 00",
        "r1 = 0x1234 ll",
    ),
    (
        "18 01 00 00 ff ff ff ff 00 00 00 00 ff ff ff ff",
        "r1 = -0x1 ll",
    ),
    (
        "18 01 00 00 f0 de bc 9a 00 00 00 00 78 56 34 12",
        "r1 = 0x123456789abcdef0 ll",
    ),
    ("30 00 00 00 0c 00 00 00", "r0 = *(u8 *)skb[0xc]"),
    ("28 00 00 00 0c 00 00 00", "r0 = *(u16 *)skb[0xc]"),
    ("20 00 00 00 0c 00 00 00", "r0 = *(u32 *)skb[0xc]"),
    ("50 10 00 00 00 00 00 00", "r0 = *(u8 *)skb[r1]"),
    ("40 20 00 00 00 00 00 00", "r0 = *(u32 *)skb[r2]"),
    ("1d 21 03 00 00 00 00 00", "if r1 == r2 goto +0x3"),
    ("25 01 fb ff 05 00 00 00", "if r1 > 0x5 goto -0x5"),
    ("3d 21 00 00 00 00 00 00", "if r1 >= r2 goto +0x0"),
    ("4d 21 01 00 00 00 00 00", "if r1 & r2 goto +0x1"),
    ("55 01 01 00 ff ff ff ff", "if r1 != -0x1 goto +0x1"),
    ("6d 21 01 00 00 00 00 00", "if r1 s> r2 goto +0x1"),
    ("7d 21 01 00 00 00 00 00", "if r1 s>= r2 goto +0x1"),
    ("ad 21 01 00 00 00 00 00", "if r1 < r2 goto +0x1"),
    ("bd 21 01 00 00 00 00 00", "if r1 <= r2 goto +0x1"),
    ("cd 21 01 00 00 00 00 00", "if r1 s< r2 goto +0x1"),
    ("d5 01 01 00 00 00 00 00", "if r1 s<= 0x0 goto +0x1"),
    ("16 01 03 00 05 00 00 00", "if w1 == 0x5 goto +0x3"),
    ("ce 21 03 00 00 00 00 00", "if w1 s< w2 goto +0x3"),
    ("05 00 03 00 00 00 00 00", "goto +0x3"),
    ("05 00 ff ff 00 00 00 00", "goto -0x1"),
    ("06 00 00 00 03 00 00 00", "gotol +0x3"),
    ("85 00 00 00 05 00 00 00", "call 0x5"),
    ("85 00 00 00 ff ff ff ff", "call -0x1"),
    ("8d 01 00 00 00 00 00 00", "callx r1"),
    ("95 00 00 00 00 00 00 00", "exit"),
    ("b4 01 00 00 05 00 00 00", "w1 = 0x5"),
    ("b4 01 00 00 ff ff ff ff", "w1 = -0x1"),
    ("14 01 00 00 01 00 00 00", "w1 -= 0x1"),
    ("3c 21 00 00 00 00 00 00", "w1 /= w2"),
    ("94 01 00 00 03 00 00 00", "w1 %= 0x3"),
    ("9c 21 01 00 00 00 00 00", "w1 s%= w2"),
    ("4c 21 00 00 00 00 00 00", "w1 |= w2"),
    ("54 01 00 00 ff 00 00 00", "w1 &= 0xff"),
    ("6c 21 00 00 00 00 00 00", "w1 <<= w2"),
    ("74 01 00 00 03 00 00 00", "w1 >>= 0x3"),
    ("cc 21 00 00 00 00 00 00", "w1 s>>= w2"),
    ("a4 01 00 00 ff ff ff ff", "w1 ^= -0x1"),
    ("2f 21 00 00 00 00 00 00", "r1 *= r2"),
    ("37 01 01 00 fd ff ff ff", "r1 s/= -0x3"),
    ("5e 21 01 00 00 00 00 00", "if w1 != w2 goto +0x1"),
    ("26 01 01 00 00 00 00 00", "if w1 > 0x0 goto +0x1"),
    ("3e 21 01 00 00 00 00 00", "if w1 >= w2 goto +0x1"),
    ("46 01 01 00 01 00 00 00", "if w1 & 0x1 goto +0x1"),
    ("6e 21 01 00 00 00 00 00", "if w1 s> w2 goto +0x1"),
    ("76 01 01 00 ff ff ff ff", "if w1 s>= -0x1 goto +0x1"),
    ("ae 21 01 00 00 00 00 00", "if w1 < w2 goto +0x1"),
    ("b6 01 01 00 07 00 00 00", "if w1 <= 0x7 goto +0x1"),
    ("de 21 01 00 00 00 00 00", "if w1 s<= w2 goto +0x1"),
    ("45 01 f6 ff 80 00 00 00", "if r1 & 0x80 goto -0xa"),
    ("e5 00 02 00 00 00 00 00", "may_goto +0x2"),
    ("95 00 00 00 00 00 00 00", "exit"),
    (
        "18 01 00 00 10 00 00 00 00 00 00 00 20 00 00 00",
        "r1 = 0x2000000010 ll",
    ),
    (
        "18 11 00 00 10 00 00 00 00 00 00 00 20 00 00 00",
        "ld_pseudo\tr1, 0x1, 0x10",
    ),
    (
        "18 21 00 00 10 00 00 00 00 00 00 00 20 00 00 00",
        "ld_pseudo\tr1, 0x2, 0x10",
    ),
    (
        "18 31 00 00 10 00 00 00 00 00 00 00 20 00 00 00",
        "ld_pseudo\tr1, 0x3, 0x10",
    ),
    (
        "18 41 00 00 10 00 00 00 00 00 00 00 20 00 00 00",
        "ld_pseudo\tr1, 0x4, 0x10",
    ),
    (
        "18 51 00 00 10 00 00 00 00 00 00 00 20 00 00 00",
        "ld_pseudo\tr1, 0x5, 0x10",
    ),
    (
        "18 61 00 00 10 00 00 00 00 00 00 00 20 00 00 00",
        "ld_pseudo\tr1, 0x6, 0x10",
    ),
    (
        "18 01 00 00 00 00 00 00 00 00 00 00 00 00 00 80",
        "r1 = -0x8000000000000000 ll",
    ),
    (
        "18 01 00 00 ff ff ff ff 00 00 00 00 00 00 00 00",
        "r1 = 0xffffffff ll",
    ),
    ("85 20 00 00 d2 04 00 00", "call 0x4d2"),
    ("85 20 03 00 d2 04 00 00", "call 0x4d2"),
    ("85 10 00 00 05 00 00 00", "call 0x5"),
    ("85 00 00 00 fb ff ff ff", "call -0x5"),
    ("e5 00 03 00 00 00 00 00", "may_goto +0x3"),
    ("e5 00 fd ff 00 00 00 00", "may_goto -0x3"),
    ("8d 02 00 00 00 00 00 00", "callx r2"),
    ("16 01 fe ff ff ff ff ff", "if w1 == -0x1 goto -0x2"),
    ("06 00 00 00 fe ff ff ff", "gotol -0x2"),
    ("b7 01 00 00 00 00 00 80", "r1 = -0x80000000"),
    ("07 01 00 00 00 00 00 00", "r1 += 0x0"),
    ("d4 01 00 00 10 00 00 00", "r1 = le16 r1"),
    ("84 01 00 00 00 00 00 00", "w1 = -w1"),
    ("95 00 00 00 00 00 00 00", "exit"),
];

/// The same encodings with `llvm-objdump-19 --mcpu=v3` ([`Options::alu32`]), where the text
/// differs from the default cpu: `w` registers for sub-64-bit loads, stores and atomics.
const ALU32: &[(&str, &str)] = &[
    ("71 12 02 00 00 00 00 00", "w2 = *(u8 *)(r1 + 0x2)"),
    ("69 a2 f8 ff 00 00 00 00", "w2 = *(u16 *)(r10 - 0x8)"),
    ("61 12 00 00 00 00 00 00", "w2 = *(u32 *)(r1 + 0x0)"),
    ("61 12 00 00 00 00 00 00", "w2 = *(u32 *)(r1 + 0x0)"),
    ("71 12 00 00 00 00 00 00", "w2 = *(u8 *)(r1 + 0x0)"),
    ("73 1a ff ff 00 00 00 00", "*(u8 *)(r10 - 0x1) = w1"),
    ("6b 1a fe ff 00 00 00 00", "*(u16 *)(r10 - 0x2) = w1"),
    ("63 1a fc ff 00 00 00 00", "*(u32 *)(r10 - 0x4) = w1"),
    ("63 1a fc ff 00 00 00 00", "*(u32 *)(r10 - 0x4) = w1"),
    ("c3 21 00 00 00 00 00 00", "lock *(u32 *)(r1 + 0x0) += w2"),
    ("c3 21 08 00 a0 00 00 00", "lock *(u32 *)(r1 + 0x8) ^= w2"),
    (
        "c3 21 00 00 01 00 00 00",
        "w2 = atomic_fetch_add((u32 *)(r1 + 0x0), w2)",
    ),
    ("c3 21 00 00 e1 00 00 00", "w2 = xchg32_32(r1 + 0x0, w2)"),
    (
        "c3 21 00 00 f1 00 00 00",
        "w0 = cmpxchg32_32(r1 + 0x0, w0, w2)",
    ),
];

/// 32-bit atomics that objdump's default cpu cannot decode (`<unknown>`) or prints wrongly (a
/// fetching add as a plain `lock ... +=`): we print the alu32 syntax in both modes.
const BEYOND_DEFAULT_OBJDUMP: &[(&str, &str)] = &[
    ("c3 21 08 00 a0 00 00 00", "lock *(u32 *)(r1 + 0x8) ^= w2"), // objdump: <unknown>
    (
        "c3 21 00 00 01 00 00 00",
        "w2 = atomic_fetch_add((u32 *)(r1 + 0x0), w2)",
    ), // objdump: lock *(u32 *)(r1 + 0x0) += r2
    ("c3 21 00 00 e1 00 00 00", "w2 = xchg32_32(r1 + 0x0, w2)"),  // objdump: <unknown>
    (
        "c3 21 00 00 f1 00 00 00",
        "w0 = cmpxchg32_32(r1 + 0x0, w0, w2)",
    ), // objdump: <unknown>
];

/// Encodings objdump prints although a reserved field is set or a value is out of range
/// (objdump ignores those fields). The kernel's verifier rejects every one of them, and so
/// does our decoder.
const REJECTED_LIKE_THE_KERNEL: &[(&str, &str)] = &[
    (
        "18 71 00 00 10 00 00 00 00 00 00 00 20 00 00 00",
        "ld_pseudo\tr1, 0x7, 0x10",
    ),
    ("85 30 00 00 05 00 00 00", "call 0x5"),
    ("8d 10 00 00 00 00 00 00", "callx r0"),
    ("b7 21 00 00 05 00 00 00", "r1 = 0x5"),
    ("bf 21 00 00 05 00 00 00", "r1 = r2"),
    ("95 01 00 00 00 00 00 00", "exit"),
    ("05 00 02 00 07 00 00 00", "goto +0x2"),
    ("61 21 00 00 07 00 00 00", "r1 = *(u32 *)(r2 + 0x0)"),
    ("62 21 00 00 07 00 00 00", "*(u32 *)(r1 + 0x0) = 0x7"),
    ("63 21 00 00 07 00 00 00", "*(u32 *)(r1 + 0x0) = r2"),
    ("20 01 00 00 07 00 00 00", "r0 = *(u32 *)skb[0x7]"),
    ("40 10 04 00 07 00 00 00", "r0 = *(u32 *)skb[r1]"),
    ("d4 21 00 00 10 00 00 00", "r1 = le16 r1"),
    ("87 01 00 00 05 00 00 00", "r1 = -r1"),
    (
        "18 01 00 00 01 00 00 00 00 01 00 00 02 00 00 00",
        "r1 = 0x200000001 ll",
    ),
    ("85 01 00 00 05 00 00 00", "call 0x5"),
    ("85 00 04 00 05 00 00 00", "call 0x5"),
    ("85 10 04 00 05 00 00 00", "call 0x5"),
    ("1d 21 00 00 05 00 00 00", "if r1 == r2 goto +0x0"),
    ("15 21 00 00 05 00 00 00", "if r1 == 0x5 goto +0x0"),
    ("db 21 00 00 02 00 00 00", "lock *(u64 *)(r1 + 0x0) += r2"),
    ("20 10 00 00 07 00 00 00", "r0 = *(u32 *)skb[0x7]"),
];

/// Encodings objdump prints as `<unknown>`; our decoder rejects them too.
const UNKNOWN_TO_BOTH: &[&str] = &[
    "07 01 05 00 05 00 00 00",
    "95 00 00 00 07 00 00 00",
    "d4 01 00 00 11 00 00 00",
    "8f 21 00 00 00 00 00 00",
    "3f 21 02 00 00 00 00 00",
    "bf 21 07 00 00 00 00 00",
    "b7 01 08 00 05 00 00 00",
    "bc 21 20 00 00 00 00 00",
    "18 01 03 00 01 00 00 00",
    "00 00 00 00 02 00 00 00",
];

fn parse_hex(hex: &str) -> Vec<u8> {
    hex.split_whitespace()
        .map(|b| u8::from_str_radix(b, 16).expect("hex byte"))
        .collect()
}

fn decode(hex: &str) -> Result<Insn, String> {
    let raw: Vec<RawInsn> = parse_hex(hex)
        .chunks_exact(8)
        .map(|c| RawInsn::from_bytes(c.try_into().expect("8 bytes")))
        .collect();
    decode_insn(&raw).map_err(|e| e.to_string())
}

fn check(table: &[(&str, &str)], opts: &Options) {
    let mut failures = Vec::new();
    for &(hex, expected) in table {
        match decode(hex) {
            Ok(insn) => {
                let got = disasm::format_insn_with(&insn, opts);
                if got != expected {
                    failures.push(format!("{hex}: expected `{expected}`, got `{got}`"));
                }
            }
            Err(e) => failures.push(format!("{hex}: expected `{expected}`, decode error {e}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn default_cpu_matches_objdump() {
    check(DEFAULT_CPU, &Options::default());
}

#[test]
fn alu32_matches_objdump_mcpu_v3() {
    let alu32 = Options {
        alu32: true,
        ..Options::default()
    };
    check(ALU32, &alu32);
    // Everything else prints the same in both modes.
    let differs: Vec<&str> = ALU32.iter().map(|&(hex, _)| hex).collect();
    let same: Vec<(&str, &str)> = DEFAULT_CPU
        .iter()
        .copied()
        .filter(|(hex, _)| !differs.contains(hex))
        .collect();
    check(&same, &alu32);
}

#[test]
fn atomics_objdump_cannot_print_without_alu32() {
    check(BEYOND_DEFAULT_OBJDUMP, &Options::default());
}

#[test]
fn encodings_the_kernel_rejects_do_not_decode() {
    for &(hex, objdump_text) in REJECTED_LIKE_THE_KERNEL {
        assert!(
            decode(hex).is_err(),
            "{hex} (objdump: `{objdump_text}`) should not decode"
        );
    }
    for &hex in UNKNOWN_TO_BOTH {
        assert!(decode(hex).is_err(), "{hex} should not decode");
    }
}

#[test]
fn program_listing_has_objdump_slot_numbers() {
    let bytes = parse_hex(
        "b7 00 00 00 01 00 00 00 18 01 00 00 34 12 00 00 00 00 00 00 00 00 00 00 \
         15 01 01 00 05 00 00 00 05 00 ff ff 00 00 00 00 95 00 00 00 00 00 00 00",
    );
    let p = Program::decode(&bytes).expect("valid program");
    assert_eq!(
        disasm::format_program(&p),
        "       0:\tr0 = 0x1\n       1:\tr1 = 0x1234 ll\n       3:\tif r1 == 0x5 goto +0x1\n       \
         4:\tgoto -0x1\n       5:\texit\n"
    );
    let labelled = Options {
        slot_labels: true,
        ..Options::default()
    };
    let text = disasm::format_program_with(&p, &labelled);
    assert!(text.contains("3:\tif r1 == 0x5 goto +0x1 <L5>\n"), "{text}");
    assert!(text.contains("4:\tgoto -0x1 <L4>\n"), "{text}");
    let named = disasm::format_insn_at(&p.insns()[2], 3, &Options::default(), &|slot| {
        (slot == 5).then(|| "LBB0_2".to_string())
    });
    assert_eq!(named, "if r1 == 0x5 goto +0x1 <LBB0_2>");
}

#[test]
fn listing_resumes_after_an_invalid_slot() {
    let bytes = parse_hex("95 00 00 00 07 00 00 00 95 00 00 00 00 00 00 00");
    let lines = disasm::disassemble(&bytes);
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0].text(&Options::default()), "<unknown>");
    assert!(lines[0].insn.is_err());
    assert_eq!(lines[1].slot, 1);
    assert_eq!(lines[1].text(&Options::default()), "exit");
}
