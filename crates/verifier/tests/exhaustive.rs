//! Exhaustive soundness of the abstract operators at 8-bit width against brute force.
//!
//! The tnum operations are the verifier's 64-bit code on 8-bit operands followed by
//! truncation (exact, since the low bits of these operations depend only on low bits).
//! The scalar domain is the verifier's generic code instantiated at `W8` (8-bit words with
//! 4-bit "subregisters" playing the kernel's 32-bit bounds). For each operator, every concrete
//! result of every pair of members of every pair of abstract values in the enumeration must
//! be a member of the abstract result; branch refinement must keep every pair that takes the
//! branch.

use userbpf_isa::{AluOp, JmpCond, SxFrom};
use userbpf_verifier::scalar::{fold, sext, Interval, ScalarW, W8};
use userbpf_verifier::tnum::Tnum;

type S8 = ScalarW<W8>;

/// Every tnum of `bits` bits (3^bits of them).
fn all_tnums(bits: u32) -> Vec<Tnum> {
    let mut out = vec![Tnum::konst(0)];
    for bit in 0..bits {
        let b = 1u64 << bit;
        out = out
            .into_iter()
            .flat_map(|t| {
                [
                    t,
                    Tnum::new(t.value | b, t.mask),
                    Tnum::new(t.value, t.mask | b),
                ]
            })
            .collect();
    }
    out
}

