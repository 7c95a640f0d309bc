//! CO-RE: relocating field offsets, type facts and enum values against a target BTF.
//!
//! Takes a parsed [`Object`] (its programs and `.BTF.ext` CO-RE records) and a target BTF
//! (the host's `/sys/kernel/btf/vmlinux` by default, or any BTF file); gives the object with
//! each relocated instruction patched, as libbpf does before loading: field byte offsets,
//! sizes, existence, signedness and bitfield shifts (`FIELD_*`), type ids, existence, size
//! and matches (`TYPE_*`), enumerator existence and values (`ENUMVAL_*`). A relocation whose
//! field, type or enumerator the target lacks is an error naming it, except the `*_EXISTS`
//! and `TYPE_MATCHES` kinds, which then give 0.

mod matching;
mod patch;
mod spec;

use thiserror::Error;

use crate::btf::{parse_access_str, Btf, CoreRelo, CoreReloKind, TypeKind};
use crate::Object;

pub use spec::{essential_name, local_spec, Spec, Step};

/// The host kernel's BTF.
pub const VMLINUX_BTF: &str = "/sys/kernel/btf/vmlinux";

/// Why a CO-RE relocation cannot be applied.
#[derive(Debug, Error)]
#[error(
    "CO-RE relocation in program {program}, instruction {insn} ({kind:?} of {path}): {message}"
)]
pub struct CoreError {
    /// Program name.
    pub program: String,
    /// Instruction slot in the program.
    pub insn: usize,
    /// Relocation kind.
    pub kind: CoreReloKind,
    /// The accessed field or type, e.g. `task_struct.pid`.
    pub path: String,
    /// What went wrong.
    pub message: String,
}

/// What [`apply`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CoreReport {
    /// Relocations applied.
    pub applied: usize,
    /// Existence checks that found nothing (patched to 0).
    pub absent: usize,
}

/// Load the host kernel's BTF.
///
/// # Errors
/// A description when the file is missing or malformed.
pub fn host_btf() -> Result<Btf, String> {
    let bytes =
        std::fs::read(VMLINUX_BTF).map_err(|e| format!("cannot read {VMLINUX_BTF}: {e}"))?;
    Btf::parse(&bytes).map_err(|e| format!("{VMLINUX_BTF}: {e}"))
}

/// The values a relocation computes: in the local BTF (to check the instruction) and in the
/// target.
struct Resolved {
    local: u64,
    target: Option<u64>,
    /// New access size in bytes for memory instructions (field offset relocations).
    target_size: Option<u32>,
    path: String,
}

fn field_values(btf: &Btf, spec: &Spec, kind: CoreReloKind) -> Result<(u64, Option<u32>), String> {
    let ty = btf
        .resolved_type(spec.field_type)
        .map_err(|e| e.to_string())?;
    let type_size = btf.size_of(spec.field_type).map_err(|e| e.to_string())?;
    let (byte_off, byte_sz, bit_sz) = if spec.bitfield_size > 0 {
        let sz = type_size.max(1) as u64;
        let off = spec.bit_offset / 8 / sz * sz;
        (off, sz, spec.bitfield_size as u64)
    } else {
        (spec.bit_offset / 8, type_size as u64, type_size as u64 * 8)
    };
    let signed = match &ty.kind {
        TypeKind::Int { encoding, .. } => encoding.signed,
        TypeKind::Enum { signed, .. } | TypeKind::Enum64 { signed, .. } => *signed,
        _ => false,
    };
    let bit_in_load = spec.bit_offset - byte_off * 8;
    let v = match kind {
        CoreReloKind::FieldByteOffset => byte_off,
        CoreReloKind::FieldByteSize => byte_sz,
        CoreReloKind::FieldExists => 1,
        CoreReloKind::FieldSigned => signed as u64,
        CoreReloKind::FieldLshiftU64 => 64u64.wrapping_sub(bit_in_load + bit_sz),
        CoreReloKind::FieldRshiftU64 => 64 - bit_sz,
        other => return Err(format!("{other:?} is not a field relocation")),
    };
    let size = (spec.bitfield_size == 0).then_some(type_size);
    Ok((v, size))
}

