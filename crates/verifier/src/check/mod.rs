//! The analysis: depth-first exploration of every path, like the kernel's `do_check`.
//!
//! Takes a [`VerifierInput`] whose control flow passed [`crate::cfg`]; gives the per-
//! instruction facts and context accesses of a [`crate::VerifiedProgram`], or the first
//! [`VerifierError`]. One path is followed at a time; at a conditional jump whose direction
//! is not known the other side is pushed on a worklist. Constant-folded branches are not
//! explored. At prune points the current state is compared with the completed states
//! recorded there ([`State::covered_by_with`]), ignoring dead registers and scalars whose
//! values never mattered below the recorded state (`precise`: static liveness and the
//! kernel's precision backtracking); a covered path stops and passes the recorded state's
//! precision marks up its own checkpoints. A checkpoint is complete
//! when every path through it has ended (branch counts, as in the kernel), so pruning never
//! relies on a state whose exploration is still in progress, except at the loops bounded at
//! run time, as the kernel does: a `may_goto` (whose exit is followed first, the body queued
//! one iteration deeper) and a helper call that calls back into the program. There the
//! state is compared by ranges with the loop's earlier states (at another `may_goto` depth),
//! after the scalars that are not precise and changed since the previous iteration were
//! made unknown (`widen_imprecise_scalars`); `bpf_loop` explores at most its count of
//! callback iterations.
//!
//! Submodules hold the transfer functions and safety checks: `alu` (arithmetic and pointer
//! arithmetic), `mem` (loads, stores, atomics), `jump` (branches and their refinements),
//! `call` (helpers and bpf-to-bpf calls), `precise` (liveness and precision).

mod alu;
mod call;
mod jump;
mod mem;
mod precise;

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::cfg::Cfg;
use crate::error::VerifierError;
use crate::input::{ProgType, VerifierInput};
use crate::reg::{RegState, RegType};
use crate::scalar::Scalar;
use crate::state::{Frame, Precise, State, MAX_FRAMES};
use crate::{CtxRewrite, InsnFacts};
use userbpf_isa::{Insn, Reg};

struct Checkpoint {
    /// `None` once evicted from the explored lists (kept only for branch counting).
    state: Option<State>,
    /// Instruction of the checkpoint.
    pc: usize,
    hits: u32,
    misses: u32,
    parent: Option<usize>,
    branches: u32,
    /// Precision marks per frame (see `precise`).
    precise: Vec<Precise>,
    /// Instructions from the parent checkpoint to this one.
    hist: Vec<precise::Hist>,
    /// Per frame: slots that may be read below this checkpoint before being overwritten.
    read: [u64; 8],
    /// Per frame: slots overwritten whole between the parent checkpoint and this one.
    seg_written: [u64; 8],
}

struct Pending {
    state: State,
    pc: usize,
    parent: Option<usize>,
    from: usize,
    hist: Vec<precise::Hist>,
    written: [u64; 8],
}

/// What the analysis found.
pub(crate) struct Outcome {
    pub processed: u64,
    pub facts: Vec<InsnFacts>,
    pub ctx_rewrites: Vec<CtxRewrite>,
    pub stack_depth: Vec<u32>,
    pub log: String,
    pub states: usize,
    pub recorded: Vec<Option<RecordedRegs>>,
    pub relied: Vec<Option<PruneRelied>>,
}

