//! A reusable XDP frame: `BPF_PROG_TEST_RUN` semantics for packet after packet, without
//! building anything per packet.
//!
//! Takes packets (Ethernet frames, one at a time) and a function that runs the program on a
//! context address and a memory map; gives, per packet, the program's r0, the packet and
//! metadata as the program left them (borrowed from the frame) and the `bpf_redirect`
//! target. It is what [`test_run_program`](super::test_run_program) does for an XDP
//! program without `ctx_in` and with `repeat` 1 (a 4096-byte zeroed frame, the packet after
//! `XDP_PACKET_HEADROOM` bytes, 320 bytes of tailroom, the loopback device, queue 0), with
//! the frame, the runtime context and the memory map (frame, context, and the map regions
//! the caller gives) built once, when the [`XdpFrame`] is made.
//!
//! Only the context's pointer fields are written per packet (the `xdp_md` image before them
//! is read-only to programs and helpers, and filled once: the loopback device, queue 0).
//!
//! The frame outside the packet must read as zero at the start of every run, as the kernel's
//! freshly allocated page does. A run that can only write inside the packet it was given
//! leaves that so, and the next packet only clears what the previous, longer one covered.
//! A run that may write elsewhere (the checked interpreter running an unverified program, a
//! program calling `bpf_xdp_adjust_*` or tail-calling or calling through `callx`: see
//! [`may_write_outside_packet`]) makes the next packet clear the whole frame. The thread's
//! `bpf_redirect` target is only cleared and collected for programs that may set it
//! ([`may_redirect`]).

use std::ops::Range;

use userbpf_isa::{AluOp, AtomicOp, CallTarget, Insn, Program, Source, Width};

use super::packet_helpers::{take_redirect, Redirect};
use super::test_run::TestRunError;
use super::{get_u64, put_u64, xdp};
use crate::error::Trap;
use crate::memory::{MemoryMap, Region, RegionKind};

const ETH_HLEN: usize = 14;
const EINVAL: i32 = 22;
const HEADROOM: usize = xdp::XDP_PACKET_HEADROOM;
/// The longest packet one frame holds (the kernel's linear area of a test run).
pub const MAX_PACKET: usize = xdp::PAGE_SIZE - HEADROOM - xdp::SHARED_INFO_SIZE;

/// Helper ids that move the packet pointers (`bpf_xdp_adjust_head`, `_meta`, `_tail`) or
/// run another program (`bpf_tail_call`).
const MOVING_HELPERS: [i32; 4] = [44, 54, 65, 12];

/// `bpf_redirect`, `bpf_redirect_map`, and `bpf_tail_call` (whose target may redirect).
const REDIRECT_HELPERS: [i32; 3] = [23, 51, 12];

/// Whether `program` calls one of `helpers`, or may reach any helper (a kfunc, `callx`).
fn may_call(program: &Program, helpers: &[i32]) -> bool {
    program.insns().iter().any(|i| match i {
        Insn::Call(CallTarget::Helper(id)) => helpers.contains(id),
        Insn::Call(CallTarget::Kfunc { .. }) | Insn::CallX { .. } => true,
        _ => false,
    })
}

/// Whether a run of `program` may write frame bytes outside the packet it starts with: it
/// calls a helper that moves the packet pointers, tail-calls, or calls through `callx`
/// (which may reach any helper).
pub fn may_write_outside_packet(program: &Program) -> bool {
    may_call(program, &MOVING_HELPERS)
}

/// Whether a run of `program` may set a redirect target (`bpf_redirect`,
/// `bpf_redirect_map`, or through a tail call or `callx`).
pub fn may_redirect(program: &Program) -> bool {
    may_call(program, &REDIRECT_HELPERS)
}

/// Helpers that neither write packet memory nor move or replace the packet (map lookup,
/// update and delete, `ktime_get_ns`, `trace_printk`, `get_prandom_u32`,
/// `get_smp_processor_id`, `redirect`, `redirect_map`): a program calling only these may
/// run on a packet it cannot write ([`reads_packet_only`]).
const IN_PLACE_HELPERS: [i32; 9] = [1, 2, 3, 5, 6, 7, 8, 23, 51];

