//! An own typed x86-64 assembler: the instructions the JIT emits, as data.
//!
//! Takes nothing; gives [`X86Insn`] (typed instructions over [`X86Reg`], [`Mem`], [`Size`],
//! [`Cond`]), their encoding ([`encode()`]) and their Intel-syntax text (`Display`, printed
//! the way iced-x86's Intel formatter prints with the options of the encoder tests). Tests
//! check (instruction, bytes, text) triples and decode random instructions with iced-x86.

pub mod encode;
pub mod fmt;
pub mod insn;
pub mod reg;

pub use encode::encode;
pub use insn::{AluOp, Mem, Scale, ShiftBy, ShiftOp, X86Insn};
pub use reg::{Cond, Size, X86Reg};
