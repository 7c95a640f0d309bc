//! [`Btf`], the parsed type information, and the queries on it.
//!
//! Takes a parsed [`Btf`]; gives types by id and by name, resolution through typedefs and
//! qualifiers, sizes, and member lookup with bit offsets. Every query that walks references
//! is bounded: a cycle in malformed BTF is an error, never a hang.

use std::collections::HashMap;

use super::error::BtfError;
use super::header::BtfHeader;
use super::strings::StringTable;
use super::types::{BtfType, Kind, TypeKind};

/// Parsed BTF: every type by id (id 0 is void), names resolved from the string table.
///
/// Built by [`Btf::parse`]; every type id a type refers to is known to exist.
#[derive(Clone, Debug)]
pub struct Btf {
    header: BtfHeader,
    types: Vec<BtfType>,
    strings: Vec<u8>,
    by_name: HashMap<String, Vec<u32>>,
    raw: Vec<u8>,
}

/// A member found by [`Btf::member`], with its offset from the start of the outer type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberInfo {
    /// Member name.
    pub name: String,
    /// Member type.
    pub type_id: u32,
    /// Offset in bits from the start of the type searched (including the offsets of any
    /// anonymous struct or union it sits in).
    pub bits_offset: u32,
    /// Bitfield width, or 0 for a plain member.
    pub bitfield_size: u8,
    /// Member indices from the outer type down to this member (more than one when it sits
    /// inside anonymous structs or unions); the form CO-RE access strings use.
    pub path: Vec<u32>,
}

impl MemberInfo {
    /// Byte offset (bits_offset / 8).
    pub fn byte_offset(&self) -> u32 {
        self.bits_offset / 8
    }
}

/// The anonymous structs a member search is inside (a repeat is a cycle) and those already
/// searched without a match (searching again cannot match: keeps the search linear).
#[derive(Default)]
struct AnonSearch {
    on_path: std::collections::HashSet<u32>,
    searched: std::collections::HashSet<u32>,
}

/// Deepest nesting of anonymous members [`Btf::member`] follows.
const MAX_ANON_DEPTH: usize = 32;

impl Btf {
    pub(crate) fn from_parts(
        header: BtfHeader,
        types: Vec<BtfType>,
        strings: Vec<u8>,
        by_name: HashMap<String, Vec<u32>>,
        raw: Vec<u8>,
    ) -> Btf {
        Btf {
            header,
            types,
            strings,
            by_name,
            raw,
        }
    }

    /// The encoded BTF this was parsed from (header, types, strings), e.g. to store beside a
    /// pinned map so other processes can print its keys and values.
    pub fn raw_bytes(&self) -> &[u8] {
        &self.raw
    }

    /// The header.
    pub fn header(&self) -> &BtfHeader {
        &self.header
    }

    /// All types, indexed by id; `types()[0]` is void.
    pub fn types(&self) -> &[BtfType] {
        &self.types
    }

    /// Number of type ids including void (libbpf's `btf__type_cnt`).
    pub fn type_count(&self) -> u32 {
        self.types.len() as u32
    }

    /// The last valid type id.
    pub fn last_type_id(&self) -> u32 {
        self.type_count() - 1
    }

    /// `(id, type)` for every type except void.
    pub fn iter(&self) -> impl Iterator<Item = (u32, &BtfType)> {
        self.types
            .iter()
            .enumerate()
            .skip(1)
            .map(|(id, t)| (id as u32, t))
    }

    /// The raw string table.
    pub fn string_table(&self) -> &[u8] {
        &self.strings
    }

    /// The string at `offset` in the string table (used by BTF.ext records).
    ///
    /// # Errors
    /// [`BtfError::StringOutOfRange`] or [`BtfError::InvalidString`].
    pub fn string_at(&self, offset: u32) -> Result<&str, BtfError> {
        StringTable::new(&self.strings)?.get(offset)
    }

    /// The type with this id.
    ///
    /// # Errors
    /// [`BtfError::NoSuchType`] when the id is past the last type.
    pub fn type_by_id(&self, id: u32) -> Result<&BtfType, BtfError> {
        self.types.get(id as usize).ok_or(BtfError::NoSuchType {
            id,
            last: self.last_type_id(),
        })
    }

    /// The first type of `kind` named `name`.
    pub fn find_by_name(&self, kind: Kind, name: &str) -> Option<u32> {
        self.ids_by_name(name)
            .iter()
            .copied()
            .find(|id| self.types[*id as usize].kind() == kind)
    }

    /// Every type id named `name`, in id order.
    pub fn ids_by_name(&self, name: &str) -> &[u32] {
        self.by_name.get(name).map(Vec::as_slice).unwrap_or(&[])
    }

    /// The id after skipping typedefs and the const, volatile, restrict and type-tag
    /// modifiers.
    ///
    /// # Errors
    /// [`BtfError::NoSuchType`], or [`BtfError::Cycle`] when the chain loops.
    pub fn resolve(&self, id: u32) -> Result<u32, BtfError> {
        let mut cur = id;
        for _ in 0..=self.types.len() {
            match &self.type_by_id(cur)?.kind {
                TypeKind::Typedef { type_id }
                | TypeKind::Const { type_id }
                | TypeKind::Volatile { type_id }
                | TypeKind::Restrict { type_id }
                | TypeKind::TypeTag { type_id, .. } => cur = *type_id,
                _ => return Ok(cur),
            }
        }
        Err(BtfError::Cycle(id))
    }

