//! Generated programs for differential testing of the engines (shared by the JIT's
//! differential test and the `jit_diff` fuzz target).
//!
//! Takes a seed (or a byte stream); gives a [`Case`]: a program that is safe to run
//! unverified (memory accesses only through r1, the 64-byte input, and r10, the stack, at
//! in-bounds offsets; forward jumps only; bounded recursion) and its input. Programs use
//! every ALU and jump form with edge values, loads and stores of every size, sign-extending
//! loads, all atomics, helper calls (one helper can fail), `callx` to helpers and to
//! functions, bpf-to-bpf calls including recursion deep enough to hit the frame limit, and
//! `may_goto`. Every function starts by zeroing the 128 bytes of stack it may use (stack
//! contents are undefined at entry). The main program ends by folding the top 128 bytes of its stack into r0, so
//! stack contents are compared too. r9 keeps the input address (r1 is reloaded from it
//! after helper calls, which clobber r1–r5 in the JIT as in the kernel).

#![allow(dead_code)]

use userbpf_isa::*;
use userbpf_runtime::Helpers;

/// Input size in bytes.
pub const INPUT_LEN: usize = 64;

/// A deterministic generator (splitmix64), seeded from a number or from fuzzer bytes.
pub struct Rng {
    state: u64,
    bytes: Vec<u8>,
    pos: usize,
}

impl Rng {
    /// From a seed.
    pub fn new(seed: u64) -> Rng {
        Rng {
            state: seed,
            bytes: Vec::new(),
            pos: 0,
        }
    }

    /// From fuzzer bytes: they are consumed first, then a seed derived from them.
    pub fn from_bytes(bytes: &[u8]) -> Rng {
        let seed = bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ *b as u64).wrapping_mul(0x100_0000_01b3)
        });
        Rng {
            state: seed,
            bytes: bytes.to_vec(),
            pos: 0,
        }
    }

    pub fn next(&mut self) -> u64 {
        if self.pos + 8 <= self.bytes.len() {
            let v = u64::from_le_bytes(self.bytes[self.pos..self.pos + 8].try_into().unwrap());
            self.pos += 8;
            return v;
        }
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }

    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo) as u64) as i64
    }

    pub fn percent(&mut self, p: u64) -> bool {
        self.below(100) < p
    }

    pub fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len() as u64) as usize]
    }
}

/// A generated test case.
pub struct Case {
    pub program: Program,
    pub input: Vec<u8>,
}

/// Helper 1 mixes r2–r5; helper 2 fails when r2 & 7 == 3, else returns r3 - r4.
pub fn helpers() -> Helpers {
    let mut h = Helpers::new();
    h.register(1, "mix", |_, a| {
        Ok(a[1].rotate_left(7) ^ a[2].wrapping_mul(31) ^ a[3].wrapping_add(a[4]))
    });
    h.register(2, "picky", |_, a| {
        if a[1] & 7 == 3 {
            Err(format!("picky helper refuses {:#x}", a[1]))
        } else {
            Ok(a[2].wrapping_sub(a[3]))
        }
    });
    h
}

const DATA: [Reg; 8] = [
    Reg::R0,
    Reg::R2,
    Reg::R3,
    Reg::R4,
    Reg::R5,
    Reg::R6,
    Reg::R7,
    Reg::R8,
];

fn edge64(rng: &mut Rng) -> u64 {
    match rng.below(14) {
        0 => 0,
        1 => 1,
        2 => u64::MAX,
        3 => i64::MIN as u64,
        4 => i64::MAX as u64,
        5 => 0x8000_0000,
        6 => 0x7fff_ffff,
        7 => 0xffff_ffff,
        8 => 0xffff_ffff_8000_0000,
        9 => rng.below(64),
        10 => (rng.next() as i8) as i64 as u64,
        11 => rng.next() as u32 as u64,
        _ => rng.next(),
    }
}

fn edge32(rng: &mut Rng) -> i32 {
    match rng.below(14) {
        0 => 0,
        1 => 1,
        2 => -1,
        3 => i32::MIN,
        4 => i32::MAX,
        5 => 2,
        6 => 31,
        7 => 32,
        8 => 63,
        9 => 64,
        10 => 0xff,
        11 => 0xffff,
        12 => rng.range(-300, 300) as i32,
        _ => rng.next() as i32,
    }
}

/// One piece of a function before layout.
#[derive(Clone, Copy)]
enum Piece {
    Insn(Insn),
    /// A jump (template with offset 0) to the start of unit `target` of the same function.
    Jump(Insn, usize),
    /// `call` subprogram n.
    Call(usize),
    /// `lddw dst, &subprogram n`.
    FuncAddr(Reg, usize),
}