/// `bpf_map_lookup_elem`: its result is a map value (or NULL), never packet memory.
const MAP_LOOKUP: i32 = 1;

/// Registers known not to point into the packet, by number (r10 always).
type Safe = [bool; 11];

/// Nothing known but r10.
const ONLY_FP: Safe = [
    false, false, false, false, false, false, false, false, false, false, true,
];

/// Whether every run of `program` (the instructions as prepared, with all its subprograms)
/// leaves the packet's bytes and bounds as they were, by a conservative scan: it calls no
/// helper outside [`IN_PLACE_HELPERS`] (so no `bpf_xdp_adjust_*`, store or checksum
/// helper, and no tail call), has no kfunc call, `callx` or legacy packet load, and every
/// store and atomic goes through a register known, on every path reaching it, not to point
/// into the packet: r10 (the stack), or a copy of r10 or of a `bpf_map_lookup_elem` result
/// (a map value), moved by constants. A forward data flow over the instructions gives
/// what each register holds (subprograms start knowing only r10; calls forget r0-r5). For
/// a program the verifier accepted this is sound: the verifier refuses stores through
/// NULL, scalars and map pointers, so such a store can only reach the stack or a map value.
pub fn reads_packet_only(program: &Program) -> bool {
    let insns = program.insns();
    let mut index_of = vec![usize::MAX; program.slot_count() + 1];
    for (i, &slot) in program.starts().iter().enumerate() {
        index_of[slot] = i;
    }
    let target = |slot: usize, off: i64| -> Option<usize> {
        let t = usize::try_from(slot as i64 + 1 + off).ok()?;
        index_of.get(t).copied().filter(|&i| i < insns.len())
    };
    // What is known before each instruction (None: not reached yet).
    let mut before: Vec<Option<Safe>> = vec![None; insns.len()];
    if insns.is_empty() {
        return true;
    }
    before[0] = Some(ONLY_FP);
    let mut changed = true;
    while changed {
        changed = false;
        for (i, (&slot, insn)) in program.starts().iter().zip(insns).enumerate() {
            let Some(mut safe) = before[i] else { continue };
            let mut next = |j: usize, state: Safe, before: &mut Vec<Option<Safe>>| {
                let joined = match before[j] {
                    None => state,
                    Some(old) => std::array::from_fn(|r| old[r] && state[r]),
                };
                if before[j] != Some(joined) {
                    before[j] = Some(joined);
                    changed = true;
                }
            };
            // Whether the instruction falls through to the next one.
            let falls = match *insn {
                Insn::Store { dst, .. } if !safe[dst.idx()] => return false,
                Insn::Store { .. } | Insn::Jump { .. } | Insn::MayGoto { .. } => true,
                Insn::Atomic { dst, src, op, .. } => {
                    if !safe[dst.idx()] {
                        return false;
                    }
                    match op {
                        AtomicOp::Add | AtomicOp::Or | AtomicOp::And | AtomicOp::Xor => {}
                        AtomicOp::CmpXchg => safe[0] = false,
                        _ => safe[src.idx()] = false,
                    }
                    true
                }
                Insn::Alu {
                    width: Width::W64,
                    op: AluOp::Mov,
                    dst,
                    src: Source::Reg(src),
                } => {
                    safe[dst.idx()] = safe[src.idx()];
                    true
                }
                Insn::Alu {
                    width: Width::W64,
                    op: AluOp::Add | AluOp::Sub,
                    src: Source::Imm(_),
                    ..
                } => true,
                Insn::Alu { dst, .. }
                | Insn::Neg { dst, .. }
                | Insn::MovSx { dst, .. }
                | Insn::Endian { dst, .. }
                | Insn::Load { dst, .. }
                | Insn::LoadSx { dst, .. }
                | Insn::LdImm64 { dst, .. } => {
                    safe[dst.idx()] = false;
                    true
                }
                Insn::Call(CallTarget::Helper(id)) => {
                    if !IN_PLACE_HELPERS.contains(&id) {
                        return false;
                    }
                    safe[1..=5].fill(false);
                    safe[0] = id == MAP_LOOKUP;
                    true
                }
                Insn::Call(CallTarget::Local(imm)) => {
                    let Some(t) = target(slot, i64::from(imm)) else {
                        return false;
                    };
                    next(t, ONLY_FP, &mut before);
                    safe[..=5].fill(false);
                    true
                }
                Insn::Call(CallTarget::Kfunc { .. })
                | Insn::CallX { .. }
                | Insn::LoadPacket { .. } => return false,
                Insn::Ja { .. } | Insn::Gotol { .. } | Insn::Exit => false,
            };
            safe[10] = true;
            if let Some(off) = insn.jump_offset() {
                let Some(t) = target(slot, off) else {
                    return false;
                };
                next(t, safe, &mut before);
            }
            if falls && i + 1 < insns.len() {
                next(i + 1, safe, &mut before);
            }
        }
    }
    true
}

