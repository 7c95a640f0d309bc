//! Machine-code encoding of [`X86Insn`].
//!
//! Takes a typed instruction; appends its bytes (legacy prefixes, REX, opcode, ModRM, SIB,
//! displacement, immediate) to a buffer. Total: every value of [`X86Insn`] the code generator
//! builds has one encoding; sizes outside a form's documented set are encoded as the nearest
//! valid form (documented per variant), never a panic.

use super::insn::{AluOp, Mem, ShiftBy, X86Insn};
use super::reg::{Size, X86Reg};

/// The r/m operand of an instruction.
#[derive(Clone, Copy)]
enum Rm {
    Reg(X86Reg),
    Mem(Mem),
}

/// Instruction-independent encoding parameters.
#[derive(Clone, Copy, Default)]
struct Form {
    lock: bool,
    opsize16: bool,
    w: bool,
    /// Force a REX prefix (byte access to spl/bpl/sil/dil).
    force_rex: bool,
}

impl Form {
    fn sized(size: Size) -> Form {
        Form {
            opsize16: size == Size::S16,
            w: size == Size::S64,
            ..Form::default()
        }
    }

    fn locked(mut self) -> Form {
        self.lock = true;
        self
    }

    /// Byte accesses to a register numbered 4–7 need a REX prefix (spl, bpl, sil, dil
    /// instead of ah, ch, dh, bh).
    fn byte_reg(mut self, size: Size, reg: X86Reg) -> Form {
        if size == Size::S8 && reg.byte_needs_rex() {
            self.force_rex = true;
        }
        self
    }
}

fn fits_i8(v: i32) -> bool {
    v == v as i8 as i32
}

/// Emit prefixes, REX, `opcode`, then ModRM (+SIB, displacement) for `reg` (a register
/// number or `/digit`) and `rm`.
fn emit(out: &mut Vec<u8>, form: Form, opcode: &[u8], reg: u8, rm: Rm) {
    if form.lock {
        out.push(0xf0);
    }
    if form.opsize16 {
        out.push(0x66);
    }
    let r = (reg >> 3) & 1;
    let (x, b) = match rm {
        Rm::Reg(r) => (0, r.ext() as u8),
        Rm::Mem(m) => (
            m.index.map_or(0, |(i, _)| i.ext() as u8),
            m.base.ext() as u8,
        ),
    };
    let rex = 0x40 | (form.w as u8) << 3 | r << 2 | x << 1 | b;
    if rex != 0x40 || form.force_rex {
        out.push(rex);
    }
    out.extend_from_slice(opcode);
    let reg3 = (reg & 7) << 3;
    match rm {
        Rm::Reg(r) => out.push(0xc0 | reg3 | r.low3()),
        Rm::Mem(m) => {
            let disp = m.disp;
            let (md, disp_len) = if disp == 0 && m.base.low3() != 5 {
                (0u8, 0)
            } else if fits_i8(disp) {
                (1, 1)
            } else {
                (2, 4)
            };
            match m.index {
                None if m.base.low3() != 4 => out.push(md << 6 | reg3 | m.base.low3()),
                None => {
                    out.push(md << 6 | reg3 | 4);
                    out.push(4 << 3 | m.base.low3());
                }
                Some((index, scale)) => {
                    out.push(md << 6 | reg3 | 4);
                    out.push((scale as u8) << 6 | index.low3() << 3 | m.base.low3());
                }
            }
            match disp_len {
                1 => out.push(disp as i8 as u8),
                4 => out.extend_from_slice(&disp.to_le_bytes()),
                _ => {}
            }
        }
    }
}

/// `opcode` for the full-size form, `opcode - 1` for the byte form (true of every group
/// the JIT uses: 0x00/0x01, 0x88/0x89, 0x84/0x85, 0x86/0x87, 0xc0/0xc1, 0xd2/0xd3,
/// 0xf6/0xf7, 0xc6/0xc7, 0x0f 0xb0/0xb1, 0x0f 0xc0/0xc1).
fn op_sized(op: u8, size: Size) -> u8 {
    if size == Size::S8 {
        op - 1
    } else {
        op
    }
}

fn imm_sized(out: &mut Vec<u8>, size: Size, imm: i32) {
    match size {
        Size::S8 => out.push(imm as u8),
        Size::S16 => out.extend_from_slice(&(imm as u16).to_le_bytes()),
        Size::S32 | Size::S64 => out.extend_from_slice(&imm.to_le_bytes()),
    }
}