pub(crate) struct Verifier<'a> {
    input: &'a VerifierInput<'a>,
    /// The BTF-typed context of tracing and LSM programs (`None`: not known).
    pub(crate) btf: Option<&'a crate::btf_ctx::BtfCtx>,
    insns: &'a [Insn],
    starts: &'a [usize],
    cfg: Cfg,
    checkpoints: Vec<Checkpoint>,
    explored: Vec<Vec<usize>>,
    worklist: Vec<Pending>,
    parent: Option<usize>,
    processed: u64,
    id_gen: u32,
    facts: Vec<InsnFacts>,
    ctx_rewrites: BTreeMap<usize, CtxRewrite>,
    /// Per instruction: whether its memory operand was the context (must not vary).
    mem_ctx: Vec<Option<bool>>,
    stack_depth: Vec<u32>,
    log: String,
    /// Instruction index being executed.
    pc: usize,
    /// `processed` when the last checkpoint was recorded.
    last_checkpoint: u64,
    /// The source register of the store being checked (`None` for `*(uN *)(rX + off) = imm`).
    pub(crate) store_src: Option<Reg>,
    /// Live-in registers per instruction.
    live: Vec<u16>,
    /// Instructions of the current path since its checkpoint.
    hist: Vec<precise::Hist>,
    /// Per frame: slots the current path overwrote whole since its checkpoint.
    pub(crate) cur_written: [u64; 8],
    /// Frame of the instruction being executed.
    cur_frame: u8,
    /// Stack slot the current instruction accessed at a fixed offset.
    pub(crate) hist_stack: Option<(u8, u8)>,
    /// Scalars linked with the operands of the current conditional jump.
    pub(crate) hist_linked: Option<Box<[(u8, u8)]>>,
    /// The current instruction enters or leaves a callback frame.
    pub(crate) hist_cb: bool,
    /// A path was pruned against a state whose exploration was in progress (`may_goto`):
    /// precision marks may be incomplete from then on, so scalars are compared by range.
    loop_pruned: bool,
    /// With `Options::record_states`: per instruction, the join of the states seen.
    recorded: Vec<Option<RecordedRegs>>,
    /// With `Options::record_states`: per prune point where a path was pruned, what every
    /// pruning there relied on (intersected).
    relied: Vec<Option<PruneRelied>>,
}

/// Control flow after one instruction.
pub(crate) enum Flow {
    Next(usize),
    End,
}

impl<'a> Verifier<'a> {
    pub(crate) fn new(
        input: &'a VerifierInput<'a>,
        btf: Option<&'a crate::btf_ctx::BtfCtx>,
        cfg: Cfg,
    ) -> Self {
        let n = input.program.insns().len();
        Verifier {
            input,
            btf,
            insns: input.program.insns(),
            starts: input.program.starts(),
            stack_depth: vec![0; cfg.subprogs.len()],
            cfg,
            checkpoints: Vec::new(),
            explored: vec![Vec::new(); n],
            worklist: Vec::new(),
            parent: None,
            processed: 0,
            id_gen: 0,
            facts: vec![InsnFacts::default(); n],
            ctx_rewrites: BTreeMap::new(),
            mem_ctx: vec![None; n],
            log: String::new(),
            pc: 0,
            last_checkpoint: 0,
            store_src: None,
            live: Vec::new(),
            hist: Vec::new(),
            cur_written: [0; 8],
            cur_frame: 0,
            hist_stack: None,
            hist_linked: None,
            hist_cb: false,
            loop_pruned: false,
            recorded: if input.options.record_states {
                vec![None; n]
            } else {
                Vec::new()
            },
            relied: if input.options.record_states {
                vec![None; n]
            } else {
                Vec::new()
            },
        }
    }

    fn initial_state(&self) -> State {
        let mut frame = Frame::new(0, 0, 0);
        frame.regs[1] = match self.input.prog_type {
            ProgType::Raw { size } => RegState {
                mem_size: size as u64,
                ..RegState::pointer(RegType::Mem)
            },
            _ => RegState::pointer(RegType::Ctx),
        };
        if let ProgType::Raw { size } = self.input.prog_type {
            frame.regs[2] = RegState::scalar(Scalar::konst(size as u64));
        }
        State {
            frames: vec![frame],
            refs: Vec::new(),
            may_goto_depth: 0,
        }
    }

    pub(crate) fn new_id(&mut self) -> u32 {
        self.id_gen += 1;
        self.id_gen
    }

    fn log_level(&self) -> u32 {
        self.input.options.log_level
    }

    /// Slot index of the current instruction.
    pub(crate) fn slot(&self) -> usize {
        self.starts[self.pc]
    }

