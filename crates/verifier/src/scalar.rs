//! Scalar bounds: the numeric abstract domain of one register.
//!
//! Takes abstract operands; gives abstract results. A [`ScalarW`] describes a set of words
//! of `B::BITS` bits (64 in the verifier; 8 in the exhaustive tests, which instantiate the
//! same code) by five facts that must all hold of every member `x`:
//!
//! - known bits: `var.contains(x)`;
//! - unsigned bounds `full.umin <= x <= full.umax` and signed bounds
//!   `full.smin <= sext(x) <= full.smax`;
//! - the same two pairs for the low half (`sub`, the kernel's 32-bit bounds): on `x` truncated
//!   to `B::HALF` bits.
//!
//! Invariants: `var` fits in `BITS` bits; after [`ScalarW::sync`] (the kernel's
//! `reg_bounds_sync`: bounds from known bits, 32/64 cross deduction, known bits from bounds)
//! every fact is as tight as the others allow, and `sync` never removes a member. Transfer
//! functions ([`ScalarW::alu`], [`ScalarW::alu32`], [`ScalarW::neg`], casts) are sound:
//! the result describes every concrete result. Branch refinement ([`ScalarW::refine`]) keeps
//! every pair of members for which the condition holds and returns `None` only when none
//! does. [`ScalarW::leq`] is inclusion; [`ScalarW::join`] an upper bound of both.

use std::fmt;
use std::marker::PhantomData;

use crate::tnum::{low_mask, Tnum};
use userbpf_isa::{AluOp, JmpCond, SxFrom};

/// A word width for the domain.
pub trait Bits: Copy + Clone + fmt::Debug + PartialEq + Eq + std::hash::Hash + 'static {
    /// Width of the full word.
    const BITS: u32;
    /// Width of the low half (the kernel's 32-bit subregister).
    const HALF: u32 = Self::BITS / 2;
}

/// The verifier's width: 64-bit registers with 32-bit subregisters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct W64;
impl Bits for W64 {
    const BITS: u32 = 64;
}

/// The test width: 8-bit words with 4-bit halves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct W8;
impl Bits for W8 {
    const BITS: u32 = 8;
}

/// The smallest signed value of `bits` bits.
pub const fn smin_of(bits: u32) -> i64 {
    if bits >= 64 {
        i64::MIN
    } else {
        -(1i64 << (bits - 1))
    }
}

/// The largest signed value of `bits` bits.
pub const fn smax_of(bits: u32) -> i64 {
    if bits >= 64 {
        i64::MAX
    } else {
        (1i64 << (bits - 1)) - 1
    }
}

/// Sign-extend the low `bits` bits of `v`.
pub const fn sext(v: u64, bits: u32) -> i64 {
    if bits >= 64 {
        v as i64
    } else {
        ((v << (64 - bits)) as i64) >> (64 - bits)
    }
}

/// The `bits`-bit two's complement pattern of `s`.
pub const fn to_u(s: i64, bits: u32) -> u64 {
    (s as u64) & low_mask(bits)
}

/// Unsigned and signed bounds of one width.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Interval {
    /// Unsigned minimum.
    pub umin: u64,
    /// Unsigned maximum.
    pub umax: u64,
    /// Signed minimum.
    pub smin: i64,
    /// Signed maximum.
    pub smax: i64,
}

impl Interval {
    /// Every value of `bits` bits.
    pub const fn full(bits: u32) -> Interval {
        Interval {
            umin: 0,
            umax: low_mask(bits),
            smin: smin_of(bits),
            smax: smax_of(bits),
        }
    }

    /// Exactly `v` (already truncated to `bits`).
    pub const fn konst(v: u64, bits: u32) -> Interval {
        Interval {
            umin: v,
            umax: v,
            smin: sext(v, bits),
            smax: sext(v, bits),
        }
    }

    /// Whether `x` (truncated to `bits`) satisfies both pairs of bounds.
    pub const fn contains(&self, x: u64, bits: u32) -> bool {
        let s = sext(x, bits);
        self.umin <= x && x <= self.umax && self.smin <= s && s <= self.smax
    }

    /// Whether the bounds describe no value.
    pub const fn is_empty(&self) -> bool {
        self.umin > self.umax || self.smin > self.smax
    }

    /// Inclusion.
    pub const fn leq(&self, o: &Interval) -> bool {
        o.umin <= self.umin && self.umax <= o.umax && o.smin <= self.smin && self.smax <= o.smax
    }

    fn join(&self, o: &Interval) -> Interval {
        Interval {
            umin: self.umin.min(o.umin),
            umax: self.umax.max(o.umax),
            smin: self.smin.min(o.smin),
            smax: self.smax.max(o.smax),
        }
    }

