//! The typed x86-64 instructions the JIT emits.
//!
//! Takes nothing; gives [`X86Insn`], one variant per instruction form the code generator
//! uses, with typed operands ([`X86Reg`], [`Mem`], [`Size`], [`Cond`]). Encoding lives in
//! [`super::encode`], Intel-syntax printing in [`super::fmt`]; both match on this one enum.

use super::reg::{Cond, Size, X86Reg};

/// Index scale of a memory operand.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scale {
    /// `*1`
    S1 = 0,
    /// `*2`
    S2 = 1,
    /// `*4`
    S4 = 2,
    /// `*8`
    S8 = 3,
}

impl Scale {
    /// The multiplier.
    pub const fn factor(self) -> u32 {
        1 << (self as u32)
    }
}

/// A memory operand `[base + index * scale + disp]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Mem {
    /// Base register.
    pub base: X86Reg,
    /// Optional index register (never rsp) and scale.
    pub index: Option<(X86Reg, Scale)>,
    /// Signed displacement.
    pub disp: i32,
}

impl Mem {
    /// `[base + disp]`.
    pub const fn at(base: X86Reg, disp: i32) -> Mem {
        Mem {
            base,
            index: None,
            disp,
        }
    }

    /// `[base + index * scale + disp]`.
    pub const fn indexed(base: X86Reg, index: X86Reg, scale: Scale, disp: i32) -> Mem {
        Mem {
            base,
            index: Some((index, scale)),
            disp,
        }
    }
}

/// The eight operations of the classic ALU group (the `/digit` of opcodes 0x80–0x83).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum AluOp {
    Add = 0,
    Or = 1,
    Adc = 2,
    Sbb = 3,
    And = 4,
    Sub = 5,
    Xor = 6,
    Cmp = 7,
}

impl AluOp {
    /// Every operation.
    pub const ALL: [AluOp; 8] = [
        AluOp::Add,
        AluOp::Or,
        AluOp::Adc,
        AluOp::Sbb,
        AluOp::And,
        AluOp::Sub,
        AluOp::Xor,
        AluOp::Cmp,
    ];

    /// The mnemonic.
    pub fn mnemonic(self) -> &'static str {
        ["add", "or", "adc", "sbb", "and", "sub", "xor", "cmp"][self as usize]
    }
}

/// Shift and rotate operations (the `/digit` of opcodes 0xc1 and 0xd3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum ShiftOp {
    Rol = 0,
    Ror = 1,
    Shl = 4,
    Shr = 5,
    Sar = 7,
}

impl ShiftOp {
    /// Every operation.
    pub const ALL: [ShiftOp; 5] = [
        ShiftOp::Rol,
        ShiftOp::Ror,
        ShiftOp::Shl,
        ShiftOp::Shr,
        ShiftOp::Sar,
    ];

    /// The mnemonic.
    pub fn mnemonic(self) -> &'static str {
        match self {
            ShiftOp::Rol => "rol",
            ShiftOp::Ror => "ror",
            ShiftOp::Shl => "shl",
            ShiftOp::Shr => "shr",
            ShiftOp::Sar => "sar",
        }
    }
}

/// The count of a shift: `cl` or an immediate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ShiftBy {
    /// The `cl` register.
    Cl,
    /// An immediate count.
    Imm(u8),
}