    /// An error at the current instruction naming registers `regs`.
    pub(crate) fn error(&self, st: &State, msg: String, regs: &[Reg]) -> VerifierError {
        let hint = crate::hints::hint(&msg);
        VerifierError {
            insn: self.slot(),
            regs: regs
                .iter()
                .map(|r| (format!("R{}", r.num()), st.reg(*r).to_string()))
                .collect(),
            message: msg,
            hint,
            processed: self.processed,
            log: self.log.clone(),
        }
    }

    /// Read register `r`: it must be initialised.
    pub(crate) fn read(&self, st: &State, r: Reg) -> Result<RegState, VerifierError> {
        let v = *st.reg(r);
        if v.ty == RegType::NotInit {
            return Err(self.error(st, format!("R{} !read_ok", r.num()), &[]));
        }
        Ok(v)
    }

    /// Check that `r` may be written.
    pub(crate) fn check_dst(&self, st: &State, r: Reg) -> Result<(), VerifierError> {
        if r == Reg::R10 {
            return Err(self.error(st, "frame pointer is read only".into(), &[]));
        }
        Ok(())
    }

    /// Queue the other side of a branch.
    pub(crate) fn push_branch(&mut self, state: State, pc: usize) {
        if let Some(p) = self.parent {
            self.checkpoints[p].branches += 1;
        }
        let mut hist = self.hist.clone();
        hist.push(self.cur_hist());
        self.worklist.push(Pending {
            state,
            pc,
            parent: self.parent,
            from: self.pc,
            hist,
            written: self.cur_written,
        });
    }

    fn end_path(&mut self) {
        let mut p = self.parent.take();
        while let Some(i) = p {
            let cp = &mut self.checkpoints[i];
            cp.branches -= 1;
            if cp.branches > 0 {
                break;
            }
            p = cp.parent;
        }
    }

    /// Whether `pc` heads a loop bounded at run time: `may_goto`, or a helper call that
    /// calls back into the program (reached again at each callback's exit).
    fn loop_point(&self, pc: usize) -> bool {
        crate::cfg::loop_point(&self.insns[pc])
    }

    /// Prune or record a checkpoint at `pc`. Returns true when the path may stop.
    fn visit(&mut self, st: &mut State, pc: usize) -> Result<bool, VerifierError> {
        let may_goto = self.loop_point(pc);
        if may_goto {
            // The previous state of this loop on the path (`find_prev_entry`).
            let mut p = self.parent;
            let mut n = 0;
            while let Some(c) = p {
                let cp = &self.checkpoints[c];
                if cp.pc == pc {
                    if let Some(old) = &cp.state {
                        st.widen_imprecise_from(old, &cp.precise);
                    }
                    break;
                }
                n += 1;
                if n > 256 {
                    break;
                }
                p = cp.parent;
            }
        }
        let is_may_goto = matches!(self.insns[pc], Insn::MayGoto { .. });
        let mut looping = false;
        let allow_uninit = self.input.options.allow_uninit_stack;
        let live = self.live_masks(st, pc);
        let mut hit = None;
        for &c in &self.explored[pc] {
            let cp = &mut self.checkpoints[c];
            let Some(old) = &cp.state else { continue };
            if cp.branches == 0 {
                let prec = (!self.loop_pruned).then_some(&cp.precise[..]);
                let read = (!self.loop_pruned).then_some(&cp.read[..]);
                if st.covered_by_with(old, allow_uninit, &live, prec, read) {
                    cp.hits += 1;
                    hit = Some(c);
                    if self.input.options.record_states {
                        let r = PruneRelied::of(old, &live, prec, read);
                        note_relied(&mut self.relied[pc], r);
                    }
                    break;
                }
                cp.misses += 1;
            } else if may_goto && (!is_may_goto || old.may_goto_depth != st.may_goto_depth) {
                if st.covered_by_with(old, allow_uninit, &live, None, None) {
                    cp.hits += 1;
                    if self.input.options.record_states {
                        let r = PruneRelied::of(old, &live, None, None);
                        note_relied(&mut self.relied[pc], r);
                    }
                    self.loop_pruned = true;
                    return Ok(true);
                }
                cp.misses += 1;
            } else {
                if old == st {
                    looping = true;
                }
                cp.misses += 1;
            }
        }
        if let Some(c) = hit {
            self.propagate(c, &live);
            return Ok(true);
        }
        if looping {
            return Err(self.error(
                st,
                format!("infinite loop detected at insn {}", self.starts[pc]),
                &[],
            ));
        }
        // Evict completed states that keep missing (as the kernel does), and record a new
        // checkpoint only every few instructions.
        let cps = &mut self.checkpoints;
        self.explored[pc].retain(|&c| {
            let cp = &mut cps[c];
            let keep = cp.misses <= cp.hits * 3 + 3;
            if !keep {
                cp.state = None;
            }
            keep
        });
        if self.processed - self.last_checkpoint < 8
            && !may_goto
            && !self.input.options.test_state_freq
        {
            return Ok(false);
        }
        self.last_checkpoint = self.processed;
        let idx = self.checkpoints.len();
        self.checkpoints.push(Checkpoint {
            state: Some(st.clone()),
            pc,
            hits: 0,
            misses: 0,
            parent: self.parent,
            branches: 1,
            precise: Vec::new(),
            hist: std::mem::take(&mut self.hist),
            read: [0; 8],
            seg_written: std::mem::take(&mut self.cur_written),
        });
        self.explored[pc].push(idx);
        self.parent = Some(idx);
        Ok(false)
    }

