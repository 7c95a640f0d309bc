//! Differential test: the checked interpreter against the running Linux kernel.
//!
//! Takes nothing; generates (with a fixed seed) thousands of small programs that the kernel
//! verifier accepts, covering every ALU operator at both widths with register and immediate
//! operands, neg, sign-extending moves, byte swaps, every jump condition at both widths,
//! loads (also sign-extending), stores and atomics of every size on the stack. Each program
//! runs on the kernel (`BPF_PROG_LOAD` as XDP + `BPF_PROG_TEST_RUN`, JIT-compiled), on
//! `Interpreter::run_raw` and on our JIT (`JitProgram::run_raw`; the body is the one the
//! kernel's verifier accepted, which is what makes compiling it unchecked sound). Compared: the full 64-bit r0, registers r1-r9 and the 64 stack
//! bytes the program used (all written into the packet by a common epilogue), and the
//! 32-bit return value. Prints "skipped: ..." and passes when `bpf()` is refused.
//!
//! Program shape:
//!
//! ```text
//! prologue  *(u64 *)(r10 - 8) = r1            save ctx (kernel) / input pointer (ours)
//! init      r0..r9 = edge values (mov, lddw); 8 stack slots at r10-72..r10-16 from them
//! body      random instructions over r0..r9 and those stack slots; forward jumps only
//! epilogue  spill r1-r3; find the packet (kernel: xdp_md data/data_end with a bounds
//!           check; ours: the saved input pointer); store r0..r9 and the slots in it; exit
//! ```
//!
//! XDP is used because its test_run hands back the packet (`data_out`) and the program can
//! write it directly; test_run needs at least 14 bytes (`ETH_HLEN`), the packet here is 144.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use userbpf_isa::{
    disasm, encode_program, AluOp, AtomicOp, AtomicSize, ByteOrder, EndianBits, Insn, JmpCond,
    MemSize, Program, Reg, Source, SxFrom, Width,
};
use userbpf_jit::{compile_unchecked, JitOptions};
use userbpf_kernel::{available, prog_load, prog_type};
use userbpf_runtime::{Helpers, Interpreter};

/// Number of programs generated.
const PROGRAMS: usize = 30_000;
/// Fixed seed: the same programs on every run.
const SEED: u64 = 0x0005_eed0_6b9f_2026;
/// Stack slots the body may use, at r10 - 16 - 8 * i.
const SLOTS: usize = 8;
/// Packet layout written by the epilogue: r0..r9, then the stack slots.
const PACKET_LEN: usize = 8 * (10 + SLOTS);
/// Rejections tolerated (generator bugs) before the test fails.
const MAX_REJECTED: usize = PROGRAMS / 1000;

/// splitmix64: small, deterministic, good enough for test generation.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn coin(&mut self) -> bool {
        self.next() & 1 == 1
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }
}

fn reg(n: u64) -> Reg {
    Reg::new(n as u8).expect("register number in range")
}

fn bits(w: Width) -> u32 {
    match w {
        Width::W32 => 32,
        Width::W64 => 64,
    }
}

fn src_kind(s: Source) -> &'static str {
    match s {
        Source::Reg(_) => "reg",
        Source::Imm(_) => "imm",
    }
}

/// One body instruction before jump offsets are resolved.
enum Item {
    Plain(Insn),
    /// A conditional jump skipping up to `skip` following body instructions.
    Jump {
        width: Width,
        cond: JmpCond,
        dst: Reg,
        src: Source,
        skip: usize,
    },
}

struct Gen {
    rng: Rng,
    coverage: BTreeSet<String>,
}

impl Gen {
    fn value64(&mut self) -> u64 {
        let r = self.rng.next();
        match self.rng.below(20) {
            0 => 0,
            1 => 1,
            2 => u64::MAX,
            3 => i32::MIN as i64 as u64,
            4 => i32::MAX as u64,
            5 => i64::MIN as u64,
            6 => i64::MAX as u64,
            7 => 0x80,
            8 => 0xffff,
            9 => 0xffff_ffff,
            10 => 0x8000_0000,
            11 => 0x1_0000_0000,
            12 => 0x7f,
            13 => 0xff,
            14 => 0x8000,
            15 => r % 64,
            16 => r as i32 as i64 as u64,
            17 => (r as i8) as i64 as u64,
            _ => r,
        }
    }

