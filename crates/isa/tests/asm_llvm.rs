//! The LLVM/kernel syntax: every form `llvm-objdump-19` prints assembles to the instruction it
//! was printed from; the forms in decimal that people write by hand; labels; errors with line
//! and column.

use userbpf_isa::asm::{assemble, assemble_to_bytes, AsmError, AsmErrorKind};
use userbpf_isa::*;

fn one(text: &str) -> Insn {
    let insns = assemble(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
    assert_eq!(insns.len(), 1, "{text:?}");
    insns[0]
}

fn err(text: &str) -> AsmError {
    match assemble(text) {
        Ok(insns) => panic!("{text:?} assembled to {insns:?}"),
        Err(e) => e,
    }
}

const R0: Reg = Reg::R0;
const R1: Reg = Reg::R1;
const R2: Reg = Reg::R2;
const R10: Reg = Reg::R10;

fn alu(width: Width, op: AluOp, dst: Reg, src: Source) -> Insn {
    Insn::Alu {
        width,
        op,
        dst,
        src,
    }
}

fn atomic(size: AtomicSize, op: AtomicOp, dst: Reg, src: Reg) -> Insn {
    Insn::Atomic {
        size,
        op,
        dst,
        src,
        off: 0,
    }
}

/// The forms of the LLVM syntax, in decimal as written by hand, with the instruction each
/// means.
fn forms() -> Vec<(&'static str, Insn)> {
    use AluOp::*;
    use Source::{Imm, Reg as R};
    use Width::{W32, W64};
    vec![
        ("r0 = 1", alu(W64, Mov, R0, Imm(1))),
        ("w1 = w2", alu(W32, Mov, R1, R(R2))),
        ("r1 += r2", alu(W64, Add, R1, R(R2))),
        ("w1 s/= 3", alu(W32, SDiv, R1, Imm(3))),
        ("r1 s%= r2", alu(W64, SMod, R1, R(R2))),
        ("r1 -= -8", alu(W64, Sub, R1, Imm(-8))),
        ("w1 *= 4294967295", alu(W32, Mul, R1, Imm(-1))),
        ("r1 /= r2", alu(W64, Div, R1, R(R2))),
        ("r1 %= 7", alu(W64, Mod, R1, Imm(7))),
        ("r1 |= r2", alu(W64, Or, R1, R(R2))),
        ("r1 &= 0xff", alu(W64, And, R1, Imm(255))),
        ("r1 <<= 3", alu(W64, Lsh, R1, Imm(3))),
        ("w1 >>= w2", alu(W32, Rsh, R1, R(R2))),
        ("r1 ^= r2", alu(W64, Xor, R1, R(R2))),
        ("r1 s>>= 63", alu(W64, Arsh, R1, Imm(63))),
        (
            "r1 = -r1",
            Insn::Neg {
                width: W64,
                dst: R1,
            },
        ),
        (
            "w1 = -w1",
            Insn::Neg {
                width: W32,
                dst: R1,
            },
        ),
        ("r1 = -1", alu(W64, Mov, R1, Imm(-1))),
        (
            "r1 = (s8)r2",
            Insn::MovSx {
                width: W64,
                dst: R1,
                src: R2,
                from: SxFrom::B8,
            },
        ),
        (
            "w1 = (s16)w2",
            Insn::MovSx {
                width: W32,
                dst: R1,
                src: R2,
                from: SxFrom::B16,
            },
        ),
        (
            "r1 = (s32)r2",
            Insn::MovSx {
                width: W64,
                dst: R1,
                src: R2,
                from: SxFrom::B32,
            },
        ),
        (
            "r1 = be16 r1",
            Insn::Endian {
                order: ByteOrder::ToBe,
                bits: EndianBits::B16,
                dst: R1,
            },
        ),
        (
            "r1 = le32 r1",
            Insn::Endian {
                order: ByteOrder::ToLe,
                bits: EndianBits::B32,
                dst: R1,
            },
        ),
        (
            "r1 = bswap64 r1",
            Insn::Endian {
                order: ByteOrder::Swap,
                bits: EndianBits::B64,
                dst: R1,
            },
        ),
        (
            "*(u32 *)(r10 - 4) = w1",
            Insn::Store {
                size: MemSize::W,
                dst: R10,
                off: -4,
                src: R(R1),
            },
        ),
        (
            "*(u64 *)(r10 - 8) = r1",
            Insn::Store {
                size: MemSize::DW,
                dst: R10,
                off: -8,
                src: R(R1),
            },
        ),
        (
            "*(u8 *)(r1 + 2) = 5",
            Insn::Store {
                size: MemSize::B,
                dst: R1,
                off: 2,
                src: Imm(5),
            },
        ),
        (
            "*(u16 *)(r1 + 2) = -1",
            Insn::Store {
                size: MemSize::H,
                dst: R1,
                off: 2,
                src: Imm(-1),
            },
        ),
        (
            "r2 = *(u8 *)(r1 + 2)",
            Insn::Load {
                size: MemSize::B,
                dst: R2,
                src: R1,
                off: 2,
            },
        ),
        (
            "w2 = *(u16 *)(r1 + 2)",
            Insn::Load {
                size: MemSize::H,
                dst: R2,
                src: R1,
                off: 2,
            },
        ),
        (
            "r2 = *(u64 *)(r10 - 32768)",
            Insn::Load {
                size: MemSize::DW,
                dst: R2,
                src: R10,
                off: -32768,
            },
        ),
        (
            "r2 = *(s8 *)(r1 + 2)",
            Insn::LoadSx {
                size: MemSize::B,
                dst: R2,
                src: R1,
                off: 2,
            },
        ),
        (
            "r2 = *(s32 *)(r1 + 0)",
            Insn::LoadSx {
                size: MemSize::W,
                dst: R2,
                src: R1,
                off: 0,
            },
        ),
        (
            "if r1 s> 2 goto +3",
            Insn::Jump {
                width: W64,
                cond: JmpCond::SGt,
                dst: R1,
                src: Imm(2),
                off: 3,
            },
        ),
        (
            "if r1 & r2 goto -1",
            Insn::Jump {
                width: W64,
                cond: JmpCond::Set,
                dst: R1,
                src: R(R2),
                off: -1,
            },
        ),
        (
            "if w1 s<= -7 goto +1",
            Insn::Jump {
                width: W32,
                cond: JmpCond::SLe,
                dst: R1,
                src: Imm(-7),
                off: 1,
            },
        ),
        (
            "if w1 != w2 goto +0",
            Insn::Jump {
                width: W32,
                cond: JmpCond::Ne,
                dst: R1,
                src: R(R2),
                off: 0,
            },
        ),
        ("goto +5", Insn::Ja { off: 5 }),
        ("goto -32768", Insn::Ja { off: -32768 }),
        ("gotol +70000", Insn::Gotol { off: 70000 }),
        ("gotol -70000", Insn::Gotol { off: -70000 }),
        ("may_goto +3", Insn::MayGoto { off: 3 }),
        (
            "lock *(u64 *)(r0 + 0) += r1",
            atomic(AtomicSize::DW, AtomicOp::Add, R0, R1),
        ),
        (
            "lock *(u32 *)(r0 + 0) |= w1",
            atomic(AtomicSize::W, AtomicOp::Or, R0, R1),
        ),
        (
            "lock *(u32 *)(r0 + 0) += r1",
            atomic(AtomicSize::W, AtomicOp::Add, R0, R1),
        ),
        (
            "lock *(u64 *)(r0 + 0) &= r1",
            atomic(AtomicSize::DW, AtomicOp::And, R0, R1),
        ),
        (
            "lock *(u64 *)(r0 + 0) ^= r1",
            atomic(AtomicSize::DW, AtomicOp::Xor, R0, R1),
        ),
        (
            "r0 = atomic_fetch_add((u64 *)(r1 + 0), r0)",
            atomic(AtomicSize::DW, AtomicOp::FetchAdd, R1, R0),
        ),
        (
            "w0 = atomic_fetch_and((u32 *)(r1 + 0), w0)",
            atomic(AtomicSize::W, AtomicOp::FetchAnd, R1, R0),
        ),
        (
            "r2 = atomic_fetch_or((u64 *)(r1 + 0), r2)",
            atomic(AtomicSize::DW, AtomicOp::FetchOr, R1, R2),
        ),
        (
            "w2 = atomic_fetch_xor((u32 *)(r1 + 0), w2)",
            atomic(AtomicSize::W, AtomicOp::FetchXor, R1, R2),
        ),
        (
            "r0 = xchg_64(r1 + 0, r0)",
            atomic(AtomicSize::DW, AtomicOp::Xchg, R1, R0),
        ),
        (
            "w0 = xchg32_32(r1 + 0, w0)",
            atomic(AtomicSize::W, AtomicOp::Xchg, R1, R0),
        ),
        (
            "r0 = cmpxchg_64(r1 + 0, r0, r2)",
            atomic(AtomicSize::DW, AtomicOp::CmpXchg, R1, R2),
        ),
        (
            "w0 = cmpxchg32_32(r1 + 0, w0, w2)",
            atomic(AtomicSize::W, AtomicOp::CmpXchg, R1, R2),
        ),
        ("call 14", Insn::Call(CallTarget::Helper(14))),
        ("call -1", Insn::Call(CallTarget::Helper(-1))),
        ("callx r2", Insn::CallX { reg: R2 }),
        ("exit", Insn::Exit),
        ("r0 = 0x1234 ll", Insn::lddw(R0, 0x1234)),
        ("r1 = 0 ll", Insn::lddw(R1, 0)),
        ("r1 = -1 ll", Insn::lddw(R1, u64::MAX)),
        ("r1 = 0xffffffffffffffff ll", Insn::lddw(R1, u64::MAX)),
        (
            "ld_pseudo r1, 1, 3",
            Insn::LdImm64 {
                dst: R1,
                kind: LdImm64Kind::MapFd,
                imm: 3,
                next_imm: 0,
            },
        ),
        (
            "ld_pseudo r1, 2, 3, 16",
            Insn::LdImm64 {
                dst: R1,
                kind: LdImm64Kind::MapValue,
                imm: 3,
                next_imm: 16,
            },
        ),
        (
            "r0 = *(u16 *)skb[10]",
            Insn::LoadPacket {
                size: MemSize::H,
                mode: PacketMode::Abs,
                imm: 10,
            },
        ),
        (
            "r0 = *(u32 *)skb[r1]",
            Insn::LoadPacket {
                size: MemSize::W,
                mode: PacketMode::Ind(R1),
                imm: 0,
            },
        ),
        (
            "r0 = *(u32 *)skb[r1 + 4]",
            Insn::LoadPacket {
                size: MemSize::W,
                mode: PacketMode::Ind(R1),
                imm: 4,
            },
        ),
        (
            "r0 = *(u8 *)skb[r1 - 4]",
            Insn::LoadPacket {
                size: MemSize::B,
                mode: PacketMode::Ind(R1),
                imm: -4,
            },
        ),
    ]
}

#[test]
fn every_form_assembles_to_its_instruction() {
    for (text, expected) in forms() {
        assert_eq!(one(text), expected, "{text:?}");
    }
}

/// Forms that LLVM's own assembler does not read (it has no syntax for them, or it limits
/// the operand): skipped by the clang cross-check.
const NOT_IN_LLVM_ASM: &[&str] = &[
    "gotol +70000",
    "gotol -70000",
    "ld_pseudo r1, 2, 3, 16",
    "r0 = *(u32 *)skb[r1 + 4]",
    "r0 = *(u8 *)skb[r1 - 4]",
    "w1 *= 4294967295",
];

/// The same forms assembled by `clang-19 -target bpf -mcpu=v4` give the same bytes (skipped
/// with a message when clang-19 is not installed).
#[test]
fn forms_match_clang_19() {
    let texts: Vec<&str> = forms()
        .into_iter()
        .map(|(t, _)| t)
        .filter(|t| !NOT_IN_LLVM_ASM.contains(t))
        .collect();
    let Some(expected) = clang_assemble(&texts.join("\n")) else {
        eprintln!("skipped: clang-19 or llvm-objcopy-19 not available");
        return;
    };
    let mut offset = 0;
    for text in texts {
        let ours = assemble_to_bytes(text).unwrap();
        let theirs = &expected[offset..offset + ours.len()];
        assert_eq!(ours, theirs, "{text:?}");
        offset += ours.len();
    }
    assert_eq!(offset, expected.len());
}

/// Assemble `source` with clang-19 and return the bytes of its `.text`.
fn clang_assemble(source: &str) -> Option<Vec<u8>> {
    use std::process::Command;
    let dir = std::env::temp_dir().join(format!("userbpf-asm-llvm-{}", std::process::id()));
    std::fs::create_dir_all(&dir).ok()?;
    let s = dir.join("forms.s");
    let o = dir.join("forms.o");
    let bin = dir.join("forms.bin");
    std::fs::write(&s, format!("\t.text\n{source}\n")).ok()?;
    let ok = Command::new("clang-19")
        .args(["-target", "bpf", "-mcpu=v4", "-c"])
        .arg(&s)
        .arg("-o")
        .arg(&o)
        .status()
        .ok()?
        .success();
    assert!(ok, "clang-19 rejected the forms");
    let ok = Command::new("llvm-objcopy-19")
        .args(["-O", "binary", "--only-section=.text"])
        .arg(&o)
        .arg(&bin)
        .status()
        .ok()?
        .success();
    assert!(ok, "llvm-objcopy-19 failed");
    let bytes = std::fs::read(&bin).ok();
    let _ = std::fs::remove_dir_all(&dir);
    bytes
}

/// Every line `llvm-objdump-19 -d` printed for a set of encodings (with and without
/// `--mattr=+alu32`), as `bytes<TAB>text`, assembles back to exactly those bytes. Lines where
/// objdump's text loses a field are left out (`lock *(u32 *)... += r1` printed for a
/// fetching 32-bit add without alu32).
#[test]
fn objdump_19_text_assembles_to_its_bytes() {
    let mut checked = 0;
    for line in OBJDUMP19.lines() {
        let (hex, text) = line.split_once('\t').expect("bytes<TAB>text");
        let expected: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect();
        let got = assemble_to_bytes(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
        assert_eq!(got, expected, "{text:?}");
        checked += 1;
    }
    assert!(checked > 300);
}

#[test]
fn labels_and_slots() {
    let insns = assemble(
        "entry:\n\
         \tif w1 == 5 goto LBB0_2\n\
         \tr0 = 0x1122334455667788 ll\n\
         \tgoto LBB0_2 # forward\n\
         LBB0_2: r0 = 1\n\
         \tcall sub\n\
         \tgotol entry\n\
         \texit\n\
         sub:\n\
         \tr0 = 2 ; comment\n\
         \texit // another\n",
    )
    .unwrap();
    // Slots: 0 if, 1-2 lddw, 3 goto, 4 mov, 5 call, 6 gotol, 7 exit, 8 sub.
    assert_eq!(
        insns[0],
        Insn::Jump {
            width: Width::W32,
            cond: JmpCond::Eq,
            dst: R1,
            src: Source::Imm(5),
            off: 3
        }
    );
    assert_eq!(insns[2], Insn::Ja { off: 0 });
    assert_eq!(insns[4], Insn::Call(CallTarget::Local(2)));
    assert_eq!(insns[5], Insn::Gotol { off: -7 });
    let bytes = encode_program(&insns);
    Program::decode(&bytes).expect("targets inside the program");
}

#[test]
fn objdump_listing_reads_back() {
    let listing = "\
0000000000000000 <prog>:
       0:\tr1 = 0x0
       1:\tif r1 == 0x0 goto +0x1 <prog+0x18>
       2:\tgoto -0x3 <prog>
       3:\tgoto prog
       4:\texit
";
    let insns = assemble(listing).unwrap();
    assert_eq!(insns.len(), 5);
    assert_eq!(insns[2], Insn::Ja { off: -3 });
    assert_eq!(insns[3], Insn::Ja { off: -4 });
}

#[test]
fn syntaxes_mix_per_line() {
    let insns = assemble("mov %r0, 1\nr0 += 2\nadd32 %r0, 3\nexit").unwrap();
    assert_eq!(insns[0], alu(Width::W64, AluOp::Mov, R0, Source::Imm(1)));
    assert_eq!(insns[1], alu(Width::W64, AluOp::Add, R0, Source::Imm(2)));
    assert_eq!(insns[2], alu(Width::W32, AluOp::Add, R0, Source::Imm(3)));
}

fn assert_err(text: &str, line: usize, column: usize, kind: AsmErrorKind) {
    let e = err(text);
    assert_eq!(
        (e.line, e.column, &e.kind),
        (line, column, &kind),
        "{text:?}: {e}"
    );
}

#[test]
fn errors_name_line_and_column() {
    assert_err(
        "r0 = 1\nr11 = 2",
        2,
        1,
        AsmErrorKind::BadRegister("r11".into()),
    );
    assert_err("r1 += r12", 1, 7, AsmErrorKind::BadRegister("r12".into()));
    assert_err(
        "exit\n  frob r1",
        2,
        3,
        AsmErrorKind::UnknownMnemonic("frob".into()),
    );
    assert_err(
        "goto nowhere",
        1,
        6,
        AsmErrorKind::UnknownLabel("nowhere".into()),
    );
    assert_err(
        "goto +40000",
        1,
        6,
        AsmErrorKind::OffsetOutOfRange {
            value: 40000,
            bits: 16,
        },
    );
    assert_err(
        "r1 = *(u8 *)(r2 + 32768)",
        1,
        17,
        AsmErrorKind::OffsetOutOfRange {
            value: 32768,
            bits: 16,
        },
    );
    assert_err(
        "r1 = 0x100000000",
        1,
        6,
        AsmErrorKind::ImmOutOfRange {
            value: 0x1_0000_0000,
            bits: 32,
        },
    );
    assert_err(
        "r1 = -0x80000001",
        1,
        6,
        AsmErrorKind::ImmOutOfRange {
            value: -0x8000_0001,
            bits: 32,
        },
    );
    assert_err(
        "r1 = 0x10000000000000000 ll",
        1,
        6,
        AsmErrorKind::ImmOutOfRange {
            value: 1 << 64,
            bits: 64,
        },
    );
    assert_err(
        "exit now",
        1,
        6,
        AsmErrorKind::TrailingGarbage("now".into()),
    );
    assert_err("r1 = 1 2", 1, 8, AsmErrorKind::TrailingGarbage("2".into()));
    assert_err(
        "w1 = r2",
        1,
        6,
        AsmErrorKind::WidthMismatch {
            found: "r2".into(),
            expected: 32,
        },
    );
    assert_err(
        "r1 = -r2",
        1,
        7,
        AsmErrorKind::RegisterMismatch {
            found: "r2".into(),
            expected: "r1".into(),
        },
    );
    assert_err(
        "a:\nexit\na: exit",
        3,
        1,
        AsmErrorKind::DuplicateLabel("a".into()),
    );
    assert_err("r1 = $", 1, 6, AsmErrorKind::UnexpectedChar('$'));
    assert_err("r1 = 0xg", 1, 6, AsmErrorKind::BadNumber("0xg".into()));
    let e = err("if r1 > 2 goto");
    assert_eq!((e.line, e.column), (1, 15));
    assert!(matches!(e.kind, AsmErrorKind::Expected { .. }));
    let e = err("*(u32 *)(r1 + 0) =");
    assert_eq!((e.line, e.column), (1, 19));
    assert!(matches!(e.kind, AsmErrorKind::Expected { .. }));
    assert_eq!(
        err("r1 = 0x100000000").to_string(),
        "line 1, column 6: immediate 4294967296 does not fit in 32 bits"
    );
}

#[test]
fn never_panics_on_garbage() {
    let samples = [
        "",
        "=",
        "r1 =",
        "*",
        "*(",
        "*(u32",
        "*(u32 *)(",
        "lock",
        "lock *(u8 *)(r1) += r2",
        "if",
        "if r1",
        "if r1 ==",
        "call",
        "callx",
        "r0 = *(u16 *)skb[",
        "r0 = atomic_fetch_add(",
        "r1 = (s64)r2",
        "w1 = (s32)w2",
        "r1 = cmpxchg_64(r1 + 0, r1, r2)",
        "ld_pseudo r1, 9, 0",
        "<",
        ">",
        "0:",
        "0: <x>:",
        "r1 = be16 r2",
        "r1 = *(s64 *)(r1 + 0)",
        "w1 = 1 ll",
        "r1 = *(u32 *)(w1 + 0)",
        "gotol",
        "lock fetch",
        "lock nand [%r1], %r2",
    ];
    for s in samples {
        let _ = assemble(s);
    }
}

proptest::proptest! {
    /// Arbitrary text built from the characters both syntaxes use never panics.
    #[test]
    fn arbitrary_text_never_panics(text in "[ rw%0-9a-z_.:,+*/=<>!&|^()\\[\\]#;\n-]{0,60}") {
        let _ = assemble(&text);
    }

    /// Arbitrary Unicode never panics either, and errors point inside the text.
    #[test]
    fn arbitrary_unicode_never_panics(text in "\\PC{0,40}") {
        if let Err(e) = assemble(&text) {
            proptest::prop_assert!(e.line >= 1 && e.column >= 1);
        }
    }
}

const OBJDUMP19: &str = "\
04050000ffffffff	w5 += -0x1
0ca6000000000000	w6 += w10
1400000001000000	w0 -= 0x1
1c18000000000000	w8 -= w1
2405000000000000	w5 *= 0x0
2c38000000000000	w8 *= w3
3400000001000000	w0 /= 0x1
3406010034120000	w6 s/= 0x1234
3c31000000000000	w1 /= w3
3c81010000000000	w1 s/= w8
4406000000000000	w6 |= 0x0
4c19000000000000	w9 |= w1
5403000000000000	w3 &= 0x0
5c99000000000000	w9 &= w9
6406000000000000	w6 <<= 0x0
6c03000000000000	w3 <<= w0
74080000ffffffff	w8 >>= -0x1
7c64000000000000	w4 >>= w6
9402000001000000	w2 %= 0x1
94090100ffffff7f	w9 s%= 0x7fffffff
9ca8000000000000	w8 %= w10
9c12010000000000	w2 s%= w1
a409000005000000	w9 ^= 0x5
ac15000000000000	w5 ^= w1
b408000001000000	w8 = 0x1
bc09000000000000	w9 = w0
c409000005000000	w9 s>>= 0x5
cca7000000000000	w7 s>>= w10
8408000000000000	w8 = -w8
bc56080000000000	w6 = (s8)w5
bc97100000000000	w7 = (s16)w9
0707000000000080	r7 += -0x80000000
0f34000000000000	r4 += r3
1702000005000000	r2 -= 0x5
1f91000000000000	r1 -= r9
27040000f8ffffff	r4 *= -0x8
2f75000000000000	r5 *= r7
3704000001000000	r4 /= 0x1
3701010034120000	r1 s/= 0x1234
3f52000000000000	r2 /= r5
3f72010000000000	r2 s/= r7
4706000000000000	r6 |= 0x0
4f1a000000000000	r10 |= r1
5708000000000080	r8 &= -0x80000000
5f55000000000000	r5 &= r5
67090000f8ffffff	r9 <<= -0x8
6f79000000000000	r9 <<= r7
7701000001000000	r1 >>= 0x1
7f74000000000000	r4 >>= r7
970a000001000000	r10 %= 0x1
97000100ffffff7f	r0 s%= 0x7fffffff
9f9a000000000000	r10 %= r9
9f7a010000000000	r10 s%= r7
a704000034120000	r4 ^= 0x1234
af5a000000000000	r10 ^= r5
b7000000f8ffffff	r0 = -0x8
bf25000000000000	r5 = r2
c709000001000000	r9 s>>= 0x1
cf07000000000000	r7 s>>= r0
8703000000000000	r3 = -r3
bf24080000000000	r4 = (s8)r2
bf63100000000000	r3 = (s16)r6
bf76200000000000	r6 = (s32)r7
d401000010000000	r1 = le16 r1
dc02000010000000	r2 = be16 r2
d707000010000000	r7 = bswap16 r7
d406000020000000	r6 = le32 r6
dc08000020000000	r8 = be32 r8
d704000020000000	r4 = bswap32 r4
d402000040000000	r2 = le64 r2
dc06000040000000	r6 = be64 r6
d708000040000000	r8 = bswap64 r8
6164000000000000	r4 = *(u32 *)(r6 + 0x0)
63a5000000000000	*(u32 *)(r5 + 0x0) = r10
6206000005000000	*(u32 *)(r6 + 0x0) = 0x5
8112000000000000	r2 = *(s32 *)(r1 + 0x0)
6122020000000000	r2 = *(u32 *)(r2 + 0x2)
63a3020000000000	*(u32 *)(r3 + 0x2) = r10
6203020000000000	*(u32 *)(r3 + 0x2) = 0x0
8197020000000000	r7 = *(s32 *)(r9 + 0x2)
6142fcff00000000	r2 = *(u32 *)(r4 - 0x4)
6304fcff00000000	*(u32 *)(r4 - 0x4) = r0
6202fcff34120000	*(u32 *)(r2 - 0x4) = 0x1234
8158fcff00000000	r8 = *(s32 *)(r5 - 0x4)
6199ff7f00000000	r9 = *(u32 *)(r9 + 0x7fff)
6325ff7f00000000	*(u32 *)(r5 + 0x7fff) = r2
6208ff7f00000000	*(u32 *)(r8 + 0x7fff) = 0x0
81a7ff7f00000000	r7 = *(s32 *)(r10 + 0x7fff)
6168008000000000	r8 = *(u32 *)(r6 - 0x8000)
6366008000000000	*(u32 *)(r6 - 0x8000) = r6
6206008001000000	*(u32 *)(r6 - 0x8000) = 0x1
81a7008000000000	r7 = *(s32 *)(r10 - 0x8000)
6106f8ff00000000	r6 = *(u32 *)(r0 - 0x8)
6313f8ff00000000	*(u32 *)(r3 - 0x8) = r1
6203f8fff8ffffff	*(u32 *)(r3 - 0x8) = -0x8
8112f8ff00000000	r2 = *(s32 *)(r1 - 0x8)
6995000000000000	r5 = *(u16 *)(r9 + 0x0)
6b10000000000000	*(u16 *)(r0 + 0x0) = r1
6a000000ffffffff	*(u16 *)(r0 + 0x0) = -0x1
8918000000000000	r8 = *(s16 *)(r1 + 0x0)
6995020000000000	r5 = *(u16 *)(r9 + 0x2)
6b10020000000000	*(u16 *)(r0 + 0x2) = r1
6a03020034120000	*(u16 *)(r3 + 0x2) = 0x1234
89a2020000000000	r2 = *(s16 *)(r10 + 0x2)
6954fcff00000000	r4 = *(u16 *)(r5 - 0x4)
6b59fcff00000000	*(u16 *)(r9 - 0x4) = r5
6a07fcff01000000	*(u16 *)(r7 - 0x4) = 0x1
8971fcff00000000	r1 = *(s16 *)(r7 - 0x4)
6977ff7f00000000	r7 = *(u16 *)(r7 + 0x7fff)
6b47ff7f00000000	*(u16 *)(r7 + 0x7fff) = r4
6a01ff7fffffffff	*(u16 *)(r1 + 0x7fff) = -0x1
8951ff7f00000000	r1 = *(s16 *)(r5 + 0x7fff)
6974008000000000	r4 = *(u16 *)(r7 - 0x8000)
6b82008000000000	*(u16 *)(r2 - 0x8000) = r8
6a00008005000000	*(u16 *)(r0 - 0x8000) = 0x5
8958008000000000	r8 = *(s16 *)(r5 - 0x8000)
6982f8ff00000000	r2 = *(u16 *)(r8 - 0x8)
6b80f8ff00000000	*(u16 *)(r0 - 0x8) = r8
6a04f8ff01000000	*(u16 *)(r4 - 0x8) = 0x1
8984f8ff00000000	r4 = *(s16 *)(r8 - 0x8)
7125000000000000	r5 = *(u8 *)(r2 + 0x0)
7335000000000000	*(u8 *)(r5 + 0x0) = r3
7208000000000080	*(u8 *)(r8 + 0x0) = -0x80000000
913a000000000000	r10 = *(s8 *)(r3 + 0x0)
7139020000000000	r9 = *(u8 *)(r3 + 0x2)
7363020000000000	*(u8 *)(r3 + 0x2) = r6
7203020005000000	*(u8 *)(r3 + 0x2) = 0x5
9178020000000000	r8 = *(s8 *)(r7 + 0x2)
7105fcff00000000	r5 = *(u8 *)(r0 - 0x4)
7340fcff00000000	*(u8 *)(r0 - 0x4) = r4
7207fcffffffff7f	*(u8 *)(r7 - 0x4) = 0x7fffffff
9193fcff00000000	r3 = *(s8 *)(r9 - 0x4)
7175ff7f00000000	r5 = *(u8 *)(r7 + 0x7fff)
7355ff7f00000000	*(u8 *)(r5 + 0x7fff) = r5
7201ff7f05000000	*(u8 *)(r1 + 0x7fff) = 0x5
9131ff7f00000000	r1 = *(s8 *)(r3 + 0x7fff)
7137008000000000	r7 = *(u8 *)(r3 - 0x8000)
7335008000000000	*(u8 *)(r5 - 0x8000) = r3
7207008000000000	*(u8 *)(r7 - 0x8000) = 0x0
91a7008000000000	r7 = *(s8 *)(r10 - 0x8000)
71a5f8ff00000000	r5 = *(u8 *)(r10 - 0x8)
73a1f8ff00000000	*(u8 *)(r1 - 0x8) = r10
7201f8ff34120000	*(u8 *)(r1 - 0x8) = 0x1234
9173f8ff00000000	r3 = *(s8 *)(r7 - 0x8)
7962000000000000	r2 = *(u64 *)(r6 + 0x0)
7b5a000000000000	*(u64 *)(r10 + 0x0) = r5
7a01000034120000	*(u64 *)(r1 + 0x0) = 0x1234
7967020000000000	r7 = *(u64 *)(r6 + 0x2)
7b21020000000000	*(u64 *)(r1 + 0x2) = r2
7a020200ffffffff	*(u64 *)(r2 + 0x2) = -0x1
7920fcff00000000	r0 = *(u64 *)(r2 - 0x4)
7b79fcff00000000	*(u64 *)(r9 - 0x4) = r7
7a0afcffffffffff	*(u64 *)(r10 - 0x4) = -0x1
7999ff7f00000000	r9 = *(u64 *)(r9 + 0x7fff)
7ba7ff7f00000000	*(u64 *)(r7 + 0x7fff) = r10
7a05ff7fffffffff	*(u64 *)(r5 + 0x7fff) = -0x1
7988008000000000	r8 = *(u64 *)(r8 - 0x8000)
7b02008000000000	*(u64 *)(r2 - 0x8000) = r0
7a00008001000000	*(u64 *)(r0 - 0x8000) = 0x1
7928f8ff00000000	r8 = *(u64 *)(r2 - 0x8)
7b36f8ff00000000	*(u64 *)(r6 - 0x8) = r3
7a03f8ff00000000	*(u64 *)(r3 - 0x8) = 0x0
c334fcff00000000	lock *(u32 *)(r4 - 0x4) += r3
db22ff7f00000000	lock *(u64 *)(r2 + 0x7fff) += r2
db19008040000000	lock *(u64 *)(r9 - 0x8000) |= r1
db50f8ff50000000	lock *(u64 *)(r0 - 0x8) &= r5
db880080a0000000	lock *(u64 *)(r8 - 0x8000) ^= r8
db17008001000000	r1 = atomic_fetch_add((u64 *)(r7 - 0x8000), r1)
db30020041000000	r3 = atomic_fetch_or((u64 *)(r0 + 0x2), r3)
db04000051000000	r0 = atomic_fetch_and((u64 *)(r4 + 0x0), r0)
db780080a1000000	r7 = atomic_fetch_xor((u64 *)(r8 - 0x8000), r7)
db10ff7fe1000000	r1 = xchg_64(r0 + 0x7fff, r1)
db950080f1000000	r0 = cmpxchg_64(r5 - 0x8000, r0, r9)
1509008005000000	if r9 == 0x5 goto -0x8000 <g+0xfffffffffffc05b8>
1d74008000000000	if r4 == r7 goto -0x8000 <g+0xfffffffffffc05c0>
2508ff7f05000000	if r8 > 0x5 goto +0x7fff <g+0x405c0>
2d48008000000000	if r8 > r4 goto -0x8000 <g+0xfffffffffffc05d0>
3503ff7fffffffff	if r3 >= -0x1 goto +0x7fff <g+0x405d0>
3d16ff7f00000000	if r6 >= r1 goto +0x7fff <g+0x405d8>
4507fcff01000000	if r7 & 0x1 goto -0x4 <g+0x5c8>
4d3aff7f00000000	if r10 & r3 goto +0x7fff <g+0x405e8>
55010200ffffff7f	if r1 != 0x7fffffff goto +0x2 <g+0x608>
5d21f8ff00000000	if r1 != r2 goto -0x8 <g+0x5c0>
650af8ff00000080	if r10 s> -0x80000000 goto -0x8 <g+0x5c8>
6d42020000000000	if r2 s> r4 goto +0x2 <g+0x620>
7507020001000000	if r7 s>= 0x1 goto +0x2 <g+0x628>
7d76020000000000	if r6 s>= r7 goto +0x2 <g+0x630>
a50a0200ffffffff	if r10 < -0x1 goto +0x2 <g+0x638>
ad86ff7f00000000	if r6 < r8 goto +0x7fff <g+0x40628>
b505ff7f05000000	if r5 <= 0x5 goto +0x7fff <g+0x40630>
bd55000000000000	if r5 <= r5 goto +0x0 <g+0x640>
c505000000000080	if r5 s< -0x80000000 goto +0x0 <g+0x648>
cd78ff7f00000000	if r8 s< r7 goto +0x7fff <g+0x40648>
d500ff7f00000080	if r0 s<= -0x80000000 goto +0x7fff <g+0x40650>
dd98fcff00000000	if r8 s<= r9 goto -0x4 <g+0x640>
1608000001000000	if w8 == 0x1 goto +0x0 <g+0x668>
1e13000000000000	if w3 == w1 goto +0x0 <g+0x670>
2604fcff00000000	if w4 > 0x0 goto -0x4 <g+0x658>
2e42020000000000	if w2 > w4 goto +0x2 <g+0x690>
3606f8ffffffff7f	if w6 >= 0x7fffffff goto -0x8 <g+0x648>
3e26008000000000	if w6 >= w2 goto -0x8000 <g+0xfffffffffffc0690>
46080080f8ffffff	if w8 & -0x8 goto -0x8000 <g+0xfffffffffffc0698>
4e15fcff00000000	if w5 & w1 goto -0x4 <g+0x680>
5600f8ffffffffff	if w0 != -0x1 goto -0x8 <g+0x668>
5e16fcff00000000	if w6 != w1 goto -0x4 <g+0x690>
6600f8ff01000000	if w0 s> 0x1 goto -0x8 <g+0x678>
6e14008000000000	if w4 s> w1 goto -0x8000 <g+0xfffffffffffc06c0>
76030000ffffff7f	if w3 s>= 0x7fffffff goto +0x0 <g+0x6c8>
7e71000000000000	if w1 s>= w7 goto +0x0 <g+0x6d0>
a605008034120000	if w5 < 0x1234 goto -0x8000 <g+0xfffffffffffc06d8>
ae94020000000000	if w4 < w9 goto +0x2 <g+0x6f0>
b600008005000000	if w0 <= 0x5 goto -0x8000 <g+0xfffffffffffc06e8>
be21fcff00000000	if w1 <= w2 goto -0x4 <g+0x6d0>
c600020005000000	if w0 s< 0x5 goto +0x2 <g+0x708>
cea4fcff00000000	if w4 s< w10 goto -0x4 <g+0x6e0>
d6080200ffffff7f	if w8 s<= 0x7fffffff goto +0x2 <g+0x718>
de87f8ff00000000	if w7 s<= w8 goto -0x8 <g+0x6d0>
0500000000000000	goto +0x0 <g+0x718>
e500000000000000	may_goto +0x0 <g+0x720>
0500020000000000	goto +0x2 <g+0x738>
e500020000000000	may_goto +0x2 <g+0x740>
0500fcff00000000	goto -0x4 <g+0x718>
e500fcff00000000	may_goto -0x4 <g+0x720>
0500ff7f00000000	goto +0x7fff <g+0x40740>
e500ff7f00000000	may_goto +0x7fff <g+0x40748>
0500008000000000	goto -0x8000 <g+0xfffffffffffc0758>
e500008000000000	may_goto -0x8000 <g+0xfffffffffffc0760>
0500f8ff00000000	goto -0x8 <g+0x728>
e500f8ff00000000	may_goto -0x8 <g+0x730>
0600000000000000	gotol +0x0 <g+0x778>
0600000070110100	gotol +0x11170 <g+0x89300>
0600000090eefeff	gotol -0x11170 <g+0xfffffffffff77c08>
0600000001000000	gotol +0x1 <g+0x798>
06000000ffffffff	gotol -0x1 <g+0x790>
8500000000000000	call 0x0
8500000001000000	call 0x1
850000000e000000	call 0xe
85000000ffffff7f	call 0x7fffffff
85000000ffffffff	call -0x1
8d00000000000000	callx r0
8d02000000000000	callx r2
8d0a000000000000	callx r10
9500000000000000	exit
18020000000000000000000000000000	r2 = 0x0 ll
18040000010000000000000000000000	r4 = 0x1 ll
18050000ffffffff00000000ffffffff	r5 = -0x1 ll
18000000887766550000000044332211	r0 = 0x1122334455667788 ll
18040000000000000000000000000080	r4 = -0x8000000000000000 ll
18000000ffffffff0000000000000000	r0 = 0xffffffff ll
18000000000000000000000001000000	r0 = 0x100000000 ll
18100000050000000000000000000000	ld_pseudo	r0, 0x1, 0x5
18280000f8ffffff0000000000000000	ld_pseudo	r8, 0x2, 0xfffffff8
18330000f8ffffff0000000000000000	ld_pseudo	r3, 0x3, 0xfffffff8
18410000341200000000000000000000	ld_pseudo	r1, 0x4, 0x1234
185a0000f8ffffff0000000000000000	ld_pseudo	r10, 0x5, 0xfffffff8
18680000341200000000000000000000	ld_pseudo	r8, 0x6, 0x1234
20000000ffffff7f	r0 = *(u32 *)skb[0x7fffffff]
4030000000000000	r0 = *(u32 *)skb[r3]
2800000005000000	r0 = *(u16 *)skb[0x5]
4850000000000000	r0 = *(u16 *)skb[r5]
3000000005000000	r0 = *(u8 *)skb[0x5]
50a0000000000000	r0 = *(u8 *)skb[r10]
6164000000000000	w4 = *(u32 *)(r6 + 0x0)
63a5000000000000	*(u32 *)(r5 + 0x0) = w10
6122020000000000	w2 = *(u32 *)(r2 + 0x2)
63a3020000000000	*(u32 *)(r3 + 0x2) = w10
6142fcff00000000	w2 = *(u32 *)(r4 - 0x4)
6304fcff00000000	*(u32 *)(r4 - 0x4) = w0
6199ff7f00000000	w9 = *(u32 *)(r9 + 0x7fff)
6325ff7f00000000	*(u32 *)(r5 + 0x7fff) = w2
6168008000000000	w8 = *(u32 *)(r6 - 0x8000)
6366008000000000	*(u32 *)(r6 - 0x8000) = w6
6106f8ff00000000	w6 = *(u32 *)(r0 - 0x8)
6313f8ff00000000	*(u32 *)(r3 - 0x8) = w1
6995000000000000	w5 = *(u16 *)(r9 + 0x0)
6b10000000000000	*(u16 *)(r0 + 0x0) = w1
6995020000000000	w5 = *(u16 *)(r9 + 0x2)
6b10020000000000	*(u16 *)(r0 + 0x2) = w1
6954fcff00000000	w4 = *(u16 *)(r5 - 0x4)
6b59fcff00000000	*(u16 *)(r9 - 0x4) = w5
6977ff7f00000000	w7 = *(u16 *)(r7 + 0x7fff)
6b47ff7f00000000	*(u16 *)(r7 + 0x7fff) = w4
6974008000000000	w4 = *(u16 *)(r7 - 0x8000)
6b82008000000000	*(u16 *)(r2 - 0x8000) = w8
6982f8ff00000000	w2 = *(u16 *)(r8 - 0x8)
6b80f8ff00000000	*(u16 *)(r0 - 0x8) = w8
7125000000000000	w5 = *(u8 *)(r2 + 0x0)
7335000000000000	*(u8 *)(r5 + 0x0) = w3
7139020000000000	w9 = *(u8 *)(r3 + 0x2)
7363020000000000	*(u8 *)(r3 + 0x2) = w6
7105fcff00000000	w5 = *(u8 *)(r0 - 0x4)
7340fcff00000000	*(u8 *)(r0 - 0x4) = w4
7175ff7f00000000	w5 = *(u8 *)(r7 + 0x7fff)
7355ff7f00000000	*(u8 *)(r5 + 0x7fff) = w5
7137008000000000	w7 = *(u8 *)(r3 - 0x8000)
7335008000000000	*(u8 *)(r5 - 0x8000) = w3
71a5f8ff00000000	w5 = *(u8 *)(r10 - 0x8)
73a1f8ff00000000	*(u8 *)(r1 - 0x8) = w10
c334fcff00000000	lock *(u32 *)(r4 - 0x4) += w3
c375f8ff01000000	w7 = atomic_fetch_add((u32 *)(r5 - 0x8), w7)
c389ff7f41000000	w8 = atomic_fetch_or((u32 *)(r9 + 0x7fff), w8)
c328008051000000	w2 = atomic_fetch_and((u32 *)(r8 - 0x8000), w2)
c3820080a1000000	w8 = atomic_fetch_xor((u32 *)(r2 - 0x8000), w8)
c3700200e1000000	w7 = xchg32_32(r0 + 0x2, w7)
c3090200f1000000	w0 = cmpxchg32_32(r9 + 0x2, w0, w0)
";
