//! `BPF_MAP_TYPE_ARRAY_OF_MAPS` and `BPF_MAP_TYPE_HASH_OF_MAPS`: maps whose values are maps.
//!
//! Takes a spec with `value_size == 4`; gives the outer map (an array of map ids stored as in
//! [`prog_array`](super::prog_array), or a hash table whose 4-byte values are map ids) and
//! [`inner_map_compatible`], the kernel's `bpf_map_meta_equal` check that an inner map
//! matches the template the outer map was declared with. In the kernel user space stores
//! map file descriptors and reads back map ids; here both are the map ids of the owning
//! instance (`crate::instance`), which resolves them: a program's `bpf_map_lookup_elem` on
//! the outer map gives the inner map's handle, not a value pointer.

use super::hash::HashMap;
use super::header::Layout;
use super::prog_array::FdArray;
use super::types::*;
use super::MapError;

/// Check and lay out an array of maps (an fd array).
pub(crate) fn array_of_maps(spec: &MapSpec) -> Result<(FdArray, Layout), MapError> {
    FdArray::new(spec)
}

/// Check and lay out a hash of maps (a hash table with 4-byte map id values), as the
/// kernel's `fd_htab_map_alloc_check`.
pub(crate) fn hash_of_maps(
    spec: &MapSpec,
    ncpus: u32,
    seed: u64,
) -> Result<(HashMap, Layout), MapError> {
    if spec.value_size != 4 {
        return Err(MapError::invalid(
            "BPF_MAP_TYPE_HASH_OF_MAPS maps need value_size 4 (a map id)",
        ));
    }
    HashMap::new(spec, ncpus, seed)
}

/// Whether `inner` may be stored in a map-in-map declared with inner template `template`
/// (the kernel's `bpf_map_meta_equal`): same type, key and value sizes and flags, and for
/// arrays the same `max_entries` unless the template has `BPF_F_INNER_MAP`. Maps of maps
/// cannot be inner maps.
///
/// # Errors
/// `EINVAL` naming the first difference.
pub fn inner_map_compatible(template: &MapSpec, inner: &MapSpec) -> Result<(), MapError> {
    if matches!(inner.map_type, MapType::ArrayOfMaps | MapType::HashOfMaps) {
        return Err(MapError::invalid(
            "maps of maps cannot be inner maps (one level of nesting only)",
        ));
    }
    let differ = |what: &str, a: String, b: String| {
        Err(MapError::invalid(format!(
            "inner map {what} is {b}, the outer map's template has {a}"
        )))
    };
    if template.map_type != inner.map_type {
        return differ(
            "type",
            template.map_type.to_string(),
            inner.map_type.to_string(),
        );
    }
    if template.key_size != inner.key_size {
        return differ(
            "key_size",
            template.key_size.to_string(),
            inner.key_size.to_string(),
        );
    }
    if template.value_size != inner.value_size {
        return differ(
            "value_size",
            template.value_size.to_string(),
            inner.value_size.to_string(),
        );
    }
    if template.flags != inner.flags {
        return differ(
            "map_flags",
            format!("0x{:x}", template.flags),
            format!("0x{:x}", inner.flags),
        );
    }
    let array = matches!(template.map_type, MapType::Array | MapType::PercpuArray);
    if array && template.flags & BPF_F_INNER_MAP == 0 && template.max_entries != inner.max_entries {
        return differ(
            "max_entries",
            template.max_entries.to_string(),
            inner.max_entries.to_string(),
        );
    }
    Ok(())
}
