//! Creating an object's maps.
//!
//! Takes the object's map definitions ([`userbpf_object::MapSpec`]) and an optional pin
//! directory; gives the instance's maps, in the object's order (so map ids equal the object's
//! map indices): each definition converted to a [`maps::MapSpec`] (kernel type ids and
//! flags; perf event arrays with `max_entries` 0 get one slot per CPU, as libbpf does),
//! created or reused from its pin, global data maps filled with their initial contents
//! (element 0, with address relocations between data sections applied), read-only global
//! data (`.rodata*`) then frozen as libbpf freezes it (`BPF_MAP_FREEZE`: user space can no
//! longer change what the verifier read as constants; a `.rodata` reused from a pin must
//! hold exactly the object's contents), and program arrays and maps of maps filled from the
//! object's initial values. Errors name the map.

use std::path::Path;
use std::sync::Arc;

use userbpf_object::{DataKind, MapInit, MapOrigin, Object};

use super::{MapEntry, RuntimeError, Shared};
use crate::maps::{self, map_in_map, Map, MapError, MapType, BPF_ANY};

/// libbpf's `LIBBPF_PIN_BY_NAME`.
pub const LIBBPF_PIN_BY_NAME: u32 = 1;

/// The file name a map is pinned under: its name with `/` replaced.
pub fn pin_file_name(name: &str) -> String {
    let n: String = name
        .chars()
        .map(|c| if c == '/' || c == '\0' { '_' } else { c })
        .collect();
    if n.is_empty() || n == "." || n == ".." {
        format!("map{n}")
    } else {
        n
    }
}

/// The runtime spec of an object's map definition.
///
/// # Errors
/// [`RuntimeError::MapDefinition`] for a type id the kernel does not define.
pub fn convert(spec: &userbpf_object::MapSpec) -> Result<maps::MapSpec, RuntimeError> {
    let map_type = MapType::from_id(spec.map_type).map_err(|e| RuntimeError::MapDefinition {
        map: spec.name.clone(),
        reason: e.to_string(),
    })?;
    let mut max_entries = spec.max_entries;
    if map_type == MapType::PerfEventArray && max_entries == 0 {
        max_entries = maps::possible_cpus();
    }
    Ok(maps::MapSpec {
        map_type,
        key_size: spec.key_size,
        value_size: spec.value_size,
        max_entries,
        flags: spec.map_flags,
        map_extra: spec.map_extra,
        name: spec.name.clone(),
    })
}

fn map_err(map: &str) -> impl Fn(MapError) -> RuntimeError + '_ {
    move |source| RuntimeError::Map {
        map: map.to_string(),
        source,
    }
}

/// Why a pinned map cannot stand for `want`, if it cannot.
fn pin_difference(want: &maps::MapSpec, have: &maps::MapSpec) -> Option<String> {
    let fields = [
        ("type", want.map_type as u64, have.map_type as u64),
        ("key_size", want.key_size as u64, have.key_size as u64),
        ("value_size", want.value_size as u64, have.value_size as u64),
        (
            "max_entries",
            want.max_entries as u64,
            have.max_entries as u64,
        ),
        ("map_flags", want.flags as u64, have.flags as u64),
        ("map_extra", want.map_extra, have.map_extra),
    ];
    fields
        .iter()
        .find(|(_, w, h)| w != h)
        .map(|(what, w, h)| format!("{what} is {h}, the object declares {w}"))
}

/// Create (or with `LIBBPF_PIN_BY_NAME` reuse) one map; whether it was created fresh.
fn create_one(
    def: &userbpf_object::MapSpec,
    spec: maps::MapSpec,
    pin_dir: Option<&Path>,
) -> Result<(Map, bool), RuntimeError> {
    let name = def.name.as_str();
    let Some(dir) = pin_dir else {
        return Ok((Map::create(spec, None).map_err(map_err(name))?, true));
    };
    let path = dir.join(pin_file_name(name));
    if def.pinning == LIBBPF_PIN_BY_NAME && path.exists() {
        let map = Map::open_pinned(&path).map_err(map_err(name))?;
        if let Some(reason) = pin_difference(&spec, map.spec()) {
            return Err(RuntimeError::PinMismatch {
                map: name.to_string(),
                path,
                reason,
            });
        }
        return Ok((map, false));
    }
    Ok((Map::create(spec, Some(&path)).map_err(map_err(name))?, true))
}

