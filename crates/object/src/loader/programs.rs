//! Functions and programs of the executable sections.
//!
//! Takes the ELF file; gives the functions of each executable section ([`Function`]: name,
//! byte range, visibility) and the list of program entry points, following libbpf:
//!
//! - every global `STT_FUNC` symbol of an executable section other than `.text` is a program;
//!   static functions there are subprograms (as are all functions of `.text`);
//! - a section without function symbols (objects from old clang versions, one function per
//!   section) is one program, named by the global symbol at its start, else by the section;
//! - an object whose only code is `.text` (hand-written or test objects) has its global
//!   `.text` functions as programs.
//!
//! Each program's type and attach target come from its section name ([`crate::classify`]).

use super::elf::{ElfFile, Section};
use crate::section::{AttachTarget, ProgramType};
use crate::ObjectError;
use std::collections::HashMap;

/// A function of an executable section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Function {
    /// Symbol name (or the section name for a symbol-less section).
    pub name: String,
    /// Section index.
    pub section: usize,
    /// First byte.
    pub start: u64,
    /// One past the last byte.
    pub end: u64,
    /// Global (or the only function of a symbol-less section).
    pub global: bool,
}

/// Where a piece of a linked program comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segment {
    /// Function name.
    pub function: String,
    /// Section the function is in.
    pub section: String,
    /// Its first instruction slot in that section.
    pub section_slot: usize,
    /// Its first slot in the linked program.
    pub slot: usize,
    /// Its length in slots.
    pub slots: usize,
}

/// A call of a function the object does not define (an extern such as `memset`, or a
/// kernel function). The instruction is left as a kernel-function call with BTF id 0; as
/// libbpf does, resolving it (or refusing the program) is left to load time. A userbpf
/// built-in (`memset`, ..., [`crate::BUILTINS`]) is a helper call of its private id instead.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExternCall {
    /// Slot of the `call` in the linked program.
    pub slot: usize,
    /// Name of the undefined symbol.
    pub name: String,
}

/// One program of the object, linked with its subprograms.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProgramSpec {
    /// Function name of the entry point.
    pub name: String,
    /// Section name (`xdp`, `tracepoint/syscalls/sys_enter_openat`, ...).
    pub section: String,
    /// Program type from the section name.
    pub prog_type: ProgramType,
    /// Attach target from the section name.
    pub target: AttachTarget,
    /// The linked bytecode: the entry function, then each subprogram it calls. Map
    /// references are `lddw` with `src = BPF_PSEUDO_MAP_IDX` (imm = index into
    /// [`crate::Object::maps`]) or `BPF_PSEUDO_MAP_IDX_VALUE` (next imm = value offset);
    /// subprogram calls and `BPF_PSEUDO_FUNC` references are relative to the linked code.
    pub code: Vec<u8>,
    /// The same instructions, decoded. Every jump and call target lands on an
    /// instruction unless [`ProgramSpec::target_error`] says otherwise.
    pub insns: userbpf_isa::Program,
    /// Why some jump or call target is not an instruction of the program ("instruction 1:
    /// jump out of range: ..."), or None. Such a program is kept, as libbpf loads such an
    /// object, only for the verifier to give its verdict (the kernel's "jump out of range
    /// from insn X to Y"); it cannot run: the run paths verify first, and the engines and
    /// the runtime's context analysis check every target and refuse it.
    pub target_error: Option<String>,
    /// Where each piece of `code` comes from: the entry function first.
    pub segments: Vec<Segment>,
    /// Calls of functions the object does not define.
    pub extern_calls: Vec<ExternCall>,
}

impl ProgramSpec {
    /// Length of the linked program in 8-byte slots.
    pub fn slot_count(&self) -> usize {
        self.code.len() / 8
    }

    /// The section and section slot that program slot `slot` was copied from.
    pub fn origin(&self, slot: usize) -> Option<(&str, usize)> {
        self.segments
            .iter()
            .find(|s| slot >= s.slot && slot < s.slot + s.slots)
            .map(|s| (s.section.as_str(), s.section_slot + (slot - s.slot)))
    }