    fn imm(&mut self) -> i32 {
        let r = self.rng.next();
        match self.rng.below(14) {
            0 => 0,
            1 => 1,
            2 => -1,
            3 => i32::MIN,
            4 => i32::MAX,
            5 => 0x80,
            6 => 0xffff,
            7 => 0x7f,
            8 => -0x80,
            9 => 0x8000,
            10 => (r % 64) as i32,
            11 => -((r % 64) as i32),
            _ => r as i32,
        }
    }

    fn nonzero_imm(&mut self) -> i32 {
        match self.imm() {
            0 => 3,
            v => v,
        }
    }

    fn any_reg(&mut self) -> Reg {
        reg(self.rng.below(10))
    }

    fn width(&mut self) -> Width {
        if self.rng.coin() {
            Width::W32
        } else {
            Width::W64
        }
    }

    fn cover(&mut self, key: String) {
        self.coverage.insert(key);
    }

    /// A stack offset for an access of `size` bytes inside the slots, aligned to `size`
    /// (the kernel requires aligned stack accesses).
    fn stack_off(&mut self, size: MemSize) -> i16 {
        let n = size.bytes() as u64;
        let slot = self.rng.below(SLOTS as u64) as i16;
        let within = (self.rng.below(8 / n) * n) as i16;
        -16 - 8 * slot + within
    }

    fn init(&mut self, out: &mut Vec<Insn>) {
        for r in 0..10 {
            let v = self.value64();
            let dst = reg(r);
            let insn = if v as i32 as i64 as u64 == v && self.rng.coin() {
                Insn::Alu {
                    width: Width::W64,
                    op: AluOp::Mov,
                    dst,
                    src: Source::Imm(v as i32),
                }
            } else if v >> 32 == 0 && self.rng.coin() {
                Insn::Alu {
                    width: Width::W32,
                    op: AluOp::Mov,
                    dst,
                    src: Source::Imm(v as u32 as i32),
                }
            } else {
                Insn::lddw(dst, v)
            };
            out.push(insn);
        }
        for i in 0..SLOTS {
            let src = if self.rng.below(4) == 0 {
                Source::Imm(self.imm())
            } else {
                Source::Reg(self.any_reg())
            };
            out.push(Insn::Store {
                size: MemSize::DW,
                dst: Reg::R10,
                off: -16 - 8 * i as i16,
                src,
            });
        }
    }

    fn alu(&mut self) -> Insn {
        let width = self.width();
        let op = self.rng.pick(&AluOp::ALL);
        let dst = self.any_reg();
        let src = if self.rng.coin() {
            Source::Reg(self.any_reg())
        } else {
            Source::Imm(match op {
                // The verifier rejects out-of-range shift immediates and division by 0.
                AluOp::Lsh | AluOp::Rsh | AluOp::Arsh => self.rng.below(bits(width) as u64) as i32,
                AluOp::Div | AluOp::SDiv | AluOp::Mod | AluOp::SMod => self.nonzero_imm(),
                _ => self.imm(),
            })
        };
        self.cover(format!("alu{}-{op:?}-{}", bits(width), src_kind(src)));
        Insn::Alu {
            width,
            op,
            dst,
            src,
        }
    }