/// Whether libbpf freezes `def` after filling it: read-only global data (`.rodata`,
/// `.rodata.*`), whose constants the verifier may then trust.
pub fn is_frozen_data(def: &userbpf_object::MapSpec) -> bool {
    matches!(def.origin, MapOrigin::Data(DataKind::Rodata))
}

/// Freeze read-only global data map `id` (see [`is_frozen_data`]). A map reused from a pin
/// (`created` false) is frozen if it is not yet, then must hold the object's contents: the
/// verifier reads the object's `.rodata` as the map's constant contents. Contents with
/// addresses of other data sections differ per instance; the verifier does not trust those
/// (see `userbpf_verifier::object_input::map_infos`), so they are not compared.
fn freeze_rodata(
    object: &Object,
    shared: &Shared,
    id: usize,
    created: bool,
    pin_dir: Option<&Path>,
) -> Result<(), RuntimeError> {
    let def = &object.maps[id];
    let entry = shared.entry(id as u32).expect("created above");
    if created || !entry.map.is_frozen() {
        entry.map.freeze().map_err(map_err(&def.name))?;
    }
    if created || !def.data_relocs.is_empty() {
        return Ok(());
    }
    let want = initial_data(object, shared, def)?;
    let have = entry
        .map
        .lookup(&0u32.to_ne_bytes())
        .map_err(map_err(&def.name))?;
    if have != want {
        return Err(RuntimeError::PinMismatch {
            map: def.name.clone(),
            path: pin_dir
                .map(|d| d.join(pin_file_name(&def.name)))
                .unwrap_or_default(),
            reason: "its frozen contents differ from the object's read-only data".to_string(),
        });
    }
    Ok(())
}

/// The initial contents of a global data map, with relocations to other data sections
/// applied.
fn initial_data(
    object: &Object,
    shared: &Shared,
    def: &userbpf_object::MapSpec,
) -> Result<Vec<u8>, RuntimeError> {
    let bad = |reason: String| RuntimeError::MapDefinition {
        map: def.name.clone(),
        reason,
    };
    let mut data = def.data.clone();
    if data.len() > def.value_size as usize {
        return Err(bad(format!(
            "initial contents of {} bytes exceed the value size {}",
            data.len(),
            def.value_size
        )));
    }
    data.resize(def.value_size as usize, 0);
    for r in &def.data_relocs {
        let target = object
            .maps
            .iter()
            .position(|m| m.section == r.symbol_section && matches!(m.origin, MapOrigin::Data(_)));
        let Some(target) = target else {
            return Err(bad(format!(
                "initial contents refer to '{}' in section '{}', which is not global data \
                 (only addresses of global variables can be stored in global data)",
                r.symbol, r.symbol_section
            )));
        };
        let base = shared
            .entry(target as u32)
            .and_then(|e| e.map.lookup_ptr(&0u32.to_ne_bytes()))
            .ok_or_else(|| {
                bad(format!(
                    "relocation target '{}' is not created yet",
                    r.symbol
                ))
            })?;
        let off = r.offset as usize;
        if r.width != 8 || off + 8 > data.len() {
            return Err(bad(format!(
                "relocation of '{}' at offset {off}: only 8-byte addresses inside the value \
                 are supported",
                r.symbol
            )));
        }
        let addend = u64::from_le_bytes(data[off..off + 8].try_into().expect("8 bytes"));
        let addr = base.wrapping_add(r.symbol_value).wrapping_add(addend);
        data[off..off + 8].copy_from_slice(&addr.to_le_bytes());
    }
    Ok(data)
}

