//! The packet hook: one program, run on every packet of a stream, in order.
//!
//! Takes a [`PreparedProgram`] of type xdp, sched_cls/sched_act (tc) or socket_filter;
//! gives, for each packet, a [`PacketResult`]: the [`Verdict`], the packet as the program
//! left it, the redirect target. Each packet runs with `BPF_PROG_TEST_RUN` semantics for
//! the type (an XDP frame with 256 bytes of headroom on the loopback device; an skb whose
//! protocol and packet type come from its Ethernet header), and the maps are the program
//! instance's, so their state carries from one packet to the next, as in a real run.
//! [`PacketHook::run_capture`] does this for a capture file and writes the packets that go
//! on (passed or sent back) to a [`CaptureWriter`], with their original timestamps.
//!
//! XDP programs run in one [`XdpFrame`] made with the hook: each packet is copied once into
//! its page after the kernel's headroom, the context is filled in place, and the memory map
//! (frame, context, the instance's map regions) is the frame's, built once.
//! [`PacketHook::run_pcap`] reads records into one reused buffer and counts verdicts in
//! place, so it allocates nothing per packet.
//!
//! A verified XDP program that cannot write its packet or move its bounds
//! ([`PacketHook::runs_in_place`]) skips the copy: [`PacketHook::run_packet`] runs the
//! caller's bytes where they are, and [`PacketHook::run_pcap_bytes`] each record of a
//! classic pcap held in memory, with the record as the only packet memory the run sees.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::time::{Duration, Instant};

use thiserror::Error;
use userbpf_runtime::context::{ProgType, TestRunError, TestRunInput, XdpFrame, XdpRun};
use userbpf_runtime::PreparedProgram;

use super::capture::{
    link_type_name, CaptureError, CaptureReader, CaptureWriter, Packet, LINKTYPE_ETHERNET,
};
use super::engine::{EngineKind, Runner};
use super::pcap::PcapReader;

const ETH_HLEN: usize = 14;

/// Which family of packet program.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PacketProgKind {
    /// `xdp`: verdicts `XDP_*`.
    Xdp,
    /// `tc` (sched_cls, sched_act): verdicts `TC_ACT_*`.
    Tc,
    /// `socket` (socket_filter): the return value is how many bytes to keep.
    Socket,
}

impl PacketProgKind {
    /// The family of a program type, if it runs on packets here.
    pub fn of(prog_type: ProgType) -> Option<PacketProgKind> {
        match prog_type {
            ProgType::Xdp => Some(PacketProgKind::Xdp),
            ProgType::SchedCls | ProgType::SchedAct => Some(PacketProgKind::Tc),
            ProgType::SocketFilter => Some(PacketProgKind::Socket),
            _ => None,
        }
    }

    /// Every verdict name of the family, for summaries.
    pub fn verdict_names(self) -> &'static [&'static str] {
        match self {
            PacketProgKind::Xdp => &[
                "XDP_ABORTED",
                "XDP_DROP",
                "XDP_PASS",
                "XDP_TX",
                "XDP_REDIRECT",
            ],
            PacketProgKind::Tc => &["TC_ACT_OK", "TC_ACT_SHOT", "TC_ACT_REDIRECT"],
            PacketProgKind::Socket => &["ACCEPT", "DROP"],
        }
    }
}

/// What happens to a packet after the program.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fate {
    /// Goes on into the stack (XDP_PASS, TC_ACT_OK, a socket filter keeping bytes).
    Pass,
    /// Goes back out of the interface it came in on (XDP_TX).
    Transmit,
    /// Goes out of another interface (XDP_REDIRECT, TC_ACT_REDIRECT).
    Redirect,
    /// Dropped (XDP_DROP, XDP_ABORTED, TC_ACT_SHOT, a socket filter returning 0), or
    /// consumed by the program (TC_ACT_STOLEN, QUEUED, TRAP).
    Drop,
}

/// The program's decision on one packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// An XDP action (`retval`; values above 4 act as `XDP_ABORTED`, as the kernel's
    /// `bpf_warn_invalid_xdp_action` path drops them).
    Xdp(u32),
    /// A tc action (`TC_ACT_*`, signed).
    Tc(i32),
    /// A socket filter: bytes of the packet to keep (0 drops it).
    Socket(u32),
    /// The program stopped on a fault the checked interpreter caught (the kernel's
    /// verifier would have refused such a program); the packet is dropped.
    Trap,
    /// The packet never reached the program: the kernel refuses it too (shorter than an
    /// Ethernet header, an skb without a whole IP header) or user space cannot model it
    /// (larger than one page).
    NotRun,
}