    /// The resolved type (see [`Btf::resolve`]).
    ///
    /// # Errors
    /// As [`Btf::resolve`].
    pub fn resolved_type(&self, id: u32) -> Result<&BtfType, BtfError> {
        self.type_by_id(self.resolve(id)?)
    }

    /// Size in bytes of a value of type `id`: INT, FLOAT, STRUCT, UNION, ENUM, ENUM64 and
    /// DATASEC by their size field, pointers 8, arrays element size times count, typedefs,
    /// modifiers and VARs by the type they name.
    ///
    /// # Errors
    /// [`BtfError::NoSize`] for void, FUNC, FUNC_PROTO, FWD and DECL_TAG;
    /// [`BtfError::SizeOverflow`] when an array's size exceeds `u32`; [`BtfError::Cycle`].
    pub fn size_of(&self, id: u32) -> Result<u32, BtfError> {
        let mut cur = id;
        let mut factor: u64 = 1;
        for _ in 0..=self.types.len() {
            let t = self.type_by_id(cur)?;
            let size = match &t.kind {
                TypeKind::Int { size, .. }
                | TypeKind::Float { size }
                | TypeKind::Struct { size, .. }
                | TypeKind::Union { size, .. }
                | TypeKind::Enum { size, .. }
                | TypeKind::Enum64 { size, .. }
                | TypeKind::Datasec { size, .. } => *size,
                TypeKind::Ptr { .. } => 8,
                TypeKind::Typedef { type_id }
                | TypeKind::Const { type_id }
                | TypeKind::Volatile { type_id }
                | TypeKind::Restrict { type_id }
                | TypeKind::TypeTag { type_id, .. }
                | TypeKind::Var { type_id, .. } => {
                    cur = *type_id;
                    continue;
                }
                TypeKind::Array {
                    elem_type, nelems, ..
                } => {
                    // Once the factor is 0 it stays 0; keep walking only to check the chain.
                    factor = factor
                        .checked_mul(u64::from(*nelems))
                        .filter(|f| *f <= u64::from(u32::MAX))
                        .ok_or(BtfError::SizeOverflow(id))?;
                    cur = *elem_type;
                    continue;
                }
                TypeKind::Void
                | TypeKind::Func { .. }
                | TypeKind::FuncProto { .. }
                | TypeKind::Fwd { .. }
                | TypeKind::DeclTag { .. } => {
                    return Err(BtfError::NoSize {
                        id: cur,
                        kind: t.kind().name(),
                    })
                }
            };
            let total = factor * u64::from(size);
            return u32::try_from(total).map_err(|_| BtfError::SizeOverflow(id));
        }
        Err(BtfError::Cycle(id))
    }

    /// The member `name` of the STRUCT or UNION `id` (after [`Btf::resolve`]), searching
    /// inside anonymous struct and union members as C does. `Ok(None)` when there is none.
    ///
    /// # Errors
    /// [`BtfError::UnexpectedKind`] when `id` is not a struct or union; [`BtfError::Cycle`]
    /// for anonymous members nested deeper than 32 levels (only malformed BTF does that).
    pub fn member(&self, id: u32, name: &str) -> Result<Option<MemberInfo>, BtfError> {
        let sid = self.resolve(id)?;
        let t = self.type_by_id(sid)?;
        if !matches!(t.kind(), Kind::Struct | Kind::Union) {
            return Err(BtfError::UnexpectedKind {
                id: sid,
                found: t.kind().name(),
                expected: "STRUCT or UNION",
            });
        }
        let mut state = AnonSearch::default();
        self.member_in(sid, name, 0, &mut state)
    }

    fn member_in(
        &self,
        sid: u32,
        name: &str,
        depth: usize,
        state: &mut AnonSearch,
    ) -> Result<Option<MemberInfo>, BtfError> {
        if depth > MAX_ANON_DEPTH || !state.on_path.insert(sid) {
            return Err(BtfError::Cycle(sid));
        }
        let t = self.type_by_id(sid)?;
        for (i, m) in t.members().iter().enumerate() {
            if m.name == name {
                return Ok(Some(MemberInfo {
                    name: m.name.clone(),
                    type_id: m.type_id,
                    bits_offset: m.bits_offset,
                    bitfield_size: m.bitfield_size,
                    path: vec![i as u32],
                }));
            }
            if m.name.is_empty() {
                let inner = self.resolve(m.type_id)?;
                if state.searched.contains(&inner) {
                    continue;
                }
                if matches!(self.type_by_id(inner)?.kind(), Kind::Struct | Kind::Union) {
                    if let Some(mut found) = self.member_in(inner, name, depth + 1, state)? {
                        found.bits_offset = found.bits_offset.saturating_add(m.bits_offset);
                        found.path.insert(0, i as u32);
                        return Ok(Some(found));
                    }
                }
            }
        }
        state.on_path.remove(&sid);
        state.searched.insert(sid);
        Ok(None)
    }

    /// The DATASEC named `name` (`.maps`, `.data`, `.rodata`, `.bss`, ...).
    pub fn datasec(&self, name: &str) -> Option<u32> {
        self.find_by_name(Kind::Datasec, name)
    }
}
