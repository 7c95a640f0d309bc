//! Shared helpers of the verifier suites: assemble, verify, and ask the kernel.
#![allow(dead_code)]

pub mod gen;

use userbpf_isa::{asm, Program};
use userbpf_verifier::{verify, MapInfo, Options, ProgType, VerifierError, VerifierInput};

/// Assemble LLVM-syntax text into a program.
pub fn program(text: &str) -> Program {
    Program::from_insns(asm::assemble(text).unwrap_or_else(|e| panic!("{e}\n{text}")))
}

/// Verify `text` as `pt` with `maps`.
pub fn run(
    text: &str,
    pt: ProgType,
    maps: &[MapInfo],
    opts: Options,
) -> Result<u64, VerifierError> {
    let p = program(text);
    let input = VerifierInput {
        program: &p,
        prog_type: pt,
        maps,
        options: opts,
    };
    verify(&input).map(|v| v.processed_insns)
}

/// The kernel's verdict (`Ok(())` accepted, `Err(log)` rejected), or `None` when bpf() is
/// unavailable or the case cannot be loaded there.
pub fn kernel(text: &str, pt: ProgType) -> Option<Result<(), String>> {
    if userbpf_kernel::available().is_err() {
        return None;
    }
    let id = match pt {
        ProgType::Raw { .. } => return None,
        p => p.kernel_id(),
    };
    let bytes = program(text).to_bytes();
    Some(
        userbpf_kernel::prog_load(id, &bytes, "GPL", 0)
            .map(|_| ())
            .map_err(|e| e.log),
    )
}