    fn item(&mut self) -> Item {
        let insn = match self.rng.below(100) {
            0..=39 => self.alu(),
            40..=43 => {
                let width = self.width();
                self.cover(format!("neg{}", bits(width)));
                Insn::Neg {
                    width,
                    dst: self.any_reg(),
                }
            }
            44..=49 => {
                let width = self.width();
                let from = match width {
                    Width::W64 => self.rng.pick(&[SxFrom::B8, SxFrom::B16, SxFrom::B32]),
                    Width::W32 => self.rng.pick(&[SxFrom::B8, SxFrom::B16]),
                };
                self.cover(format!("movsx{}-{}", bits(width), from.bits()));
                Insn::MovSx {
                    width,
                    dst: self.any_reg(),
                    src: self.any_reg(),
                    from,
                }
            }
            50..=55 => {
                let order = self
                    .rng
                    .pick(&[ByteOrder::ToLe, ByteOrder::ToBe, ByteOrder::Swap]);
                let b = self
                    .rng
                    .pick(&[EndianBits::B16, EndianBits::B32, EndianBits::B64]);
                self.cover(format!("endian-{order:?}-{}", b.bits()));
                Insn::Endian {
                    order,
                    bits: b,
                    dst: self.any_reg(),
                }
            }
            56..=71 => {
                let width = self.width();
                let cond = self.rng.pick(&JmpCond::ALL);
                let src = if self.rng.coin() {
                    Source::Reg(self.any_reg())
                } else {
                    Source::Imm(self.imm())
                };
                self.cover(format!("jmp{}-{cond:?}-{}", bits(width), src_kind(src)));
                return Item::Jump {
                    width,
                    cond,
                    dst: self.any_reg(),
                    src,
                    skip: 1 + self.rng.below(3) as usize,
                };
            }
            72..=79 => {
                let size = self
                    .rng
                    .pick(&[MemSize::B, MemSize::H, MemSize::W, MemSize::DW]);
                self.cover(format!("load-{size:?}"));
                Insn::Load {
                    size,
                    dst: self.any_reg(),
                    src: Reg::R10,
                    off: self.stack_off(size),
                }
            }
            80..=84 => {
                let size = self.rng.pick(&[MemSize::B, MemSize::H, MemSize::W]);
                self.cover(format!("loadsx-{size:?}"));
                Insn::LoadSx {
                    size,
                    dst: self.any_reg(),
                    src: Reg::R10,
                    off: self.stack_off(size),
                }
            }
            85..=91 => {
                let size = self
                    .rng
                    .pick(&[MemSize::B, MemSize::H, MemSize::W, MemSize::DW]);
                let src = if self.rng.coin() {
                    Source::Reg(self.any_reg())
                } else {
                    Source::Imm(self.imm())
                };
                self.cover(format!("store-{size:?}-{}", src_kind(src)));
                Insn::Store {
                    size,
                    dst: Reg::R10,
                    off: self.stack_off(size),
                    src,
                }
            }
            _ => {
                let size = self.rng.pick(&[AtomicSize::W, AtomicSize::DW]);
                let op = self.rng.pick(&AtomicOp::ALL);
                self.cover(format!("atomic-{size:?}-{op:?}"));
                Insn::Atomic {
                    size,
                    op,
                    dst: Reg::R10,
                    src: self.any_reg(),
                    off: self.stack_off(size.mem_size()),
                }
            }
        };
        Item::Plain(insn)
    }

    /// Prologue, init and body: the part both engines run unchanged.
    fn program_head(&mut self) -> Vec<Insn> {
        let mut out = vec![Insn::Store {
            size: MemSize::DW,
            dst: Reg::R10,
            off: -8,
            src: Source::Reg(Reg::R1),
        }];
        self.init(&mut out);
        let n = 4 + self.rng.below(12) as usize;
        let items: Vec<Item> = (0..n).map(|_| self.item()).collect();
        for (i, item) in items.into_iter().enumerate() {
            out.push(match item {
                Item::Plain(insn) => insn,
                Item::Jump {
                    width,
                    cond,
                    dst,
                    src,
                    skip,
                } => Insn::Jump {
                    width,
                    cond,
                    dst,
                    src,
                    // Lands on a later body instruction or on the epilogue's first one.
                    off: skip.min(n - 1 - i) as i16,
                },
            });
        }
        out
    }
}

/// Every coverage key the generator should produce.
fn expected_coverage() -> BTreeSet<String> {
    let mut s = BTreeSet::new();
    for w in [32, 64] {
        for op in AluOp::ALL {
            for k in ["reg", "imm"] {
                s.insert(format!("alu{w}-{op:?}-{k}"));
            }
        }
        for cond in JmpCond::ALL {
            for k in ["reg", "imm"] {
                s.insert(format!("jmp{w}-{cond:?}-{k}"));
            }
        }
        s.insert(format!("neg{w}"));
    }
    for (w, f) in [(64, 8), (64, 16), (64, 32), (32, 8), (32, 16)] {
        s.insert(format!("movsx{w}-{f}"));
    }
    for o in [ByteOrder::ToLe, ByteOrder::ToBe, ByteOrder::Swap] {
        for b in [16, 32, 64] {
            s.insert(format!("endian-{o:?}-{b}"));
        }
    }
    for size in [MemSize::B, MemSize::H, MemSize::W, MemSize::DW] {
        s.insert(format!("load-{size:?}"));
        for k in ["reg", "imm"] {
            s.insert(format!("store-{size:?}-{k}"));
        }
    }
    for size in [MemSize::B, MemSize::H, MemSize::W] {
        s.insert(format!("loadsx-{size:?}"));
    }
    for size in [AtomicSize::W, AtomicSize::DW] {
        for op in AtomicOp::ALL {
            s.insert(format!("atomic-{size:?}-{op:?}"));
        }
    }
    s
}

