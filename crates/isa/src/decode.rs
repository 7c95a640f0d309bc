//! Decoding: raw slots to typed instructions.
//!
//! Takes [`RawInsn`] slots; gives [`Insn`] values or a [`DecodeErrorKind`] that says exactly
//! which field is wrong. This and `encode` are the only places that look at opcode numbers.

use crate::error::{DecodeErrorKind as E, Field};
use crate::insn::*;
use crate::opcode::*;
use crate::raw::RawInsn;
use crate::Reg;

fn reg(field: Field, value: u8) -> Result<Reg, E> {
    Reg::new(value).ok_or(E::BadRegister { field, value })
}

fn zero(r: &RawInsn, field: Field) -> Result<(), E> {
    let value: i64 = match field {
        Field::Dst => r.dst as i64,
        Field::Src => r.src as i64,
        Field::Off => r.off as i64,
        Field::Imm => r.imm as i64,
    };
    if value == 0 {
        Ok(())
    } else {
        Err(E::ReservedField {
            opcode: r.opcode,
            field,
            value,
        })
    }
}

fn mem_size(opcode: u8) -> MemSize {
    match opcode & SIZE_MASK {
        SIZE_W => MemSize::W,
        SIZE_H => MemSize::H,
        SIZE_B => MemSize::B,
        _ => MemSize::DW,
    }
}

/// Decode one instruction starting at `slots[0]`. `lddw` reads `slots[1]` as well.
///
/// # Errors
/// Any invalid encoding: unknown opcode, register above r10, reserved field set, malformed
/// or truncated `lddw`.
pub fn decode_insn(slots: &[RawInsn]) -> Result<Insn, E> {
    let r = *slots.first().ok_or(E::Empty)?;
    match r.opcode & CLASS_MASK {
        CLASS_ALU | CLASS_ALU64 => decode_alu(&r),
        CLASS_JMP | CLASS_JMP32 => decode_jmp(&r),
        CLASS_LDX => decode_ldx(&r),
        CLASS_ST | CLASS_STX => decode_store(&r),
        _ => decode_ld(&r, slots.get(1)),
    }
}

fn decode_alu(r: &RawInsn) -> Result<Insn, E> {
    let width = if r.opcode & CLASS_MASK == CLASS_ALU64 {
        Width::W64
    } else {
        Width::W32
    };
    let dst = reg(Field::Dst, r.dst)?;
    let is_x = r.opcode & SRC_MASK == SRC_X;
    let op = r.opcode & OP_MASK;
    let bad = |field, value| E::BadField {
        opcode: r.opcode,
        field,
        value,
    };
    match op {
        ALU_NEG => {
            if is_x {
                return Err(E::UnknownOpcode(r.opcode));
            }
            zero(r, Field::Src)?;
            zero(r, Field::Off)?;
            zero(r, Field::Imm)?;
            Ok(Insn::Neg { width, dst })
        }
        ALU_END => {
            if width == Width::W64 && is_x {
                return Err(E::UnknownOpcode(r.opcode));
            }
            zero(r, Field::Src)?;
            zero(r, Field::Off)?;
            let bits = match r.imm {
                16 => EndianBits::B16,
                32 => EndianBits::B32,
                64 => EndianBits::B64,
                v => return Err(bad(Field::Imm, v as i64)),
            };
            let order = match (width, is_x) {
                (Width::W64, _) => ByteOrder::Swap,
                (Width::W32, false) => ByteOrder::ToLe,
                (Width::W32, true) => ByteOrder::ToBe,
            };
            Ok(Insn::Endian { order, bits, dst })
        }
        _ => {
            let src = if is_x {
                zero(r, Field::Imm)?;
                Source::Reg(reg(Field::Src, r.src)?)
            } else {
                zero(r, Field::Src)?;
                Source::Imm(r.imm)
            };
            let alu_op = match op {
                ALU_ADD => AluOp::Add,
                ALU_SUB => AluOp::Sub,
                ALU_MUL => AluOp::Mul,
                ALU_DIV | ALU_MOD => {
                    let signed = match r.off {
                        0 => false,
                        1 => true,
                        v => return Err(bad(Field::Off, v as i64)),
                    };
                    return Ok(Insn::Alu {
                        width,
                        op: match (op == ALU_DIV, signed) {
                            (true, false) => AluOp::Div,
                            (true, true) => AluOp::SDiv,
                            (false, false) => AluOp::Mod,
                            (false, true) => AluOp::SMod,
                        },
                        dst,
                        src,
                    });
                }
                ALU_OR => AluOp::Or,
                ALU_AND => AluOp::And,
                ALU_LSH => AluOp::Lsh,
                ALU_RSH => AluOp::Rsh,
                ALU_XOR => AluOp::Xor,
                ALU_MOV => {
                    if r.off != 0 {
                        let from = match (r.off, width) {
                            (8, _) => SxFrom::B8,
                            (16, _) => SxFrom::B16,
                            (32, Width::W64) => SxFrom::B32,
                            (v, _) => return Err(bad(Field::Off, v as i64)),
                        };
                        let Source::Reg(src) = src else {
                            return Err(E::ReservedField {
                                opcode: r.opcode,
                                field: Field::Off,
                                value: r.off as i64,
                            });
                        };
                        return Ok(Insn::MovSx {
                            width,
                            dst,
                            src,
                            from,
                        });
                    }
                    AluOp::Mov
                }
                ALU_ARSH => AluOp::Arsh,
                _ => return Err(E::UnknownOpcode(r.opcode)),
            };
            zero(r, Field::Off)?;
            Ok(Insn::Alu {
                width,
                op: alu_op,
                dst,
                src,
            })
        }
    }
}

