//! The raw 8-byte instruction slot.
//!
//! Takes bytes (little endian, as in ELF objects and the kernel UAPI); gives [`RawInsn`] with
//! the five fields of `struct bpf_insn`, and back.

/// The fields of one 8-byte slot, exactly as encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct RawInsn {
    /// Opcode byte.
    pub opcode: u8,
    /// Destination register field (low nibble of byte 1).
    pub dst: u8,
    /// Source register field (high nibble of byte 1).
    pub src: u8,
    /// Signed 16-bit offset.
    pub off: i16,
    /// Signed 32-bit immediate.
    pub imm: i32,
}

impl RawInsn {
    /// Build a raw slot.
    pub const fn new(opcode: u8, dst: u8, src: u8, off: i16, imm: i32) -> RawInsn {
        RawInsn {
            opcode,
            dst,
            src,
            off,
            imm,
        }
    }

    /// Parse 8 little-endian bytes.
    pub fn from_bytes(b: [u8; 8]) -> RawInsn {
        RawInsn {
            opcode: b[0],
            dst: b[1] & 0x0f,
            src: b[1] >> 4,
            off: i16::from_le_bytes([b[2], b[3]]),
            imm: i32::from_le_bytes([b[4], b[5], b[6], b[7]]),
        }
    }

    /// Serialise to 8 little-endian bytes.
    pub fn to_bytes(self) -> [u8; 8] {
        let off = self.off.to_le_bytes();
        let imm = self.imm.to_le_bytes();
        [
            self.opcode,
            (self.dst & 0x0f) | (self.src << 4),
            off[0],
            off[1],
            imm[0],
            imm[1],
            imm[2],
            imm[3],
        ]
    }

    /// The slot as a u64 in the conformance suite's `-- raw` notation
    /// (imm in the high 32 bits, opcode in the low byte).
    pub fn to_u64(self) -> u64 {
        u64::from_le_bytes(self.to_bytes())
    }

    /// Parse the u64 notation of [`RawInsn::to_u64`].
    pub fn from_u64(v: u64) -> RawInsn {
        RawInsn::from_bytes(v.to_le_bytes())
    }
}

/// Split a byte buffer into slots; the length must be a multiple of 8.
pub fn slots(bytes: &[u8]) -> Option<Vec<RawInsn>> {
    if !bytes.len().is_multiple_of(8) {
        return None;
    }
    Some(
        bytes
            .chunks_exact(8)
            .map(|c| RawInsn::from_bytes(c.try_into().expect("chunk of 8")))
            .collect(),
    )
}
