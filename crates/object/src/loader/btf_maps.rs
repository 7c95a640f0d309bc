//! BTF-defined maps: the `.maps` section.
//!
//! Takes the object's [`Btf`] and the `.maps` section; gives one [`MapSpec`] per variable of
//! the `.maps` DATASEC, decoded by [`Btf::maps`] (libbpf's `__uint` / `__type` / `__array`
//! encodings): type, key and value sizes and types, `max_entries`, `map_flags`,
//! `map_extra`, `numa_node`, `pinning`, and the inner map of a map-in-map (named
//! `OUTER.inner`, as libbpf names it). After linking, [`resolve_initial_values`] turns the
//! `R_BPF_64_ABS64` relocations of `.values = { &map, &prog }` into initial elements.

use super::elf::ElfFile;
use super::maps::{MapInit, MapOrigin, MapSpec};
use super::programs::ProgramSpec;
use crate::btf::{Btf, BtfMapDef};
use crate::ObjectError;

fn spec(def: &BtfMapDef, section: &str) -> Result<MapSpec, ObjectError> {
    if let Some(field) = def.unknown_fields.first() {
        return Err(ObjectError::Map {
            map: def.name.clone(),
            section: section.to_string(),
            message: format!("unknown map definition field '{field}'"),
        });
    }
    let mut m = MapSpec::new(
        &def.name,
        section,
        MapOrigin::Btf {
            offset: def.offset as u64,
            type_id: def.def_type_id,
        },
    );
    m.map_type = def.map_type.unwrap_or(0);
    m.key_size = def.key_size.unwrap_or(0);
    m.value_size = def.value_size.unwrap_or(0);
    m.max_entries = def.max_entries.unwrap_or(0);
    m.map_flags = def.map_flags.unwrap_or(0);
    m.map_extra = def.map_extra.unwrap_or(0) as u64;
    m.numa_node = def.numa_node.unwrap_or(0);
    m.pinning = def.pinning.unwrap_or(0);
    m.key_type_id = def.key_type;
    m.value_type_id = def.value_type;
    if let Some(inner) = &def.inner {
        m.inner = Some(Box::new(spec(inner, section)?));
    }
    if m.inner.is_some() || def.values_proto.is_some() {
        // Map-in-map and program-array values are 4-byte ids, as libbpf sets them.
        if m.value_size == 0 {
            m.value_size = 4;
        }
        if m.key_size == 0 {
            m.key_size = 4;
        }
    }
    Ok(m)
}

/// The maps of the `.maps` section at `index`, described by `btf`. As libbpf does, each
/// map's offset comes from its ELF symbol (clang leaves the DATASEC offsets of an object
/// file at 0).
pub(crate) fn btf_maps(
    btf: Option<&Btf>,
    elf: &ElfFile<'_>,
    index: usize,
) -> Result<Vec<MapSpec>, ObjectError> {
    let section = elf.sections[index].name.as_str();
    let size = elf.sections[index].size;
    let Some(btf) = btf else {
        return Err(ObjectError::Section {
            section: section.to_string(),
            message: "BTF-defined maps need a .BTF section, and the object has none".into(),
        });
    };
    let defs = btf.maps().map_err(|e| ObjectError::Btf {
        section: ".BTF".into(),
        message: format!("map definitions of {section}: {e}"),
    })?;
    let mut out: Vec<MapSpec> = Vec::with_capacity(defs.len());
    for def in &defs {
        let mut def = def.clone();
        match elf.symbols_in(index).find(|(_, s)| s.name == def.name) {
            Some((_, s)) => {
                def.offset = u32::try_from(s.value).map_err(|_| ObjectError::Map {
                    map: def.name.clone(),
                    section: section.to_string(),
                    message: format!("symbol value {:#x} out of range", s.value),
                })?
            }
            None => {
                return Err(ObjectError::Map {
                    map: def.name.clone(),
                    section: section.to_string(),
                    message: "BTF declares the map but the ELF symbol table does not".into(),
                })
            }
        }
        let def = &def;
        if def.offset as u64 >= size.max(1) {
            return Err(ObjectError::Map {
                map: def.name.clone(),
                section: section.to_string(),
                message: format!(
                    "definition at offset {} is outside the section ({size} bytes)",
                    def.offset
                ),
            });
        }
        if out.iter().any(
            |m| matches!(m.origin, MapOrigin::Btf { offset, .. } if offset == def.offset as u64),
        ) {
            return Err(ObjectError::Map {
                map: def.name.clone(),
                section: section.to_string(),
                message: format!("two map definitions at offset {}", def.offset),
            });
        }
        out.push(spec(def, section)?);
    }
    Ok(out)
}

/// Turn the address relocations of BTF map definitions (`.values = { &inner, &prog }`) into
/// initial elements: the element index is the relocated word's offset past the `values`
/// member, divided by 8.
///
/// # Errors
/// A relocation outside `values`, or naming neither a map nor a program.
pub(crate) fn resolve_initial_values(
    maps: &mut [MapSpec],
    programs: &[ProgramSpec],
    btf: Option<&Btf>,
) -> Result<(), ObjectError> {
    let Some(btf) = btf else { return Ok(()) };
    let names: Vec<String> = maps.iter().map(|m| m.name.clone()).collect();
    for m in maps.iter_mut() {
        let MapOrigin::Btf { type_id, .. } = m.origin else {
            continue;
        };
        if m.data_relocs.is_empty() {
            continue;
        }
        let err = |message: String| ObjectError::Map {
            map: m.name.clone(),
            section: m.section.clone(),
            message,
        };
        let values = btf
            .member(type_id, "values")
            .ok()
            .flatten()
            .map(|v| v.byte_offset() as u64)
            .ok_or_else(|| err("address relocations but no 'values' member".into()))?;
        let mut inits = Vec::new();
        for r in &m.data_relocs {
            if r.offset < values || !(r.offset - values).is_multiple_of(8) {
                return Err(err(format!(
                    "relocation against {} at offset {} is not an element of 'values' (at {values})",
                    r.symbol, r.offset
                )));
            }
            let key = u32::try_from((r.offset - values) / 8)
                .map_err(|_| err("too many initial values".into()))?;
            let init = if let Some(i) = names.iter().position(|n| *n == r.symbol) {
                MapInit::Map(i)
            } else if programs.iter().any(|p| p.name == r.symbol) {
                MapInit::Program(r.symbol.clone())
            } else {
                return Err(err(format!(
                    "initial value {key} refers to {}, which is neither a map nor a program",
                    r.symbol
                )));
            };
            inits.push((key, init));
        }
        inits.sort_by_key(|(k, _)| *k);
        m.initial_values = inits;
    }
    Ok(())
}
