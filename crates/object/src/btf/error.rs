//! Errors of BTF and BTF.ext parsing and of the queries on parsed BTF.
//!
//! Takes nothing; gives [`BtfError`]: one variant per way the bytes or a query can be wrong,
//! each naming the offset, type id or section involved.

use thiserror::Error;

/// Why BTF or BTF.ext bytes cannot be read, or why a query on them fails.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum BtfError {
    /// The data ends before a field does.
    #[error("{what}: truncated, need {need} bytes at offset {offset} but only {have} are left")]
    Truncated {
        /// The structure being read.
        what: &'static str,
        /// Byte offset where it starts.
        offset: usize,
        /// Bytes it needs.
        need: usize,
        /// Bytes available from `offset`.
        have: usize,
    },
    /// The first two bytes are not the BTF magic.
    #[error("bad magic 0x{0:04x} (expected 0xeb9f)")]
    BadMagic(u16),
    /// The magic is byte-swapped: the data is big-endian.
    #[error("big-endian BTF is not supported (userbpf reads little-endian eBPF objects only)")]
    BigEndian,
    /// A version other than 1.
    #[error("unsupported BTF version {0} (only version 1 exists)")]
    UnsupportedVersion(u8),
    /// Non-zero header flags.
    #[error("unsupported BTF header flags 0x{0:02x}")]
    UnsupportedFlags(u8),
    /// `hdr_len` is too small, or larger than the data.
    #[error("header length {hdr_len} is invalid (minimum {min}, data is {available} bytes)")]
    BadHeaderLen {
        /// The header's `hdr_len`.
        hdr_len: u32,
        /// The smallest acceptable value.
        min: u32,
        /// Bytes in the data.
        available: usize,
    },
    /// A sub-section (types, strings, func_info, ...) lies outside the data.
    #[error("{what} [offset {offset}, length {len}] lies outside the {available} bytes after the header")]
    SectionOutOfRange {
        /// Which sub-section.
        what: &'static str,
        /// Its offset, relative to the end of the header.
        offset: u32,
        /// Its length.
        len: u32,
        /// Bytes after the header.
        available: usize,
    },
    /// The string table does not start (or end) with a NUL byte.
    #[error("string table is malformed: {0}")]
    BadStringTable(&'static str),
    /// A name offset points past the string table.
    #[error("string offset {offset} is past the end of the string table ({len} bytes)")]
    StringOutOfRange {
        /// The offset.
        offset: u32,
        /// The table's length.
        len: usize,
    },
    /// A string is not valid UTF-8.
    #[error("string at offset {0} is not valid UTF-8")]
    InvalidString(u32),
    /// The type section holds more types than BTF allows.
    #[error("too many types (the limit is {0})")]
    TooManyTypes(u32),
    /// A kind number BTF does not define.
    #[error("type [{id}]: unknown kind {kind}")]
    UnknownKind {
        /// The type id.
        id: u32,
        /// The kind number.
        kind: u8,
    },
    /// An error while reading one type.
    #[error("type [{id}]: {source}")]
    InType {
        /// The type id being read.
        id: u32,
        /// What went wrong.
        source: Box<BtfError>,
    },
    /// A type is internally inconsistent.
    #[error("type [{id}] {kind}: {reason}")]
    InvalidType {
        /// The type id.
        id: u32,
        /// Its kind (`STRUCT`, `INT`, ...).
        kind: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
    /// A type refers to a type id that does not exist.
    #[error("type [{id}] {kind}: refers to type id {target}, but the last type id is {last}")]
    TypeIdOutOfRange {
        /// The referring type id.
        id: u32,
        /// Its kind.
        kind: &'static str,
        /// The missing type id.
        target: u32,
        /// The last valid type id.
        last: u32,
    },
    /// A query names a type id that does not exist.
    #[error("no type with id {id} (the last type id is {last})")]
    NoSuchType {
        /// The id asked for.
        id: u32,
        /// The last valid type id.
        last: u32,
    },
    /// Following modifiers, typedefs or array elements from this type never ends.
    #[error("type [{0}]: reference cycle")]
    Cycle(u32),
    /// A size computation overflows.
    #[error("type [{0}]: size overflows")]
    SizeOverflow(u32),
    /// The type has no size (void, function, forward declaration, ...).
    #[error("type [{id}] {kind} has no size")]
    NoSize {
        /// The type id.
        id: u32,
        /// Its kind.
        kind: &'static str,
    },
    /// A type is not of the kind a query needs.
    #[error("type [{id}] is {found}, expected {expected}")]
    UnexpectedKind {
        /// The type id (after resolving modifiers).
        id: u32,
        /// Its kind.
        found: &'static str,
        /// What was expected.
        expected: &'static str,
    },
    /// A BTF.ext record size is smaller than the record it must hold.
    #[error(
        ".BTF.ext {what}: record size {size} is invalid (minimum {min}, must be a multiple of 4)"
    )]
    BadRecordSize {
        /// Which sub-section.
        what: &'static str,
        /// The record size found.
        size: u32,
        /// The minimum.
        min: u32,
    },
    /// A BTF.ext instruction offset is not on an instruction boundary.
    #[error(".BTF.ext {what} for section {section}: instruction offset {insn_off} is not a multiple of 8")]
    MisalignedInsnOff {
        /// Which sub-section.
        what: &'static str,
        /// The ELF section name.
        section: String,
        /// The offset in bytes.
        insn_off: u32,
    },
    /// A BTF.ext record names a type id that does not exist.
    #[error("section {section}: type id {type_id} is past the last type id {last}")]
    ExtTypeIdOutOfRange {
        /// The ELF section name.
        section: String,
        /// The type id.
        type_id: u32,
        /// The last valid type id.
        last: u32,
    },
    /// An error inside a BTF.ext sub-section.
    #[error(".BTF.ext {what}: {source}")]
    InExt {
        /// Which sub-section (func_info, line_info, core_relo).
        what: &'static str,
        /// What went wrong.
        source: Box<BtfError>,
    },
    /// A CO-RE relocation kind number that is not defined.
    #[error(".BTF.ext CO-RE relocation in section {section} at insn offset {insn_off}: unknown kind {kind}")]
    UnknownCoreReloKind {
        /// The ELF section name.
        section: String,
        /// The offset in bytes.
        insn_off: u32,
        /// The kind number.
        kind: u32,
    },
    /// A CO-RE access string is not `N(:N)*`.
    #[error("CO-RE access string {0:?} is malformed (expected indices like \"0:1:2\")")]
    BadAccessString(String),
    /// A BTF-defined map field is not encoded as libbpf expects.
    #[error("map {map}: field '{field}': {reason}")]
    MapField {
        /// The map (variable) name.
        map: String,
        /// The member name.
        field: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// The ELF container cannot be read.
    #[error("ELF object: {0}")]
    Elf(String),
}