impl Verdict {
    /// The kernel's name of the verdict (`XDP_PASS`, `TC_ACT_SHOT`, `ACCEPT`...).
    pub fn name(self, kind: PacketProgKind) -> String {
        match self {
            Verdict::Xdp(a) => match a {
                1 => "XDP_DROP",
                2 => "XDP_PASS",
                3 => "XDP_TX",
                4 => "XDP_REDIRECT",
                _ => "XDP_ABORTED",
            }
            .to_string(),
            Verdict::Tc(a) => match a {
                -1 => "TC_ACT_UNSPEC".to_string(),
                0 => "TC_ACT_OK".to_string(),
                1 => "TC_ACT_RECLASSIFY".to_string(),
                2 => "TC_ACT_SHOT".to_string(),
                3 => "TC_ACT_PIPE".to_string(),
                4 => "TC_ACT_STOLEN".to_string(),
                5 => "TC_ACT_QUEUED".to_string(),
                6 => "TC_ACT_REPEAT".to_string(),
                7 => "TC_ACT_REDIRECT".to_string(),
                8 => "TC_ACT_TRAP".to_string(),
                n => format!("TC_ACT({n})"),
            },
            Verdict::Socket(0) => "DROP".to_string(),
            Verdict::Socket(_) => "ACCEPT".to_string(),
            Verdict::Trap => match kind {
                PacketProgKind::Xdp => "XDP_ABORTED",
                PacketProgKind::Tc => "TC_ACT_SHOT",
                PacketProgKind::Socket => "DROP",
            }
            .to_string(),
            Verdict::NotRun => "NOT_RUN".to_string(),
        }
    }

    /// [`name`](Self::name) without allocating, for the verdicts the summaries count
    /// (None for unusual tc actions).
    pub fn static_name(self, kind: PacketProgKind) -> Option<&'static str> {
        Some(match self {
            Verdict::Xdp(a) => match a {
                1 => "XDP_DROP",
                2 => "XDP_PASS",
                3 => "XDP_TX",
                4 => "XDP_REDIRECT",
                _ => "XDP_ABORTED",
            },
            Verdict::Tc(0) => "TC_ACT_OK",
            Verdict::Tc(2) => "TC_ACT_SHOT",
            Verdict::Tc(7) => "TC_ACT_REDIRECT",
            Verdict::Tc(_) => return None,
            Verdict::Socket(0) => "DROP",
            Verdict::Socket(_) => "ACCEPT",
            Verdict::Trap => match kind {
                PacketProgKind::Xdp => "XDP_ABORTED",
                PacketProgKind::Tc => "TC_ACT_SHOT",
                PacketProgKind::Socket => "DROP",
            },
            Verdict::NotRun => "NOT_RUN",
        })
    }

    /// What becomes of the packet.
    pub fn fate(self) -> Fate {
        match self {
            Verdict::Xdp(2) => Fate::Pass,
            Verdict::Xdp(3) => Fate::Transmit,
            Verdict::Xdp(4) => Fate::Redirect,
            Verdict::Xdp(_) => Fate::Drop,
            Verdict::Tc(2 | 4 | 5 | 8) => Fate::Drop,
            Verdict::Tc(7) => Fate::Redirect,
            Verdict::Tc(_) => Fate::Pass,
            Verdict::Socket(0) => Fate::Drop,
            Verdict::Socket(_) => Fate::Pass,
            Verdict::Trap | Verdict::NotRun => Fate::Drop,
        }
    }
}

/// The outcome of one packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PacketResult {
    /// Position of the packet in the stream, from 0.
    pub index: u64,
    /// The program's decision.
    pub verdict: Verdict,
    /// The return value as the kernel reports it (low 32 bits of r0).
    pub retval: u32,
    /// The packet as the program left it: without XDP metadata; for socket filters, the
    /// Ethernet header and the bytes kept.
    pub data: Vec<u8>,
    /// XDP metadata the program left before the packet (`bpf_xdp_adjust_meta`).
    pub meta: Vec<u8>,
    /// Target interface of a redirect.
    pub redirect_ifindex: Option<u32>,
    /// Why the packet was not run, or the trap.
    pub error: Option<String>,
    /// Time the run took (zero for XDP programs in [`PacketHook::run_capture`], which
    /// times its whole loop instead).
    pub duration: Duration,
}

