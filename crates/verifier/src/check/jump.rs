//! Conditional jumps: which sides are possible and what each side learns.
//!
//! Takes the state and a conditional jump; queues the taken side (when possible) and
//! continues on the fall-through side (when possible). Scalars are refined with
//! [`crate::scalar::ScalarW::refine`] and the refinement reaches every copy with the same
//! id; comparing a maybe-null pointer with 0 turns every copy into a pointer or into the
//! number 0 (releasing the reference it held); comparing packet pointers with the packet end
//! sets the readable range of every copy.

use super::{Flow, Verifier};
use crate::error::VerifierError;
use crate::reg::{RegState, RegType};
use crate::scalar::Scalar;
use crate::state::State;
use userbpf_isa::{JmpCond, Reg, Source, Width};

impl Verifier<'_> {
    pub(super) fn cond_jump(
        &mut self,
        st: &mut State,
        width: Width,
        cond: JmpCond,
        dst: Reg,
        src: Source,
    ) -> Result<Flow, VerifierError> {
        let a = self.read(st, dst)?;
        let (b, src_reg) = match src {
            Source::Imm(i) => (RegState::scalar(Scalar::konst(i as i64 as u64)), None),
            Source::Reg(r) => (self.read(st, r)?, Some(r)),
        };
        let target = self
            .cfg
            .target(self.input.program, self.pc)
            .unwrap_or(self.pc + 1);
        let fall = self.pc + 1;
        let half = width == Width::W32;
        self.link_operands(st, &a, &b);
        let (mut taken, mut not_taken) = (Some(st.clone()), Some(st.clone()));
        if a.is_scalar() && b.is_scalar() {
            for (side, t) in [(&mut taken, true), (&mut not_taken, false)] {
                match a.var.refine(&b.var, cond, half, t) {
                    None => *side = None,
                    Some((ra, rb)) => {
                        let s = side.as_mut().expect("present");
                        set_scalar(s, dst, a.id, ra);
                        if let Some(r) = src_reg {
                            set_scalar(s, r, b.id, rb);
                        }
                    }
                }
            }
        } else if let Some(is_eq) = null_check(&a, &b, cond, half, src_reg.is_none()) {
            // `ptr == 0` / `ptr != 0` on a maybe-null pointer, or a non-null pointer.
            let (ptr, ptr_reg) = if a.ty.is_pointer() {
                (a, dst)
            } else {
                (b, src_reg.unwrap_or(dst))
            };
            let _ = ptr_reg;
            // The other operand's being zero made this a null check.
            if let Some(r) = src_reg {
                self.mark_precise(st, r);
            }
            self.mark_precise(st, dst);
            let (null_side, nonnull_side) = if is_eq {
                (&mut taken, &mut not_taken)
            } else {
                (&mut not_taken, &mut taken)
            };
            if ptr.ty.maybe_null() {
                if let Some(s) = null_side.as_mut() {
                    mark_null(s, ptr.id, ptr.ref_id, true);
                }
                if let Some(s) = nonnull_side.as_mut() {
                    mark_null(s, ptr.id, ptr.ref_id, false);
                    // A lookup in a map of maps gives the inner map.
                    let maps = self.input.maps;
                    s.for_each_reg(|r| {
                        if r.ty == RegType::MapValue && r.id == ptr.id && ptr.id != 0 {
                            if let Some(inner) = maps.get(r.map as usize).and_then(|m| m.inner_map)
                            {
                                *r = RegState {
                                    map: inner,
                                    ..RegState::pointer(RegType::MapPtr)
                                };
                            }
                        }
                    });
                }
            } else if matches!(
                ptr.ty,
                RegType::MapValue
                    | RegType::Mem
                    | RegType::RingbufMem
                    | RegType::MapKey
                    | RegType::Sock
                    | RegType::SockCommon
                    | RegType::TcpSock
            ) {
                // Only these are known non-null (`reg_not_null`); a context or stack
                // pointer compared with 0 leaves both sides possible.
                *null_side = None;
            }
        } else if !half {
            self.packet_compare(&mut taken, &mut not_taken, a, b, cond);
            // `ptr == other_ptr` where exactly one may be NULL: on the equal side it is
            // not (the kernel's jeq/jne inference; that register only).
            if let Some(r) = src_reg {
                if a.ty.is_pointer()
                    && b.ty.is_pointer()
                    && a.ty.maybe_null() != b.ty.maybe_null()
                    && matches!(cond, JmpCond::Eq | JmpCond::Ne)
                {
                    let nullable = if a.ty.maybe_null() { dst } else { r };
                    let eq_side = if cond == JmpCond::Eq {
                        &mut taken
                    } else {
                        &mut not_taken
                    };
                    if let Some(s) = eq_side.as_mut() {
                        let v = s.reg_mut(nullable);
                        v.ty = v.ty.non_null();
                    }
                }
            }
        }
        if taken.is_none() || not_taken.is_none() {
            // One direction only: the operands decided it.
            self.mark_precise(st, dst);
            if let Some(r) = src_reg {
                self.mark_precise(st, r);
            }
        }
        match (taken, not_taken) {
            (Some(t), Some(n)) => {
                self.push_branch(t, target);
                *st = n;
                Ok(Flow::Next(fall))
            }
            (Some(t), None) => {
                *st = t;
                Ok(Flow::Next(target))
            }
            (None, Some(n)) => {
                *st = n;
                Ok(Flow::Next(fall))
            }
            (None, None) => Ok(Flow::End),
        }
    }

    fn packet_compare(
        &mut self,
        taken: &mut Option<State>,
        not_taken: &mut Option<State>,
        a: RegState,
        b: RegState,
        cond: JmpCond,
    ) {
        use JmpCond::*;
        // Orient as `p OP end`, where p is a packet (or meta) pointer and end the limit.
        let (p, cond) = match (a.ty, b.ty) {
            (RegType::Packet, RegType::PacketEnd) | (RegType::PacketMeta, RegType::Packet) => {
                (a, cond)
            }
            (RegType::PacketEnd, RegType::Packet) | (RegType::Packet, RegType::PacketMeta) => (
                b,
                match cond {
                    Gt => Lt,
                    Lt => Gt,
                    Ge => Le,
                    Le => Ge,
                    c => c,
                },
            ),
            _ => return,
        };
        // A meta pointer is bounded only by the packet's start itself
        // (`reg_is_init_pkt_pointer`), not by a packet pointer moved from it.
        if p.ty == RegType::PacketMeta {
            let end = if a.ty == RegType::Packet { a } else { b };
            if end.off != 0 || end.var.as_const() != Some(0) {
                return;
            }
        }
        // The side on which `p <= end` (or `p < end`, `right_open`: one more byte) holds.
        let (side, right_open) = match cond {
            Gt => (not_taken, false),
            Ge => (not_taken, true),
            Lt => (taken, true),
            Le => (taken, false),
            _ => return,
        };
        let max = super::alu::MAX_PACKET_OFF;
        if p.off < 0
            || (p.off == 0 && right_open)
            || p.off > max
            || p.var.full.umax > max as u64
            || p.var.full.umax as i64 + p.off > max
        {
            return;
        }
        if let Some(s) = side.as_mut() {
            let (ty, id, range) = (p.ty, p.id, p.off + right_open as i64);
            s.for_each_reg(|r| {
                if r.ty == ty && r.id == id && r.var == p.var {
                    r.range = r.range.max(range);
                }
            });
        }
    }
}

