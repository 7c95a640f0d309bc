//! The lexer: one line of assembly text to tokens.
//!
//! Takes one line (comments already removed by [`strip_comment`]); gives [`Token`]s, each
//! with its column: identifiers (mnemonics, registers, labels), unsigned numbers, and
//! punctuation/operators (longest match, including LLVM's signed operators such as `s>=`
//! and `s>>=`). Signs are separate tokens; the parsers combine them with numbers.

use super::error::{AsmErrorKind, LineError};

/// What a token is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Tok<'a> {
    /// A name: `[A-Za-z_.][A-Za-z0-9_.]*`.
    Ident(&'a str),
    /// An unsigned decimal or `0x` hexadecimal number.
    Num(u64),
    /// Punctuation or an operator, from [`OPERATORS`].
    Op(&'static str),
}

/// A token and where it starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Token<'a> {
    /// The token.
    pub tok: Tok<'a>,
    /// Column of its first character, from 1.
    pub col: usize,
    /// Its text as written.
    pub text: &'a str,
}

/// Operators and punctuation, longest first so that the first match is the longest.
const OPERATORS: &[&str] = &[
    "s>>=", ">>=", "<<=", "s>=", "s<=", "s/=", "s%=", "==", "!=", ">=", "<=", "+=", "-=", "*=",
    "/=", "%=", "|=", "&=", "^=", "s>", "s<", "=", ">", "<", "+", "-", "*", "/", "%", "&", "|",
    "^", "(", ")", "[", "]", ",", ":",
];

/// The part of `line` before a comment (`#`, `;` or `//`).
pub(crate) fn strip_comment(line: &str) -> &str {
    let bytes = line.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'#' || b == b';' || (b == b'/' && bytes.get(i + 1) == Some(&b'/')) {
            return &line[..i];
        }
    }
    line
}

fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || c == '.'
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '.'
}

fn parse_number(text: &str) -> Result<u64, AsmErrorKind> {
    let bad = || AsmErrorKind::BadNumber(text.to_string());
    let (digits, radix) = match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => (hex, 16),
        None => (text, 10),
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return Err(bad());
    }
    u64::from_str_radix(digits, radix).map_err(|_| AsmErrorKind::ImmOutOfRange {
        value: i128::from_str_radix(digits, radix).unwrap_or(i128::MAX),
        bits: 64,
    })
}

/// Split `line` into tokens.
///
/// # Errors
/// A character that starts no token, or a malformed or too large number.
pub(crate) fn tokenize(line: &str) -> Result<Vec<Token<'_>>, LineError> {
    let mut tokens = Vec::new();
    let mut col = 1;
    let mut rest = line;
    while let Some(c) = rest.chars().next() {
        let len;
        if c.is_whitespace() {
            len = c.len_utf8();
        } else if let Some(op) = OPERATORS.iter().find(|op| rest.starts_with(**op)) {
            len = op.len();
            tokens.push(Token {
                tok: Tok::Op(op),
                col,
                text: &rest[..len],
            });
        } else if is_ident_start(c) {
            len = rest.find(|c| !is_ident_char(c)).unwrap_or(rest.len());
            let text = &rest[..len];
            tokens.push(Token {
                tok: Tok::Ident(text),
                col,
                text,
            });
        } else if c.is_ascii_digit() {
            len = rest
                .find(|c: char| !c.is_ascii_alphanumeric() && c != '_')
                .unwrap_or(rest.len());
            let text = &rest[..len];
            let value = parse_number(text).map_err(|kind| LineError::new(col, kind))?;
            tokens.push(Token {
                tok: Tok::Num(value),
                col,
                text,
            });
        } else {
            return Err(LineError::new(col, AsmErrorKind::UnexpectedChar(c)));
        }
        col += rest[..len].chars().count();
        rest = &rest[len..];
    }
    Ok(tokens)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(line: &str) -> Vec<Tok<'_>> {
        tokenize(line).unwrap().into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn signed_operators_are_one_token() {
        assert_eq!(
            kinds("if r1 s>= -3 goto +2"),
            vec![
                Tok::Ident("if"),
                Tok::Ident("r1"),
                Tok::Op("s>="),
                Tok::Op("-"),
                Tok::Num(3),
                Tok::Ident("goto"),
                Tok::Op("+"),
                Tok::Num(2),
            ]
        );
        assert_eq!(kinds("skb")[0], Tok::Ident("skb"));
    }

    #[test]
    fn columns_and_numbers() {
        let t = tokenize("ldxb %r0, [%r1+0x2]").unwrap();
        assert_eq!(t[0].col, 1);
        assert_eq!(t[1].col, 6);
        assert_eq!(t.last().unwrap().col, 19);
        assert_eq!(t[8].tok, Tok::Num(2));
        assert!(tokenize("mov r1, 0x").is_err());
        assert!(tokenize("mov r1, 12ab").is_err());
        assert_eq!(tokenize("r1 = 99999999999999999999").unwrap_err().column, 6);
    }

    #[test]
    fn comments() {
        assert_eq!(strip_comment("r1 /= 2 // x"), "r1 /= 2 ");
        assert_eq!(strip_comment("mov %r0, 1 # y"), "mov %r0, 1 ");
        assert_eq!(strip_comment("exit ; z"), "exit ");
    }
}
