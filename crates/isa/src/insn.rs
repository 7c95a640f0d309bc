//! The typed instruction.
//!
//! Takes nothing; gives [`Insn`], one exhaustive enum covering every instruction of RFC 9669
//! (cpu v1 to v4) plus the kernel's `may_goto`, with typed fields. Every invalid combination of
//! fields is unrepresentable, so `encode` cannot fail and `decode` is the only place that
//! validates raw bytes.

use crate::Reg;

/// Operand width of ALU and conditional-jump instructions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Width {
    /// 32-bit operation (`BPF_ALU`, `BPF_JMP32`); ALU results are zero-extended to 64 bits.
    W32,
    /// 64-bit operation (`BPF_ALU64`, `BPF_JMP`).
    W64,
}

/// Second operand of ALU, jump and store instructions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Source {
    /// A register (`BPF_X`).
    Reg(Reg),
    /// A sign-extended 32-bit immediate (`BPF_K`).
    Imm(i32),
}

/// Binary ALU operations (`dst = dst op src`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AluOp {
    /// `BPF_ADD`
    Add,
    /// `BPF_SUB`
    Sub,
    /// `BPF_MUL`
    Mul,
    /// `BPF_DIV`, unsigned; division by zero gives 0.
    Div,
    /// `BPF_DIV` with offset 1, signed (cpu v4).
    SDiv,
    /// `BPF_OR`
    Or,
    /// `BPF_AND`
    And,
    /// `BPF_LSH`
    Lsh,
    /// `BPF_RSH`, logical.
    Rsh,
    /// `BPF_MOD`, unsigned; modulo by zero leaves dst unchanged.
    Mod,
    /// `BPF_MOD` with offset 1, signed (cpu v4).
    SMod,
    /// `BPF_XOR`
    Xor,
    /// `BPF_MOV`
    Mov,
    /// `BPF_ARSH`, arithmetic.
    Arsh,
}

impl AluOp {
    /// Every binary ALU operation.
    pub const ALL: [AluOp; 14] = [
        AluOp::Add,
        AluOp::Sub,
        AluOp::Mul,
        AluOp::Div,
        AluOp::SDiv,
        AluOp::Or,
        AluOp::And,
        AluOp::Lsh,
        AluOp::Rsh,
        AluOp::Mod,
        AluOp::SMod,
        AluOp::Xor,
        AluOp::Mov,
        AluOp::Arsh,
    ];
}

/// Source width of sign-extending moves and loads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SxFrom {
    /// From 8 bits.
    B8,
    /// From 16 bits.
    B16,
    /// From 32 bits (64-bit destination only).
    B32,
}

impl SxFrom {
    /// Width in bits.
    pub const fn bits(self) -> u32 {
        match self {
            SxFrom::B8 => 8,
            SxFrom::B16 => 16,
            SxFrom::B32 => 32,
        }
    }
}

/// Byte-order conversion kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ByteOrder {
    /// `BPF_ALU | BPF_END | BPF_TO_LE`: host to little endian (truncates on x86).
    ToLe,
    /// `BPF_ALU | BPF_END | BPF_TO_BE`: host to big endian.
    ToBe,
    /// `BPF_ALU64 | BPF_END`: unconditional byte swap (cpu v4).
    Swap,
}

/// Width of a byte-order conversion.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EndianBits {
    /// 16 bits.
    B16,
    /// 32 bits.
    B32,
    /// 64 bits.
    B64,
}

impl EndianBits {
    /// Width in bits.
    pub const fn bits(self) -> u32 {
        match self {
            EndianBits::B16 => 16,
            EndianBits::B32 => 32,
            EndianBits::B64 => 64,
        }
    }
}

/// Access size of loads, stores and atomics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MemSize {
    /// 1 byte (`BPF_B`).
    B,
    /// 2 bytes (`BPF_H`).
    H,
    /// 4 bytes (`BPF_W`).
    W,
    /// 8 bytes (`BPF_DW`).
    DW,
}

impl MemSize {
    /// Size in bytes.
    pub const fn bytes(self) -> usize {
        match self {
            MemSize::B => 1,
            MemSize::H => 2,
            MemSize::W => 4,
            MemSize::DW => 8,
        }
    }

    /// The C type name LLVM prints (`u8`, `u16`, `u32`, `u64`).
    pub const fn c_type(self) -> &'static str {
        match self {
            MemSize::B => "u8",
            MemSize::H => "u16",
            MemSize::W => "u32",
            MemSize::DW => "u64",
        }
    }
}

/// Size of an atomic operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AtomicSize {
    /// 32-bit (`BPF_W`).
    W,
    /// 64-bit (`BPF_DW`).
    DW,
}

impl AtomicSize {
    /// The corresponding memory access size.
    pub const fn mem_size(self) -> MemSize {
        match self {
            AtomicSize::W => MemSize::W,
            AtomicSize::DW => MemSize::DW,
        }
    }
}