fn decode_jmp(r: &RawInsn) -> Result<Insn, E> {
    let jmp32 = r.opcode & CLASS_MASK == CLASS_JMP32;
    let is_x = r.opcode & SRC_MASK == SRC_X;
    let op = r.opcode & OP_MASK;
    match op {
        JMP_JA => {
            if is_x {
                return Err(E::UnknownOpcode(r.opcode));
            }
            zero(r, Field::Dst)?;
            zero(r, Field::Src)?;
            if jmp32 {
                zero(r, Field::Off)?;
                Ok(Insn::Gotol { off: r.imm })
            } else {
                zero(r, Field::Imm)?;
                Ok(Insn::Ja { off: r.off })
            }
        }
        JMP_CALL if !jmp32 => {
            if is_x {
                zero(r, Field::Src)?;
                zero(r, Field::Off)?;
                zero(r, Field::Imm)?;
                return Ok(Insn::CallX {
                    reg: reg(Field::Dst, r.dst)?,
                });
            }
            zero(r, Field::Dst)?;
            let target = match r.src {
                0 => CallTarget::Helper(r.imm),
                PSEUDO_CALL => CallTarget::Local(r.imm),
                PSEUDO_KFUNC_CALL => {
                    return Ok(Insn::Call(CallTarget::Kfunc {
                        btf_id: r.imm,
                        off: r.off,
                    }))
                }
                v => {
                    return Err(E::BadField {
                        opcode: r.opcode,
                        field: Field::Src,
                        value: v as i64,
                    })
                }
            };
            zero(r, Field::Off)?;
            Ok(Insn::Call(target))
        }
        JMP_EXIT if !jmp32 => {
            if is_x {
                return Err(E::UnknownOpcode(r.opcode));
            }
            zero(r, Field::Dst)?;
            zero(r, Field::Src)?;
            zero(r, Field::Off)?;
            zero(r, Field::Imm)?;
            Ok(Insn::Exit)
        }
        JMP_JCOND if !jmp32 => {
            if is_x {
                return Err(E::UnknownOpcode(r.opcode));
            }
            zero(r, Field::Dst)?;
            zero(r, Field::Src)?;
            zero(r, Field::Imm)?;
            Ok(Insn::MayGoto { off: r.off })
        }
        _ => {
            let cond = match op {
                JMP_JEQ => JmpCond::Eq,
                JMP_JGT => JmpCond::Gt,
                JMP_JGE => JmpCond::Ge,
                JMP_JSET => JmpCond::Set,
                JMP_JNE => JmpCond::Ne,
                JMP_JSGT => JmpCond::SGt,
                JMP_JSGE => JmpCond::SGe,
                JMP_JLT => JmpCond::Lt,
                JMP_JLE => JmpCond::Le,
                JMP_JSLT => JmpCond::SLt,
                JMP_JSLE => JmpCond::SLe,
                _ => return Err(E::UnknownOpcode(r.opcode)),
            };
            let dst = reg(Field::Dst, r.dst)?;
            let src = if is_x {
                zero(r, Field::Imm)?;
                Source::Reg(reg(Field::Src, r.src)?)
            } else {
                zero(r, Field::Src)?;
                Source::Imm(r.imm)
            };
            Ok(Insn::Jump {
                width: if jmp32 { Width::W32 } else { Width::W64 },
                cond,
                dst,
                src,
                off: r.off,
            })
        }
    }
}