/// A page of memory, page-aligned.
#[repr(C, align(4096))]
struct Page([u8; xdp::PAGE_SIZE]);

/// The outcome of one packet's run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct XdpRun {
    /// The full r0.
    pub r0: u64,
    /// Where the metadata the program left is in the frame ([`XdpFrame::bytes`]).
    pub meta: Range<usize>,
    /// Where the packet the program left is in the frame.
    pub data: Range<usize>,
    /// The `bpf_redirect` target the run set, if any.
    pub redirect: Option<Redirect>,
}

impl XdpRun {
    /// The return value as the kernel reports it (low 32 bits of r0).
    pub fn retval(&self) -> u32 {
        self.r0 as u32
    }
}

/// One XDP frame, its runtime context and the memory map of its runs (see the
/// [module docs](self)).
pub struct XdpFrame {
    /// The page (one page-aligned element, as the kernel's frame is a page); its heap
    /// buffer never moves (the memory map holds its address).
    frame: Vec<Page>,
    /// The runtime context (`xdp::RUNTIME_SIZE` bytes); never moves either.
    ctx: Vec<u8>,
    /// Frame, context, then map regions. The regions point into `frame` and `ctx`, which
    /// live as long as `self`; nothing else touches them while a run uses the map.
    memory: MemoryMap<'static>,
    /// Regions of the frame and the context (the map regions follow).
    fixed: usize,
    /// The context and map regions without the frame, for runs on a caller's packet
    /// ([`XdpFrame::run_in_place`]); that packet's region is added for each run.
    borrowed: MemoryMap<'static>,
    /// Whether runs may use [`XdpFrame::run_in_place`]: the program was verified and
    /// [`reads_packet_only`].
    in_place: bool,
    /// Length of the packet loaded last (bytes `[HEADROOM, HEADROOM + len)`).
    len: usize,
    /// Whether bytes outside the last packet may be non-zero.
    dirty: bool,
    /// Whether runs may write outside the packet (then every load clears the frame).
    wild: bool,
    /// Whether runs may set a redirect target (else the thread's target is not looked at).
    redirects: bool,
}

impl std::fmt::Debug for XdpFrame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("XdpFrame")
            .field("len", &self.len)
            .field("regions", &self.memory.regions().len())
            .field("wild", &self.wild)
            .finish()
    }
}

