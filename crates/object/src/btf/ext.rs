//! The `.BTF.ext` section: function info, line info and CO-RE relocation records.
//!
//! Takes the bytes of a `.BTF.ext` section and the [`Btf`] of the same object (whose string
//! table holds the section names, file names, source lines and access strings); gives
//! [`BtfExt`]: per ELF section, records whose byte instruction offsets are converted to
//! instruction slots (`insn_off / 8`), with every string resolved and type id checked.

use std::collections::HashMap;

use super::error::BtfError;
use super::header::{check_magic, sub_range, BTF_VERSION};
use super::query::Btf;
use super::reader::Reader;

/// Smallest `.BTF.ext` header (without the CO-RE fields).
pub const BTF_EXT_MIN_HEADER_LEN: u32 = 24;
/// The header length that includes the CO-RE relocation fields.
pub const BTF_EXT_CORE_HEADER_LEN: u32 = 32;

/// The `.BTF.ext` header (`struct btf_ext_header`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BtfExtHeader {
    /// Always 1.
    pub version: u8,
    /// Always 0.
    pub flags: u8,
    /// Header length; offsets count from its end.
    pub hdr_len: u32,
    /// Offset of the func_info sub-section.
    pub func_info_off: u32,
    /// Its length.
    pub func_info_len: u32,
    /// Offset of the line_info sub-section.
    pub line_info_off: u32,
    /// Its length.
    pub line_info_len: u32,
    /// Offset of the CO-RE relocation sub-section (0 when the header is shorter).
    pub core_relo_off: u32,
    /// Its length (0 when absent).
    pub core_relo_len: u32,
}

/// A `bpf_func_info` record: a function starts at this slot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FuncInfo {
    /// Instruction slot in the section (byte offset / 8).
    pub slot: usize,
    /// The FUNC type of the function.
    pub type_id: u32,
}

/// A `bpf_line_info` record: the instructions from this slot come from this source line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineInfo {
    /// Instruction slot in the section (byte offset / 8).
    pub slot: usize,
    /// Source file path.
    pub file_name: String,
    /// The source line's text (empty when the compiler recorded none).
    pub line_text: String,
    /// Line number (1-based; `line_col >> 10`).
    pub line: u32,
    /// Column (`line_col & 0x3ff`).
    pub column: u32,
}

/// What a CO-RE relocation computes (`enum bpf_core_relo_kind`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CoreReloKind {
    /// Field byte offset.
    #[doc(alias = "BPF_CORE_FIELD_BYTE_OFFSET")]
    FieldByteOffset,
    /// Field byte size.
    #[doc(alias = "BPF_CORE_FIELD_BYTE_SIZE")]
    FieldByteSize,
    /// Whether the field exists in the target.
    #[doc(alias = "BPF_CORE_FIELD_EXISTS")]
    FieldExists,
    /// Whether the field is signed.
    #[doc(alias = "BPF_CORE_FIELD_SIGNED")]
    FieldSigned,
    /// Bitfield left shift for extraction.
    #[doc(alias = "BPF_CORE_FIELD_LSHIFT_U64")]
    FieldLshiftU64,
    /// Bitfield right shift for extraction.
    #[doc(alias = "BPF_CORE_FIELD_RSHIFT_U64")]
    FieldRshiftU64,
    /// Type id in the local BTF.
    #[doc(alias = "BPF_CORE_TYPE_ID_LOCAL")]
    TypeIdLocal,
    /// Type id in the target BTF.
    #[doc(alias = "BPF_CORE_TYPE_ID_TARGET")]
    TypeIdTarget,
    /// Whether the type exists in the target.
    #[doc(alias = "BPF_CORE_TYPE_EXISTS")]
    TypeExists,
    /// Size of the type in the target.
    #[doc(alias = "BPF_CORE_TYPE_SIZE")]
    TypeSize,
    /// Whether the enumerator exists in the target.
    #[doc(alias = "BPF_CORE_ENUMVAL_EXISTS")]
    EnumvalExists,
    /// The enumerator's value in the target.
    #[doc(alias = "BPF_CORE_ENUMVAL_VALUE")]
    EnumvalValue,
    /// Whether the target type matches the local one.
    #[doc(alias = "BPF_CORE_TYPE_MATCHES")]
    TypeMatches,
}

