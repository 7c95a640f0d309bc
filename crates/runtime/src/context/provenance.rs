//! Which loads and stores access the context: a small provenance analysis.
//!
//! Takes a [`Program`]; gives [`CtxAccessFacts`]: the instructions whose base register is
//! the context pointer, with offset, size and direction. **The verifier's facts will replace
//! this analysis** once the verifier is ready: it knows the type of every register at every
//! instruction, which is exactly what this module approximates.
//!
//! # How it works
//!
//! A forward dataflow analysis over abstract values of the registers and of the 8-byte stack
//! slots of every call frame. A value is one of: uninitialised, "not the context" (a scalar
//! or another pointer), "the context plus a constant" (or plus an unknown amount), "a stack
//! address of frame *f* plus a constant", or "mixed" (the context on some paths, something
//! else on others). At a merge point values are joined; the lattice is finite, so the
//! worklist reaches a fixpoint. Spills and fills of the context pointer through 8-byte
//! aligned stack slots are followed, including slots of a caller's frame written through a
//! pointer passed to a subprogram.
//!
//! bpf-to-bpf calls are analysed in the caller's context (call strings, as the kernel does):
//! the callee starts with r1–r5 as the caller passed them and its own stack frame; a
//! subprogram that receives the context has its accesses found too. Helpers clobber r0–r5.
//!
//! An access whose base is "mixed" is refused (the kernel refuses it too: "same insn cannot
//! be used with different pointers"), as are accesses through a moved context pointer
//! ("dereference of modified ctx ptr") and atomic operations on the context.
//!
//! # Soundness
//!
//! For every program the kernel's verifier accepts, an instruction is reported exactly when
//! its base register is the context on the paths that reach it. Where the kernel would
//! reject a program for other reasons (say a scalar spilled over a context spill and then
//! dereferenced), the analysis may be optimistic; such a program still cannot harm the
//! host: the interpreter checks every access against the run's memory regions.
//!
//! # Callbacks
//!
//! A `bpf_loop` or `bpf_for_each_map_elem` call whose r2 holds a callback (`lddw
//! BPF_PSEUDO_FUNC`, followed through registers and spills) is analysed as the kernel's
//! verifier does: as a call of the callback in the caller's context, with the arguments the
//! helper passes (`bpf_loop`: r1 = index, r2 = the caller's r3; `bpf_for_each_map_elem`:
//! r1 = map, r2 = key, r3 = value, r4 = the caller's r3), any number of times (the state
//! after one call feeds the next), then r0 = the helper's result. So a context pointer
//! reaching the callback through its data (a stack structure holding it) is followed, and
//! the callback's context accesses are found. Callbacks reached no such way (other
//! helpers, or an unknown callback register) are analysed with unknown arguments; a program
//! that hands the context to such a helper in r2–r5 is refused.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use userbpf_isa::{AluOp, CallTarget, Insn, LdImm64Kind, MemSize, Program, Reg, Source, Width};

use super::{ContextError, Direction};

/// Deepest call nesting followed (as `MAX_CALL_FRAMES`).
const MAX_FRAMES: usize = 8;
/// 8-byte slots per stack frame.
const SLOTS: usize = 64;
/// Bound on analysed (call string, instruction) nodes, against pathological inputs.
const MAX_NODES: usize = 1 << 20;

/// What a context access does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CtxAccessKind {
    /// `dst = *(size *)(ctx + off)`.
    Load,
    /// `dst = *(signed size *)(ctx + off)`.
    LoadSx,
    /// `*(size *)(ctx + off) = src` with a register.
    Store,
    /// `*(size *)(ctx + off) = imm`.
    StoreImm,
}

impl CtxAccessKind {
    /// Read or write.
    pub fn direction(self) -> Direction {
        match self {
            CtxAccessKind::Load | CtxAccessKind::LoadSx => Direction::Read,
            CtxAccessKind::Store | CtxAccessKind::StoreImm => Direction::Write,
        }
    }
}

/// One instruction that accesses the context.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CtxAccess {
    /// Load or store.
    pub kind: CtxAccessKind,
    /// Offset into the UAPI context structure.
    pub off: i16,
    /// Access size.
    pub size: MemSize,
}

/// The context accesses of a program, by instruction index.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CtxAccessFacts {
    /// Instruction index to access.
    pub accesses: BTreeMap<usize, CtxAccess>,
}