    fn meet(&self, o: &Interval) -> Interval {
        Interval {
            umin: self.umin.max(o.umin),
            umax: self.umax.min(o.umax),
            smin: self.smin.max(o.smin),
            smax: self.smax.min(o.smax),
        }
    }

    /// Signed bounds from unsigned ones when the unsigned range does not cross the sign
    /// boundary; unbounded otherwise.
    fn signed_from_unsigned(&mut self, bits: u32) {
        if sext(self.umin, bits) <= sext(self.umax, bits) {
            self.smin = sext(self.umin, bits);
            self.smax = sext(self.umax, bits);
        } else {
            self.smin = smin_of(bits);
            self.smax = smax_of(bits);
        }
    }
}

/// Unsigned range `[lo, hi]` (mathematical, possibly outside `bits`) mapped into `bits` bits:
/// exact when both ends wrap the same number of times, else the full range.
fn wrap_u(lo: i128, hi: i128, bits: u32) -> (u64, u64) {
    let m = 1i128 << bits;
    if hi - lo >= m {
        return (0, low_mask(bits));
    }
    let (ql, qh) = (lo.div_euclid(m), hi.div_euclid(m));
    if ql == qh {
        (lo.rem_euclid(m) as u64, hi.rem_euclid(m) as u64)
    } else {
        (0, low_mask(bits))
    }
}

/// Signed range `[lo, hi]` mapped into `bits` bits, as [`wrap_u`].
fn wrap_s(lo: i128, hi: i128, bits: u32) -> (i64, i64) {
    let m = 1i128 << bits;
    if hi - lo >= m {
        return (smin_of(bits), smax_of(bits));
    }
    let off = -(smin_of(bits) as i128);
    let (ql, qh) = ((lo + off).div_euclid(m), (hi + off).div_euclid(m));
    if ql == qh {
        (
            ((lo + off).rem_euclid(m) - off) as i64,
            ((hi + off).rem_euclid(m) - off) as i64,
        )
    } else {
        (smin_of(bits), smax_of(bits))
    }
}

fn iv_add(a: &Interval, b: &Interval, bits: u32) -> Interval {
    let (umin, umax) = wrap_u(
        a.umin as i128 + b.umin as i128,
        a.umax as i128 + b.umax as i128,
        bits,
    );
    let (smin, smax) = wrap_s(
        a.smin as i128 + b.smin as i128,
        a.smax as i128 + b.smax as i128,
        bits,
    );
    Interval {
        umin,
        umax,
        smin,
        smax,
    }
}

fn iv_sub(a: &Interval, b: &Interval, bits: u32) -> Interval {
    let (umin, umax) = wrap_u(
        a.umin as i128 - b.umax as i128,
        a.umax as i128 - b.umin as i128,
        bits,
    );
    let (smin, smax) = wrap_s(
        a.smin as i128 - b.smax as i128,
        a.smax as i128 - b.smin as i128,
        bits,
    );
    Interval {
        umin,
        umax,
        smin,
        smax,
    }
}

fn iv_mul(a: &Interval, b: &Interval, bits: u32) -> Interval {
    let mut r = Interval::full(bits);
    let hi = a.umax as u128 * b.umax as u128;
    if hi <= low_mask(bits) as u128 {
        r.umin = a.umin * b.umin;
        r.umax = hi as u64;
    }
    let corners = [
        a.smin as i128 * b.smin as i128,
        a.smin as i128 * b.smax as i128,
        a.smax as i128 * b.smin as i128,
        a.smax as i128 * b.smax as i128,
    ];
    let lo = *corners.iter().min().unwrap_or(&0);
    let hi = *corners.iter().max().unwrap_or(&0);
    if lo >= smin_of(bits) as i128 && hi <= smax_of(bits) as i128 {
        r.smin = lo as i64;
        r.smax = hi as i64;
    }
    r
}

/// Bounds of a bitwise result from its known bits and the operands' bounds.
fn iv_bitwise(op: AluOp, t: Tnum, a: &Interval, b: &Interval, bits: u32) -> Interval {
    let mut r = Interval::full(bits);
    match op {
        AluOp::And => {
            r.umin = t.min();
            r.umax = t.max().min(a.umax).min(b.umax);
        }
        AluOp::Or => {
            r.umin = t.min().max(a.umin).max(b.umin);
            r.umax = t.max();
        }
        _ => {
            r.umin = t.min();
            r.umax = t.max();
        }
    }
    r.signed_from_unsigned(bits);
    r
}

/// The relation a taken branch establishes between its operands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Rel {
    Eq,
    Ne,
    Lt,
    Le,
    SLt,
    SLe,
    Set,
    NotSet,
}

