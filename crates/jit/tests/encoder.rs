//! The x86-64 encoder against iced-x86's decoder: hand-written (instruction, bytes, text)
//! triples, and random instructions of every form whose bytes must decode to the same
//! length and the same Intel text.

use iced_x86::{Decoder, DecoderOptions, Formatter, IntelFormatter, MemorySizeOptions};
use proptest::prelude::*;
use userbpf_jit::x86::*;

/// Decode one instruction at address 0; returns (length, text).
fn iced(bytes: &[u8]) -> (usize, String) {
    let mut f = IntelFormatter::new();
    let o = f.options_mut();
    o.set_space_after_operand_separator(true);
    o.set_hex_prefix("0x");
    o.set_hex_suffix("");
    o.set_uppercase_hex(false);
    o.set_small_hex_numbers_in_decimal(false);
    o.set_add_leading_zero_to_hex_numbers(false);
    o.set_signed_immediate_operands(true);
    o.set_memory_size_options(MemorySizeOptions::Always);
    o.set_show_branch_size(false);
    o.set_branch_leading_zeros(false);
    let mut d = Decoder::with_ip(64, bytes, 0, DecoderOptions::NONE);
    let insn = d.decode();
    let mut s = String::new();
    f.format(&insn, &mut s);
    (insn.len(), s)
}

use X86Reg::*;