fn decode_ldx(r: &RawInsn) -> Result<Insn, E> {
    let size = mem_size(r.opcode);
    let dst = reg(Field::Dst, r.dst)?;
    let src = reg(Field::Src, r.src)?;
    match r.opcode & MODE_MASK {
        MODE_MEM => {
            zero(r, Field::Imm)?;
            Ok(Insn::Load {
                size,
                dst,
                src,
                off: r.off,
            })
        }
        MODE_MEMSX if size != MemSize::DW => {
            zero(r, Field::Imm)?;
            Ok(Insn::LoadSx {
                size,
                dst,
                src,
                off: r.off,
            })
        }
        _ => Err(E::UnknownOpcode(r.opcode)),
    }
}

fn decode_store(r: &RawInsn) -> Result<Insn, E> {
    let size = mem_size(r.opcode);
    let dst = reg(Field::Dst, r.dst)?;
    let is_stx = r.opcode & CLASS_MASK == CLASS_STX;
    match (r.opcode & MODE_MASK, is_stx) {
        (MODE_MEM, false) => {
            zero(r, Field::Src)?;
            Ok(Insn::Store {
                size,
                dst,
                off: r.off,
                src: Source::Imm(r.imm),
            })
        }
        (MODE_MEM, true) => {
            zero(r, Field::Imm)?;
            Ok(Insn::Store {
                size,
                dst,
                off: r.off,
                src: Source::Reg(reg(Field::Src, r.src)?),
            })
        }
        (MODE_ATOMIC, true) if matches!(size, MemSize::W | MemSize::DW) => {
            let op = match r.imm {
                ATOMIC_ADD => AtomicOp::Add,
                ATOMIC_OR => AtomicOp::Or,
                ATOMIC_AND => AtomicOp::And,
                ATOMIC_XOR => AtomicOp::Xor,
                x if x == ATOMIC_ADD | ATOMIC_FETCH => AtomicOp::FetchAdd,
                x if x == ATOMIC_OR | ATOMIC_FETCH => AtomicOp::FetchOr,
                x if x == ATOMIC_AND | ATOMIC_FETCH => AtomicOp::FetchAnd,
                x if x == ATOMIC_XOR | ATOMIC_FETCH => AtomicOp::FetchXor,
                ATOMIC_XCHG => AtomicOp::Xchg,
                ATOMIC_CMPXCHG => AtomicOp::CmpXchg,
                v => {
                    return Err(E::BadField {
                        opcode: r.opcode,
                        field: Field::Imm,
                        value: v as i64,
                    })
                }
            };
            Ok(Insn::Atomic {
                size: if size == MemSize::W {
                    AtomicSize::W
                } else {
                    AtomicSize::DW
                },
                op,
                dst,
                src: reg(Field::Src, r.src)?,
                off: r.off,
            })
        }
        _ => Err(E::UnknownOpcode(r.opcode)),
    }
}

fn decode_ld(r: &RawInsn, next: Option<&RawInsn>) -> Result<Insn, E> {
    let size = mem_size(r.opcode);
    match r.opcode & MODE_MASK {
        MODE_IMM if size == MemSize::DW => {
            let dst = reg(Field::Dst, r.dst)?;
            zero(r, Field::Off)?;
            let kind = match r.src {
                0 => LdImm64Kind::Imm,
                PSEUDO_MAP_FD => LdImm64Kind::MapFd,
                PSEUDO_MAP_VALUE => LdImm64Kind::MapValue,
                PSEUDO_BTF_ID => LdImm64Kind::BtfId,
                PSEUDO_FUNC => LdImm64Kind::Func,
                PSEUDO_MAP_IDX => LdImm64Kind::MapIdx,
                PSEUDO_MAP_IDX_VALUE => LdImm64Kind::MapIdxValue,
                v => return Err(E::BadLddwSource(v)),
            };
            let n = next.ok_or(E::TruncatedLddw)?;
            if n.opcode != 0 || n.dst != 0 || n.src != 0 || n.off != 0 {
                return Err(E::MalformedLddw);
            }
            Ok(Insn::LdImm64 {
                dst,
                kind,
                imm: r.imm,
                next_imm: n.imm,
            })
        }
        mode @ (MODE_ABS | MODE_IND) if size != MemSize::DW => {
            zero(r, Field::Dst)?;
            zero(r, Field::Off)?;
            let mode = if mode == MODE_ABS {
                zero(r, Field::Src)?;
                PacketMode::Abs
            } else {
                PacketMode::Ind(reg(Field::Src, r.src)?)
            };
            Ok(Insn::LoadPacket {
                size,
                mode,
                imm: r.imm,
            })
        }
        _ => Err(E::UnknownOpcode(r.opcode)),
    }
}