/// `cond` (or its negation) as a relation, with whether the operands must be swapped.
fn relation(cond: JmpCond, taken: bool) -> (Rel, bool) {
    use JmpCond::*;
    let cond = if taken {
        cond
    } else {
        match cond {
            Eq => Ne,
            Ne => Eq,
            Gt => Le,
            Le => Gt,
            Ge => Lt,
            Lt => Ge,
            SGt => SLe,
            SLe => SGt,
            SGe => SLt,
            SLt => SGe,
            Set => return (Rel::NotSet, false),
        }
    };
    match cond {
        Eq => (Rel::Eq, false),
        Ne => (Rel::Ne, false),
        Lt => (Rel::Lt, false),
        Le => (Rel::Le, false),
        Gt => (Rel::Lt, true),
        Ge => (Rel::Le, true),
        SLt => (Rel::SLt, false),
        SLe => (Rel::SLe, false),
        SGt => (Rel::SLt, true),
        SGe => (Rel::SLe, true),
        Set => (Rel::Set, false),
    }
}

/// The abstract value of a scalar register: known bits plus four pairs of bounds.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ScalarW<B: Bits> {
    /// Known bits (within `B::BITS`).
    pub var: Tnum,
    /// Bounds of the whole word.
    pub full: Interval,
    /// Bounds of the low half (the kernel's 32-bit bounds).
    pub sub: Interval,
    _w: PhantomData<B>,
}

/// The verifier's scalar: 64-bit with 32-bit subregister bounds.
pub type Scalar = ScalarW<W64>;

impl<B: Bits> ScalarW<B> {
    const H: u32 = B::HALF;
    const W: u32 = B::BITS;

    /// Any value.
    pub fn unknown() -> Self {
        ScalarW {
            var: Tnum::new(0, low_mask(B::BITS)),
            full: Interval::full(B::BITS),
            sub: Interval::full(B::HALF),
            _w: PhantomData,
        }
    }

    /// Exactly `v` (truncated to the width).
    pub fn konst(v: u64) -> Self {
        let v = v & low_mask(B::BITS);
        let lo = v & low_mask(B::HALF);
        ScalarW {
            var: Tnum::konst(v),
            full: Interval::konst(v, B::BITS),
            sub: Interval::konst(lo, B::HALF),
            _w: PhantomData,
        }
    }

    /// Raw parts, not synchronised (tests and deserialisation).
    pub fn from_parts(var: Tnum, full: Interval, sub: Interval) -> Self {
        ScalarW {
            var: var.trunc(B::BITS),
            full,
            sub,
            _w: PhantomData,
        }
    }

    /// Any value in `umin..=umax` (unsigned), synchronised.
    pub fn urange(umin: u64, umax: u64) -> Self {
        let mut s = Self::unknown();
        s.full.umin = umin;
        s.full.umax = umax;
        s.sync();
        s
    }

    /// Any value in `smin..=smax` (signed), synchronised.
    pub fn srange(smin: i64, smax: i64) -> Self {
        let mut s = Self::unknown();
        s.full.smin = smin;
        s.full.smax = smax;
        s.sync();
        s
    }

    /// The constant, when all bits are known.
    pub fn as_const(&self) -> Option<u64> {
        self.var.is_const().then_some(self.var.value)
    }

    /// The constant low half, when its bits are known.
    pub fn as_const32(&self) -> Option<u64> {
        let t = self.var.trunc(B::HALF);
        t.is_const().then_some(t.value)
    }

    /// Whether `x` is a member.
    pub fn contains(&self, x: u64) -> bool {
        let x = x & low_mask(B::BITS);
        let lo = x & low_mask(B::HALF);
        self.var.contains(x) && self.full.contains(x, B::BITS) && self.sub.contains(lo, B::HALF)
    }

    /// Whether no value is a member (detected cheaply: crossed bounds).
    pub fn is_empty(&self) -> bool {
        self.full.is_empty() || self.sub.is_empty()
    }

    /// Whether the upper half is known to be zero.
    pub fn upper_zero(&self) -> bool {
        self.full.umax <= low_mask(B::HALF)
    }

    // ---- synchronisation -------------------------------------------------------------

    /// Make all facts consistent (the kernel's `reg_bounds_sync`). Returns `false` when the
    /// facts contradict each other (no member), in which case the value is meaningless.
    pub fn sync(&mut self) -> bool {
        for _ in 0..2 {
            self.bounds_from_tnum();
            if self.is_empty() {
                return false;
            }
            self.deduce();
            if self.is_empty() {
                return false;
            }
            if !self.tnum_from_bounds() {
                return false;
            }
            self.bounds_from_tnum();
            if self.is_empty() {
                return false;
            }
        }
        true
    }

