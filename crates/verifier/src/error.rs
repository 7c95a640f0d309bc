//! The verifier's error value.
//!
//! Takes a rejection found by the analysis; gives [`VerifierError`]: the instruction (slot
//! index, as the kernel numbers them), the kernel's message text, the abstract state of the
//! registers involved, a hint in plain words, the processed-instruction count and the log.

use thiserror::Error;

/// Why a program was rejected.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("insn {insn}: {message}")]
pub struct VerifierError {
    /// Slot index of the offending instruction.
    pub insn: usize,
    /// The kernel's message (for example `R1 invalid mem access 'scalar'`).
    pub message: String,
    /// The registers involved and their abstract states (`("R2", "pkt(off=14,r=0)")`).
    pub regs: Vec<(String, String)>,
    /// The usual fix, in plain words.
    pub hint: Option<String>,
    /// Instructions processed before the rejection.
    pub processed: u64,
    /// The verifier log up to the rejection (empty at log level 0).
    pub log: String,
}
