//! Errors of decoding, assembling and program-level validation.
//!
//! Takes nothing; gives [`DecodeError`] (which slot, what is wrong) and [`DecodeErrorKind`].

use thiserror::Error;

/// Which field of an instruction a [`DecodeErrorKind::ReservedField`] names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    /// Destination register.
    Dst,
    /// Source register.
    Src,
    /// 16-bit offset.
    Off,
    /// 32-bit immediate.
    Imm,
}

impl std::fmt::Display for Field {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Field::Dst => "dst_reg",
            Field::Src => "src_reg",
            Field::Off => "off",
            Field::Imm => "imm",
        })
    }
}

/// What is wrong with an encoded instruction or program.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum DecodeErrorKind {
    /// The byte length is not a multiple of 8.
    #[error("program length {0} is not a multiple of 8 bytes")]
    BadLength(usize),
    /// The program has no instructions.
    #[error("program is empty")]
    Empty,
    /// The opcode byte is not an eBPF instruction.
    #[error("unknown opcode 0x{0:02x}")]
    UnknownOpcode(u8),
    /// A register field is above r10.
    #[error("invalid {field} r{value} (registers are r0..r10)")]
    BadRegister {
        /// Which register field.
        field: Field,
        /// The value found.
        value: u8,
    },
    /// A field that must be zero (or a fixed value) is not.
    #[error("opcode 0x{opcode:02x} uses reserved field {field} = {value}")]
    ReservedField {
        /// The opcode.
        opcode: u8,
        /// Which field.
        field: Field,
        /// The value found.
        value: i64,
    },
    /// A field holds a value outside the set the opcode allows.
    #[error("opcode 0x{opcode:02x}: invalid {field} {value}")]
    BadField {
        /// The opcode.
        opcode: u8,
        /// Which field.
        field: Field,
        /// The value found.
        value: i64,
    },
    /// `lddw` is the last slot of the program.
    #[error("lddw is truncated: its second slot is missing")]
    TruncatedLddw,
    /// The second slot of `lddw` is not all zero besides its immediate.
    #[error("malformed lddw: second slot must have opcode 0 and zero registers and offset")]
    MalformedLddw,
    /// `lddw` has an unknown pseudo source.
    #[error("lddw has unknown pseudo source {0}")]
    BadLddwSource(u8),
    /// A jump or call lands outside the program.
    #[error("jump out of range: target {target} is outside 0..{len}")]
    JumpOutOfRange {
        /// Target slot.
        target: i64,
        /// Program length in slots.
        len: usize,
    },
    /// A jump or call lands on the second slot of an `lddw`.
    #[error("jump into the middle of lddw at slot {0}")]
    JumpIntoLddw(i64),
}

/// A decoding failure at a given instruction slot.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("instruction {slot}: {kind}")]
pub struct DecodeError {
    /// Index of the 8-byte slot.
    pub slot: usize,
    /// What is wrong.
    pub kind: DecodeErrorKind,
}
