//! Syntax detection, one line at a time.
//!
//! Takes the tokens of one instruction; gives the [`Syntax`] it is written in. LLVM syntax
//! is recognised by its shape (an assignment operator anywhere, a leading `*`, or one of its
//! keywords: `if`, `goto`, `gotol`, `may_goto`, `ld_pseudo`, `callx rN`, `lock *`, `call N`,
//! `call name`); everything else is read as conformance syntax, which starts with a mnemonic.
//! `exit` and `call 5` mean the same in both.

use super::lexer::{Tok, Token};
use super::operand::reg_name;

/// The two assembly syntaxes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Syntax {
    /// The LLVM/kernel syntax that `llvm-objdump` prints: `r0 = 1`, `if r1 > 2 goto +3`.
    Llvm,
    /// The bpf_conformance/uBPF syntax: `mov %r0, 1`, `jgt %r1, 2, +3`.
    Conformance,
}

/// Which syntax `toks` (a non-empty instruction) is written in.
pub(crate) fn detect(toks: &[Token<'_>]) -> Syntax {
    let has_assignment = toks
        .iter()
        .any(|t| matches!(t.tok, Tok::Op(op) if op.ends_with('=') && !matches!(op, "==" | "!=" | ">=" | "<=" | "s>=" | "s<=")));
    let second = toks.get(1).map(|t| t.tok);
    let llvm = has_assignment
        || match toks.first().map(|t| t.tok) {
            Some(Tok::Op("*")) => true,
            Some(Tok::Ident("if" | "goto" | "gotol" | "may_goto" | "ld_pseudo")) => true,
            Some(Tok::Ident("callx")) => second != Some(Tok::Op("%")),
            Some(Tok::Ident("lock")) => second == Some(Tok::Op("*")),
            Some(Tok::Ident("call")) => {
                !matches!(
                    second,
                    Some(Tok::Op("%") | Tok::Ident("local" | "helper" | "runtime"))
                ) && !matches!(second, Some(Tok::Ident(i)) if reg_name(i).is_some())
            }
            _ => false,
        };
    if llvm {
        Syntax::Llvm
    } else {
        Syntax::Conformance
    }
}