fn st_dw(base: Reg, off: i16, src: Reg) -> Insn {
    Insn::Store {
        size: MemSize::DW,
        dst: base,
        off,
        src: Source::Reg(src),
    }
}

fn ld(size: MemSize, dst: Reg, base: Reg, off: i16) -> Insn {
    Insn::Load {
        size,
        dst,
        src: base,
        off,
    }
}

/// Store r0..r9 and the stack slots into the packet at r2 (r1 is scratch).
fn packet_stores() -> Vec<Insn> {
    let (r1, r2, fp) = (Reg::R1, Reg::R2, Reg::R10);
    let mut v = vec![st_dw(r2, 0, Reg::R0)];
    for (i, spill) in [-80i16, -88, -96].into_iter().enumerate() {
        v.push(ld(MemSize::DW, r1, fp, spill));
        v.push(st_dw(r2, 8 * (i as i16 + 1), r1));
    }
    for r in 4..10 {
        v.push(st_dw(r2, 8 * r as i16, reg(r as u64)));
    }
    for i in 0..SLOTS as i16 {
        v.push(ld(MemSize::DW, r1, fp, -16 - 8 * i));
        v.push(st_dw(r2, 80 + 8 * i, r1));
    }
    v
}

fn spill_r1_r3() -> Vec<Insn> {
    vec![
        st_dw(Reg::R10, -80, Reg::R1),
        st_dw(Reg::R10, -88, Reg::R2),
        st_dw(Reg::R10, -96, Reg::R3),
    ]
}

/// Epilogue for the kernel: the packet comes from `xdp_md` (data at 0, data_end at 4).
fn kernel_epilogue() -> Vec<Insn> {
    let (r1, r2, r3) = (Reg::R1, Reg::R2, Reg::R3);
    let stores = packet_stores();
    let mut v = spill_r1_r3();
    v.push(ld(MemSize::DW, r1, Reg::R10, -8));
    v.push(ld(MemSize::W, r2, r1, 0));
    v.push(ld(MemSize::W, r3, r1, 4));
    v.push(Insn::Alu {
        width: Width::W64,
        op: AluOp::Mov,
        dst: r1,
        src: Source::Reg(r2),
    });
    v.push(Insn::Alu {
        width: Width::W64,
        op: AluOp::Add,
        dst: r1,
        src: Source::Imm(PACKET_LEN as i32),
    });
    v.push(Insn::Jump {
        width: Width::W64,
        cond: JmpCond::Gt,
        dst: r1,
        src: Source::Reg(r3),
        off: stores.len() as i16,
    });
    v.extend(stores);
    v.push(Insn::Exit);
    v
}

/// Epilogue for the interpreter: r1 was the input pointer, saved at r10 - 8.
fn interp_epilogue() -> Vec<Insn> {
    let mut v = spill_r1_r3();
    v.push(ld(MemSize::DW, Reg::R2, Reg::R10, -8));
    v.extend(packet_stores());
    v.push(Insn::Exit);
    v
}

fn listing(insns: &[Insn], body_end: usize) -> String {
    let mut s = String::new();
    let mut slot = 0;
    for (i, insn) in insns.iter().enumerate() {
        let mark = if i == body_end { "   ; epilogue\n" } else { "" };
        let _ = writeln!(s, "{mark}{slot:4}: {}", disasm::format_insn(insn));
        slot += insn.slots();
    }
    s
}

fn words(bytes: &[u8]) -> Vec<String> {
    bytes
        .chunks(8)
        .map(|c| {
            let mut w = [0u8; 8];
            w[..c.len()].copy_from_slice(c);
            format!("{:#x}", u64::from_le_bytes(w))
        })
        .collect()
}

