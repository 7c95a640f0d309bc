//! Relocation: from a program as the object gives it to one that can run.
//!
//! Takes a [`ProgramSpec`] (map references as `lddw` with `BPF_PSEUDO_MAP_IDX` /
//! `BPF_PSEUDO_MAP_IDX_VALUE`), the instance's maps and a predicate telling which helper ids
//! are provided; gives the program's instructions with every map reference a constant:
//! `lddw rX, map` loads the map's handle ([`super::map_handle`]) and `lddw rX, map_value +
//! off` the address of element 0 of the (single-element array) map plus `off`, as the
//! kernel's `map_direct_value_addr`. Every static helper call is checked: a helper user
//! space cannot provide (task structures, writing user memory, overriding returns...) or one
//! that is not registered is refused here, naming the helper and the instruction, as are
//! kfunc calls and references to kernel variables.

use userbpf_isa::{CallTarget, Insn, LdImm64Kind, Program};
use userbpf_object::ProgramSpec;

use super::{map_handle, RuntimeError, Shared};
use crate::kernel_helpers::ids;
use crate::maps::MapType;

/// Why helper `id` can never run in user space, if that is so.
pub fn unavailable_reason(id: u32) -> Option<&'static str> {
    Some(match id {
        ids::GET_CURRENT_TASK | ids::GET_CURRENT_TASK_BTF => {
            "user space has no kernel task_struct to point to"
        }
        ids::PROBE_WRITE_USER => "writing another task's memory is not supported",
        ids::OVERRIDE_RETURN => "overriding a kernel function's return value needs the kernel",
        ids::PERF_EVENT_READ => "there are no hardware perf counters behind perf event arrays",
        ids::GET_STACKID | ids::GET_TASK_STACK => "kernel stack traces do not exist here",
        ids::SPIN_LOCK | ids::SPIN_UNLOCK => "map values carry no BTF-described bpf_spin_lock here",
        _ => return None,
    })
}

fn split(value: u64) -> (i32, i32) {
    (value as u32 as i32, (value >> 32) as u32 as i32)
}

/// Relocate program `spec` against the maps of `shared`; `provided(id)` says whether helper
/// `id` is registered.
///
/// # Errors
/// [`RuntimeError`] naming the program and instruction: a map reference to a missing map,
/// a direct value reference into a map that is not a single-element array or beyond its
/// value, an unavailable or unregistered helper, a kfunc call, a kernel variable.
pub(crate) fn relocate(
    shared: &Shared,
    spec: &ProgramSpec,
    provided: &dyn Fn(u32) -> bool,
) -> Result<Program, RuntimeError> {
    let program = spec.name.as_str();
    let reloc = |insn: usize, reason: String| RuntimeError::Relocation {
        program: program.to_string(),
        insn,
        reason,
    };
    let mut out = Vec::with_capacity(spec.insns.insns().len());
    for (slot, insn) in spec.insns.iter() {
        let new =
            match *insn {
                Insn::LdImm64 {
                    dst,
                    kind,
                    imm,
                    next_imm,
                } => {
                    match kind {
                        LdImm64Kind::Imm | LdImm64Kind::Func => *insn,
                        LdImm64Kind::MapIdx | LdImm64Kind::MapIdxValue => {
                            let id = imm as u32;
                            let entry = shared.entry(id).ok_or_else(|| {
                                reloc(
                                    slot,
                                    format!("reference to map #{id}, which does not exist"),
                                )
                            })?;
                            let value = if kind == LdImm64Kind::MapIdx {
                                map_handle(id)
                            } else {
                                let spec = entry.map.spec();
                                if spec.map_type != MapType::Array || spec.max_entries != 1 {
                                    return Err(reloc(
                                        slot,
                                        format!(
                                    "direct value access into map '{}' ({}, max_entries {}): \
                                     only single-element arrays allow it",
                                    entry.name, spec.map_type, spec.max_entries
                                ),
                                    ));
                                }
                                let off = next_imm as u32;
                                if off >= spec.value_size {
                                    return Err(reloc(
                                        slot,
                                        format!(
                                    "direct value offset {off} is beyond the {}-byte value of \
                                     map '{}'",
                                    spec.value_size, entry.name
                                ),
                                    ));
                                }
                                let base =
                                    entry.map.lookup_ptr(&0u32.to_ne_bytes()).ok_or_else(|| {
                                        reloc(slot, "array has no element 0".to_string())
                                    })?;
                                base + off as u64
                            };
                            let (imm, next_imm) = split(value);
                            Insn::LdImm64 {
                                dst,
                                kind: LdImm64Kind::Imm,
                                imm,
                                next_imm,
                            }
                        }
                        LdImm64Kind::MapFd | LdImm64Kind::MapValue => return Err(reloc(
                            slot,
                            "map reference by file descriptor: objects refer to maps by index; \
                         load the ELF object instead of raw bytecode"
                                .to_string(),
                        )),
                        LdImm64Kind::BtfId => return Err(reloc(
                            slot,
                            "reference to a kernel variable (BPF_PSEUDO_BTF_ID) is not available \
                         in user space"
                                .to_string(),
                        )),
                    }
                }
                Insn::Call(CallTarget::Helper(id)) => {
                    let uid = id as u32;
                    let name = || {
                        ids::name(uid)
                            .map(str::to_string)
                            .unwrap_or_else(|| "unknown helper".to_string())
                    };
                    if id < 0 || !provided(uid) {
                        if let Some(reason) = unavailable_reason(uid) {
                            return Err(RuntimeError::HelperUnavailable {
                                program: program.to_string(),
                                insn: slot,
                                id,
                                name: name(),
                                reason,
                            });
                        }
                        return Err(RuntimeError::HelperNotProvided {
                            program: program.to_string(),
                            insn: slot,
                            id,
                            name: name(),
                        });
                    }
                    *insn
                }
                Insn::Call(CallTarget::Kfunc { .. }) => {
                    let name = spec
                        .extern_calls
                        .iter()
                        .find(|e| e.slot == slot)
                        .map_or_else(|| "unknown".to_string(), |e| e.name.clone());
                    return Err(RuntimeError::Kfunc {
                        program: program.to_string(),
                        insn: slot,
                        name,
                    });
                }
                other => other,
            };
        out.push(new);
    }
    Ok(Program::from_insns(out))
}
