//! BTF beside a pinned map, so another process can print its keys and values by type.
//!
//! Takes the pin path of a map and the encoded BTF of the object that defined it with the
//! key and value type ids; gives a sidecar file `<pin>.btf` (magic `UBPFBTF1`, key type id,
//! value type id, then the raw `.BTF` bytes) and reads it back. `userbpf map dump` uses it the
//! way bpftool uses the BTF the kernel keeps with a map.

use std::path::{Path, PathBuf};

const MAGIC: &[u8; 8] = b"UBPFBTF1";

/// Type information stored beside a pinned map.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PinnedBtf {
    /// The encoded BTF (header, types, strings).
    pub btf: Vec<u8>,
    /// BTF id of the key type (0: none).
    pub key_type_id: u32,
    /// BTF id of the value type (0: none).
    pub value_type_id: u32,
}

/// The sidecar path of a pin: `<pin>.btf`.
pub fn sidecar_path(pin: &Path) -> PathBuf {
    let mut p = pin.as_os_str().to_owned();
    p.push(".btf");
    PathBuf::from(p)
}

/// Write the sidecar of `pin`.
///
/// # Errors
/// The I/O error, with the path.
pub fn write(pin: &Path, info: &PinnedBtf) -> Result<(), String> {
    let mut bytes = MAGIC.to_vec();
    bytes.extend(info.key_type_id.to_le_bytes());
    bytes.extend(info.value_type_id.to_le_bytes());
    bytes.extend(&info.btf);
    let path = sidecar_path(pin);
    std::fs::write(&path, bytes).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Read the sidecar of `pin`; `Ok(None)` when there is none.
///
/// # Errors
/// A description when the file exists but is not a sidecar.
pub fn read(pin: &Path) -> Result<Option<PinnedBtf>, String> {
    let path = sidecar_path(pin);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    if bytes.len() < 16 || &bytes[..8] != MAGIC {
        return Err(format!("{} is not a userbpf BTF sidecar", path.display()));
    }
    let id = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"));
    Ok(Some(PinnedBtf {
        key_type_id: id(8),
        value_type_id: id(12),
        btf: bytes[16..].to_vec(),
    }))
}

/// Write the sidecar of every map of `object` pinned under `dir` whose key or value type BTF
/// describes. Returns how many were written.
///
/// # Errors
/// The first write error.
pub fn write_for_object(dir: &Path, object: &userbpf_object::Object) -> Result<usize, String> {
    let Some(btf) = &object.btf else {
        return Ok(0);
    };
    let mut written = 0;
    for m in &object.maps {
        if m.key_type_id.is_none() && m.value_type_id.is_none() {
            continue;
        }
        let pin = dir.join(&m.name);
        if !pin.exists() {
            continue;
        }
        write(
            &pin,
            &PinnedBtf {
                btf: btf.raw_bytes().to_vec(),
                key_type_id: m.key_type_id.unwrap_or(0),
                value_type_id: m.value_type_id.unwrap_or(0),
            },
        )?;
        written += 1;
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_errors() {
        let dir = std::env::temp_dir().join(format!("userbpf-pin-btf-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let pin = dir.join("counts");
        assert_eq!(read(&pin), Ok(None));
        let info = PinnedBtf {
            btf: vec![0x9f, 0xeb, 1, 0],
            key_type_id: 3,
            value_type_id: 7,
        };
        write(&pin, &info).unwrap();
        assert_eq!(read(&pin), Ok(Some(info)));
        std::fs::write(sidecar_path(&pin), b"junk").unwrap();
        assert!(read(&pin).is_err());
    }
}