/// Atomic read-modify-write operations (`BPF_STX | BPF_ATOMIC`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AtomicOp {
    /// `*(dst + off) += src`
    Add,
    /// `*(dst + off) |= src`
    Or,
    /// `*(dst + off) &= src`
    And,
    /// `*(dst + off) ^= src`
    Xor,
    /// Add, and `src` receives the old value.
    FetchAdd,
    /// Or, and `src` receives the old value.
    FetchOr,
    /// And, and `src` receives the old value.
    FetchAnd,
    /// Xor, and `src` receives the old value.
    FetchXor,
    /// Exchange: `src` receives the old value.
    Xchg,
    /// Compare with r0 and exchange: r0 receives the old value.
    CmpXchg,
}

impl AtomicOp {
    /// Every atomic operation.
    pub const ALL: [AtomicOp; 10] = [
        AtomicOp::Add,
        AtomicOp::Or,
        AtomicOp::And,
        AtomicOp::Xor,
        AtomicOp::FetchAdd,
        AtomicOp::FetchOr,
        AtomicOp::FetchAnd,
        AtomicOp::FetchXor,
        AtomicOp::Xchg,
        AtomicOp::CmpXchg,
    ];

    /// Whether the old value is written back to a register.
    pub const fn fetches(self) -> bool {
        !matches!(
            self,
            AtomicOp::Add | AtomicOp::Or | AtomicOp::And | AtomicOp::Xor
        )
    }
}

/// Conditions of conditional jumps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum JmpCond {
    /// `==`
    Eq,
    /// unsigned `>`
    Gt,
    /// unsigned `>=`
    Ge,
    /// `&` (jump when dst & src != 0)
    Set,
    /// `!=`
    Ne,
    /// signed `>`
    SGt,
    /// signed `>=`
    SGe,
    /// unsigned `<`
    Lt,
    /// unsigned `<=`
    Le,
    /// signed `<`
    SLt,
    /// signed `<=`
    SLe,
}

impl JmpCond {
    /// Every condition.
    pub const ALL: [JmpCond; 11] = [
        JmpCond::Eq,
        JmpCond::Gt,
        JmpCond::Ge,
        JmpCond::Set,
        JmpCond::Ne,
        JmpCond::SGt,
        JmpCond::SGe,
        JmpCond::Lt,
        JmpCond::Le,
        JmpCond::SLt,
        JmpCond::SLe,
    ];
}

/// What the 64-bit immediate of `lddw` means (its source-register field).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LdImm64Kind {
    /// A plain 64-bit constant.
    Imm,
    /// `BPF_PSEUDO_MAP_FD`: imm is a map file descriptor; loads the map pointer.
    MapFd,
    /// `BPF_PSEUDO_MAP_VALUE`: imm is a map fd, next_imm an offset into its value.
    MapValue,
    /// `BPF_PSEUDO_BTF_ID`: imm is a BTF id of a kernel variable.
    BtfId,
    /// `BPF_PSEUDO_FUNC`: imm is a relative instruction offset of a subprogram.
    Func,
    /// `BPF_PSEUDO_MAP_IDX`: imm is an index into the program's map array.
    MapIdx,
    /// `BPF_PSEUDO_MAP_IDX_VALUE`: map index plus value offset in next_imm.
    MapIdxValue,
}

/// Addressing mode of the legacy packet loads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PacketMode {
    /// `BPF_ABS`: `r0 = ntoh(*(packet + imm))`.
    Abs,
    /// `BPF_IND`: `r0 = ntoh(*(packet + src + imm))`.
    Ind(Reg),
}

/// Target of a `call` instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CallTarget {
    /// A helper function by its static id (src 0).
    Helper(i32),
    /// A bpf-to-bpf call (src 1): target is `pc + 1 + imm`.
    Local(i32),
    /// A kernel function by BTF id (src 2); `off` selects the module BTF (0 = vmlinux).
    Kfunc {
        /// BTF id of the function.
        btf_id: i32,
        /// Index of the module BTF in the fd array, 0 for vmlinux.
        off: i16,
    },
}