/// A group-1 immediate operation on `rm`: 0x83 with an 8-bit immediate when it fits,
/// else 0x81 (0x80 for bytes).
fn alu_imm(out: &mut Vec<u8>, form: Form, op: AluOp, size: Size, rm: Rm, imm: i32) {
    if size == Size::S8 {
        emit(out, form, &[0x80], op as u8, rm);
        out.push(imm as u8);
    } else if fits_i8(imm) {
        emit(out, form, &[0x83], op as u8, rm);
        out.push(imm as i8 as u8);
    } else {
        emit(out, form, &[0x81], op as u8, rm);
        imm_sized(out, size, imm);
    }
}

/// Append the encoding of `insn` to `out`.
pub fn encode(insn: &X86Insn, out: &mut Vec<u8>) {
    use X86Insn::*;
    match *insn {
        Alu { op, size, dst, src } => {
            let form = Form::sized(size).byte_reg(size, dst).byte_reg(size, src);
            emit(
                out,
                form,
                &[op_sized(0x01 + 8 * op as u8, size)],
                src.num(),
                Rm::Reg(dst),
            )
        }
        AluImm { op, size, dst, imm } => {
            let form = Form::sized(size).byte_reg(size, dst);
            alu_imm(out, form, op, size, Rm::Reg(dst), imm)
        }
        AluLoad { op, size, dst, mem } => {
            let form = Form::sized(size).byte_reg(size, dst);
            emit(
                out,
                form,
                &[op_sized(0x03 + 8 * op as u8, size)],
                dst.num(),
                Rm::Mem(mem),
            )
        }
        AluMemImm { op, size, mem, imm } => {
            alu_imm(out, Form::sized(size), op, size, Rm::Mem(mem), imm)
        }
        LockAlu { op, size, mem, src } => {
            let form = Form::sized(size).byte_reg(size, src).locked();
            emit(
                out,
                form,
                &[op_sized(0x01 + 8 * op as u8, size)],
                src.num(),
                Rm::Mem(mem),
            )
        }
        Test { size, a, b } => {
            let form = Form::sized(size).byte_reg(size, a).byte_reg(size, b);
            emit(out, form, &[op_sized(0x85, size)], b.num(), Rm::Reg(a))
        }
        TestImm { size, dst, imm } => {
            let form = Form::sized(size).byte_reg(size, dst);
            emit(out, form, &[op_sized(0xf7, size)], 0, Rm::Reg(dst));
            imm_sized(out, size, imm);
        }
        Mov { size, dst, src } => {
            let form = Form::sized(size).byte_reg(size, dst).byte_reg(size, src);
            emit(out, form, &[op_sized(0x89, size)], src.num(), Rm::Reg(dst))
        }
        MovImm32 { dst, imm } => {
            if dst.ext() {
                out.push(0x41);
            }
            out.push(0xb8 + dst.low3());
            out.extend_from_slice(&imm.to_le_bytes());
        }
        MovImmSx { dst, imm } => {
            emit(out, Form::sized(Size::S64), &[0xc7], 0, Rm::Reg(dst));
            out.extend_from_slice(&imm.to_le_bytes());
        }
        MovAbs { dst, imm } => {
            out.push(0x48 | dst.ext() as u8);
            out.push(0xb8 + dst.low3());
            out.extend_from_slice(&imm.to_le_bytes());
        }
        Load { size, dst, mem } => match size {
            Size::S8 => emit(out, Form::default(), &[0x0f, 0xb6], dst.num(), Rm::Mem(mem)),
            Size::S16 => emit(out, Form::default(), &[0x0f, 0xb7], dst.num(), Rm::Mem(mem)),
            Size::S32 => emit(out, Form::default(), &[0x8b], dst.num(), Rm::Mem(mem)),
            Size::S64 => emit(
                out,
                Form::sized(Size::S64),
                &[0x8b],
                dst.num(),
                Rm::Mem(mem),
            ),
        },
        LoadSx { size, dst, mem } => {
            let opcode: &[u8] = match size {
                Size::S8 => &[0x0f, 0xbe],
                Size::S16 => &[0x0f, 0xbf],
                Size::S32 => &[0x63],
                Size::S64 => &[0x8b],
            };
            emit(out, Form::sized(Size::S64), opcode, dst.num(), Rm::Mem(mem))
        }
        Store { size, mem, src } => {
            let form = Form::sized(size).byte_reg(size, src);
            emit(out, form, &[op_sized(0x89, size)], src.num(), Rm::Mem(mem))
        }
        StoreImm { size, mem, imm } => {
            emit(
                out,
                Form::sized(size),
                &[op_sized(0xc7, size)],
                0,
                Rm::Mem(mem),
            );
            imm_sized(out, size, imm);
        }
        Movzx { from, dst, src } => {
            let form = Form::default().byte_reg(from, src);
            let opcode = if from == Size::S8 { 0xb6 } else { 0xb7 };
            emit(out, form, &[0x0f, opcode], dst.num(), Rm::Reg(src))
        }
        Movsx {
            from,
            size,
            dst,
            src,
        } => {
            let form = Form {
                w: size == Size::S64,
                ..Form::default()
            }
            .byte_reg(from, src);
            let opcode: &[u8] = match from {
                Size::S8 => &[0x0f, 0xbe],
                Size::S16 => &[0x0f, 0xbf],
                _ => &[0x63],
            };
            emit(out, form, opcode, dst.num(), Rm::Reg(src))
        }
        Lea { dst, mem } => emit(
            out,
            Form::sized(Size::S64),
            &[0x8d],
            dst.num(),
            Rm::Mem(mem),
        ),
        Shift { op, size, dst, by } => {
            let form = Form::sized(size).byte_reg(size, dst);
            match by {
                ShiftBy::Cl => emit(out, form, &[op_sized(0xd3, size)], op as u8, Rm::Reg(dst)),
                ShiftBy::Imm(n) => {
                    emit(out, form, &[op_sized(0xc1, size)], op as u8, Rm::Reg(dst));
                    out.push(n);
                }
            }
        }
        Neg { size, dst } => {
            let form = Form::sized(size).byte_reg(size, dst);
            emit(out, form, &[op_sized(0xf7, size)], 3, Rm::Reg(dst))
        }
        Imul { size, dst, src } => emit(
            out,
            Form::sized(size),
            &[0x0f, 0xaf],
            dst.num(),
            Rm::Reg(src),
        ),
        ImulImm {
            size,
            dst,
            src,
            imm,
        } => {
            if fits_i8(imm) {
                emit(out, Form::sized(size), &[0x6b], dst.num(), Rm::Reg(src));
                out.push(imm as i8 as u8);
            } else {
                emit(out, Form::sized(size), &[0x69], dst.num(), Rm::Reg(src));
                imm_sized(out, size, imm);
            }
        }
        Div { size, src } => emit(out, Form::sized(size), &[0xf7], 6, Rm::Reg(src)),
        Idiv { size, src } => emit(out, Form::sized(size), &[0xf7], 7, Rm::Reg(src)),
        SignExtendAcc { size } => {
            if size == Size::S64 {
                out.push(0x48);
            }
            out.push(0x99);
        }
        Bswap { size, reg } => {
            let rex = 0x40 | ((size == Size::S64) as u8) << 3 | reg.ext() as u8;
            if rex != 0x40 {
                out.push(rex);
            }
            out.extend_from_slice(&[0x0f, 0xc8 + reg.low3()]);
        }
        Xchg { size, mem, reg } => {
            let form = Form::sized(size).byte_reg(size, reg);
            emit(out, form, &[op_sized(0x87, size)], reg.num(), Rm::Mem(mem))
        }
        LockXadd { size, mem, reg } => {
            let form = Form::sized(size).byte_reg(size, reg).locked();
            emit(
                out,
                form,
                &[0x0f, op_sized(0xc1, size)],
                reg.num(),
                Rm::Mem(mem),
            )
        }
        LockCmpxchg { size, mem, reg } => {
            let form = Form::sized(size).byte_reg(size, reg).locked();
            emit(
                out,
                form,
                &[0x0f, op_sized(0xb1, size)],
                reg.num(),
                Rm::Mem(mem),
            )
        }
        Push(reg) => {
            if reg.ext() {
                out.push(0x41);
            }
            out.push(0x50 + reg.low3());
        }
        Pop(reg) => {
            if reg.ext() {
                out.push(0x41);
            }
            out.push(0x58 + reg.low3());
        }
        Ret => out.push(0xc3),
        Call { rel } => {
            out.push(0xe8);
            out.extend_from_slice(&rel.to_le_bytes());
        }
        CallReg(reg) => emit(out, Form::default(), &[0xff], 2, Rm::Reg(reg)),
        JmpReg(reg) => emit(out, Form::default(), &[0xff], 4, Rm::Reg(reg)),
        Jmp { rel, short } => {
            if short {
                out.extend_from_slice(&[0xeb, rel as i8 as u8]);
            } else {
                out.push(0xe9);
                out.extend_from_slice(&rel.to_le_bytes());
            }
        }
        Jcc { cond, rel, short } => {
            if short {
                out.extend_from_slice(&[0x70 + cond as u8, rel as i8 as u8]);
            } else {
                out.extend_from_slice(&[0x0f, 0x80 + cond as u8]);
                out.extend_from_slice(&rel.to_le_bytes());
            }
        }
        Ud2 => out.extend_from_slice(&[0x0f, 0x0b]),
    }
}

impl X86Insn {
    /// The encoded bytes.
    pub fn bytes(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(15);
        encode(self, &mut v);
        v
    }

    /// The encoded length in bytes.
    pub fn encoded_len(&self) -> usize {
        self.bytes().len()
    }
}
