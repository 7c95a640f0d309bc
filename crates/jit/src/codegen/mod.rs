//! Code generation: eBPF instructions to typed x86-64 instructions.
//!
//! Takes a decoded [`Program`], the [`Helpers`] it may call and the [`JitOptions`]; gives
//! [`Compiled`]: machine code, the code offset of every instruction slot, and the table of
//! call sites the runtime uses to report traps. Split by family: [`alu`] (arithmetic, byte
//! order, sign extension), [`mem`] (loads, stores, atomics, `lddw`), [`flow`] (jumps, calls,
//! exit, `may_goto`).
//!
//! Register mapping (the kernel's): r0=rax, r1=rdi, r2=rsi, r3=rdx, r4=rcx, r5=r8, r6=rbx,
//! r7=r13, r8=r14, r9=r15, r10=rbp. r12 holds the run context ([`crate::run::RunCtx`]);
//! r9, r10 and r11 are scratch (r10 also carries blinded constants).
//!
//! Frame layout: the program's stack is a separate area of 8 × 512 bytes; r10 points to the
//! top of the current frame. A bpf-to-bpf call checks the depth against the context's stack
//! limit, pushes r6–r9 and r10, moves r10 down 512 bytes and `call`s the target; `exit` is a
//! `ret`, so the main program is itself entered with `call` from the prologue. Every body
//! runs with rsp 16-byte aligned, so helpers are called directly.

mod alu;
mod flow;
mod mem;

use userbpf_isa::{Insn, Program, Reg, Source};
use userbpf_runtime::Helpers;

use crate::asm::{Assembler, Label};
use crate::error::JitError;
use crate::run::{off, trap_code};
use crate::x86::{AluOp, Mem, Size, X86Insn, X86Reg};
use crate::JitOptions;

/// The run context register.
pub(crate) const CTX: X86Reg = X86Reg::R12;
/// Scratch registers (caller-saved, not mapped to eBPF registers).
pub(crate) const TMP: X86Reg = X86Reg::R11;
pub(crate) const TMP2: X86Reg = X86Reg::R10;
pub(crate) const TMP3: X86Reg = X86Reg::R9;

/// Largest program the JIT accepts (slot indices fit in 32-bit immediates).
pub const MAX_SLOTS: usize = 1 << 24;

/// The x86 register holding eBPF register `r`.
pub(crate) fn xreg(r: Reg) -> X86Reg {
    use X86Reg::*;
    [Rax, Rdi, Rsi, Rdx, Rcx, R8, Rbx, R13, R14, R15, Rbp][r.idx()]
}

/// The callee-saved eBPF registers r6–r9 and the frame pointer, pushed around local calls.
pub(crate) const SAVED: [X86Reg; 5] = [
    X86Reg::Rbx,
    X86Reg::R13,
    X86Reg::R14,
    X86Reg::R15,
    X86Reg::Rbp,
];

/// What a call site or trap site is, for building a [`userbpf_runtime::Trap`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SiteKind {
    /// A static helper call.
    Helper(u32),
    /// `callx`.
    CallX,
    /// A bpf-to-bpf call.
    Local,
    /// The end of the program.
    End,
}

/// A site that may trap.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Site {
    pub slot: usize,
    pub kind: SiteKind,
}

/// A second operand after constant blinding: a register or a plain immediate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Operand {
    Reg(X86Reg),
    Imm(i32),
}

/// The output of [`compile`].
#[derive(Debug)]
pub(crate) struct Compiled {
    pub code: Vec<u8>,
    /// Offset of each slot's code (None for the second slot of `lddw`).
    pub slot_offsets: Vec<Option<usize>>,
    pub sites: Vec<Site>,
}

/// An out-of-line trap stub: records the site and the trap code, then aborts the run.
struct Stub {
    label: Label,
    site: usize,
    code: u64,
}

/// A xorshift generator for blinding keys, seeded from the OS-seeded hasher.
struct Rng(u64);

impl Rng {
    fn new() -> Rng {
        use std::hash::{BuildHasher, Hasher};
        let seed = std::collections::hash_map::RandomState::new()
            .build_hasher()
            .finish();
        Rng(seed | 1)
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A non-zero 32-bit key.
    fn key32(&mut self) -> i32 {
        loop {
            let k = self.next() as i32;
            if k != 0 {
                return k;
            }
        }
    }
}

pub(crate) struct Cg<'h> {
    pub a: Assembler,
    slot_labels: Vec<Label>,
    pub sites: Vec<Site>,
    stubs: Vec<Stub>,
    pub abort: Label,
    blind: Option<Rng>,
    pub helpers: &'h Helpers,
    pub slot_count: usize,
}