    /// The segment (entry function or subprogram) containing `slot`.
    pub fn segment_at(&self, slot: usize) -> Option<&Segment> {
        self.segments
            .iter()
            .find(|s| slot >= s.slot && slot < s.slot + s.slots)
    }
}

fn check_code_section(section: &Section<'_>) -> Result<(), ObjectError> {
    let err = |message: String| ObjectError::Section {
        section: section.name.clone(),
        message,
    };
    if !section.size.is_multiple_of(8) {
        return Err(err(format!(
            "code size {} is not a multiple of 8 (the instruction size)",
            section.size
        )));
    }
    if section.data.len() as u64 != section.size {
        return Err(err("code section has no contents".into()));
    }
    Ok(())
}

/// The functions of executable section `index`, sorted by start.
pub(crate) fn functions(elf: &ElfFile<'_>, index: usize) -> Result<Vec<Function>, ObjectError> {
    let section = &elf.sections[index];
    check_code_section(section)?;
    let size = section.size;
    let mut syms: Vec<_> = elf
        .symbols_in(index)
        .map(|(_, s)| s)
        .filter(|s| s.is_func())
        .collect();
    // Global symbols first, so that an alias keeps the global name.
    syms.sort_by_key(|s| (s.value, !s.is_global()));
    syms.dedup_by_key(|s| s.value);
    if syms.is_empty() {
        let name = elf
            .symbols_in(index)
            .map(|(_, s)| s)
            .filter(|s| s.value == 0 && !s.name.is_empty())
            .min_by_key(|s| !s.is_global())
            .map_or_else(|| section.name.clone(), |s| s.name.clone());
        return Ok(vec![Function {
            name,
            section: index,
            start: 0,
            end: size,
            global: true,
        }]);
    }
    let mut out = Vec::with_capacity(syms.len());
    for (i, s) in syms.iter().enumerate() {
        let err = |message: String| ObjectError::Symbol {
            symbol: s.name.clone(),
            section: section.name.clone(),
            message,
        };
        if !s.value.is_multiple_of(8) || s.value >= size {
            return Err(err(format!(
                "function start {:#x} is not an instruction of the section ({size} bytes)",
                s.value
            )));
        }
        let next = syms.get(i + 1).map_or(size, |n| n.value);
        let end = if s.size == 0 {
            next
        } else {
            match s.value.checked_add(s.size) {
                Some(e) if e <= size && e.is_multiple_of(8) => e,
                _ => {
                    return Err(err(format!(
                        "function of {} bytes at {:#x} does not fit the section ({size} bytes) in whole instructions",
                        s.size, s.value
                    )))
                }
            }
        };
        out.push(Function {
            name: s.name.clone(),
            section: index,
            start: s.value,
            end,
            global: s.is_global(),
        });
    }
    Ok(out)
}

/// The functions of every non-empty executable section, by section index.
pub(crate) fn all_functions(
    elf: &ElfFile<'_>,
) -> Result<HashMap<usize, Vec<Function>>, ObjectError> {
    let mut out = HashMap::new();
    for (i, s) in elf.sections.iter().enumerate() {
        if s.is_exec() && s.size > 0 {
            out.insert(i, functions(elf, i)?);
        }
    }
    Ok(out)
}

/// The program entry points, in section and then address order.
pub(crate) fn entry_points<'f>(
    elf: &ElfFile<'_>,
    funcs: &'f HashMap<usize, Vec<Function>>,
) -> Vec<&'f Function> {
    let mut sections: Vec<usize> = funcs.keys().copied().collect();
    sections.sort_unstable();
    let has_program_sections = sections.iter().any(|&i| elf.sections[i].name != ".text");
    let mut out = Vec::new();
    for i in sections {
        if has_program_sections && elf.sections[i].name == ".text" {
            continue;
        }
        let fs = &funcs[&i];
        let any_global = fs.iter().any(|f| f.global);
        out.extend(fs.iter().filter(|f| f.global || !any_global));
    }
    out
}
