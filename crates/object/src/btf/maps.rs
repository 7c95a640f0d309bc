//! BTF-defined maps: the `.maps` DATASEC and libbpf's `__uint` / `__type` / `__array`
//! encodings.
//!
//! Takes a parsed [`Btf`]; gives [`BtfMapDef`] for each variable of the `.maps` section (or
//! for one map-definition struct), decoded as libbpf decodes it:
//! `__uint(name, N)` is a member `int (*name)[N]` (pointer to an array of N elements),
//! `__type(name, T)` a member `T *name`, `__array(values, T)` a member `T *values[]`.

use super::error::BtfError;
use super::query::Btf;
use super::types::{Kind, TypeKind};

/// One BTF-defined map, as the `.maps` section declares it. Fields are `None` when the
/// definition does not set them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BtfMapDef {
    /// Variable name (the map's name).
    pub name: String,
    /// The definition's STRUCT type id.
    pub def_type_id: u32,
    /// Byte offset of the variable in `.maps` as the DATASEC records it (0 for inner
    /// definitions). clang writes 0 for every non-static variable of an unlinked object
    /// (libbpf fills offsets in from the ELF symbol table), so loaders take the symbol's
    /// value instead.
    pub offset: u32,
    /// `type`: the `BPF_MAP_TYPE_*` number.
    pub map_type: Option<u32>,
    /// `max_entries`.
    pub max_entries: Option<u32>,
    /// `map_flags`.
    pub map_flags: Option<u32>,
    /// `numa_node`.
    pub numa_node: Option<u32>,
    /// `key_size`, explicit or the size of the `key` type.
    pub key_size: Option<u32>,
    /// `value_size`, explicit or the size of the `value` type.
    pub value_size: Option<u32>,
    /// `key`: the key type.
    pub key_type: Option<u32>,
    /// `value`: the value type.
    pub value_type: Option<u32>,
    /// `pinning` (`LIBBPF_PIN_NONE` 0, `LIBBPF_PIN_BY_NAME` 1).
    pub pinning: Option<u32>,
    /// `map_extra`.
    pub map_extra: Option<u32>,
    /// `values` of a map-in-map: the inner map's definition.
    pub inner: Option<Box<BtfMapDef>>,
    /// `values` of a program array: the FUNC_PROTO type of its programs.
    pub values_proto: Option<u32>,
    /// Members libbpf does not know, by name (libbpf rejects them).
    pub unknown_fields: Vec<String>,
}

/// Deepest map-in-map nesting decoded.
const MAX_MAP_NESTING: usize = 4;

impl Btf {
    /// Decodes `__uint(name, N)`: `type_id` must resolve to a pointer to an array; gives N.
    ///
    /// # Errors
    /// [`BtfError::UnexpectedKind`] when it is not a pointer to an array.
    pub fn uint_field(&self, type_id: u32) -> Result<u32, BtfError> {
        let ptr = self.resolve(type_id)?;
        let TypeKind::Ptr { type_id: target } = self.type_by_id(ptr)?.kind else {
            return Err(self.unexpected(ptr, "PTR to ARRAY")?);
        };
        let arr = self.resolve(target)?;
        match self.type_by_id(arr)?.kind {
            TypeKind::Array { nelems, .. } => Ok(nelems),
            _ => Err(self.unexpected(arr, "ARRAY")?),
        }
    }

    /// Decodes `__type(name, T)`: `type_id` must resolve to a pointer; gives T.
    ///
    /// # Errors
    /// [`BtfError::UnexpectedKind`] when it is not a pointer.
    pub fn pointee(&self, type_id: u32) -> Result<u32, BtfError> {
        let ptr = self.resolve(type_id)?;
        match self.type_by_id(ptr)?.kind {
            TypeKind::Ptr { type_id } => Ok(type_id),
            _ => Err(self.unexpected(ptr, "PTR")?),
        }
    }

    fn unexpected(&self, id: u32, expected: &'static str) -> Result<BtfError, BtfError> {
        Ok(BtfError::UnexpectedKind {
            id,
            found: self.type_by_id(id)?.kind().name(),
            expected,
        })
    }

    /// Every map of the `.maps` DATASEC, in section order; empty when there is none.
    ///
    /// # Errors
    /// [`BtfError::MapField`] or [`BtfError::UnexpectedKind`] when a definition does not
    /// follow libbpf's encoding.
    pub fn maps(&self) -> Result<Vec<BtfMapDef>, BtfError> {
        let Some(sec) = self.datasec(".maps") else {
            return Ok(Vec::new());
        };
        let TypeKind::Datasec { vars, .. } = &self.type_by_id(sec)?.kind else {
            return Ok(Vec::new());
        };
        let mut out = Vec::with_capacity(vars.len());
        for v in vars {
            let var = self.type_by_id(v.type_id)?;
            let TypeKind::Var { type_id, .. } = var.kind else {
                return Err(self.unexpected(v.type_id, "VAR")?);
            };
            let mut def = self.map_def(&var.name, type_id)?;
            def.offset = v.offset;
            out.push(def);
        }
        Ok(out)
    }