struct Func {
    /// Units; a jump targets the start of a unit (or the end: index == units.len()).
    units: Vec<Vec<Piece>>,
    tail: Vec<Insn>,
    /// Units before the generated body (jump targets count from the body).
    jump_base: usize,
}

fn data(rng: &mut Rng) -> Reg {
    rng.pick(&DATA)
}

fn src(rng: &mut Rng) -> Source {
    if rng.percent(50) {
        Source::Reg(data(rng))
    } else {
        Source::Imm(edge32(rng))
    }
}

fn width(rng: &mut Rng) -> Width {
    if rng.percent(50) {
        Width::W32
    } else {
        Width::W64
    }
}

fn mem_size(rng: &mut Rng) -> MemSize {
    rng.pick(&[MemSize::B, MemSize::H, MemSize::W, MemSize::DW])
}

/// A base register and an in-bounds offset for an access of `n` bytes (aligned if asked).
fn place(rng: &mut Rng, n: i64, aligned: bool, stack_only: bool) -> (Reg, i16) {
    let stack = stack_only || rng.percent(50);
    let (base, lo, hi) = if stack {
        (Reg::R10, -128, -n)
    } else {
        (Reg::R1, 0, INPUT_LEN as i64 - n)
    };
    let mut off = rng.range(lo, hi + 1);
    if aligned {
        off = off.div_euclid(n) * n;
    }
    (base, off as i16)
}

fn restore_after_helper(unit: &mut Vec<Piece>, rng: &mut Rng) {
    unit.push(Piece::Insn(Insn::Alu {
        width: Width::W64,
        op: AluOp::Mov,
        dst: Reg::R1,
        src: Source::Reg(Reg::R9),
    }));
    for r in [Reg::R2, Reg::R3, Reg::R4, Reg::R5] {
        unit.push(Piece::Insn(Insn::Alu {
            width: Width::W64,
            op: AluOp::Mov,
            dst: r,
            src: Source::Imm(edge32(rng)),
        }));
    }
}

