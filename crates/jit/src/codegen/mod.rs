//! Code generation: eBPF instructions to typed x86-64 instructions.
//!
//! Takes a decoded [`Program`], its [`Env`] (the helpers and engine helpers it may call, the
//! verifier's facts when it was verified, and the addresses of the program's site and slot
//! tables) and the [`JitOptions`]; gives [`Compiled`]: machine code, the code offset of
//! every instruction slot, and the kind of every call or trap site. Split by family: [`alu`] (arithmetic, byte
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
//!
//! Optimisations: with the verifier's facts, divisions skip the zero check when the divisor
//! is proved non-zero, and zero-extensions (`w1 = w1`, `r1 <<= 32; r1 >>= 32`) of values
//! whose upper half is known zero are dropped; without facts, the same holds for values the
//! previous instruction computed in 32 bits. Copy-and-add pairs become `lea`, a test against
//! zero after an ALU operation on the same register reuses its flags, and division, modulo
//! and shifts by a register save only the x86 registers whose eBPF values are live (a
//! backward liveness analysis over the program).

mod alu;
mod flow;
mod inline_map;
mod live;
mod lpm;
mod mem;

use std::sync::Arc;
use userbpf_isa::{AluOp as BpfAluOp, CallTarget, Insn, LdImm64Kind, Program, Reg, Source, Width};

use userbpf_runtime::interp::EngineHelpers;
use userbpf_runtime::kernel_helpers::map_fast::MapFastPaths;
use userbpf_runtime::maps::Map;
use userbpf_runtime::{Helpers, LoadError};

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
    /// A call of a callback-taking helper.
    Callback(u32),
    /// `bpf_tail_call`.
    TailCall,
    /// `callx`.
    CallX,
    /// A bpf-to-bpf call.
    Local,
    /// The end of the program.
    End,
}

/// What the code generator needs besides the program.
pub(crate) struct Env<'a> {
    pub helpers: &'a Helpers,
    pub engine: Option<&'a EngineHelpers>,
    /// The verifier's facts, one per instruction (parallel to `Program::insns`).
    pub facts: Option<&'a [userbpf_verifier::InsnFacts]>,
    /// Address of the program's site table (one `run::Site` per slot, plus the end).
    pub sites_base: u64,
    /// Address of the program's slot table.
    pub slot_table: u64,
    /// The layout of the array map a constant (a map handle) names, for inlining
    /// `bpf_map_lookup_elem` (helper 1 is the kernel's when this is given).
    pub arrays: Option<&'a dyn Fn(u64) -> Option<ArrayLayout>>,
    /// Whether helper 8 is the runtime's own `bpf_get_smp_processor_id`, which the code
    /// then reads inline from the thread's CPU slot (the context's `cpu_slot`).
    pub inline_cpu: bool,
    /// The map helper calls that may be direct calls of the map operation (see
    /// [`userbpf_runtime::kernel_helpers::map_fast`]).
    pub fast_maps: Option<&'a MapFastPaths>,
}

/// `bpf_get_smp_processor_id`'s id.
pub(crate) const GET_SMP_PROCESSOR_ID: u32 = 8;

/// Where the values of a (non-per-CPU) array map live: value `k` is at
/// `base + k * stride` for `k < max_entries`, for the life of the map.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArrayLayout {
    /// Address of value 0.
    pub base: u64,
    /// Distance between values.
    pub stride: u32,
    /// Number of values.
    pub max_entries: u32,
}

/// Per-slot facts the code generator uses.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct SlotFacts {
    pub divisor_nonzero: bool,
    pub upper32_zero: bool,
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
    /// Offset of the fast entry (the general one is at 0).
    pub fast_entry: usize,
    /// Offset of each slot's code (None for the second slot of `lddw`).
    pub slot_offsets: Vec<Option<usize>>,
    /// The kind of each site used, by slot.
    pub sites: Vec<(usize, SiteKind)>,
    /// Callback-taking helpers called.
    pub callbacks: Vec<u32>,
    /// The maps whose addresses the code embeds (direct map calls): the program keeps them.
    pub maps: Vec<Arc<Map>>,
}

/// An out-of-line trap stub: records the site and the trap code, then aborts the run.
struct Stub {
    label: Label,
    site: usize,
    code: u64,
}