impl Default for PacketResult {
    /// An empty result (packet 0, not run), to be filled by
    /// [`PacketHook::run_packet_into`].
    fn default() -> PacketResult {
        PacketResult {
            index: 0,
            verdict: Verdict::NotRun,
            retval: 0,
            data: Vec::new(),
            meta: Vec::new(),
            redirect_ifindex: None,
            error: None,
            duration: Duration::ZERO,
        }
    }
}

/// Counts of a run over a stream.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Packets read.
    pub packets: u64,
    /// Packets per verdict name (NOT_RUN for packets the program never saw).
    pub verdicts: BTreeMap<String, u64>,
    /// Packets that trapped.
    pub traps: u64,
    /// The first packet that trapped: its index and the trap.
    pub first_trap: Option<(u64, String)>,
    /// Packets written to the output.
    pub written: u64,
    /// Bytes read.
    pub bytes_in: u64,
    /// Bytes written.
    pub bytes_out: u64,
    /// Frames that could not be sent (live mode).
    pub send_errors: u64,
    /// Time spent on the packets: for [`PacketHook::run_pcap`] and
    /// [`PacketHook::run_capture`], the whole loop (reading the capture, set-up, runs,
    /// counting, writing, and `run_capture`'s callback); for live mode, the sum of each
    /// packet's set-up and run (the loop also waits for packets).
    pub run_time: Duration,
}

impl Summary {
    /// Count the verdict of `r`, a result of a program of family `kind`, and its trap
    /// (keeping the first).
    pub(crate) fn count_result(&mut self, kind: PacketProgKind, r: &PacketResult) {
        if r.verdict == Verdict::Trap {
            self.traps += 1;
            if self.first_trap.is_none() {
                let why = r.error.clone().unwrap_or_default();
                self.first_trap = Some((r.index, why));
            }
        }
        match r
            .verdict
            .static_name(kind)
            .and_then(|n| self.verdicts.get_mut(n))
        {
            Some(c) => *c += 1,
            None => *self.verdicts.entry(r.verdict.name(kind)).or_insert(0) += 1,
        }
    }

    /// Packets per second of [`run_time`](Self::run_time).
    pub fn packets_per_second(&self) -> f64 {
        let s = self.run_time.as_secs_f64();
        if s > 0.0 {
            self.packets as f64 / s
        } else {
            0.0
        }
    }
}

/// Why a packet stream could not be run.
#[derive(Debug, Error)]
pub enum HookError {
    /// The program's type does not run on packets.
    #[error(
        "program {program} has type {prog_type}; packet hooks run xdp, tc (sched_cls, \
         sched_act) and socket_filter programs"
    )]
    ProgType {
        /// The program.
        program: String,
        /// Its type, as the section names it.
        prog_type: String,
    },
    /// The capture file is malformed.
    #[error(transparent)]
    Capture(#[from] CaptureError),
    /// A packet of a link type other than Ethernet.
    #[error(
        "record {record} at offset {offset}: interface {interface} has link type {link_type} \
         ({name}); only Ethernet (1) is supported"
    )]
    LinkType {
        /// Record index.
        record: u64,
        /// Record offset.
        offset: u64,
        /// Interface id.
        interface: u32,
        /// Its link type.
        link_type: u32,
        /// The link type's name.
        name: &'static str,
    },
    /// Live capture failed.
    #[error("live capture: {0}")]
    Live(String),
    /// Writing the output failed.
    #[error("writing the output: {0}")]
    Write(#[from] std::io::Error),
}

/// Runs one packet program on packet after packet.
#[derive(Debug)]
pub struct PacketHook {
    runner: Runner,
    prog_type: ProgType,
    kind: PacketProgKind,
    next_index: u64,
    /// The frame XDP programs run in (None for tc and socket programs).
    xdp: Option<XdpFrame>,
    /// Whether XDP packets run where they are instead of in the frame (see
    /// [`PacketHook::runs_in_place`]).
    in_place: bool,
}

