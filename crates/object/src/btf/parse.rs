//! Parsing `.BTF` bytes into [`Btf`].
//!
//! Takes the bytes of a `.BTF` section or a raw BTF file; gives a [`Btf`] whose every name is
//! resolved and every type id reference checked, or a [`BtfError`] naming the type and what is
//! wrong. Never panics and runs in time linear in the input.

use std::collections::HashMap;

use super::error::BtfError;
use super::header::BtfHeader;
use super::query::Btf;
use super::reader::Reader;
use super::strings::StringTable;
use super::types::{
    BtfType, EnumValue, FuncLinkage, IntEncoding, Kind, Member, Param, TypeKind, VarLinkage,
    VarSecinfo,
};

/// The largest type id BTF allows (`BTF_MAX_TYPE`).
pub const BTF_MAX_TYPE: u32 = 0x000f_ffff;

impl Btf {
    /// Parses `.BTF` bytes (little-endian).
    ///
    /// # Errors
    /// [`BtfError`] for a bad header, sub-sections outside the data, a malformed string
    /// table, an unknown kind, a truncated or inconsistent type, or a reference to a type id
    /// that does not exist.
    pub fn parse(data: &[u8]) -> Result<Btf, BtfError> {
        let header = BtfHeader::parse(data)?;
        let type_bytes = &data[header.type_range(data.len())?];
        let str_bytes = &data[header.str_range(data.len())?];
        let strings = StringTable::new(str_bytes)?;
        let types = parse_types(type_bytes, &strings)?;
        check_references(&types)?;
        let mut by_name: HashMap<String, Vec<u32>> = HashMap::new();
        for (id, t) in types.iter().enumerate().skip(1) {
            if !t.name.is_empty() {
                by_name.entry(t.name.clone()).or_default().push(id as u32);
            }
        }
        Ok(Btf::from_parts(
            header,
            types,
            str_bytes.to_vec(),
            by_name,
            data.to_vec(),
        ))
    }
}

/// Wraps errors that carry no type id with the id of the type being read.
fn in_type(id: u32) -> impl Fn(BtfError) -> BtfError {
    move |e| match e {
        e @ (BtfError::Truncated { .. }
        | BtfError::StringOutOfRange { .. }
        | BtfError::InvalidString(_)) => BtfError::InType {
            id,
            source: Box::new(e),
        },
        e => e,
    }
}

fn parse_types(bytes: &[u8], strings: &StringTable<'_>) -> Result<Vec<BtfType>, BtfError> {
    let mut r = Reader::new(bytes);
    let mut types = vec![BtfType {
        name: String::new(),
        kind: TypeKind::Void,
    }];
    while !r.is_empty() {
        let id = types.len() as u32;
        if id > BTF_MAX_TYPE {
            return Err(BtfError::TooManyTypes(BTF_MAX_TYPE));
        }
        let t = parse_one(&mut r, id, strings).map_err(in_type(id))?;
        types.push(t);
    }
    Ok(types)
}

fn invalid(id: u32, kind: Kind, reason: &'static str) -> BtfError {
    BtfError::InvalidType {
        id,
        kind: kind.name(),
        reason,
    }
}

/// Checks that `vlen` records of `size` bytes fit before reading any of them, so an absurd
/// count fails at once instead of allocating.
fn check_records(r: &Reader<'_>, vlen: u16, size: usize) -> Result<(), BtfError> {
    let need = vlen as usize * size;
    if need > r.remaining() {
        return Err(BtfError::Truncated {
            what: "type records",
            offset: r.pos(),
            need,
            have: r.remaining(),
        });
    }
    Ok(())
}