    fn bounds_from_tnum(&mut self) {
        let (w, h) = (Self::W, Self::H);
        for (t, iv, bits) in [
            (self.var.trunc(h), &mut self.sub, h),
            (self.var, &mut self.full, w),
        ] {
            let sign = 1u64 << (bits - 1);
            iv.umin = iv.umin.max(t.min());
            iv.umax = iv.umax.min(t.max());
            iv.smin = iv.smin.max(sext(t.value | (t.mask & sign), bits));
            iv.smax = iv.smax.min(sext(t.value | (t.mask & !sign), bits));
        }
    }

    fn deduce(&mut self) {
        let (w, h) = (Self::W, Self::H);
        let mh = low_mask(h);
        // Low half from the whole word.
        let f = self.full;
        if f.umin >> h == f.umax >> h {
            let (lo, hi) = (f.umin & mh, f.umax & mh);
            self.sub.umin = self.sub.umin.max(lo);
            self.sub.umax = self.sub.umax.min(hi);
            if sext(lo, h) <= sext(hi, h) {
                self.sub.smin = self.sub.smin.max(sext(lo, h));
                self.sub.smax = self.sub.smax.min(sext(hi, h));
            }
        }
        if f.smin >> h == f.smax >> h {
            let (lo, hi) = (to_u(f.smin, w) & mh, to_u(f.smax, w) & mh);
            if lo <= hi {
                self.sub.umin = self.sub.umin.max(lo);
                self.sub.umax = self.sub.umax.min(hi);
            }
            if sext(lo, h) <= sext(hi, h) {
                self.sub.smin = self.sub.smin.max(sext(lo, h));
                self.sub.smax = self.sub.smax.min(sext(hi, h));
            }
        }
        Self::deduce_within(&mut self.sub, h);
        // Whole word from the low half.
        let f = self.full;
        if f.umin >> h == f.umax >> h {
            let hi = f.umin & !mh;
            self.full.umin = self.full.umin.max(hi | self.sub.umin);
            self.full.umax = self.full.umax.min(hi | self.sub.umax);
        }
        if f.smin >> h == f.smax >> h {
            let hi = to_u(f.smin, w) & !mh;
            self.full.smin = self.full.smin.max(sext(hi | self.sub.umin, w));
            self.full.smax = self.full.smax.min(sext(hi | self.sub.umax, w));
        }
        let f = self.full;
        if f.smin >= smin_of(h) && f.smax <= smax_of(h) {
            self.full.smin = self.full.smin.max(self.sub.smin);
            self.full.smax = self.full.smax.min(self.sub.smax);
        }
        Self::deduce_within(&mut self.full, w);
    }

    /// Signed bounds from unsigned ones and back, within one width.
    fn deduce_within(iv: &mut Interval, bits: u32) {
        if sext(iv.umin, bits) <= sext(iv.umax, bits) {
            iv.smin = iv.smin.max(sext(iv.umin, bits));
            iv.smax = iv.smax.min(sext(iv.umax, bits));
        }
        let (su, sv) = (to_u(iv.smin, bits), to_u(iv.smax, bits));
        if su <= sv {
            iv.umin = iv.umin.max(su);
            iv.umax = iv.umax.min(sv);
        } else if iv.umax < su {
            // Only the non-negative part [0, smax] remains possible.
            iv.umax = iv.umax.min(sv);
            iv.smin = iv.smin.max(sext(iv.umin, bits).max(0));
        } else if iv.umin > sv {
            // Only the negative part [smin, -1] remains possible.
            iv.umin = iv.umin.max(su);
            iv.smax = iv.smax.min(sext(iv.umax, bits).min(-1));
        }
    }

    fn tnum_from_bounds(&mut self) -> bool {
        let h = Self::H;
        let Some(v64) = self.var.meet(Tnum::range(self.full.umin, self.full.umax)) else {
            return false;
        };
        let Some(v32) = v64.trunc(h).meet(Tnum::range(self.sub.umin, self.sub.umax)) else {
            return false;
        };
        self.var = v64.with_low(h, v32);
        true
    }

    // ---- transfer functions -----------------------------------------------------------

