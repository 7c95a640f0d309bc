//! Encoding: typed instructions to raw slots.
//!
//! Takes an [`Insn`]; gives its one or two [`RawInsn`] slots. Encoding cannot fail: every
//! value of `Insn` is a valid instruction.

use crate::insn::*;
use crate::opcode::*;
use crate::raw::RawInsn;

fn size_bits(size: MemSize) -> u8 {
    match size {
        MemSize::W => SIZE_W,
        MemSize::H => SIZE_H,
        MemSize::B => SIZE_B,
        MemSize::DW => SIZE_DW,
    }
}

fn alu_class(width: Width) -> u8 {
    match width {
        Width::W32 => CLASS_ALU,
        Width::W64 => CLASS_ALU64,
    }
}

fn jmp_class(width: Width) -> u8 {
    match width {
        Width::W32 => CLASS_JMP32,
        Width::W64 => CLASS_JMP,
    }
}

/// (source bit, src register field, imm field) of a second operand.
fn source(src: Source) -> (u8, u8, i32) {
    match src {
        Source::Reg(r) => (SRC_X, r.num(), 0),
        Source::Imm(i) => (SRC_K, 0, i),
    }
}

/// The slots of `insn`: one, or two for `lddw`.
pub fn encode_insn(insn: &Insn) -> Vec<RawInsn> {
    let one = |opcode, dst: u8, src: u8, off: i16, imm: i32| {
        vec![RawInsn::new(opcode, dst, src, off, imm)]
    };
    match *insn {
        Insn::Alu {
            width,
            op,
            dst,
            src,
        } => {
            let (code, off) = match op {
                AluOp::Add => (ALU_ADD, 0),
                AluOp::Sub => (ALU_SUB, 0),
                AluOp::Mul => (ALU_MUL, 0),
                AluOp::Div => (ALU_DIV, 0),
                AluOp::SDiv => (ALU_DIV, 1),
                AluOp::Or => (ALU_OR, 0),
                AluOp::And => (ALU_AND, 0),
                AluOp::Lsh => (ALU_LSH, 0),
                AluOp::Rsh => (ALU_RSH, 0),
                AluOp::Mod => (ALU_MOD, 0),
                AluOp::SMod => (ALU_MOD, 1),
                AluOp::Xor => (ALU_XOR, 0),
                AluOp::Mov => (ALU_MOV, 0),
                AluOp::Arsh => (ALU_ARSH, 0),
            };
            let (sbit, s, imm) = source(src);
            one(alu_class(width) | code | sbit, dst.num(), s, off, imm)
        }
        Insn::Neg { width, dst } => one(alu_class(width) | ALU_NEG, dst.num(), 0, 0, 0),
        Insn::MovSx {
            width,
            dst,
            src,
            from,
        } => one(
            alu_class(width) | ALU_MOV | SRC_X,
            dst.num(),
            src.num(),
            from.bits() as i16,
            0,
        ),
        Insn::Endian { order, bits, dst } => {
            let opcode = match order {
                ByteOrder::ToLe => CLASS_ALU | ALU_END | SRC_K,
                ByteOrder::ToBe => CLASS_ALU | ALU_END | SRC_X,
                ByteOrder::Swap => CLASS_ALU64 | ALU_END | SRC_K,
            };
            one(opcode, dst.num(), 0, 0, bits.bits() as i32)
        }
        Insn::Load {
            size,
            dst,
            src,
            off,
        } => one(
            CLASS_LDX | MODE_MEM | size_bits(size),
            dst.num(),
            src.num(),
            off,
            0,
        ),
        Insn::LoadSx {
            size,
            dst,
            src,
            off,
        } => one(
            CLASS_LDX | MODE_MEMSX | size_bits(size),
            dst.num(),
            src.num(),
            off,
            0,
        ),
        Insn::Store {
            size,
            dst,
            off,
            src,
        } => match src {
            Source::Reg(r) => one(
                CLASS_STX | MODE_MEM | size_bits(size),
                dst.num(),
                r.num(),
                off,
                0,
            ),
            Source::Imm(i) => one(CLASS_ST | MODE_MEM | size_bits(size), dst.num(), 0, off, i),
        },
        Insn::Atomic {
            size,
            op,
            dst,
            src,
            off,
        } => {
            let imm = match op {
                AtomicOp::Add => ATOMIC_ADD,
                AtomicOp::Or => ATOMIC_OR,
                AtomicOp::And => ATOMIC_AND,
                AtomicOp::Xor => ATOMIC_XOR,
                AtomicOp::FetchAdd => ATOMIC_ADD | ATOMIC_FETCH,
                AtomicOp::FetchOr => ATOMIC_OR | ATOMIC_FETCH,
                AtomicOp::FetchAnd => ATOMIC_AND | ATOMIC_FETCH,
                AtomicOp::FetchXor => ATOMIC_XOR | ATOMIC_FETCH,
                AtomicOp::Xchg => ATOMIC_XCHG,
                AtomicOp::CmpXchg => ATOMIC_CMPXCHG,
            };
            one(
                CLASS_STX | MODE_ATOMIC | size_bits(size.mem_size()),
                dst.num(),
                src.num(),
                off,
                imm,
            )
        }
        Insn::LdImm64 {
            dst,
            kind,
            imm,
            next_imm,
        } => {
            let src = match kind {
                LdImm64Kind::Imm => 0,
                LdImm64Kind::MapFd => PSEUDO_MAP_FD,
                LdImm64Kind::MapValue => PSEUDO_MAP_VALUE,
                LdImm64Kind::BtfId => PSEUDO_BTF_ID,
                LdImm64Kind::Func => PSEUDO_FUNC,
                LdImm64Kind::MapIdx => PSEUDO_MAP_IDX,
                LdImm64Kind::MapIdxValue => PSEUDO_MAP_IDX_VALUE,
            };
            vec![
                RawInsn::new(LDDW, dst.num(), src, 0, imm),
                RawInsn::new(0, 0, 0, 0, next_imm),
            ]
        }
        Insn::LoadPacket { size, mode, imm } => match mode {
            PacketMode::Abs => one(CLASS_LD | MODE_ABS | size_bits(size), 0, 0, 0, imm),
            PacketMode::Ind(r) => one(CLASS_LD | MODE_IND | size_bits(size), 0, r.num(), 0, imm),
        },
        Insn::Ja { off } => one(CLASS_JMP | JMP_JA, 0, 0, off, 0),
        Insn::Gotol { off } => one(CLASS_JMP32 | JMP_JA, 0, 0, 0, off),
        Insn::Jump {
            width,
            cond,
            dst,
            src,
            off,
        } => {
            let code = match cond {
                JmpCond::Eq => JMP_JEQ,
                JmpCond::Gt => JMP_JGT,
                JmpCond::Ge => JMP_JGE,
                JmpCond::Set => JMP_JSET,
                JmpCond::Ne => JMP_JNE,
                JmpCond::SGt => JMP_JSGT,
                JmpCond::SGe => JMP_JSGE,
                JmpCond::Lt => JMP_JLT,
                JmpCond::Le => JMP_JLE,
                JmpCond::SLt => JMP_JSLT,
                JmpCond::SLe => JMP_JSLE,
            };
            let (sbit, s, imm) = source(src);
            one(jmp_class(width) | code | sbit, dst.num(), s, off, imm)
        }
        Insn::Call(target) => match target {
            CallTarget::Helper(id) => one(CLASS_JMP | JMP_CALL, 0, 0, 0, id),
            CallTarget::Local(rel) => one(CLASS_JMP | JMP_CALL, 0, PSEUDO_CALL, 0, rel),
            CallTarget::Kfunc { btf_id, off } => {
                one(CLASS_JMP | JMP_CALL, 0, PSEUDO_KFUNC_CALL, off, btf_id)
            }
        },
        Insn::CallX { reg } => one(CLASS_JMP | JMP_CALL | SRC_X, reg.num(), 0, 0, 0),
        Insn::Exit => one(CLASS_JMP | JMP_EXIT, 0, 0, 0, 0),
        Insn::MayGoto { off } => one(CLASS_JMP | JMP_JCOND, 0, 0, off, 0),
    }
}