impl CtxAccessFacts {
    /// Whether instruction `insn` accesses the context.
    pub fn get(&self, insn: usize) -> Option<&CtxAccess> {
        self.accesses.get(&insn)
    }

    /// The end of the furthest context byte read (the kernel's `max_ctx_offset`).
    pub fn max_ctx_offset(&self) -> u32 {
        self.accesses
            .values()
            .map(|a| (a.off as i64 + a.size.bytes() as i64).max(0) as u32)
            .max()
            .unwrap_or(0)
    }
}

/// Abstract value of a register or stack slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Val {
    Uninit,
    Other,
    Ctx(Option<i64>),
    Stack {
        frame: u8,
        off: Option<i64>,
    },
    /// The address of the subprogram starting at this instruction (`lddw BPF_PSEUDO_FUNC`).
    Func(usize),
    Mixed,
}

fn join(a: Val, b: Val) -> Val {
    use Val::*;
    match (a, b) {
        (Uninit, x) | (x, Uninit) => x,
        (x, y) if x == y => x,
        (Mixed, _) | (_, Mixed) => Mixed,
        (Ctx(_), Ctx(_)) => Ctx(None),
        (Stack { frame: f, .. }, Stack { frame: g, .. }) if f == g => Stack {
            frame: f,
            off: None,
        },
        (Ctx(_), _) | (_, Ctx(_)) => Mixed,
        _ => Other,
    }
}