impl XdpFrame {
    /// A zeroed frame for runs of `program` (the instructions as prepared: which helpers it
    /// calls decides what each run must clear and collect), which also see `map_regions`.
    /// `unverified`: the program was not verified (the checked interpreter then lets it
    /// write anywhere in the frame).
    pub fn new(map_regions: &[Region], program: &Program, unverified: bool) -> XdpFrame {
        let wild = unverified || may_write_outside_packet(program);
        let in_place = !unverified && reads_packet_only(program);
        let redirects = may_redirect(program);
        let mut frame = vec![Page([0; xdp::PAGE_SIZE])];
        let mut ctx = xdp::XdpRuntime {
            ingress_ifindex: 1,
            rx_queue_index: 0,
            ..Default::default()
        }
        .to_bytes()
        .to_vec();
        let mut memory = MemoryMap::with_capacity(3 + map_regions.len() + 4);
        let regions = [
            Region {
                start: frame.as_mut_ptr() as u64,
                len: xdp::PAGE_SIZE as u64,
                writable: true,
                kind: RegionKind::Packet,
            },
            Region {
                start: ctx.as_mut_ptr() as u64,
                len: xdp::RT_DATA as u64,
                writable: false,
                kind: RegionKind::Context,
            },
            Region {
                start: ctx.as_mut_ptr() as u64 + xdp::RT_DATA as u64,
                len: (xdp::RUNTIME_SIZE - xdp::RT_DATA) as u64,
                writable: true,
                kind: RegionKind::Context,
            },
        ];
        for r in regions.iter().chain(map_regions) {
            // SAFETY: frame and context are heap buffers owned by the returned value, never
            // resized (so never moved) and only read through references between runs; the
            // map regions are the caller's promise (maps outliving the frame's runs, as
            // `PreparedProgram::map_regions` gives).
            unsafe { memory.add_raw(*r) };
        }
        let borrowed = borrowed_map(&memory.regions()[1..]);
        XdpFrame {
            frame,
            ctx,
            memory,
            fixed: regions.len(),
            borrowed,
            in_place,
            len: 0,
            dirty: false,
            wild,
            redirects,
        }
    }

    /// Replace the map regions (after maps were added to the instance).
    ///
    /// # Safety
    /// As for [`XdpFrame::new`]: each region must stay valid while runs may reach it.
    pub unsafe fn set_map_regions(&mut self, map_regions: &[Region]) {
        let fixed: Vec<Region> = self.memory.regions()[..self.fixed].to_vec();
        let mut memory = MemoryMap::with_capacity(fixed.len() + map_regions.len() + 4);
        for r in fixed.iter().chain(map_regions) {
            // SAFETY: the fixed regions as in `new`; the map regions per the caller.
            unsafe { memory.add_raw(*r) };
        }
        self.memory = memory;
        self.borrowed = borrowed_map(&self.memory.regions()[1..]);
    }

    /// Whether [`XdpFrame::run_in_place`] runs packets (the program was verified and
    /// [`reads_packet_only`]).
    pub fn can_run_in_place(&self) -> bool {
        self.in_place
    }

