//! # Disassembler: typed instructions to LLVM assembly text
//!
//! Takes [`Insn`] values, a [`Program`] or raw bytes; gives text in exactly the syntax that
//! `llvm-objdump-19 -d --no-show-raw-insn` prints (checked against every executable section of
//! the ebpf-samples corpus by `tests/disasm_corpus.rs`):
//!
//! - immediates and offsets in hexadecimal, negative ones as `-0x8`: `r1 += -0x8`,
//!   `r2 = *(u16 *)(r10 - 0x8)`, `r1 = 0x1234 ll`;
//! - jump offsets relative to the next slot with an explicit sign: `if w1 == 0x5 goto +0x3`;
//! - `w` registers for 32-bit ALU and JMP32 operations. Loads and stores of 1, 2 and 4 bytes
//!   use `r` registers, as objdump prints them for its default cpu; [`Options::alu32`] prints
//!   `w` registers there, as `llvm-objdump --mcpu=v3` does.
//!
//! Where objdump prints `<unknown>` (32-bit fetching atomics without alu32), this module prints
//! the syntax LLVM uses with alu32, which its assembler accepts. Where objdump's syntax drops a
//! field (the immediate of `BPF_IND` packet loads, the second half of a pseudo `lddw`), this
//! module drops it too, so that the output stays byte-for-byte comparable.
//!
//! ```
//! use userbpf_isa::{disasm, Insn, AluOp, Reg, Source, Width};
//! let insn = Insn::Alu { width: Width::W64, op: AluOp::Add, dst: Reg::R1, src: Source::Imm(-8) };
//! assert_eq!(disasm::format_insn(&insn), "r1 += -0x8");
//! ```
//!
//! Submodules, one per instruction family: [`operand`] (registers, immediates, memory
//! operands), [`alu`], [`mem`], [`jump`], and [`listing`] (whole programs and byte buffers).

pub mod alu;
pub mod jump;
pub mod listing;
pub mod mem;
pub mod operand;

use crate::insn::Insn;

pub use listing::{disassemble, format_program, format_program_with, Line};

/// Formatting choices that `llvm-objdump` makes depend on the target cpu; these mirror them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Options {
    /// Print 1-, 2- and 4-byte loads, stores and 32-bit atomics with `w` registers
    /// (`w1 = *(u32 *)(r1 + 0x0)`), as `llvm-objdump --mcpu=v3` does. Off by default, like
    /// `llvm-objdump` without `--mcpu`.
    pub alu32: bool,
    /// Append ` <L{slot}>` (the absolute target slot) to jumps and local calls, the way
    /// objdump appends symbol names. Off by default.
    pub slot_labels: bool,
}

/// One instruction in objdump's syntax, with numeric relative jump offsets (`goto +0x3`).
pub fn format_insn(insn: &Insn) -> String {
    format_insn_with(insn, &Options::default())
}

/// One instruction in objdump's syntax with the given options (labels need a slot: see
/// [`format_insn_at`]).
pub fn format_insn_with(insn: &Insn, opts: &Options) -> String {
    match *insn {
        Insn::Alu { .. } | Insn::Neg { .. } | Insn::MovSx { .. } | Insn::Endian { .. } => {
            alu::format(insn)
        }
        Insn::Load { .. }
        | Insn::LoadSx { .. }
        | Insn::Store { .. }
        | Insn::Atomic { .. }
        | Insn::LdImm64 { .. }
        | Insn::LoadPacket { .. } => mem::format(insn, opts.alu32),
        Insn::Ja { .. }
        | Insn::Gotol { .. }
        | Insn::Jump { .. }
        | Insn::Call(_)
        | Insn::CallX { .. }
        | Insn::Exit
        | Insn::MayGoto { .. } => jump::format(insn),
    }
}

/// One instruction located at `slot`, with its jump or local-call target annotated as
/// ` <name>` when `name` gives one for the absolute target slot (objdump prints
/// ` <LBB0_2>` or ` <func+0x18>` there). With [`Options::slot_labels`] and no name from
/// `name`, the annotation is ` <L{target}>`.
pub fn format_insn_at(
    insn: &Insn,
    slot: usize,
    opts: &Options,
    name: &dyn Fn(usize) -> Option<String>,
) -> String {
    let mut text = format_insn_with(insn, opts);
    if let Some(target) = jump::target_slot(insn, slot) {
        let label = name(target).or_else(|| opts.slot_labels.then(|| format!("L{target}")));
        if let Some(label) = label {
            text.push_str(" <");
            text.push_str(&label);
            text.push('>');
        }
    }
    text
}
