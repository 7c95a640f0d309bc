//! Listings: whole programs and raw byte buffers.
//!
//! Takes a [`Program`] or a byte buffer; gives objdump-style lines `{slot:>8}:\t{text}` (slot
//! numbers in decimal, as `llvm-objdump` prints eBPF addresses divided by 8). For bytes,
//! [`disassemble`] keeps going after an invalid slot, as objdump does with `<unknown>`.

use super::{format_insn_at, Options};
use crate::decode::decode_insn;
use crate::error::DecodeErrorKind;
use crate::insn::Insn;
use crate::program::Program;
use crate::raw::RawInsn;

/// One line of a listing of raw bytes: the slot and what decoding it gave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    /// Index of the 8-byte slot the instruction starts at.
    pub slot: usize,
    /// The instruction, or why the slot does not decode (then the listing resumes at the
    /// next slot).
    pub insn: Result<Insn, DecodeErrorKind>,
}

impl Line {
    /// The text objdump prints for this line (`<unknown>` for a slot that does not decode).
    pub fn text(&self, opts: &Options) -> String {
        match &self.insn {
            Ok(insn) => format_insn_at(insn, self.slot, opts, &|_| None),
            Err(_) => "<unknown>".to_string(),
        }
    }
}

/// Decode `bytes` slot by slot, never stopping: an invalid slot gives an error line and
/// decoding resumes at the next slot. Trailing bytes short of a slot are ignored.
pub fn disassemble(bytes: &[u8]) -> Vec<Line> {
    let raw: Vec<RawInsn> = bytes
        .chunks_exact(8)
        .map(|c| {
            let mut b = [0u8; 8];
            b.copy_from_slice(c);
            RawInsn::from_bytes(b)
        })
        .collect();
    let mut lines = Vec::with_capacity(raw.len());
    let mut slot = 0;
    while slot < raw.len() {
        let insn = decode_insn(&raw[slot..]);
        let step = insn.as_ref().map_or(1, Insn::slots);
        lines.push(Line { slot, insn });
        slot += step;
    }
    lines
}

/// A program as objdump lists it: `       0:\tr0 = 0x1` lines, each ending in a newline.
pub fn format_program(p: &Program) -> String {
    format_program_with(p, &Options::default())
}

/// A program listing with options (register views, slot labels on jump targets).
pub fn format_program_with(p: &Program, opts: &Options) -> String {
    let mut out = String::new();
    for (slot, insn) in p.iter() {
        out.push_str(&format!(
            "{slot:>8}:\t{}\n",
            format_insn_at(insn, slot, opts, &|_| None)
        ));
    }
    out
}