    pub(crate) fn run(mut self) -> Result<Outcome, VerifierError> {
        self.compute_liveness();
        let mut next = Some(Pending {
            state: self.initial_state(),
            pc: 0,
            parent: None,
            from: 0,
            hist: Vec::new(),
            written: [0; 8],
        });
        while let Some(Pending {
            mut state,
            mut pc,
            parent,
            from,
            hist,
            written,
        }) = next.take().or_else(|| self.worklist.pop())
        {
            self.parent = parent;
            self.hist = hist;
            self.cur_written = written;
            if self.log_level() >= 1 && self.processed > 0 {
                let _ = writeln!(
                    self.log,
                    "from {} to {}: {}",
                    self.starts[from],
                    self.starts[pc],
                    state_str(&state)
                );
            }
            loop {
                self.pc = pc;
                self.processed += 1;
                if self.processed > self.input.options.max_insns {
                    return Err(self.error(
                        &state,
                        format!(
                            "BPF program is too large. Processed {} insn",
                            self.processed
                        ),
                        &[],
                    ));
                }
                if self.input.options.record_states {
                    // Before pruning: the state of a path pruned here is recorded too.
                    record(&mut self.recorded[pc], &state);
                }
                if self.cfg.prune_point[pc] && self.visit(&mut state, pc)? {
                    if self.log_level() >= 1 {
                        let _ = writeln!(self.log, "{}: safe", self.starts[pc]);
                    }
                    break;
                }
                self.facts[pc].reached = true;
                if self.log_level() >= 1 {
                    let _ = writeln!(
                        self.log,
                        "{}: {}",
                        self.starts[pc],
                        userbpf_isa::disasm::format_insn(&self.insns[pc])
                    );
                }
                self.cur_frame = (state.frames.len() - 1) as u8;
                self.hist_stack = None;
                self.hist_linked = None;
                self.hist_cb = false;
                match self.step(&mut state)? {
                    Flow::Next(n) => {
                        let h = self.cur_hist();
                        self.hist.push(h);
                        if self.log_level() >= 2 {
                            let _ =
                                writeln!(self.log, "{}: {}", self.starts[pc], state_str(&state));
                        }
                        pc = n;
                    }
                    Flow::End => break,
                }
            }
            self.end_path();
        }
        if self.log_level() >= 1 {
            let _ = writeln!(
                self.log,
                "processed {} insns (limit {}) total_states {}",
                self.processed,
                self.input.options.max_insns,
                self.checkpoints.len()
            );
        }
        self.check_stack_depth()?;
        Ok(Outcome {
            processed: self.processed,
            facts: self.facts,
            ctx_rewrites: self.ctx_rewrites.into_values().collect(),
            stack_depth: self.stack_depth,
            log: self.log,
            states: self.checkpoints.len(),
            recorded: self.recorded,
            relied: self.relied,
        })
    }