/// What the previous instruction left in a register, for peepholes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Known {
    /// The register whose upper 32 bits are known zero.
    pub zext: Option<X86Reg>,
    /// The register (and width) the flags were last set from by an ALU result.
    pub flags: Option<(X86Reg, Size)>,
    /// Two registers known to hold the same 64-bit value (after `rX = rY`, until either is
    /// written).
    pub copy: Option<(X86Reg, X86Reg)>,
}

impl Known {
    pub const NONE: Known = Known {
        zext: None,
        flags: None,
        copy: None,
    };
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
    pub sites: Vec<(usize, SiteKind)>,
    pub callbacks: Vec<u32>,
    stubs: Vec<Stub>,
    /// Out-of-line code of `may_goto` when the budget is spent: (stub, jump target).
    pub may_goto_stubs: Vec<(Label, Label)>,
    /// Out-of-line NULL results of inlined lookups: (stub, where to continue).
    pub null_stubs: Vec<(Label, Label)>,
    /// Whether the `may_goto` budget lives in r9 (TMP3) for the whole run instead of the
    /// context: for programs with `may_goto` whose calls never re-enter generated code.
    /// Code that borrows r9 spills it to the context around the use.
    pub goto_reg: bool,
    /// Whether the program has `may_goto`.
    pub has_may_goto: bool,
    /// Division cases emitted after the program (see `alu::div`).
    pub cold_divs: Vec<alu::ColdDiv>,
    pub abort: Label,
    blind: Option<Rng>,
    pub env: &'h Env<'h>,
    pub slot_count: usize,
    /// Facts by slot.
    pub facts: Vec<SlotFacts>,
    /// Slots some jump, call or function pointer enters.
    pub is_target: Vec<bool>,
    /// eBPF registers live after each slot (bit i: ri).
    pub live_out: Vec<u16>,
    /// The slot being lowered.
    pub cur: usize,
    /// What the previous instruction left (nothing at jump targets).
    pub prev: Known,
    /// What the current instruction leaves (set by its lowering).
    pub known: Known,
    /// The array map r1 holds the handle of (set by `lddw r1, map`, cleared by any other
    /// write of r1 and at jump targets).
    pub r1_array: Option<ArrayLayout>,
    /// The constant r1 holds (set by `lddw r1, imm`, cleared as `r1_array`): a map handle
    /// for direct map calls.
    pub r1_handle: Option<u64>,
    /// The handle of the program's only ring buffer, for direct submits and discards.
    pub ring: Option<u64>,
    /// The maps the code embeds (see [`Compiled::maps`]).
    pub maps: Vec<Arc<Map>>,
}