    /// The result of a whole-width ALU operation `self op src` (`Mov` gives `src`).
    pub fn alu(&self, op: AluOp, src: &Self) -> Self {
        let (w, h) = (Self::W, Self::H);
        // A shift by the width or more gives an unknown value (the kernel's rule), not the
        // masked count's result.
        let wide_shift = |b: u64, bits: u32| {
            matches!(op, AluOp::Lsh | AluOp::Rsh | AluOp::Arsh) && b >= u64::from(bits)
        };
        if let (Some(a), Some(b)) = (self.as_const(), src.as_const()) {
            if !wide_shift(b, w) {
                return Self::konst(fold(op, a, b, w));
            }
        }
        let mut r = Self::unknown();
        match op {
            AluOp::Mov => return *src,
            AluOp::Add | AluOp::Sub | AluOp::Mul => {
                let (t, fi, si) = match op {
                    AluOp::Add => (
                        self.var.add(src.var),
                        iv_add(&self.full, &src.full, w),
                        iv_add(&self.sub, &src.sub, h),
                    ),
                    AluOp::Sub => (
                        self.var.sub(src.var),
                        iv_sub(&self.full, &src.full, w),
                        iv_sub(&self.sub, &src.sub, h),
                    ),
                    _ => (
                        self.var.mul(src.var),
                        iv_mul(&self.full, &src.full, w),
                        iv_mul(&self.sub, &src.sub, h),
                    ),
                };
                r.var = t.trunc(w);
                r.full = fi;
                r.sub = si;
            }
            AluOp::And | AluOp::Or | AluOp::Xor => {
                let t = bitwise(op, self.var, src.var);
                r.var = t.trunc(w);
                r.full = iv_bitwise(op, r.var, &self.full, &src.full, w);
                r.sub = iv_bitwise(op, r.var.trunc(h), &self.sub, &src.sub, h);
            }
            AluOp::Lsh | AluOp::Rsh | AluOp::Arsh => {
                let Some(s) = src.as_const().filter(|&s| s < w as u64) else {
                    return r;
                };
                let s = s as u32;
                match op {
                    AluOp::Lsh => {
                        r.var = self.var.lsh(s).trunc(w);
                        if s == 0 || self.full.umax >> (w - s) == 0 {
                            r.full.umin = self.full.umin << s;
                            r.full.umax = self.full.umax << s;
                            r.full.signed_from_unsigned(w);
                        }
                        if s == h {
                            // `<< half` moves the low half's signed bounds up (the kernel's
                            // special case for the `<<32 s>>32` sign-extension idiom).
                            let scale = |x: i64| sext((x as u64) << h, w);
                            if self.sub.smax >= 0 {
                                r.full.smax = r.full.smax.min(scale(self.sub.smax));
                            }
                            if self.sub.smin >= 0 {
                                r.full.smin = r.full.smin.max(scale(self.sub.smin));
                            }
                        }
                    }
                    AluOp::Rsh => {
                        r.var = self.var.rsh(s);
                        r.full.umin = self.full.umin >> s;
                        r.full.umax = self.full.umax >> s;
                        r.full.signed_from_unsigned(w);
                    }
                    _ => {
                        r.var = self.var.sext(w).arsh(s).trunc(w);
                        r.full.smin = self.full.smin >> s;
                        r.full.smax = self.full.smax >> s;
                    }
                }
            }
            AluOp::Div | AluOp::Mod => {
                if let Some(c) = src.as_const().filter(|&c| c != 0) {
                    if op == AluOp::Div {
                        r.full.umin = self.full.umin / c;
                        r.full.umax = self.full.umax / c;
                    } else if self.full.umax < c {
                        return *self;
                    } else {
                        r.full.umin = 0;
                        r.full.umax = self.full.umax.min(c - 1);
                    }
                    r.full.signed_from_unsigned(w);
                }
            }
            AluOp::SDiv | AluOp::SMod => {}
        }
        r.sync();
        r
    }

    /// The result of a half-width ALU operation (the kernel's ALU32) on the low halves,
    /// zero-extended.
    pub fn alu32(&self, op: AluOp, src: &Self) -> Self {
        let h = Self::H;
        let wide_shift = matches!(op, AluOp::Lsh | AluOp::Rsh | AluOp::Arsh);
        if let (Some(a), Some(b)) = (self.as_const32(), src.as_const32()) {
            if !(wide_shift && b >= u64::from(h)) {
                return Self::konst(fold(op, a, b, h));
            }
        }
        let (at, bt) = (self.var.trunc(h), src.var.trunc(h));
        let mut t = Tnum::new(0, low_mask(h));
        let mut s = Interval::full(h);
        match op {
            AluOp::Mov => {
                t = bt;
                s = src.sub;
            }
            AluOp::Add => {
                t = at.add(bt);
                s = iv_add(&self.sub, &src.sub, h);
            }
            AluOp::Sub => {
                t = at.sub(bt);
                s = iv_sub(&self.sub, &src.sub, h);
            }
            AluOp::Mul => {
                t = at.mul(bt);
                s = iv_mul(&self.sub, &src.sub, h);
            }
            AluOp::And | AluOp::Or | AluOp::Xor => {
                t = bitwise(op, at, bt).trunc(h);
                s = iv_bitwise(op, t, &self.sub, &src.sub, h);
            }
            AluOp::Lsh | AluOp::Rsh | AluOp::Arsh => {
                if let Some(c) = src.as_const32().filter(|&c| c < h as u64) {
                    let c = c as u32;
                    match op {
                        AluOp::Lsh => {
                            t = at.lsh(c);
                            if c == 0 || self.sub.umax >> (h - c) == 0 {
                                s.umin = self.sub.umin << c;
                                s.umax = self.sub.umax << c;
                                s.signed_from_unsigned(h);
                            }
                        }
                        AluOp::Rsh => {
                            t = at.rsh(c);
                            s.umin = self.sub.umin >> c;
                            s.umax = self.sub.umax >> c;
                            s.signed_from_unsigned(h);
                        }
                        _ => {
                            t = at.sext(h).arsh(c);
                            s.smin = self.sub.smin >> c;
                            s.smax = self.sub.smax >> c;
                        }
                    }
                }
            }
            AluOp::Div | AluOp::Mod => {
                if let Some(c) = src.as_const32().filter(|&c| c != 0) {
                    if op == AluOp::Div {
                        s.umin = self.sub.umin / c;
                        s.umax = self.sub.umax / c;
                    } else if self.sub.umax < c {
                        t = at;
                        s = self.sub;
                    } else {
                        s.umax = self.sub.umax.min(c - 1);
                    }
                    s.signed_from_unsigned(h);
                }
            }
            AluOp::SDiv | AluOp::SMod => {}
        }
        Self::zext_half(t.trunc(h), s)
    }

