//! Matching a local access against a target BTF, as libbpf's CO-RE does.
//!
//! Takes the local [`Spec`] (walked in the object's BTF) and the target BTF; gives the target
//! [`Spec`] for a candidate type of the same kind and essential name whose members along the
//! path have the same names and compatible types, or why none matches. Also the type
//! compatibility rules of type-based relocations.

use super::spec::{essential_name, Spec, Step};
use crate::btf::{Btf, Kind, TypeKind};

const MAX_DEPTH: usize = 32;

fn kind_of(btf: &Btf, id: u32) -> Option<Kind> {
    btf.resolved_type(id).ok().map(|t| t.kind())
}

/// Whether two field types are compatible (libbpf's `bpf_core_fields_are_compat`): composite
/// with composite, int/enum with int/enum, pointers with pointers, arrays by element.
pub fn fields_compatible(local: &Btf, l: u32, target: &Btf, t: u32, depth: usize) -> bool {
    if depth > MAX_DEPTH {
        return false;
    }
    let (Ok(lt), Ok(tt)) = (local.resolved_type(l), target.resolved_type(t)) else {
        return false;
    };
    use Kind::*;
    match (lt.kind(), tt.kind()) {
        (Struct | Union | Fwd, Struct | Union | Fwd) => true,
        (Int | Enum | Enum64, Int | Enum | Enum64) => true,
        (Float, Float) => true,
        (Ptr, Ptr) => true,
        (Array, Array) => match (&lt.kind, &tt.kind) {
            (TypeKind::Array { elem_type: le, .. }, TypeKind::Array { elem_type: te, .. }) => {
                fields_compatible(local, *le, target, *te, depth + 1)
            }
            _ => false,
        },
        _ => false,
    }
}

/// Whether two types are compatible for type-based relocations (libbpf's
/// `bpf_core_types_are_compat`): same kind, and for pointers, arrays and function prototypes
/// compatible parts; names are not compared below the root.
pub fn types_compatible(local: &Btf, l: u32, target: &Btf, t: u32, depth: usize) -> bool {
    if depth > MAX_DEPTH {
        return false;
    }
    let (Ok(lt), Ok(tt)) = (local.resolved_type(l), target.resolved_type(t)) else {
        return false;
    };
    match (&lt.kind, &tt.kind) {
        (TypeKind::Void, TypeKind::Void) => true,
        (TypeKind::Ptr { type_id: a }, TypeKind::Ptr { type_id: b }) => {
            types_compatible(local, *a, target, *b, depth + 1)
        }
        (TypeKind::Array { elem_type: a, .. }, TypeKind::Array { elem_type: b, .. }) => {
            types_compatible(local, *a, target, *b, depth + 1)
        }
        (
            TypeKind::FuncProto {
                return_type: ra,
                params: pa,
            },
            TypeKind::FuncProto {
                return_type: rb,
                params: pb,
            },
        ) => {
            pa.len() == pb.len()
                && types_compatible(local, *ra, target, *rb, depth + 1)
                && pa
                    .iter()
                    .zip(pb)
                    .all(|(x, y)| types_compatible(local, x.type_id, target, y.type_id, depth + 1))
        }
        _ => {
            let (ka, kb) = (lt.kind(), tt.kind());
            ka == kb
                || matches!(
                    (ka, kb),
                    (Kind::Enum | Kind::Enum64, Kind::Enum | Kind::Enum64)
                        | (Kind::Struct | Kind::Union | Kind::Fwd, Kind::Fwd)
                        | (Kind::Fwd, Kind::Struct | Kind::Union)
                )
        }
    }
}

/// Find a member named `name` in target type `id`, looking through anonymous members;
/// returns (member index path, bit offset, member type, bitfield size).
fn find_member(btf: &Btf, id: u32, name: &str, depth: usize) -> Option<(u64, u32, u32)> {
    if depth > MAX_DEPTH {
        return None;
    }
    let t = btf.resolved_type(id).ok()?;
    let members = match &t.kind {
        TypeKind::Struct { members, .. } | TypeKind::Union { members, .. } => members,
        _ => return None,
    };
    for m in members {
        if m.name.is_empty() {
            if let Some((off, ty, bits)) = find_member(btf, m.type_id, name, depth + 1) {
                return Some((m.bits_offset as u64 + off, ty, bits));
            }
        } else if essential_name(&m.name) == essential_name(name) {
            return Some((m.bits_offset as u64, m.type_id, m.bitfield_size as u32));
        }
    }
    None
}

/// Walk the local spec's steps in target type `cand`; the target spec if every step matches.
pub fn match_field(local: &Btf, lspec: &Spec, target: &Btf, cand: u32) -> Option<Spec> {
    let size = target.size_of(cand).ok()? as u64;
    let mut steps = lspec.steps.iter();
    let Some(Step::Index(first)) = steps.next() else {
        return None;
    };
    let mut bit_offset = *first as u64 * size * 8;
    let mut cur = cand;
    let mut bitfield_size = 0;
    // Walk local types alongside to check compatibility at each member.
    let mut local_cur = lspec.root;
    for step in steps {
        match step {
            Step::Member { name, index } => {
                let lt = local.resolved_type(local_cur).ok()?;
                let local_member_type = match &lt.kind {
                    TypeKind::Struct { members, .. } | TypeKind::Union { members, .. } => {
                        members.get(*index as usize)?.type_id
                    }
                    _ => return None,
                };
                if name.is_empty() {
                    // Anonymous members are not matched themselves: the next named member
                    // is searched through the target's anonymous members (as libbpf does).
                    local_cur = local_member_type;
                    continue;
                }
                let (off, ty, bits) = find_member(target, cur, name, 0)?;
                if !fields_compatible(local, local_member_type, target, ty, 0) {
                    return None;
                }
                bit_offset += off;
                bitfield_size = bits;
                cur = ty;
                local_cur = local_member_type;
            }
            Step::Index(i) => {
                let tt = target.resolved_type(cur).ok()?;
                let TypeKind::Array {
                    elem_type, nelems, ..
                } = &tt.kind
                else {
                    return None;
                };
                if *i >= *nelems && *nelems != 0 {
                    return None;
                }
                let es = target.size_of(*elem_type).ok()? as u64;
                bit_offset += *i as u64 * es * 8;
                bitfield_size = 0;
                cur = *elem_type;
                let lt = local.resolved_type(local_cur).ok()?;
                let TypeKind::Array { elem_type: le, .. } = &lt.kind else {
                    return None;
                };
                local_cur = *le;
            }
        }
    }
    Some(Spec {
        root: cand,
        steps: lspec.steps.clone(),
        bit_offset,
        field_type: cur,
        bitfield_size,
        path: lspec.path.clone(),
    })
}

/// Target types with the same kind family and essential name as local type `local_id`.
pub fn candidates(local: &Btf, local_id: u32, target: &Btf) -> Vec<u32> {
    let Ok(lt) = local.type_by_id(local_id) else {
        return Vec::new();
    };
    let name = essential_name(&lt.name);
    if name.is_empty() {
        return Vec::new();
    }
    let lk = lt.kind();
    target
        .ids_by_name(name)
        .iter()
        .copied()
        .filter(|&id| {
            let tk = kind_of(target, id);
            match target.type_by_id(id) {
                Ok(t) => {
                    let k = t.kind();
                    k == lk
                        || matches!(
                            (lk, k),
                            (Kind::Enum | Kind::Enum64, Kind::Enum | Kind::Enum64)
                        )
                        || (lk == Kind::Typedef && tk.is_some())
                }
                Err(_) => false,
            }
        })
        .collect()
}