    fn step(&mut self, st: &mut State) -> Result<Flow, VerifierError> {
        let insn = self.insns[self.pc];
        let next = self.pc + 1;
        match insn {
            Insn::Alu {
                width,
                op,
                dst,
                src,
            } => self.alu(st, width, op, dst, src)?,
            Insn::Neg { width, dst } => self.unary(st, dst, |v| match width {
                userbpf_isa::Width::W64 => v.neg(),
                userbpf_isa::Width::W32 => v.neg32(),
            })?,
            Insn::MovSx {
                width,
                dst,
                src,
                from,
            } => {
                let v = self.read(st, src)?;
                self.check_dst(st, dst)?;
                let r = if v.is_scalar() {
                    v.var.movsx(from, width == userbpf_isa::Width::W32)
                } else {
                    Scalar::unknown()
                };
                *st.reg_mut(dst) = RegState::scalar(r);
            }
            Insn::Endian { order, bits, dst } => {
                use userbpf_isa::ByteOrder;
                let b = bits.bits();
                self.unary(st, dst, |v| match order {
                    ByteOrder::ToLe => v.zext(b),
                    _ => v.bswap(b),
                })?;
            }
            Insn::Load {
                size,
                dst,
                src,
                off,
            } => {
                self.load(st, size, dst, src, off, false)?;
            }
            Insn::LoadSx {
                size,
                dst,
                src,
                off,
            } => {
                self.load(st, size, dst, src, off, true)?;
            }
            Insn::Store {
                size,
                dst,
                off,
                src,
            } => self.store(st, size, dst, off, src)?,
            Insn::Atomic {
                size,
                op,
                dst,
                src,
                off,
            } => self.atomic(st, size, op, dst, src, off)?,
            Insn::LdImm64 {
                dst,
                kind,
                imm,
                next_imm,
            } => self.ld_imm64(st, dst, kind, imm, next_imm)?,
            Insn::LoadPacket { size, mode, imm } => self.load_packet(st, size, mode, imm)?,
            Insn::Ja { .. } | Insn::Gotol { .. } => {
                return Ok(Flow::Next(
                    self.cfg.target(self.input.program, self.pc).unwrap_or(next),
                ));
            }
            Insn::Jump {
                width,
                cond,
                dst,
                src,
                ..
            } => return self.cond_jump(st, width, cond, dst, src),
            Insn::MayGoto { .. } => {
                // As the kernel: the loop body (fall-through) one iteration deeper is queued,
                // the exit (the jump, taken when the budget runs out) followed first.
                let t = self.cfg.target(self.input.program, self.pc).unwrap_or(next);
                let mut body = st.clone();
                body.may_goto_depth += 1;
                self.push_branch(body, next);
                return Ok(Flow::Next(t));
            }
            Insn::Call(target) => return self.call(st, target),
            Insn::CallX { .. } => {
                return Err(self.error(st, "callx is not supported".into(), &[]));
            }
            Insn::Exit => return self.exit(st),
        }
        Ok(Flow::Next(next))
    }

    fn unary(
        &mut self,
        st: &mut State,
        dst: Reg,
        f: impl Fn(&Scalar) -> Scalar,
    ) -> Result<(), VerifierError> {
        let v = self.read(st, dst)?;
        self.check_dst(st, dst)?;
        let r = if v.is_scalar() {
            f(&v.var)
        } else {
            Scalar::unknown()
        };
        *st.reg_mut(dst) = RegState::scalar(r);
        Ok(())
    }