    /// Decodes one map definition: `def_type_id` resolves to the STRUCT whose members are
    /// `type`, `max_entries`, `key`, `value`, ... (see [`BtfMapDef`]).
    ///
    /// # Errors
    /// [`BtfError::UnexpectedKind`] when it is not a struct; [`BtfError::MapField`] when a
    /// member is not encoded as libbpf expects, or `key_size`/`value_size` conflict with
    /// the `key`/`value` types.
    pub fn map_def(&self, name: &str, def_type_id: u32) -> Result<BtfMapDef, BtfError> {
        self.map_def_nested(name, def_type_id, 0)
    }

    fn map_def_nested(
        &self,
        name: &str,
        def_type_id: u32,
        depth: usize,
    ) -> Result<BtfMapDef, BtfError> {
        let sid = self.resolve(def_type_id)?;
        let st = self.type_by_id(sid)?;
        if st.kind() != Kind::Struct {
            return Err(self.unexpected(sid, "STRUCT (a map definition)")?);
        }
        let mut def = BtfMapDef {
            name: name.to_string(),
            def_type_id: sid,
            ..BtfMapDef::default()
        };
        let field_err = |field: &str, reason: &'static str| BtfError::MapField {
            map: name.to_string(),
            field: field.to_string(),
            reason,
        };
        for m in st.members() {
            let uint = || {
                self.uint_field(m.type_id)
                    .map_err(|_| field_err(&m.name, "expected __uint(): int (*name)[N]"))
            };
            let typ = || {
                self.pointee(m.type_id)
                    .map_err(|_| field_err(&m.name, "expected __type(): a pointer to the type"))
            };
            match m.name.as_str() {
                "type" => def.map_type = Some(uint()?),
                "max_entries" => def.max_entries = Some(uint()?),
                "map_flags" => def.map_flags = Some(uint()?),
                "numa_node" => def.numa_node = Some(uint()?),
                "pinning" => def.pinning = Some(uint()?),
                "map_extra" => def.map_extra = Some(uint()?),
                "key_size" => set_size(&mut def.key_size, uint()?, &m.name, &field_err)?,
                "value_size" => set_size(&mut def.value_size, uint()?, &m.name, &field_err)?,
                "key" => {
                    let t = typ()?;
                    let size = self
                        .size_of(t)
                        .map_err(|_| field_err(&m.name, "the key type has no size"))?;
                    set_size(&mut def.key_size, size, "key_size", &field_err)?;
                    def.key_type = Some(t);
                }
                "value" => {
                    let t = typ()?;
                    let size = self
                        .size_of(t)
                        .map_err(|_| field_err(&m.name, "the value type has no size"))?;
                    set_size(&mut def.value_size, size, "value_size", &field_err)?;
                    def.value_type = Some(t);
                }
                "values" => {
                    if def.inner.is_some() || def.values_proto.is_some() {
                        return Err(field_err(&m.name, "set more than once"));
                    }
                    let arr = self.resolve(m.type_id)?;
                    let TypeKind::Array { elem_type, .. } = self.type_by_id(arr)?.kind else {
                        return Err(field_err(&m.name, "expected __array(): T *values[]"));
                    };
                    let inner = self
                        .pointee(elem_type)
                        .map_err(|_| field_err(&m.name, "array elements must be pointers"))?;
                    let inner = self.resolve(inner)?;
                    match self.type_by_id(inner)?.kind() {
                        Kind::Struct => {
                            if depth >= MAX_MAP_NESTING {
                                return Err(field_err(&m.name, "map-in-map nested too deeply"));
                            }
                            let inner_name = format!("{name}.inner");
                            let inner_def = self.map_def_nested(&inner_name, inner, depth + 1)?;
                            def.inner = Some(Box::new(inner_def));
                        }
                        Kind::FuncProto => def.values_proto = Some(inner),
                        _ => {
                            return Err(field_err(
                                &m.name,
                                "elements must point to a map definition or a function",
                            ))
                        }
                    }
                }
                other => def.unknown_fields.push(other.to_string()),
            }
        }
        Ok(def)
    }
}

fn set_size(
    slot: &mut Option<u32>,
    size: u32,
    field: &str,
    field_err: &dyn Fn(&str, &'static str) -> BtfError,
) -> Result<(), BtfError> {
    match slot {
        Some(old) if *old != size => Err(field_err(
            field,
            "conflicts with the size of the key or value type",
        )),
        _ => {
            *slot = Some(size);
            Ok(())
        }
    }
}