    /// Run `packet` where it is, without copying it into the frame: the context's data and
    /// data_meta are its first byte, data_end its end, there is no headroom, and the only
    /// packet memory the run sees is `packet`, read-only (the checked interpreter traps on
    /// any other access; the JIT relies on the verifier, which bounds every packet access
    /// by data_end). The outcome's ranges are within `packet`. Packets are checked as
    /// [`XdpFrame::load`] checks them, so the verdicts equal a copying run's.
    ///
    /// # Errors
    /// As [`XdpFrame::load`] and [`XdpFrame::run`]; [`TestRunError::Unsupported`] when
    /// [`can_run_in_place`](Self::can_run_in_place) is false.
    #[inline]
    pub fn run_in_place(
        &mut self,
        packet: &[u8],
        run: impl FnOnce(u64, &mut MemoryMap<'_>) -> Result<u64, Trap>,
    ) -> Result<XdpRun, TestRunError> {
        if !self.in_place {
            return Err(TestRunError::Unsupported(
                "the program may write its packet: it runs on a copy in the frame".into(),
            ));
        }
        check_len(packet.len())?;
        let start = packet.as_ptr() as u64;
        let end = start + packet.len() as u64;
        let c = &mut self.ctx;
        put_u64(c, xdp::RT_DATA, start);
        put_u64(c, xdp::RT_DATA_END, end);
        put_u64(c, xdp::RT_DATA_META, start);
        put_u64(c, xdp::RT_HARD_START, start);
        put_u64(c, xdp::RT_FRAME_SZ, packet.len() as u64);
        if self.redirects {
            take_redirect();
        }
        let r1 = self.ctx.as_ptr() as u64;
        let region = Region {
            start,
            len: packet.len() as u64,
            writable: false,
            kind: RegionKind::Packet,
        };
        // SAFETY: `packet` is borrowed for this call, so the region is valid for reads
        // while `run` runs; it is read-only, and removed again before returning.
        let r0 = unsafe { self.borrowed.with_region(region, |m| run(r1, m)) };
        let redirect = if self.redirects {
            take_redirect()
        } else {
            None
        };
        let r0 = r0?;
        let c = &self.ctx;
        if (
            get_u64(c, xdp::RT_DATA_META),
            get_u64(c, xdp::RT_DATA),
            get_u64(c, xdp::RT_DATA_END),
        ) != (start, start, end)
        {
            return Err(TestRunError::Unsupported(
                "the program moved the packet pointers of a packet run in place".into(),
            ));
        }
        Ok(XdpRun {
            r0,
            meta: 0..0,
            data: 0..packet.len(),
            redirect,
        })
    }

    /// Number of map regions the runs see.
    pub fn map_region_count(&self) -> usize {
        self.memory.regions().len() - self.fixed
    }

    /// Put `packet` in the frame for the next run, checked as the kernel checks `data_in`.
    ///
    /// # Errors
    /// [`TestRunError::Invalid`] (EINVAL) for a packet shorter than an Ethernet header,
    /// [`TestRunError::Unsupported`] for one longer than [`MAX_PACKET`] (multi-buffer XDP).
    #[inline]
    pub fn load(&mut self, packet: &[u8]) -> Result<(), TestRunError> {
        self.prepare(packet.len())?.copy_from_slice(packet);
        Ok(())
    }

    /// Make room for a packet of `n` bytes for the next run and give the bytes to fill
    /// (for example straight from a capture file), checked as [`XdpFrame::load`] checks.
    /// The bytes are unspecified until the caller has filled them.
    ///
    /// # Errors
    /// As [`XdpFrame::load`].
    #[inline]
    pub fn prepare(&mut self, n: usize) -> Result<&mut [u8], TestRunError> {
        check_len(n)?;
        if self.dirty {
            let page = self.page();
            page[..HEADROOM].fill(0);
            page[HEADROOM + n..].fill(0);
        } else if n < self.len {
            let old = self.len;
            self.page()[HEADROOM + n..HEADROOM + old].fill(0);
        }
        self.len = n;
        self.dirty = self.wild;
        // The writable part of the context, field by field (the `xdp_md` image before it
        // is read-only and was filled once).
        let base = self.frame.as_ptr() as u64;
        let c = &mut self.ctx;
        put_u64(c, xdp::RT_DATA, base + HEADROOM as u64);
        put_u64(c, xdp::RT_DATA_END, base + (HEADROOM + n) as u64);
        put_u64(c, xdp::RT_DATA_META, base + HEADROOM as u64);
        put_u64(c, xdp::RT_HARD_START, base);
        put_u64(c, xdp::RT_FRAME_SZ, xdp::PAGE_SIZE as u64);
        Ok(&mut self.frame[0].0[HEADROOM..HEADROOM + n])
    }

    /// Run the loaded packet: `run` gets r1 (the context's address) and the memory map
    /// (frame, context, map regions) and runs the program once.
    ///
    /// # Errors
    /// The program's trap; [`TestRunError::Unsupported`] when it left inconsistent packet
    /// pointers in its context.
    #[inline]
    pub fn run(
        &mut self,
        run: impl FnOnce(u64, &mut MemoryMap<'_>) -> Result<u64, Trap>,
    ) -> Result<XdpRun, TestRunError> {
        if self.redirects {
            take_redirect();
        }
        let r1 = self.ctx.as_ptr() as u64;
        let r0 = run(r1, &mut self.memory);
        let redirect = if self.redirects {
            take_redirect()
        } else {
            None
        };
        let r0 = r0?;
        let c = &self.ctx;
        let (data_meta, data, data_end) = (
            get_u64(c, xdp::RT_DATA_META),
            get_u64(c, xdp::RT_DATA),
            get_u64(c, xdp::RT_DATA_END),
        );
        let base = self.frame.as_ptr() as u64;
        let end = base + xdp::PAGE_SIZE as u64;
        if !(base <= data_meta && data_meta <= data && data <= data_end && data_end <= end) {
            self.dirty = true;
            return Err(TestRunError::Unsupported(
                "the program left inconsistent packet pointers in its context".into(),
            ));
        }
        let (meta, data, data_end) = (
            (data_meta - base) as usize,
            (data - base) as usize,
            (data_end - base) as usize,
        );
        if meta != HEADROOM || data_end != HEADROOM + self.len {
            // The packet moved: what it left behind must be cleared before the next one.
            self.dirty = true;
        }
        Ok(XdpRun {
            r0,
            meta: meta..data,
            data: data..data_end,
            redirect,
        })
    }

    /// Bytes of the frame (a range of an [`XdpRun`]).
    pub fn bytes(&self, range: Range<usize>) -> &[u8] {
        &self.frame[0].0[range]
    }

    fn page(&mut self) -> &mut [u8; xdp::PAGE_SIZE] {
        &mut self.frame[0].0
    }
}

/// A packet of `n` bytes is one the kernel's XDP test run takes and one frame holds.
fn check_len(n: usize) -> Result<(), TestRunError> {
    if n < ETH_HLEN {
        return Err(TestRunError::Invalid {
            errno: EINVAL,
            reason: "packet shorter than an Ethernet header".to_string(),
        });
    }
    if n > MAX_PACKET {
        return Err(TestRunError::Unsupported(format!(
            "multi-buffer XDP is not supported: {n} bytes of data_in but a linear area of \
             {MAX_PACKET} (at most {MAX_PACKET}; set xdp_md.data_end to the whole length)"
        )));
    }
    Ok(())
}

/// A memory map of `regions` (the context's and the maps'), with room for a packet and
/// the interpreter's stack.
fn borrowed_map(regions: &[Region]) -> MemoryMap<'static> {
    let mut memory = MemoryMap::with_capacity(regions.len() + 4);
    for r in regions {
        // SAFETY: the context regions point into the frame's own context buffer, which
        // never moves while the frame lives; the map regions are the frame's caller's
        // promise (see `XdpFrame::new` and `XdpFrame::set_map_regions`).
        unsafe { memory.add_raw(*r) };
    }
    memory
}

#[cfg(test)]
mod tests {
    use userbpf_isa::asm::assemble;

