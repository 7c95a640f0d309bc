//! Property tests over every instruction variant:
//!
//! - `decode(encode(x)) == x` for every valid [`Insn`];
//! - `encode(decode(bytes)) == bytes` for slot bytes that decode;
//! - `assemble(format(x)) == x` through the disassembler's text (numeric jump offsets, with
//!   and without alu32 register views, with and without ` <L..>` target annotations, single
//!   instructions and whole listings), up to the fields objdump's syntax does not print.

use proptest::prelude::*;
use proptest::sample::select;
use userbpf_isa::disasm::{self, Options};
use userbpf_isa::*;

fn reg() -> impl Strategy<Value = Reg> {
    (0u8..=10).prop_map(|n| Reg::new(n).expect("0..=10"))
}

fn width() -> impl Strategy<Value = Width> {
    select(vec![Width::W32, Width::W64])
}

/// Immediates biased towards the edges of their range.
fn imm() -> impl Strategy<Value = i32> {
    prop_oneof![
        any::<i32>(),
        select(vec![0, 1, -1, i32::MIN, i32::MAX, 0x7f, -0x80, 0xffff]),
    ]
}

fn off() -> impl Strategy<Value = i16> {
    prop_oneof![any::<i16>(), select(vec![0i16, 1, -1, i16::MIN, i16::MAX])]
}

fn source() -> impl Strategy<Value = Source> {
    prop_oneof![reg().prop_map(Source::Reg), imm().prop_map(Source::Imm)]
}

fn mem_size() -> impl Strategy<Value = MemSize> {
    select(vec![MemSize::B, MemSize::H, MemSize::W, MemSize::DW])
}

fn small_size() -> impl Strategy<Value = MemSize> {
    select(vec![MemSize::B, MemSize::H, MemSize::W])
}

fn lddw_kind() -> impl Strategy<Value = LdImm64Kind> {
    select(vec![
        LdImm64Kind::Imm,
        LdImm64Kind::MapFd,
        LdImm64Kind::MapValue,
        LdImm64Kind::BtfId,
        LdImm64Kind::Func,
        LdImm64Kind::MapIdx,
        LdImm64Kind::MapIdxValue,
    ])
}

/// Every valid instruction.
fn insn() -> impl Strategy<Value = Insn> {
    prop_oneof![
        (width(), select(AluOp::ALL.to_vec()), reg(), source()).prop_map(
            |(width, op, dst, src)| Insn::Alu {
                width,
                op,
                dst,
                src
            }
        ),
        (width(), reg()).prop_map(|(width, dst)| Insn::Neg { width, dst }),
        (
            width(),
            reg(),
            reg(),
            select(vec![SxFrom::B8, SxFrom::B16, SxFrom::B32])
        )
            .prop_map(|(width, dst, src, from)| Insn::MovSx {
                width,
                dst,
                src,
                // A 32-bit move sign-extends from 8 or 16 bits only.
                from: if width == Width::W32 && from == SxFrom::B32 {
                    SxFrom::B16
                } else {
                    from
                },
            }),
        (
            select(vec![ByteOrder::ToLe, ByteOrder::ToBe, ByteOrder::Swap]),
            select(vec![EndianBits::B16, EndianBits::B32, EndianBits::B64]),
            reg()
        )
            .prop_map(|(order, bits, dst)| Insn::Endian { order, bits, dst }),
        (mem_size(), reg(), reg(), off()).prop_map(|(size, dst, src, off)| Insn::Load {
            size,
            dst,
            src,
            off
        }),
        (small_size(), reg(), reg(), off()).prop_map(|(size, dst, src, off)| Insn::LoadSx {
            size,
            dst,
            src,
            off
        }),
        (mem_size(), reg(), off(), source()).prop_map(|(size, dst, off, src)| Insn::Store {
            size,
            dst,
            off,
            src
        }),
        (
            select(vec![AtomicSize::W, AtomicSize::DW]),
            select(AtomicOp::ALL.to_vec()),
            reg(),
            reg(),
            off()
        )
            .prop_map(|(size, op, dst, src, off)| Insn::Atomic {
                size,
                op,
                dst,
                src,
                off
            }),
        (reg(), lddw_kind(), imm(), imm()).prop_map(|(dst, kind, imm, next_imm)| {
            Insn::LdImm64 {
                dst,
                kind,
                imm,
                next_imm,
            }
        }),
        (
            small_size(),
            prop_oneof![Just(PacketMode::Abs), reg().prop_map(PacketMode::Ind)],
            imm()
        )
            .prop_map(|(size, mode, imm)| Insn::LoadPacket { size, mode, imm }),
        off().prop_map(|off| Insn::Ja { off }),
        imm().prop_map(|off| Insn::Gotol { off }),
        (
            width(),
            select(JmpCond::ALL.to_vec()),
            reg(),
            source(),
            off()
        )
            .prop_map(|(width, cond, dst, src, off)| Insn::Jump {
                width,
                cond,
                dst,
                src,
                off
            }),
        prop_oneof![
            imm().prop_map(CallTarget::Helper),
            imm().prop_map(CallTarget::Local),
            (imm(), off()).prop_map(|(btf_id, off)| CallTarget::Kfunc { btf_id, off }),
        ]
        .prop_map(Insn::Call),
        reg().prop_map(|reg| Insn::CallX { reg }),
        Just(Insn::Exit),
        off().prop_map(|off| Insn::MayGoto { off }),
    ]
}

