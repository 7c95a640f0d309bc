//! The raw text dump of BTF, as `bpftool btf dump file X` prints it.
//!
//! Takes a parsed [`Btf`]; gives one line per type (plus one indented line per member,
//! enumerator, parameter or section variable), byte for byte what bpftool v7 prints.

use std::fmt::Write;

use super::query::Btf;
use super::types::{BtfType, IntEncoding, TypeKind};

fn name_or_anon(name: &str) -> &str {
    if name.is_empty() {
        "(anon)"
    } else {
        name
    }
}

fn int_encoding(e: IntEncoding) -> &'static str {
    match e.bits() {
        0 => "(none)",
        1 => "SIGNED",
        2 => "CHAR",
        4 => "BOOL",
        _ => "UNKN",
    }
}

impl Btf {
    /// The whole dump: every type from id 1, each line ending in `\n`.
    ///
    /// ```text
    /// [1] INT 'int' size=4 bits_offset=0 nr_bits=32 encoding=SIGNED
    /// [2] PTR '(anon)' type_id=1
    /// ```
    pub fn dump_raw(&self) -> String {
        let mut out = String::new();
        for (id, _) in self.iter() {
            out.push_str(&self.dump_type(id));
            out.push('\n');
        }
        out
    }

    /// The dump of one type (several lines for types with members), without a final newline.
    /// An id past the last type gives an empty string.
    pub fn dump_type(&self, id: u32) -> String {
        let Ok(t) = self.type_by_id(id) else {
            return String::new();
        };
        let mut s = format!("[{id}] {} '{}'", t.kind().name(), name_or_anon(&t.name));
        // Writing to a String cannot fail.
        let _ = self.write_body(&mut s, t);
        s
    }

    fn write_body(&self, s: &mut String, t: &BtfType) -> std::fmt::Result {
        match &t.kind {
            TypeKind::Void => Ok(()),
            TypeKind::Int {
                size,
                encoding,
                offset,
                bits,
            } => write!(
                s,
                " size={size} bits_offset={offset} nr_bits={bits} encoding={}",
                int_encoding(*encoding)
            ),
            TypeKind::Ptr { type_id }
            | TypeKind::Typedef { type_id }
            | TypeKind::Volatile { type_id }
            | TypeKind::Const { type_id }
            | TypeKind::Restrict { type_id }
            | TypeKind::TypeTag { type_id, .. } => write!(s, " type_id={type_id}"),
            TypeKind::Array {
                elem_type,
                index_type,
                nelems,
            } => write!(
                s,
                " type_id={elem_type} index_type_id={index_type} nr_elems={nelems}"
            ),
            TypeKind::Struct { size, members, .. } | TypeKind::Union { size, members, .. } => {
                write!(s, " size={size} vlen={}", members.len())?;
                for m in members {
                    write!(
                        s,
                        "\n\t'{}' type_id={} bits_offset={}",
                        name_or_anon(&m.name),
                        m.type_id,
                        m.bits_offset
                    )?;
                    if m.bitfield_size != 0 {
                        write!(s, " bitfield_size={}", m.bitfield_size)?;
                    }
                }
                Ok(())
            }
            TypeKind::Enum {
                size,
                signed,
                values,
            } => {
                let enc = if *signed { "SIGNED" } else { "UNSIGNED" };
                write!(s, " encoding={enc} size={size} vlen={}", values.len())?;
                for v in values {
                    if *signed {
                        write!(s, "\n\t'{}' val={}", name_or_anon(&v.name), v.value as i32)?;
                    } else {
                        write!(s, "\n\t'{}' val={}", name_or_anon(&v.name), v.value as u32)?;
                    }
                }
                Ok(())
            }
            TypeKind::Enum64 {
                size,
                signed,
                values,
            } => {
                let enc = if *signed { "SIGNED" } else { "UNSIGNED" };
                write!(s, " encoding={enc} size={size} vlen={}", values.len())?;
                for v in values {
                    if *signed {
                        write!(
                            s,
                            "\n\t'{}' val={}LL",
                            name_or_anon(&v.name),
                            v.value as i64
                        )?;
                    } else {
                        write!(s, "\n\t'{}' val={}ULL", name_or_anon(&v.name), v.value)?;
                    }
                }
                Ok(())
            }
            TypeKind::Fwd { is_union } => {
                write!(
                    s,
                    " fwd_kind={}",
                    if *is_union { "union" } else { "struct" }
                )
            }
            TypeKind::Func { type_id, linkage } => {
                write!(s, " type_id={type_id} linkage={}", linkage.name())
            }
            TypeKind::FuncProto {
                return_type,
                params,
            } => {
                write!(s, " ret_type_id={return_type} vlen={}", params.len())?;
                for p in params {
                    write!(s, "\n\t'{}' type_id={}", name_or_anon(&p.name), p.type_id)?;
                }
                Ok(())
            }
            TypeKind::Var { type_id, linkage } => {
                write!(s, " type_id={type_id}, linkage={}", linkage.name())
            }
            TypeKind::Datasec { size, vars } => {
                write!(s, " size={size} vlen={}", vars.len())?;
                for v in vars {
                    write!(
                        s,
                        "\n\ttype_id={} offset={} size={}",
                        v.type_id, v.offset, v.size
                    )?;
                    if let Ok(vt) = self.type_by_id(v.type_id) {
                        write!(s, " ({} '{}')", vt.kind().name(), name_or_anon(&vt.name))?;
                    }
                }
                Ok(())
            }
            TypeKind::Float { size } => write!(s, " size={size}"),
            TypeKind::DeclTag {
                type_id,
                component_idx,
                ..
            } => write!(s, " type_id={type_id} component_idx={component_idx}"),
        }
    }
}