impl CoreReloKind {
    /// From the record's kind number.
    pub fn from_number(n: u32) -> Option<CoreReloKind> {
        use CoreReloKind::*;
        Some(match n {
            0 => FieldByteOffset,
            1 => FieldByteSize,
            2 => FieldExists,
            3 => FieldSigned,
            4 => FieldLshiftU64,
            5 => FieldRshiftU64,
            6 => TypeIdLocal,
            7 => TypeIdTarget,
            8 => TypeExists,
            9 => TypeSize,
            10 => EnumvalExists,
            11 => EnumvalValue,
            12 => TypeMatches,
            _ => return None,
        })
    }

    /// The kind number.
    pub fn number(self) -> u32 {
        self as u32
    }

    /// The kernel's enumerator name (`BPF_CORE_FIELD_BYTE_OFFSET`, ...).
    pub fn kernel_name(self) -> &'static str {
        use CoreReloKind::*;
        match self {
            FieldByteOffset => "BPF_CORE_FIELD_BYTE_OFFSET",
            FieldByteSize => "BPF_CORE_FIELD_BYTE_SIZE",
            FieldExists => "BPF_CORE_FIELD_EXISTS",
            FieldSigned => "BPF_CORE_FIELD_SIGNED",
            FieldLshiftU64 => "BPF_CORE_FIELD_LSHIFT_U64",
            FieldRshiftU64 => "BPF_CORE_FIELD_RSHIFT_U64",
            TypeIdLocal => "BPF_CORE_TYPE_ID_LOCAL",
            TypeIdTarget => "BPF_CORE_TYPE_ID_TARGET",
            TypeExists => "BPF_CORE_TYPE_EXISTS",
            TypeSize => "BPF_CORE_TYPE_SIZE",
            EnumvalExists => "BPF_CORE_ENUMVAL_EXISTS",
            EnumvalValue => "BPF_CORE_ENUMVAL_VALUE",
            TypeMatches => "BPF_CORE_TYPE_MATCHES",
        }
    }

    /// libbpf's short name, as in its log messages (`byte_off`, `field_exists`, ...).
    pub fn libbpf_name(self) -> &'static str {
        use CoreReloKind::*;
        match self {
            FieldByteOffset => "byte_off",
            FieldByteSize => "byte_sz",
            FieldExists => "field_exists",
            FieldSigned => "signed",
            FieldLshiftU64 => "lshift_u64",
            FieldRshiftU64 => "rshift_u64",
            TypeIdLocal => "local_type_id",
            TypeIdTarget => "target_type_id",
            TypeExists => "type_exists",
            TypeSize => "type_size",
            EnumvalExists => "enumval_exists",
            EnumvalValue => "enumval_value",
            TypeMatches => "type_matches",
        }
    }

    /// A field relocation (the access string walks into members and array elements).
    pub fn is_field(self) -> bool {
        self.number() <= 5
    }

    /// A type relocation (the access string is "0").
    pub fn is_type(self) -> bool {
        matches!(self.number(), 6..=9 | 12)
    }

    /// An enumerator relocation (the access string is the enumerator index).
    pub fn is_enumval(self) -> bool {
        matches!(self.number(), 10 | 11)
    }
}

impl std::fmt::Display for CoreReloKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.libbpf_name())
    }
}

/// A `bpf_core_relo` record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CoreRelo {
    /// Instruction slot in the section (byte offset / 8).
    pub slot: usize,
    /// The root type in the object's own BTF.
    pub type_id: u32,
    /// The access string (`"0:1:2"`); see [`super::parse_access_str`].
    pub access: String,
    /// What to compute.
    pub kind: CoreReloKind,
}

/// The BTF.ext records of one ELF section.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExtSection {
    /// ELF section name (`xdp`, `.text`, `kprobe/do_thing`, ...).
    pub name: String,
    /// Function starts, sorted by slot.
    pub func_info: Vec<FuncInfo>,
    /// Source lines, sorted by slot (stable: records at one slot keep their order).
    pub line_info: Vec<LineInfo>,
    /// CO-RE relocations.
    pub core_relos: Vec<CoreRelo>,
}