    fn check_stack_depth(&self) -> Result<(), VerifierError> {
        // The kernel's `check_max_stack_depth_subprog` with the JIT (`jit_requested`): each
        // frame's depth rounded up to 16 (a frame without stack counts 0), summed along
        // every call chain from the entry, call sites in instruction order (the first chain
        // over the limit names the error). userbpf gives every frame its own 512 bytes at
        // run time, so the limit is the kernel's rule, not a runtime need.
        let n = self.cfg.subprogs.len();
        let mut callees: Vec<Vec<usize>> = vec![Vec::new(); n];
        let mut has_tail_call = vec![false; n];
        for (i, insn) in self.insns.iter().enumerate() {
            let sub = self.cfg.insn_subprog[i];
            match insn {
                Insn::Call(userbpf_isa::CallTarget::Local(_))
                | Insn::LdImm64 {
                    kind: userbpf_isa::LdImm64Kind::Func,
                    ..
                } => {
                    if let Some(t) = self.cfg.target(self.input.program, i) {
                        let callee = self.cfg.insn_subprog[t];
                        // The same callee again gives the same answer at the same depth.
                        if !callees[sub].contains(&callee) {
                            callees[sub].push(callee);
                        }
                    }
                }
                Insn::Call(userbpf_isa::CallTarget::Helper(12)) => has_tail_call[sub] = true,
                _ => {}
            }
        }
        // A recursive call chain is unbounded for the static walk (the kernel's
        // `check_max_stack_depth` goes round it until the frame limit).
        fn cyclic(s: usize, callees: &[Vec<usize>], chain: &mut Vec<usize>) -> bool {
            if chain.contains(&s) {
                return true;
            }
            chain.push(s);
            let r = callees[s].iter().any(|&c| cyclic(c, callees, chain));
            chain.pop();
            r
        }
        let fail = |message: String, hint: &str| VerifierError {
            insn: 0,
            message,
            regs: Vec::new(),
            hint: Some(hint.into()),
            processed: self.processed,
            log: self.log.clone(),
        };
        if cyclic(0, &callees, &mut Vec::new()) {
            return Err(fail(
                format!("the call stack of {} frames is too deep !", MAX_FRAMES),
                "bpf-to-bpf calls may not be recursive",
            ));
        }
        struct Walk<'a> {
            callees: &'a [Vec<usize>],
            sizes: &'a [u32],
            has_tail_call: &'a [bool],
        }
        /// Enter subprogram `s` as frame `frame` with `depth` bytes below it.
        fn enter(
            w: &Walk,
            s: usize,
            frame: usize,
            depth: u32,
        ) -> Result<(), (String, &'static str)> {
            if s != 0 && w.has_tail_call[s] && depth >= 256 {
                return Err((
                    format!(
                        "tail_calls are not allowed when call stack of previous frames is {depth} bytes. Too large"
                    ),
                    "a tail call from a subprogram keeps its callers' frames: keep the stack of the frames below it under 256 bytes",
                ));
            }
            let depth = depth + w.sizes[s].div_ceil(16) * 16;
            if depth > 512 {
                return Err((
                    format!("combined stack size of {} calls is {depth}. Too large", frame + 1),
                    "reduce local variables in the functions of the deepest call chain; the stacks of all frames share 512 bytes",
                ));
            }
            for &c in &w.callees[s] {
                if frame + 1 >= MAX_FRAMES {
                    return Err((
                        format!("the call stack of {} frames is too deep !", frame + 1),
                        "bpf-to-bpf calls nest at most 8 frames deep",
                    ));
                }
                enter(w, c, frame + 1, depth)?;
            }
            Ok(())
        }
        let walk = Walk {
            callees: &callees,
            sizes: &self.stack_depth,
            has_tail_call: &has_tail_call,
        };
        enter(&walk, 0, 0, 0).map_err(|(m, h)| fail(m, h))
    }
}

