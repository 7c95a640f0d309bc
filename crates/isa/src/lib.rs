//! # userbpf-isa: the eBPF instruction set
//!
//! Takes bytes or assembly text; gives typed instructions ([`Insn`]) and back. Covers RFC 9669
//! (cpu v1 to v4) and the kernel's `may_goto`:
//!
//! - [`Insn`]: one exhaustive enum; invalid field combinations are unrepresentable.
//! - [`decode_insn`] / [`encode_insn`] and [`Program`]: lossless conversion with precise
//!   errors ([`DecodeError`]) for every invalid encoding.
//! - [`semantics`]: the arithmetic of every operation, written once.
//! - [`asm`]: an assembler for the LLVM/kernel syntax and the bpf_conformance syntax.
//! - [`disasm`]: a disassembler printing what `llvm-objdump -d` prints.
//!
//! ```
//! use userbpf_isa::{Insn, Program, Reg, Width, AluOp, Source};
//! let insns = vec![
//!     Insn::Alu { width: Width::W64, op: AluOp::Mov, dst: Reg::R0, src: Source::Imm(42) },
//!     Insn::Exit,
//! ];
//! let bytes = userbpf_isa::encode_program(&insns);
//! let program = Program::decode(&bytes).unwrap();
//! assert_eq!(program.insns(), &insns[..]);
//! ```

pub mod asm;
pub mod decode;
pub mod disasm;
pub mod encode;
pub mod error;
pub mod insn;
pub mod opcode;
pub mod program;
pub mod raw;
pub mod reg;
pub mod semantics;

pub use decode::decode_insn;
pub use encode::encode_insn;
pub use error::{DecodeError, DecodeErrorKind, Field};
pub use insn::*;
pub use program::{encode_program, relative_target, Program};
pub use raw::RawInsn;
pub use reg::Reg;