/// Give `frame` the map regions of `prepared` when their count no longer matches the
/// frame's (maps the program gained after the frame was built).
#[inline]
fn sync_map_regions(prepared: &PreparedProgram, frame: &mut XdpFrame) {
    if prepared.map_count() != frame.map_region_count() {
        // SAFETY: the prepared program holds the instance's maps, whose storage lives as
        // long as they do, for at least as long as the hook (and its frame) exists.
        unsafe { frame.set_map_regions(&prepared.map_regions()) };
    }
}

/// Run `data` through the XDP program of `runner` in `frame`.
#[inline]
fn run_xdp(runner: &Runner, frame: &mut XdpFrame, data: &[u8]) -> Result<XdpRun, TestRunError> {
    sync_map_regions(runner.prepared(), frame);
    frame.load(data)?;
    run_loaded(runner, frame)
}

/// Run the packet loaded in `frame` through the XDP program of `runner`.
#[inline]
fn run_loaded(runner: &Runner, frame: &mut XdpFrame) -> Result<XdpRun, TestRunError> {
    match runner {
        Runner::Interp { program, .. } => frame.run(|r1, memory| program.run_in(&[r1], memory)),
        Runner::Jit(j) => frame.run(|r1, memory| j.run_in(&[r1], memory)),
    }
}

/// Run `packet` where it is through the XDP program of `runner` (see
/// [`XdpFrame::run_in_place`]).
#[inline]
fn run_in_place(
    runner: &Runner,
    frame: &mut XdpFrame,
    packet: &[u8],
) -> Result<XdpRun, TestRunError> {
    sync_map_regions(runner.prepared(), frame);
    match runner {
        Runner::Interp { program, .. } => {
            frame.run_in_place(packet, |r1, memory| program.run_in(&[r1], memory))
        }
        Runner::Jit(j) => frame.run_in_place(packet, |r1, memory| j.run_in(&[r1], memory)),
    }
}

/// Verdict counts of an XDP run: actions 0..=4 (values above 4 count as XDP_ABORTED),
/// traps (counted as XDP_ABORTED too), packets not run.
#[derive(Default)]
struct XdpCounts {
    actions: [u64; 5],
    traps: u64,
    not_run: u64,
}

impl XdpCounts {
    /// Count the outcome of packet `index`'s run, keeping the first trap in `first_trap`;
    /// gives the run when the program returned.
    #[inline]
    fn count(
        &mut self,
        out: Result<XdpRun, TestRunError>,
        index: u64,
        first_trap: &mut Option<(u64, String)>,
    ) -> Option<XdpRun> {
        match out {
            Ok(run) => {
                let action = run.retval();
                self.actions[if action <= 4 { action as usize } else { 0 }] += 1;
                Some(run)
            }
            Err(TestRunError::Trap(t)) => {
                self.traps += 1;
                if first_trap.is_none() {
                    *first_trap = Some((index, t.to_string()));
                }
                None
            }
            Err(_) => {
                self.not_run += 1;
                None
            }
        }
    }

    fn into_summary(self, summary: &mut Summary) {
        let names = PacketProgKind::Xdp.verdict_names();
        for (i, name) in names.iter().enumerate() {
            let extra = if i == 0 { self.traps } else { 0 };
            *summary.verdicts.entry((*name).to_string()).or_insert(0) += self.actions[i] + extra;
        }
        summary.traps += self.traps;
        if self.not_run > 0 {
            *summary.verdicts.entry("NOT_RUN".to_string()).or_insert(0) += self.not_run;
        }
    }
}

impl PacketHook {
    /// A hook running `prepared` (xdp, tc or socket_filter) in the checked interpreter.
    ///
    /// # Errors
    /// [`HookError::ProgType`] for other program types.
    pub fn new(prepared: PreparedProgram) -> Result<PacketHook, HookError> {
        PacketHook::with_runner(Runner::unverified(prepared))
    }