#[test]
fn interpreter_matches_kernel() {
    if let Err(why) = available() {
        println!("skipped: {why}");
        return;
    }
    let mut gen = Gen {
        rng: Rng(SEED),
        coverage: BTreeSet::new(),
    };
    let helpers = Helpers::new();
    let packet_in: Vec<u8> = (0..PACKET_LEN as u8).map(|b| b ^ 0xa5).collect();
    let (mut compared, mut rejected, mut mismatched) = (0usize, 0usize, 0usize);
    let mut jit_mismatched = 0usize;

    for n in 0..PROGRAMS {
        let head = gen.program_head();
        let mut kernel_prog = head.clone();
        kernel_prog.extend(kernel_epilogue());
        let mut our_prog = head.clone();
        our_prog.extend(interp_epilogue());

        let kernel = match prog_load(prog_type::XDP, &encode_program(&kernel_prog), "GPL", 0) {
            Ok(fd) => fd,
            Err(e) => {
                rejected += 1;
                if rejected <= 3 {
                    println!(
                        "generator bug: kernel rejected program {n}:\n{}{e}\n",
                        listing(&kernel_prog, head.len())
                    );
                }
                continue;
            }
        };
        let run = kernel
            .test_run(&packet_in, 1, PACKET_LEN)
            .unwrap_or_else(|e| panic!("BPF_PROG_TEST_RUN of program {n}: {e}"));

        let vm = Interpreter::new(&Program::from_insns(our_prog.clone()), &helpers)
            .unwrap_or_else(|e| panic!("interpreter refused program {n}: {e}"));
        let mut packet = packet_in.clone();
        let ours = vm.run_raw(&mut packet);
        compared += 1;

        let same = match &ours {
            Ok(r0) => {
                *r0 as u32 == run.retval
                    && packet == run.data_out
                    && r0.to_le_bytes()[..] == packet[..8]
            }
            Err(_) => false,
        };
        // SAFETY: the kernel's verifier accepted this body (with its own epilogue); our
        // epilogue stores only into the input, through the pointer saved at r10 - 8.
        let jit = unsafe {
            compile_unchecked(
                &Program::from_insns(our_prog.clone()),
                &helpers,
                &JitOptions::default(),
            )
        }
        .unwrap_or_else(|e| panic!("JIT refused program {n}: {e}"));
        let mut jit_packet = packet_in.clone();
        let jit_ours = jit.run_raw(&mut jit_packet);
        let jit_same = match &jit_ours {
            Ok(r0) => {
                *r0 as u32 == run.retval
                    && jit_packet == run.data_out
                    && r0.to_le_bytes()[..] == jit_packet[..8]
            }
            Err(_) => false,
        };
        if !jit_same {
            jit_mismatched += 1;
            if jit_mismatched <= 10 {
                println!(
                    "JIT MISMATCH in program {n}:\n{}kernel: retval {:#x}, r0..r9 + stack {:?}\n\
                     our JIT: {:?}, r0..r9 + stack {:?}\n",
                    listing(&our_prog, head.len()),
                    run.retval,
                    words(&run.data_out),
                    jit_ours,
                    words(&jit_packet),
                );
            }
        }
        if !same {
            mismatched += 1;
            if mismatched <= 10 {
                println!(
                    "MISMATCH in program {n}:\n{}kernel:      retval {:#x}, r0..r9 + stack {:?}\n\
                     interpreter: {:?}, r0..r9 + stack {:?}\n",
                    listing(&our_prog, head.len()),
                    run.retval,
                    words(&run.data_out),
                    ours,
                    words(&packet),
                );
            }
        }
    }

    let missing: Vec<String> = expected_coverage()
        .difference(&gen.coverage)
        .cloned()
        .collect();
    println!(
        "compared {compared} programs against the kernel: {mismatched} interpreter and \
         {jit_mismatched} JIT mismatches, {rejected} rejected by the verifier; {} instruction \
         forms covered",
        gen.coverage.len()
    );
    assert!(missing.is_empty(), "forms never generated: {missing:?}");
    assert!(
        rejected <= MAX_REJECTED,
        "{rejected} generated programs were rejected by the kernel verifier"
    );
    assert_eq!(mismatched, 0, "interpreter and kernel disagree");
    assert_eq!(jit_mismatched, 0, "JIT and kernel disagree");
    assert!(compared >= 10_000);
}