/// Write a refined scalar to `r` and every copy sharing its id.
impl Verifier<'_> {
    /// Record the scalars linked (same id) with the operands, for backtracking.
    fn link_operands(&mut self, st: &State, a: &RegState, b: &RegState) {
        let ids: Vec<u32> = [a, b]
            .iter()
            .filter(|r| r.is_scalar() && r.id != 0)
            .map(|r| r.id)
            .collect();
        if ids.is_empty() {
            return;
        }
        let mut items = Vec::new();
        for (f, fr) in st.frames.iter().enumerate() {
            for (i, r) in fr.regs.iter().enumerate() {
                if r.ty == RegType::Scalar && ids.contains(&r.id) {
                    items.push((f as u8, i as u8));
                }
            }
            for (i, s) in fr.stack.iter().enumerate().take(64) {
                if let Some(r) = s.spill {
                    if r.ty == RegType::Scalar && ids.contains(&r.id) {
                        items.push((f as u8, 11 + i as u8));
                    }
                }
            }
        }
        if items.len() > 1 {
            self.hist_linked = Some(items.into_boxed_slice());
        }
    }
}

/// Refine `r` to `v`, and every scalar linked to it (`sync_linked_regs`): a copy holding
/// the same value gets `v`, one holding `value + c` gets `v + c - r's own constant`.
fn set_scalar(st: &mut State, r: Reg, id: u32, v: Scalar) {
    let d = st.reg(r).delta;
    st.reg_mut(r).var = v;
    if id != 0 {
        st.for_each_reg(|x| {
            if x.ty == RegType::Scalar && x.id == id {
                x.var = if x.delta == d {
                    v
                } else {
                    v.alu(
                        userbpf_isa::AluOp::Add,
                        &Scalar::konst((x.delta - d) as u64),
                    )
                };
            }
        });
    }
}

/// `Some(true)` for `ptr == 0`, `Some(false)` for `ptr != 0` (either operand order), on a
/// pointer with no offset. A maybe-null pointer is resolved only by a comparison of the
/// destination register with the immediate 0 (`imm`), as the kernel does
/// (`check_cond_jmp_op`); against a register holding 0 both sides stay possible.
fn null_check(a: &RegState, b: &RegState, cond: JmpCond, half: bool, imm: bool) -> Option<bool> {
    if half || !matches!(cond, JmpCond::Eq | JmpCond::Ne) {
        return None;
    }
    let (p, z) = if a.ty.is_pointer() { (a, b) } else { (b, a) };
    if !p.ty.is_pointer() || z.konst() != Some(0) {
        return None;
    }
    if p.ty.maybe_null() && (p.off != 0 || p.var.as_const() != Some(0) || !imm) {
        return None;
    }
    Some(cond == JmpCond::Eq)
}

/// Resolve a null check on every copy with `id`.
fn mark_null(st: &mut State, id: u32, ref_id: u32, is_null: bool) {
    st.for_each_reg(|r| {
        if r.ty.maybe_null() && r.id == id {
            *r = if is_null {
                RegState::scalar(Scalar::konst(0))
            } else {
                RegState {
                    ty: r.ty.non_null(),
                    ..*r
                }
            };
        }
    });
    // Only the acquired pointer itself being NULL drops its reference: a pointer cast from
    // it (`bpf_sk_fullsock`, `bpf_tcp_sock`) carries the reference but has an id of its own.
    if is_null && ref_id != 0 && ref_id == id {
        st.refs.retain(|x| x.id != ref_id);
    }
}
