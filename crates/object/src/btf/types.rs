//! The typed representation of BTF types.
//!
//! Takes nothing (the parser fills these in); gives [`BtfType`] (a name and a [`TypeKind`]
//! with its kind-specific data, names already resolved from the string table) and
//! [`Kind`], the plain kind tag used for lookups and printing.

/// The kind of a BTF type, without its data (`BTF_KIND_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// Type id 0.
    #[doc(alias = "BTF_KIND_UNKN")]
    Void,
    /// An integer (`BTF_KIND_INT`, 1).
    #[doc(alias = "BTF_KIND_INT")]
    Int,
    /// A pointer (`BTF_KIND_PTR`, 2).
    #[doc(alias = "BTF_KIND_PTR")]
    Ptr,
    /// An array (`BTF_KIND_ARRAY`, 3).
    #[doc(alias = "BTF_KIND_ARRAY")]
    Array,
    /// A struct (`BTF_KIND_STRUCT`, 4).
    #[doc(alias = "BTF_KIND_STRUCT")]
    Struct,
    /// A union (`BTF_KIND_UNION`, 5).
    #[doc(alias = "BTF_KIND_UNION")]
    Union,
    /// An enum of 32-bit values (`BTF_KIND_ENUM`, 6).
    #[doc(alias = "BTF_KIND_ENUM")]
    Enum,
    /// A forward declaration (`BTF_KIND_FWD`, 7).
    #[doc(alias = "BTF_KIND_FWD")]
    Fwd,
    /// A typedef (`BTF_KIND_TYPEDEF`, 8).
    #[doc(alias = "BTF_KIND_TYPEDEF")]
    Typedef,
    /// `volatile` (`BTF_KIND_VOLATILE`, 9).
    #[doc(alias = "BTF_KIND_VOLATILE")]
    Volatile,
    /// `const` (`BTF_KIND_CONST`, 10).
    #[doc(alias = "BTF_KIND_CONST")]
    Const,
    /// `restrict` (`BTF_KIND_RESTRICT`, 11).
    #[doc(alias = "BTF_KIND_RESTRICT")]
    Restrict,
    /// A function (`BTF_KIND_FUNC`, 12).
    #[doc(alias = "BTF_KIND_FUNC")]
    Func,
    /// A function prototype (`BTF_KIND_FUNC_PROTO`, 13).
    #[doc(alias = "BTF_KIND_FUNC_PROTO")]
    FuncProto,
    /// A variable (`BTF_KIND_VAR`, 14).
    #[doc(alias = "BTF_KIND_VAR")]
    Var,
    /// A data section (`BTF_KIND_DATASEC`, 15).
    #[doc(alias = "BTF_KIND_DATASEC")]
    Datasec,
    /// A floating-point type (`BTF_KIND_FLOAT`, 16).
    #[doc(alias = "BTF_KIND_FLOAT")]
    Float,
    /// A declaration tag (`BTF_KIND_DECL_TAG`, 17).
    #[doc(alias = "BTF_KIND_DECL_TAG")]
    DeclTag,
    /// A type tag (`BTF_KIND_TYPE_TAG`, 18).
    #[doc(alias = "BTF_KIND_TYPE_TAG")]
    TypeTag,
    /// An enum of 64-bit values (`BTF_KIND_ENUM64`, 19).
    #[doc(alias = "BTF_KIND_ENUM64")]
    Enum64,
}

impl Kind {
    /// The kind with this `BTF_KIND_*` number.
    pub fn from_number(n: u8) -> Option<Kind> {
        Some(match n {
            0 => Kind::Void,
            1 => Kind::Int,
            2 => Kind::Ptr,
            3 => Kind::Array,
            4 => Kind::Struct,
            5 => Kind::Union,
            6 => Kind::Enum,
            7 => Kind::Fwd,
            8 => Kind::Typedef,
            9 => Kind::Volatile,
            10 => Kind::Const,
            11 => Kind::Restrict,
            12 => Kind::Func,
            13 => Kind::FuncProto,
            14 => Kind::Var,
            15 => Kind::Datasec,
            16 => Kind::Float,
            17 => Kind::DeclTag,
            18 => Kind::TypeTag,
            19 => Kind::Enum64,
            _ => return None,
        })
    }

