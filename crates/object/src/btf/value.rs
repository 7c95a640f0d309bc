//! Typed values: bytes of a map key or value read through their BTF type.
//!
//! Takes a [`Btf`], a type id and the bytes of a value of that type; gives a [`BtfValue`]
//! tree (integers, enumerators by name, character arrays as strings, arrays, structs and
//! unions with member names, bitfields) that printers turn into text or JSON the way
//! `bpftool map dump` shows BTF-described maps. Values shorter than their type, or types the
//! bytes cannot describe, give [`BtfValue::Bytes`] rather than an error.

use super::query::Btf;
use super::types::TypeKind;

/// A value read through BTF.
#[derive(Clone, Debug, PartialEq)]
pub enum BtfValue {
    /// A signed integer (or enum value without a name).
    Int(i128),
    /// An unsigned integer.
    Uint(u128),
    /// A boolean.
    Bool(bool),
    /// A floating-point number.
    Float(f64),
    /// An enumerator, by name.
    Enum(String),
    /// A character array holding text.
    Str(String),
    /// A pointer.
    Ptr(u64),
    /// An array.
    Array(Vec<BtfValue>),
    /// A struct or union: members by name (anonymous members flattened as the C source
    /// reads them).
    Struct(Vec<(String, BtfValue)>),
    /// Bytes BTF does not describe.
    Bytes(Vec<u8>),
}

const MAX_DEPTH: usize = 32;

fn read_uint(bytes: &[u8], bit_offset: u32, bits: u32) -> Option<u128> {
    if bits == 0 || bits > 128 {
        return None;
    }
    let first = (bit_offset / 8) as usize;
    let last = ((bit_offset + bits).div_ceil(8)) as usize;
    let chunk = bytes.get(first..last)?;
    let mut v: u128 = 0;
    for (i, b) in chunk.iter().enumerate().take(16) {
        v |= (*b as u128) << (8 * i);
    }
    v >>= bit_offset % 8;
    if bits < 128 {
        v &= (1u128 << bits) - 1;
    }
    Some(v)
}

fn sign_extend(v: u128, bits: u32) -> i128 {
    if bits == 0 || bits >= 128 {
        return v as i128;
    }
    let shift = 128 - bits;
    ((v << shift) as i128) >> shift
}

fn printable(bytes: &[u8]) -> Option<String> {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    let text = &bytes[..end];
    if bytes[end..].iter().any(|&b| b != 0) {
        return None;
    }
    if text.iter().all(|&b| (0x20..0x7f).contains(&b)) {
        Some(String::from_utf8_lossy(text).into_owned())
    } else {
        None
    }
}

/// Read `bytes` as a value of type `type_id`.
pub fn read_value(btf: &Btf, type_id: u32, bytes: &[u8]) -> BtfValue {
    read_at(btf, type_id, bytes, 0, 0, 0)
}

fn read_at(
    btf: &Btf,
    type_id: u32,
    bytes: &[u8],
    bit_offset: u32,
    bitfield: u8,
    depth: usize,
) -> BtfValue {
    let raw = || {
        let start = (bit_offset / 8) as usize;
        BtfValue::Bytes(bytes.get(start..).unwrap_or(&[]).to_vec())
    };
    if depth > MAX_DEPTH {
        return raw();
    }
    let Ok(t) = btf.resolved_type(type_id) else {
        return raw();
    };
    match &t.kind {
        TypeKind::Int {
            size,
            encoding,
            offset,
            bits,
        } => {
            let nbits = if bitfield > 0 {
                bitfield as u32
            } else {
                (*bits as u32).min(size * 8)
            };
            let Some(v) = read_uint(bytes, bit_offset + *offset as u32, nbits) else {
                return raw();
            };
            if encoding.bool {
                BtfValue::Bool(v != 0)
            } else if encoding.signed {
                BtfValue::Int(sign_extend(v, nbits))
            } else {
                BtfValue::Uint(v)
            }
        }
        TypeKind::Enum {
            size,
            signed,
            values,
        }
        | TypeKind::Enum64 {
            size,
            signed,
            values,
        } => {
            let nbits = if bitfield > 0 {
                bitfield as u32
            } else {
                size * 8
            };
            let Some(v) = read_uint(bytes, bit_offset, nbits) else {
                return raw();
            };
            let as64 = if *signed {
                sign_extend(v, nbits) as i64 as u64
            } else {
                v as u64
            };
            let stored = |e: u64| {
                if *size == 4 && !*signed {
                    e as u32 as u64
                } else {
                    e
                }
            };
            match values
                .iter()
                .find(|e| stored(e.value) == as64 || e.value == as64)
            {
                Some(e) => BtfValue::Enum(e.name.clone()),
                None if *signed => BtfValue::Int(as64 as i64 as i128),
                None => BtfValue::Uint(as64 as u128),
            }
        }
        TypeKind::Ptr { .. } => match read_uint(bytes, bit_offset, 64) {
            Some(v) => BtfValue::Ptr(v as u64),
            None => raw(),
        },
        TypeKind::Float { size } => {
            let Some(v) = read_uint(bytes, bit_offset, size * 8) else {
                return raw();
            };
            match size {
                4 => BtfValue::Float(f32::from_bits(v as u32) as f64),
                8 => BtfValue::Float(f64::from_bits(v as u64)),
                _ => raw(),
            }
        }
        TypeKind::Array {
            elem_type, nelems, ..
        } => {
            let Ok(elem_size) = btf.size_of(*elem_type) else {
                return raw();
            };
            let start = (bit_offset / 8) as usize;
            let total = elem_size as usize * *nelems as usize;
            let Some(slice) = bytes.get(start..start + total) else {
                return raw();
            };
            let is_char = elem_size == 1
                && btf.resolved_type(*elem_type).is_ok_and(|e| {
                    e.name == "char"
                        || matches!(&e.kind, TypeKind::Int { encoding, .. } if encoding.char)
                });
            if is_char {
                if let Some(s) = printable(slice) {
                    return BtfValue::Str(s);
                }
            }
            BtfValue::Array(
                (0..*nelems)
                    .map(|i| read_at(btf, *elem_type, slice, i * elem_size * 8, 0, depth + 1))
                    .collect(),
            )
        }
        TypeKind::Struct { members, .. } | TypeKind::Union { members, .. } => {
            let mut out = Vec::new();
            for m in members {
                let v = read_at(
                    btf,
                    m.type_id,
                    bytes,
                    bit_offset + m.bits_offset,
                    m.bitfield_size,
                    depth + 1,
                );
                match (m.name.is_empty(), v) {
                    (true, BtfValue::Struct(inner)) => out.extend(inner),
                    (_, v) => out.push((m.name.clone(), v)),
                }
            }
            BtfValue::Struct(out)
        }
        _ => raw(),
    }
}
