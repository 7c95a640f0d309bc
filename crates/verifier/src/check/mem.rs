//! Memory accesses: loads, stores and atomics through every pointer type, and the legacy
//! packet loads.
//!
//! Takes the state, the base register and the access (offset, size, read/write); gives the
//! loaded register state or the kernel's rejection. Stack bytes are tracked per byte
//! (initialised or not) and aligned 8-byte stores of registers spill their whole state;
//! context accesses follow [`crate::ctx`] and are recorded for rewriting; packet accesses
//! must lie within the range proven by comparisons with the packet end; map values and
//! memory within their sizes, for every value of the variable offset.

use super::alu::MAX_VAR_OFF;
use super::Verifier;
use crate::btf_ctx;
use crate::ctx::{self, FieldKind};
use crate::error::VerifierError;
use crate::input::{ProgType, BPF_F_RDONLY_PROG, BPF_F_WRONLY_PROG};
use crate::reg::{RegState, RegType};
use crate::scalar::Scalar;
use crate::state::{SlotByte, State, MAX_STACK};
use crate::CtxRewrite;
use userbpf_isa::{AtomicOp, AtomicSize, MemSize, PacketMode, Reg, Source};

/// Kind of access.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Access {
    Read,
    Write,
}

impl Verifier<'_> {
    pub(super) fn load(
        &mut self,
        st: &mut State,
        size: MemSize,
        dst: Reg,
        src: Reg,
        off: i16,
        signed: bool,
    ) -> Result<(), VerifierError> {
        let base = self.read(st, src)?;
        self.check_dst(st, dst)?;
        let n = size.bytes() as u32;
        if signed && base.ty == RegType::Ctx {
            // Sign-extending loads of context fields are not converted by the kernel.
            return Err(self.error(
                st,
                format!(
                    "invalid bpf_context access off={} size={n}",
                    base.off + off as i64
                ),
                &[src],
            ));
        }
        let loaded = self.access(st, src, base, off as i64, n, Access::Read, None)?;
        let mut v = loaded.unwrap_or_else(|| RegState::scalar(Scalar::unknown().zext(n * 8)));
        if v.is_scalar() {
            if signed {
                v = RegState::scalar(v.var.zext(n * 8).sext(n * 8));
            } else if n < 8 {
                let z = v.var.zext(n * 8);
                // A fill that loses no bits keeps its link to the spilled register.
                let id = if z == v.var { v.id } else { 0 };
                v = RegState {
                    id,
                    ..RegState::scalar(z)
                };
            }
        }
        *st.reg_mut(dst) = v;
        Ok(())
    }

    pub(super) fn store(
        &mut self,
        st: &mut State,
        size: MemSize,
        dst: Reg,
        off: i16,
        src: Source,
    ) -> Result<(), VerifierError> {
        let value = match src {
            Source::Imm(i) => RegState::scalar(Scalar::konst(i as i64 as u64)),
            Source::Reg(r) => self.read(st, r)?,
        };
        let base = self.read(st, dst)?;
        if let Source::Reg(r) = src {
            self.store_src = Some(r);
        }
        if base.ty == RegType::Ctx && matches!(src, Source::Imm(_)) {
            // A field the program may not write gets the kernel's message; userbpf's
            // context rewriting takes stores of registers only, so a writable field is
            // refused with ours.
            let at = base.off + off as i64;
            let n = size.bytes() as u32;
            if base.off == 0
                && base.var.as_const() == Some(0)
                && ctx::check_access_attach(
                    self.input.prog_type,
                    self.input.options.expected_attach_type,
                    at,
                    n,
                    true,
                )
                .is_none()
            {
                return Err(self.error(
                    st,
                    format!("invalid bpf_context access off={at} size={n}"),
                    &[dst],
                ));
            }
            return Err(self.error(
                st,
                format!("BPF_ST stores into R{} ctx is not allowed", dst.num()),
                &[dst],
            ));
        }
        // A pointer stored into the context, a packet or memory is a number there: allowed
        // in privileged mode (`allow_ptr_leaks`), as the kernel does.
        let res = self.access(
            st,
            dst,
            base,
            off as i64,
            size.bytes() as u32,
            Access::Write,
            Some(value),
        );
        self.store_src = None;
        res.map(|_| ())
    }

    pub(super) fn atomic(
        &mut self,
        st: &mut State,
        size: AtomicSize,
        op: AtomicOp,
        dst: Reg,
        src: Reg,
        off: i16,
    ) -> Result<(), VerifierError> {
        self.read(st, src)?;
        if op == AtomicOp::CmpXchg {
            self.read(st, Reg::R0)?;
        }
        let base = self.read(st, dst)?;
        if !matches!(
            base.ty,
            RegType::Stack | RegType::MapValue | RegType::Mem | RegType::RingbufMem
        ) {
            return Err(self.error(
                st,
                format!(
                    "BPF_ATOMIC stores into R{} {} is not allowed",
                    dst.num(),
                    base.ty.name()
                ),
                &[dst],
            ));
        }
        let n = size.mem_size().bytes() as u32;
        // Atomic accesses must be aligned whatever the architecture (the kernel's
        // `strict_alignment_once`).
        let t = base.var.var;
        let fixed = (base.off + off as i64) as u64;
        let low_mask = n as u64 - 1;
        if t.mask & low_mask != 0 || t.value.wrapping_add(fixed) & low_mask != 0 {
            let what = match base.ty {
                RegType::Stack => "stack ",
                RegType::MapValue => "value ",
                _ => "",
            };
            return Err(self.error(
                st,
                format!(
                    "misaligned {what}access off {}+{}+{off} size {n}",
                    misaligned_var_off(t),
                    base.off
                ),
                &[dst],
            ));
        }
        self.access(st, dst, base, off as i64, n, Access::Read, None)?;
        self.access(
            st,
            dst,
            base,
            off as i64,
            n,
            Access::Write,
            Some(RegState::unknown()),
        )?;
        let old = RegState::scalar(Scalar::unknown().zext(n * 8));
        match op {
            AtomicOp::CmpXchg => *st.reg_mut(Reg::R0) = old,
            o if o.fetches() => {
                self.check_dst(st, src)?;
                *st.reg_mut(src) = old;
            }
            _ => {}
        }
        Ok(())
    }

    pub(super) fn load_packet(
        &mut self,
        st: &mut State,
        size: MemSize,
        mode: PacketMode,
        _imm: i32,
    ) -> Result<(), VerifierError> {
        if !self.input.prog_type.is_skb() {
            return Err(self.error(
                st,
                "BPF_LD_[ABS|IND] instructions not allowed for this program type".into(),
                &[],
            ));
        }
        if let PacketMode::Ind(r) = mode {
            let v = self.read(st, r)?;
            if !v.is_scalar() {
                return Err(self.error(
                    st,
                    format!("R{} invalid mem access '{}'", r.num(), v.ty.name()),
                    &[r],
                ));
            }
        }
        let r6 = self.read(st, Reg::R6)?;
        if r6.ty != RegType::Ctx {
            return Err(self.error(
                st,
                "at the time of BPF_LD_ABS|IND R6 != pointer to skb".into(),
                &[Reg::R6],
            ));
        }
        if !st.refs.is_empty() {
            return Err(self.error(
                st,
                "BPF_LD_[ABS|IND] would lead to reference leak".into(),
                &[],
            ));
        }
        for r in 1..=5 {
            st.cur_mut().regs[r] = RegState::not_init();
        }
        // A failed load returns 0 from the current function (`bpf_gen_ld_abs`'s hidden exit):
        // in a subprogram, that return to the caller is a path of its own.
        if st.frames.len() > 1 {
            let mut failed = st.clone();
            *failed.reg_mut(Reg::R0) = RegState::scalar(Scalar::konst(0));
            if let super::Flow::Next(pc) = self.exit(&mut failed)? {
                self.push_branch(failed, pc);
            }
        }
        *st.reg_mut(Reg::R0) = RegState::scalar(Scalar::unknown().zext(size.bytes() as u32 * 8));
        Ok(())
    }

    /// Check an access of `size` bytes at `reg + off`; for reads, the value loaded when the
    /// location tracks one (`None`: an unknown number).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn access(
        &mut self,
        st: &mut State,
        r: Reg,
        reg: RegState,
        off: i64,
        size: u32,
        kind: Access,
        value: Option<RegState>,
    ) -> Result<Option<RegState>, VerifierError> {
        let rn = r.num();
        let is_ctx = reg.ty == RegType::Ctx;
        match self.mem_ctx[self.pc] {
            Some(prev) if prev != is_ctx => {
                return Err(self.error(
                    st,
                    "same insn cannot be used with different pointers".into(),
                    &[r],
                ));
            }
            _ => self.mem_ctx[self.pc] = Some(is_ctx),
        }
        let off = off + reg.off;
        match reg.ty {
            RegType::Stack => self.stack_access(st, r, reg, off, size, kind, value),
            RegType::Ctx => {
                // `__check_ptr_off_reg`: a negative, then a fixed, then a variable offset.
                let modified = if reg.off < 0 {
                    Some(format!(
                        "negative offset ctx ptr R{rn} off={} disallowed",
                        reg.off
                    ))
                } else if reg.off != 0 {
                    Some(format!(
                        "dereference of modified ctx ptr R{rn} off={} disallowed",
                        reg.off
                    ))
                } else if reg.var.as_const() != Some(0) {
                    Some(format!(
                        "variable ctx access var_off={} disallowed",
                        reg.var.var
                    ))
                } else {
                    None
                };
                if let Some(text) = modified {
                    return Err(self.error(st, text, &[r]));
                }
                if let (Some(b), 26 | 29) = (self.btf, self.input.prog_type.kernel_id()) {
                    // BPF_PROG_TYPE_TRACING and LSM: the attach function's u64 arguments.
                    return match b.ctx.load(&b.btf, off, size, kind == Access::Write) {
                        Ok(load) => Ok(btf_reg(load)),
                        Err(text) => Err(self.error(st, text, &[r])),
                    };
                }
                let Some(acc) = ctx::check_access_attach(
                    self.input.prog_type,
                    self.input.options.expected_attach_type,
                    off,
                    size,
                    kind == Access::Write,
                ) else {
                    return Err(self.error(
                        st,
                        format!("invalid bpf_context access off={off} size={size}"),
                        &[r],
                    ));
                };
                self.ctx_rewrites.insert(
                    self.pc,
                    CtxRewrite {
                        insn: self.slot(),
                        offset: off as u32,
                        size: size as u8,
                        field: acc.field,
                        kind: acc.kind,
                        write: kind == Access::Write,
                    },
                );
                Ok(match acc.kind {
                    FieldKind::Scalar => None,
                    FieldKind::PacketData => Some(RegState::pointer(RegType::Packet)),
                    FieldKind::PacketEnd => Some(RegState::pointer(RegType::PacketEnd)),
                    FieldKind::PacketMeta => Some(RegState::pointer(RegType::PacketMeta)),
                    FieldKind::Sock => Some(RegState::pointer(RegType::Sock)),
                    FieldKind::SockCommonOrNull => Some(RegState {
                        id: self.new_id(),
                        ..RegState::pointer(RegType::SockCommonOrNull)
                    }),
                })
            }
            RegType::Packet | RegType::PacketMeta => {
                // `may_access_direct_pkt_data`: the types that may write their packet.
                let writable = matches!(self.input.prog_type, ProgType::Raw { .. })
                    || matches!(
                        self.input.prog_type.kernel_id(),
                        3 | 4 | 6 | 12 | 14 | 16 | 25
                    );
                if kind == Access::Write && !writable {
                    return Err(self.error(st, "cannot write into packet".to_string(), &[r]));
                }
                if reg.var.full.smin < 0 {
                    return Err(self.error(
                        st,
                        format!("R{rn} min value is negative, either use unsigned index or do a if (index >=0) check."),
                        &[r],
                    ));
                }
                if off < 0 || off + size as i64 > reg.range {
                    return Err(self.error(
                        st,
                        format!(
                            "invalid access to packet, off={off} size={size}, R{rn}(id={},off={},r={})",
                            reg.id, off, reg.range
                        ),
                        &[r],
                    ));
                }
                Ok(None)
            }
            RegType::MapValue => {
                let info = &self.input.maps[reg.map as usize];
                if kind == Access::Write && info.flags & BPF_F_RDONLY_PROG != 0 {
                    return Err(self.error(st, "write into map forbidden".into(), &[r]));
                }
                if kind == Access::Read && info.flags & BPF_F_WRONLY_PROG != 0 {
                    return Err(self.error(st, "read from map forbidden".into(), &[r]));
                }
                self.region_access(
                    st,
                    r,
                    reg,
                    off,
                    size,
                    info.value_size as u64,
                    "map value",
                    "value_size",
                )?;
                if kind == Access::Read {
                    return Ok(frozen_read(info, reg, off, size)
                        .map(|v| RegState::scalar(Scalar::konst(v))));
                }
                Ok(None)
            }
            RegType::BtfPtr => {
                // `check_ptr_to_btf_access`: a constant offset into the struct, read only.
                let Some(b) = self.btf else {
                    return Err(self.error(st, format!("R{rn} invalid mem access 'ptr_'"), &[r]));
                };
                let name = b
                    .btf
                    .type_by_id(reg.map)
                    .map(|t| t.name.clone())
                    .unwrap_or_default();
                if reg.var.as_const() != Some(0) {
                    return Err(self.error(
                        st,
                        format!(
                            "R{rn} is ptr_{name} invalid variable offset: off={off}, var_off={}",
                            reg.var.var
                        ),
                        &[r],
                    ));
                }
                match btf_ctx::struct_load(
                    &b.btf,
                    rn,
                    reg.map,
                    &name,
                    off,
                    size,
                    kind == Access::Write,
                ) {
                    Ok(load) => Ok(btf_reg(load)),
                    Err(text) => Err(self.error(st, text, &[r])),
                }
            }
            RegType::Mem | RegType::RingbufMem => {
                self.region_access(st, r, reg, off, size, reg.mem_size, "memory", "mem_size")?;
                Ok(None)
            }
            RegType::Sock | RegType::SockCommon | RegType::TcpSock => {
                // `check_sock_access`: fields of the kernel's UAPI mirror, read only.
                if kind == Access::Write {
                    return Err(self.error(
                        st,
                        format!("R{rn} cannot write into {}", reg.ty.name()),
                        &[r],
                    ));
                }
                if reg.var.full.smin < 0 {
                    return Err(self.error(
                        st,
                        format!("R{rn} min value is negative, either use unsigned index or do a if (index >=0) check."),
                        &[r],
                    ));
                }
                let ok = u32::try_from(off).is_ok_and(|o| match reg.ty {
                    RegType::TcpSock => ctx::tcp_sock_field_ok(o, size),
                    t => ctx::sock_field_ok(o, size, t == RegType::SockCommon),
                });
                if !ok || reg.var.as_const() != Some(0) {
                    return Err(self.error(
                        st,
                        format!(
                            "R{rn} invalid {} access off={off} size={size}",
                            reg.ty.name()
                        ),
                        &[r],
                    ));
                }
                Ok(None)
            }
            RegType::MapKey => {
                if kind == Access::Write {
                    return Err(self.error(
                        st,
                        format!("write to change key R{rn} not allowed"),
                        &[r],
                    ));
                }
                let info = &self.input.maps[reg.map as usize];
                self.region_access(
                    st,
                    r,
                    reg,
                    off,
                    size,
                    info.key_size as u64,
                    "map key",
                    "key_size",
                )?;
                Ok(None)
            }
            _ => Err(self.error(
                st,
                format!("R{rn} invalid mem access '{}'", reg.ty.name()),
                &[r],
            )),
        }
    }

    /// A region `[0, limit)` accessed at `off + var`.
    #[allow(clippy::too_many_arguments)]
    fn region_access(
        &self,
        st: &State,
        r: Reg,
        reg: RegState,
        off: i64,
        size: u32,
        limit: u64,
        what: &str,
        field: &str,
    ) -> Result<(), VerifierError> {
        let rn = r.num();
        let v = reg.var.full;
        if v.smin < 0 {
            return Err(self.error(
                st,
                format!("R{rn} min value is negative, either use unsigned index or do a if (index >=0) check."),
                &[r],
            ));
        }
        if v.umax >= MAX_VAR_OFF as u64 {
            return Err(self.error(
                st,
                format!("R{rn} unbounded memory access, make sure to bounds check any such access"),
                &[r],
            ));
        }
        let lo = off + v.smin;
        let hi = off + v.umax as i64;
        for o in [lo, hi] {
            if o < 0 || (o + size as i64) as u64 > limit {
                return Err(self.error(
                    st,
                    format!("invalid access to {what}, {field}={limit} off={o} size={size}"),
                    &[r],
                ));
            }
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn stack_access(
        &mut self,
        st: &mut State,
        r: Reg,
        reg: RegState,
        off: i64,
        size: u32,
        kind: Access,
        value: Option<RegState>,
    ) -> Result<Option<RegState>, VerifierError> {
        let rn = r.num();
        let frame = reg.frame as usize;
        if frame >= st.frames.len() {
            // Unreachable while stack pointers never outlive their frame (see below); a
            // rejection rather than a panic if one ever did.
            return Err(self.error(
                st,
                format!("R{rn} points to the stack of a frame that returned"),
                &[r],
            ));
        }
        // `check_stack_write_fixed_off`: a stack pointer spilled into another frame than the
        // current one could outlive the frame it points to.
        if kind == Access::Write
            && frame + 1 != st.frames.len()
            && value.is_some_and(|v| v.ty == RegType::Stack)
        {
            return Err(self.error(
                st,
                "cannot spill pointers to stack into stack frame of the caller".into(),
                &[r],
            ));
        }
        let dir = if kind == Access::Read {
            "read from"
        } else {
            "write to"
        };
        let Some(c) = reg.var.as_const() else {
            return self.stack_var_access(st, r, reg, off, size, kind);
        };
        let off = off + c as i64;
        // Alignment first, then bounds (`check_ptr_alignment` before
        // `check_stack_access_within_bounds`).
        if off % size as i64 != 0 {
            return Err(self.error(
                st,
                format!(
                    "misaligned stack access off {}+{}+{} size {size}",
                    misaligned_var_off(reg.var.var),
                    reg.off,
                    off - reg.off - c as i64
                ),
                &[r],
            ));
        }
        if off < -MAX_STACK || off + size as i64 > 0 {
            return Err(self.error(
                st,
                format!("invalid {dir} stack R{rn} off={off} size={size}"),
                &[r],
            ));
        }
        let sub = st.frames[frame].subprog;
        self.hist_stack = Some((frame as u8, ((-off - 1) / 8) as u8));
        if kind == Access::Read {
            self.stack_read(frame, off, off + size as i64);
        } else if size == 8 {
            self.stack_written(frame, off);
        }
        self.stack_depth[sub] = self.stack_depth[sub].max((-off) as u32);
        let aligned = off % 8 == 0;
        let first = ((off % 8) + 8) % 8;
        match kind {
            Access::Write => {
                let value = value.unwrap_or_else(RegState::unknown);
                let from_reg = self.store_src;
                // Scalars written at the start of a slot are spilled whole (with their id
                // when the value fits the store), as are `*(uN *)(fp - off) = imm` stores;
                // pointers only as 8-byte spills (`check_stack_write_fixed_off`).
                if aligned && value.is_scalar() {
                    let mut spilled = value;
                    if let Some(src) = from_reg {
                        let fits = size == 8 || value.var.full.umax < 1u64 << (size * 8);
                        if fits && value.id == 0 && value.var.as_const().is_none() {
                            let id = self.new_id();
                            st.reg_mut(src).id = id;
                            spilled.id = id;
                        } else if !fits {
                            spilled.id = 0;
                            spilled.delta = 0;
                        }
                    }
                    st.frames[frame]
                        .slot_mut(off)
                        .save_spill(spilled, size as usize);
                    return Ok(None);
                }
                if value.ty.is_pointer() {
                    if size != 8 {
                        return Err(self.error(st, "invalid size of register spill".into(), &[r]));
                    }
                    st.frames[frame].slot_mut(off).save_spill(value, 8);
                    return Ok(None);
                }
                let b = if value.konst() == Some(0) {
                    SlotByte::Zero
                } else {
                    SlotByte::Misc
                };
                let s = st.frames[frame].slot_mut(off);
                s.scrub_spill();
                for i in 0..size as i64 {
                    s.bytes[(first + i) as usize] = b;
                }
                Ok(None)
            }
            Access::Read => {
                let slot = st.frames[frame].slot(off);
                if let Some(sp) = slot.spill {
                    let spill_size = slot.spill_size();
                    if size == 8 && spill_size == 8 {
                        return Ok(Some(sp));
                    }
                    if sp.ty.is_pointer() {
                        return Err(self.error(st, "invalid size of register fill".into(), &[r]));
                    }
                    if size as usize <= spill_size && aligned {
                        let mut v = sp;
                        if size < 8 && v.var.full.umax >= 1u64 << (size * 8) {
                            v.id = 0;
                            v.delta = 0;
                        }
                        return Ok(Some(v));
                    }
                    let (mut spill_cnt, mut zero_cnt) = (0, 0);
                    for i in 0..size as i64 {
                        match slot.bytes[(first + i) as usize] {
                            SlotByte::Spill => spill_cnt += 1,
                            SlotByte::Zero => zero_cnt += 1,
                            SlotByte::Misc => {}
                            SlotByte::Invalid if self.input.options.allow_uninit_stack => {}
                            SlotByte::Invalid => {
                                return Err(self.error(
                                    st,
                                    format!("invalid read from stack off {off}+{i} size {size}"),
                                    &[r],
                                ));
                            }
                        }
                    }
                    let zero = (spill_cnt == size && sp.konst() == Some(0)) || zero_cnt == size;
                    return Ok(zero.then(|| RegState::scalar(Scalar::konst(0))));
                }
                let mut all_zero = true;
                for i in 0..size as i64 {
                    match slot.bytes[(first + i) as usize] {
                        SlotByte::Invalid if !self.input.options.allow_uninit_stack => {
                            return Err(self.error(
                                st,
                                format!("invalid read from stack off {off}+{i} size {size}"),
                                &[r],
                            ));
                        }
                        SlotByte::Zero => {}
                        _ => all_zero = false,
                    }
                }
                Ok(all_zero.then(|| RegState::scalar(Scalar::konst(0))))
            }
        }
    }

    /// Variable-offset stack access (allowed in privileged mode): every byte the access may
    /// touch must be in bounds; reads need them all initialised; writes make them misc.
    fn stack_var_access(
        &mut self,
        st: &mut State,
        r: Reg,
        reg: RegState,
        off: i64,
        size: u32,
        kind: Access,
    ) -> Result<Option<RegState>, VerifierError> {
        let rn = r.num();
        let v = reg.var.full;
        let lo = off.saturating_add(v.smin);
        let hi = off.saturating_add(v.smax);
        if v.smin <= -MAX_VAR_OFF
            || v.smax >= MAX_VAR_OFF
            || lo < -MAX_STACK
            || hi + size as i64 > 0
        {
            return Err(self.error(
                st,
                format!(
                    "invalid variable-offset {} stack R{rn} var_off={} off={} size={size}",
                    if kind == Access::Read {
                        "read from"
                    } else {
                        "write to"
                    },
                    reg.var.var,
                    off
                ),
                &[r],
            ));
        }
        let frame = reg.frame as usize;
        let sub = st.frames[frame].subprog;
        self.stack_depth[sub] = self.stack_depth[sub].max((-lo) as u32);
        if kind == Access::Read {
            self.stack_read(frame, lo, hi + size as i64);
        }
        let fr = &mut st.frames[frame];
        for b in lo..hi + size as i64 {
            let slot = fr.slot_mut(b);
            let i = (((b % 8) + 8) % 8) as usize;
            match kind {
                Access::Read => {
                    if slot.bytes[i] == SlotByte::Invalid && !self.input.options.allow_uninit_stack
                    {
                        return Err(self.error(
                            st,
                            format!(
                                "invalid variable-offset read from stack R{rn} var_off={} off={} size={size}",
                                reg.var.var, off
                            ),
                            &[r],
                        ));
                    }
                }
                Access::Write => {
                    slot.scrub_spill();
                    if slot.bytes[i] != SlotByte::Invalid {
                        slot.bytes[i] = SlotByte::Misc;
                    }
                }
            }
        }
        Ok(None)
    }

    /// Helper memory argument: `size` bytes (bounds `smin..=umax` of the size register)
    /// at `reg`, readable (and initialised) or writable.
    pub(crate) fn check_helper_mem(
        &mut self,
        st: &mut State,
        r: Reg,
        reg: RegState,
        size_lo: u64,
        size_hi: u64,
        write: bool,
    ) -> Result<(), VerifierError> {
        if size_hi == 0 {
            // Nothing is accessed, but a stack pointer must still point into the stack
            // (`check_stack_access_within_bounds` with a size of 0).
            if reg.ty == RegType::Stack {
                let v = reg.var.full;
                let (lo, hi) = (
                    reg.off.saturating_add(v.smin),
                    reg.off.saturating_add(v.smax),
                );
                if lo < -MAX_STACK || hi > 0 {
                    let msg = if reg.var.as_const().is_some() {
                        format!(
                            "invalid indirect access to stack R{} off={lo} size=0",
                            r.num()
                        )
                    } else {
                        format!(
                            "invalid variable-offset indirect access to stack R{} var_off={} off={} size=0",
                            r.num(),
                            reg.var.var,
                            reg.off
                        )
                    };
                    return Err(self.error(st, msg, &[r]));
                }
            }
            return Ok(());
        }
        match reg.ty {
            RegType::Stack => {
                let Some(c) = reg.var.as_const() else {
                    return self
                        .stack_var_access(
                            st,
                            r,
                            reg,
                            reg.off,
                            size_hi as u32,
                            if write { Access::Write } else { Access::Read },
                        )
                        .map(|_| ());
                };
                let base = reg.off + c as i64;
                if base < -MAX_STACK || base + size_hi as i64 > 0 {
                    return Err(self.error(
                        st,
                        format!(
                            "invalid {} stack R{} off={} size={}",
                            if write { "write to" } else { "read from" },
                            r.num(),
                            base,
                            size_hi
                        ),
                        &[r],
                    ));
                }
                let frame = reg.frame as usize;
                let sub = st.frames[frame].subprog;
                self.stack_depth[sub] = self.stack_depth[sub].max((-base) as u32);
                if !write {
                    self.stack_read(frame, base, base + size_hi as i64);
                }
                let fr = &mut st.frames[frame];
                for k in 0..size_hi as i64 {
                    let b = base + k;
                    let i = (((b % 8) + 8) % 8) as usize;
                    let slot = fr.slot_mut(b);
                    if write {
                        // The helper writes up to the largest size (the kernel marks every
                        // byte of it written).
                        slot.scrub_spill();
                        slot.bytes[i] = SlotByte::Misc;
                        let _ = size_lo;
                    } else if slot.bytes[i] == SlotByte::Invalid
                        && !self.input.options.allow_uninit_stack
                    {
                        return Err(self.error(
                            st,
                            format!(
                                "invalid indirect read from stack R{} off {}+{} size {}",
                                r.num(),
                                base,
                                k,
                                size_hi
                            ),
                            &[r],
                        ));
                    }
                }
                Ok(())
            }
            RegType::Packet
            | RegType::PacketMeta
            | RegType::MapValue
            | RegType::Mem
            | RegType::MapKey
            | RegType::RingbufMem => {
                let kind = if write { Access::Write } else { Access::Read };
                // Check both ends of the access.
                let saved = self.mem_ctx[self.pc];
                self.mem_ctx[self.pc] = None;
                let res = self.access(st, r, reg, 0, size_hi as u32, kind, None);
                self.mem_ctx[self.pc] = saved;
                res.map(|_| ())
            }
            _ => Err(self.error(
                st,
                format!(
                    "R{} type={} expected=fp, pkt, pkt_meta, map_value, mem",
                    r.num(),
                    self.type_name(&reg)
                ),
                &[r],
            )),
        }
    }
}

/// A load of `size` bytes at `off` plus the constant offset of `reg` from a frozen read-only
/// array map of one element ([`crate::MapInfo::frozen`]): the value there (zero-extended),
/// as the kernel's `bpf_map_direct_read`; `None` when the map is not frozen or the offset
/// not constant.
fn frozen_read(info: &crate::MapInfo, reg: RegState, off: i64, size: u32) -> Option<u64> {
    let data = info.frozen.as_deref()?;
    if info.map_type != crate::map_type::ARRAY
        || info.max_entries != 1
        || info.flags & BPF_F_RDONLY_PROG == 0
        || !matches!(size, 1 | 2 | 4 | 8)
    {
        return None;
    }
    let start = usize::try_from(off.checked_add(reg.var.as_const()? as i64)?).ok()?;
    let bytes = data.get(start..start.checked_add(size as usize)?)?;
    let mut le = [0u8; 8];
    le[..bytes.len()].copy_from_slice(bytes);
    Some(u64::from_le_bytes(le))
}

/// The variable offset as the kernel prints it in its misalignment messages: a constant
/// as `%#llx` ("0", "0x8"), otherwise `(value; mask)`.
fn misaligned_var_off(t: crate::tnum::Tnum) -> String {
    if t.mask == 0 {
        if t.value == 0 {
            "0".into()
        } else {
            format!("{:#x}", t.value)
        }
    } else {
        t.to_string()
    }
}

impl Verifier<'_> {
    /// The kernel's name of `reg`'s type: `ptr_NAME` for a BTF pointer (its struct's name).
    pub(crate) fn type_name(&self, reg: &RegState) -> String {
        match (reg.ty, self.btf) {
            (RegType::BtfPtr, Some(b)) => {
                let name = b.btf.type_by_id(reg.map).map(|t| t.name.as_str());
                format!("ptr_{}", name.unwrap_or_default())
            }
            (ty, _) => ty.name().to_string(),
        }
    }
}

/// The register a load from a BTF-typed location gives (`None`: an unknown scalar).
fn btf_reg(load: btf_ctx::BtfLoad) -> Option<RegState> {
    match load {
        btf_ctx::BtfLoad::Scalar => None,
        btf_ctx::BtfLoad::Ptr { type_id, .. } => Some(RegState {
            map: type_id,
            ..RegState::pointer(RegType::BtfPtr)
        }),
    }
}