    /// The `BTF_KIND_*` number.
    pub fn number(self) -> u8 {
        self as u8
    }

    /// The name bpftool prints (`INT`, `FUNC_PROTO`, ...; `UNKNOWN` for void).
    pub fn name(self) -> &'static str {
        match self {
            Kind::Void => "UNKNOWN",
            Kind::Int => "INT",
            Kind::Ptr => "PTR",
            Kind::Array => "ARRAY",
            Kind::Struct => "STRUCT",
            Kind::Union => "UNION",
            Kind::Enum => "ENUM",
            Kind::Fwd => "FWD",
            Kind::Typedef => "TYPEDEF",
            Kind::Volatile => "VOLATILE",
            Kind::Const => "CONST",
            Kind::Restrict => "RESTRICT",
            Kind::Func => "FUNC",
            Kind::FuncProto => "FUNC_PROTO",
            Kind::Var => "VAR",
            Kind::Datasec => "DATASEC",
            Kind::Float => "FLOAT",
            Kind::DeclTag => "DECL_TAG",
            Kind::TypeTag => "TYPE_TAG",
            Kind::Enum64 => "ENUM64",
        }
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// How the bits of an INT are interpreted (`BTF_INT_ENCODING`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct IntEncoding {
    /// `BTF_INT_SIGNED`.
    pub signed: bool,
    /// `BTF_INT_CHAR`.
    pub char: bool,
    /// `BTF_INT_BOOL`.
    pub bool: bool,
}

impl IntEncoding {
    /// From the 4-bit encoding field.
    pub fn from_bits(bits: u8) -> IntEncoding {
        IntEncoding {
            signed: bits & 1 != 0,
            char: bits & 2 != 0,
            bool: bits & 4 != 0,
        }
    }

    /// Back to the 4-bit encoding field.
    pub fn bits(self) -> u8 {
        u8::from(self.signed) | u8::from(self.char) << 1 | u8::from(self.bool) << 2
    }
}

/// Linkage of a FUNC (`enum btf_func_linkage`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FuncLinkage {
    /// `BTF_FUNC_STATIC`.
    Static,
    /// `BTF_FUNC_GLOBAL`.
    Global,
    /// `BTF_FUNC_EXTERN`.
    Extern,
    /// Any other value.
    Unknown(u16),
}

impl FuncLinkage {
    /// From the FUNC's vlen field.
    pub fn from_number(n: u16) -> FuncLinkage {
        match n {
            0 => FuncLinkage::Static,
            1 => FuncLinkage::Global,
            2 => FuncLinkage::Extern,
            n => FuncLinkage::Unknown(n),
        }
    }

    /// The word bpftool prints.
    pub fn name(self) -> &'static str {
        match self {
            FuncLinkage::Static => "static",
            FuncLinkage::Global => "global",
            FuncLinkage::Extern => "extern",
            FuncLinkage::Unknown(_) => "(unknown)",
        }
    }
}

/// Linkage of a VAR (`BTF_VAR_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VarLinkage {
    /// `BTF_VAR_STATIC`.
    Static,
    /// `BTF_VAR_GLOBAL_ALLOCATED`.
    Global,
    /// `BTF_VAR_GLOBAL_EXTERN`.
    Extern,
    /// Any other value.
    Unknown(u32),
}

impl VarLinkage {
    /// From `struct btf_var`'s linkage.
    pub fn from_number(n: u32) -> VarLinkage {
        match n {
            0 => VarLinkage::Static,
            1 => VarLinkage::Global,
            2 => VarLinkage::Extern,
            n => VarLinkage::Unknown(n),
        }
    }

    /// The word bpftool prints.
    pub fn name(self) -> &'static str {
        match self {
            VarLinkage::Static => "static",
            VarLinkage::Global => "global",
            VarLinkage::Extern => "extern",
            VarLinkage::Unknown(_) => "(unknown)",
        }
    }
}

