//! Every program of the bpf_conformance suite (`../shared/conformance/tests/*.data`) assembles;
//! where a file also gives the program as raw words (`-- raw`), the bytes match exactly.

use std::path::PathBuf;

use userbpf_isa::asm::AsmErrorKind;
use userbpf_isa::*;

fn suite_dir() -> PathBuf {
    std::env::var_os("USERBPF_CONFORMANCE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("USERBPF_SHARED")).join("conformance/tests"))
}

/// The lines of the section opened by `-- {name}`, if the file has one.
fn section(text: &str, name: &str) -> Option<String> {
    let mut out: Option<String> = None;
    for line in text.lines() {
        if let Some(header) = line.strip_prefix("--") {
            if out.is_some() {
                break;
            }
            if header.trim() == name {
                out = Some(String::new());
            }
        } else if let Some(body) = out.as_mut() {
            body.push_str(line);
            body.push('\n');
        }
    }
    out
}

fn data_files() -> Vec<PathBuf> {
    let dir = suite_dir();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("conformance suite not found at {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "data"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_conformance_program_assembles() {
    let files = data_files();
    assert_eq!(files.len(), 313, "the suite has 313 tests");
    let mut failures = Vec::new();
    let mut assembled = 0;
    for path in &files {
        let text = std::fs::read_to_string(path).expect("readable test file");
        let Some(src) = section(&text, "asm") else {
            continue;
        };
        match asm::assemble(&src) {
            Ok(insns) => {
                assembled += 1;
                assert!(!insns.is_empty(), "{}: empty program", path.display());
                let bytes = encode_program(&insns);
                if let Err(e) = Program::decode(&bytes) {
                    failures.push(format!("{}: does not decode: {e}", path.display()));
                }
            }
            Err(e) => failures.push(format!("{}: {e}", path.display())),
        }
    }
    assert!(failures.is_empty(), "failures:\n{}", failures.join("\n"));
    assert_eq!(assembled, 313, "every file has an asm section");
}

#[test]
fn asm_matches_raw_words() {
    let mut compared = 0;
    for path in data_files() {
        let text = std::fs::read_to_string(&path).expect("readable test file");
        let (Some(src), Some(raw)) = (section(&text, "asm"), section(&text, "raw")) else {
            continue;
        };
        let expected: Vec<u8> = raw
            .lines()
            .map(|l| l.split('#').next().unwrap_or("").trim())
            .filter(|l| !l.is_empty())
            .flat_map(|l| {
                let hex = l.trim_start_matches("0x");
                let word = u64::from_str_radix(hex, 16).expect("raw word in hex");
                RawInsn::from_u64(word).to_bytes()
            })
            .collect();
        let got =
            asm::assemble_to_bytes(&src).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(got, expected, "{}", path.display());
        compared += 1;
    }
    assert!(compared >= 1, "lddw.data has both asm and raw");
}

fn one(text: &str) -> Insn {
    let insns = asm::assemble(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
    assert_eq!(insns.len(), 1, "{text:?}");
    insns[0]
}

#[test]
fn mnemonics_mean_what_the_suite_means() {
    use userbpf_isa::Source::{Imm, Reg as R};
    let (r0, r1, r2, r10) = (Reg::R0, Reg::R1, Reg::R2, Reg::R10);
    let alu = |width, op, dst, src| Insn::Alu {
        width,
        op,
        dst,
        src,
    };
    let cases: Vec<(&str, Insn)> = vec![
        ("mov %r0, 1", alu(Width::W64, AluOp::Mov, r0, Imm(1))),
        ("mov32 %r0, %r1", alu(Width::W32, AluOp::Mov, r0, R(r1))),
        ("add32 %r0, -1", alu(Width::W32, AluOp::Add, r0, Imm(-1))),
        ("sdiv %r0, 3", alu(Width::W64, AluOp::SDiv, r0, Imm(3))),
        ("smod32 %r0, %r1", alu(Width::W32, AluOp::SMod, r0, R(r1))),
        (
            "arsh32 %r0, 0xffffff80",
            alu(Width::W32, AluOp::Arsh, r0, Imm(-128)),
        ),
        (
            "neg32 %r0",
            Insn::Neg {
                width: Width::W32,
                dst: r0,
            },
        ),
        (
            "neg %r0",
            Insn::Neg {
                width: Width::W64,
                dst: r0,
            },
        ),
        (
            "movsx832 %r0, %r1",
            Insn::MovSx {
                width: Width::W32,
                dst: r0,
                src: r1,
                from: SxFrom::B8,
            },
        ),
        (
            "movsx1632 %r0, %r1",
            Insn::MovSx {
                width: Width::W32,
                dst: r0,
                src: r1,
                from: SxFrom::B16,
            },
        ),
        (
            "movsx1664 %r0, %r1",
            Insn::MovSx {
                width: Width::W64,
                dst: r0,
                src: r1,
                from: SxFrom::B16,
            },
        ),
        (
            "movsx3264 %r0, %r1",
            Insn::MovSx {
                width: Width::W64,
                dst: r0,
                src: r1,
                from: SxFrom::B32,
            },
        ),
        (
            "be16 %r0",
            Insn::Endian {
                order: ByteOrder::ToBe,
                bits: EndianBits::B16,
                dst: r0,
            },
        ),
        (
            "le64 %r0",
            Insn::Endian {
                order: ByteOrder::ToLe,
                bits: EndianBits::B64,
                dst: r0,
            },
        ),
        (
            "swap32 %r0",
            Insn::Endian {
                order: ByteOrder::Swap,
                bits: EndianBits::B32,
                dst: r0,
            },
        ),
        (
            "bswap16 %r0",
            Insn::Endian {
                order: ByteOrder::Swap,
                bits: EndianBits::B16,
                dst: r0,
            },
        ),
        (
            "lddw %r0, 0x1122334455667788",
            Insn::lddw(r0, 0x1122_3344_5566_7788),
        ),
        ("lddw %r0, -1", Insn::lddw(r0, u64::MAX)),
        (
            "ldxb %r0, [%r1+2]",
            Insn::Load {
                size: MemSize::B,
                dst: r0,
                src: r1,
                off: 2,
            },
        ),
        (
            "ldxdw %r0, [%r1]",
            Insn::Load {
                size: MemSize::DW,
                dst: r0,
                src: r1,
                off: 0,
            },
        ),
        (
            "ldxsh %r0, [%r10-2]",
            Insn::LoadSx {
                size: MemSize::H,
                dst: r0,
                src: r10,
                off: -2,
            },
        ),
        (
            "stxdw [%r10-8], %r1",
            Insn::Store {
                size: MemSize::DW,
                dst: r10,
                off: -8,
                src: R(r1),
            },
        ),
        (
            "stb [%r1+0x2], 5",
            Insn::Store {
                size: MemSize::B,
                dst: r1,
                off: 2,
                src: Imm(5),
            },
        ),
        (
            "lock cmpxchg [%r10-8], %r1",
            Insn::Atomic {
                size: AtomicSize::DW,
                op: AtomicOp::CmpXchg,
                dst: r10,
                src: r1,
                off: -8,
            },
        ),
        (
            "lock fetch add32 [%r10-4], %r1",
            Insn::Atomic {
                size: AtomicSize::W,
                op: AtomicOp::FetchAdd,
                dst: r10,
                src: r1,
                off: -4,
            },
        ),
        (
            "lock xor [%r10-8], %r1",
            Insn::Atomic {
                size: AtomicSize::DW,
                op: AtomicOp::Xor,
                dst: r10,
                src: r1,
                off: -8,
            },
        ),
        (
            "lock xchg32 [%r10-8], %r1",
            Insn::Atomic {
                size: AtomicSize::W,
                op: AtomicOp::Xchg,
                dst: r10,
                src: r1,
                off: -8,
            },
        ),
        ("call 5", Insn::Call(CallTarget::Helper(5))),
        ("call helper 5", Insn::Call(CallTarget::Helper(5))),
        (
            "call runtime 7",
            Insn::Call(CallTarget::Kfunc { btf_id: 7, off: 0 }),
        ),
        ("call %r2", Insn::CallX { reg: r2 }),
        ("callx %r2", Insn::CallX { reg: r2 }),
        ("ja +1", Insn::Ja { off: 1 }),
        ("ja32 -1", Insn::Gotol { off: -1 }),
        (
            "jne32 %r2, 0xffffff80, +1",
            Insn::Jump {
                width: Width::W32,
                cond: JmpCond::Ne,
                dst: r2,
                src: Imm(-128),
                off: 1,
            },
        ),
        (
            "jsle %r1, %r2, -3",
            Insn::Jump {
                width: Width::W64,
                cond: JmpCond::SLe,
                dst: r1,
                src: R(r2),
                off: -3,
            },
        ),
        (
            "ldabsh 12",
            Insn::LoadPacket {
                size: MemSize::H,
                mode: PacketMode::Abs,
                imm: 12,
            },
        ),
        (
            "ldindw %r1, 4",
            Insn::LoadPacket {
                size: MemSize::W,
                mode: PacketMode::Ind(r1),
                imm: 4,
            },
        ),
        ("exit", Insn::Exit),
    ];
    for (text, expected) in cases {
        assert_eq!(one(text), expected, "{text:?}");
    }
}

#[test]
fn labels_local_calls_and_the_implicit_exit_label() {
    let insns = asm::assemble(
        "# comment line\n\
         lddw %r1, 0x100000000\n\
         call local fn\n\
         jne %r0, 2, exit\n\
         ja32 done\n\
         done:\n\
         exit\n\
         fn:\n\
         mov %r0, 2 # trailing comment\n\
         exit\n",
    )
    .unwrap();
    // Slots: 0-1 lddw, 2 call, 3 jne, 4 ja32, 5 exit (done, implicit `exit`), 6 fn.
    assert_eq!(insns[1], Insn::Call(CallTarget::Local(3)));
    assert!(matches!(insns[2], Insn::Jump { off: 1, .. }));
    assert_eq!(insns[3], Insn::Gotol { off: 0 });
}

#[test]
fn conformance_errors_name_line_and_column() {
    let check = |text: &str, line, column, kind: AsmErrorKind| {
        let e = asm::assemble(text).expect_err(text);
        assert_eq!(
            (e.line, e.column, &e.kind),
            (line, column, &kind),
            "{text:?}: {e}"
        );
    };
    check(
        "mov %r0, 1\nfoo %r0",
        2,
        1,
        AsmErrorKind::UnknownMnemonic("foo".into()),
    );
    check("mov %r11, 1", 1, 6, AsmErrorKind::BadRegister("r11".into()));
    check(
        "jne %r0, 1, nowhere\nexit",
        1,
        13,
        AsmErrorKind::UnknownLabel("nowhere".into()),
    );
    check(
        "mov32 %r0, 0x100000000",
        1,
        12,
        AsmErrorKind::ImmOutOfRange {
            value: 0x1_0000_0000,
            bits: 32,
        },
    );
    check(
        "ldxw %r0, [%r1+40000]",
        1,
        15,
        AsmErrorKind::OffsetOutOfRange {
            value: 40000,
            bits: 16,
        },
    );
    check(
        "exit\nexit %r0",
        2,
        6,
        AsmErrorKind::TrailingGarbage("%".into()),
    );
    check(
        "lock nand [%r1], %r2",
        1,
        6,
        AsmErrorKind::UnknownMnemonic("lock nand".into()),
    );
    let e = asm::assemble("add %r0").unwrap_err();
    assert_eq!((e.line, e.column), (1, 8));
}