/// What objdump's syntax keeps of `x`: it prints every call as `call imm` (helper, local and
/// kfunc alike), drops the second immediate of a pseudo `lddw` and the immediate of a
/// `BPF_IND` packet load.
fn objdump_view(x: Insn) -> Insn {
    match x {
        Insn::Call(CallTarget::Local(k)) => Insn::Call(CallTarget::Helper(k)),
        Insn::Call(CallTarget::Kfunc { btf_id, .. }) => Insn::Call(CallTarget::Helper(btf_id)),
        Insn::LdImm64 {
            dst,
            kind,
            imm,
            next_imm: _,
        } if kind != LdImm64Kind::Imm => Insn::LdImm64 {
            dst,
            kind,
            imm,
            next_imm: 0,
        },
        Insn::LoadPacket {
            size,
            mode: mode @ PacketMode::Ind(_),
            ..
        } => Insn::LoadPacket { size, mode, imm: 0 },
        other => other,
    }
}

/// Raw slot fields biased towards zero, so that a fair share of them decode.
fn raw_slot() -> impl Strategy<Value = RawInsn> {
    (
        any::<u8>(),
        prop_oneof![3 => Just(0u8), 1 => 0u8..16],
        prop_oneof![3 => Just(0u8), 1 => 0u8..16],
        prop_oneof![3 => Just(0i16), 1 => any::<i16>()],
        prop_oneof![2 => Just(0i32), 1 => select(vec![8, 16, 32, 64, 1, 0xe1, 0xf1]), 2 => any::<i32>()],
    )
        .prop_map(|(opcode, dst, src, off, imm)| RawInsn::new(opcode, dst, src, off, imm))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]

    #[test]
    fn decode_inverts_encode(x in insn()) {
        let raw = encode_insn(&x);
        prop_assert_eq!(raw.len(), x.slots());
        prop_assert_eq!(decode_insn(&raw), Ok(x));
    }

    #[test]
    fn encode_inverts_decode(first in raw_slot(), second_imm in any::<i32>(), plain_second in any::<bool>(), second in raw_slot()) {
        // The second slot of an lddw is all zero but its immediate; give that shape often.
        let second = if plain_second { RawInsn::new(0, 0, 0, 0, second_imm) } else { second };
        let slots = [first, second];
        if let Ok(x) = decode_insn(&slots) {
            let bytes: Vec<u8> = slots.iter().flat_map(|r| r.to_bytes()).collect();
            prop_assert_eq!(encode_program(&[x]), bytes[..8 * x.slots()].to_vec());
        }
    }

    #[test]
    fn assemble_inverts_disassemble(x in insn(), alu32 in any::<bool>()) {
        let opts = Options { alu32, slot_labels: false };
        let text = disasm::format_insn_with(&x, &opts);
        let back = asm::assemble(&text);
        prop_assert_eq!(back, Ok(vec![objdump_view(x)]), "text: {}", text);
    }

    #[test]
    fn assemble_ignores_target_annotations(x in insn(), slot in 0usize..100) {
        let opts = Options { alu32: true, slot_labels: true };
        let text = disasm::format_insn_at(&x, slot, &opts, &|_| None);
        prop_assert_eq!(asm::assemble(&text), Ok(vec![objdump_view(x)]), "text: {}", text);
    }

    #[test]
    fn assemble_reads_whole_listings(xs in prop::collection::vec(insn(), 1..40)) {
        let program = Program::from_insns(xs.clone());
        let listing = disasm::format_program(&program);
        let expected: Vec<Insn> = xs.into_iter().map(objdump_view).collect();
        prop_assert_eq!(asm::assemble(&listing), Ok(expected), "listing:\n{}", listing);
    }
}

/// Every opcode with a grid of field values: whatever decodes re-encodes to the same bytes.
#[test]
fn every_decodable_slot_reencodes() {
    let mut decoded = 0;
    for opcode in 0..=255u8 {
        for dst in [0u8, 1, 10, 11] {
            for src in [0u8, 1, 2, 4, 6, 10, 11] {
                for off in [0i16, 1, 8, 16, 32, -1] {
                    for imm in [0i32, 1, 16, 32, 64, 0x40, 0x41, 0x50, 0xa1, 0xe1, 0xf1, -1] {
                        let slots = [
                            RawInsn::new(opcode, dst, src, off, imm),
                            RawInsn::new(0, 0, 0, 0, imm),
                        ];
                        if let Ok(x) = decode_insn(&slots) {
                            decoded += 1;
                            let bytes: Vec<u8> = slots.iter().flat_map(|r| r.to_bytes()).collect();
                            assert_eq!(encode_program(&[x]), bytes[..8 * x.slots()], "{x:?}");
                        }
                    }
                }
            }
        }
    }
    assert!(decoded > 10_000, "only {decoded} slots decoded");
}