#[test]
fn triples() {
    let m = Mem::at;
    let cases: Vec<(X86Insn, &str, &str)> = vec![
        (
            X86Insn::Alu {
                op: AluOp::Add,
                size: Size::S64,
                dst: Rax,
                src: Rbx,
            },
            "4801d8",
            "add rax, rbx",
        ),
        (
            X86Insn::Alu {
                op: AluOp::Sub,
                size: Size::S32,
                dst: R13,
                src: Rdi,
            },
            "4129fd",
            "sub r13d, edi",
        ),
        (
            X86Insn::Alu {
                op: AluOp::Xor,
                size: Size::S64,
                dst: R15,
                src: R14,
            },
            "4d31f7",
            "xor r15, r14",
        ),
        (
            X86Insn::Alu {
                op: AluOp::Cmp,
                size: Size::S8,
                dst: Rsi,
                src: Rdi,
            },
            "4038fe",
            "cmp sil, dil",
        ),
        (
            X86Insn::AluImm {
                op: AluOp::Add,
                size: Size::S64,
                dst: Rax,
                imm: -1,
            },
            "4883c0ff",
            "add rax, -0x1",
        ),
        (
            X86Insn::AluImm {
                op: AluOp::And,
                size: Size::S32,
                dst: R8,
                imm: 0x1000,
            },
            "4181e000100000",
            "and r8d, 0x1000",
        ),
        (
            X86Insn::AluImm {
                op: AluOp::Cmp,
                size: Size::S64,
                dst: Rbp,
                imm: 5,
            },
            "4883fd05",
            "cmp rbp, 0x5",
        ),
        (
            X86Insn::AluLoad {
                op: AluOp::Cmp,
                size: Size::S64,
                dst: Rbp,
                mem: m(R12, 16),
            },
            "493b6c2410",
            "cmp rbp, qword ptr [r12+0x10]",
        ),
        (
            X86Insn::AluMemImm {
                op: AluOp::Sub,
                size: Size::S64,
                mem: m(R12, 8),
                imm: 1,
            },
            "49836c240801",
            "sub qword ptr [r12+0x8], 0x1",
        ),
        (
            X86Insn::LockAlu {
                op: AluOp::Or,
                size: Size::S32,
                mem: m(Rdi, -4),
                src: Rsi,
            },
            "f00977fc",
            "lock or dword ptr [rdi-0x4], esi",
        ),
        (
            X86Insn::Test {
                size: Size::S64,
                a: Rdx,
                b: Rdx,
            },
            "4885d2",
            "test rdx, rdx",
        ),
        (
            X86Insn::TestImm {
                size: Size::S32,
                dst: Rcx,
                imm: 0x80,
            },
            "f7c180000000",
            "test ecx, 0x80",
        ),
        (
            X86Insn::Mov {
                size: Size::S64,
                dst: Rbp,
                src: Rsp,
            },
            "4889e5",
            "mov rbp, rsp",
        ),
        (
            X86Insn::Mov {
                size: Size::S32,
                dst: Rax,
                src: Rax,
            },
            "89c0",
            "mov eax, eax",
        ),
        (
            X86Insn::MovImm32 { dst: R9, imm: 42 },
            "41b92a000000",
            "mov r9d, 0x2a",
        ),
        (
            X86Insn::MovImmSx { dst: Rax, imm: -1 },
            "48c7c0ffffffff",
            "mov rax, -0x1",
        ),
        (
            X86Insn::MovAbs {
                dst: R11,
                imm: 0x1122334455667788,
            },
            "49bb8877665544332211",
            "mov r11, 0x1122334455667788",
        ),
        (
            X86Insn::Load {
                size: Size::S8,
                dst: Rax,
                mem: m(Rdi, 5),
            },
            "0fb64705",
            "movzx eax, byte ptr [rdi+0x5]",
        ),
        (
            X86Insn::Load {
                size: Size::S16,
                dst: R14,
                mem: m(Rbp, -2),
            },
            "440fb775fe",
            "movzx r14d, word ptr [rbp-0x2]",
        ),
        (
            X86Insn::Load {
                size: Size::S32,
                dst: Rbx,
                mem: m(R13, 0),
            },
            "418b5d00",
            "mov ebx, dword ptr [r13]",
        ),
        (
            X86Insn::Load {
                size: Size::S64,
                dst: Rax,
                mem: m(Rsp, 0),
            },
            "488b0424",
            "mov rax, qword ptr [rsp]",
        ),
        (
            X86Insn::Load {
                size: Size::S64,
                dst: Rax,
                mem: Mem::indexed(Rdi, Rbx, Scale::S4, 0),
            },
            "488b049f",
            "mov rax, qword ptr [rdi+rbx*4]",
        ),
        (
            X86Insn::Load {
                size: Size::S64,
                dst: R11,
                mem: Mem::indexed(R10, R11, Scale::S8, 0x1000),
            },
            "4f8b9cda00100000",
            "mov r11, qword ptr [r10+r11*8+0x1000]",
        ),
        (
            X86Insn::LoadSx {
                size: Size::S8,
                dst: Rax,
                mem: m(Rdi, 0),
            },
            "480fbe07",
            "movsx rax, byte ptr [rdi]",
        ),
        (
            X86Insn::LoadSx {
                size: Size::S32,
                dst: R15,
                mem: m(Rsi, 8),
            },
            "4c637e08",
            "movsxd r15, dword ptr [rsi+0x8]",
        ),
        (
            X86Insn::Store {
                size: Size::S8,
                mem: m(Rdi, 0),
                src: Rsi,
            },
            "408837",
            "mov byte ptr [rdi], sil",
        ),
        (
            X86Insn::Store {
                size: Size::S16,
                mem: m(Rbp, -8),
                src: Rax,
            },
            "668945f8",
            "mov word ptr [rbp-0x8], ax",
        ),
        (
            X86Insn::Store {
                size: Size::S64,
                mem: m(R12, 0),
                src: Rsp,
            },
            "49892424",
            "mov qword ptr [r12], rsp",
        ),
        (
            X86Insn::StoreImm {
                size: Size::S8,
                mem: m(Rdi, 0),
                imm: -128,
            },
            "c60780",
            "mov byte ptr [rdi], -0x80",
        ),
        (
            X86Insn::StoreImm {
                size: Size::S64,
                mem: m(Rbp, -16),
                imm: 7,
            },
            "48c745f007000000",
            "mov qword ptr [rbp-0x10], 0x7",
        ),
        (
            X86Insn::Movzx {
                from: Size::S8,
                dst: Rax,
                src: Rdi,
            },
            "400fb6c7",
            "movzx eax, dil",
        ),
        (
            X86Insn::Movzx {
                from: Size::S16,
                dst: R8,
                src: R9,
            },
            "450fb7c1",
            "movzx r8d, r9w",
        ),
        (
            X86Insn::Movsx {
                from: Size::S32,
                size: Size::S64,
                dst: Rax,
                src: Rdi,
            },
            "4863c7",
            "movsxd rax, edi",
        ),
        (
            X86Insn::Movsx {
                from: Size::S8,
                size: Size::S32,
                dst: Rbx,
                src: Rsi,
            },
            "400fbede",
            "movsx ebx, sil",
        ),
        (
            X86Insn::Lea {
                dst: Rsi,
                mem: m(Rbp, -8),
            },
            "488d75f8",
            "lea rsi, [rbp-0x8]",
        ),
        (
            X86Insn::Shift {
                op: ShiftOp::Shl,
                size: Size::S64,
                dst: Rax,
                by: ShiftBy::Imm(5),
            },
            "48c1e005",
            "shl rax, 0x5",
        ),
        (
            X86Insn::Shift {
                op: ShiftOp::Sar,
                size: Size::S32,
                dst: R13,
                by: ShiftBy::Cl,
            },
            "41d3fd",
            "sar r13d, cl",
        ),
        (
            X86Insn::Shift {
                op: ShiftOp::Rol,
                size: Size::S16,
                dst: Rax,
                by: ShiftBy::Imm(8),
            },
            "66c1c008",
            "rol ax, 0x8",
        ),
        (
            X86Insn::Neg {
                size: Size::S64,
                dst: R15,
            },
            "49f7df",
            "neg r15",
        ),
        (
            X86Insn::Imul {
                size: Size::S64,
                dst: Rax,
                src: R14,
            },
            "490fafc6",
            "imul rax, r14",
        ),
        (
            X86Insn::ImulImm {
                size: Size::S32,
                dst: Rax,
                src: Rbx,
                imm: 1000,
            },
            "69c3e8030000",
            "imul eax, ebx, 0x3e8",
        ),
        (
            X86Insn::Div {
                size: Size::S64,
                src: R11,
            },
            "49f7f3",
            "div r11",
        ),
        (
            X86Insn::Idiv {
                size: Size::S32,
                src: Rcx,
            },
            "f7f9",
            "idiv ecx",
        ),
        (X86Insn::SignExtendAcc { size: Size::S64 }, "4899", "cqo"),
        (X86Insn::SignExtendAcc { size: Size::S32 }, "99", "cdq"),
        (
            X86Insn::Bswap {
                size: Size::S64,
                reg: R13,
            },
            "490fcd",
            "bswap r13",
        ),
        (
            X86Insn::Bswap {
                size: Size::S32,
                reg: Rax,
            },
            "0fc8",
            "bswap eax",
        ),
        (
            X86Insn::Xchg {
                size: Size::S64,
                mem: m(Rdi, 8),
                reg: Rsi,
            },
            "48877708",
            "xchg qword ptr [rdi+0x8], rsi",
        ),
        (
            X86Insn::LockXadd {
                size: Size::S32,
                mem: m(Rbp, -4),
                reg: Rax,
            },
            "f00fc145fc",
            "lock xadd dword ptr [rbp-0x4], eax",
        ),
        (
            X86Insn::LockCmpxchg {
                size: Size::S64,
                mem: m(R8, 0),
                reg: R11,
            },
            "f04d0fb118",
            "lock cmpxchg qword ptr [r8], r11",
        ),
        (X86Insn::Push(Rbx), "53", "push rbx"),
        (X86Insn::Push(R15), "4157", "push r15"),
        (X86Insn::Pop(R12), "415c", "pop r12"),
        (X86Insn::Ret, "c3", "ret"),
        (X86Insn::Call { rel: 0x10 }, "e810000000", "call 0x15"),
        (X86Insn::CallReg(R11), "41ffd3", "call r11"),
        (X86Insn::JmpReg(Rax), "ffe0", "jmp rax"),
        (X86Insn::JmpReg(R11), "41ffe3", "jmp r11"),
        (
            X86Insn::Jmp {
                rel: -2,
                short: true,
            },
            "ebfe",
            "jmp 0x0",
        ),
        (
            X86Insn::Jmp {
                rel: 0x100,
                short: false,
            },
            "e900010000",
            "jmp 0x105",
        ),
        (
            X86Insn::Jcc {
                cond: Cond::E,
                rel: 4,
                short: true,
            },
            "7404",
            "je 0x6",
        ),
        (
            X86Insn::Jcc {
                cond: Cond::Ge,
                rel: 0x1000,
                short: false,
            },
            "0f8d00100000",
            "jge 0x1006",
        ),
        (X86Insn::Ud2, "0f0b", "ud2"),
    ];
    for (insn, hex, text) in cases {
        let bytes = insn.bytes();
        let got: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(got, hex, "bytes of {insn:?}");
        assert_eq!(insn.to_string(), text, "our text of {insn:?}");
        assert_eq!(
            iced(&bytes),
            (bytes.len(), text.to_string()),
            "iced of {insn:?}"
        );
    }
}

