//! ALU instructions: arithmetic, shifts, division, negation, sign extension, byte order.
//!
//! Takes one eBPF ALU instruction (with x86 registers already mapped); emits x86 code with
//! the RFC's results: 32-bit operations zero-extend, shift counts are masked, division by
//! zero gives 0 and modulo by zero leaves the dividend, `INT_MIN / -1` gives `INT_MIN` and
//! `INT_MIN % -1` gives 0. Shifts by a register move the count into cl (rcx is r4) and
//! division moves the dividend into rdx:rax (r3 and r0), saving what they displace in the
//! scratch registers when the displaced eBPF register is live afterwards. A register divisor
//! the verifier proved non-zero skips the zero check.

use userbpf_isa::{AluOp, ByteOrder, EndianBits, Source, SxFrom, Width};

use super::{Cg, Known, Operand, TMP, TMP2, TMP3};
use crate::asm::Label;
use crate::x86::{self, Cond, ShiftBy, ShiftOp, Size, X86Insn, X86Reg};

pub(crate) fn size_of(width: Width) -> Size {
    match width {
        Width::W32 => Size::S32,
        Width::W64 => Size::S64,
    }
}

/// `mov d32, d32`: zero the upper half.
fn zext(cg: &mut Cg<'_>, d: X86Reg) {
    cg.emit(X86Insn::Mov {
        size: Size::S32,
        dst: d,
        src: d,
    });
}

pub(crate) fn alu(cg: &mut Cg<'_>, width: Width, op: AluOp, d: X86Reg, src: Source) {
    // `rX = rY` (64-bit) where rX already holds rY's value: nothing to emit.
    let copy = match (op, width, src) {
        (AluOp::Mov, Width::W64, Source::Reg(s)) if super::xreg(s) != d => {
            Some((d, super::xreg(s)))
        }
        _ => None,
    };
    if let Some((a, b)) = copy {
        if cg.prev.copy == Some((a, b)) || cg.prev.copy == Some((b, a)) {
            cg.known = Known {
                zext: None,
                flags: None,
                copy,
            };
            return;
        }
    }
    alu_inner(cg, width, op, d, src);
    let size = size_of(width);
    let simple = matches!(
        op,
        AluOp::Add | AluOp::Sub | AluOp::Or | AluOp::And | AluOp::Xor
    );
    // What the result leaves known: 32-bit results and proved 64-bit ones are zero-extended;
    // the simple operations set the flags from the result.
    let upper = width == Width::W32 || cg.facts[cg.cur].upper32_zero;
    cg.known = Known {
        zext: upper.then_some(d),
        flags: simple.then_some((d, size)),
        copy,
    };
}

fn alu_inner(cg: &mut Cg<'_>, width: Width, op: AluOp, d: X86Reg, src: Source) {
    let size = size_of(width);
    // `w1 = w1` after a result whose upper half is already zero: nothing to do.
    if let (AluOp::Mov, Width::W32, Source::Reg(s)) = (op, width, src) {
        if super::xreg(s) == d && cg.prev.zext == Some(d) {
            return;
        }
    }
    let simple = |op| match op {
        AluOp::Add => Some(x86::AluOp::Add),
        AluOp::Sub => Some(x86::AluOp::Sub),
        AluOp::Or => Some(x86::AluOp::Or),
        AluOp::And => Some(x86::AluOp::And),
        AluOp::Xor => Some(x86::AluOp::Xor),
        _ => None,
    };
    // Division by an immediate zero or -1 has a fixed result: no blinding needed.
    if let (Source::Imm(i @ (0 | -1)), AluOp::Div | AluOp::Mod | AluOp::SDiv | AluOp::SMod) =
        (src, op)
    {
        if i == 0 || matches!(op, AluOp::SDiv | AluOp::SMod) {
            return div_fixed(cg, size, op, d, i);
        }
    }
    let operand = cg.operand(src);
    if let Some(xop) = simple(op) {
        match operand {
            Operand::Reg(s) => cg.emit(X86Insn::Alu {
                op: xop,
                size,
                dst: d,
                src: s,
            }),
            Operand::Imm(i) => cg.emit(X86Insn::AluImm {
                op: xop,
                size,
                dst: d,
                imm: i,
            }),
        }
        return;
    }
    match op {
        AluOp::Mov => match operand {
            Operand::Reg(s) => cg.emit(X86Insn::Mov {
                size,
                dst: d,
                src: s,
            }),
            Operand::Imm(i) => match width {
                Width::W64 => cg.load_const(d, i as i64 as u64),
                Width::W32 => cg.load_const(d, i as u32 as u64),
            },
        },
        AluOp::Mul => match operand {
            Operand::Reg(s) => cg.emit(X86Insn::Imul {
                size,
                dst: d,
                src: s,
            }),
            Operand::Imm(i) => cg.emit(X86Insn::ImulImm {
                size,
                dst: d,
                src: d,
                imm: i,
            }),
        },
        AluOp::Lsh | AluOp::Rsh | AluOp::Arsh => {
            let sop = match op {
                AluOp::Lsh => ShiftOp::Shl,
                AluOp::Rsh => ShiftOp::Shr,
                _ => ShiftOp::Sar,
            };
            shift(cg, size, sop, d, operand)
        }
        AluOp::Div | AluOp::Mod | AluOp::SDiv | AluOp::SMod => div(cg, size, op, d, operand),
        AluOp::Add | AluOp::Sub | AluOp::Or | AluOp::And | AluOp::Xor => unreachable!(),
    }
}

