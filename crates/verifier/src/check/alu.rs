//! ALU instructions: scalar transfer functions, pointer arithmetic rules of the privileged
//! kernel (`adjust_ptr_min_max_vals`), and `lddw`.
//!
//! Takes the state and one ALU instruction; gives the updated destination register or the
//! kernel's rejection. Scalar copies (`rX = rY`) share an id so that later branch
//! refinements reach both; any other write gives the destination a fresh identity.

use super::Verifier;
use crate::error::VerifierError;
use crate::reg::{RegState, RegType};
use crate::scalar::Scalar;
use crate::state::State;
use userbpf_isa::{AluOp, LdImm64Kind, Reg, Source, Width};

/// Largest constant or variable offset added to a pointer (the kernel's `BPF_MAX_VAR_OFF`).
pub(crate) const MAX_VAR_OFF: i64 = 1 << 29;
/// Largest packet offset (`MAX_PACKET_OFF`).
pub(crate) const MAX_PACKET_OFF: i64 = 0xffff;

fn op_str(op: AluOp) -> &'static str {
    match op {
        AluOp::Add => "+=",
        AluOp::Sub => "-=",
        AluOp::Mul => "*=",
        AluOp::Div | AluOp::SDiv => "/=",
        AluOp::Or => "|=",
        AluOp::And => "&=",
        AluOp::Lsh => "<<=",
        AluOp::Rsh => ">>=",
        AluOp::Mod | AluOp::SMod => "%=",
        AluOp::Xor => "^=",
        AluOp::Mov => "=",
        AluOp::Arsh => "s>>=",
    }
}

