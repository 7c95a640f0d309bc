//! # BTF and BTF.ext: the types and debug records of an eBPF object
//!
//! Takes the bytes of a `.BTF` section (or a raw BTF file such as `/sys/kernel/btf/vmlinux`)
//! and of a `.BTF.ext` section; gives typed values:
//!
//! - [`Btf`]: every type by id (id 0 is void) as a [`BtfType`] with a [`TypeKind`], names
//!   resolved; lookups ([`Btf::type_by_id`], [`Btf::find_by_name`]), [`Btf::resolve`]
//!   through typedefs and qualifiers, [`Btf::size_of`], [`Btf::member`] with bit offsets,
//!   and the text dump of `bpftool btf dump file` ([`Btf::dump_raw`]).
//! - [`BtfExt`]: per ELF section, function starts, source lines and CO-RE relocations, at
//!   instruction slots.
//! - BTF-defined maps of the `.maps` section ([`Btf::maps`], [`BtfMapDef`]) and CO-RE access
//!   strings ([`parse_access_str`]).
//!
//! Only little-endian BTF (the eBPF target) is read; big-endian data is refused with
//! [`BtfError::BigEndian`]. Malformed bytes give a [`BtfError`], never a panic or a hang.
//!
//! ```
//! use userbpf_object::btf::{Btf, Kind, TypeKind};
//!
//! // A 24-byte header, two types (`int` and `int *`), and the string table "\0int\0".
//! let mut bytes = vec![0x9f, 0xeb, 1, 0];
//! for word in [24u32, 0, 28, 28, 5] {
//!     bytes.extend_from_slice(&word.to_le_bytes());
//! }
//! for word in [1u32, 1 << 24, 4, (1 << 24) | 32] {   // [1] INT 'int', signed, 32 bits
//!     bytes.extend_from_slice(&word.to_le_bytes());
//! }
//! for word in [0u32, 2 << 24, 1] {                   // [2] PTR to [1]
//!     bytes.extend_from_slice(&word.to_le_bytes());
//! }
//! bytes.extend_from_slice(b"\0int\0");
//!
//! let btf = Btf::parse(&bytes).unwrap();
//! let int = btf.find_by_name(Kind::Int, "int").unwrap();
//! assert_eq!(btf.size_of(int).unwrap(), 4);
//! assert!(matches!(btf.type_by_id(2).unwrap().kind, TypeKind::Ptr { type_id: 1 }));
//! assert_eq!(btf.size_of(2).unwrap(), 8);
//! assert_eq!(
//!     btf.dump_raw(),
//!     "[1] INT 'int' size=4 bits_offset=0 nr_bits=32 encoding=SIGNED\n\
//!      [2] PTR '(anon)' type_id=1\n"
//! );
//! ```

mod core_access;
mod dump;
mod elf;
mod error;
mod ext;
mod header;
mod maps;
mod names;
mod parse;
mod query;
mod reader;
mod strings;
mod types;
mod value;

pub use self::core_access::{parse_access_str, MAX_ACCESS_LEN};
pub use self::elf::{parse_elf, ElfBtf};
pub use self::error::BtfError;
pub use self::ext::{
    BtfExt, BtfExtHeader, CoreRelo, CoreReloKind, ExtSection, FuncInfo, LineInfo,
    BTF_EXT_CORE_HEADER_LEN, BTF_EXT_MIN_HEADER_LEN,
};
pub use self::header::{BtfHeader, BTF_HEADER_LEN, BTF_MAGIC, BTF_VERSION};
pub use self::maps::BtfMapDef;
pub use self::parse::BTF_MAX_TYPE;
pub use self::query::{Btf, MemberInfo};
pub use self::strings::StringTable;
pub use self::types::{
    BtfType, EnumValue, FuncLinkage, IntEncoding, Kind, Member, Param, TypeKind, VarLinkage,
    VarSecinfo,
};
pub use self::value::{read_value, BtfValue};
