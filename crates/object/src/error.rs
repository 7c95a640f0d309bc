//! The loader's error type.
//!
//! Takes nothing; gives [`ObjectError`], the one error enum of this crate. Every variant that
//! comes from a place in the file names it: the section, the instruction index (in 8-byte
//! slots from the start of the section) and the symbol involved.

use thiserror::Error;

/// Why an object cannot be loaded.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum ObjectError {
    /// Not a well-formed ELF file.
    #[error("malformed ELF object: {0}")]
    Malformed(String),
    /// Not an eBPF object.
    #[error("not an eBPF object: machine is {0}")]
    NotBpf(String),
    /// A section's header or contents cannot be used.
    #[error("section {section}: {message}")]
    Section {
        /// Section name.
        section: String,
        /// What went wrong.
        message: String,
    },
    /// A symbol is malformed (bad section index, out-of-range value or size).
    #[error("symbol {symbol} in section {section}: {message}")]
    Symbol {
        /// Symbol name.
        symbol: String,
        /// Section the symbol points into.
        section: String,
        /// What went wrong.
        message: String,
    },
    /// A relocation cannot be applied.
    #[error("section {section}, instruction {insn}: relocation against {symbol}: {message}")]
    Relocation {
        /// Section the relocation applies to.
        section: String,
        /// Instruction index (8-byte slots from the section start).
        insn: usize,
        /// Symbol the relocation refers to.
        symbol: String,
        /// What went wrong.
        message: String,
    },
    /// A map definition is malformed.
    #[error("map {map} in section {section}: {message}")]
    Map {
        /// Map (symbol) name.
        map: String,
        /// Section holding the definition.
        section: String,
        /// What went wrong.
        message: String,
    },
    /// A bpf-to-bpf call or function reference cannot be linked.
    #[error("program {program}, section {section}, instruction {insn}: {message}")]
    Link {
        /// Program being linked.
        program: String,
        /// Section of the instruction.
        section: String,
        /// Instruction index in that section.
        insn: usize,
        /// What went wrong.
        message: String,
    },
    /// The BTF or BTF.ext section cannot be parsed.
    #[error("section {section}: invalid BTF: {message}")]
    Btf {
        /// `.BTF` or `.BTF.ext`.
        section: String,
        /// The parser's message.
        message: String,
    },
}
