//! Tristate numbers ("known bits"): the bit-level abstract domain.
//!
//! Takes 64-bit words; gives [`Tnum`], a pair `(value, mask)` describing the set of words `x`
//! with `x & !mask == value`: bits set in `mask` are unknown, the other bits equal `value`.
//!
//! Invariant: `value & mask == 0`. Every operation is sound: for all `x ∈ γ(a)` and
//! `y ∈ γ(b)`, `op(x, y) ∈ γ(a.op(b))`. Narrower widths are handled by truncation
//! ([`Tnum::trunc`]) and sign extension ([`Tnum::sext`]); the low `n` bits of add, sub, mul,
//! and, or, xor and left shifts depend only on the low `n` bits of the operands, so the
//! 64-bit operations followed by truncation are exact instantiations at any width (this is
//! what the exhaustive 8-bit tests rely on).

use std::fmt;

/// A tristate number: `value` holds the known bits, `mask` marks the unknown ones.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tnum {
    /// Known bit values (zero where unknown).
    pub value: u64,
    /// Unknown bits.
    pub mask: u64,
}

/// All-ones in the low `bits` bits (`bits` in 1..=64).
pub const fn low_mask(bits: u32) -> u64 {
    if bits >= 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    }
}

impl Tnum {
    /// Every 64-bit word.
    pub const UNKNOWN: Tnum = Tnum {
        value: 0,
        mask: u64::MAX,
    };

    /// Exactly `v`.
    pub const fn konst(v: u64) -> Tnum {
        Tnum { value: v, mask: 0 }
    }

    /// From raw parts; unknown bits are cleared from `value` to keep the invariant.
    pub const fn new(value: u64, mask: u64) -> Tnum {
        Tnum {
            value: value & !mask,
            mask,
        }
    }

    /// The smallest tnum containing every word in `min..=max` (`min <= max`).
    pub fn range(min: u64, max: u64) -> Tnum {
        let chi = min ^ max;
        let bits = 64 - chi.leading_zeros();
        if bits > 63 {
            return Tnum::UNKNOWN;
        }
        let delta = (1u64 << bits) - 1;
        Tnum::new(min & !delta, delta)
    }

    /// Whether all bits are known.
    pub const fn is_const(self) -> bool {
        self.mask == 0
    }

    /// Whether `x` is described by `self`.
    pub const fn contains(self, x: u64) -> bool {
        x & !self.mask == self.value
    }

    /// Whether every word of `other` is described by `self` (`γ(other) ⊆ γ(self)`).
    pub const fn includes(self, other: Tnum) -> bool {
        if other.mask & !self.mask != 0 {
            return false;
        }
        other.value & !self.mask == self.value
    }

    /// Smallest word described.
    pub const fn min(self) -> u64 {
        self.value
    }

    /// Largest word described.
    pub const fn max(self) -> u64 {
        self.value | self.mask
    }

    /// Shift left by a known amount (`shift < 64`).
    pub const fn lsh(self, shift: u32) -> Tnum {
        Tnum {
            value: self.value << shift,
            mask: self.mask << shift,
        }
    }

    /// Logical shift right by a known amount (`shift < 64`).
    pub const fn rsh(self, shift: u32) -> Tnum {
        Tnum {
            value: self.value >> shift,
            mask: self.mask >> shift,
        }
    }

    /// Arithmetic shift right of the 64-bit word by a known amount (`shift < 64`).
    pub const fn arsh(self, shift: u32) -> Tnum {
        Tnum {
            value: ((self.value as i64) >> shift) as u64,
            mask: ((self.mask as i64) >> shift) as u64,
        }
    }

    /// `self + other`: carries out of unknown bits make the bits they reach unknown.
    #[allow(clippy::should_implement_trait)]
    pub const fn add(self, other: Tnum) -> Tnum {
        let sm = self.mask.wrapping_add(other.mask);
        let sv = self.value.wrapping_add(other.value);
        let sigma = sm.wrapping_add(sv);
        let chi = sigma ^ sv;
        let mu = chi | self.mask | other.mask;
        Tnum {
            value: sv & !mu,
            mask: mu,
        }
    }

    /// `self - other`.
    #[allow(clippy::should_implement_trait)]
    pub const fn sub(self, other: Tnum) -> Tnum {
        let dv = self.value.wrapping_sub(other.value);
        let alpha = dv.wrapping_add(self.mask);
        let beta = dv.wrapping_sub(other.mask);
        let chi = alpha ^ beta;
        let mu = chi | self.mask | other.mask;
        Tnum {
            value: dv & !mu,
            mask: mu,
        }
    }

    /// `-self` (two's complement).
    #[allow(clippy::should_implement_trait)]
    pub const fn neg(self) -> Tnum {
        Tnum::konst(0).sub(self)
    }