    use super::*;
    use crate::context::register_packet_helpers;
    use crate::context::{
        find_context_accesses, rewrite_context_accesses, test_run_program, ProgType, TestRunInput,
    };
    use crate::helpers::Helpers;
    use crate::interp::Interpreter;

    fn interp(src: &str) -> (Interpreter, Program) {
        let p = Program::from_insns(assemble(src).unwrap());
        let facts = find_context_accesses(&p).unwrap();
        let p = rewrite_context_accesses(&p, ProgType::Xdp, &facts).unwrap();
        let mut helpers = Helpers::new();
        register_packet_helpers(&mut helpers, ProgType::Xdp);
        (Interpreter::new(&p, &helpers).unwrap(), p)
    }

    fn same_as_test_run(src: &str, packets: &[Vec<u8>]) {
        let (i, p) = interp(src);
        let facts = find_context_accesses(&p).unwrap();
        let mut frame = XdpFrame::new(&[], &p, false);
        for pkt in packets {
            let want = test_run_program(
                &i,
                ProgType::Xdp,
                &facts,
                &TestRunInput {
                    data_in: pkt,
                    ctx_in: None,
                    repeat: 1,
                },
            );
            let got = frame
                .load(pkt)
                .and_then(|()| frame.run(|r1, m| i.run(&[r1], m)));
            match (want, got) {
                (Ok(w), Ok(g)) => {
                    assert_eq!(w.r0, g.r0);
                    let mut out = frame.bytes(g.meta.clone()).to_vec();
                    out.extend_from_slice(frame.bytes(g.data.clone()));
                    assert_eq!(w.data_out, out);
                    assert_eq!(
                        u32::from_ne_bytes(w.ctx_out[..4].try_into().unwrap()) as usize,
                        g.meta.len()
                    );
                }
                (Err(w), Err(g)) => assert_eq!(w, g),
                (w, g) => panic!("test run {w:?}, frame {g:?}"),
            }
        }
    }