fn shift(cg: &mut Cg<'_>, size: Size, op: ShiftOp, d: X86Reg, operand: Operand) {
    use X86Reg::Rcx;
    let s = match operand {
        Operand::Imm(i) => {
            let n = (i as u32 & (size.bytes() * 8 - 1)) as u8;
            if n == 0 {
                if size == Size::S32 {
                    zext(cg, d);
                }
            } else {
                cg.emit(X86Insn::Shift {
                    op,
                    size,
                    dst: d,
                    by: ShiftBy::Imm(n),
                });
            }
            return;
        }
        Operand::Reg(s) => s,
    };
    let sh = |cg: &mut Cg<'_>, dst| {
        cg.emit(X86Insn::Shift {
            op,
            size,
            dst,
            by: ShiftBy::Cl,
        })
    };
    let mov = |cg: &mut Cg<'_>, dst, src| {
        cg.emit(X86Insn::Mov {
            size: Size::S64,
            dst,
            src,
        })
    };
    let keep_rcx = cg.live_after(Rcx);
    match (s == Rcx, d == Rcx) {
        (true, false) => sh(cg, d),
        (false, false) if !keep_rcx => {
            mov(cg, Rcx, s);
            sh(cg, d);
        }
        (true, true) => {
            mov(cg, TMP, Rcx);
            sh(cg, TMP);
            mov(cg, Rcx, TMP);
        }
        (false, true) => {
            mov(cg, TMP, Rcx);
            mov(cg, Rcx, s);
            sh(cg, TMP);
            mov(cg, Rcx, TMP);
        }
        (false, false) => {
            mov(cg, TMP, Rcx);
            mov(cg, Rcx, s);
            sh(cg, d);
            mov(cg, Rcx, TMP);
        }
    }
}

/// Division by the constants 0 and -1.
fn div_fixed(cg: &mut Cg<'_>, size: Size, op: AluOp, d: X86Reg, imm: i32) {
    match (op, imm) {
        // x / 0 = 0; x s/ 0 = 0; x s% -1 = 0.
        (AluOp::Div | AluOp::SDiv, 0) | (AluOp::SMod, -1) => cg.emit(X86Insn::Alu {
            op: x86::AluOp::Xor,
            size: Size::S32,
            dst: d,
            src: d,
        }),
        // x % 0 = x.
        (AluOp::Mod | AluOp::SMod, 0) => {
            if size == Size::S32 {
                zext(cg, d)
            }
        }
        // x s/ -1 = -x (wrapping: INT_MIN stays INT_MIN).
        (AluOp::SDiv, -1) => cg.emit(X86Insn::Neg { size, dst: d }),
        _ => unreachable!("div_fixed({op:?}, {imm})"),
    }
}