    /// A hook running a program in the engine `runner` holds (see
    /// [`engine`](super::engine): the JIT over a verified program, or the interpreter).
    ///
    /// # Errors
    /// [`HookError::ProgType`] for program types other than xdp, tc and socket_filter.
    pub fn with_runner(runner: Runner) -> Result<PacketHook, HookError> {
        let prepared = runner.prepared();
        let prog_type = prepared.context().map(|(t, _)| t);
        let Some((prog_type, kind)) = prog_type.and_then(|t| PacketProgKind::of(t).map(|k| (t, k)))
        else {
            return Err(HookError::ProgType {
                program: prepared.name().to_string(),
                prog_type: prog_type
                    .map_or_else(|| prepared.spec().prog_type.to_string(), |t| t.to_string()),
            });
        };
        let xdp = (kind == PacketProgKind::Xdp).then(|| {
            // An unverified program (the checked interpreter's opt-out) may read and write
            // anywhere in the frame: every packet then clears the whole frame. A verified
            // one, in either engine, touches only the packet it is given (the verifier
            // bounds every packet access by data_end) unless it moves the packet pointers
            // or reaches other code (`XdpFrame` finds those calls): the bytes it can
            // observe are the packet's, as in the kernel's fresh test-run frame.
            let unverified = matches!(
                runner,
                Runner::Interp {
                    verified: false,
                    ..
                }
            );
            XdpFrame::new(&prepared.map_regions(), prepared.program(), unverified)
        });
        let in_place = xdp.as_ref().is_some_and(XdpFrame::can_run_in_place);
        Ok(PacketHook {
            runner,
            prog_type,
            kind,
            next_index: 0,
            xdp,
            in_place,
        })
    }

    /// The program's type.
    pub fn prog_type(&self) -> ProgType {
        self.prog_type
    }

    /// The program's family.
    pub fn kind(&self) -> PacketProgKind {
        self.kind
    }

    /// The program.
    pub fn program(&self) -> &PreparedProgram {
        self.runner.prepared()
    }

    /// The program in its engine.
    pub fn runner(&self) -> &Runner {
        &self.runner
    }

    /// The engine running the program.
    pub fn engine(&self) -> EngineKind {
        self.runner.kind()
    }

    /// Run the program on one Ethernet frame (the next in the stream).
    pub fn run_packet(&mut self, frame: &[u8]) -> PacketResult {
        let mut result = PacketResult::default();
        self.run_packet_into(frame, &mut result);
        result
    }

    /// [`run_packet`](Self::run_packet) into `result`, reusing its buffers.
    pub fn run_packet_into(&mut self, frame: &[u8], result: &mut PacketResult) {
        self.run_packet_timed(frame, result, true);
    }

    /// [`run_packet_into`](Self::run_packet_into); an XDP run is timed only when `timed`
    /// (else its duration is zero: [`run_capture`](Self::run_capture) times its whole
    /// loop instead of each packet).
    #[inline]
    fn run_packet_timed(&mut self, frame: &[u8], result: &mut PacketResult, timed: bool) {
        result.index = self.next_index;
        result.verdict = Verdict::NotRun;
        result.retval = 0;
        result.data.clear();
        result.meta.clear();
        result.redirect_ifindex = None;
        result.error = None;
        result.duration = Duration::ZERO;
        if let Some(xdp) = self.xdp.as_mut() {
            self.next_index += 1;
            let start = timed.then(Instant::now);
            let out = if self.in_place {
                run_in_place(&self.runner, xdp, frame)
            } else {
                run_xdp(&self.runner, xdp, frame)
            };
            if let Some(start) = start {
                result.duration = start.elapsed();
            }
            match out {
                Ok(run) => {
                    result.retval = run.retval();
                    result.verdict = Verdict::Xdp(run.retval());
                    let (meta, data) = if self.in_place {
                        (&frame[run.meta], &frame[run.data])
                    } else {
                        (xdp.bytes(run.meta), xdp.bytes(run.data))
                    };
                    result.meta.extend_from_slice(meta);
                    result.data.extend_from_slice(data);
                    if result.verdict.fate() == Fate::Redirect {
                        result.redirect_ifindex = run.redirect.map(|r| r.ifindex);
                    }
                }
                Err(e) => {
                    result.data.extend_from_slice(frame);
                    if let TestRunError::Trap(t) = e {
                        result.verdict = Verdict::Trap;
                        result.error = Some(t.to_string());
                    } else {
                        result.error = Some(e.to_string());
                    }
                }
            }
            return;
        }
        *result = self.run_packet_test_run(frame);
    }

