//! Jump targets: relative offsets and label resolution.
//!
//! Takes the parsed instructions of a whole text, some of which name a label as their target,
//! and the instruction index each label marks; gives the final instructions with relative
//! offsets (counted in slots from the slot after the jump; `lddw` is two slots), or an error
//! for an unknown label or an offset that does not fit its field.

use std::collections::HashMap;

use super::cursor::Target;
use super::error::{AsmError, AsmErrorKind, LineError};
use super::operand::{off16, off32};
use crate::insn::{CallTarget, Insn};

/// A label an instruction jumps or calls to, and where it was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct LabelRef {
    /// The label's name.
    pub name: String,
    /// Column of the name, from 1.
    pub col: usize,
}

/// One parsed instruction; its target offset is still 0 when `label` is set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Parsed {
    /// The instruction.
    pub insn: Insn,
    /// The label its offset must point to, if it names one.
    pub label: Option<LabelRef>,
}

impl Parsed {
    /// An instruction without a label.
    pub fn plain(insn: Insn) -> Parsed {
        Parsed { insn, label: None }
    }

    /// A jump or call `insn` (with offset 0) going to `target`, written at column `col`.
    ///
    /// # Errors
    /// A relative offset that does not fit the instruction's offset field.
    pub fn with_target(
        mut insn: Insn,
        target: Target<'_>,
        col: usize,
    ) -> Result<Parsed, LineError> {
        match target {
            Target::Rel(rel) => {
                set_offset(&mut insn, rel).map_err(|kind| LineError::new(col, kind))?;
                Ok(Parsed::plain(insn))
            }
            Target::Label(name) => Ok(Parsed {
                insn,
                label: Some(LabelRef {
                    name: name.to_string(),
                    col,
                }),
            }),
        }
    }
}

/// Set the relative target of a jump or local call, checking that it fits.
pub(crate) fn set_offset(insn: &mut Insn, rel: i128) -> Result<(), AsmErrorKind> {
    match insn {
        Insn::Ja { off } | Insn::MayGoto { off } | Insn::Jump { off, .. } => *off = off16(rel)?,
        Insn::Gotol { off } | Insn::Call(CallTarget::Local(off)) => *off = off32(rel)?,
        _ => {}
    }
    Ok(())
}

/// One instruction of the whole text with the line it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Item {
    /// Line number, from 1.
    pub line: usize,
    /// The parsed instruction.
    pub parsed: Parsed,
}

/// Resolve every label reference of `items`; `labels` maps a name to the index (in `items`)
/// of the instruction it marks (`items.len()` for a label at the very end).
///
/// # Errors
/// An unknown label, or a resolved offset that does not fit its field.
pub(crate) fn resolve(
    items: Vec<Item>,
    labels: &HashMap<String, usize>,
) -> Result<Vec<Insn>, AsmError> {
    let mut starts = Vec::with_capacity(items.len() + 1);
    let mut slot = 0i128;
    for item in &items {
        starts.push(slot);
        slot += item.parsed.insn.slots() as i128;
    }
    starts.push(slot);
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            let mut insn = item.parsed.insn;
            if let Some(label) = item.parsed.label {
                let err = |kind| AsmError {
                    line: item.line,
                    column: label.col,
                    kind,
                };
                let target = *labels
                    .get(&label.name)
                    .ok_or_else(|| err(AsmErrorKind::UnknownLabel(label.name.clone())))?;
                set_offset(&mut insn, starts[target] - (starts[i] + 1)).map_err(err)?;
            }
            Ok(insn)
        })
        .collect()
}