    /// A value whose upper half is zero and whose low half is described by `t` and `s`.
    fn zext_half(t: Tnum, s: Interval) -> Self {
        let mut r = Self::unknown();
        r.var = t;
        r.sub = s;
        r.full.umin = s.umin;
        r.full.umax = s.umax;
        r.full.smin = s.umin as i64;
        r.full.smax = s.umax as i64;
        r.sync();
        r
    }

    /// `-self` at full width.
    pub fn neg(&self) -> Self {
        Self::konst(0).alu(AluOp::Sub, self)
    }

    /// `-self` on the low half, zero-extended.
    pub fn neg32(&self) -> Self {
        Self::konst(0).alu32(AluOp::Sub, self)
    }

    /// Zero-extension from the low `bits` bits (truncation; `bits` at most the width).
    pub fn zext(&self, bits: u32) -> Self {
        if bits >= Self::W {
            return *self;
        }
        let m = low_mask(bits);
        let mut r = Self::unknown();
        r.var = self.var.trunc(bits);
        if self.full.umin >> bits == self.full.umax >> bits {
            r.full.umin = self.full.umin & m;
            r.full.umax = self.full.umax & m;
        } else {
            r.full.umin = 0;
            r.full.umax = m;
        }
        r.full.signed_from_unsigned(Self::W);
        if bits == Self::H {
            r.sub = self.sub;
        }
        r.sync();
        r
    }

    /// Sign extension from the low `bits` bits to the full width.
    pub fn sext(&self, bits: u32) -> Self {
        if bits >= Self::W {
            return *self;
        }
        let mut r = Self::unknown();
        r.var = self.var.trunc(bits).sext(bits).trunc(Self::W);
        let (lo, hi) = (smin_of(bits), smax_of(bits));
        if self.full.smin >= lo && self.full.smax <= hi {
            r.full.smin = self.full.smin;
            r.full.smax = self.full.smax;
        } else if self.full.umin >> bits == self.full.umax >> bits {
            let (a, b) = (
                sext(self.full.umin & low_mask(bits), bits),
                sext(self.full.umax & low_mask(bits), bits),
            );
            if a <= b {
                r.full.smin = a;
                r.full.smax = b;
            } else {
                r.full.smin = lo;
                r.full.smax = hi;
            }
        } else {
            r.full.smin = lo;
            r.full.smax = hi;
        }
        if bits == Self::H {
            r.sub = self.sub;
        }
        r.sync();
        r
    }

    /// `movsx`: sign extension from `from`, at full width or (for `half`) on the low half and
    /// zero-extended.
    pub fn movsx(&self, from: SxFrom, half: bool) -> Self {
        let bits = match (Self::W, from) {
            (64, f) => f.bits(),
            // Scaled widths for narrow instantiations: 8 -> W/8, 16 -> W/4, 32 -> W/2.
            (w, SxFrom::B8) => w / 8,
            (w, SxFrom::B16) => w / 4,
            (w, SxFrom::B32) => w / 2,
        };
        let r = self.sext(bits.max(1));
        if half {
            r.zext(Self::H)
        } else {
            r
        }
    }

    /// Byte swap of the low `bits` bits (16, 32 or 64), zero-extended.
    pub fn bswap(&self, bits: u32) -> Self {
        let mut r = Self::unknown();
        r.var = self.var.bswap(bits);
        r.sync();
        r
    }

    // ---- branches ---------------------------------------------------------------------