    /// A tc or socket program on one frame, through the runtime's test run.
    fn run_packet_test_run(&mut self, frame: &[u8]) -> PacketResult {
        let index = self.next_index;
        self.next_index += 1;
        let start = Instant::now();
        let out = self.runner.test_run(&TestRunInput {
            data_in: frame,
            ctx_in: None,
            repeat: 1,
        });
        let mut result = PacketResult {
            index,
            verdict: Verdict::NotRun,
            retval: 0,
            data: Vec::new(),
            meta: Vec::new(),
            redirect_ifindex: None,
            error: None,
            duration: Duration::ZERO,
        };
        let out = match out {
            Ok(out) => out,
            Err(e) => {
                result.duration = start.elapsed();
                result.data = frame.to_vec();
                if let TestRunError::Trap(t) = e {
                    result.verdict = Verdict::Trap;
                    result.error = Some(t.to_string());
                } else {
                    result.error = Some(e.to_string());
                }
                return result;
            }
        };
        // The test run measured the program's run; set-up is what the kernel does too.
        result.duration = out.duration;
        result.retval = out.retval;
        match self.kind {
            PacketProgKind::Xdp => {
                let meta_len = (u32::from_ne_bytes([
                    out.ctx_out[0],
                    out.ctx_out[1],
                    out.ctx_out[2],
                    out.ctx_out[3],
                ]) as usize)
                    .min(out.data_out.len());
                let mut data = out.data_out;
                if meta_len > 0 {
                    result.meta = data.drain(..meta_len).collect();
                }
                result.data = data;
                result.verdict = Verdict::Xdp(out.retval);
            }
            PacketProgKind::Tc => {
                result.data = out.data_out;
                result.verdict = Verdict::Tc(out.retval as i32);
            }
            PacketProgKind::Socket => {
                let keep = (out.retval as usize).min(frame.len().saturating_sub(ETH_HLEN));
                result.data = frame[..(ETH_HLEN + keep).min(frame.len())].to_vec();
                result.verdict = Verdict::Socket(out.retval);
            }
        }
        if result.verdict.fate() == Fate::Redirect {
            result.redirect_ifindex = out.redirect.map(|r| r.ifindex);
        }
        result
    }

    /// Run every packet of `reader` in order; write the packets that pass or are sent
    /// back, as the program left them, to `writer` with their original timestamps.
    ///
    /// XDP programs take the tight path: one reused record buffer, the hook's frame, verdicts
    /// counted in place, no allocation per packet; [`Summary::run_time`] is the whole loop.
    ///
    /// # Errors
    /// A malformed capture (naming the record), a link type other than Ethernet, or a
    /// write failure. Packets already run keep their effects on the maps.
    pub fn run_pcap<R: Read, W: Write>(
        &mut self,
        mut reader: CaptureReader<R>,
        mut writer: Option<&mut CaptureWriter<W>>,
    ) -> Result<Summary, HookError> {
        let Some(xdp) = self.xdp.as_mut() else {
            return self.run_capture(reader, writer, |_, _| {});
        };
        let start = Instant::now();
        let mut summary = Summary::default();
        let mut counts = XdpCounts::default();
        let mut packet = empty_packet();
        let prepared = self.runner.prepared();
        let result = loop {
            sync_map_regions(prepared, xdp);
            // The record's bytes go straight into the frame, unless the kernel would not
            // run the packet (then into `packet.data`, and `loaded` says why).
            let mut loaded = Ok(());
            let next = reader.next_packet_to(&mut packet, |n| match xdp.prepare(n) {
                Ok(buf) => Some(buf),
                Err(e) => {
                    loaded = Err(e);
                    None
                }
            });
            let caplen = match next {
                Ok(Some(n)) => n,
                Ok(None) => break Ok(()),
                Err(e) => break Err(e.into()),
            };
            if let Err(e) = check_link_type(&packet) {
                break Err(e);
            }
            self.next_index += 1;
            summary.packets += 1;
            summary.bytes_in += caplen as u64;
            if loaded.is_err() {
                counts.not_run += 1;
                continue;
            }
            let out = run_loaded(&self.runner, xdp);
            let Some(run) = counts.count(out, self.next_index - 1, &mut summary.first_trap) else {
                continue;
            };
            if matches!(
                Verdict::Xdp(run.retval()).fate(),
                Fate::Pass | Fate::Transmit
            ) {
                if let Some(w) = writer.as_deref_mut() {
                    let data = xdp.bytes(run.data);
                    if let Err(e) = write_out(w, &packet, caplen, data) {
                        break Err(e);
                    }
                    summary.written += 1;
                    summary.bytes_out += data.len() as u64;
                }
            }
        };
        counts.into_summary(&mut summary);
        summary.run_time = start.elapsed();
        result.map(|()| summary)
    }