/// Division and modulo through rdx:rax. The divisor goes to r11; rax and rdx are saved in
/// r10 and r9 unless they are the destination or dead (rdx in r10 when rax needs no save). A register divisor is checked for 0 (and,
/// signed, for -1, whose quotient `idiv` would fault on for INT_MIN).
fn div(cg: &mut Cg<'_>, size: Size, op: AluOp, d: X86Reg, operand: Operand) {
    use X86Reg::{Rax, Rdx};
    let signed = matches!(op, AluOp::SDiv | AluOp::SMod);
    let modulo = matches!(op, AluOp::Mod | AluOp::SMod);
    let done = cg.a.label();
    // Out-of-line cases of a register divisor: (label, divisor constant).
    let mut special = Vec::new();
    match operand {
        Operand::Imm(i) => {
            // Not 0 or -1 (handled by div_fixed): no checks.
            if size == Size::S64 {
                cg.emit(X86Insn::MovImmSx { dst: TMP, imm: i });
            } else {
                cg.emit(X86Insn::MovImm32 {
                    dst: TMP,
                    imm: i as u32,
                });
            }
        }
        Operand::Reg(s) => {
            cg.emit(X86Insn::Mov {
                size,
                dst: TMP,
                src: s,
            });
            if !cg.facts[cg.cur].divisor_nonzero {
                let zero = cg.a.label();
                cg.emit(X86Insn::Test {
                    size,
                    a: TMP,
                    b: TMP,
                });
                cg.a.jcc(Cond::E, zero);
                special.push((zero, 0));
            }
            if signed {
                let minus_one = cg.a.label();
                cg.emit(X86Insn::AluImm {
                    op: x86::AluOp::Cmp,
                    size,
                    dst: TMP,
                    imm: -1,
                });
                cg.a.jcc(Cond::E, minus_one);
                special.push((minus_one, -1));
            }
        }
    }
    let mov = |cg: &mut Cg<'_>, dst, src| {
        cg.emit(X86Insn::Mov {
            size: Size::S64,
            dst,
            src,
        })
    };
    // rax and rdx are restored only when their eBPF registers (r0, r3) are live.
    let keep_rax = d != Rax && cg.live_after(Rax);
    let keep_rdx = d != Rdx && cg.live_after(Rdx);
    if keep_rax {
        mov(cg, TMP2, Rax);
    }
    if d != Rax {
        mov(cg, Rax, d);
    }
    // rdx is saved in r10 when rax is not (r9 may hold the may_goto budget), else in r9.
    let rdx_save = if keep_rax { TMP3 } else { TMP2 };
    if keep_rdx {
        if rdx_save == TMP3 {
            cg.borrow_tmp3();
        }
        mov(cg, rdx_save, Rdx);
    }
    if signed {
        cg.emit(X86Insn::SignExtendAcc { size });
        cg.emit(X86Insn::Idiv { size, src: TMP });
    } else {
        cg.emit(X86Insn::Alu {
            op: x86::AluOp::Xor,
            size: Size::S32,
            dst: Rdx,
            src: Rdx,
        });
        cg.emit(X86Insn::Div { size, src: TMP });
    }
    let result = if modulo { Rdx } else { Rax };
    if d != result {
        mov(cg, d, result);
    }
    if keep_rax {
        mov(cg, Rax, TMP2);
    }
    if keep_rdx {
        mov(cg, Rdx, rdx_save);
        if rdx_save == TMP3 {
            cg.return_tmp3();
        }
    }
    // The divisor 0 and -1 cases go out of line (after the program), back to `done`.
    for (label, divisor) in special {
        cg.cold_divs.push(ColdDiv {
            label,
            size,
            op,
            d,
            divisor,
            done,
        });
    }
    cg.a.bind(done);
}

/// An out-of-line division by a register found to be 0 or -1 at run time.
pub(crate) struct ColdDiv {
    label: Label,
    size: Size,
    op: AluOp,
    d: X86Reg,
    divisor: i32,
    done: Label,
}

/// Emit the out-of-line division cases (after the program's code).
pub(crate) fn emit_cold_divs(cg: &mut Cg<'_>) {
    for c in std::mem::take(&mut cg.cold_divs) {
        cg.a.bind(c.label);
        div_fixed(cg, c.size, c.op, c.d, c.divisor);
        cg.a.jmp(c.done);
    }
}

pub(crate) fn neg(cg: &mut Cg<'_>, width: Width, d: X86Reg) {
    cg.emit(X86Insn::Neg {
        size: size_of(width),
        dst: d,
    });
}

pub(crate) fn movsx(cg: &mut Cg<'_>, width: Width, d: X86Reg, s: X86Reg, from: SxFrom) {
    let from = match from {
        SxFrom::B8 => Size::S8,
        SxFrom::B16 => Size::S16,
        SxFrom::B32 => Size::S32,
    };
    let size = if from == Size::S32 {
        Size::S64
    } else {
        size_of(width)
    };
    cg.emit(X86Insn::Movsx {
        from,
        size,
        dst: d,
        src: s,
    });
}

pub(crate) fn endian(cg: &mut Cg<'_>, order: ByteOrder, bits: EndianBits, d: X86Reg) {
    match (order, bits) {
        (ByteOrder::ToLe, EndianBits::B16) => cg.emit(X86Insn::Movzx {
            from: Size::S16,
            dst: d,
            src: d,
        }),
        (ByteOrder::ToLe, EndianBits::B32) => zext(cg, d),
        (ByteOrder::ToLe, EndianBits::B64) => {}
        (_, EndianBits::B16) => {
            cg.emit(X86Insn::Shift {
                op: ShiftOp::Rol,
                size: Size::S16,
                dst: d,
                by: ShiftBy::Imm(8),
            });
            cg.emit(X86Insn::Movzx {
                from: Size::S16,
                dst: d,
                src: d,
            });
        }
        (_, EndianBits::B32) => cg.emit(X86Insn::Bswap {
            size: Size::S32,
            reg: d,
        }),
        (_, EndianBits::B64) => cg.emit(X86Insn::Bswap {
            size: Size::S64,
            reg: d,
        }),
    }
}