fn reg() -> impl Strategy<Value = X86Reg> {
    (0usize..16).prop_map(|i| X86Reg::ALL[i])
}

fn mem() -> impl Strategy<Value = Mem> {
    let disp = prop_oneof![Just(0i32), -128i32..128, any::<i32>()];
    let index = prop_oneof![
        Just(None),
        (
            reg().prop_filter("rsp is no index", |r| *r != Rsp),
            0usize..4
        )
            .prop_map(|(r, s)| Some((r, [Scale::S1, Scale::S2, Scale::S4, Scale::S8][s])))
    ];
    (reg(), index, disp).prop_map(|(base, index, disp)| Mem { base, index, disp })
}

fn size() -> impl Strategy<Value = Size> {
    prop_oneof![
        Just(Size::S8),
        Just(Size::S16),
        Just(Size::S32),
        Just(Size::S64)
    ]
}

fn wide() -> impl Strategy<Value = Size> {
    prop_oneof![Just(Size::S32), Just(Size::S64)]
}

fn imm_for(size: Size) -> BoxedStrategy<i32> {
    match size {
        Size::S8 => (-128i32..128).boxed(),
        Size::S16 => prop_oneof![-128i32..128, -32768i32..32768].boxed(),
        _ => prop_oneof![-128i32..128, any::<i32>()].boxed(),
    }
}