    /// Whether [`run_pcap_bytes`](Self::run_pcap_bytes) runs packets where they are in the
    /// capture: an XDP program, verified (not the `--unverified` opt-out), that cannot
    /// write its packet or move its bounds (see
    /// [`reads_packet_only`](userbpf_runtime::context::reads_packet_only)).
    /// [`run_packet`](Self::run_packet) and its kin then run the caller's bytes where they
    /// are too (copying only the result's data out).
    pub fn runs_in_place(&self) -> bool {
        self.in_place
    }

    /// Run packets in place when `on` and the program allows it (see
    /// [`runs_in_place`](Self::runs_in_place)), else copy each into the frame, as the
    /// hook does for any program; gives whether packets now run in place. Both give the
    /// same results: turning it off is for comparing and measuring the two.
    pub fn set_in_place(&mut self, on: bool) -> bool {
        self.in_place = on && self.xdp.as_ref().is_some_and(XdpFrame::can_run_in_place);
        self.in_place
    }

    /// [`run_pcap`](Self::run_pcap) over a capture held in memory. When no output is
    /// written, the capture is classic pcap and the program [`runs_in_place`]
    /// (Self::runs_in_place), each record runs where it is in `bytes`: the program sees
    /// exactly the record (data at its first byte, data_end at its end, no metadata, no
    /// headroom) and nothing is copied. Verdicts and map effects are those of
    /// [`run_pcap`](Self::run_pcap), which runs every other case.
    ///
    /// # Errors
    /// As [`run_pcap`](Self::run_pcap).
    pub fn run_pcap_bytes<W: Write>(
        &mut self,
        bytes: &[u8],
        writer: Option<&mut CaptureWriter<W>>,
    ) -> Result<Summary, HookError> {
        let reader = CaptureReader::new(bytes)?;
        let in_place = writer.is_none() && self.in_place;
        match reader {
            CaptureReader::Pcap(pcap) if in_place => self.run_pcap_in_place(pcap),
            reader => self.run_pcap(reader, writer),
        }
    }

    /// The loop of [`run_pcap`](Self::run_pcap) with each record run in place.
    fn run_pcap_in_place(&mut self, mut reader: PcapReader<&[u8]>) -> Result<Summary, HookError> {
        let start = Instant::now();
        let mut summary = Summary::default();
        let mut counts = XdpCounts::default();
        let mut packet = empty_packet();
        if let Some(xdp) = self.xdp.as_mut() {
            let prepared = self.runner.prepared();
            let result = loop {
                sync_map_regions(prepared, xdp);
                let bytes = match reader.next_packet_borrowed(&mut packet) {
                    Ok(Some(bytes)) => bytes,
                    Ok(None) => break Ok(()),
                    Err(e) => break Err(e.into()),
                };
                if let Err(e) = check_link_type(&packet) {
                    break Err(e);
                }
                self.next_index += 1;
                summary.packets += 1;
                summary.bytes_in += bytes.len() as u64;
                let out = run_in_place(&self.runner, xdp, bytes);
                counts.count(out, self.next_index - 1, &mut summary.first_trap);
            };
            result?;
        }
        counts.into_summary(&mut summary);
        summary.run_time = start.elapsed();
        Ok(summary)
    }

    /// [`run_pcap`](Self::run_pcap), calling `each` with every packet and its result (one
    /// result reused from packet to packet; XDP runs are not timed one by one, see
    /// [`PacketResult::duration`]).
    ///
    /// # Errors
    /// As [`run_pcap`](Self::run_pcap).
    pub fn run_capture<R: Read, W: Write>(
        &mut self,
        mut reader: CaptureReader<R>,
        mut writer: Option<&mut CaptureWriter<W>>,
        mut each: impl FnMut(&Packet, &PacketResult),
    ) -> Result<Summary, HookError> {
        let start = Instant::now();
        let mut summary = Summary::default();
        for name in self.kind.verdict_names() {
            summary.verdicts.insert((*name).to_string(), 0);
        }
        let mut packet = empty_packet();
        let mut result = PacketResult::default();
        while reader.next_packet_into(&mut packet)? {
            check_link_type(&packet)?;
            self.run_packet_timed(&packet.data, &mut result, false);
            summary.packets += 1;
            summary.bytes_in += packet.data.len() as u64;
            summary.count_result(self.kind, &result);
            if matches!(result.verdict.fate(), Fate::Pass | Fate::Transmit) {
                if let Some(w) = writer.as_deref_mut() {
                    write_out(w, &packet, packet.data.len(), &result.data)?;
                    summary.written += 1;
                    summary.bytes_out += result.data.len() as u64;
                }
            }
            each(&packet, &result);
        }
        summary.run_time = start.elapsed();
        Ok(summary)
    }
}