/// A member of a STRUCT or UNION.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    /// Its name (empty for an anonymous member).
    pub name: String,
    /// Its type.
    pub type_id: u32,
    /// Offset from the start of the struct, in bits.
    pub bits_offset: u32,
    /// Width in bits when it is a bitfield (only with the kind flag), else 0.
    pub bitfield_size: u8,
}

/// A value of an ENUM or ENUM64.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnumValue {
    /// Enumerator name.
    pub name: String,
    /// Its value as stored (ENUM: the 32 bits, sign- or zero-extended per the kind flag).
    pub value: u64,
}

/// A parameter of a FUNC_PROTO.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Param {
    /// Parameter name (empty in prototypes without names).
    pub name: String,
    /// Its type (0 with an empty name: the `...` of a variadic function).
    pub type_id: u32,
}

/// A variable in a DATASEC (`struct btf_var_secinfo`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VarSecinfo {
    /// The VAR (or FUNC, for externs) type id.
    pub type_id: u32,
    /// Byte offset in the section.
    pub offset: u32,
    /// Size in bytes.
    pub size: u32,
}

/// One BTF type's kind and kind-specific data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TypeKind {
    /// Type id 0.
    Void,
    /// `BTF_KIND_INT`.
    Int {
        /// Storage size in bytes.
        size: u32,
        /// Signed / char / bool.
        encoding: IntEncoding,
        /// Bit offset of the value inside the storage.
        offset: u8,
        /// Number of value bits.
        bits: u8,
    },
    /// `BTF_KIND_PTR`.
    Ptr {
        /// Pointee.
        type_id: u32,
    },
    /// `BTF_KIND_ARRAY`.
    Array {
        /// Element type.
        elem_type: u32,
        /// Index type.
        index_type: u32,
        /// Number of elements.
        nelems: u32,
    },
    /// `BTF_KIND_STRUCT`.
    Struct {
        /// Size in bytes.
        size: u32,
        /// The kind flag: member offsets carry bitfield sizes.
        kind_flag: bool,
        /// Members in declaration order.
        members: Vec<Member>,
    },
    /// `BTF_KIND_UNION`.
    Union {
        /// Size in bytes.
        size: u32,
        /// The kind flag: member offsets carry bitfield sizes.
        kind_flag: bool,
        /// Members in declaration order.
        members: Vec<Member>,
    },
    /// `BTF_KIND_ENUM`.
    Enum {
        /// Size in bytes.
        size: u32,
        /// The kind flag: values are signed.
        signed: bool,
        /// Enumerators.
        values: Vec<EnumValue>,
    },
    /// `BTF_KIND_FWD`.
    Fwd {
        /// `union` when true, `struct` when false.
        is_union: bool,
    },
    /// `BTF_KIND_TYPEDEF`.
    Typedef {
        /// Aliased type.
        type_id: u32,
    },
    /// `BTF_KIND_VOLATILE`.
    Volatile {
        /// Qualified type.
        type_id: u32,
    },
    /// `BTF_KIND_CONST`.
    Const {
        /// Qualified type.
        type_id: u32,
    },
    /// `BTF_KIND_RESTRICT`.
    Restrict {
        /// Qualified type.
        type_id: u32,
    },
    /// `BTF_KIND_FUNC`.
    Func {
        /// Its FUNC_PROTO.
        type_id: u32,
        /// static / global / extern.
        linkage: FuncLinkage,
    },
    /// `BTF_KIND_FUNC_PROTO`.
    FuncProto {
        /// Return type (0 = void).
        return_type: u32,
        /// Parameters.
        params: Vec<Param>,
    },
    /// `BTF_KIND_VAR`.
    Var {
        /// The variable's type.
        type_id: u32,
        /// static / global / extern.
        linkage: VarLinkage,
    },
    /// `BTF_KIND_DATASEC`.
    Datasec {
        /// Section size in bytes (0 in objects before libbpf fills it in).
        size: u32,
        /// Variables in the section.
        vars: Vec<VarSecinfo>,
    },
    /// `BTF_KIND_FLOAT`.
    Float {
        /// Size in bytes.
        size: u32,
    },
    /// `BTF_KIND_DECL_TAG`.
    DeclTag {
        /// Tagged type (or function / struct whose component is tagged).
        type_id: u32,
        /// -1 for the type itself, else the member or parameter index.
        component_idx: i32,
        /// The kind flag (the tag is an attribute rather than a plain tag).
        kind_flag: bool,
    },
    /// `BTF_KIND_TYPE_TAG`.
    TypeTag {
        /// Tagged type.
        type_id: u32,
        /// The kind flag (the tag is an attribute rather than a plain tag).
        kind_flag: bool,
    },
    /// `BTF_KIND_ENUM64`.
    Enum64 {
        /// Size in bytes.
        size: u32,
        /// The kind flag: values are signed.
        signed: bool,
        /// Enumerators.
        values: Vec<EnumValue>,
    },
}