fn parse_one(r: &mut Reader<'_>, id: u32, strings: &StringTable<'_>) -> Result<BtfType, BtfError> {
    let name_off = r.u32("type")?;
    let info = r.u32("type")?;
    let size_or_type = r.u32("type")?;
    let vlen = (info & 0xffff) as u16;
    let kind_num = ((info >> 24) & 0x1f) as u8;
    let kind_flag = info >> 31 != 0;
    let kind = match Kind::from_number(kind_num) {
        Some(Kind::Void) | None => {
            return Err(BtfError::UnknownKind { id, kind: kind_num });
        }
        Some(k) => k,
    };
    let name = strings.get(name_off)?.to_string();
    let no_vlen = |what: &'static str| {
        if vlen != 0 {
            Err(invalid(id, kind, what))
        } else {
            Ok(())
        }
    };
    let type_id = size_or_type;
    let size = size_or_type;
    let tk = match kind {
        Kind::Void => return Err(BtfError::UnknownKind { id, kind: 0 }),
        Kind::Int => {
            no_vlen("vlen must be 0")?;
            let v = r.u32("INT data")?;
            let bits = (v & 0xff) as u8;
            let offset = ((v >> 16) & 0xff) as u8;
            let encoding = ((v >> 24) & 0x0f) as u8;
            if u64::from(offset) + u64::from(bits) > u64::from(size) * 8 {
                return Err(invalid(id, kind, "bits_offset + nr_bits exceed the size"));
            }
            TypeKind::Int {
                size,
                encoding: IntEncoding::from_bits(encoding),
                offset,
                bits,
            }
        }
        Kind::Ptr => {
            no_vlen("vlen must be 0")?;
            TypeKind::Ptr { type_id }
        }
        Kind::Array => {
            no_vlen("vlen must be 0")?;
            TypeKind::Array {
                elem_type: r.u32("ARRAY data")?,
                index_type: r.u32("ARRAY data")?,
                nelems: r.u32("ARRAY data")?,
            }
        }
        Kind::Struct | Kind::Union => {
            check_records(r, vlen, 12)?;
            let mut members = Vec::with_capacity(vlen as usize);
            for _ in 0..vlen {
                let m_name = strings.get(r.u32("member")?)?.to_string();
                let m_type = r.u32("member")?;
                let offset = r.u32("member")?;
                let (bits_offset, bitfield_size) = if kind_flag {
                    (offset & 0x00ff_ffff, (offset >> 24) as u8)
                } else {
                    (offset, 0)
                };
                members.push(Member {
                    name: m_name,
                    type_id: m_type,
                    bits_offset,
                    bitfield_size,
                });
            }
            if kind == Kind::Struct {
                TypeKind::Struct {
                    size,
                    kind_flag,
                    members,
                }
            } else {
                TypeKind::Union {
                    size,
                    kind_flag,
                    members,
                }
            }
        }
        Kind::Enum => {
            check_records(r, vlen, 8)?;
            let mut values = Vec::with_capacity(vlen as usize);
            for _ in 0..vlen {
                let v_name = strings.get(r.u32("enumerator")?)?.to_string();
                let raw = r.u32("enumerator")?;
                let value = if kind_flag {
                    raw as i32 as i64 as u64
                } else {
                    u64::from(raw)
                };
                values.push(EnumValue {
                    name: v_name,
                    value,
                });
            }
            TypeKind::Enum {
                size,
                signed: kind_flag,
                values,
            }
        }
        Kind::Enum64 => {
            check_records(r, vlen, 12)?;
            let mut values = Vec::with_capacity(vlen as usize);
            for _ in 0..vlen {
                let v_name = strings.get(r.u32("enumerator")?)?.to_string();
                let lo = r.u32("enumerator")?;
                let hi = r.u32("enumerator")?;
                values.push(EnumValue {
                    name: v_name,
                    value: u64::from(hi) << 32 | u64::from(lo),
                });
            }
            TypeKind::Enum64 {
                size,
                signed: kind_flag,
                values,
            }
        }
        Kind::Fwd => {
            no_vlen("vlen must be 0")?;
            TypeKind::Fwd {
                is_union: kind_flag,
            }
        }
        Kind::Typedef => {
            no_vlen("vlen must be 0")?;
            TypeKind::Typedef { type_id }
        }
        Kind::Volatile => {
            no_vlen("vlen must be 0")?;
            TypeKind::Volatile { type_id }
        }
        Kind::Const => {
            no_vlen("vlen must be 0")?;
            TypeKind::Const { type_id }
        }
        Kind::Restrict => {
            no_vlen("vlen must be 0")?;
            TypeKind::Restrict { type_id }
        }
        Kind::TypeTag => {
            no_vlen("vlen must be 0")?;
            TypeKind::TypeTag { type_id, kind_flag }
        }
        Kind::Func => TypeKind::Func {
            type_id,
            linkage: FuncLinkage::from_number(vlen),
        },
        Kind::FuncProto => {
            check_records(r, vlen, 8)?;
            let mut params = Vec::with_capacity(vlen as usize);
            for _ in 0..vlen {
                let p_name = strings.get(r.u32("parameter")?)?.to_string();
                params.push(Param {
                    name: p_name,
                    type_id: r.u32("parameter")?,
                });
            }
            TypeKind::FuncProto {
                return_type: type_id,
                params,
            }
        }
        Kind::Var => {
            no_vlen("vlen must be 0")?;
            TypeKind::Var {
                type_id,
                linkage: VarLinkage::from_number(r.u32("VAR data")?),
            }
        }
        Kind::Datasec => {
            check_records(r, vlen, 12)?;
            let mut vars = Vec::with_capacity(vlen as usize);
            for _ in 0..vlen {
                vars.push(VarSecinfo {
                    type_id: r.u32("DATASEC entry")?,
                    offset: r.u32("DATASEC entry")?,
                    size: r.u32("DATASEC entry")?,
                });
            }
            TypeKind::Datasec { size, vars }
        }
        Kind::Float => {
            no_vlen("vlen must be 0")?;
            TypeKind::Float { size }
        }
        Kind::DeclTag => {
            no_vlen("vlen must be 0")?;
            let component_idx = r.u32("DECL_TAG data")? as i32;
            if component_idx < -1 {
                return Err(invalid(id, kind, "component_idx is below -1"));
            }
            TypeKind::DeclTag {
                type_id,
                component_idx,
                kind_flag,
            }
        }
    };
    Ok(BtfType { name, kind: tk })
}

