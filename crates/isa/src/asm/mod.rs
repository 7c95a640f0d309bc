//! # Assembler: assembly text to typed instructions
//!
//! Takes text in either of two syntaxes, chosen line by line (see [`Syntax`]):
//!
//! - the LLVM/kernel syntax exactly as `llvm-objdump-19 -d --no-show-raw-insn` (and this
//!   crate's [`crate::disasm`]) prints it: `r0 = 0x1`, `if w1 == 0x5 goto +0x3 <LBB0_2>`,
//!   `lock *(u64 *)(r0 + 0x0) += r1`;
//! - the bpf_conformance/uBPF syntax: `mov %r0, 1`, `ldxb %r0, [%r1+2]`, `jne32 %r2, 0x80, fail`.
//!
//! Gives the instructions ([`Insn`]), or an [`AsmError`] naming the line and column.
//!
//! Labels (`name:`, alone on a line or before an instruction) may be jump and call targets;
//! numeric targets (`+3`, `-0x1`) are relative to the next slot, and `lddw` counts two slots.
//! As in the bpf_conformance assembler, the first `exit` instruction also defines the label
//! `exit` when the text does not define it. Comments start with `#`, `;` or `//`. An objdump listing can be read back: a leading
//! address (`   12:`) is ignored, and a symbol line (`0000000000000000 <prog>:`) defines a
//! label.
//!
//! ```
//! use userbpf_isa::{asm, Insn, Reg};
//! let insns = asm::assemble("mov %r0, 1\nr0 += 2\nexit").unwrap();
//! assert_eq!(insns.len(), 3);
//! assert_eq!(insns[2], Insn::Exit);
//! let err = asm::assemble("r0 = 1\nr11 = 2").unwrap_err();
//! assert_eq!(err.to_string(), "line 2, column 1: invalid register 'r11' (registers are r0..r10)");
//! ```
//!
//! Submodules, one job each: `lexer` (tokens), `cursor` (shared operand readers),
//! `operand` (register names, range checks), `detect` (which syntax), `llvm` and
//! `conformance` (the two grammars), `labels` (label resolution), `error`.

mod conformance;
mod cursor;
mod detect;
mod error;
mod labels;
mod lexer;
mod llvm;
mod operand;

use std::collections::HashMap;

pub use detect::Syntax;
pub use error::{AsmError, AsmErrorKind};

use crate::insn::Insn;
use cursor::Cursor;
use error::LineError;
use labels::Item;
use lexer::{strip_comment, tokenize, Tok, Token};

/// The label the first `exit` instruction defines unless the text defines it: the
/// conformance suite jumps to `exit` without declaring it (`jne %r0, 2, exit`).
pub const IMPLICIT_EXIT_LABEL: &str = "exit";

/// Assemble `text` (either syntax, per line) into instructions.
///
/// # Errors
/// The first problem found, with its line and column: a character or number the lexer does
/// not accept, an unknown mnemonic, a bad register, a malformed operand, an immediate or
/// offset out of range, text after an instruction, or an unknown or duplicate label.
pub fn assemble(text: &str) -> Result<Vec<Insn>, AsmError> {
    let mut items = Vec::new();
    let mut labels: HashMap<String, usize> = HashMap::new();
    let mut first_exit = None;
    for (index, raw_line) in text.lines().enumerate() {
        let line = index + 1;
        let code = strip_comment(raw_line);
        let toks = tokenize(code).map_err(|e| e.at_line(line))?;
        let mut rest = &toks[..];
        while let Some((label, tail)) = split_label(rest) {
            rest = tail;
            let Some((name, col)) = label else { continue };
            if labels.insert(name.to_string(), items.len()).is_some() {
                return Err(AsmError {
                    line,
                    column: col,
                    kind: AsmErrorKind::DuplicateLabel(name.to_string()),
                });
            }
        }
        if rest.is_empty() {
            continue;
        }
        let end_col = code.trim_end().chars().count() + 1;
        let mut cursor = Cursor::new(rest, end_col);
        let parsed = match detect::detect(rest) {
            Syntax::Llvm => llvm::parse(&mut cursor),
            Syntax::Conformance => conformance::parse(&mut cursor),
        }
        .map_err(|e: LineError| e.at_line(line))?;
        if parsed.insn == Insn::Exit && first_exit.is_none() {
            first_exit = Some(items.len());
        }
        items.push(Item { line, parsed });
    }
    if let Some(index) = first_exit {
        labels
            .entry(IMPLICIT_EXIT_LABEL.to_string())
            .or_insert(index);
    }
    labels::resolve(items, &labels)
}

/// Assemble `text` and encode it: the program's bytes, 8 per slot, little endian.
///
/// # Errors
/// As [`assemble`].
pub fn assemble_to_bytes(text: &str) -> Result<Vec<u8>, AsmError> {
    Ok(crate::encode_program(&assemble(text)?))
}

fn is_op(t: &Token<'_>, op: &str) -> bool {
    matches!(t.tok, Tok::Op(o) if o == op)
}

/// A label defined at the start of `toks`.
type LabelDef<'a> = Option<(&'a str, usize)>;

/// Split off what precedes an instruction: a label `name:`, an objdump symbol line
/// `0000000000000000 <name>:` (both define a label), or an objdump address `12:` (defines
/// none). `None` when the tokens start otherwise.
fn split_label<'t, 'a>(toks: &'t [Token<'a>]) -> Option<(LabelDef<'a>, &'t [Token<'a>])> {
    match toks {
        [Token {
            tok: Tok::Ident(name),
            col,
            ..
        }, colon, tail @ ..]
            if is_op(colon, ":") =>
        {
            Some((Some((name, *col)), tail))
        }
        [Token {
            tok: Tok::Num(_), ..
        }, colon, tail @ ..]
            if is_op(colon, ":") =>
        {
            Some((None, tail))
        }
        [Token {
            tok: Tok::Num(_), ..
        }, lt, Token {
            tok: Tok::Ident(name),
            col,
            ..
        }, gt, colon, tail @ ..]
            if is_op(lt, "<") && is_op(gt, ">") && is_op(colon, ":") =>
        {
            Some((Some((name, *col)), tail))
        }
        _ => None,
    }
}