/// A packet record to read into.
fn empty_packet() -> Packet {
    Packet {
        timestamp: Default::default(),
        data: Vec::new(),
        orig_len: 0,
        interface: 0,
        link_type: LINKTYPE_ETHERNET,
        record: 0,
        offset: 0,
    }
}

/// Refuse records of link types other than Ethernet.
#[inline]
fn check_link_type(packet: &Packet) -> Result<(), HookError> {
    if packet.link_type == LINKTYPE_ETHERNET {
        return Ok(());
    }
    Err(HookError::LinkType {
        record: packet.record,
        offset: packet.offset,
        interface: packet.interface,
        link_type: packet.link_type,
        name: link_type_name(packet.link_type),
    })
}

/// Write `data`, the packet as the program left `packet` (captured `caplen` bytes long),
/// with the record's timestamp.
fn write_out<W: Write>(
    w: &mut CaptureWriter<W>,
    packet: &Packet,
    caplen: usize,
    data: &[u8],
) -> Result<(), HookError> {
    // The wire length grows or shrinks with the program's changes; a packet captured short
    // stays short by as much.
    let missing = packet.orig_len.saturating_sub(caplen as u32);
    let orig = (data.len() as u32).saturating_add(missing);
    w.write(
        packet.timestamp,
        data,
        orig,
        packet.interface,
        packet.link_type,
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::process::Command;

    use userbpf_object::Object;
    use userbpf_runtime::instance::{LoadOptions, ObjectInstance};

    use super::*;

    /// Reads and then writes the bytes 8 before the packet and 8 after it, which only the
    /// checked interpreter's opt-out lets run (the verifier refuses it): it gives XDP_PASS
    /// only when both read as zero, as in the kernel's fresh frame.
    const PEEK: &str = r#"
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
SEC("xdp")
int xdp_peek(struct xdp_md *ctx)
{
	volatile unsigned char *p = (void *)(long)ctx->data - 8;
	volatile unsigned char *q = (void *)(long)ctx->data_end + 8;
	unsigned char seen = *p | *q;
	*p = 0x77;
	*q = 0x66;
	return seen ? 100 + seen : XDP_PASS;
}
char LICENSE[] SEC("license") = "GPL";
"#;

    fn compile(src: &str) -> Option<Vec<u8>> {
        let dir = std::env::temp_dir();
        let c = dir.join(format!("userbpf-hook-peek-{}.c", std::process::id()));
        let o = c.with_extension("o");
        std::fs::write(&c, src).ok()?;
        let status = Command::new("clang-19")
            .args(["-g", "-O2", "-target", "bpf", "-mcpu=v3"])
            .args(["-I/usr/include/x86_64-linux-gnu", "-c"])
            .arg(&c)
            .arg("-o")
            .arg(&o)
            .status()
            .ok()?;
        let bytes = status.success().then(|| std::fs::read(&o).ok()).flatten();
        let _ = std::fs::remove_file(&c);
        let _ = std::fs::remove_file(&o);
        bytes
    }

    /// An unverified program's writes outside its packet are gone before the next packet,
    /// whatever the lengths.
    #[test]
    fn unverified_runs_see_a_clean_frame() {
        let Some(bytes) = compile(PEEK) else {
            println!("skipped: clang-19 not found");
            return;
        };
        let object = Object::parse(&bytes).unwrap();
        assert!(
            super::super::engine::verify_for_jit(&object, "xdp_peek").is_err(),
            "the verifier must refuse the peek"
        );
        let instance = ObjectInstance::load(&object, &LoadOptions::default()).unwrap();
        let mut hook = PacketHook::new(instance.program("xdp_peek").unwrap()).unwrap();
        for len in [60, 40, 100, 100, 14, 60] {
            let r = hook.run_packet(&vec![0x11; len]);
            assert_eq!(r.verdict, Verdict::Xdp(2), "packet of {len} bytes: {r:?}");
        }
    }
}
