//! Context-access rewriting: the kernel's `convert_ctx_accesses` step, for user space.
//!
//! Takes a [`Program`], its [`ProgType`] and the [`CtxAccessFacts`] saying which
//! instructions access the context; gives the program with each such access turned into an
//! access of the runtime layout ([`super::xdp`], [`super::skb`], [`super::tracing`]), e.g.
//! `w2 = *(u32 *)(r1 + 0)` reading `xdp_md.data` becomes `r2 = *(u64 *)(r1 + 24)`.
//!
//! Each access is first checked with [`check_access`] (the kernel's `is_valid_access`),
//! so an invalid offset, size or direction is reported as the kernel reports it:
//! `invalid bpf_context access off=%d size=%d`. Almost every rewrite is one instruction for
//! one; a register store to `__sk_buff.queue_mapping` expands to two (a guard and a 2-byte
//! store), and then every jump, local call and function reference is moved to its target's
//! new position.
//!
//! Legacy packet loads (`BPF_LD | BPF_ABS/BPF_IND`, B/H/W) of socket filter and tc programs
//! are expanded here too, as the kernel's `bpf_gen_ld_abs` does (see [`ld_abs`]); other
//! program types, and programs with bpf-to-bpf calls, are refused with the kernel's
//! messages.

use userbpf_isa::{
    AluOp, ByteOrder, CallTarget, EndianBits, Insn, JmpCond, LdImm64Kind, MemSize, PacketMode,
    Program, Reg, Source, Width,
};

use super::provenance::{CtxAccess, CtxAccessFacts, CtxAccessKind};
use super::{check_access, skb, ContextError, FieldAccess, ProgType};

/// `NO_QUEUE_MAPPING`: stores of this value or above leave `queue_mapping` unchanged.
const NO_QUEUE_MAPPING: i32 = 0xffff;

/// Rewrite every context access of `program` (as `facts` lists them) for `prog_type`.
///
/// # Errors
/// [`ContextError::InvalidAccess`] (the kernel's message) for an access the type does not
/// allow, [`ContextError::Unsupported`] for what user space cannot provide,
/// [`ContextError::Analysis`] when `facts` does not match the program, and
/// [`ContextError::JumpRange`] when an expansion pushes a jump out of its 16-bit range;
/// [`ContextError::LdAbs`] for a legacy packet load the kernel would refuse.
pub fn rewrite_context_accesses(
    program: &Program,
    prog_type: ProgType,
    facts: &CtxAccessFacts,
) -> Result<Program, ContextError> {
    let insns = program.insns();
    let has_subprogs = insns.iter().any(|i| {
        matches!(
            i,
            Insn::Call(CallTarget::Local(_))
                | Insn::LdImm64 {
                    kind: LdImm64Kind::Func,
                    ..
                }
        )
    });
    let mut pieces: Vec<Vec<Insn>> = Vec::with_capacity(insns.len());
    let mut expanded = false;
    for (i, &insn) in insns.iter().enumerate() {
        if let Insn::LoadPacket { size, mode, imm } = insn {
            pieces.push(ld_abs(i, prog_type, size, mode, imm, has_subprogs)?);
            expanded = true;
            continue;
        }
        match facts.get(i) {
            None => pieces.push(vec![insn]),
            Some(access) => {
                let out = convert(i, insn, access, prog_type)?;
                expanded |= out.len() != 1 || out[0].slots() != insn.slots();
                pieces.push(out);
            }
        }
    }
    if !expanded {
        return Ok(Program::from_insns(pieces.into_iter().flatten().collect()));
    }
    // New slot position of each original instruction.
    let mut new_start = Vec::with_capacity(insns.len() + 1);
    let mut slot = 0usize;
    for piece in &pieces {
        new_start.push(slot);
        slot += piece.iter().map(Insn::slots).sum::<usize>();
    }
    new_start.push(slot);
    let old_starts = program.starts();
    let old_index = |s: usize| old_starts.binary_search(&s).ok();
    let mut out = Vec::with_capacity(slot);
    for (i, piece) in pieces.into_iter().enumerate() {
        if piece.len() != 1 || facts.get(i).is_some() {
            // Expansions carry their own (internal) jumps.
            out.extend(piece);
            continue;
        }
        let insn = piece[0];
        let Some(rel) = userbpf_isa::relative_target(&insn) else {
            out.push(insn);
            continue;
        };
        let old_target = old_starts[i] as i64 + 1 + rel;
        let t =
            usize::try_from(old_target)
                .ok()
                .and_then(old_index)
                .ok_or(ContextError::Analysis {
                    insn: i,
                    why: format!("jump to slot {old_target}, not an instruction"),
                })?;
        let new_rel = new_start[t] as i64 - (new_start[i] as i64 + 1);
        let range = ContextError::JumpRange { insn: i };
        let fixed = match insn {
            Insn::Ja { .. } => Insn::Ja {
                off: i16::try_from(new_rel).map_err(|_| range)?,
            },
            Insn::MayGoto { .. } => Insn::MayGoto {
                off: i16::try_from(new_rel).map_err(|_| range)?,
            },
            Insn::Jump {
                width,
                cond,
                dst,
                src,
                ..
            } => Insn::Jump {
                width,
                cond,
                dst,
                src,
                off: i16::try_from(new_rel).map_err(|_| range)?,
            },
            Insn::Gotol { .. } => Insn::Gotol {
                off: i32::try_from(new_rel).map_err(|_| range)?,
            },
            Insn::Call(CallTarget::Local(_)) => Insn::Call(CallTarget::Local(
                i32::try_from(new_rel).map_err(|_| range)?,
            )),
            Insn::LdImm64 {
                dst,
                kind: LdImm64Kind::Func,
                next_imm,
                ..
            } => Insn::LdImm64 {
                dst,
                kind: LdImm64Kind::Func,
                imm: i32::try_from(new_rel).map_err(|_| range)?,
                next_imm,
            },
            other => other,
        };
        out.push(fixed);
    }
    Ok(Program::from_insns(out))
}

