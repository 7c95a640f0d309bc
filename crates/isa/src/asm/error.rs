//! Assembler errors.
//!
//! Takes nothing; gives [`AsmError`] (the line and column of a problem) and [`AsmErrorKind`]
//! (what the problem is). Lines and columns count from 1; columns count characters.

use thiserror::Error;

/// What is wrong with a piece of assembly text.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum AsmErrorKind {
    /// A character that starts no token.
    #[error("unexpected character '{0}'")]
    UnexpectedChar(char),
    /// A malformed number, such as `0x` or `12ab`.
    #[error("malformed number '{0}'")]
    BadNumber(String),
    /// A mnemonic neither syntax knows.
    #[error("unknown mnemonic '{0}'")]
    UnknownMnemonic(String),
    /// A register name outside r0..r10 (or w0..w10).
    #[error("invalid register '{0}' (registers are r0..r10)")]
    BadRegister(String),
    /// A token other than the one the grammar requires.
    #[error("expected {expected}, found {found}")]
    Expected {
        /// What the grammar requires here.
        expected: &'static str,
        /// What the text has (`end of line` at the end).
        found: String,
    },
    /// Text after a complete instruction.
    #[error("unexpected '{0}' after the instruction")]
    TrailingGarbage(String),
    /// A 32-bit operand register (`wN`) where a 64-bit one (`rN`) is required, or the reverse.
    #[error("register '{found}' has the wrong width: expected a {expected}-bit register")]
    WidthMismatch {
        /// The register written.
        found: String,
        /// The width the instruction requires (32 or 64).
        expected: u32,
    },
    /// An instruction that must name the same register twice names two different ones
    /// (`r1 = -r2`, `r1 = be16 r2`, `r1 = atomic_fetch_add(..., r2)`).
    #[error("register '{found}' must be the same as the destination '{expected}'")]
    RegisterMismatch {
        /// The register written.
        found: String,
        /// The register required.
        expected: String,
    },
    /// An operand valid in general but not in this instruction (`w1 = (s32)w2`, `skb` loads
    /// into a register other than r0, a `cmpxchg` comparing with a register other than r0).
    #[error("invalid operand: {0}")]
    InvalidOperand(&'static str),
    /// An immediate that does not fit the field (32 or 64 bits).
    #[error("immediate {value} does not fit in {bits} bits")]
    ImmOutOfRange {
        /// The value written.
        value: i128,
        /// Width of the field.
        bits: u32,
    },
    /// A memory or jump offset that does not fit the field.
    #[error("offset {value} does not fit in {bits} bits")]
    OffsetOutOfRange {
        /// The offset written or computed.
        value: i128,
        /// Width of the field (16, or 32 for `gotol` and calls).
        bits: u32,
    },
    /// A jump or call to a label defined nowhere.
    #[error("unknown label '{0}'")]
    UnknownLabel(String),
    /// A label defined twice.
    #[error("label '{0}' is defined twice")]
    DuplicateLabel(String),
}

/// An assembly error at a position of the input text.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("line {line}, column {column}: {kind}")]
pub struct AsmError {
    /// Line number, from 1.
    pub line: usize,
    /// Column (in characters), from 1.
    pub column: usize,
    /// What is wrong.
    pub kind: AsmErrorKind,
}

/// An error inside one line: the column and the kind; the driver adds the line number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct LineError {
    /// Column (in characters), from 1.
    pub column: usize,
    /// What is wrong.
    pub kind: AsmErrorKind,
}

impl LineError {
    /// An error at `column`.
    pub fn new(column: usize, kind: AsmErrorKind) -> LineError {
        LineError { column, kind }
    }

    /// Attach the line number.
    pub fn at_line(self, line: usize) -> AsmError {
        AsmError {
            line,
            column: self.column,
            kind: self.kind,
        }
    }
}