impl ExtSection {
    /// The line info that covers `slot`: the record with the greatest slot not after it.
    pub fn line_at(&self, slot: usize) -> Option<&LineInfo> {
        let end = self.line_info.partition_point(|l| l.slot <= slot);
        end.checked_sub(1).map(|i| &self.line_info[i])
    }

    /// The line info record that starts exactly at `slot`.
    pub fn line_starting_at(&self, slot: usize) -> Option<&LineInfo> {
        self.line_info.iter().find(|l| l.slot == slot)
    }
}

/// Parsed `.BTF.ext`: the records of every ELF section that has any.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BtfExt {
    /// The header.
    pub header: BtfExtHeader,
    /// Record sizes found in the data (func_info, line_info, core_relo; 0 when absent).
    pub record_sizes: [u32; 3],
    /// One entry per ELF section, in order of first appearance.
    pub sections: Vec<ExtSection>,
}

impl BtfExt {
    /// The records of ELF section `name`.
    pub fn section(&self, name: &str) -> Option<&ExtSection> {
        self.sections.iter().find(|s| s.name == name)
    }

    /// Total numbers of (func_info, line_info, core_relo) records.
    pub fn counts(&self) -> (usize, usize, usize) {
        self.sections.iter().fold((0, 0, 0), |(f, l, c), s| {
            (
                f + s.func_info.len(),
                l + s.line_info.len(),
                c + s.core_relos.len(),
            )
        })
    }

    /// Parses `.BTF.ext` bytes; strings and type ids are looked up in `btf`.
    ///
    /// # Errors
    /// [`BtfError`] for a bad header, sub-sections outside the data, bad record sizes,
    /// truncated records, misaligned instruction offsets, unknown CO-RE kinds, strings past
    /// the string table and type ids past the last type.
    pub fn parse(data: &[u8], btf: &Btf) -> Result<BtfExt, BtfError> {
        let mut r = Reader::new(data);
        check_magic(&mut r)?;
        let version = r.u8("BTF.ext header")?;
        if version != BTF_VERSION {
            return Err(BtfError::UnsupportedVersion(version));
        }
        let flags = r.u8("BTF.ext header")?;
        if flags != 0 {
            return Err(BtfError::UnsupportedFlags(flags));
        }
        let hdr_len = r.u32("BTF.ext header")?;
        if hdr_len < BTF_EXT_MIN_HEADER_LEN || hdr_len as usize > data.len() {
            return Err(BtfError::BadHeaderLen {
                hdr_len,
                min: BTF_EXT_MIN_HEADER_LEN,
                available: data.len(),
            });
        }
        let mut header = BtfExtHeader {
            version,
            flags,
            hdr_len,
            func_info_off: r.u32("BTF.ext header")?,
            func_info_len: r.u32("BTF.ext header")?,
            line_info_off: r.u32("BTF.ext header")?,
            line_info_len: r.u32("BTF.ext header")?,
            core_relo_off: 0,
            core_relo_len: 0,
        };
        if hdr_len >= BTF_EXT_CORE_HEADER_LEN {
            header.core_relo_off = r.u32("BTF.ext header")?;
            header.core_relo_len = r.u32("BTF.ext header")?;
        }
        let mut ext = BtfExt {
            header,
            record_sizes: [0; 3],
            sections: Vec::new(),
        };
        let subs = [
            (Sub::Func, header.func_info_off, header.func_info_len),
            (Sub::Line, header.line_info_off, header.line_info_len),
            (Sub::Core, header.core_relo_off, header.core_relo_len),
        ];
        for (i, (sub, off, len)) in subs.into_iter().enumerate() {
            if len == 0 {
                continue;
            }
            let range = sub_range(sub.what(), hdr_len, off, len, data.len())?;
            ext.record_sizes[i] =
                parse_sub(&data[range], sub, btf, &mut ext.sections).map_err(|e| {
                    BtfError::InExt {
                        what: sub.what(),
                        source: Box::new(e),
                    }
                })?;
        }
        for s in &mut ext.sections {
            s.line_info.sort_by_key(|l| l.slot);
            s.func_info.sort_by_key(|f| f.slot);
        }
        Ok(ext)
    }
}