/// Every referenced type id exists; FUNC points at a FUNC_PROTO; a DECL_TAG's component
/// index names an existing member or parameter.
fn check_references(types: &[BtfType]) -> Result<(), BtfError> {
    let last = (types.len() - 1) as u32;
    for (id, t) in types.iter().enumerate() {
        let id = id as u32;
        for target in t.references() {
            if target > last {
                return Err(BtfError::TypeIdOutOfRange {
                    id,
                    kind: t.kind().name(),
                    target,
                    last,
                });
            }
        }
        match &t.kind {
            TypeKind::Func { type_id, .. }
                if types[*type_id as usize].kind() != Kind::FuncProto =>
            {
                return Err(invalid(id, Kind::Func, "its type is not a FUNC_PROTO"));
            }
            TypeKind::DeclTag {
                type_id,
                component_idx,
                ..
            } if *component_idx >= 0 => {
                let target = &types[*type_id as usize];
                let count = match &target.kind {
                    TypeKind::Struct { members, .. } | TypeKind::Union { members, .. } => {
                        members.len()
                    }
                    TypeKind::Func { type_id, .. } => match &types[*type_id as usize].kind {
                        TypeKind::FuncProto { params, .. } => params.len(),
                        _ => 0,
                    },
                    _ => 0,
                };
                if *component_idx as usize >= count {
                    return Err(invalid(id, Kind::DeclTag, "component_idx is out of range"));
                }
            }
            _ => {}
        }
    }
    Ok(())
}
