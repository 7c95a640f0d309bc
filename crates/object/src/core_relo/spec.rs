//! Access specifications of CO-RE relocations.
//!
//! Takes a BTF, a root type id and an access string (`0:1:2`); gives the [`Spec`]: each step
//! of the access (array index or named member) with the byte offset it reaches, the final
//! type, and for bitfields the bit offset and width. The same walk runs over the object's own
//! BTF (the local spec) and over a candidate type of the target BTF (matching by names).

use crate::btf::{Btf, TypeKind};

/// One step of an access.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Index into an array (or, first, into the root pointer).
    Index(u32),
    /// A member, by name and by its index in the local struct or union.
    Member {
        /// Member name ("" for an anonymous member).
        name: String,
        /// Its index among the members in the BTF the spec was walked in.
        index: u32,
    },
}

/// A resolved access.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Spec {
    /// The root type.
    pub root: u32,
    /// The steps.
    pub steps: Vec<Step>,
    /// Offset reached, in bits from the root.
    pub bit_offset: u64,
    /// Type of the field reached (unresolved: may be a typedef).
    pub field_type: u32,
    /// Bitfield width when the last member is a bitfield, else 0.
    pub bitfield_size: u32,
    /// The readable path, e.g. `task_struct.pid`.
    pub path: String,
}

/// Walk `access` from `root` in `btf`.
pub fn local_spec(btf: &Btf, root: u32, access: &[u32]) -> Result<Spec, String> {
    let mut steps = Vec::new();
    let root_t = btf
        .resolved_type(root)
        .map_err(|e| format!("root type {root}: {e}"))?;
    let mut path = if root_t.name.is_empty() {
        format!("(anon {root})")
    } else {
        root_t.name.clone()
    };
    let Some((&first, rest)) = access.split_first() else {
        return Err("empty access string".into());
    };
    let root_size = btf.size_of(root).map_err(|e| e.to_string())? as u64;
    let mut bit_offset = first as u64 * root_size * 8;
    if first != 0 {
        path.push_str(&format!("[{first}]"));
    }
    steps.push(Step::Index(first));
    let mut cur = root;
    let mut bitfield_size = 0;
    for &a in rest {
        let t = btf.resolved_type(cur).map_err(|e| e.to_string())?;
        match &t.kind {
            TypeKind::Struct { members, .. } | TypeKind::Union { members, .. } => {
                let m = members
                    .get(a as usize)
                    .ok_or_else(|| format!("{path}: member index {a} out of range"))?;
                bit_offset += m.bits_offset as u64;
                bitfield_size = m.bitfield_size as u32;
                if !m.name.is_empty() {
                    path.push('.');
                    path.push_str(&m.name);
                }
                steps.push(Step::Member {
                    name: m.name.clone(),
                    index: a,
                });
                cur = m.type_id;
            }
            TypeKind::Array {
                elem_type, nelems, ..
            } => {
                if a >= *nelems && *nelems != 0 {
                    return Err(format!("{path}[{a}]: index past {nelems} elements"));
                }
                let es = btf.size_of(*elem_type).map_err(|e| e.to_string())? as u64;
                bit_offset += a as u64 * es * 8;
                bitfield_size = 0;
                path.push_str(&format!("[{a}]"));
                steps.push(Step::Index(a));
                cur = *elem_type;
            }
            _ => return Err(format!("{path}: cannot index into a non-composite type")),
        }
    }
    Ok(Spec {
        root,
        steps,
        bit_offset,
        field_type: cur,
        bitfield_size,
        path,
    })
}

/// The name of a type without a `___flavor` suffix.
pub fn essential_name(name: &str) -> &str {
    name.find("___").map_or(name, |i| &name[..i])
}
