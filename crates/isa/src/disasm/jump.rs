//! Control flow: jumps, calls, `exit` and `may_goto`.
//!
//! Takes one of those instructions; gives LLVM's text with relative offsets:
//! `if r1 s> 0x5 goto -0x5`, `if w1 & w2 goto +0x1`, `goto +0x3`, `gotol -0x2`,
//! `call 0x5` (helper, local and kfunc calls alike print the raw immediate), `callx r1`,
//! `exit`, `may_goto +0x3`. Also gives the absolute target slot of an instruction.

use super::operand::{branch, imm, reg};
use crate::insn::{CallTarget, Insn, JmpCond, Source};

/// The comparison operator of a conditional jump.
pub fn cond_str(cond: JmpCond) -> &'static str {
    match cond {
        JmpCond::Eq => "==",
        JmpCond::Gt => ">",
        JmpCond::Ge => ">=",
        JmpCond::Set => "&",
        JmpCond::Ne => "!=",
        JmpCond::SGt => "s>",
        JmpCond::SGe => "s>=",
        JmpCond::Lt => "<",
        JmpCond::Le => "<=",
        JmpCond::SLt => "s<",
        JmpCond::SLe => "s<=",
    }
}

/// Format a control-flow instruction; any other instruction gives an empty string.
pub fn format(insn: &Insn) -> String {
    match *insn {
        Insn::Ja { off } => format!("goto {}", branch(off as i64)),
        Insn::Gotol { off } => format!("gotol {}", branch(off as i64)),
        Insn::Jump {
            width,
            cond,
            dst,
            src,
            off,
        } => {
            let rhs = match src {
                Source::Reg(s) => reg(s, width),
                Source::Imm(i) => imm(i as i64),
            };
            format!(
                "if {} {} {rhs} goto {}",
                reg(dst, width),
                cond_str(cond),
                branch(off as i64)
            )
        }
        Insn::Call(target) => {
            let k = match target {
                CallTarget::Helper(k) | CallTarget::Local(k) => k,
                CallTarget::Kfunc { btf_id, .. } => btf_id,
            };
            format!("call {}", imm(k as i64))
        }
        Insn::CallX { reg: r } => format!("callx r{}", r.num()),
        Insn::Exit => "exit".to_string(),
        Insn::MayGoto { off } => format!("may_goto {}", branch(off as i64)),
        _ => String::new(),
    }
}

/// The absolute slot a jump or local call at `slot` transfers control to, if it does and the
/// target is not negative.
pub fn target_slot(insn: &Insn, slot: usize) -> Option<usize> {
    let rel = match *insn {
        Insn::Call(CallTarget::Local(k)) => k as i64,
        _ => insn.jump_offset()?,
    };
    usize::try_from(slot as i64 + 1 + rel).ok()
}
