//! x86-64 registers, operand sizes and condition codes.
//!
//! Takes nothing; gives [`X86Reg`] (the sixteen general-purpose registers with their
//! hardware numbers), [`Size`] (operand width) and [`Cond`] (the sixteen condition codes of
//! `jcc`), with the bits the encoder needs (REX extension bits, byte-register rules).

/// A general-purpose register, numbered as in the hardware encoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
#[allow(missing_docs)]
pub enum X86Reg {
    Rax = 0,
    Rcx = 1,
    Rdx = 2,
    Rbx = 3,
    Rsp = 4,
    Rbp = 5,
    Rsi = 6,
    Rdi = 7,
    R8 = 8,
    R9 = 9,
    R10 = 10,
    R11 = 11,
    R12 = 12,
    R13 = 13,
    R14 = 14,
    R15 = 15,
}

impl X86Reg {
    /// Every register in hardware order.
    pub const ALL: [X86Reg; 16] = [
        X86Reg::Rax,
        X86Reg::Rcx,
        X86Reg::Rdx,
        X86Reg::Rbx,
        X86Reg::Rsp,
        X86Reg::Rbp,
        X86Reg::Rsi,
        X86Reg::Rdi,
        X86Reg::R8,
        X86Reg::R9,
        X86Reg::R10,
        X86Reg::R11,
        X86Reg::R12,
        X86Reg::R13,
        X86Reg::R14,
        X86Reg::R15,
    ];

    /// The hardware number, 0..=15.
    pub const fn num(self) -> u8 {
        self as u8
    }

    /// The low three bits (the ModRM/SIB/opcode field).
    pub const fn low3(self) -> u8 {
        self as u8 & 7
    }

    /// Whether the register needs a REX extension bit (r8–r15).
    pub const fn ext(self) -> bool {
        self as u8 >= 8
    }

    /// Whether its low byte is only addressable with a REX prefix (spl, bpl, sil, dil).
    pub const fn byte_needs_rex(self) -> bool {
        matches!(self, X86Reg::Rsp | X86Reg::Rbp | X86Reg::Rsi | X86Reg::Rdi)
    }

    /// The register's name at the given width (Intel syntax).
    pub fn name(self, size: Size) -> &'static str {
        const N64: [&str; 16] = [
            "rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi", "r8", "r9", "r10", "r11",
            "r12", "r13", "r14", "r15",
        ];
        const N32: [&str; 16] = [
            "eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi", "r8d", "r9d", "r10d", "r11d",
            "r12d", "r13d", "r14d", "r15d",
        ];
        const N16: [&str; 16] = [
            "ax", "cx", "dx", "bx", "sp", "bp", "si", "di", "r8w", "r9w", "r10w", "r11w", "r12w",
            "r13w", "r14w", "r15w",
        ];
        const N8: [&str; 16] = [
            "al", "cl", "dl", "bl", "spl", "bpl", "sil", "dil", "r8b", "r9b", "r10b", "r11b",
            "r12b", "r13b", "r14b", "r15b",
        ];
        let i = self as usize;
        match size {
            Size::S64 => N64[i],
            Size::S32 => N32[i],
            Size::S16 => N16[i],
            Size::S8 => N8[i],
        }
    }
}

/// Operand width.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Size {
    /// 8 bits.
    S8,
    /// 16 bits (operand-size prefix 0x66).
    S16,
    /// 32 bits (writes to a register zero-extend to 64).
    S32,
    /// 64 bits (REX.W).
    S64,
}

impl Size {
    /// Width in bytes.
    pub const fn bytes(self) -> u32 {
        match self {
            Size::S8 => 1,
            Size::S16 => 2,
            Size::S32 => 4,
            Size::S64 => 8,
        }
    }

    /// The Intel memory-size keyword (`byte ptr` ...).
    pub fn ptr(self) -> &'static str {
        match self {
            Size::S8 => "byte ptr",
            Size::S16 => "word ptr",
            Size::S32 => "dword ptr",
            Size::S64 => "qword ptr",
        }
    }
}

/// Condition codes, numbered as in `jcc` (0x70 + cc, 0x0f 0x80 + cc).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Cond {
    /// Overflow.
    O = 0,
    /// No overflow.
    No = 1,
    /// Unsigned below (carry).
    B = 2,
    /// Unsigned above or equal.
    Ae = 3,
    /// Equal (zero).
    E = 4,
    /// Not equal.
    Ne = 5,
    /// Unsigned below or equal.
    Be = 6,
    /// Unsigned above.
    A = 7,
    /// Sign.
    S = 8,
    /// No sign.
    Ns = 9,
    /// Parity.
    P = 10,
    /// No parity.
    Np = 11,
    /// Signed less.
    L = 12,
    /// Signed greater or equal.
    Ge = 13,
    /// Signed less or equal.
    Le = 14,
    /// Signed greater.
    G = 15,
}

impl Cond {
    /// Every condition.
    pub const ALL: [Cond; 16] = [
        Cond::O,
        Cond::No,
        Cond::B,
        Cond::Ae,
        Cond::E,
        Cond::Ne,
        Cond::Be,
        Cond::A,
        Cond::S,
        Cond::Ns,
        Cond::P,
        Cond::Np,
        Cond::L,
        Cond::Ge,
        Cond::Le,
        Cond::G,
    ];

    /// The mnemonic suffix (`je`, `jne`, ...), as disassemblers print it.
    pub fn suffix(self) -> &'static str {
        [
            "o", "no", "b", "ae", "e", "ne", "be", "a", "s", "ns", "p", "np", "l", "ge", "le", "g",
        ][self as usize]
    }
}