    fn packets() -> Vec<Vec<u8>> {
        vec![
            (0..100u8).collect(),
            vec![7; 14],
            vec![1; 13],
            (0..60u8).rev().collect(),
            vec![9; MAX_PACKET + 1],
            vec![3; MAX_PACKET],
            (0..20u8).collect(),
        ]
    }

    #[test]
    fn sums_and_rewrites_like_test_run() {
        // r0 = packet[13] + len; packet[0] = 0xee
        same_as_test_run(
            "r2 = *(u32 *)(r1 + 0)\nr3 = *(u32 *)(r1 + 4)\nr4 = r2\nr4 += 14\n\
             if r4 > r3 goto +5\nr0 = *(u8 *)(r2 + 13)\nr3 -= r2\nr0 += r3\n\
             r5 = 0xee\n*(u8 *)(r2 + 0) = r5\nexit\nr0 = 1\nexit",
            &packets(),
        );
    }

    #[test]
    fn headroom_reads_zero_after_adjust_head_writes() {
        // Move data 8 bytes back, read what is there, write 0xff over it: the next packet
        // must see zeros again.
        let src = "r6 = r1\nr2 = -8\ncall 44\nif r0 != 0 goto +6\n\
                   r2 = *(u32 *)(r6 + 0)\nr3 = *(u32 *)(r6 + 4)\nr4 = r2\nr4 += 8\n\
                   if r4 > r3 goto +1\ngoto +2\nr0 = 1\nexit\n\
                   r0 = *(u64 *)(r2 + 0)\nr5 = -1\n*(u64 *)(r2 + 0) = r5\nexit";
        let (_, p) = interp(src);
        assert!(may_write_outside_packet(&p));
        same_as_test_run(src, &packets());
    }

    #[test]
    fn plain_programs_stay_in_the_packet() {
        let (_, p) = interp("r0 = 2\nexit");
        assert!(!may_write_outside_packet(&p));
    }

    /// A read-only program: r0 = packet[13] + len (or 1 when shorter than 14 bytes).
    const READER: &str = "r2 = *(u32 *)(r1 + 0)\nr3 = *(u32 *)(r1 + 4)\nr4 = r2\nr4 += 14\n\
                          if r4 > r3 goto +4\nr0 = *(u8 *)(r2 + 13)\nr3 -= r2\nr0 += r3\nexit\n\
                          r0 = 1\nexit";

    #[test]
    fn in_place_runs_equal_copying_runs() {
        let (i, p) = interp(READER);
        assert!(reads_packet_only(&p));
        let mut frame = XdpFrame::new(&[], &p, false);
        assert!(frame.can_run_in_place());
        for pkt in packets() {
            let copied = frame
                .load(&pkt)
                .and_then(|()| frame.run(|r1, m| i.run(&[r1], m)))
                .map(|r| {
                    (
                        r.r0,
                        frame.bytes(r.meta).to_vec(),
                        frame.bytes(r.data).to_vec(),
                    )
                });
            let in_place = frame
                .run_in_place(&pkt, |r1, m| i.run(&[r1], m))
                .map(|r| (r.r0, pkt[r.meta].to_vec(), pkt[r.data].to_vec()));
            assert_eq!(copied, in_place, "packet of {} bytes", pkt.len());
        }
    }