fn unit(rng: &mut Rng, index: usize, n_units: usize, func: usize, n_subs: usize) -> Vec<Piece> {
    let mut u = Vec::new();
    let jump_target = |rng: &mut Rng| index + 1 + rng.below((n_units - index) as u64) as usize;
    // Subprograms a function may call: later ones only (no unbounded recursion).
    let callable = |rng: &mut Rng| {
        if func + 1 > n_subs {
            None
        } else {
            Some(func + rng.below((n_subs - func) as u64) as usize)
        }
    };
    let k = rng.below(100);
    match k {
        0..=34 => u.push(Piece::Insn(Insn::Alu {
            width: width(rng),
            op: rng.pick(&AluOp::ALL),
            dst: data(rng),
            src: src(rng),
        })),
        35..=37 => u.push(Piece::Insn(Insn::Neg {
            width: width(rng),
            dst: data(rng),
        })),
        38..=40 => {
            let w = width(rng);
            let from = if w == Width::W32 {
                rng.pick(&[SxFrom::B8, SxFrom::B16])
            } else {
                rng.pick(&[SxFrom::B8, SxFrom::B16, SxFrom::B32])
            };
            u.push(Piece::Insn(Insn::MovSx {
                width: w,
                dst: data(rng),
                src: data(rng),
                from,
            }))
        }
        41..=43 => u.push(Piece::Insn(Insn::Endian {
            order: rng.pick(&[ByteOrder::ToLe, ByteOrder::ToBe, ByteOrder::Swap]),
            bits: rng.pick(&[EndianBits::B16, EndianBits::B32, EndianBits::B64]),
            dst: data(rng),
        })),
        44..=46 => u.push(Piece::Insn(Insn::lddw(data(rng), edge64(rng)))),
        47..=53 => {
            let size = mem_size(rng);
            let (base, off) = place(rng, size.bytes() as i64, false, false);
            let dst = data(rng);
            if size != MemSize::DW && rng.percent(40) {
                u.push(Piece::Insn(Insn::LoadSx {
                    size,
                    dst,
                    src: base,
                    off,
                }))
            } else {
                u.push(Piece::Insn(Insn::Load {
                    size,
                    dst,
                    src: base,
                    off,
                }))
            }
        }
        54..=61 => {
            let size = mem_size(rng);
            let (base, off) = place(rng, size.bytes() as i64, false, false);
            u.push(Piece::Insn(Insn::Store {
                size,
                dst: base,
                off,
                src: src(rng),
            }))
        }
        62..=67 => {
            let size = rng.pick(&[AtomicSize::W, AtomicSize::DW]);
            let op = rng.pick(&AtomicOp::ALL);
            let (base, off) = if op == AtomicOp::CmpXchg && rng.percent(50) {
                // Make the comparison succeed: r0 = the 8 bytes at an aligned slot.
                let (base, off) = place(rng, 8, true, true);
                u.push(Piece::Insn(Insn::Load {
                    size: MemSize::DW,
                    dst: Reg::R0,
                    src: base,
                    off,
                }));
                (base, off)
            } else {
                place(rng, size.mem_size().bytes() as i64, true, true)
            };
            u.push(Piece::Insn(Insn::Atomic {
                size,
                op,
                dst: base,
                src: data(rng),
                off,
            }))
        }
        68..=79 => u.push(Piece::Jump(
            Insn::Jump {
                width: width(rng),
                cond: rng.pick(&JmpCond::ALL),
                dst: data(rng),
                src: src(rng),
                off: 0,
            },
            jump_target(rng),
        )),
        80..=81 => {
            let t = if rng.percent(50) {
                Insn::Ja { off: 0 }
            } else {
                Insn::Gotol { off: 0 }
            };
            u.push(Piece::Jump(t, jump_target(rng)))
        }
        82..=83 => u.push(Piece::Jump(Insn::MayGoto { off: 0 }, jump_target(rng))),
        84..=88 => {
            if rng.percent(25) {
                // callx to a helper id.
                let r = rng.pick(&[Reg::R6, Reg::R7, Reg::R8, Reg::R0]);
                u.push(Piece::Insn(Insn::Alu {
                    width: Width::W64,
                    op: AluOp::Mov,
                    dst: r,
                    src: Source::Imm(rng.range(1, 3) as i32),
                }));
                u.push(Piece::Insn(Insn::CallX { reg: r }));
            } else {
                u.push(Piece::Insn(Insn::Call(CallTarget::Helper(
                    rng.range(1, 3) as i32
                ))));
            }
            restore_after_helper(&mut u, rng);
        }
        _ => match callable(rng) {
            Some(sub) => {
                if sub == n_subs - 1 {
                    // The recursive subprogram counts r6 down.
                    u.push(Piece::Insn(Insn::Alu {
                        width: Width::W64,
                        op: AluOp::Mov,
                        dst: Reg::R6,
                        src: Source::Imm(rng.range(0, 10) as i32),
                    }));
                }
                if rng.percent(30) {
                    let r = rng.pick(&[Reg::R7, Reg::R8, Reg::R0, Reg::R3]);
                    u.push(Piece::FuncAddr(r, sub));
                    u.push(Piece::Insn(Insn::CallX { reg: r }));
                } else {
                    u.push(Piece::Call(sub));
                }
            }
            None => u.push(Piece::Insn(Insn::Alu {
                width: Width::W64,
                op: AluOp::Add,
                dst: data(rng),
                src: Source::Imm(1),
            })),
        },
    }
    u
}

fn body(rng: &mut Rng, func: usize, n_subs: usize, max_units: u64) -> Vec<Vec<Piece>> {
    let n = 1 + rng.below(max_units) as usize;
    (0..n).map(|i| unit(rng, i, n, func, n_subs)).collect()
}

/// Generate a program and its input.
/// Stores of zero to the 128 bytes of stack the programs use: stack contents are undefined
/// at function entry (the JIT does not clear them), so programs write before they read.
fn zero_stack() -> Vec<Piece> {
    (1..=16)
        .map(|j| {
            Piece::Insn(Insn::Store {
                size: MemSize::DW,
                dst: Reg::R10,
                off: -8 * j,
                src: Source::Imm(0),
            })
        })
        .collect()
}