impl Cg<'_> {
    pub fn emit(&mut self, insn: X86Insn) {
        self.a.emit(insn);
    }

    /// Before a use of r9 (TMP3): spill the `may_goto` budget when r9 holds it.
    pub fn borrow_tmp3(&mut self) {
        if self.goto_reg {
            self.emit(X86Insn::Store {
                size: Size::S64,
                mem: Mem::at(CTX, off::MAY_GOTO),
                src: TMP3,
            });
        }
    }

    /// After a use of r9 (TMP3): reload the `may_goto` budget when r9 holds it.
    pub fn return_tmp3(&mut self) {
        if self.goto_reg {
            self.emit(X86Insn::Load {
                size: Size::S64,
                dst: TMP3,
                mem: Mem::at(CTX, off::MAY_GOTO),
            });
        }
    }

    /// The label of instruction slot `slot`.
    pub fn slot_label(&self, slot: usize) -> Label {
        self.slot_labels[slot]
    }

    /// Register the site of `slot` (at most one per slot; the end of the program is slot
    /// `slot_count`); returns its index.
    pub fn site(&mut self, slot: usize, kind: SiteKind) -> usize {
        self.sites.push((slot, kind));
        slot
    }

    /// A label that records `site` with trap `code` and aborts the run.
    pub fn trap_stub(&mut self, site: usize, code: u64) -> Label {
        let label = self.a.label();
        self.stubs.push(Stub { label, site, code });
        label
    }

    /// Record the site's address in the context (clobbers r11).
    pub fn set_site(&mut self, site: usize) {
        let addr = self.env.sites_base + (site * std::mem::size_of::<crate::run::Site>()) as u64;
        self.emit(X86Insn::MovAbs {
            dst: TMP,
            imm: addr,
        });
        self.emit(X86Insn::Store {
            size: Size::S64,
            mem: Mem::at(CTX, off::SITE),
            src: TMP,
        });
    }

    /// Whether constant blinding is off (inlined constants are allowed).
    pub fn blind_off(&self) -> bool {
        self.blind.is_none()
    }

    /// Whether eBPF register `r` (as its x86 register) is live after the current slot.
    pub fn live_after(&self, x: X86Reg) -> bool {
        match Reg::all().find(|&r| xreg(r) == x) {
            Some(r) => self.live_out[self.cur] & (1 << r.idx()) != 0,
            None => false,
        }
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

/// Whether the `may_goto` budget can live in r9: the program has `may_goto`, and nothing it
/// calls runs generated code again (no callback-taking helpers, tail calls, `callx` or
/// function pointers), so the budget is only ever counted by this code.
fn goto_in_register(program: &Program, env: &Env<'_>) -> bool {
    let mut any = false;
    for (_, insn) in program.iter() {
        match *insn {
            Insn::MayGoto { .. } => any = true,
            Insn::CallX { .. }
            | Insn::LdImm64 {
                kind: LdImm64Kind::Func,
                ..
            } => return false,
            Insn::Call(CallTarget::Helper(id)) => {
                let uid = id as u32;
                if uid == userbpf_runtime::interp::callbacks::TAIL_CALL_ID
                    || env.engine.is_some_and(|e| e.get(uid).is_some())
                {
                    return false;
                }
            }
            _ => {}
        }
    }
    any
}

/// Slots that jumps, calls and function pointers enter (slot 0 included).
fn jump_targets(program: &Program) -> Vec<bool> {
    let n = program.slot_count();
    let mut t = vec![false; n + 1];
    t[0] = true;
    let mut mark = |slot: usize, off: i64| {
        let to = slot as i64 + 1 + off;
        if (0..=n as i64).contains(&to) {
            t[to as usize] = true;
        }
    };
    for (slot, insn) in program.iter() {
        match *insn {
            Insn::Ja { off } => mark(slot, off as i64),
            Insn::Gotol { off } => mark(slot, off as i64),
            Insn::Jump { off, .. } | Insn::MayGoto { off } => mark(slot, off as i64),
            Insn::Call(CallTarget::Local(rel)) => mark(slot, rel as i64),
            Insn::LdImm64 {
                kind: LdImm64Kind::Func,
                imm,
                ..
            } => mark(slot, imm as i64),
            _ => {}
        }
    }
    t
}

/// Compile `program`.
pub(crate) fn compile(
    program: &Program,
    env: &Env<'_>,
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
    let mut facts = vec![SlotFacts::default(); slot_count];
    if let Some(f) = env.facts {
        if f.len() == program.insns().len() {
            for (&slot, f) in program.starts().iter().zip(f) {
                facts[slot] = SlotFacts {
                    divisor_nonzero: f.divisor_nonzero,
                    upper32_zero: f.upper32_zero,
                };
            }
        }
    }
    let mut a = Assembler::new();
    let slot_labels = (0..slot_count).map(|_| a.label()).collect();
    let abort = a.label();
    let mut cg = Cg {
        a,
        slot_labels,
        sites: Vec::new(),
        callbacks: Vec::new(),
        stubs: Vec::new(),
        may_goto_stubs: Vec::new(),
        null_stubs: Vec::new(),
        goto_reg: goto_in_register(program, env),
        cold_divs: Vec::new(),
        has_may_goto: program
            .insns()
            .iter()
            .any(|i| matches!(i, Insn::MayGoto { .. })),
        abort,
        blind: options.constant_blinding.then(Rng::new),
        env,
        slot_count,
        facts,
        is_target: jump_targets(program),
        live_out: Vec::new(),
        cur: 0,
        prev: Known::NONE,
        known: Known::NONE,
        r1_array: None,
        r1_handle: None,
        ring: only_ring(program, env),
        maps: Vec::new(),
    };
    let live = live::live_out(program, env.facts.is_some());
    let regs = entry_regs(&live);
    cg.live_out = live.out;
    let fast_entry = prologue(&mut cg, &regs);
    let insns = program.insns();
    let starts = program.starts();
    let mut i = 0;
    while i < insns.len() {
        let slot = starts[i];
        let label = cg.slot_label(slot);
        cg.a.bind(label);
        cg.cur = slot;
        cg.prev = if cg.is_target[slot] {
            Known::NONE
        } else {
            cg.known
        };
        cg.known = Known::NONE;
        if cg.is_target[slot] {
            cg.r1_array = None;
            cg.r1_handle = None;
        }
        // Pairs fused into one x86 instruction: the second must not be a jump target.
        if let Some(next) = insns.get(i + 1) {
            let next_slot = starts[i + 1];
            if !cg.is_target[next_slot] && fuse(&mut cg, &insns[i], next) {
                if (live::defs(&insns[i]) | live::defs(next)) & 2 != 0 {
                    cg.r1_array = None;
                    cg.r1_handle = None;
                }
                cg.a.bind(cg.slot_label(next_slot));
                i += 2;
                continue;
            }
        }
        lower(&mut cg, slot, &insns[i])?;
        if cg.known.copy.is_none() {
            cg.known.copy = cg.prev.copy.filter(|&(a, b)| keeps(&insns[i], a, b));
        }
        cg.r1_array = match insns[i] {
            Insn::LdImm64 {
                dst: Reg::R1,
                kind: LdImm64Kind::Imm,
                imm,
                next_imm,
            } => env.arrays.and_then(|f| f(Insn::imm64(imm, next_imm))),
            ref other if live::defs(other) & 2 != 0 => None,
            _ => cg.r1_array,
        };
        cg.r1_handle = match insns[i] {
            Insn::LdImm64 {
                dst: Reg::R1,
                kind: LdImm64Kind::Imm,
                imm,
                next_imm,
            } => Some(Insn::imm64(imm, next_imm)),
            ref other if live::defs(other) & 2 != 0 => None,
            _ => cg.r1_handle,
        };
        i += 1;
    }
    // Falling off the end of the program.
    let end = cg.site(slot_count, SiteKind::End);
    let stub = cg.trap_stub(end, trap_code::FELL_OFF_END);
    cg.a.jmp(stub);
    alu::emit_cold_divs(&mut cg);
    for (stub, target) in std::mem::take(&mut cg.may_goto_stubs) {
        cg.a.bind(stub);
        if cg.goto_reg {
            cg.emit(X86Insn::Alu {
                op: AluOp::Xor,
                size: Size::S32,
                dst: TMP3,
                src: TMP3,
            });
        } else {
            cg.emit(X86Insn::StoreImm {
                size: Size::S64,
                mem: Mem::at(CTX, off::MAY_GOTO),
                imm: 0,
            });
        }
        cg.a.jmp(target);
    }
    for (stub, done) in std::mem::take(&mut cg.null_stubs) {
        cg.a.bind(stub);
        cg.emit(X86Insn::Alu {
            op: AluOp::Xor,
            size: Size::S32,
            dst: X86Reg::Rax,
            src: X86Reg::Rax,
        });
        cg.a.jmp(done);
    }
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
    cg.callbacks.sort_unstable();
    cg.callbacks.dedup();
    let assembled = cg.a.finish();
    let slot_offsets = (0..slot_count)
        .map(|s| {
            let o = assembled.labels[cg.slot_labels[s].index()];
            (o != usize::MAX).then_some(o)
        })
        .collect();
    Ok(Compiled {
        fast_entry: assembled.labels[fast_entry.index()],
        code: assembled.code,
        slot_offsets,
        sites: cg.sites,
        callbacks: cg.callbacks,
        maps: cg.maps,
    })
}

/// The handle of the only ring buffer map the program loads (`lddw rX, map` constants the
/// direct map calls resolve to ring buffers), if there is exactly one: a record a verified
/// program submits or discards comes from a ring buffer it passed to `bpf_ringbuf_reserve`.
fn only_ring(program: &Program, env: &Env<'_>) -> Option<u64> {
    let fast = env.fast_maps?;
    let mut ring = None;
    for (_, insn) in program.iter() {
        if let Insn::LdImm64 {
            kind: LdImm64Kind::Imm,
            imm,
            next_imm,
            ..
        } = *insn
        {
            let h = Insn::imm64(imm, next_imm);
            if ring == Some(h) {
                continue;
            }
            let is_ring = fast
                .map(userbpf_runtime::kernel_helpers::ids::RINGBUF_RESERVE, h)
                .is_some_and(|m| m.map_type() == userbpf_runtime::maps::MapType::Ringbuf);
            if is_ring {
                if ring.is_some() {
                    return None;
                }
                ring = Some(h);
            }
        }
    }
    ring
}

/// Whether `insn`'s code leaves x86 registers `a` and `b` alone: instructions that write
/// only their eBPF destination (no scratch use of other mapped registers, as division,
/// shifts by a register or calls may have), and not `a` or `b`.
fn keeps(insn: &Insn, a: X86Reg, b: X86Reg) -> bool {
    let plain = match *insn {
        Insn::Jump { .. } | Insn::Store { .. } | Insn::Load { .. } | Insn::LoadSx { .. } => true,
        Insn::Neg { .. } | Insn::MovSx { .. } => true,
        Insn::LdImm64 {
            kind: LdImm64Kind::Imm,
            ..
        } => true,
        Insn::Alu { op, src, .. } => match op {
            BpfAluOp::Add
            | BpfAluOp::Sub
            | BpfAluOp::And
            | BpfAluOp::Or
            | BpfAluOp::Xor
            | BpfAluOp::Mov
            | BpfAluOp::Mul => true,
            BpfAluOp::Lsh | BpfAluOp::Rsh | BpfAluOp::Arsh => matches!(src, Source::Imm(_)),
            _ => false,
        },
        _ => false,
    };
    if !plain {
        return false;
    }
    let d = live::defs(insn);
    !Reg::all().any(|r| d & (1 << r.idx()) != 0 && (xreg(r) == a || xreg(r) == b))
}

/// Two instructions that become one x86 instruction; returns whether it emitted them.
///
/// - `rX = rY; rX += imm` and `rX = rY; rX += rZ` (64-bit) become `lea`.
/// - `rX <<= 32; rX >>= 32` becomes `mov eX, eX`, or nothing when the upper half of rX is
///   known zero.
fn fuse(cg: &mut Cg<'_>, first: &Insn, second: &Insn) -> bool {
    use crate::x86::Scale;
    let alu64 = |i: &Insn| match *i {
        Insn::Alu {
            width: Width::W64,
            op,
            dst,
            src,
        } => Some((op, dst, src)),
        _ => None,
    };
    let (Some((op1, d1, s1)), Some((op2, d2, s2))) = (alu64(first), alu64(second)) else {
        return false;
    };
    if d1 != d2 {
        return false;
    }
    let d = xreg(d1);
    match (op1, s1, op2, s2) {
        (BpfAluOp::Mov, Source::Reg(y), BpfAluOp::Add, Source::Imm(imm))
            if y != d1 && d1 != Reg::R1 && cg.blind.is_none() =>
        {
            cg.emit(X86Insn::Lea {
                dst: d,
                mem: Mem::at(xreg(y), imm),
            });
            true
        }
        (BpfAluOp::Mov, Source::Reg(y), BpfAluOp::Add, Source::Reg(z))
            if y != d1 && d1 != Reg::R1 =>
        {
            let (base, index) = if z == d1 {
                // rX = rY; rX += rX: rY * 2.
                (xreg(y), xreg(y))
            } else {
                (xreg(y), xreg(z))
            };
            if index == X86Reg::Rsp {
                return false;
            }
            cg.emit(X86Insn::Lea {
                dst: d,
                mem: Mem::indexed(base, index, Scale::S1, 0),
            });
            true
        }
        (BpfAluOp::Lsh, Source::Imm(32), BpfAluOp::Rsh, Source::Imm(32)) => {
            let proven = cg.prev.zext == Some(d);
            if !proven {
                cg.emit(X86Insn::Mov {
                    size: Size::S32,
                    dst: d,
                    src: d,
                });
            }
            cg.known = Known {
                zext: Some(d),
                flags: None,
                copy: None,
            };
            true
        }
        _ => false,
    }
}

/// The host registers the entry code saves and the eBPF registers it sets up, from what the
/// program's code uses.
struct EntryRegs {
    /// Host callee-saved registers to push (an even number, so bodies run 16-byte aligned).
    saved: Vec<X86Reg>,
    /// eBPF registers the entry sets (bit i: ri): those read before written, and r10
    /// when used at all.
    init: u16,
}

fn entry_regs(live: &live::Liveness) -> EntryRegs {
    use X86Reg::*;
    // Subprograms move r10 and push r6–r9; a tail call runs another program's code on this
    // frame; callx may do either.
    let (used, init) = if live.frames {
        (0x7ff, 0x7ff)
    } else {
        (live.used, live.entry | (live.used & (1 << 10)))
    };
    let mut saved = vec![Rbp, R12];
    for (bit, r) in [(6, Rbx), (7, R13), (8, R14), (9, R15)] {
        if used & (1 << bit) != 0 {
            saved.push(r);
        }
    }
    if saved.len() % 2 == 1 {
        // Keep the alignment with one more (harmless) save.
        for r in [Rbx, R13, R14, R15] {
            if !saved.contains(&r) {
                saved.push(r);
                break;
            }
        }
    }
    EntryRegs { saved, init }
}

/// Entry code: two entries. The general one (at offset 0), `extern "C" fn(ctx: *mut RunCtx)
/// -> u64`, takes r1–r5 from the context and `call`s the function whose address is in the
/// context's entry target (callbacks enter functions of the program through it). The fast
/// one (returned), `extern "C" fn(ctx, r1, r2, r3, r4, r5) -> u64`, starts a run: it takes
/// r1–r5 in registers, sets the `may_goto` budget and `call`s slot 0 directly. Each saves the host's callee-saved registers the program's code uses, records
/// rsp in the context, loads the r1–r5 the program reads before writing them (all of them
/// when it has subprograms) and r10 from the context, zeroes such r0 and r6–r9, and restores
/// after the call. The abort path resets rsp from the
/// context and returns to the entry code that called the body (its return address is just
/// below the recorded rsp), whose epilogue restores what it saved.
fn prologue(cg: &mut Cg<'_>, regs: &EntryRegs) -> Label {
    use X86Reg::*;
    // `fast`: the arguments come in rsi, rdx, rcx, r8 and r9 (after the context in rdi), and
    // the run's `may_goto` budget starts here.
    let setup = |cg: &mut Cg<'_>, fast: bool| {
        for &r in &regs.saved {
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
        let args = [Rdi, Rsi, Rdx, Rcx, R8, R9];
        for i in 0..5 {
            if regs.init & (1 << (i + 1)) == 0 {
                continue;
            }
            if fast {
                // Each move reads the register the next one overwrites.
                cg.emit(X86Insn::Mov {
                    size: Size::S64,
                    dst: args[i],
                    src: args[i + 1],
                });
            } else {
                cg.emit(X86Insn::Load {
                    size: Size::S64,
                    dst: args[i],
                    mem: Mem::at(CTX, off::ARGS + 8 * i as i32),
                });
            }
        }
        if fast && cg.has_may_goto {
            let budget = userbpf_runtime::interp::MAY_GOTO_BUDGET as u32;
            if cg.goto_reg {
                cg.emit(X86Insn::MovImm32 {
                    dst: TMP3,
                    imm: budget,
                });
            } else {
                cg.emit(X86Insn::StoreImm {
                    size: Size::S64,
                    mem: Mem::at(CTX, off::MAY_GOTO),
                    imm: budget as i32,
                });
            }
        } else if cg.goto_reg {
            cg.emit(X86Insn::Load {
                size: Size::S64,
                dst: TMP3,
                mem: Mem::at(CTX, off::MAY_GOTO),
            });
        }
        if regs.init & (1 << 10) != 0 {
            cg.emit(X86Insn::Load {
                size: Size::S64,
                dst: Rbp,
                mem: Mem::at(CTX, off::STACK_TOP),
            });
        }
        for (bit, r) in [(0, Rax), (6, Rbx), (7, R13), (8, R14), (9, R15)] {
            if regs.init & (1 << bit) != 0 {
                cg.emit(X86Insn::Alu {
                    op: AluOp::Xor,
                    size: Size::S32,
                    dst: r,
                    src: r,
                });
            }
        }
    };
    let epilogue = |cg: &mut Cg<'_>| {
        for &r in regs.saved.iter().rev() {
            cg.emit(X86Insn::Pop(r));
        }
        cg.emit(X86Insn::Ret);
    };
    setup(cg, false);
    cg.emit(X86Insn::Load {
        size: Size::S64,
        dst: TMP,
        mem: Mem::at(CTX, off::ENTRY_TARGET),
    });
    cg.emit(X86Insn::CallReg(TMP));
    epilogue(cg);
    let fast = cg.a.label();
    cg.a.bind(fast);
    setup(cg, true);
    let body = cg.slot_label(0);
    cg.a.call(body);
    epilogue(cg);
    let abort = cg.abort;
    cg.a.bind(abort);
    cg.emit(X86Insn::Load {
        size: Size::S64,
        dst: Rsp,
        mem: Mem::at(CTX, off::SAVED_RSP),
    });
    cg.emit(X86Insn::AluImm {
        op: AluOp::Sub,
        size: Size::S64,
        dst: Rsp,
        imm: 8,
    });
    cg.emit(X86Insn::Ret);
    fast
}

fn lower(cg: &mut Cg<'_>, slot: usize, insn: &Insn) -> Result<(), JitError> {
    let unsupported = |what, why| JitError::Load(LoadError::Unsupported { slot, what, why });
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