impl Cg<'_> {
    pub fn emit(&mut self, insn: X86Insn) {
        self.a.emit(insn);
    }

    /// The label of instruction slot `slot`.
    pub fn slot_label(&self, slot: usize) -> Label {
        self.slot_labels[slot]
    }

    /// Register a trap site; returns its index.
    pub fn site(&mut self, slot: usize, kind: SiteKind) -> usize {
        self.sites.push(Site { slot, kind });
        self.sites.len() - 1
    }

    /// A label that records `site` with trap `code` and aborts the run.
    pub fn trap_stub(&mut self, site: usize, code: u64) -> Label {
        let label = self.a.label();
        self.stubs.push(Stub { label, site, code });
        label
    }

    /// `mov qword [ctx + site], index`.
    pub fn set_site(&mut self, site: usize) {
        self.emit(X86Insn::StoreImm {
            size: Size::S64,
            mem: Mem::at(CTX, off::SITE),
            imm: site as i32,
        });
    }

    /// The second operand of an instruction. With constant blinding, an immediate `imm` is
    /// loaded into r10 as `(imm ^ key) ^ key` and the register is returned instead.
    pub fn operand(&mut self, src: Source) -> Operand {
        match src {
            Source::Reg(r) => Operand::Reg(xreg(r)),
            Source::Imm(i) => match self.blind.as_mut() {
                None => Operand::Imm(i),
                Some(rng) => {
                    let key = rng.key32();
                    self.blinded_imm(TMP2, i, key);
                    Operand::Reg(TMP2)
                }
            },
        }
    }

    /// `reg = sign_extend(imm)`, materialised without `imm` appearing in the code.
    fn blinded_imm(&mut self, reg: X86Reg, imm: i32, key: i32) {
        self.emit(X86Insn::MovImmSx {
            dst: reg,
            imm: imm ^ key,
        });
        self.emit(X86Insn::AluImm {
            op: AluOp::Xor,
            size: Size::S64,
            dst: reg,
            imm: key,
        });
    }

    /// A 64-bit blinding key, when blinding is on.
    pub fn key64(&mut self) -> Option<u64> {
        self.blind.as_mut().map(|r| r.next() | 1)
    }

    /// `dst = value`, in the shortest form.
    pub fn load_const(&mut self, dst: X86Reg, value: u64) {
        if value == 0 {
            self.emit(X86Insn::Alu {
                op: AluOp::Xor,
                size: Size::S32,
                dst,
                src: dst,
            });
        } else if value <= u32::MAX as u64 {
            self.emit(X86Insn::MovImm32 {
                dst,
                imm: value as u32,
            });
        } else if value as i64 == value as i32 as i64 {
            self.emit(X86Insn::MovImmSx {
                dst,
                imm: value as i32,
            });
        } else {
            self.emit(X86Insn::MovAbs { dst, imm: value });
        }
    }

    /// `call` an `extern "C"` function by absolute address (through r11).
    pub fn call_abs(&mut self, addr: u64) {
        self.emit(X86Insn::MovAbs {
            dst: TMP,
            imm: addr,
        });
        self.emit(X86Insn::CallReg(TMP));
    }
}

/// Compile `program`.
pub(crate) fn compile(
    program: &Program,
    helpers: &Helpers,
    options: &JitOptions,
) -> Result<Compiled, JitError> {
    program.check_targets()?;
    let slot_count = program.slot_count();
    if slot_count > MAX_SLOTS {
        return Err(JitError::TooLarge {
            slots: slot_count,
            max: MAX_SLOTS,
        });
    }
    let mut a = Assembler::new();
    let slot_labels = (0..slot_count).map(|_| a.label()).collect();
    let abort = a.label();
    let mut cg = Cg {
        a,
        slot_labels,
        sites: Vec::new(),
        stubs: Vec::new(),
        abort,
        blind: options.constant_blinding.then(Rng::new),
        helpers,
        slot_count,
    };
    let body = cg.a.label();
    prologue(&mut cg, body);
    cg.a.bind(body);
    for (slot, insn) in program.iter() {
        let label = cg.slot_label(slot);
        cg.a.bind(label);
        lower(&mut cg, slot, insn)?;
    }
    // Falling off the end of the program.
    let end = cg.site(slot_count, SiteKind::End);
    let stub = cg.trap_stub(end, trap_code::FELL_OFF_END);
    cg.a.jmp(stub);
    let stubs = std::mem::take(&mut cg.stubs);
    for s in stubs {
        cg.a.bind(s.label);
        cg.set_site(s.site);
        cg.emit(X86Insn::StoreImm {
            size: Size::S64,
            mem: Mem::at(CTX, off::TRAP_CODE),
            imm: s.code as i32,
        });
        cg.a.jmp(cg.abort);
    }
    let assembled = cg.a.finish();
    let slot_offsets = (0..slot_count)
        .map(|s| {
            let o = assembled.labels[cg.slot_labels[s].index()];
            (o != usize::MAX).then_some(o)
        })
        .collect();
    Ok(Compiled {
        code: assembled.code,
        slot_offsets,
        sites: cg.sites,
    })
}