    /// `self & other`.
    pub const fn and(self, other: Tnum) -> Tnum {
        let alpha = self.value | self.mask;
        let beta = other.value | other.mask;
        let v = self.value & other.value;
        Tnum {
            value: v,
            mask: alpha & beta & !v,
        }
    }

    /// `self | other`.
    pub const fn or(self, other: Tnum) -> Tnum {
        let v = self.value | other.value;
        let mu = self.mask | other.mask;
        Tnum {
            value: v,
            mask: mu & !v,
        }
    }

    /// `self ^ other`.
    pub const fn xor(self, other: Tnum) -> Tnum {
        let v = self.value ^ other.value;
        let mu = self.mask | other.mask;
        Tnum {
            value: v & !mu,
            mask: mu,
        }
    }

    /// `self * other` by long multiplication: each bit of `self` that is known one adds the
    /// shifted `other`; each unknown bit adds "zero or the shifted `other`", whose bits are
    /// unknown wherever `other` may be one.
    #[allow(clippy::should_implement_trait)]
    pub fn mul(self, other: Tnum) -> Tnum {
        if self.is_const() && other.is_const() {
            return Tnum::konst(self.value.wrapping_mul(other.value));
        }
        let mut acc = Tnum::konst(0);
        let maybe_other = other.value | other.mask;
        let mut a = self;
        let mut shift = 0;
        while (a.value | a.mask) != 0 && shift < 64 {
            if a.value & 1 == 1 {
                acc = acc.add(other.lsh(shift));
            } else if a.mask & 1 == 1 {
                acc = acc.add(Tnum::new(0, maybe_other << shift));
            }
            a = a.rsh(1);
            shift += 1;
        }
        acc
    }

    /// The words described by both (`γ(self) ∩ γ(other)`), or `None` when a known bit
    /// differs (the intersection is empty).
    pub const fn meet(self, other: Tnum) -> Option<Tnum> {
        if (self.value ^ other.value) & !self.mask & !other.mask != 0 {
            return None;
        }
        let v = self.value | other.value;
        let mu = self.mask & other.mask;
        Some(Tnum {
            value: v & !mu,
            mask: mu,
        })
    }

    /// The smallest tnum describing the words of both (the join).
    pub const fn union(self, other: Tnum) -> Tnum {
        let mu = self.mask | other.mask | (self.value ^ other.value);
        Tnum {
            value: self.value & !mu,
            mask: mu,
        }
    }

    /// Keep the low `bits` bits (zero extension from `bits`).
    pub const fn trunc(self, bits: u32) -> Tnum {
        let m = low_mask(bits);
        Tnum {
            value: self.value & m,
            mask: self.mask & m,
        }
    }

    /// Sign-extend the low `bits` bits to 64 bits.
    pub const fn sext(self, bits: u32) -> Tnum {
        if bits >= 64 {
            return self;
        }
        self.lsh(64 - bits).arsh(64 - bits)
    }

    /// The low 32 bits (the kernel's `tnum_subreg`).
    pub const fn subreg(self) -> Tnum {
        self.trunc(32)
    }

    /// Replace the low `bits` bits with `low` (which must fit in `bits` bits).
    pub const fn with_low(self, bits: u32, low: Tnum) -> Tnum {
        let m = low_mask(bits);
        Tnum {
            value: (self.value & !m) | (low.value & m),
            mask: (self.mask & !m) | (low.mask & m),
        }
    }

    /// Byte swap of the low `bits` bits (16, 32 or 64); the result is zero-extended.
    pub const fn bswap(self, bits: u32) -> Tnum {
        match bits {
            16 => Tnum {
                value: (self.value as u16).swap_bytes() as u64,
                mask: (self.mask as u16).swap_bytes() as u64,
            },
            32 => Tnum {
                value: (self.value as u32).swap_bytes() as u64,
                mask: (self.mask as u32).swap_bytes() as u64,
            },
            _ => Tnum {
                value: self.value.swap_bytes(),
                mask: self.mask.swap_bytes(),
            },
        }
    }
}

impl fmt::Debug for Tnum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "({:#x}; {:#x})", self.value, self.mask)
    }
}

impl fmt::Display for Tnum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "({:#x}; {:#x})", self.value, self.mask)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basics() {
        assert_eq!(Tnum::range(0, 7), Tnum::new(0, 7));
        assert_eq!(Tnum::range(4, 5), Tnum::new(4, 1));
        assert!(Tnum::konst(3).add(Tnum::konst(4)).is_const());
        assert_eq!(Tnum::konst(3).mul(Tnum::konst(5)), Tnum::konst(15));
        assert_eq!(Tnum::new(0, 1).mul(Tnum::konst(2)), Tnum::new(0, 2));
        assert!(Tnum::konst(1).meet(Tnum::konst(2)).is_none());
        assert_eq!(
            Tnum::new(0x80, 0).sext(8),
            Tnum::konst(0xffff_ffff_ffff_ff80)
        );
    }
}
