//! Writing a CO-RE result into its instruction.
//!
//! Takes the relocated instruction, the value computed in the object's own BTF (which the
//! instruction must hold, as libbpf checks) and the target's value; gives the patched
//! instruction: the immediate of an ALU instruction, the offset (and, when the field's size
//! changed, the size) of a load or store, or the 64-bit immediate of an `lddw`.

use userbpf_isa::{Insn, LdImm64Kind, MemSize, Source};

fn mem_size(bytes: u32) -> Option<MemSize> {
    match bytes {
        1 => Some(MemSize::B),
        2 => Some(MemSize::H),
        4 => Some(MemSize::W),
        8 => Some(MemSize::DW),
        _ => None,
    }
}

/// Patch `insn` from `local` to `value`.
pub fn patch(insn: &Insn, local: u64, value: u64, new_size: Option<u32>) -> Result<Insn, String> {
    match *insn {
        Insn::Alu {
            width,
            op,
            dst,
            src: Source::Imm(imm),
        } => {
            if imm as i64 as u64 != local && imm as u32 as u64 != local {
                return Err(format!(
                    "instruction holds {imm}, expected the local value {local}"
                ));
            }
            let v = i32::try_from(value as i64)
                .or_else(|_| u32::try_from(value).map(|u| u as i32))
                .map_err(|_| format!("value {value} does not fit a 32-bit immediate"))?;
            Ok(Insn::Alu {
                width,
                op,
                dst,
                src: Source::Imm(v),
            })
        }
        Insn::Load {
            size,
            dst,
            src,
            off,
        }
        | Insn::LoadSx {
            size,
            dst,
            src,
            off,
        } => {
            if off as i64 as u64 != local {
                return Err(format!(
                    "load offset {off} differs from the local field offset {local}"
                ));
            }
            let off = i16::try_from(value)
                .map_err(|_| format!("offset {value} does not fit an instruction offset"))?;
            let size = new_size.and_then(mem_size).unwrap_or(size);
            Ok(match *insn {
                Insn::LoadSx { .. } => Insn::LoadSx {
                    size,
                    dst,
                    src,
                    off,
                },
                _ => Insn::Load {
                    size,
                    dst,
                    src,
                    off,
                },
            })
        }
        Insn::Store {
            size,
            dst,
            off,
            src,
        } => {
            if off as i64 as u64 != local {
                return Err(format!(
                    "store offset {off} differs from the local field offset {local}"
                ));
            }
            let off = i16::try_from(value)
                .map_err(|_| format!("offset {value} does not fit an instruction offset"))?;
            let size = new_size.and_then(mem_size).unwrap_or(size);
            Ok(Insn::Store {
                size,
                dst,
                off,
                src,
            })
        }
        Insn::LdImm64 {
            dst,
            kind: LdImm64Kind::Imm,
            ..
        } => Ok(Insn::lddw(dst, value)),
        other => Err(format!("cannot patch {other:?}")),
    }
}
