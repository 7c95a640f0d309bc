//! Map definitions: legacy `maps` sections and global data sections.
//!
//! Takes the parsed ELF file; gives [`MapSpec`]s, each remembering where its definition lives
//! ([`MapOrigin`]) so that relocations can find it:
//!
//! - legacy `maps` sections hold an array of `struct bpf_map_def` records (`type`,
//!   `key_size`, `value_size`, `max_entries`, `map_flags`, then optionally `inner_map_idx`,
//!   `numa_node`, ...). As libbpf does, the record size is the section size divided by the
//!   number of symbols in the section, and each symbol names the record at its offset;
//! - `.data`, `.data.*`, `.rodata`, `.rodata.*`, `.bss` and `.bss.*` each become one
//!   single-element `BPF_MAP_TYPE_ARRAY` map whose value is the section (initial contents
//!   included; `.rodata*` read-only for programs, `BPF_F_RDONLY_PROG`).
//!
//! BTF-defined maps (`.maps`) are read in [`super::btf_maps`].

use super::elf::{ElfFile, Section};
use crate::ObjectError;

/// `BPF_MAP_TYPE_ARRAY`.
pub const BPF_MAP_TYPE_ARRAY: u32 = 2;
/// `BPF_MAP_TYPE_ARRAY_OF_MAPS`.
pub const BPF_MAP_TYPE_ARRAY_OF_MAPS: u32 = 12;
/// `BPF_MAP_TYPE_HASH_OF_MAPS`.
pub const BPF_MAP_TYPE_HASH_OF_MAPS: u32 = 13;
/// `BPF_F_RDONLY_PROG`: programs may only read the map.
pub const BPF_F_RDONLY_PROG: u32 = 0x80;

/// Largest global data section accepted (the kernel caps array values far lower, at
/// `KMALLOC_MAX_SIZE`); keeps a corrupt `.bss` size from allocating gigabytes.
pub const MAX_DATA_SECTION: u64 = 64 << 20;

/// Which kind of global data section a data map stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DataKind {
    /// `.data`, `.data.*`: initialised, writable.
    Data,
    /// `.rodata`, `.rodata.*`: read-only for programs.
    Rodata,
    /// `.bss`, `.bss.*`: zero-initialised.
    Bss,
}

/// Where a map's definition comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MapOrigin {
    /// A `struct bpf_map_def` record in a legacy `maps` section.
    Legacy {
        /// Offset of the record in the section.
        offset: u64,
        /// Record size in bytes (the same for all maps of the section).
        record_size: u64,
    },
    /// A variable of the BTF `.maps` DATASEC.
    Btf {
        /// Offset of the variable in `.maps`.
        offset: u64,
        /// BTF id of the variable's (struct) type.
        type_id: u32,
    },
    /// A global data section.
    Data(DataKind),
}

/// An initial element of a map-in-map or program-array map (`.values = { ... }`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MapInit {
    /// Another map of the object, by index in [`crate::Object::maps`].
    Map(usize),
    /// A program of the object, by function name.
    Program(String),
}

/// An `R_BPF_64_ABS64` / `R_BPF_64_ABS32` relocation inside a data section: the bytes at
/// `offset` hold the address of `symbol` (plus the addend already there).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataReloc {
    /// Byte offset in the map's value.
    pub offset: u64,
    /// 8 for ABS64, 4 for ABS32.
    pub width: u8,
    /// Referenced symbol.
    pub symbol: String,
    /// Section of the referenced symbol (empty when undefined).
    pub symbol_section: String,
    /// Symbol value (offset in its section).
    pub symbol_value: u64,
}

/// One map the object defines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MapSpec {
    /// Map name (symbol name, or the section name for data maps).
    pub name: String,
    /// Section holding the definition (`maps`, `.maps`, `.data`, ...).
    pub section: String,
    /// Where in the file the definition is.
    pub origin: MapOrigin,
    /// `enum bpf_map_type` id.
    pub map_type: u32,
    /// Key size in bytes.
    pub key_size: u32,
    /// Value size in bytes.
    pub value_size: u32,
    /// Maximum number of elements.
    pub max_entries: u32,
    /// `BPF_F_*` creation flags.
    pub map_flags: u32,
    /// `map_extra` (bloom filter hash count, ...).
    pub map_extra: u64,
    /// NUMA node (legacy definitions only; 0 otherwise).
    pub numa_node: u32,
    /// `LIBBPF_PIN_*` (0 = none, 1 = by name).
    pub pinning: u32,
    /// The inner map definition of a map-in-map.
    pub inner: Option<Box<MapSpec>>,
    /// BTF id of the key type, when BTF describes it.
    pub key_type_id: Option<u32>,
    /// BTF id of the value type, when BTF describes it.
    pub value_type_id: Option<u32>,
    /// Initial contents (global data maps; empty otherwise).
    pub data: Vec<u8>,
    /// Initial elements of map-in-map / prog-array maps, by key.
    pub initial_values: Vec<(u32, MapInit)>,
    /// Address relocations inside the initial contents.
    pub data_relocs: Vec<DataReloc>,
    /// Extra bytes of a legacy record beyond the fields understood here.
    pub extra: Vec<u8>,
}