#[derive(Clone, Copy)]
enum Sub {
    Func,
    Line,
    Core,
}

impl Sub {
    fn what(self) -> &'static str {
        match self {
            Sub::Func => "func_info",
            Sub::Line => "line_info",
            Sub::Core => "core_relo",
        }
    }

    fn min_record(self) -> u32 {
        match self {
            Sub::Func => 8,
            Sub::Line => 16,
            Sub::Core => 16,
        }
    }
}

fn check_type_id(btf: &Btf, section: &str, type_id: u32) -> Result<(), BtfError> {
    if type_id > btf.last_type_id() {
        return Err(BtfError::ExtTypeIdOutOfRange {
            section: section.to_string(),
            type_id,
            last: btf.last_type_id(),
        });
    }
    Ok(())
}

/// Parses one info sub-section into `sections`; returns its record size.
fn parse_sub(
    data: &[u8],
    sub: Sub,
    btf: &Btf,
    sections: &mut Vec<ExtSection>,
) -> Result<u32, BtfError> {
    let what = sub.what();
    let mut index: HashMap<String, usize> = sections
        .iter()
        .enumerate()
        .map(|(i, s)| (s.name.clone(), i))
        .collect();
    let mut r = Reader::new(data);
    let rec_size = r.u32(what)?;
    if rec_size < sub.min_record() || rec_size % 4 != 0 {
        return Err(BtfError::BadRecordSize {
            what,
            size: rec_size,
            min: sub.min_record(),
        });
    }
    while !r.is_empty() {
        let name = btf.string_at(r.u32(what)?)?.to_string();
        let num = r.u32(what)?;
        let need = u64::from(num) * u64::from(rec_size);
        if need > r.remaining() as u64 {
            return Err(BtfError::Truncated {
                what,
                offset: r.pos(),
                need: usize::try_from(need).unwrap_or(usize::MAX),
                have: r.remaining(),
            });
        }
        let idx = match index.get(&name) {
            Some(i) => *i,
            None => {
                sections.push(ExtSection {
                    name: name.clone(),
                    ..ExtSection::default()
                });
                index.insert(name.clone(), sections.len() - 1);
                sections.len() - 1
            }
        };
        for _ in 0..num {
            let rec = r.bytes(rec_size as usize, what)?;
            let mut rr = Reader::new(rec);
            let insn_off = rr.u32(what)?;
            if insn_off % 8 != 0 {
                return Err(BtfError::MisalignedInsnOff {
                    what,
                    section: name,
                    insn_off,
                });
            }
            let slot = (insn_off / 8) as usize;
            let sec = &mut sections[idx];
            match sub {
                Sub::Func => {
                    let type_id = rr.u32(what)?;
                    check_type_id(btf, &name, type_id)?;
                    sec.func_info.push(FuncInfo { slot, type_id });
                }
                Sub::Line => {
                    let file_name = btf.string_at(rr.u32(what)?)?.to_string();
                    let line_text = btf.string_at(rr.u32(what)?)?.to_string();
                    let line_col = rr.u32(what)?;
                    sec.line_info.push(LineInfo {
                        slot,
                        file_name,
                        line_text,
                        line: line_col >> 10,
                        column: line_col & 0x3ff,
                    });
                }
                Sub::Core => {
                    let type_id = rr.u32(what)?;
                    check_type_id(btf, &name, type_id)?;
                    let access = btf.string_at(rr.u32(what)?)?.to_string();
                    let kind_num = rr.u32(what)?;
                    let kind = CoreReloKind::from_number(kind_num).ok_or_else(|| {
                        BtfError::UnknownCoreReloKind {
                            section: name.clone(),
                            insn_off,
                            kind: kind_num,
                        }
                    })?;
                    sec.core_relos.push(CoreRelo {
                        slot,
                        type_id,
                        access,
                        kind,
                    });
                }
            }
        }
    }
    Ok(rec_size)
}