/// Create every map of `object` in `shared`, then apply initial values.
pub(crate) fn create_maps(
    shared: &Arc<Shared>,
    object: &Object,
    pin_dir: Option<&Path>,
) -> Result<(), RuntimeError> {
    let mut fresh = Vec::with_capacity(object.maps.len());
    for def in &object.maps {
        let spec = convert(def)?;
        let inner = match (&def.inner, spec.map_type) {
            (Some(inner), _) => Some(convert(inner)?),
            (None, MapType::ArrayOfMaps | MapType::HashOfMaps) => {
                return Err(RuntimeError::MapDefinition {
                    map: def.name.clone(),
                    reason: "a map of maps needs an inner map definition \
                             (__array(values, struct { ... }))"
                        .to_string(),
                })
            }
            (None, _) => None,
        };
        let (map, created) = create_one(def, spec, pin_dir)?;
        shared.push(MapEntry {
            name: def.name.clone(),
            map: Arc::new(map),
            inner,
        })?;
        fresh.push(created);
    }
    // Global data after all maps exist (its relocations may point at other data maps).
    for (id, def) in object.maps.iter().enumerate() {
        if !fresh[id] || !matches!(def.origin, MapOrigin::Data(_)) || def.data.is_empty() {
            continue;
        }
        let data = initial_data(object, shared, def)?;
        let entry = shared.entry(id as u32).expect("created above");
        entry
            .map
            .update(&0u32.to_ne_bytes(), &data, BPF_ANY)
            .map_err(map_err(&def.name))?;
    }
    for (id, def) in object.maps.iter().enumerate() {
        if is_frozen_data(def) {
            freeze_rodata(object, shared, id, fresh[id], pin_dir)?;
        }
    }
    for (id, def) in object.maps.iter().enumerate() {
        for (key, init) in &def.initial_values {
            match init {
                MapInit::Program(name) => {
                    let prog = shared
                        .program_index(name)
                        .ok_or_else(|| RuntimeError::Slot {
                            map: def.name.clone(),
                            reason: format!(
                                "initial value {key} names '{name}', which is not a program"
                            ),
                        })?;
                    set_prog_slot(shared, id as u32, *key, prog)?;
                }
                MapInit::Map(inner) => {
                    set_inner(shared, id as u32, &key.to_ne_bytes(), *inner as u32)?;
                }
            }
        }
    }
    Ok(())
}

/// Store program index `prog` in slot `index` of prog_array `map_id`.
pub(crate) fn set_prog_slot(
    shared: &Shared,
    map_id: u32,
    index: u32,
    prog: usize,
) -> Result<(), RuntimeError> {
    let entry = shared
        .entry(map_id)
        .ok_or_else(|| RuntimeError::NoSuchMap(format!("#{map_id}")))?;
    if entry.map.map_type() != MapType::ProgArray {
        return Err(RuntimeError::Slot {
            map: entry.name.clone(),
            reason: format!("is a {}, not a program array", entry.map.map_type()),
        });
    }
    entry
        .map
        .update(&index.to_ne_bytes(), &(prog as u32).to_ne_bytes(), BPF_ANY)
        .map_err(map_err(&entry.name))
}

/// Store map `inner_id` under `key` in map of maps `outer_id`.
pub(crate) fn set_inner(
    shared: &Shared,
    outer_id: u32,
    key: &[u8],
    inner_id: u32,
) -> Result<(), RuntimeError> {
    let outer = shared
        .entry(outer_id)
        .ok_or_else(|| RuntimeError::NoSuchMap(format!("#{outer_id}")))?;
    let inner = shared
        .entry(inner_id)
        .ok_or_else(|| RuntimeError::NoSuchMap(format!("#{inner_id}")))?;
    let slot_err = |reason: String| RuntimeError::Slot {
        map: outer.name.clone(),
        reason,
    };
    let Some(template) = &outer.inner else {
        return Err(slot_err(format!(
            "is a {}, not a map of maps",
            outer.map.map_type()
        )));
    };
    map_in_map::inner_map_compatible(template, inner.map.spec())
        .map_err(|e| slot_err(format!("cannot hold map '{}': {e}", inner.name)))?;
    outer
        .map
        .update(key, &inner_id.to_ne_bytes(), BPF_ANY)
        .map_err(map_err(&outer.name))
}