fn alu_op() -> impl Strategy<Value = AluOp> {
    (0usize..8).prop_map(|i| AluOp::ALL[i])
}

fn insn() -> impl Strategy<Value = X86Insn> {
    use X86Insn::*;
    prop_oneof![
        (alu_op(), size(), reg(), reg()).prop_map(|(op, size, dst, src)| Alu {
            op,
            size,
            dst,
            src
        }),
        (alu_op(), size(), reg()).prop_flat_map(
            |(op, size, dst)| imm_for(size).prop_map(move |imm| AluImm { op, size, dst, imm })
        ),
        (alu_op(), size(), reg(), mem()).prop_map(|(op, size, dst, mem)| AluLoad {
            op,
            size,
            dst,
            mem
        }),
        (alu_op(), size(), mem()).prop_flat_map(
            |(op, size, mem)| imm_for(size).prop_map(move |imm| AluMemImm { op, size, mem, imm })
        ),
        (0usize..4, size(), mem(), reg()).prop_map(|(i, size, mem, src)| LockAlu {
            op: [AluOp::Add, AluOp::Or, AluOp::And, AluOp::Xor][i],
            size,
            mem,
            src
        }),
        (size(), reg(), reg()).prop_map(|(size, a, b)| Test { size, a, b }),
        (size(), reg()).prop_flat_map(|(size, dst)| imm_for(size).prop_map(move |imm| TestImm {
            size,
            dst,
            imm
        })),
        (size(), reg(), reg()).prop_map(|(size, dst, src)| Mov { size, dst, src }),
        (reg(), any::<u32>()).prop_map(|(dst, imm)| MovImm32 { dst, imm }),
        (reg(), any::<i32>()).prop_map(|(dst, imm)| MovImmSx { dst, imm }),
        (reg(), any::<u64>()).prop_map(|(dst, imm)| MovAbs { dst, imm }),
        (size(), reg(), mem()).prop_map(|(size, dst, mem)| Load { size, dst, mem }),
        (0usize..3, reg(), mem()).prop_map(|(i, dst, mem)| LoadSx {
            size: [Size::S8, Size::S16, Size::S32][i],
            dst,
            mem
        }),
        (size(), mem(), reg()).prop_map(|(size, mem, src)| Store { size, mem, src }),
        (size(), mem()).prop_flat_map(|(size, mem)| imm_for(size).prop_map(move |imm| StoreImm {
            size,
            mem,
            imm
        })),
        (prop_oneof![Just(Size::S8), Just(Size::S16)], reg(), reg())
            .prop_map(|(from, dst, src)| Movzx { from, dst, src }),
        (
            prop_oneof![Just(Size::S8), Just(Size::S16)],
            wide(),
            reg(),
            reg()
        )
            .prop_map(|(from, size, dst, src)| Movsx {
                from,
                size,
                dst,
                src
            }),
        (reg(), reg()).prop_map(|(dst, src)| Movsx {
            from: Size::S32,
            size: Size::S64,
            dst,
            src
        }),
        (reg(), mem()).prop_map(|(dst, mem)| Lea { dst, mem }),
        (
            0usize..5,
            size(),
            reg(),
            prop_oneof![Just(None), (1u8..8).prop_map(Some)]
        )
            .prop_map(|(i, size, dst, n)| Shift {
                op: ShiftOp::ALL[i],
                size,
                dst,
                by: n.map_or(ShiftBy::Cl, ShiftBy::Imm),
            }),
        (size(), reg()).prop_map(|(size, dst)| Neg { size, dst }),
        (wide(), reg(), reg()).prop_map(|(size, dst, src)| Imul { size, dst, src }),
        (
            wide(),
            reg(),
            reg(),
            prop_oneof![-128i32..128, any::<i32>()]
        )
            .prop_map(|(size, dst, src, imm)| ImulImm {
                size,
                dst,
                src,
                imm
            }),
        (wide(), reg()).prop_map(|(size, src)| Div { size, src }),
        (wide(), reg()).prop_map(|(size, src)| Idiv { size, src }),
        wide().prop_map(|size| SignExtendAcc { size }),
        (wide(), reg()).prop_map(|(size, reg)| Bswap { size, reg }),
        (wide(), mem(), reg()).prop_map(|(size, mem, reg)| Xchg { size, mem, reg }),
        (wide(), mem(), reg()).prop_map(|(size, mem, reg)| LockXadd { size, mem, reg }),
        (wide(), mem(), reg()).prop_map(|(size, mem, reg)| LockCmpxchg { size, mem, reg }),
        reg().prop_map(Push),
        reg().prop_map(Pop),
        Just(Ret),
        any::<i32>().prop_map(|rel| Call { rel }),
        reg().prop_map(CallReg),
        reg().prop_map(JmpReg),
        (-128i32..128).prop_map(|rel| Jmp { rel, short: true }),
        any::<i32>().prop_map(|rel| Jmp { rel, short: false }),
        (0usize..16, -128i32..128).prop_map(|(c, rel)| Jcc {
            cond: Cond::ALL[c],
            rel,
            short: true
        }),
        (0usize..16, any::<i32>()).prop_map(|(c, rel)| Jcc {
            cond: Cond::ALL[c],
            rel,
            short: false
        }),
        Just(Ud2),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(20_000))]

    #[test]
    fn random_instructions_decode_to_their_text(insn in insn()) {
        let bytes = insn.bytes();
        let (len, text) = iced(&bytes);
        prop_assert_eq!(len, bytes.len(), "length of {:?} ({:02x?}): iced says {}", insn, bytes, text);
        prop_assert_eq!(text, insn.to_string(), "{:?} = {:02x?}", insn, bytes);
    }
}
