//! Control-flow checks done before the analysis (the kernel's `check_subprogs` and
//! `check_cfg`).
//!
//! Takes a [`Program`]; gives a [`Cfg`]: subprogram boundaries, which instruction starts
//! each slot, and the prune points (jump targets, fall-throughs of conditional jumps,
//! returns from calls, `may_goto`). Rejects jumps out of range or into the middle of an
//! `lddw`, jumps between subprograms, subprograms whose last instruction is not an exit or
//! jump, and unreachable instructions. Back-edges are allowed: loops are bounded by
//! exploring them.
//!
//! Invariant: in a [`Cfg`], every jump target is an instruction start of the same
//! subprogram, and every instruction is reachable from instruction 0.

use userbpf_isa::{relative_target, CallTarget, Insn, LdImm64Kind, Program};

/// Control-flow facts.
#[derive(Clone, Debug)]
pub struct Cfg {
    /// First instruction index of each subprogram, ascending (0 first).
    pub subprogs: Vec<usize>,
    /// Subprogram of each instruction.
    pub insn_subprog: Vec<usize>,
    /// Whether a state checkpoint is kept at each instruction.
    pub prune_point: Vec<bool>,
    /// Instruction index starting at each slot (`None` for the second slot of `lddw`).
    pub slot_to_idx: Vec<Option<usize>>,
}

/// A CFG rejection: the slot and the kernel's message.
pub type CfgError = (usize, String);

impl Cfg {
    /// Absolute instruction index a jump or call at `idx` leads to.
    pub fn target(&self, program: &Program, idx: usize) -> Option<usize> {
        let rel = relative_target(&program.insns()[idx])?;
        let slot = program.starts()[idx] as i64 + 1 + rel;
        self.slot_to_idx.get(slot as usize).copied().flatten()
    }
}

/// Check the control flow of `program`.
///
/// # Errors
/// The first problem, with the kernel's message.
pub fn check(program: &Program) -> Result<Cfg, CfgError> {
    let insns = program.insns();
    let starts = program.starts();
    let n_slots = program.slot_count();
    if insns.is_empty() {
        return Err((0, "last insn is not an exit or jmp".into()));
    }
    let mut slot_to_idx = vec![None; n_slots];
    for (i, &s) in starts.iter().enumerate() {
        slot_to_idx[s] = Some(i);
    }
    // Subprograms.
    let mut subprogs = vec![0usize];
    for (i, insn) in insns.iter().enumerate() {
        let is_sub = matches!(insn, Insn::Call(CallTarget::Local(_)))
            || matches!(
                insn,
                Insn::LdImm64 {
                    kind: LdImm64Kind::Func,
                    ..
                }
            );
        if !is_sub {
            continue;
        }
        let rel = relative_target(insn).unwrap_or(0);
        let t = starts[i] as i64 + 1 + rel;
        match (t >= 0 && (t as usize) < n_slots)
            .then(|| slot_to_idx[t as usize])
            .flatten()
        {
            Some(ti) => subprogs.push(ti),
            None => return Err((starts[i], "call to invalid destination".into())),
        }
    }
    subprogs.sort_unstable();
    subprogs.dedup();
    let mut insn_subprog = vec![0; insns.len()];
    for (k, &s) in subprogs.iter().enumerate() {
        let end = subprogs.get(k + 1).copied().unwrap_or(insns.len());
        for x in &mut insn_subprog[s..end] {
            *x = k;
        }
        let last = &insns[end - 1];
        if !matches!(last, Insn::Exit | Insn::Ja { .. } | Insn::Gotol { .. }) {
            return Err((starts[end - 1], "last insn is not an exit or jmp".into()));
        }
    }
    // Jumps.
    let mut prune_point = vec![false; insns.len()];
    let mut succ: Vec<Vec<usize>> = vec![Vec::new(); insns.len()];
    let mut into_lddw = vec![false; insns.len()];
    for (i, insn) in insns.iter().enumerate() {
        let t = starts[i];
        let falls = !matches!(insn, Insn::Exit | Insn::Ja { .. } | Insn::Gotol { .. });
        if loop_point(insn) {
            prune_point[i] = true;
        }
        if falls && i + 1 < insns.len() {
            succ[i].push(i + 1);
        }
        match insn {
            Insn::Call(CallTarget::Local(rel)) => {
                let w = t as i64 + 1 + *rel as i64;
                let wi = slot_to_idx[w as usize].expect("checked above");
                succ[i].push(wi);
                if i + 1 < insns.len() {
                    prune_point[i + 1] = true;
                }
                continue;
            }
            Insn::LdImm64 {
                kind: LdImm64Kind::Func,
                imm,
                ..
            } => {
                let w = t as i64 + 1 + *imm as i64;
                succ[i].push(slot_to_idx[w as usize].expect("checked above"));
                continue;
            }
            _ => {}
        }
        let Some(rel) = insn.jump_offset() else {
            continue;
        };
        let w = t as i64 + 1 + rel;
        if w < 0 || w >= n_slots as i64 {
            return Err((t, format!("jump out of range from insn {t} to {w}")));
        }
        let Some(wi) = slot_to_idx[w as usize] else {
            // Into the second slot of an lddw: reported with reachability below, in
            // instruction order, as the kernel's `check_cfg` does; its walk goes on from
            // that slot to the next instruction.
            let Some(lddw) = (w as usize).checked_sub(1).and_then(|s| slot_to_idx[s]) else {
                return Err((t, format!("jump into the middle of ldimm64 insn {}", w - 1)));
            };
            into_lddw[lddw] = true;
            if let Some(next) = slot_to_idx.get(w as usize + 1).copied().flatten() {
                succ[i].push(next);
            }
            continue;
        };
        if insn_subprog[wi] != insn_subprog[i] {
            return Err((t, format!("jump out of range from insn {t} to {w}")));
        }
        succ[i].push(wi);
        prune_point[wi] = true;
        if matches!(insn, Insn::Jump { .. } | Insn::MayGoto { .. }) && i + 1 < insns.len() {
            prune_point[i + 1] = true;
        }
    }
    // Reachability from instruction 0.
    let mut seen = vec![false; insns.len()];
    let mut todo = vec![0usize];
    seen[0] = true;
    while let Some(i) = todo.pop() {
        for &s in &succ[i] {
            if !seen[s] {
                seen[s] = true;
                todo.push(s);
            }
        }
    }
    for i in 0..insns.len() {
        if !seen[i] {
            return Err((starts[i], format!("unreachable insn {}", starts[i])));
        }
        if into_lddw[i] {
            return Err((
                starts[i],
                format!("jump into the middle of ldimm64 insn {}", starts[i]),
            ));
        }
    }
    Ok(Cfg {
        subprogs,
        insn_subprog,
        prune_point,
        slot_to_idx,
    })
}

/// Whether `insn` heads a loop bounded at run time: `may_goto`, or a helper call that calls
/// back into the program (`bpf_for_each_map_elem`, `bpf_loop`; reached again at each
/// callback's exit). Such an instruction is a prune point.
pub(crate) fn loop_point(insn: &Insn) -> bool {
    matches!(
        insn,
        Insn::MayGoto { .. } | Insn::Call(CallTarget::Helper(164 | 181))
    )
}