/// Entry: `extern "C" fn(ctx: *mut RunCtx) -> u64`. Saves the host's callee-saved
/// registers, loads r1–r5 and r10 from the context, zeroes r0 and r6–r9, `call`s the body,
/// and restores. The abort path resets rsp from the context and shares the epilogue.
fn prologue(cg: &mut Cg<'_>, body: Label) {
    use X86Reg::*;
    const HOST_SAVED: [X86Reg; 6] = [Rbx, Rbp, R12, R13, R14, R15];
    for r in HOST_SAVED {
        cg.emit(X86Insn::Push(r));
    }
    cg.emit(X86Insn::Mov {
        size: Size::S64,
        dst: CTX,
        src: Rdi,
    });
    cg.emit(X86Insn::Store {
        size: Size::S64,
        mem: Mem::at(CTX, off::SAVED_RSP),
        src: Rsp,
    });
    for (i, r) in [Rdi, Rsi, Rdx, Rcx, R8].into_iter().enumerate() {
        cg.emit(X86Insn::Load {
            size: Size::S64,
            dst: r,
            mem: Mem::at(CTX, off::ARGS + 8 * i as i32),
        });
    }
    cg.emit(X86Insn::Load {
        size: Size::S64,
        dst: Rbp,
        mem: Mem::at(CTX, off::STACK_TOP),
    });
    for r in [Rax, Rbx, R13, R14, R15] {
        cg.emit(X86Insn::Alu {
            op: AluOp::Xor,
            size: Size::S32,
            dst: r,
            src: r,
        });
    }
    cg.a.call(body);
    let epilogue = cg.a.label();
    cg.a.bind(epilogue);
    for r in HOST_SAVED.into_iter().rev() {
        cg.emit(X86Insn::Pop(r));
    }
    cg.emit(X86Insn::Ret);
    let abort = cg.abort;
    cg.a.bind(abort);
    cg.emit(X86Insn::Load {
        size: Size::S64,
        dst: Rsp,
        mem: Mem::at(CTX, off::SAVED_RSP),
    });
    cg.a.jmp(epilogue);
}

fn lower(cg: &mut Cg<'_>, slot: usize, insn: &Insn) -> Result<(), JitError> {
    let unsupported = |what, why| JitError::Unsupported { slot, what, why };
    match *insn {
        Insn::Alu {
            width,
            op,
            dst,
            src,
        } => alu::alu(cg, width, op, xreg(dst), src),
        Insn::Neg { width, dst } => alu::neg(cg, width, xreg(dst)),
        Insn::MovSx {
            width,
            dst,
            src,
            from,
        } => alu::movsx(cg, width, xreg(dst), xreg(src), from),
        Insn::Endian { order, bits, dst } => alu::endian(cg, order, bits, xreg(dst)),
        Insn::Load {
            size,
            dst,
            src,
            off,
        } => mem::load(cg, size, xreg(dst), xreg(src), off, false),
        Insn::LoadSx {
            size,
            dst,
            src,
            off,
        } => mem::load(cg, size, xreg(dst), xreg(src), off, true),
        Insn::Store {
            size,
            dst,
            off,
            src,
        } => mem::store(cg, size, xreg(dst), off, src),
        Insn::Atomic {
            size,
            op,
            dst,
            src,
            off,
        } => mem::atomic(cg, size, op, xreg(dst), xreg(src), off),
        Insn::LdImm64 {
            dst,
            kind,
            imm,
            next_imm,
        } => mem::lddw(cg, slot, xreg(dst), kind, imm, next_imm)?,
        Insn::LoadPacket { .. } => {
            return Err(unsupported(
                "a legacy packet load (ld_abs/ld_ind)",
                "it needs a socket-buffer context, which plain bytecode does not have",
            ))
        }
        Insn::Ja { off } => flow::goto(cg, slot, off as i64),
        Insn::Gotol { off } => flow::goto(cg, slot, off as i64),
        Insn::Jump {
            width,
            cond,
            dst,
            src,
            off,
        } => flow::jump(cg, slot, width, cond, xreg(dst), src, off),
        Insn::Call(target) => flow::call(cg, slot, target)?,
        Insn::CallX { reg } => flow::callx(cg, slot, xreg(reg)),
        Insn::Exit => cg.emit(X86Insn::Ret),
        Insn::MayGoto { off } => flow::may_goto(cg, slot, off),
    }
    Ok(())
}