fn resolve(local: &Btf, target: &Btf, relo: &CoreRelo) -> Result<Resolved, String> {
    let access = parse_access_str(&relo.access).map_err(|e| e.to_string())?;
    match relo.kind {
        CoreReloKind::FieldByteOffset
        | CoreReloKind::FieldByteSize
        | CoreReloKind::FieldExists
        | CoreReloKind::FieldSigned
        | CoreReloKind::FieldLshiftU64
        | CoreReloKind::FieldRshiftU64 => {
            let lspec = local_spec(local, relo.type_id, &access)?;
            let (lv, _) = field_values(local, &lspec, relo.kind)?;
            let mut found: Option<(u64, Option<u32>)> = None;
            for cand in matching::candidates(local, relo.type_id, target) {
                if let Some(tspec) = matching::match_field(local, &lspec, target, cand) {
                    let v = field_values(target, &tspec, relo.kind)?;
                    match found {
                        Some(prev) if prev.0 != v.0 => {
                            return Err(format!(
                                "ambiguous: target types give {} and {}",
                                prev.0, v.0
                            ))
                        }
                        _ => found = Some(v),
                    }
                }
            }
            Ok(Resolved {
                local: lv,
                target: found.map(|f| f.0),
                target_size: found.and_then(|f| f.1),
                path: lspec.path,
            })
        }
        CoreReloKind::TypeIdLocal
        | CoreReloKind::TypeIdTarget
        | CoreReloKind::TypeExists
        | CoreReloKind::TypeSize
        | CoreReloKind::TypeMatches => {
            let name = local
                .type_by_id(relo.type_id)
                .map(|t| t.name.clone())
                .unwrap_or_default();
            let cand = matching::candidates(local, relo.type_id, target)
                .into_iter()
                .find(|&c| matching::types_compatible(local, relo.type_id, target, c, 0));
            let local_value = match relo.kind {
                CoreReloKind::TypeIdLocal | CoreReloKind::TypeIdTarget => relo.type_id as u64,
                CoreReloKind::TypeSize => local.size_of(relo.type_id).unwrap_or(0) as u64,
                _ => 1,
            };
            let target_value = match relo.kind {
                CoreReloKind::TypeIdLocal => Some(relo.type_id as u64),
                CoreReloKind::TypeIdTarget => cand.map(|c| c as u64),
                CoreReloKind::TypeSize => match cand {
                    Some(c) => Some(target.size_of(c).map_err(|e| e.to_string())? as u64),
                    None => None,
                },
                _ => cand.map(|_| 1),
            };
            Ok(Resolved {
                local: local_value,
                target: target_value,
                target_size: None,
                path: name,
            })
        }
        CoreReloKind::EnumvalExists | CoreReloKind::EnumvalValue => {
            let lt = local
                .resolved_type(relo.type_id)
                .map_err(|e| e.to_string())?;
            let values = match &lt.kind {
                TypeKind::Enum { values, .. } | TypeKind::Enum64 { values, .. } => values,
                _ => return Err("enum relocation on a non-enum type".into()),
            };
            let idx = *access.first().ok_or("empty access string")? as usize;
            let ev = values
                .get(idx)
                .ok_or_else(|| format!("enumerator index {idx} out of range"))?;
            let path = format!("{}::{}", lt.name, ev.name);
            let mut target_value = None;
            for cand in matching::candidates(local, relo.type_id, target) {
                if let Ok(t) = target.resolved_type(cand) {
                    if let TypeKind::Enum { values, .. } | TypeKind::Enum64 { values, .. } = &t.kind
                    {
                        if let Some(e) = values
                            .iter()
                            .find(|e| essential_name(&e.name) == essential_name(&ev.name))
                        {
                            target_value = Some(e.value);
                            break;
                        }
                    }
                }
            }
            let (local_value, target_value) = if relo.kind == CoreReloKind::EnumvalExists {
                (1, target_value.map(|_| 1))
            } else {
                (ev.value, target_value)
            };
            Ok(Resolved {
                local: local_value,
                target: target_value,
                target_size: None,
                path,
            })
        }
    }
}

fn is_existence(kind: CoreReloKind) -> bool {
    matches!(
        kind,
        CoreReloKind::FieldExists
            | CoreReloKind::TypeExists
            | CoreReloKind::EnumvalExists
            | CoreReloKind::TypeMatches
    )
}

/// Apply every CO-RE relocation of `object` against `target`, patching its programs.
///
/// # Errors
/// [`CoreError`] naming the program, instruction and field when a relocation cannot be
/// resolved or its instruction cannot hold the result.
pub fn apply(object: &mut Object, target: &Btf) -> Result<CoreReport, CoreError> {
    let mut report = CoreReport::default();
    let (Some(local), Some(ext)) = (object.btf.as_ref(), object.btf_ext.as_ref()) else {
        return Ok(report);
    };
    for program in &mut object.programs {
        let mut insns = program.insns.insns().to_vec();
        let starts = program.insns.starts().to_vec();
        let mut changed = false;
        for seg in &program.segments {
            let Some(sec) = ext.section(&seg.section) else {
                continue;
            };
            for relo in &sec.core_relos {
                if relo.slot < seg.section_slot || relo.slot >= seg.section_slot + seg.slots {
                    continue;
                }
                let slot = seg.slot + relo.slot - seg.section_slot;
                let err = |path: &str, message: String| CoreError {
                    program: program.name.clone(),
                    insn: slot,
                    kind: relo.kind,
                    path: path.to_string(),
                    message,
                };
                let r = resolve(local, target, relo).map_err(|m| err(&relo.access, m))?;
                let value =
                    match r.target {
                        Some(v) => v,
                        None if is_existence(relo.kind) => {
                            report.absent += 1;
                            0
                        }
                        None => return Err(err(
                            &r.path,
                            "not found in the target BTF (the kernel has no such field, type or \
                             enumerator); guard the access with bpf_core_field_exists()"
                                .into(),
                        )),
                    };
                let index = starts.binary_search(&slot).map_err(|_| {
                    err(&r.path, "relocation is not at an instruction start".into())
                })?;
                insns[index] = patch::patch(&insns[index], r.local, value, r.target_size)
                    .map_err(|m| err(&r.path, m))?;
                report.applied += 1;
                changed = true;
            }
        }
        if changed {
            let p = userbpf_isa::Program::from_insns(insns);
            program.code = p.to_bytes();
            program.insns = p;
        }
    }
    Ok(report)
}