pub fn generate(rng: &mut Rng) -> Case {
    // Subprograms 0..n_subs-1; the last is the recursive one.
    let n_subs = rng.below(4) as usize;
    let mut funcs = Vec::new();
    // Main: initialise data registers, keep the input address in r9.
    let mut init = vec![Piece::Insn(Insn::Alu {
        width: Width::W64,
        op: AluOp::Mov,
        dst: Reg::R9,
        src: Source::Reg(Reg::R1),
    })];
    for r in DATA {
        init.push(Piece::Insn(Insn::lddw(r, edge64(rng))));
    }
    init.extend(zero_stack());
    let mut main_units = vec![init];
    main_units.extend(body(rng, 0, n_subs, 40));
    let mut tail = Vec::new();
    for j in 1..=16 {
        tail.push(Insn::Alu {
            width: Width::W64,
            op: AluOp::Mul,
            dst: Reg::R0,
            src: Source::Imm(31),
        });
        tail.push(Insn::Load {
            size: MemSize::DW,
            dst: Reg::R2,
            src: Reg::R10,
            off: -8 * j,
        });
        tail.push(Insn::Alu {
            width: Width::W64,
            op: AluOp::Add,
            dst: Reg::R0,
            src: Source::Reg(Reg::R2),
        });
    }
    tail.push(Insn::Exit);
    funcs.push(Func {
        units: main_units,
        tail,
        jump_base: 1,
    });
    for s in 0..n_subs {
        if s + 1 == n_subs {
            // Recursive: if r6 == 0 return; r6 -= 1; call self; r0 += 1; return.
            funcs.push(Func {
                units: vec![
                    vec![Piece::Jump(
                        Insn::Jump {
                            width: Width::W64,
                            cond: JmpCond::Eq,
                            dst: Reg::R6,
                            src: Source::Imm(0),
                            off: 0,
                        },
                        3,
                    )],
                    vec![
                        Piece::Insn(Insn::Alu {
                            width: Width::W64,
                            op: AluOp::Sub,
                            dst: Reg::R6,
                            src: Source::Imm(1),
                        }),
                        Piece::Insn(Insn::Store {
                            size: MemSize::DW,
                            dst: Reg::R10,
                            off: -8,
                            src: Source::Reg(Reg::R6),
                        }),
                        Piece::Call(s),
                    ],
                    vec![Piece::Insn(Insn::Alu {
                        width: Width::W64,
                        op: AluOp::Add,
                        dst: Reg::R0,
                        src: Source::Imm(1),
                    })],
                ],
                tail: vec![Insn::Exit],
                jump_base: 0,
            });
        } else {
            let mut units = body(rng, s + 1, n_subs, 12);
            if let Some(first) = units.first_mut() {
                first.splice(0..0, zero_stack());
            }
            funcs.push(Func {
                units,
                tail: vec![Insn::Exit],
                jump_base: 0,
            });
        }
    }
    // Layout: slot of every unit start and function start.
    let piece_slots = |p: &Piece| match p {
        Piece::Insn(i) => i.slots(),
        Piece::FuncAddr(..) => 2,
        _ => 1,
    };
    let mut func_start = Vec::new();
    let mut unit_start: Vec<Vec<usize>> = Vec::new();
    let mut slot = 0;
    for f in &funcs {
        func_start.push(slot);
        let mut starts = Vec::new();
        for u in &f.units {
            starts.push(slot);
            slot += u.iter().map(piece_slots).sum::<usize>();
        }
        starts.push(slot); // the tail
        slot += f.tail.iter().map(|i| i.slots()).sum::<usize>();
        unit_start.push(starts);
    }
    let mut insns = Vec::new();
    let mut slot = 0usize;
    for (fi, f) in funcs.iter().enumerate() {
        for u in &f.units {
            for p in u {
                let rel = |t: usize| t as i64 - (slot as i64 + 1);
                let insn = match *p {
                    Piece::Insn(i) => i,
                    Piece::Jump(t, target) => {
                        let r = rel(unit_start[fi][target + f.jump_base]);
                        match t {
                            Insn::Jump {
                                width,
                                cond,
                                dst,
                                src,
                                ..
                            } => Insn::Jump {
                                width,
                                cond,
                                dst,
                                src,
                                off: r as i16,
                            },
                            Insn::Ja { .. } => Insn::Ja { off: r as i16 },
                            Insn::Gotol { .. } => Insn::Gotol { off: r as i32 },
                            _ => Insn::MayGoto { off: r as i16 },
                        }
                    }
                    Piece::Call(sub) => {
                        Insn::Call(CallTarget::Local(rel(func_start[sub + 1]) as i32))
                    }
                    Piece::FuncAddr(dst, sub) => Insn::LdImm64 {
                        dst,
                        kind: LdImm64Kind::Func,
                        imm: rel(func_start[sub + 1]) as i32,
                        next_imm: 0,
                    },
                };
                slot += insn.slots();
                insns.push(insn);
            }
        }
        for i in &f.tail {
            slot += i.slots();
            insns.push(*i);
        }
    }
    let input = (0..INPUT_LEN)
        .map(|_| if rng.percent(20) { 0 } else { rng.next() as u8 })
        .collect();
    Case {
        program: Program::from_insns(insns),
        input,
    }
}