/// The registers of the innermost frame in the kernel's log style.
pub(crate) fn state_str(st: &State) -> String {
    let f = st.cur();
    let mut parts = Vec::new();
    for (i, r) in f.regs.iter().enumerate() {
        if r.ty != RegType::NotInit {
            parts.push(format!("R{i}={r}"));
        }
    }
    for (i, s) in f.stack.iter().enumerate() {
        let off = -8 * (i as i64 + 1);
        if let Some(r) = &s.spill {
            parts.push(format!("fp{off}={r}"));
        } else if s
            .bytes
            .iter()
            .any(|b| *b != crate::state::SlotByte::Invalid)
        {
            let m: String = s
                .bytes
                .iter()
                .rev()
                .map(|b| match b {
                    crate::state::SlotByte::Invalid => '?',
                    crate::state::SlotByte::Misc => 'm',
                    crate::state::SlotByte::Zero => '0',
                    crate::state::SlotByte::Spill => 'r',
                })
                .collect();
            parts.push(format!("fp{off}={m}"));
        }
    }
    if st.frames.len() > 1 {
        format!("frame{}: {}", st.frames.len() - 1, parts.join(" "))
    } else {
        parts.join(" ")
    }
}

/// One register's states joined over the paths reaching an instruction (debug mode, see
/// [`crate::Options::record_states`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegSummary {
    /// A scalar on every path, within this join of the abstract values.
    Scalar(Scalar),
    /// Not a scalar on some path (a pointer, or not initialised).
    Other,
}

/// Registers r0..r10 of the current frame, joined over the paths reaching an instruction.
pub type RecordedRegs = [RegSummary; 11];

fn record(slot: &mut Option<RecordedRegs>, st: &State) {
    let now = |i: usize| {
        let r = &st.cur().regs[i];
        if r.ty == RegType::Scalar {
            RegSummary::Scalar(r.var)
        } else {
            RegSummary::Other
        }
    };
    match slot {
        None => *slot = Some(std::array::from_fn(now)),
        Some(old) => {
            for (i, o) in old.iter_mut().enumerate() {
                *o = match (*o, now(i)) {
                    (RegSummary::Scalar(a), RegSummary::Scalar(b)) => {
                        RegSummary::Scalar(a.join(&b))
                    }
                    _ => RegSummary::Other,
                };
            }
        }
    }
}

/// What the pruning of a path at an instruction relied on, for the innermost frame (debug
/// mode, see [`crate::Options::record_states`]): the registers and stack slots whose values
/// in the pruned path's state had to lie within the explored state's. Everything else
/// (dead registers, imprecise scalars, slots not read below) may differ, so a concrete run
/// that goes on below a pruned path is only known to agree with the explored states there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PruneRelied {
    /// Bit `r`: register `r` (a live pointer, or a live precise scalar).
    pub regs: u16,
    /// Bit `i`: the slot `fp - 8*(i+1)` (read below, and a spilled pointer or precise).
    pub stack: u64,
}

impl PruneRelied {
    fn of(old: &State, live: &[u16], prec: Option<&[Precise]>, read: Option<&[u64]>) -> Self {
        let fi = old.frames.len() - 1;
        let f = old.cur();
        let live = live.get(fi).copied().unwrap_or(u16::MAX);
        let prec = prec.map(|p| p.get(fi).copied().unwrap_or_default());
        let read = read.map_or(u64::MAX, |r| r.get(fi).copied().unwrap_or(u64::MAX));
        let mut regs = 0u16;
        for (ri, r) in f.regs.iter().enumerate() {
            let exact = prec.is_none_or(|p| p.regs & (1 << ri) != 0);
            let compared = match r.ty {
                RegType::NotInit => false,
                RegType::Scalar => exact,
                _ => true,
            };
            if live & (1 << ri) != 0 && compared {
                regs |= 1 << ri;
            }
        }
        let mut stack = 0u64;
        for (i, s) in f.stack.iter().enumerate().take(64) {
            let exact = prec.is_none_or(|p| p.stack & (1 << i) != 0);
            let ptr = s.spill.is_some_and(|r| r.ty != RegType::Scalar);
            if read & (1 << i) != 0 && (exact || ptr) {
                stack |= 1 << i;
            }
        }
        PruneRelied { regs, stack }
    }
}

fn note_relied(slot: &mut Option<PruneRelied>, r: PruneRelied) {
    *slot = Some(match *slot {
        None => r,
        Some(o) => PruneRelied {
            regs: o.regs & r.regs,
            stack: o.stack & r.stack,
        },
    });
}