impl Verifier<'_> {
    pub(super) fn alu(
        &mut self,
        st: &mut State,
        width: Width,
        op: AluOp,
        dst: Reg,
        src: Source,
    ) -> Result<(), VerifierError> {
        let srcv = match src {
            Source::Imm(i) => RegState::scalar(Scalar::konst(i as i64 as u64)),
            Source::Reg(r) => self.read(st, r)?,
        };
        if op == AluOp::Mov {
            self.check_dst(st, dst)?;
            let v = match (width, srcv.ty) {
                (Width::W64, RegType::Scalar) => {
                    if let Source::Reg(r) = src {
                        // Link the copies (a source linked as `base + c` starts a new link:
                        // the kernel's `assign_scalar_id_before_mov`).
                        let cur = *st.reg(r);
                        let id = if cur.delta != 0 || (cur.id == 0 && srcv.var.as_const().is_none())
                        {
                            let id = self.new_id();
                            let s = st.reg_mut(r);
                            s.id = id;
                            s.delta = 0;
                            id
                        } else {
                            cur.id
                        };
                        RegState {
                            id,
                            delta: 0,
                            ..srcv
                        }
                    } else {
                        srcv
                    }
                }
                (Width::W64, _) => srcv,
                (Width::W32, RegType::Scalar) => {
                    let v = RegState::scalar(Scalar::unknown().alu32(AluOp::Mov, &srcv.var));
                    match src {
                        // A value that fits in 32 bits is copied unchanged: link the copies
                        // as a 64-bit move does.
                        Source::Reg(r)
                            if srcv.var.full.umax <= u32::MAX as u64
                                && srcv.var.as_const().is_none()
                                && srcv.delta == 0 =>
                        {
                            let id = match st.reg(r).id {
                                0 => {
                                    let id = self.new_id();
                                    st.reg_mut(r).id = id;
                                    id
                                }
                                id => id,
                            };
                            RegState { id, ..v }
                        }
                        _ => v,
                    }
                }
                // A 32-bit copy of a pointer is a (meaningless) number in privileged mode.
                (Width::W32, _) => RegState::scalar(Scalar::unknown().zext(32)),
            };
            *st.reg_mut(dst) = v;
            return Ok(());
        }
        let dstv = self.read(st, dst)?;
        self.check_dst(st, dst)?;
        if let Source::Imm(i) = src {
            if i == 0 && matches!(op, AluOp::Div | AluOp::Mod | AluOp::SDiv | AluOp::SMod) {
                return Err(self.error(st, "div by zero".into(), &[]));
            }
            let bits = if width == Width::W64 { 64 } else { 32 };
            if matches!(op, AluOp::Lsh | AluOp::Rsh | AluOp::Arsh) && (i < 0 || i >= bits) {
                return Err(self.error(st, format!("invalid shift {i}"), &[]));
            }
        }
        if matches!(op, AluOp::Div | AluOp::Mod | AluOp::SDiv | AluOp::SMod) {
            let nz = srcv.is_scalar()
                && match width {
                    Width::W64 => !srcv.var.contains(0),
                    Width::W32 => !srcv.var.zext(32).contains(0),
                };
            if nz {
                // The JIT trusts this on every path, pruned ones included.
                if let Source::Reg(r) = src {
                    self.mark_precise(st, r);
                }
            }
            let f = &mut self.facts[self.pc];
            f.divisor_nonzero = if f.visits == 0 {
                nz
            } else {
                f.divisor_nonzero && nz
            };
        }
        let result = if dstv.is_scalar() && srcv.is_scalar() {
            RegState::scalar(match width {
                Width::W64 => dstv.var.alu(op, &srcv.var),
                Width::W32 => dstv.var.alu32(op, &srcv.var),
            })
        } else {
            // The scalar's bounds become the pointer's offset.
            if dstv.is_scalar() {
                self.mark_precise(st, dst);
            }
            if let Source::Reg(r) = src {
                if srcv.is_scalar() {
                    self.mark_precise(st, r);
                }
            }
            self.ptr_alu(st, width, op, dst, dstv, srcv)?
        };
        let f = &mut self.facts[self.pc];
        // Only what holds whatever the operands (scalars need not be precise when pruning).
        let upper = result.is_scalar()
            && result.var.upper_zero()
            && (width == Width::W32
                || matches!((op, src), (AluOp::And, Source::Imm(i)) if i >= 0)
                || matches!((op, src), (AluOp::Rsh, Source::Imm(i)) if i >= 32));
        f.upper32_zero = if f.visits == 0 {
            upper
        } else {
            f.upper32_zero && upper
        };
        f.visits += 1;
        let mut result = result;
        // `rX += c` on a linked scalar keeps the link, as `base + c` (the kernel's
        // BPF_ADD_CONST); any other operation breaks it (the result has no id).
        if width == Width::W64
            && op == AluOp::Add
            && result.is_scalar()
            && dstv.is_scalar()
            && dstv.id != 0
            && dstv.delta == 0
        {
            if let Some(c) = srcv.konst().filter(|&c| c <= i32::MAX as u64) {
                result.id = dstv.id;
                result.delta = c as i64;
            }
        }
        *st.reg_mut(dst) = result;
        Ok(())
    }

    fn ptr_alu(
        &mut self,
        st: &State,
        width: Width,
        op: AluOp,
        dst: Reg,
        dstv: RegState,
        srcv: RegState,
    ) -> Result<RegState, VerifierError> {
        let d = dst.num();
        if width == Width::W32 {
            if op == AluOp::Sub {
                return Ok(RegState::scalar(Scalar::unknown().zext(32)));
            }
            return Err(self.error(
                st,
                format!("R{d} 32-bit pointer arithmetic prohibited"),
                &[dst],
            ));
        }
        if dstv.ty.is_pointer() && srcv.ty.is_pointer() {
            if op == AluOp::Sub {
                return Ok(RegState::unknown());
            }
            return Err(self.error(
                st,
                format!("R{d} pointer {} pointer prohibited", op_str(op)),
                &[dst],
            ));
        }
        let (ptr, scalar) = if dstv.ty.is_pointer() {
            (dstv, srcv)
        } else {
            if op == AluOp::Sub {
                return Err(self.error(
                    st,
                    format!("R{d} tried to subtract pointer from scalar"),
                    &[dst],
                ));
            }
            (srcv, dstv)
        };
        match op {
            AluOp::Add | AluOp::Sub => {}
            AluOp::And | AluOp::Or | AluOp::Xor => {
                return Err(self.error(
                    st,
                    format!("R{d} bitwise operator {} on pointer prohibited", op_str(op)),
                    &[dst],
                ))
            }
            _ => {
                return Err(self.error(
                    st,
                    format!(
                        "R{d} pointer arithmetic with {} operator prohibited",
                        op_str(op)
                    ),
                    &[dst],
                ))
            }
        }
        let tname = ptr.ty.name();
        if ptr.ty.maybe_null() {
            return Err(self.error(
                st,
                format!("R{d} pointer arithmetic on {tname} prohibited, null-check it first"),
                &[dst],
            ));
        }
        // Adding a known 0 to a map pointer leaves it unchanged (`adjust_ptr_min_max_vals`).
        if ptr.ty == RegType::MapPtr && op == AluOp::Add && scalar.konst() == Some(0) {
            return Ok(ptr);
        }
        if matches!(ptr.ty, RegType::MapPtr | RegType::PacketEnd | RegType::Func)
            || ptr.ty.is_sock()
        {
            return Err(self.error(
                st,
                format!("R{d} pointer arithmetic on {tname} prohibited"),
                &[dst],
            ));
        }
        // The offset's sanity first (`check_reg_sane_offset`), then the operator's rules.
        let s = scalar.var;
        if let Some(c) = s.as_const() {
            let c = c as i64;
            if c >= MAX_VAR_OFF || c <= -MAX_VAR_OFF {
                return Err(self.error(
                    st,
                    format!("math between {tname} pointer and {c} is not allowed"),
                    &[dst],
                ));
            }
        } else if s.full.smin == i64::MIN {
            return Err(self.error(
                st,
                format!("math between {tname} pointer and register with unbounded min value is not allowed"),
                &[dst],
            ));
        } else if s.full.smin <= -MAX_VAR_OFF || s.full.smin >= MAX_VAR_OFF {
            return Err(self.error(
                st,
                format!(
                    "value {} makes {tname} pointer be out of bounds",
                    s.full.smin
                ),
                &[dst],
            ));
        }
        if ptr.ty == RegType::Stack && op == AluOp::Sub {
            return Err(self.error(
                st,
                format!("R{d} subtraction from stack pointer prohibited"),
                &[dst],
            ));
        }
        if let Some(c) = s.as_const() {
            let c = c as i64;
            let off = if op == AluOp::Add {
                ptr.off + c
            } else {
                ptr.off - c
            };
            if off >= MAX_VAR_OFF || off <= -MAX_VAR_OFF {
                return Err(self.error(
                    st,
                    format!("{tname} pointer offset {off} is not allowed"),
                    &[dst],
                ));
            }
            return Ok(RegState { off, ..ptr });
        }
        let var = ptr.var.alu(op, &s);
        if var.full.smin >= MAX_VAR_OFF || var.full.smin <= -MAX_VAR_OFF {
            return Err(self.error(
                st,
                format!(
                    "value {} makes {tname} pointer be out of bounds",
                    var.full.smin
                ),
                &[dst],
            ));
        }
        let mut r = RegState { var, ..ptr };
        if matches!(r.ty, RegType::Packet | RegType::PacketMeta) {
            r.id = self.new_id();
            r.range = 0;
        }
        Ok(r)
    }

    pub(super) fn ld_imm64(
        &mut self,
        st: &mut State,
        dst: Reg,
        kind: LdImm64Kind,
        imm: i32,
        next_imm: i32,
    ) -> Result<(), VerifierError> {
        self.check_dst(st, dst)?;
        let map_by = |v: &Self, by_idx: bool| -> Option<u32> {
            let maps = v.input.maps;
            if by_idx {
                (imm >= 0 && (imm as usize) < maps.len()).then_some(imm as u32)
            } else {
                maps.iter()
                    .position(|m| m.fd == Some(imm))
                    .map(|i| i as u32)
            }
        };
        let v = match kind {
            LdImm64Kind::Imm => {
                RegState::scalar(Scalar::konst(userbpf_isa::Insn::imm64(imm, next_imm)))
            }
            LdImm64Kind::MapFd | LdImm64Kind::MapIdx => {
                let Some(m) = map_by(self, kind == LdImm64Kind::MapIdx) else {
                    return Err(self.error(
                        st,
                        format!("fd {imm} is not pointing to valid bpf_map"),
                        &[],
                    ));
                };
                RegState {
                    map: m,
                    ..RegState::pointer(RegType::MapPtr)
                }
            }
            LdImm64Kind::MapValue | LdImm64Kind::MapIdxValue => {
                let Some(m) = map_by(self, kind == LdImm64Kind::MapIdxValue) else {
                    return Err(self.error(
                        st,
                        format!("fd {imm} is not pointing to valid bpf_map"),
                        &[],
                    ));
                };
                let info = &self.input.maps[m as usize];
                if next_imm < 0 || next_imm as u32 >= info.value_size.max(1) {
                    return Err(self.error(
                        st,
                        format!(
                            "invalid access to map value pointer, value_size={} off={}",
                            info.value_size, next_imm
                        ),
                        &[],
                    ));
                }
                RegState {
                    map: m,
                    off: next_imm as i64,
                    ..RegState::pointer(RegType::MapValue)
                }
            }
            LdImm64Kind::Func => {
                let t = self.cfg.target(self.input.program, self.pc).unwrap_or(0);
                RegState {
                    mem_size: t as u64,
                    ..RegState::pointer(RegType::Func)
                }
            }
            LdImm64Kind::BtfId => {
                return Err(self.error(
                    st,
                    "kernel variables (BPF_PSEUDO_BTF_ID) are not supported".into(),
                    &[],
                ));
            }
        };
        *st.reg_mut(dst) = v;
        Ok(())
    }
}