    /// Refine `self` (dst) and `src` for a conditional jump on the full width (`half` false)
    /// or the low half (`half` true), on the taken or fall-through side. `None` when no pair
    /// of members satisfies the condition (the side is dead).
    pub fn refine(
        &self,
        src: &Self,
        cond: JmpCond,
        half: bool,
        taken: bool,
    ) -> Option<(Self, Self)> {
        let (rel, swap) = relation(cond, taken);
        let (mut a, mut b) = if swap { (*src, *self) } else { (*self, *src) };
        let bits = if half { Self::H } else { Self::W };
        let m = low_mask(bits);
        {
            let (ta, tb) = (a.var.trunc(bits), b.var.trunc(bits));
            let (ia, ib) = if half {
                (&mut a.sub, &mut b.sub)
            } else {
                (&mut a.full, &mut b.full)
            };
            let mut new_ta = ta;
            let mut new_tb = tb;
            match rel {
                Rel::Eq => {
                    let t = ta.meet(tb)?;
                    new_ta = t;
                    new_tb = t;
                    let i = ia.meet(ib);
                    *ia = i;
                    *ib = i;
                }
                Rel::Ne => {
                    if ta.is_const() && tb.is_const() && ta.value == tb.value {
                        return None;
                    }
                    if tb.is_const() {
                        ne_shrink(ia, tb.value, bits)?;
                    }
                    if ta.is_const() {
                        ne_shrink(ib, ta.value, bits)?;
                    }
                }
                Rel::Lt => {
                    if ib.umax == 0 || ia.umin == m {
                        return None;
                    }
                    ia.umax = ia.umax.min(ib.umax - 1);
                    ib.umin = ib.umin.max(ia.umin + 1);
                }
                Rel::Le => {
                    ia.umax = ia.umax.min(ib.umax);
                    ib.umin = ib.umin.max(ia.umin);
                }
                Rel::SLt => {
                    if ib.smax == smin_of(bits) || ia.smin == smax_of(bits) {
                        return None;
                    }
                    ia.smax = ia.smax.min(ib.smax - 1);
                    ib.smin = ib.smin.max(ia.smin + 1);
                }
                Rel::SLe => {
                    ia.smax = ia.smax.min(ib.smax);
                    ib.smin = ib.smin.max(ia.smin);
                }
                Rel::Set => {
                    if ta.max() & tb.max() == 0 {
                        return None;
                    }
                    if tb.is_const() && tb.value.count_ones() == 1 {
                        new_ta = ta.meet(Tnum::new(tb.value, m & !tb.value))?;
                    }
                    if ta.is_const() && ta.value.count_ones() == 1 {
                        new_tb = tb.meet(Tnum::new(ta.value, m & !ta.value))?;
                    }
                }
                Rel::NotSet => {
                    if ta.min() & tb.min() != 0 {
                        return None;
                    }
                    if tb.is_const() {
                        new_ta = ta.meet(Tnum::new(0, m & !tb.value))?;
                    }
                    if ta.is_const() {
                        new_tb = tb.meet(Tnum::new(0, m & !ta.value))?;
                    }
                }
            }
            a.var = a.var.with_low(bits, new_ta);
            b.var = b.var.with_low(bits, new_tb);
        }
        if !a.sync() || !b.sync() {
            return None;
        }
        Some(if swap { (b, a) } else { (a, b) })
    }

    /// Whether a conditional jump is always taken (`Some(true)`), never (`Some(false)`), or
    /// may go either way.
    pub fn branch_taken(&self, src: &Self, cond: JmpCond, half: bool) -> Option<bool> {
        match (
            self.refine(src, cond, half, true).is_some(),
            self.refine(src, cond, half, false).is_some(),
        ) {
            (true, false) => Some(true),
            (false, true) => Some(false),
            _ => None,
        }
    }

    // ---- lattice ---------------------------------------------------------------------

    /// Inclusion: every member of `self` is a member of `other` (on the facts).
    pub fn leq(&self, other: &Self) -> bool {
        other.var.includes(self.var) && self.full.leq(&other.full) && self.sub.leq(&other.sub)
    }

    /// An upper bound of both.
    pub fn join(&self, other: &Self) -> Self {
        let mut r = ScalarW {
            var: self.var.union(other.var),
            full: self.full.join(&other.full),
            sub: self.sub.join(&other.sub),
            _w: PhantomData,
        };
        r.sync();
        r
    }

    /// Widening: bounds that grew are dropped to the extreme of their width.
    pub fn widen(&self, next: &Self) -> Self {
        let j = self.join(next);
        let (w, h) = (Self::W, Self::H);
        let wid = |a: &Interval, n: &Interval, bits: u32| Interval {
            umin: if n.umin < a.umin { 0 } else { a.umin },
            umax: if n.umax > a.umax {
                low_mask(bits)
            } else {
                a.umax
            },
            smin: if n.smin < a.smin {
                smin_of(bits)
            } else {
                a.smin
            },
            smax: if n.smax > a.smax {
                smax_of(bits)
            } else {
                a.smax
            },
        };
        let mut r = ScalarW {
            var: j.var,
            full: wid(&self.full, &j.full, w),
            sub: wid(&self.sub, &j.sub, h),
            _w: PhantomData,
        };
        r.sync();
        r
    }
}