impl MapSpec {
    /// A map with the given geometry and everything else empty.
    pub fn new(name: &str, section: &str, origin: MapOrigin) -> MapSpec {
        MapSpec {
            name: name.to_string(),
            section: section.to_string(),
            origin,
            map_type: 0,
            key_size: 0,
            value_size: 0,
            max_entries: 0,
            map_flags: 0,
            map_extra: 0,
            numa_node: 0,
            pinning: 0,
            inner: None,
            key_type_id: None,
            value_type_id: None,
            data: Vec::new(),
            initial_values: Vec::new(),
            data_relocs: Vec::new(),
            extra: Vec::new(),
        }
    }

    /// Is this a map-in-map type (array or hash of maps)?
    pub fn is_map_in_map(&self) -> bool {
        matches!(
            self.map_type,
            BPF_MAP_TYPE_ARRAY_OF_MAPS | BPF_MAP_TYPE_HASH_OF_MAPS
        )
    }
}

/// The data-section kind of a section name, if it is one.
pub(crate) fn data_kind(name: &str) -> Option<DataKind> {
    let is =
        |base: &str| name == base || name.strip_prefix(base).is_some_and(|r| r.starts_with('.'));
    if is(".data") {
        Some(DataKind::Data)
    } else if is(".rodata") {
        Some(DataKind::Rodata)
    } else if is(".bss") {
        Some(DataKind::Bss)
    } else {
        None
    }
}

/// Is `name` a legacy map section (`maps`, or `maps/NAME` as older loaders allow)?
pub(crate) fn is_legacy_maps_section(name: &str) -> bool {
    name == "maps" || name.starts_with("maps/")
}

/// Is `section` a global data section that becomes a map?
pub(crate) fn is_data_section(section: &Section<'_>) -> bool {
    !section.is_exec() && section.size > 0 && data_kind(&section.name).is_some()
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    let mut b = [0u8; 4];
    if let Some(s) = bytes.get(at..at + 4) {
        b.copy_from_slice(s);
    }
    u32::from_le_bytes(b)
}

/// Read the legacy `maps` section at `index`; each map is pushed with its symbol offset.
pub(crate) fn legacy_maps(elf: &ElfFile<'_>, index: usize) -> Result<Vec<MapSpec>, ObjectError> {
    let section = &elf.sections[index];
    let err = |map: &str, message: String| ObjectError::Map {
        map: map.to_string(),
        section: section.name.clone(),
        message,
    };
    let mut syms: Vec<_> = elf.symbols_in(index).map(|(_, s)| s).collect();
    syms.sort_by_key(|s| s.value);
    if syms.is_empty() {
        return if section.size == 0 {
            Ok(Vec::new())
        } else {
            Err(err(
                "?",
                format!(
                    "{} bytes of map definitions but no map symbols",
                    section.size
                ),
            ))
        };
    }
    if section.is_nobits() || section.data.len() as u64 != section.size {
        return Err(err("?", "map definitions have no contents".into()));
    }
    let size = section.size;
    let n = syms.len() as u64;
    if !size.is_multiple_of(n) {
        return Err(err(
            &syms[0].name,
            format!("section size {size} is not a multiple of the {n} map symbols in it"),
        ));
    }
    let record = size / n;
    if record < 16 || !record.is_multiple_of(4) {
        return Err(err(
            &syms[0].name,
            format!("map definition size {record} (section size {size} / {n} symbols) is not a valid struct bpf_map_def"),
        ));
    }
    let mut maps = Vec::with_capacity(syms.len());
    for sym in &syms {
        if !sym.value.is_multiple_of(4)
            || sym.value.checked_add(record).is_none_or(|end| end > size)
        {
            return Err(err(
                &sym.name,
                format!("definition at offset {} (size {record}) is outside the section of {size} bytes", sym.value),
            ));
        }
        if maps.iter().any(|m: &MapSpec| matches!(m.origin, MapOrigin::Legacy { offset, .. } if offset == sym.value)) {
            return Err(err(&sym.name, format!("two map symbols at offset {}", sym.value)));
        }
        let rec = &section.data[sym.value as usize..(sym.value + record) as usize];
        let mut m = MapSpec::new(
            &sym.name,
            &section.name,
            MapOrigin::Legacy {
                offset: sym.value,
                record_size: record,
            },
        );
        m.map_type = u32_at(rec, 0);
        m.key_size = u32_at(rec, 4);
        m.value_size = u32_at(rec, 8);
        m.max_entries = u32_at(rec, 12);
        m.map_flags = u32_at(rec, 16);
        m.numa_node = if rec.len() >= 28 { u32_at(rec, 24) } else { 0 };
        m.extra = rec.get(20..).unwrap_or_default().to_vec();
        maps.push(m);
    }
    Ok(maps)
}

