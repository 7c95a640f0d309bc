//! Map errors, each with the errno the kernel's bpf() returns for the same failure.
//!
//! Takes nothing; gives [`MapError`] and its [`MapError::errno`].

use std::path::PathBuf;

use super::MapType;

/// `ENOENT`: no such element.
pub const ENOENT: i32 = 2;
/// `EIO`.
pub const EIO: i32 = 5;
/// `E2BIG`: map full, index out of range, sizes too large.
pub const E2BIG: i32 = 7;
/// `EAGAIN`: ring buffer has no room.
pub const EAGAIN: i32 = 11;
/// `ENOMEM`: the region cannot be mapped.
pub const ENOMEM: i32 = 12;
/// `EPERM`: operation not allowed by the map's access flags.
pub const EPERM: i32 = 1;
/// `EBUSY`: the map is already frozen.
pub const EBUSY: i32 = 16;
/// `EEXIST`: element exists (`BPF_NOEXIST`) or pin path exists.
pub const EEXIST: i32 = 17;
/// `EINVAL`: invalid argument.
pub const EINVAL: i32 = 22;
/// `ENOSPC`: LPM trie full.
pub const ENOSPC: i32 = 28;
/// `EOPNOTSUPP`: operation not supported by the map type.
pub const EOPNOTSUPP: i32 = 95;
/// `EUCLEAN`: the shared region holds inconsistent data.
pub const EUCLEAN: i32 = 117;
/// `ENOTSUPP` (kernel-internal 524): operation not supported (ring buffer element ops).
pub const ENOTSUPP: i32 = 524;

/// An error of a map operation.
#[derive(Debug, thiserror::Error)]
pub enum MapError {
    /// No element with this key, or the queue/stack is empty (`ENOENT`).
    #[error("no such element")]
    NotFound,
    /// The element exists and `BPF_NOEXIST` was given (`EEXIST`).
    #[error("element exists (BPF_NOEXIST)")]
    Exists,
    /// No free element for a new key (`E2BIG`).
    #[error("map is full (max_entries {max_entries})")]
    Full {
        /// The map's capacity.
        max_entries: u32,
    },
    /// Array index beyond `max_entries` in an update (`E2BIG`).
    #[error("index {index} out of range (max_entries {max_entries})")]
    IndexOutOfRange {
        /// The index given.
        index: u32,
        /// The map's capacity.
        max_entries: u32,
    },
    /// LPM trie full (`ENOSPC`).
    #[error("LPM trie is full (max_entries {max_entries})")]
    NoSpace {
        /// The map's capacity.
        max_entries: u32,
    },
    /// Invalid argument (`EINVAL`): sizes, flags, attributes.
    #[error("invalid argument: {reason}")]
    Invalid {
        /// What is wrong.
        reason: String,
    },
    /// A key or value buffer of the wrong length (`EINVAL`).
    #[error("{what} has {got} bytes, the map expects {expected}")]
    WrongSize {
        /// "key" or "value".
        what: &'static str,
        /// Bytes expected.
        expected: usize,
        /// Bytes given.
        got: usize,
    },
    /// Update flags the operation does not accept (`EINVAL`).
    #[error("invalid update flags 0x{flags:x}")]
    BadUpdateFlags {
        /// The flags given.
        flags: u64,
    },
    /// Attribute too large (`E2BIG`), e.g. a hash key longer than the BPF stack.
    #[error("{reason}")]
    TooLarge {
        /// What is too large.
        reason: String,
    },
    /// A map type id the kernel does not define (`EINVAL`).
    #[error("unknown map type {0}")]
    UnknownType(u32),
    /// A kernel map type userbpf does not implement (`EOPNOTSUPP`).
    #[error("map type {0} is not supported yet")]
    TypeNotSupported(MapType),
    /// The map type has no such operation (errno as the kernel: `EINVAL`, `EOPNOTSUPP`...).
    #[error("{op} is not supported by {map_type} maps")]
    OpNotSupported {
        /// The operation.
        op: &'static str,
        /// The map type.
        map_type: MapType,
        /// The kernel's errno for it.
        errno: i32,
    },
    /// The access flags (`BPF_F_RDONLY`, `BPF_F_WRONLY_PROG`...) forbid the operation (`EPERM`).
    #[error("{op} not permitted by the map's access flags")]
    NotPermitted {
        /// The operation.
        op: &'static str,
    },
    /// The map is frozen (`BPF_MAP_FREEZE`): user space may not write it (`EPERM`).
    #[error("{op} not permitted: the map is frozen (read-only for user space)")]
    Frozen {
        /// The operation.
        op: &'static str,
    },
    /// A perf event ring has no room for the record (`ENOSPC`); it is counted as lost.
    #[error("perf event ring is full")]
    PerfRingFull,
    /// The ring buffer has no room (`EAGAIN`).
    #[error("ring buffer has no room")]
    NoRoom,
    /// The region cannot be allocated (`ENOMEM`).
    #[error("cannot allocate map storage: {reason}")]
    NoMemory {
        /// Why.
        reason: String,
    },
    /// A file operation on a pinned map failed (the OS errno).
    #[error("{}: {source}", path.display())]
    Io {
        /// The pin path.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A pinned map file that is not a valid userbpf map (`EINVAL`).
    #[error("{}: not a valid userbpf map file: {reason}", path.display())]
    BadPinFile {
        /// The pin path.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The shared region holds inconsistent data, e.g. after another process wrote garbage
    /// into a pinned file (`EUCLEAN`).
    #[error("map storage is corrupt: {0}")]
    Corrupt(&'static str),
    /// A failure with an errno of its own (`EOVERFLOW`, `ENODEV`...).
    #[error("{reason}")]
    Errno {
        /// The kernel's errno for it.
        errno: i32,
        /// What failed.
        reason: String,
    },
    /// A batch operation stopped after `processed` elements (errno of the cause).
    #[error("batch stopped after {processed} elements: {source}")]
    Batch {
        /// Elements done before the failure.
        processed: usize,
        /// The failure.
        #[source]
        source: Box<MapError>,
    },
}

impl MapError {
    /// The positive errno the kernel's bpf() would return for this error.
    pub fn errno(&self) -> i32 {
        match self {
            MapError::NotFound => ENOENT,
            MapError::Exists => EEXIST,
            MapError::Full { .. }
            | MapError::IndexOutOfRange { .. }
            | MapError::TooLarge { .. } => E2BIG,
            MapError::NoSpace { .. } | MapError::PerfRingFull => ENOSPC,
            MapError::Invalid { .. }
            | MapError::WrongSize { .. }
            | MapError::BadUpdateFlags { .. }
            | MapError::UnknownType(_)
            | MapError::BadPinFile { .. } => EINVAL,
            MapError::TypeNotSupported(_) => EOPNOTSUPP,
            MapError::OpNotSupported { errno, .. } => *errno,
            MapError::NotPermitted { .. } | MapError::Frozen { .. } => EPERM,
            MapError::NoRoom => EAGAIN,
            MapError::NoMemory { .. } => ENOMEM,
            MapError::Io { source, .. } => source.raw_os_error().unwrap_or(EIO),
            MapError::Corrupt(_) => EUCLEAN,
            MapError::Batch { source, .. } => source.errno(),
            MapError::Errno { errno, .. } => *errno,
        }
    }

    pub(crate) fn invalid(reason: impl Into<String>) -> MapError {
        MapError::Invalid {
            reason: reason.into(),
        }
    }
}