/// The runtime instructions for one context access.
fn convert(
    i: usize,
    insn: Insn,
    access: &CtxAccess,
    prog_type: ProgType,
) -> Result<Vec<Insn>, ContextError> {
    let mismatch = || ContextError::Analysis {
        insn: i,
        why: "context facts do not match the instruction".into(),
    };
    let (off, size) = match insn {
        Insn::Load { off, size, .. }
        | Insn::LoadSx { off, size, .. }
        | Insn::Store { off, size, .. } => (off, size),
        _ => return Err(mismatch()),
    };
    let kind_ok = matches!(
        (insn, access.kind),
        (Insn::Load { .. }, CtxAccessKind::Load)
            | (Insn::LoadSx { .. }, CtxAccessKind::LoadSx)
            | (
                Insn::Store {
                    src: Source::Reg(_),
                    ..
                },
                CtxAccessKind::Store
            )
            | (
                Insn::Store {
                    src: Source::Imm(_),
                    ..
                },
                CtxAccessKind::StoreImm
            )
    );
    if !kind_ok || off != access.off || size != access.size {
        return Err(mismatch());
    }
    let mapped = check_access(prog_type, off as i64, size, access.kind.direction()).map_err(
        |e| match e {
            ContextError::InvalidAccess { off, size, .. } => {
                ContextError::InvalidAccess { insn: i, off, size }
            }
            ContextError::Unsupported { what, .. } => ContextError::Unsupported { insn: i, what },
            other => other,
        },
    )?;
    let with_off = |new_off: i16, new_size: MemSize| match insn {
        Insn::Load { dst, src, .. } => Insn::Load {
            size: new_size,
            dst,
            src,
            off: new_off,
        },
        Insn::LoadSx { dst, src, .. } if new_size == MemSize::DW => Insn::Load {
            size: new_size,
            dst,
            src,
            off: new_off,
        },
        Insn::LoadSx { dst, src, .. } => Insn::LoadSx {
            size: new_size,
            dst,
            src,
            off: new_off,
        },
        Insn::Store { dst, src, .. } => Insn::Store {
            size: new_size,
            dst,
            src,
            off: new_off,
        },
        other => other,
    };
    Ok(match mapped {
        FieldAccess::Same { off } => vec![with_off(off, size)],
        FieldAccess::Pointer { off } => vec![with_off(off, MemSize::DW)],
        FieldAccess::Store16 { off } => vec![with_off(off, MemSize::H)],
        FieldAccess::Null => match insn {
            Insn::Load { dst, .. } => vec![Insn::Alu {
                width: Width::W64,
                op: AluOp::Mov,
                dst,
                src: Source::Imm(0),
            }],
            _ => return Err(mismatch()),
        },
        FieldAccess::QueueMapping { off } => match insn {
            Insn::Store {
                src: Source::Imm(v),
                ..
            } => {
                if v as u32 >= NO_QUEUE_MAPPING as u32 {
                    vec![Insn::Ja { off: 0 }]
                } else {
                    vec![with_off(off, MemSize::H)]
                }
            }
            Insn::Store {
                src: Source::Reg(r),
                ..
            } => vec![
                Insn::Jump {
                    width: Width::W64,
                    cond: JmpCond::Ge,
                    dst: r,
                    src: Source::Imm(NO_QUEUE_MAPPING),
                    off: 1,
                },
                with_off(off, MemSize::H),
            ],
            _ => return Err(mismatch()),
        },
    })
}