fn members(t: Tnum) -> Vec<u64> {
    (0..256u64).filter(|&x| t.contains(x)).collect()
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[test]
fn tnum_unary_all_8bit() {
    let mut checks = 0u64;
    for t in all_tnums(8) {
        let ms = members(t);
        let neg = t.neg().trunc(8);
        let sx = t.sext(8);
        let lo = t.trunc(4);
        let sw = t.bswap(16);
        for &x in &ms {
            assert!(neg.contains(x.wrapping_neg() & 0xff), "neg {t:?} {x}");
            assert!(sx.contains(sext(x, 8) as u64), "sext {t:?} {x}");
            assert!(lo.contains(x & 0xf));
            assert!(sw.contains((x as u16).swap_bytes() as u64));
            for s in 0..8u32 {
                assert!(t.lsh(s).trunc(8).contains((x << s) & 0xff));
                assert!(t.rsh(s).contains(x >> s));
                assert!(t
                    .sext(8)
                    .arsh(s)
                    .trunc(8)
                    .contains(((sext(x, 8) >> s) as u64) & 0xff));
                checks += 3;
            }
            checks += 4;
        }
        // range and inclusion
        for &x in ms.iter().take(4) {
            for &y in ms.iter().rev().take(4) {
                if x <= y {
                    let r = Tnum::range(x, y);
                    assert!((x..=y).all(|v| r.contains(v)));
                }
            }
        }
    }
    println!("tnum unary: {checks} concrete checks");
}

fn check_tnum_pair(a: Tnum, b: Tnum, ma: &[u64], mb: &[u64]) -> u64 {
    let add = a.add(b).trunc(8);
    let sub = a.sub(b).trunc(8);
    let mul = a.mul(b).trunc(8);
    let and = a.and(b);
    let or = a.or(b);
    let xor = a.xor(b);
    let uni = a.union(b);
    let meet = a.meet(b);
    let mut n = 0;
    for &x in ma {
        assert!(uni.contains(x));
        if b.contains(x) {
            assert!(meet.is_some_and(|m| m.contains(x)), "meet {a:?} {b:?} {x}");
        }
        for &y in mb {
            assert!(add.contains((x + y) & 0xff), "add {a:?} {b:?} {x} {y}");
            assert!(sub.contains(x.wrapping_sub(y) & 0xff), "sub {a:?} {b:?}");
            assert!(mul.contains((x * y) & 0xff), "mul {a:?} {b:?} {x} {y}");
            assert!(and.contains(x & y));
            assert!(or.contains(x | y));
            assert!(xor.contains(x ^ y));
            n += 6;
        }
    }
    for &y in mb {
        assert!(uni.contains(y));
    }
    if a.includes(b) {
        assert!(mb.iter().all(|&y| a.contains(y)));
    }
    n
}

#[test]
fn tnum_binary_all_6bit_pairs_and_8bit_sample() {
    let small = all_tnums(6);
    let sm: Vec<Vec<u64>> = small.iter().map(|&t| members(t)).collect();
    let mut checks = 0;
    for (a, ma) in small.iter().zip(&sm) {
        for (b, mb) in small.iter().zip(&sm) {
            checks += check_tnum_pair(*a, *b, ma, mb);
        }
    }
    // Every 8-bit tnum against a sample of 8-bit tnums (carries through bits 6 and 7).
    let all = all_tnums(8);
    let mut rng = Rng(0x1234_5678);
    let sample: Vec<Tnum> = (0..24)
        .map(|_| all[rng.below(all.len() as u64) as usize])
        .collect();
    let samp_m: Vec<Vec<u64>> = sample.iter().map(|&t| members(t)).collect();
    for a in &all {
        let ma = members(*a);
        for (b, mb) in sample.iter().zip(&samp_m) {
            checks += check_tnum_pair(*a, *b, &ma, mb);
            checks += check_tnum_pair(*b, *a, mb, &ma);
        }
    }
    println!("tnum binary: {checks} concrete checks");
}

/// Raw, unsynchronised abstract values from random facts.
fn random_raw(rng: &mut Rng) -> S8 {
    let mut v = 0;
    let mut m = 0;
    for bit in 0..8 {
        match rng.below(3) {
            0 => {}
            1 => v |= 1 << bit,
            _ => m |= 1 << bit,
        }
    }
    let t = if rng.below(3) == 0 {
        Tnum::new(0, 0xff)
    } else {
        Tnum::new(v, m)
    };
    let mut iv = |bits: u32| {
        let mut i = Interval::full(bits);
        let span = 1u64 << bits;
        if rng.below(2) == 0 {
            let a = rng.below(span);
            let b = rng.below(span);
            i.umin = a.min(b);
            i.umax = a.max(b);
        }
        if rng.below(2) == 0 {
            let a = sext(rng.below(span), bits);
            let b = sext(rng.below(span), bits);
            i.smin = a.min(b);
            i.smax = a.max(b);
        }
        i
    };
    let full = iv(8);
    let sub = iv(4);
    S8::from_parts(t, full, sub)
}

fn gamma(s: &S8) -> Vec<u64> {
    (0..256u64).filter(|&x| s.contains(x)).collect()
}

#[test]
fn sync_never_loses_members() {
    let mut rng = Rng(0xdead_beef);
    let mut checks = 0;
    let mut empties = 0;
    for _ in 0..60_000 {
        let raw = random_raw(&mut rng);
        let before = gamma(&raw);
        let mut s = raw;
        let ok = s.sync();
        if before.is_empty() {
            empties += 1;
            continue;
        }
        assert!(
            ok,
            "sync reported empty for {raw:?} with members {before:?}"
        );
        for &x in &before {
            assert!(s.contains(x), "sync lost {x} of {raw:?} -> {s:?}");
        }
        // And sync is a reduction: nothing outside the original facts was added.
        assert!(gamma(&s).iter().all(|x| before.contains(x)));
        checks += before.len();
    }
    println!("sync: {checks} members kept ({empties} empty inputs)");
}

/// A representative enumeration of synchronised abstract values with few members each.
fn abstract_values(n: usize, max_members: usize, seed: u64) -> Vec<(S8, Vec<u64>)> {
    let mut out: Vec<(S8, Vec<u64>)> = vec![(S8::unknown(), (0..256).collect())];
    for c in [0u64, 1, 7, 8, 0x7f, 0x80, 0xff, 0x0f, 0x10] {
        out.push((S8::konst(c), vec![c]));
    }
    for (lo, hi) in [(0u64, 15u64), (240, 255), (120, 136), (0, 1), (1, 8)] {
        let s = S8::urange(lo, hi);
        out.push((s, gamma(&s)));
    }
    for (lo, hi) in [(-3i64, 3i64), (-128, -120), (-1, 0)] {
        let s = S8::srange(lo, hi);
        out.push((s, gamma(&s)));
    }
    let mut rng = Rng(seed);
    while out.len() < n {
        let mut s = random_raw(&mut rng);
        if !s.sync() {
            continue;
        }
        let g = gamma(&s);
        if g.is_empty() || g.len() > max_members {
            continue;
        }
        out.push((s, g));
    }
    out
}

const ALU_OPS: [AluOp; 14] = AluOp::ALL;

#[test]
fn alu_ops_sound_64_and_32() {
    let vals = abstract_values(110, 24, 42);
    let mut checks = 0u64;
    for (a, ga) in &vals {
        for (b, gb) in &vals {
            for op in ALU_OPS {
                let r = a.alu(op, b);
                let r32 = a.alu32(op, b);
                for &x in ga {
                    for &y in gb {
                        let want = fold(op, x, y, 8);
                        assert!(
                            r.contains(want),
                            "{op:?}: {a:?} op {b:?} = {r:?} misses {x} op {y} = {want}"
                        );
                        let want32 = fold(op, x & 0xf, y & 0xf, 4);
                        assert!(
                            r32.contains(want32),
                            "{op:?}32: {a:?} op {b:?} = {r32:?} misses {x} op {y} = {want32}"
                        );
                        checks += 2;
                    }
                }
            }
        }
    }
    println!("alu: {checks} concrete checks");
}

#[test]
fn unary_ops_sound_on_every_tnum() {
    let mut checks = 0u64;
    let mut rng = Rng(7);
    let mut values: Vec<S8> = all_tnums(8)
        .into_iter()
        .map(|t| {
            let mut s = S8::from_parts(t, Interval::full(8), Interval::full(4));
            s.sync();
            s
        })
        .collect();
    for _ in 0..6000 {
        let mut s = random_raw(&mut rng);
        if s.sync() {
            values.push(s);
        }
    }
    for s in &values {
        let g = gamma(s);
        let neg = s.neg();
        let neg32 = s.neg32();
        let z4 = s.zext(4);
        let x4 = s.sext(4);
        let sx: Vec<(SxFrom, S8, S8)> = [SxFrom::B8, SxFrom::B16, SxFrom::B32]
            .into_iter()
            .map(|f| (f, s.movsx(f, false), s.movsx(f, true)))
            .collect();
        for &x in &g {
            assert!(neg.contains(x.wrapping_neg() & 0xff), "neg {s:?} {x}");
            assert!(neg32.contains(x.wrapping_neg() & 0xf), "neg32 {s:?} {x}");
            assert!(z4.contains(x & 0xf), "zext {s:?} {x}");
            assert!(
                x4.contains(sext(x, 4) as u64 & 0xff),
                "sext {s:?} {x} -> {x4:?}"
            );
            for (f, full, half) in &sx {
                let bits = match f {
                    SxFrom::B8 => 1,
                    SxFrom::B16 => 2,
                    SxFrom::B32 => 4,
                };
                let v = sext(x, bits) as u64;
                assert!(full.contains(v & 0xff), "movsx {f:?} {s:?} {x}");
                assert!(half.contains(v & 0xf), "movsx32 {f:?} {s:?} {x}");
            }
            checks += 10;
        }
        // join and leq
        let j = s.join(&S8::konst(3));
        assert!(g.iter().all(|&x| j.contains(x)) && j.contains(3));
        assert!(s.leq(&j));
    }
    println!(
        "unary: {checks} concrete checks over {} values",
        values.len()
    );
}

fn taken8(cond: JmpCond, half: bool, x: u64, y: u64) -> bool {
    let bits = if half { 4 } else { 8 };
    let m = (1u64 << bits) - 1;
    let (a, b) = (x & m, y & m);
    let (sa, sb) = (sext(a, bits), sext(b, bits));
    match cond {
        JmpCond::Eq => a == b,
        JmpCond::Ne => a != b,
        JmpCond::Gt => a > b,
        JmpCond::Ge => a >= b,
        JmpCond::Lt => a < b,
        JmpCond::Le => a <= b,
        JmpCond::Set => a & b != 0,
        JmpCond::SGt => sa > sb,
        JmpCond::SGe => sa >= sb,
        JmpCond::SLt => sa < sb,
        JmpCond::SLe => sa <= sb,
    }
}

#[test]
fn branch_refinement_keeps_every_taking_pair() {
    let vals = abstract_values(90, 20, 99);
    let mut checks = 0u64;
    let mut dead = 0u64;
    for (a, ga) in &vals {
        for (b, gb) in &vals {
            for cond in JmpCond::ALL {
                for half in [false, true] {
                    for taken in [true, false] {
                        let r = a.refine(b, cond, half, taken);
                        let mut any = false;
                        for &x in ga {
                            for &y in gb {
                                if taken8(cond, half, x, y) == taken {
                                    any = true;
                                    let (ra, rb) = r.unwrap_or_else(|| {
                                        panic!("{cond:?} half={half} taken={taken}: {a:?} vs {b:?} declared dead but {x},{y} take it")
                                    });
                                    assert!(
                                        ra.contains(x) && rb.contains(y),
                                        "{cond:?} half={half} taken={taken}: {a:?} vs {b:?} -> {ra:?} / {rb:?} loses {x},{y}"
                                    );
                                    checks += 1;
                                }
                            }
                        }
                        if !any {
                            dead += 1;
                        }
                    }
                }
            }
        }
    }
    println!("branches: {checks} taking pairs kept; {dead} dead sides");
}