/// Exclude the constant `c` from the bounds of `x` where it sits at an end.
fn ne_shrink(x: &mut Interval, c: u64, bits: u32) -> Option<()> {
    let sc = sext(c, bits);
    if x.umin == c && x.umax == c {
        return None;
    }
    if x.umin == c {
        x.umin += 1;
    }
    if x.umax == c {
        x.umax -= 1;
    }
    if x.smin == sc {
        x.smin += 1;
    }
    if x.smax == sc {
        x.smax -= 1;
    }
    Some(())
}

fn bitwise(op: AluOp, a: Tnum, b: Tnum) -> Tnum {
    match op {
        AluOp::And => a.and(b),
        AluOp::Or => a.or(b),
        _ => a.xor(b),
    }
}

/// Concrete semantics at `bits` bits (64 or narrower), shared with `userbpf_isa::semantics`
/// at 64 and 32 bits.
pub fn fold(op: AluOp, a: u64, b: u64, bits: u32) -> u64 {
    use userbpf_isa::semantics::{alu32, alu64};
    match bits {
        64 => alu64(op, a, b),
        32 => alu32(op, a, b),
        _ => {
            let m = low_mask(bits);
            let (a, b) = (a & m, b & m);
            let (sa, sb) = (sext(a, bits), sext(b, bits));
            let r = match op {
                AluOp::Add => a.wrapping_add(b),
                AluOp::Sub => a.wrapping_sub(b),
                AluOp::Mul => a.wrapping_mul(b),
                AluOp::Div => a.checked_div(b).unwrap_or(0),
                AluOp::Mod => a.checked_rem(b).unwrap_or(a),
                AluOp::SDiv => {
                    if b == 0 {
                        0
                    } else {
                        sa.wrapping_div(sb) as u64
                    }
                }
                AluOp::SMod => {
                    if b == 0 {
                        a
                    } else {
                        sa.wrapping_rem(sb) as u64
                    }
                }
                AluOp::Or => a | b,
                AluOp::And => a & b,
                AluOp::Xor => a ^ b,
                AluOp::Mov => b,
                AluOp::Lsh => a << (b % bits as u64),
                AluOp::Rsh => a >> (b % bits as u64),
                AluOp::Arsh => (sa >> (b % bits as u64)) as u64,
            };
            r & m
        }
    }
}

impl<B: Bits> fmt::Debug for ScalarW<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl<B: Bits> fmt::Display for ScalarW<B> {
    /// The kernel's style: a constant prints as its value, otherwise the non-trivial facts
    /// (`smin=`, `umax=`, `var_off=`...).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(c) = self.as_const() {
            return write!(f, "{}", sext(c, B::BITS));
        }
        let (w, h) = (B::BITS, B::HALF);
        let mut parts = Vec::new();
        if self.full.smin != smin_of(w) {
            parts.push(format!("smin={}", self.full.smin));
        }
        if self.full.smax != smax_of(w) {
            parts.push(format!("smax={}", self.full.smax));
        }
        if self.full.umin != 0 {
            parts.push(format!("umin={}", self.full.umin));
        }
        if self.full.umax != low_mask(w) {
            parts.push(format!("umax={}", self.full.umax));
        }
        if self.sub.smin != smin_of(h) {
            parts.push(format!("smin32={}", self.sub.smin));
        }
        if self.sub.smax != smax_of(h) {
            parts.push(format!("smax32={}", self.sub.smax));
        }
        if self.sub.umin != 0 {
            parts.push(format!("umin32={}", self.sub.umin));
        }
        if self.sub.umax != low_mask(h) {
            parts.push(format!("umax32={}", self.sub.umax));
        }
        if self.var.mask != low_mask(w) {
            parts.push(format!("var_off={}", self.var));
        }
        write!(f, "{}", parts.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constants_fold_and_ranges_propagate() {
        let a = Scalar::urange(0, 10);
        let b = Scalar::konst(5);
        let s = a.alu(AluOp::Add, &b);
        assert_eq!((s.full.umin, s.full.umax), (5, 15));
        assert_eq!((s.sub.umin, s.sub.umax), (5, 15));
        let (t, _) = a.refine(&b, JmpCond::Gt, false, true).unwrap();
        assert_eq!((t.full.umin, t.full.umax), (6, 10));
        assert_eq!(
            a.branch_taken(&Scalar::konst(11), JmpCond::Lt, false),
            Some(true)
        );
        let x = Scalar::unknown().alu32(AluOp::And, &Scalar::konst(0xff));
        assert_eq!(x.full.umax, 0xff);
    }
}