/// One eBPF instruction. `LdImm64` occupies two 8-byte slots; every other variant one.
///
/// Jump offsets count slots and are relative to the slot after the instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Insn {
    /// `dst = dst op src` (or `dst = src` for `Mov`).
    Alu {
        /// 32 or 64 bits.
        width: Width,
        /// The operation.
        op: AluOp,
        /// Destination and first operand.
        dst: Reg,
        /// Second operand.
        src: Source,
    },
    /// `dst = -dst`.
    Neg {
        /// 32 or 64 bits.
        width: Width,
        /// Operand.
        dst: Reg,
    },
    /// `dst = (sign-extended) src` (cpu v4). With `W32`, `from` is `B8` or `B16`.
    MovSx {
        /// 32 or 64 bits.
        width: Width,
        /// Destination.
        dst: Reg,
        /// Source.
        src: Reg,
        /// Width sign-extended from.
        from: SxFrom,
    },
    /// Byte-order conversion of `dst`.
    Endian {
        /// To little endian, to big endian, or unconditional swap.
        order: ByteOrder,
        /// Width converted.
        bits: EndianBits,
        /// Operand.
        dst: Reg,
    },
    /// `dst = *(size *)(src + off)`, zero-extended.
    Load {
        /// Access size.
        size: MemSize,
        /// Destination.
        dst: Reg,
        /// Base address register.
        src: Reg,
        /// Offset.
        off: i16,
    },
    /// `dst = *(signed size *)(src + off)`, sign-extended (cpu v4). Size is B, H or W.
    LoadSx {
        /// Access size.
        size: MemSize,
        /// Destination.
        dst: Reg,
        /// Base address register.
        src: Reg,
        /// Offset.
        off: i16,
    },
    /// `*(size *)(dst + off) = src` (`BPF_STX` with a register, `BPF_ST` with an immediate).
    Store {
        /// Access size.
        size: MemSize,
        /// Base address register.
        dst: Reg,
        /// Offset.
        off: i16,
        /// Value stored.
        src: Source,
    },
    /// Atomic read-modify-write on `*(size *)(dst + off)` with `src`.
    Atomic {
        /// 32 or 64 bits.
        size: AtomicSize,
        /// Operation.
        op: AtomicOp,
        /// Base address register.
        dst: Reg,
        /// Value register (receives the old value for fetching operations).
        src: Reg,
        /// Offset.
        off: i16,
    },
    /// `dst = imm64` (two slots). The two 32-bit halves are kept as encoded.
    LdImm64 {
        /// Destination.
        dst: Reg,
        /// Meaning of the immediate.
        kind: LdImm64Kind,
        /// The first slot's immediate.
        imm: i32,
        /// The second slot's immediate.
        next_imm: i32,
    },
    /// Legacy packet load (`BPF_LD | BPF_ABS/BPF_IND`), result in r0.
    LoadPacket {
        /// Access size (B, H or W).
        size: MemSize,
        /// Absolute or indirect.
        mode: PacketMode,
        /// Offset.
        imm: i32,
    },
    /// Unconditional jump `goto pc + 1 + off` (`BPF_JMP | BPF_JA`).
    Ja {
        /// Relative target in slots.
        off: i16,
    },
    /// Long unconditional jump `gotol` (`BPF_JMP32 | BPF_JA`, offset in imm; cpu v4).
    Gotol {
        /// Relative target in slots.
        off: i32,
    },
    /// Conditional jump `if dst cond src goto pc + 1 + off`.
    Jump {
        /// Compare 32 or 64 bits.
        width: Width,
        /// Condition.
        cond: JmpCond,
        /// First operand.
        dst: Reg,
        /// Second operand.
        src: Source,
        /// Relative target in slots.
        off: i16,
    },
    /// Call a helper, a subprogram or a kernel function.
    Call(CallTarget),
    /// Indirect call through a register holding a function address (`BPF_CALL | BPF_X`).
    CallX {
        /// Register holding the target.
        reg: Reg,
    },
    /// Return from the current function (or the program) with r0.
    Exit,
    /// The kernel's `may_goto` (`BPF_JMP | BPF_JCOND`): jumps when the loop budget is spent.
    MayGoto {
        /// Relative target in slots.
        off: i16,
    },
}

impl Insn {
    /// Number of 8-byte slots this instruction occupies (2 for `lddw`, else 1).
    pub const fn slots(&self) -> usize {
        match self {
            Insn::LdImm64 { .. } => 2,
            _ => 1,
        }
    }

    /// The relative jump offset of a jump instruction (in slots, from the next slot).
    pub const fn jump_offset(&self) -> Option<i64> {
        match *self {
            Insn::Gotol { off } => Some(off as i64),
            Insn::Ja { off } | Insn::Jump { off, .. } | Insn::MayGoto { off } => Some(off as i64),
            _ => None,
        }
    }

    /// The 64-bit value of an `lddw` immediate, `(next_imm << 32) | imm`.
    pub const fn imm64(imm: i32, next_imm: i32) -> u64 {
        ((next_imm as u32 as u64) << 32) | imm as u32 as u64
    }

    /// Build an `lddw dst, value` with a plain constant.
    pub const fn lddw(dst: Reg, value: u64) -> Insn {
        Insn::LdImm64 {
            dst,
            kind: LdImm64Kind::Imm,
            imm: value as u32 as i32,
            next_imm: (value >> 32) as u32 as i32,
        }
    }
}