/// One x86-64 instruction. Sizes are those the encoder supports for each form; the code
/// generator only builds the combinations documented per variant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum X86Insn {
    /// `op dst, src` (any size).
    Alu {
        /// Operation.
        op: AluOp,
        /// Width.
        size: Size,
        /// Destination (r/m).
        dst: X86Reg,
        /// Source (reg).
        src: X86Reg,
    },
    /// `op dst, imm` (imm sign-extended; 8-bit form when it fits).
    AluImm {
        /// Operation.
        op: AluOp,
        /// Width.
        size: Size,
        /// Destination.
        dst: X86Reg,
        /// Immediate.
        imm: i32,
    },
    /// `op dst, [mem]`.
    AluLoad {
        /// Operation.
        op: AluOp,
        /// Width.
        size: Size,
        /// Destination.
        dst: X86Reg,
        /// Source memory.
        mem: Mem,
    },
    /// `op [mem], imm`.
    AluMemImm {
        /// Operation.
        op: AluOp,
        /// Width.
        size: Size,
        /// Destination memory.
        mem: Mem,
        /// Immediate.
        imm: i32,
    },
    /// `lock op [mem], src` (add, or, and, xor).
    LockAlu {
        /// Operation.
        op: AluOp,
        /// Width.
        size: Size,
        /// Destination memory.
        mem: Mem,
        /// Source.
        src: X86Reg,
    },
    /// `test a, b`.
    Test {
        /// Width.
        size: Size,
        /// First operand.
        a: X86Reg,
        /// Second operand.
        b: X86Reg,
    },
    /// `test dst, imm`.
    TestImm {
        /// Width.
        size: Size,
        /// Operand.
        dst: X86Reg,
        /// Immediate.
        imm: i32,
    },
    /// `mov dst, src` (32-bit form zero-extends).
    Mov {
        /// Width.
        size: Size,
        /// Destination.
        dst: X86Reg,
        /// Source.
        src: X86Reg,
    },
    /// `mov r32, imm32` (zero-extends to 64 bits).
    MovImm32 {
        /// Destination.
        dst: X86Reg,
        /// Immediate.
        imm: u32,
    },
    /// `mov r64, simm32` (sign-extends).
    MovImmSx {
        /// Destination.
        dst: X86Reg,
        /// Immediate.
        imm: i32,
    },
    /// `movabs r64, imm64`.
    MovAbs {
        /// Destination.
        dst: X86Reg,
        /// Immediate.
        imm: u64,
    },
    /// Zero-extending load: `movzx r32, byte/word [mem]`, `mov r32, [mem]`, `mov r64, [mem]`.
    Load {
        /// Access width.
        size: Size,
        /// Destination.
        dst: X86Reg,
        /// Source memory.
        mem: Mem,
    },
    /// Sign-extending load into a 64-bit register: `movsx`/`movsxd` (8, 16, 32 bits).
    LoadSx {
        /// Access width.
        size: Size,
        /// Destination.
        dst: X86Reg,
        /// Source memory.
        mem: Mem,
    },
    /// `mov [mem], src`.
    Store {
        /// Width.
        size: Size,
        /// Destination memory.
        mem: Mem,
        /// Source.
        src: X86Reg,
    },
    /// `mov [mem], imm` (sign-extended for 64 bits).
    StoreImm {
        /// Width.
        size: Size,
        /// Destination memory.
        mem: Mem,
        /// Immediate (truncated to the width).
        imm: i32,
    },
    /// `movzx r32, r8/r16`.
    Movzx {
        /// Source width (8 or 16).
        from: Size,
        /// Destination.
        dst: X86Reg,
        /// Source.
        src: X86Reg,
    },
    /// `movsx r32/r64, r8/r16` or `movsxd r64, r32`.
    Movsx {
        /// Source width.
        from: Size,
        /// Destination width (32 or 64).
        size: Size,
        /// Destination.
        dst: X86Reg,
        /// Source.
        src: X86Reg,
    },
    /// `lea r64, [mem]`.
    Lea {
        /// Destination.
        dst: X86Reg,
        /// Address computed.
        mem: Mem,
    },
    /// `shl/shr/sar/rol/ror dst, cl|imm`.
    Shift {
        /// Operation.
        op: ShiftOp,
        /// Width.
        size: Size,
        /// Operand.
        dst: X86Reg,
        /// Count.
        by: ShiftBy,
    },
    /// `neg dst`.
    Neg {
        /// Width.
        size: Size,
        /// Operand.
        dst: X86Reg,
    },
    /// `imul dst, src` (32 or 64).
    Imul {
        /// Width.
        size: Size,
        /// Destination.
        dst: X86Reg,
        /// Source.
        src: X86Reg,
    },
    /// `imul dst, src, imm` (32 or 64).
    ImulImm {
        /// Width.
        size: Size,
        /// Destination.
        dst: X86Reg,
        /// Source.
        src: X86Reg,
        /// Immediate.
        imm: i32,
    },
    /// `div src`: unsigned `rdx:rax / src` (32 or 64).
    Div {
        /// Width.
        size: Size,
        /// Divisor.
        src: X86Reg,
    },
    /// `idiv src`: signed `rdx:rax / src` (32 or 64).
    Idiv {
        /// Width.
        size: Size,
        /// Divisor.
        src: X86Reg,
    },
    /// `cdq` (32) or `cqo` (64): sign-extend the accumulator into rdx.
    SignExtendAcc {
        /// Width.
        size: Size,
    },
    /// `bswap r32/r64`.
    Bswap {
        /// Width (32 or 64).
        size: Size,
        /// Operand.
        reg: X86Reg,
    },
    /// `xchg [mem], reg` (implicitly locked).
    Xchg {
        /// Width.
        size: Size,
        /// Memory.
        mem: Mem,
        /// Register.
        reg: X86Reg,
    },
    /// `lock xadd [mem], reg`.
    LockXadd {
        /// Width.
        size: Size,
        /// Memory.
        mem: Mem,
        /// Register.
        reg: X86Reg,
    },
    /// `lock cmpxchg [mem], reg` (compares with rax/eax).
    LockCmpxchg {
        /// Width.
        size: Size,
        /// Memory.
        mem: Mem,
        /// New value.
        reg: X86Reg,
    },
    /// `push r64`.
    Push(X86Reg),
    /// `pop r64`.
    Pop(X86Reg),
    /// `ret`.
    Ret,
    /// `call rel32` (relative to the end of the instruction).
    Call {
        /// Displacement.
        rel: i32,
    },
    /// `call r64`.
    CallReg(X86Reg),
    /// `jmp r64`.
    JmpReg(X86Reg),
    /// `jmp rel8/rel32` (relative to the end of the instruction).
    Jmp {
        /// Displacement.
        rel: i32,
        /// 2-byte form with an 8-bit displacement.
        short: bool,
    },
    /// `jcc rel8/rel32`.
    Jcc {
        /// Condition.
        cond: Cond,
        /// Displacement.
        rel: i32,
        /// 2-byte form with an 8-bit displacement.
        short: bool,
    },
    /// `ud2`: an undefined instruction (never reached; marks impossible paths).
    Ud2,
}
