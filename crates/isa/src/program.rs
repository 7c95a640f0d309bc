//! Whole programs: byte buffers to instruction lists and back, with control-flow checks.
//!
//! Takes the bytes of a program (a sequence of 8-byte slots); gives a [`Program`]: the typed
//! instructions with their slot positions, or a [`DecodeError`] naming the slot. Jump and call
//! targets are checked to land inside the program and not inside an `lddw`.

use crate::decode::decode_insn;
use crate::encode::encode_insn;
use crate::error::{DecodeError, DecodeErrorKind};
use crate::insn::{CallTarget, Insn, LdImm64Kind};
use crate::raw::{slots, RawInsn};

/// A decoded program: instructions in order, each with the slot it starts at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Program {
    insns: Vec<Insn>,
    starts: Vec<usize>,
    slot_count: usize,
}

impl Program {
    /// Decode `bytes` without checking jump targets (for object-file sections whose calls
    /// still await relocation).
    ///
    /// # Errors
    /// A length that is not a multiple of 8, or any invalid instruction.
    pub fn decode_unchecked_targets(bytes: &[u8]) -> Result<Program, DecodeError> {
        let raw = slots(bytes).ok_or(DecodeError {
            slot: 0,
            kind: DecodeErrorKind::BadLength(bytes.len()),
        })?;
        Self::from_raw_unchecked_targets(&raw)
    }

    /// Decode raw slots without checking jump targets.
    ///
    /// # Errors
    /// Any invalid instruction.
    pub fn from_raw_unchecked_targets(raw: &[RawInsn]) -> Result<Program, DecodeError> {
        let mut insns = Vec::with_capacity(raw.len());
        let mut starts = Vec::with_capacity(raw.len());
        let mut slot = 0;
        while slot < raw.len() {
            let insn = decode_insn(&raw[slot..]).map_err(|kind| DecodeError { slot, kind })?;
            insns.push(insn);
            starts.push(slot);
            slot += insn.slots();
        }
        Ok(Program {
            insns,
            starts,
            slot_count: raw.len(),
        })
    }

    /// Decode `bytes` and check that every jump, local call and function reference lands on
    /// an instruction of the program.
    ///
    /// # Errors
    /// Bad length, empty program, invalid instruction, or a target out of range or inside
    /// an `lddw`.
    pub fn decode(bytes: &[u8]) -> Result<Program, DecodeError> {
        if bytes.is_empty() {
            return Err(DecodeError {
                slot: 0,
                kind: DecodeErrorKind::Empty,
            });
        }
        let p = Self::decode_unchecked_targets(bytes)?;
        p.check_targets()?;
        Ok(p)
    }

    /// Build a program from instructions (slot positions computed).
    pub fn from_insns(insns: Vec<Insn>) -> Program {
        let mut starts = Vec::with_capacity(insns.len());
        let mut slot = 0;
        for i in &insns {
            starts.push(slot);
            slot += i.slots();
        }
        Program {
            insns,
            starts,
            slot_count: slot,
        }
    }

    /// Check every jump and local-call target.
    ///
    /// # Errors
    /// The first target out of range or inside an `lddw`.
    pub fn check_targets(&self) -> Result<(), DecodeError> {
        let mut is_start = vec![false; self.slot_count];
        for &s in &self.starts {
            is_start[s] = true;
        }
        for (insn, &slot) in self.insns.iter().zip(&self.starts) {
            if let Some(target) = relative_target(insn).map(|rel| slot as i64 + 1 + rel) {
                let kind = if target < 0 || target >= self.slot_count as i64 {
                    DecodeErrorKind::JumpOutOfRange {
                        target,
                        len: self.slot_count,
                    }
                } else if !is_start[target as usize] {
                    DecodeErrorKind::JumpIntoLddw(target)
                } else {
                    continue;
                };
                return Err(DecodeError { slot, kind });
            }
        }
        Ok(())
    }

    /// The instructions.
    pub fn insns(&self) -> &[Insn] {
        &self.insns
    }

    /// The slot each instruction starts at (parallel to [`Program::insns`]).
    pub fn starts(&self) -> &[usize] {
        &self.starts
    }

    /// Total length in 8-byte slots.
    pub fn slot_count(&self) -> usize {
        self.slot_count
    }

    /// Iterate over `(slot, instruction)`.
    pub fn iter(&self) -> impl Iterator<Item = (usize, &Insn)> {
        self.starts.iter().copied().zip(self.insns.iter())
    }

    /// Encode back to raw slots.
    pub fn to_raw(&self) -> Vec<RawInsn> {
        self.insns.iter().flat_map(encode_insn).collect()
    }

    /// Encode back to bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        encode_program(&self.insns)
    }
}

/// The relative slot offset an instruction transfers control (or refers) to, if any.
pub fn relative_target(insn: &Insn) -> Option<i64> {
    match *insn {
        Insn::Call(CallTarget::Local(rel)) => Some(rel as i64),
        Insn::LdImm64 {
            kind: LdImm64Kind::Func,
            imm,
            ..
        } => Some(imm as i64),
        _ => insn.jump_offset(),
    }
}

/// Encode a list of instructions to bytes.
pub fn encode_program(insns: &[Insn]) -> Vec<u8> {
    insns
        .iter()
        .flat_map(encode_insn)
        .flat_map(|r| r.to_bytes())
        .collect()
}