    #[test]
    fn in_place_runs_see_only_the_packet() {
        // Reads the byte after data_end without a bounds check (no verifier would take
        // it): a copying run reads the frame's zero, a run in place traps.
        let (i, p) = interp("r2 = *(u32 *)(r1 + 4)\nr0 = *(u8 *)(r2 + 0)\nexit");
        let mut frame = XdpFrame::new(&[], &p, false);
        let pkt = vec![5u8; 60];
        frame.load(&pkt).unwrap();
        assert_eq!(frame.run(|r1, m| i.run(&[r1], m)).unwrap().r0, 0);
        let got = frame.run_in_place(&pkt, |r1, m| i.run(&[r1], m));
        assert!(matches!(got, Err(TestRunError::Trap(_))), "{got:?}");
    }

    #[test]
    fn map_value_and_stack_stores_keep_a_program_read_only() {
        let src = "r6 = r1\nr1 = 0\n*(u32 *)(r10 - 4) = r1\nr2 = r10\nr2 += -4\n\
                   r1 = 0\ncall 1\nif r0 == 0 goto +4\nr1 = 1\nr3 = r0\nr3 += 8\n\
                   lock *(u64 *)(r3 + 0) += r1\nr0 = 2\nexit";
        let p = Program::from_insns(assemble(src).unwrap());
        let facts = find_context_accesses(&p).unwrap();
        let p = rewrite_context_accesses(&p, ProgType::Xdp, &facts).unwrap();
        assert!(reads_packet_only(&p));
    }

    #[test]
    fn writing_or_unverified_programs_never_run_in_place() {
        let writers = [
            // A store through the packet pointer.
            "r2 = *(u32 *)(r1 + 0)\nr3 = *(u32 *)(r1 + 4)\nr4 = r2\nr4 += 1\n\
             if r4 > r3 goto +2\nr5 = 1\n*(u8 *)(r2 + 0) = r5\nr0 = 2\nexit",
            // bpf_xdp_adjust_head, bpf_xdp_store_bytes, bpf_tail_call.
            "r2 = 4\ncall 44\nr0 = 2\nexit",
            "r2 = 0\nr3 = r10\nr3 += -8\nr4 = 1\ncall 190\nr0 = 2\nexit",
            "r2 = 0\nr3 = 0\ncall 12\nr0 = 2\nexit",
            // A map lookup's result replaced by the packet pointer before the store.
            "r6 = r1\nr2 = r10\nr2 += -8\ncall 1\nr0 = *(u32 *)(r6 + 0)\nr1 = 1\n\
             *(u8 *)(r0 + 0) = r1\nr0 = 2\nexit",
            // The paths joining before the store disagree: one holds the packet pointer.
            "r6 = r1\nr2 = r10\nr2 += -8\ncall 1\nif r0 != 0 goto +1\n\
             r0 = *(u32 *)(r6 + 0)\nr1 = 1\n*(u8 *)(r0 + 0) = r1\nr0 = 2\nexit",
        ];
        let pkt = vec![5u8; 60];
        for src in writers {
            let p = Program::from_insns(assemble(src).unwrap());
            let facts = find_context_accesses(&p).unwrap();
            let p = rewrite_context_accesses(&p, ProgType::Xdp, &facts).unwrap();
            assert!(!reads_packet_only(&p), "{src}");
            let mut frame = XdpFrame::new(&[], &p, false);
            assert!(!frame.can_run_in_place());
            let mut ran = false;
            let got = frame.run_in_place(&pkt, |_, _| {
                ran = true;
                Ok(2)
            });
            assert!(matches!(got, Err(TestRunError::Unsupported(_))), "{got:?}");
            assert!(!ran);
        }
        let (_, p) = interp(READER);
        assert!(!XdpFrame::new(&[], &p, true).can_run_in_place());
    }
}
