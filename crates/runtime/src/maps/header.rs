//! The header at the start of every map region, and the shared state words after it.
//!
//! Takes a [`MapSpec`] and a layout; gives the header bytes a new region starts with, and
//! [`read_header`], which turns the header of a pinned file back into a spec after checking
//! magic, version and sizes. All fields are little-endian on the host (pinned files are for
//! processes on the same machine).
//!
//! ```text
//!   0 magic "UBPFMAP\0"   8 version u32   12 map_type u32   16 key_size u32
//!  20 value_size u32     24 max_entries  28 map_flags      32 map_extra u64
//!  40 ncpus u32          44 header_len   48 total_len u64  56 name [u8; 16]
//!  72 seed u64           80 data_off u64 88 layout meta [u64; 8] (type-specific)
//! 152.. shared state words (locks, counters, list heads, the frozen flag), see the S_*
//!       constants
//! 256 type-specific data (see each map family)
//! ```

use std::path::Path;

use super::storage::Storage;
use super::types::{MapSpec, MapType};
use super::MapError;

/// Magic bytes at offset 0.
pub(crate) const MAGIC: [u8; 8] = *b"UBPFMAP\0";
/// Layout version; bumped whenever the region layout changes.
pub(crate) const VERSION: u32 = 4;
/// Bytes of header before the type-specific data.
pub(crate) const HEADER_LEN: usize = 256;

const H_MAGIC: usize = 0;
const H_VERSION: usize = 8;
const H_TYPE: usize = 12;
const H_KEY: usize = 16;
const H_VALUE: usize = 20;
const H_MAX: usize = 24;
const H_FLAGS: usize = 28;
const H_EXTRA: usize = 32;
const H_NCPUS: usize = 40;
const H_HEADER_LEN: usize = 44;
const H_TOTAL: usize = 48;
const H_NAME: usize = 56;
pub(crate) const H_SEED: usize = 72;
const H_DATA_OFF: usize = 80;
const H_META: usize = 88;

/// Map-wide spin lock (arrays, LRU hashes, LPM tries, queues, ring buffer producers).
pub(crate) const S_GLOBAL_LOCK: usize = 152;
/// Lock of the element free list.
pub(crate) const S_FREE_LOCK: usize = 156;
/// Number of elements in use.
pub(crate) const S_COUNT: usize = 160;
/// First free element (1-based index, 0 = none).
pub(crate) const S_FREE_HEAD: usize = 164;
/// Elements handed out so far by bump allocation.
pub(crate) const S_BUMP: usize = 168;
/// Queue/stack: next slot to write.
pub(crate) const S_Q_HEAD: usize = 180;
/// Queue/stack: oldest slot.
pub(crate) const S_Q_TAIL: usize = 184;
/// Ring buffer consumer lock.
pub(crate) const S_CONS_LOCK: usize = 188;
/// Ring buffer producer position.
pub(crate) const S_PROD_POS: usize = 192;
/// Ring buffer consumer position.
pub(crate) const S_CONS_POS: usize = 200;
/// 1 once the map is frozen (`BPF_MAP_FREEZE`): user space may no longer write it. In the
/// shared state so that every process opening the pin sees it (layout version 4).
pub(crate) const S_FROZEN: usize = 208;

/// Where a map family puts its data, and the numbers that must match on reopening.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Layout {
    /// Total region length.
    pub total_len: u64,
    /// Start of the type-specific data.
    pub data_off: u64,
    /// Type-specific numbers recorded for validation (bucket counts, element sizes...).
    pub meta: [u64; 8],
}

/// What a header says.
pub(crate) struct Header {
    pub spec: MapSpec,
    pub ncpus: u32,
    pub seed: u64,
    pub layout: Layout,
}

/// Write the header of a new region.
pub(crate) fn write_header(st: &Storage, spec: &MapSpec, ncpus: u32, seed: u64, layout: &Layout) {
    st.set32(H_VERSION, VERSION);
    st.set32(H_TYPE, spec.map_type as u32);
    st.set32(H_KEY, spec.key_size);
    st.set32(H_VALUE, spec.value_size);
    st.set32(H_MAX, spec.max_entries);
    st.set32(H_FLAGS, spec.flags);
    st.set64(H_EXTRA, spec.map_extra);
    st.set32(H_NCPUS, ncpus);
    st.set32(H_HEADER_LEN, HEADER_LEN as u32);
    st.set64(H_TOTAL, layout.total_len);
    let mut name = [0u8; 16];
    let n = spec.name.len().min(15);
    name[..n].copy_from_slice(&spec.name.as_bytes()[..n]);
    st.write(H_NAME, &name);
    st.set64(H_SEED, seed);
    st.set64(H_DATA_OFF, layout.data_off);
    for (i, m) in layout.meta.iter().enumerate() {
        st.set64(H_META + 8 * i, *m);
    }
    // The magic goes last: a reader never sees a valid magic with a partial header.
    st.write(H_MAGIC, &MAGIC);
}

/// Read and check the header of a pinned file mapped in `st`.
pub(crate) fn read_header(st: &Storage, path: &Path) -> Result<Header, MapError> {
    let bad = |reason: String| MapError::BadPinFile {
        path: path.to_path_buf(),
        reason,
    };
    if st.len() < HEADER_LEN {
        return Err(bad(format!(
            "file has {} bytes, shorter than the {HEADER_LEN}-byte header",
            st.len()
        )));
    }
    let mut magic = [0u8; 8];
    st.read(H_MAGIC, &mut magic);
    if magic != MAGIC {
        return Err(bad("bad magic".to_string()));
    }
    let version = st.get32(H_VERSION);
    if version != VERSION {
        return Err(bad(format!(
            "layout version {version}, this build reads version {VERSION}"
        )));
    }
    if st.get32(H_HEADER_LEN) as usize != HEADER_LEN {
        return Err(bad("bad header length".to_string()));
    }
    let map_type = MapType::from_id(st.get32(H_TYPE)).map_err(|e| bad(e.to_string()))?;
    let mut name = [0u8; 16];
    st.read(H_NAME, &mut name);
    let name_len = name.iter().position(|b| *b == 0).unwrap_or(16);
    let spec = MapSpec {
        map_type,
        key_size: st.get32(H_KEY),
        value_size: st.get32(H_VALUE),
        max_entries: st.get32(H_MAX),
        flags: st.get32(H_FLAGS),
        map_extra: st.get64(H_EXTRA),
        name: String::from_utf8_lossy(&name[..name_len]).into_owned(),
    };
    let ncpus = st.get32(H_NCPUS);
    if ncpus == 0 || ncpus > 65536 {
        return Err(bad(format!("bad CPU count {ncpus}")));
    }
    let mut meta = [0u64; 8];
    for (i, m) in meta.iter_mut().enumerate() {
        *m = st.get64(H_META + 8 * i);
    }
    Ok(Header {
        spec,
        ncpus,
        seed: st.get64(H_SEED),
        layout: Layout {
            total_len: st.get64(H_TOTAL),
            data_off: st.get64(H_DATA_OFF),
            meta,
        },
    })
}