/// One BTF type: its name (empty when anonymous) and its kind-specific data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BtfType {
    /// Name from the string table; empty for anonymous types.
    pub name: String,
    /// Kind and data.
    pub kind: TypeKind,
}

impl BtfType {
    /// The kind tag.
    pub fn kind(&self) -> Kind {
        match &self.kind {
            TypeKind::Void => Kind::Void,
            TypeKind::Int { .. } => Kind::Int,
            TypeKind::Ptr { .. } => Kind::Ptr,
            TypeKind::Array { .. } => Kind::Array,
            TypeKind::Struct { .. } => Kind::Struct,
            TypeKind::Union { .. } => Kind::Union,
            TypeKind::Enum { .. } => Kind::Enum,
            TypeKind::Fwd { .. } => Kind::Fwd,
            TypeKind::Typedef { .. } => Kind::Typedef,
            TypeKind::Volatile { .. } => Kind::Volatile,
            TypeKind::Const { .. } => Kind::Const,
            TypeKind::Restrict { .. } => Kind::Restrict,
            TypeKind::Func { .. } => Kind::Func,
            TypeKind::FuncProto { .. } => Kind::FuncProto,
            TypeKind::Var { .. } => Kind::Var,
            TypeKind::Datasec { .. } => Kind::Datasec,
            TypeKind::Float { .. } => Kind::Float,
            TypeKind::DeclTag { .. } => Kind::DeclTag,
            TypeKind::TypeTag { .. } => Kind::TypeTag,
            TypeKind::Enum64 { .. } => Kind::Enum64,
        }
    }

    /// Members, for a STRUCT or UNION; empty otherwise.
    pub fn members(&self) -> &[Member] {
        match &self.kind {
            TypeKind::Struct { members, .. } | TypeKind::Union { members, .. } => members,
            _ => &[],
        }
    }

    /// The one type this type refers to (pointee, aliased, qualified, element, var or
    /// function type, return type), if it has exactly one such reference.
    pub fn referenced_type(&self) -> Option<u32> {
        match &self.kind {
            TypeKind::Ptr { type_id }
            | TypeKind::Typedef { type_id }
            | TypeKind::Volatile { type_id }
            | TypeKind::Const { type_id }
            | TypeKind::Restrict { type_id }
            | TypeKind::Func { type_id, .. }
            | TypeKind::Var { type_id, .. }
            | TypeKind::DeclTag { type_id, .. }
            | TypeKind::TypeTag { type_id, .. } => Some(*type_id),
            TypeKind::Array { elem_type, .. } => Some(*elem_type),
            TypeKind::FuncProto { return_type, .. } => Some(*return_type),
            _ => None,
        }
    }

    /// Every type id this type refers to.
    pub fn references(&self) -> Vec<u32> {
        match &self.kind {
            TypeKind::Array {
                elem_type,
                index_type,
                ..
            } => vec![*elem_type, *index_type],
            TypeKind::Struct { members, .. } | TypeKind::Union { members, .. } => {
                members.iter().map(|m| m.type_id).collect()
            }
            TypeKind::FuncProto {
                return_type,
                params,
            } => std::iter::once(*return_type)
                .chain(params.iter().map(|p| p.type_id))
                .collect(),
            TypeKind::Datasec { vars, .. } => vars.iter().map(|v| v.type_id).collect(),
            _ => self.referenced_type().into_iter().collect(),
        }
    }
}