/// Size of iproute2's `struct bpf_elf_map` records (`type`, `size_key`, `size_value`,
/// `max_elem`, `flags`, `id`, `pinning`, `inner_id`, `inner_idx`), as tc and Cilium use.
const BPF_ELF_MAP_SIZE: u64 = 36;

/// Resolve the inner map of legacy map-in-map definitions: in iproute2's 36-byte
/// `struct bpf_elf_map` records, `inner_id` names the legacy map whose `id` is that value;
/// otherwise the `inner_map_idx` field (the sixth) is an index into all legacy maps of the
/// object, in section order (as the kernel samples' loader numbers them).
pub(crate) fn resolve_legacy_inner(maps: &mut [MapSpec]) -> Result<(), ObjectError> {
    let legacy: Vec<usize> = (0..maps.len())
        .filter(|&i| matches!(maps[i].origin, MapOrigin::Legacy { record_size, .. } if record_size >= 24))
        .collect();
    for (n, &i) in legacy.iter().enumerate() {
        if !maps[i].is_map_in_map() {
            continue;
        }
        let elf_map = matches!(maps[i].origin, MapOrigin::Legacy { record_size, .. } if record_size == BPF_ELF_MAP_SIZE);
        let inner_id = u32_at(&maps[i].extra, 8);
        if elf_map && inner_id != 0 {
            let by_id = legacy
                .iter()
                .copied()
                .find(|&j| j != i && u32_at(&maps[j].extra, 0) == inner_id);
            let Some(j) = by_id else {
                return Err(ObjectError::Map {
                    map: maps[i].name.clone(),
                    section: maps[i].section.clone(),
                    message: format!("inner_id {inner_id} names no other map's id"),
                });
            };
            maps[i].inner = Some(Box::new(maps[j].clone()));
            continue;
        }
        let idx = u32_at(&maps[i].extra, 0) as usize;
        match legacy.get(idx) {
            Some(&j) if idx != n => maps[i].inner = Some(Box::new(maps[j].clone())),
            _ => {
                return Err(ObjectError::Map {
                    map: maps[i].name.clone(),
                    section: maps[i].section.clone(),
                    message: format!(
                        "inner_map_idx {idx} does not name another of the {} legacy maps",
                        legacy.len()
                    ),
                })
            }
        }
    }
    Ok(())
}

/// The map of a global data section.
pub(crate) fn data_map(section: &Section<'_>) -> Result<MapSpec, ObjectError> {
    let kind = data_kind(&section.name).unwrap_or(DataKind::Data);
    if section.size > MAX_DATA_SECTION {
        return Err(ObjectError::Section {
            section: section.name.clone(),
            message: format!(
                "data section of {} bytes is too large for a map value (at most {MAX_DATA_SECTION})",
                section.size
            ),
        });
    }
    let value_size = section.size as u32;
    let mut m = MapSpec::new(&section.name, &section.name, MapOrigin::Data(kind));
    m.map_type = BPF_MAP_TYPE_ARRAY;
    m.key_size = 4;
    m.value_size = value_size;
    m.max_entries = 1;
    if kind == DataKind::Rodata {
        m.map_flags = BPF_F_RDONLY_PROG;
    }
    m.data = if section.is_nobits() {
        vec![0; value_size as usize]
    } else if section.data.len() as u64 == section.size {
        section.data.to_vec()
    } else {
        return Err(ObjectError::Section {
            section: section.name.clone(),
            message: "contents shorter than the section size".into(),
        });
    };
    Ok(m)
}
