//! A cursor over the tokens of one line, with the operand readers both syntaxes share.
//!
//! Takes the tokens of one instruction and the column just past the end of the line; gives
//! checked reads (`expect_op`, `reg`, `signed`, `target`, `finish`) that fail with a
//! [`LineError`] pointing at the offending token (or at the end of the line).

use super::error::{AsmErrorKind, LineError};
use super::lexer::{Tok, Token};
use super::operand::{reg_name, RegName};

/// Where a jump or call goes, as written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Target<'a> {
    /// A relative offset in slots (`+3`, `-0x1`).
    Rel(i128),
    /// A label, resolved once the whole text is read.
    Label(&'a str),
}

/// Reads the tokens of one line from left to right.
pub(crate) struct Cursor<'t, 'a> {
    toks: &'t [Token<'a>],
    pos: usize,
    end_col: usize,
}

impl<'t, 'a> Cursor<'t, 'a> {
    /// A cursor at the first of `toks`; `end_col` is the column just past the line's text.
    pub fn new(toks: &'t [Token<'a>], end_col: usize) -> Self {
        Cursor {
            toks,
            pos: 0,
            end_col,
        }
    }

    /// The current token, if any.
    pub fn peek(&self) -> Option<Token<'a>> {
        self.toks.get(self.pos).copied()
    }

    /// The token `n` places after the current one.
    pub fn peek_at(&self, n: usize) -> Option<Token<'a>> {
        self.toks.get(self.pos + n).copied()
    }

    /// Take the current token.
    pub fn bump(&mut self) -> Option<Token<'a>> {
        let t = self.peek();
        self.pos += usize::from(t.is_some());
        t
    }

    /// Column of the current token, or of the end of the line.
    pub fn col(&self) -> usize {
        self.peek().map_or(self.end_col, |t| t.col)
    }

    /// An error at the current token.
    pub fn error(&self, kind: AsmErrorKind) -> LineError {
        LineError::new(self.col(), kind)
    }

    /// An "expected X, found Y" error at the current token.
    pub fn expected(&self, expected: &'static str) -> LineError {
        let found = match self.peek() {
            Some(t) => format!("'{}'", t.text),
            None => "end of line".to_string(),
        };
        self.error(AsmErrorKind::Expected { expected, found })
    }

    /// Whether the current token is the operator `op`.
    pub fn at_op(&self, op: &str) -> bool {
        matches!(self.peek(), Some(Token { tok: Tok::Op(o), .. }) if o == op)
    }

    /// Whether the current token is the identifier `name`.
    pub fn at_ident(&self, name: &str) -> bool {
        matches!(self.peek(), Some(Token { tok: Tok::Ident(i), .. }) if i == name)
    }

    /// Take the operator `op` if it is next.
    pub fn eat_op(&mut self, op: &str) -> bool {
        let yes = self.at_op(op);
        self.pos += usize::from(yes);
        yes
    }

    /// Take the identifier `name` if it is next.
    pub fn eat_ident(&mut self, name: &str) -> bool {
        let yes = self.at_ident(name);
        self.pos += usize::from(yes);
        yes
    }

    /// Take the operator `op`, or fail.
    pub fn expect_op(&mut self, op: &'static str) -> Result<(), LineError> {
        if self.eat_op(op) {
            Ok(())
        } else {
            Err(self.expected(op))
        }
    }

    /// Take the identifier `name`, or fail.
    pub fn expect_ident(&mut self, name: &'static str) -> Result<(), LineError> {
        if self.eat_ident(name) {
            Ok(())
        } else {
            Err(self.expected(name))
        }
    }

    /// Take any identifier, or fail saying `what` was expected.
    pub fn ident(&mut self, what: &'static str) -> Result<&'a str, LineError> {
        match self.peek() {
            Some(Token {
                tok: Tok::Ident(i), ..
            }) => {
                self.pos += 1;
                Ok(i)
            }
            _ => Err(self.expected(what)),
        }
    }

    /// Whether the current token has the shape of a register (`r1`, `w1`; `r11` too).
    pub fn at_reg(&self) -> bool {
        matches!(self.peek(), Some(Token { tok: Tok::Ident(i), .. }) if reg_name(i).is_some())
    }

    /// Take a register `rN` or `wN` and the column it starts at.
    pub fn reg(&mut self) -> Result<(RegName, usize), LineError> {
        let col = self.col();
        match self.peek() {
            Some(Token {
                tok: Tok::Ident(i), ..
            }) => match reg_name(i) {
                Some(Ok(r)) => {
                    self.pos += 1;
                    Ok((r, col))
                }
                Some(Err(kind)) => Err(self.error(kind)),
                None => Err(self.expected("a register")),
            },
            _ => Err(self.expected("a register")),
        }
    }

    /// Whether a number (possibly signed) comes next.
    pub fn at_number(&self) -> bool {
        match self.peek().map(|t| t.tok) {
            Some(Tok::Num(_)) => true,
            Some(Tok::Op("-" | "+")) => {
                matches!(self.peek_at(1).map(|t| t.tok), Some(Tok::Num(_)))
            }
            _ => false,
        }
    }

    /// Take a number with an optional `+` or `-` sign, and the column it starts at.
    pub fn signed(&mut self) -> Result<(i128, usize), LineError> {
        let col = self.col();
        let neg = if self.eat_op("-") {
            true
        } else {
            self.eat_op("+");
            false
        };
        match self.peek() {
            Some(Token {
                tok: Tok::Num(n), ..
            }) => {
                self.pos += 1;
                Ok((if neg { -(n as i128) } else { n as i128 }, col))
            }
            _ => Err(self.expected("a number")),
        }
    }

    /// Take `+ N`, `- N` or nothing (an offset after a base register); 0 when absent.
    pub fn offset_suffix(&mut self) -> Result<(i128, usize), LineError> {
        let col = self.col();
        if self.at_op("+") || self.at_op("-") {
            self.signed()
        } else {
            Ok((0, col))
        }
    }

    /// Take a jump target: a signed number (relative) or a label; and its column.
    pub fn target(&mut self) -> Result<(Target<'a>, usize), LineError> {
        let col = self.col();
        if self.at_number() {
            let (v, col) = self.signed()?;
            return Ok((Target::Rel(v), col));
        }
        match self.peek() {
            Some(Token {
                tok: Tok::Ident(i), ..
            }) if reg_name(i).is_none() => {
                self.pos += 1;
                Ok((Target::Label(i), col))
            }
            _ => Err(self.expected("a jump target (offset or label)")),
        }
    }

    /// Skip objdump's symbol annotation after a target (` <LBB0_2>`, ` <f+0xc8>`), if any.
    pub fn skip_annotation(&mut self) -> Result<(), LineError> {
        if !self.eat_op("<") {
            return Ok(());
        }
        while !self.eat_op(">") {
            if self.bump().is_none() {
                return Err(self.expected(">"));
            }
        }
        Ok(())
    }

    /// Check that the whole line has been read.
    pub fn finish(&self) -> Result<(), LineError> {
        match self.peek() {
            None => Ok(()),
            Some(t) => Err(LineError::new(
                t.col,
                AsmErrorKind::TrailingGarbage(t.text.to_string()),
            )),
        }
    }
}