/// A legacy packet load `r0 = ntoh(*(size *)(skb->data + off))` with `off = imm` (ABS) or
/// `src + imm` (IND), as the kernel's `bpf_gen_ld_abs` and `bpf_skb_load_helper_*` do it,
/// in plain instructions (r6 holds the context, as the kernel's verifier checks):
///
/// ```text
///   r2 = imm | r2 = src; r2 += imm      the offset, as the helper's `int`:
///   r2 <<= 32; r2 s>>= 32
///   if r2 s< 0 goto fail                 (SKF_NET_OFF / SKF_LL_OFF are not provided)
///   r1 = *(u64 *)(r6 + RT_DATA)
///   r3 = *(u64 *)(r6 + RT_DATA_END)
///   r3 -= r1; r3 -= r2                   the linear length minus the offset
///   if r3 s< size goto fail
///   r1 += r2
///   r0 = *(size *)(r1 + 0); r0 = be16/be32 r0
///   goto +2
/// fail:
///   w0 ^= w0; exit                       the kernel's "return 0 from the program"
/// ```
///
/// r1–r3 are clobbered; the kernel's verifier treats r1–r5 as unreadable after the load.
fn ld_abs(
    i: usize,
    prog_type: ProgType,
    size: MemSize,
    mode: PacketMode,
    imm: i32,
    has_subprogs: bool,
) -> Result<Vec<Insn>, ContextError> {
    let refuse = |why: &str| ContextError::LdAbs {
        insn: i,
        why: why.to_string(),
    };
    if !matches!(
        prog_type,
        ProgType::SocketFilter | ProgType::SchedCls | ProgType::SchedAct
    ) {
        return Err(refuse(
            "BPF_LD_[ABS|IND] instructions not allowed for this program type",
        ));
    }
    if has_subprogs {
        return Err(refuse(
            "BPF_LD_[ABS|IND] instructions cannot be mixed with bpf-to-bpf calls",
        ));
    }
    let (bytes, swap) = match size {
        MemSize::B => (1, None),
        MemSize::H => (2, Some(EndianBits::B16)),
        MemSize::W => (4, Some(EndianBits::B32)),
        MemSize::DW => return Err(refuse("BPF_LD_[ABS|IND] uses reserved fields")),
    };
    if matches!(mode, PacketMode::Abs) && imm < 0 {
        return Err(ContextError::Unsupported {
            insn: i,
            what: format!(
                "a legacy packet load at negative offset {imm} (SKF_NET_OFF / SKF_LL_OFF)"
            ),
        });
    }
    let alu = |op, dst, src| Insn::Alu {
        width: Width::W64,
        op,
        dst,
        src,
    };
    let mut v = Vec::with_capacity(16);
    match mode {
        PacketMode::Abs => v.push(alu(AluOp::Mov, Reg::R2, Source::Imm(imm))),
        PacketMode::Ind(src) => {
            v.push(alu(AluOp::Mov, Reg::R2, Source::Reg(src)));
            if imm != 0 {
                v.push(alu(AluOp::Add, Reg::R2, Source::Imm(imm)));
            }
        }
    }
    v.push(alu(AluOp::Lsh, Reg::R2, Source::Imm(32)));
    v.push(alu(AluOp::Arsh, Reg::R2, Source::Imm(32)));
    let mut to_fail = vec![v.len()];
    v.push(Insn::Jump {
        width: Width::W64,
        cond: JmpCond::SLt,
        dst: Reg::R2,
        src: Source::Imm(0),
        off: 0,
    });
    let load = |dst, off: usize| Insn::Load {
        size: MemSize::DW,
        dst,
        src: Reg::R6,
        off: off as i16,
    };
    v.push(load(Reg::R1, skb::RT_DATA));
    v.push(load(Reg::R3, skb::RT_DATA_END));
    v.push(alu(AluOp::Sub, Reg::R3, Source::Reg(Reg::R1)));
    v.push(alu(AluOp::Sub, Reg::R3, Source::Reg(Reg::R2)));
    to_fail.push(v.len());
    v.push(Insn::Jump {
        width: Width::W64,
        cond: JmpCond::SLt,
        dst: Reg::R3,
        src: Source::Imm(bytes),
        off: 0,
    });
    v.push(alu(AluOp::Add, Reg::R1, Source::Reg(Reg::R2)));
    v.push(Insn::Load {
        size,
        dst: Reg::R0,
        src: Reg::R1,
        off: 0,
    });
    if let Some(bits) = swap {
        v.push(Insn::Endian {
            order: ByteOrder::ToBe,
            bits,
            dst: Reg::R0,
        });
    }
    v.push(Insn::Ja { off: 2 });
    let fail = v.len();
    v.push(Insn::Alu {
        width: Width::W32,
        op: AluOp::Xor,
        dst: Reg::R0,
        src: Source::Reg(Reg::R0),
    });
    v.push(Insn::Exit);
    for j in to_fail {
        if let Insn::Jump { off, .. } = &mut v[j] {
            *off = (fail - j - 1) as i16;
        }
    }
    Ok(v)
}