fn offset(v: Val, delta: Option<i64>) -> Val {
    let add = |o: Option<i64>| match (o, delta) {
        (Some(a), Some(d)) => a.checked_add(d),
        _ => None,
    };
    match v {
        Val::Ctx(o) => Val::Ctx(add(o)),
        Val::Stack { frame, off } => Val::Stack {
            frame,
            off: add(off),
        },
        Val::Mixed => Val::Mixed,
        _ => Val::Other,
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Frame {
    regs: [Val; 11],
    stack: [Val; SLOTS],
    /// Instruction index to resume at in the caller (unused for frame 0).
    ret: usize,
    /// For a callback's frame: the helper that calls it and the callback's entry.
    callback: Option<(i32, usize)>,
}

/// `bpf_loop`.
const HELPER_LOOP: i32 = 181;
/// `bpf_for_each_map_elem`.
const HELPER_FOR_EACH_MAP_ELEM: i32 = 164;

/// The frame a callback of `helper` starts with, called from `caller` at depth `depth`.
fn callback_frame(helper: i32, entry: usize, caller: &Frame, depth: usize) -> Frame {
    let mut regs = [Val::Other; 11];
    regs[0] = Val::Uninit;
    let data = match caller.regs[3] {
        Val::Uninit => Val::Other,
        v => v,
    };
    match helper {
        HELPER_LOOP => regs[2] = data,
        _ => regs[4] = data,
    }
    regs[10] = Val::Stack {
        frame: (depth + 1) as u8,
        off: Some(0),
    };
    Frame {
        regs,
        stack: [Val::Uninit; SLOTS],
        ret: 0,
        callback: Some((helper, entry)),
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct State {
    frames: Vec<Frame>,
}

impl State {
    fn cur(&mut self) -> &mut Frame {
        self.frames.last_mut().expect("a frame")
    }

    fn reg(&self, r: Reg) -> Val {
        self.frames.last().expect("a frame").regs[r.idx()]
    }

    fn set(&mut self, r: Reg, v: Val) {
        self.cur().regs[r.idx()] = v;
    }

    fn join_from(&mut self, other: &State) -> bool {
        let mut changed = false;
        for (a, b) in self.frames.iter_mut().zip(&other.frames) {
            for (x, y) in a.regs.iter_mut().zip(&b.regs) {
                let j = join(*x, *y);
                changed |= j != *x;
                *x = j;
            }
            for (x, y) in a.stack.iter_mut().zip(&b.stack) {
                let j = join(*x, *y);
                changed |= j != *x;
                *x = j;
            }
        }
        changed
    }

    fn slot(&mut self, frame: u8, off: i64) -> Option<&mut Val> {
        // Slot i covers [-(512) + 8 i, -(512) + 8 i + 8).
        let idx = off.checked_add(512)?;
        if !(0..512).contains(&idx) || idx % 8 != 0 {
            return None;
        }
        self.frames
            .get_mut(frame as usize)
            .map(|f| &mut f.stack[idx as usize / 8])
    }

    fn clobber(&mut self, frame: u8, off: i64, size: usize) {
        let start = off.saturating_add(512);
        let end = start.saturating_add(size as i64);
        if let Some(f) = self.frames.get_mut(frame as usize) {
            for (i, v) in f.stack.iter_mut().enumerate() {
                let (s, e) = (i as i64 * 8, i as i64 * 8 + 8);
                if s < end && start < e {
                    *v = Val::Other;
                }
            }
        }
    }
}

/// How an instruction's base register was classified over all analysed paths.
#[derive(Default, Clone, Copy)]
struct Seen {
    ctx: bool,
    other: bool,
    mixed: bool,
    var: bool,
    moved: Option<i64>,
}

/// Find the instructions of `program` whose base register is the context (r1 at entry).
///
/// # Errors
/// [`ContextError::MixedPointer`], [`ContextError::ModifiedCtx`],
/// [`ContextError::VariableCtx`] and [`ContextError::BadStore`] as the kernel would report
/// them; [`ContextError::Analysis`] for jumps out of the program, call nesting deeper than 8
/// frames, recursion, or a context pointer handed to a callback.
pub fn find_context_accesses(program: &Program) -> Result<CtxAccessFacts, ContextError> {
    let insns = program.insns();
    let starts = program.starts();
    let mut slot_to_insn: HashMap<usize, usize> = HashMap::new();
    for (i, &s) in starts.iter().enumerate() {
        slot_to_insn.insert(s, i);
    }
    let target = |i: usize, rel: i64| -> Result<usize, ContextError> {
        let slot = starts[i] as i64 + 1 + rel;
        usize::try_from(slot)
            .ok()
            .and_then(|s| slot_to_insn.get(&s).copied())
            .ok_or_else(|| ContextError::Analysis {
                insn: i,
                why: format!("jump to slot {slot}, not an instruction of the program"),
            })
    };
    if insns.is_empty() {
        return Ok(CtxAccessFacts::default());
    }

    // Roots: the entry with r1 = ctx; then every callback the analysis did not enter from
    // a helper call, with unknown arguments.
    let mut callbacks = Vec::new();
    for (i, insn) in insns.iter().enumerate() {
        if let Insn::LdImm64 {
            kind: LdImm64Kind::Func,
            imm,
            ..
        } = *insn
        {
            callbacks.push(target(i, imm as i64)?);
        }
    }
    let has_callbacks = !callbacks.is_empty();

    type Key = (Vec<usize>, usize);
    let mut states: HashMap<Key, State> = HashMap::new();
    let mut work: VecDeque<Key> = VecDeque::new();
    let mut entered: HashSet<usize> = HashSet::new();
    let mut rooted: HashSet<usize> = HashSet::new();
    let mut roots = vec![(0usize, true)];
    let mut budget = MAX_NODES;
    loop {
        for &(pc, is_entry) in &roots {
            let mut regs = [Val::Uninit; 11];
            regs[1] = if is_entry {
                Val::Ctx(Some(0))
            } else {
                Val::Other
            };
            if !is_entry {
                for r in &mut regs[2..6] {
                    *r = Val::Other;
                }
            }
            regs[10] = Val::Stack {
                frame: 0,
                off: Some(0),
            };
            let st = State {
                frames: vec![Frame {
                    regs,
                    stack: [Val::Uninit; SLOTS],
                    ret: 0,
                    callback: None,
                }],
            };
            let key = (vec![usize::MAX - pc], pc);
            merge(&mut states, &mut work, key, st);
        }

        while let Some(key) = work.pop_front() {
            budget = budget
                .checked_sub(1)
                .ok_or_else(|| ContextError::Analysis {
                    insn: key.1,
                    why: "program too complex for the context analysis".into(),
                })?;
            let (calls, pc) = key.clone();
            let Some(mut st) = states.get(&key).cloned() else {
                continue;
            };
            let Some(insn) = insns.get(pc).copied() else {
                return Err(ContextError::Analysis {
                    insn: pc.saturating_sub(1),
                    why: "execution falls off the end of the program".into(),
                });
            };
            let next = pc + 1;
            let mut succ: Vec<(Vec<usize>, usize, State)> = Vec::new();
            let depth = st.frames.len() - 1;
            match insn {
                Insn::Alu {
                    width,
                    op,
                    dst,
                    src,
                    ..
                } => {
                    let d = st.reg(dst);
                    let s = match src {
                        Source::Reg(r) => Some(st.reg(r)),
                        Source::Imm(_) => None,
                    };
                    let imm = match src {
                        Source::Imm(v) => Some(v as i64),
                        Source::Reg(_) => None,
                    };
                    let v = match (width, op) {
                        (Width::W64, AluOp::Mov) => s.unwrap_or(Val::Other),
                        (Width::W64, AluOp::Add) => match (d, s) {
                            (_, None) => offset(d, imm),
                            (Val::Mixed, _) | (_, Some(Val::Mixed)) => Val::Mixed,
                            (Val::Ctx(_) | Val::Stack { .. }, Some(Val::Other | Val::Uninit)) => {
                                offset(d, None)
                            }
                            (
                                Val::Other | Val::Uninit,
                                Some(p @ (Val::Ctx(_) | Val::Stack { .. })),
                            ) => offset(p, None),
                            _ => Val::Other,
                        },
                        (Width::W64, AluOp::Sub) => match (d, s) {
                            (_, None) => offset(d, imm.map(|v| -v)),
                            (Val::Mixed, _) => Val::Mixed,
                            (Val::Ctx(_) | Val::Stack { .. }, Some(Val::Other | Val::Uninit)) => {
                                offset(d, None)
                            }
                            _ => Val::Other,
                        },
                        _ => Val::Other,
                    };
                    st.set(dst, v);
                    succ.push((calls, next, st));
                }
                Insn::Neg { dst, .. } | Insn::Endian { dst, .. } | Insn::MovSx { dst, .. } => {
                    st.set(dst, Val::Other);
                    succ.push((calls, next, st));
                }
                Insn::Load {
                    dst,
                    src,
                    off,
                    size,
                }
                | Insn::LoadSx {
                    dst,
                    src,
                    off,
                    size,
                } => {
                    let v = match st.reg(src) {
                        Val::Stack {
                            frame,
                            off: Some(o),
                        } if size == MemSize::DW => {
                            st.slot(frame, o + off as i64)
                                .map_or(Val::Other, |v| match *v {
                                    Val::Uninit => Val::Other,
                                    x => x,
                                })
                        }
                        _ => Val::Other,
                    };
                    st.set(dst, v);
                    succ.push((calls, next, st));
                }
                Insn::Store {
                    dst,
                    off,
                    src,
                    size,
                } => {
                    if let Val::Stack {
                        frame,
                        off: Some(o),
                    } = st.reg(dst)
                    {
                        let at = o + off as i64;
                        let value = match src {
                            Source::Reg(r) => match st.reg(r) {
                                Val::Uninit => Val::Other,
                                x => x,
                            },
                            Source::Imm(_) => Val::Other,
                        };
                        match st.slot(frame, at) {
                            Some(slot) if size == MemSize::DW => *slot = value,
                            _ => st.clobber(frame, at, size.bytes()),
                        }
                    }
                    succ.push((calls, next, st));
                }
                Insn::Atomic {
                    dst,
                    src,
                    off,
                    size,
                    op,
                } => {
                    if let Val::Stack {
                        frame,
                        off: Some(o),
                    } = st.reg(dst)
                    {
                        st.clobber(frame, o + off as i64, size.mem_size().bytes());
                    }
                    if op.fetches() {
                        if op == userbpf_isa::AtomicOp::CmpXchg {
                            st.set(Reg::R0, Val::Other);
                        } else {
                            st.set(src, Val::Other);
                        }
                    }
                    succ.push((calls, next, st));
                }
                Insn::LdImm64 {
                    dst,
                    kind: LdImm64Kind::Func,
                    imm,
                    ..
                } => {
                    st.set(dst, Val::Func(target(pc, imm as i64)?));
                    succ.push((calls, next, st));
                }
                Insn::LdImm64 { dst, .. } => {
                    st.set(dst, Val::Other);
                    succ.push((calls, next, st));
                }
                Insn::LoadPacket { .. } => {
                    st.set(Reg::R0, Val::Other);
                    for r in 1..=5 {
                        st.cur().regs[r] = Val::Uninit;
                    }
                    succ.push((calls, next, st));
                }
                Insn::Ja { off } => succ.push((calls, target(pc, off as i64)?, st)),
                Insn::Gotol { off } => succ.push((calls, target(pc, off as i64)?, st)),
                Insn::Jump { off, .. } | Insn::MayGoto { off } => {
                    succ.push((calls.clone(), target(pc, off as i64)?, st.clone()));
                    succ.push((calls, next, st));
                }
                Insn::Call(CallTarget::Local(rel)) => {
                    let callee = target(pc, rel as i64)?;
                    if depth + 1 >= MAX_FRAMES {
                        return Err(ContextError::Analysis {
                            insn: pc,
                            why: format!("call nesting deeper than {MAX_FRAMES} frames"),
                        });
                    }
                    if calls.contains(&callee) {
                        return Err(ContextError::Analysis {
                            insn: pc,
                            why: "recursive bpf-to-bpf call".into(),
                        });
                    }
                    let mut regs = [Val::Uninit; 11];
                    regs[1..6].copy_from_slice(&st.frames[depth].regs[1..6]);
                    regs[10] = Val::Stack {
                        frame: (depth + 1) as u8,
                        off: Some(0),
                    };
                    st.cur().ret = next;
                    st.frames.push(Frame {
                        regs,
                        stack: [Val::Uninit; SLOTS],
                        ret: 0,
                        callback: None,
                    });
                    let mut c = calls;
                    c.push(callee);
                    succ.push((c, callee, st));
                }
                Insn::Call(CallTarget::Helper(id @ (HELPER_LOOP | HELPER_FOR_EACH_MAP_ELEM)))
                    if matches!(st.reg(Reg::R2), Val::Func(_)) =>
                {
                    let Val::Func(callback) = st.reg(Reg::R2) else {
                        unreachable!("matched above")
                    };
                    if depth + 1 >= MAX_FRAMES {
                        return Err(ContextError::Analysis {
                            insn: pc,
                            why: format!("call nesting deeper than {MAX_FRAMES} frames"),
                        });
                    }
                    if calls.contains(&callback) {
                        return Err(ContextError::Analysis {
                            insn: pc,
                            why: "recursive callback".into(),
                        });
                    }
                    entered.insert(callback);
                    // The helper may call the callback zero times...
                    let mut none = st.clone();
                    none.set(Reg::R0, Val::Other);
                    for r in 1..=5 {
                        none.cur().regs[r] = Val::Uninit;
                    }
                    succ.push((calls.clone(), next, none));
                    // ...or once and more (see Exit).
                    st.cur().ret = next;
                    let frame = callback_frame(id, callback, &st.frames[depth], depth);
                    st.frames.push(frame);
                    let mut c = calls;
                    c.push(callback);
                    succ.push((c, callback, st));
                }
                Insn::Call(_) | Insn::CallX { .. } => {
                    if has_callbacks {
                        for r in 2..=5 {
                            if matches!(st.frames[depth].regs[r], Val::Ctx(_) | Val::Mixed) {
                                return Err(ContextError::Analysis {
                                    insn: pc,
                                    why: format!(
                                        "R{r} passes the context to a helper in a program with \
                                     callbacks; callbacks receiving the context need the \
                                     verifier's facts"
                                    ),
                                });
                            }
                        }
                    }
                    st.set(Reg::R0, Val::Other);
                    for r in 1..=5 {
                        st.cur().regs[r] = Val::Uninit;
                    }
                    succ.push((calls, next, st));
                }
                Insn::Exit => {
                    if depth > 0 {
                        let r0 = st.reg(Reg::R0);
                        let callback = st.frames.pop().and_then(|f| f.callback);
                        // Values pointing into the popped frame are dangling: forget them.
                        let gone = (depth) as u8;
                        for f in &mut st.frames {
                            for v in f.regs.iter_mut().chain(f.stack.iter_mut()) {
                                if matches!(v, Val::Stack { frame, .. } if *frame == gone) {
                                    *v = Val::Other;
                                }
                            }
                        }
                        if let Some((helper, entry)) = callback {
                            // The helper calls the callback again with what this call left in
                            // the caller's frame, or returns its own result.
                            let mut again = st.clone();
                            let frame =
                                callback_frame(helper, entry, &again.frames[depth - 1], depth - 1);
                            again.frames.push(frame);
                            succ.push((calls.clone(), entry, again));
                        }
                        let ret = st.cur().ret;
                        st.set(Reg::R0, if callback.is_some() { Val::Other } else { r0 });
                        for r in 1..=5 {
                            st.cur().regs[r] = Val::Uninit;
                        }
                        let mut c = calls;
                        c.pop();
                        succ.push((c, ret, st));
                    }
                }
            }
            for (c, pc, s) in succ {
                merge(&mut states, &mut work, (c, pc), s);
            }
        }
        roots = callbacks
            .iter()
            .filter(|pc| !entered.contains(pc) && rooted.insert(**pc))
            .map(|&pc| (pc, false))
            .collect();
        if roots.is_empty() {
            break;
        }
    }

    // Classify every memory instruction's base over all final states.
    let mut seen: BTreeMap<usize, Seen> = BTreeMap::new();
    for ((_, pc), st) in &states {
        let insn = insns[*pc];
        if let Insn::LoadPacket { .. } = insn {
            // The kernel's check_ld_abs: the skb must be in r6.
            if st.reg(Reg::R6) != Val::Ctx(Some(0)) {
                return Err(ContextError::LdAbs {
                    insn: *pc,
                    why: "at the time of BPF_LD_ABS|IND R6 != pointer to skb".into(),
                });
            }
            continue;
        }
        let (base, atomic) = match insn {
            Insn::Load { src, .. } | Insn::LoadSx { src, .. } => (src, false),
            Insn::Store { dst, .. } => (dst, false),
            Insn::Atomic { dst, .. } => (dst, true),
            _ => continue,
        };
        let e = seen.entry(*pc).or_default();
        match st.reg(base) {
            Val::Ctx(Some(0)) => e.ctx = true,
            Val::Ctx(Some(k)) => e.moved = Some(k),
            Val::Ctx(None) => e.var = true,
            Val::Mixed => e.mixed = true,
            Val::Uninit => {}
            Val::Other | Val::Stack { .. } | Val::Func(_) => e.other = true,
        }
        let touches_ctx = e.ctx || e.moved.is_some() || e.var || e.mixed;
        if atomic && touches_ctx {
            return Err(ContextError::BadStore {
                insn: *pc,
                reg: base.num(),
                what: "BPF_ATOMIC",
            });
        }
    }
    let mut facts = CtxAccessFacts::default();
    for (pc, e) in seen {
        let insn = insns[pc];
        let base = match insn {
            Insn::Load { src, .. } | Insn::LoadSx { src, .. } => src,
            Insn::Store { dst, .. } | Insn::Atomic { dst, .. } => dst,
            _ => continue,
        };
        let reg = base.num();
        if e.mixed || ((e.ctx || e.var || e.moved.is_some()) && e.other) {
            return Err(ContextError::MixedPointer { insn: pc, reg });
        }
        if let Some(off) = e.moved {
            return Err(ContextError::ModifiedCtx { insn: pc, reg, off });
        }
        if e.var {
            return Err(ContextError::VariableCtx { insn: pc, reg });
        }
        if !e.ctx {
            continue;
        }
        let access = match insn {
            Insn::Load { off, size, .. } => CtxAccess {
                kind: CtxAccessKind::Load,
                off,
                size,
            },
            Insn::LoadSx { off, size, .. } => CtxAccess {
                kind: CtxAccessKind::LoadSx,
                off,
                size,
            },
            Insn::Store {
                off,
                size,
                src: Source::Reg(_),
                ..
            } => CtxAccess {
                kind: CtxAccessKind::Store,
                off,
                size,
            },
            Insn::Store { off, size, .. } => CtxAccess {
                kind: CtxAccessKind::StoreImm,
                off,
                size,
            },
            _ => continue,
        };
        facts.accesses.insert(pc, access);
    }
    Ok(facts)
}

fn merge(
    states: &mut HashMap<(Vec<usize>, usize), State>,
    work: &mut VecDeque<(Vec<usize>, usize)>,
    key: (Vec<usize>, usize),
    st: State,
) {
    match states.get_mut(&key) {
        Some(old) => {
            if old.join_from(&st) {
                work.push_back(key);
            }
        }
        None => {
            states.insert(key.clone(), st);
            work.push_back(key);
        }
    }
}
