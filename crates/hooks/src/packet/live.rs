//! Live packets: an AF_PACKET socket with a TPACKET_V3 memory-mapped receive ring.
//!
//! Takes interface names; gives [`PacketSocket`] (frames received on one interface, read
//! from the ring the kernel fills, without a copy per `recv`) and [`run_live`], which runs a
//! [`PacketHook`] on every received frame and applies the verdict:
//!
//! - `XDP_TX`: the frame, as the program left it, is sent back out of the interface;
//! - `XDP_REDIRECT` / `TC_ACT_REDIRECT`: sent out of the target interface (`bpf_redirect`
//!   or a devmap entry's ifindex);
//! - pass (`XDP_PASS`, `TC_ACT_OK`, a socket filter keeping bytes): in bridge mode
//!   (`peer`), forwarded to the other interface; otherwise left to the kernel;
//! - drop: not forwarded.
//!
//! What user space cannot do, stated plainly: a packet socket receives a *copy* of each
//! frame after the driver has handed it to the kernel. The kernel's own stack still gets
//! the original whatever the program decides, so on a plain interface `XDP_DROP` drops
//! nothing and the program cannot stop or rewrite what the host receives; it only decides
//! what userbpf itself sends (`XDP_TX`, redirects). Verdicts become real in bridge mode,
//! where the two interfaces carry no addresses of their own and userbpf is the only path
//! between them: only what the program passes reaches the other side. Other differences:
//! no zero-copy (each frame is copied into the program's frame, as `BPF_PROG_TEST_RUN`
//! does), `xdp_md.ingress_ifindex` is the loopback device as in a test run, frames larger
//! than one page are not run, and the rate is bounded by the packet socket, not a driver.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::{Duration, Instant};

use super::capture::Timestamp;
use super::hook::{Fate, HookError, PacketHook, PacketResult, Summary};

const BLOCK_SIZE: usize = 1 << 18;
const BLOCK_COUNT: usize = 16;
const FRAME_SIZE: usize = 1 << 11;
/// `TP_STATUS_USER` in a block's status: the block belongs to user space.
const TP_STATUS_USER: u32 = 1;
const TP_STATUS_KERNEL: u32 = 0;
/// `TP_STATUS_CSUMNOTREADY` in a frame's status.
const TP_STATUS_CSUMNOTREADY: u32 = 1 << 3;
// Offsets in `struct tpacket_block_desc` (version, offset_to_priv, then tpacket_hdr_v1).
const BLOCK_STATUS: usize = 8;
const BLOCK_NUM_PKTS: usize = 12;
const BLOCK_FIRST_PKT: usize = 16;

fn last_error(what: &str) -> io::Error {
    let e = io::Error::last_os_error();
    io::Error::new(e.kind(), format!("{what}: {e}"))
}

/// The index of interface `name`.
///
/// # Errors
/// No such interface.
pub fn ifindex_of(name: &str) -> io::Result<u32> {
    let c = std::ffi::CString::new(name)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "interface name with NUL"))?;
    // SAFETY: `c` is a valid NUL-terminated string for the duration of the call.
    let idx = unsafe { libc::if_nametoindex(c.as_ptr()) };
    if idx == 0 {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("no interface named {name}"),
        ));
    }
    Ok(idx)
}

fn setsockopt<T>(fd: &OwnedFd, level: i32, name: i32, value: &T, what: &str) -> io::Result<()> {
    // SAFETY: `value` points to a live `T` of the size passed.
    let r = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (value as *const T).cast(),
            std::mem::size_of::<T>() as libc::socklen_t,
        )
    };
    if r != 0 {
        return Err(last_error(what));
    }
    Ok(())
}

/// An AF_PACKET socket receiving every frame of one interface into a TPACKET_V3 ring, and
/// sending frames out of any interface.
pub struct PacketSocket {
    fd: OwnedFd,
    ring: *mut u8,
    ring_len: usize,
    current: usize,
    ifindex: u32,
}

// SAFETY: the ring is a private mapping owned by this value; access goes through &mut self.
unsafe impl Send for PacketSocket {}

impl std::fmt::Debug for PacketSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PacketSocket")
            .field("ifindex", &self.ifindex)
            .finish()
    }
}

impl PacketSocket {
    /// Open a packet socket on interface `name`: promiscuous, ignoring frames this host
    /// sends, with a receive ring of 16 blocks of 256 KiB.
    ///
    /// # Errors
    /// No such interface, or no CAP_NET_RAW.
    pub fn open(name: &str) -> io::Result<PacketSocket> {
        let ifindex = ifindex_of(name)?;
        let proto = (libc::ETH_P_ALL as u16).to_be();
        // SAFETY: plain socket(2) call.
        let raw = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW, i32::from(proto)) };
        if raw < 0 {
            return Err(last_error("socket(AF_PACKET)"));
        }
        // SAFETY: `raw` is a fresh descriptor we own.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let version: i32 = 2; // TPACKET_V3 (enum tpacket_versions)
        setsockopt(
            &fd,
            libc::SOL_PACKET,
            libc::PACKET_VERSION,
            &version,
            "PACKET_VERSION",
        )?;
        let one: i32 = 1;
        setsockopt(
            &fd,
            libc::SOL_PACKET,
            libc::PACKET_IGNORE_OUTGOING,
            &one,
            "PACKET_IGNORE_OUTGOING",
        )?;
        let req = libc::tpacket_req3 {
            tp_block_size: BLOCK_SIZE as u32,
            tp_block_nr: BLOCK_COUNT as u32,
            tp_frame_size: FRAME_SIZE as u32,
            tp_frame_nr: (BLOCK_SIZE * BLOCK_COUNT / FRAME_SIZE) as u32,
            tp_retire_blk_tov: 5,
            tp_sizeof_priv: 0,
            tp_feature_req_word: 0,
        };
        setsockopt(
            &fd,
            libc::SOL_PACKET,
            libc::PACKET_RX_RING,
            &req,
            "PACKET_RX_RING",
        )?;
        let ring_len = BLOCK_SIZE * BLOCK_COUNT;
        // SAFETY: maps the ring the kernel set up for this socket; checked below.
        let ring = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                ring_len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_LOCKED,
                fd.as_raw_fd(),
                0,
            )
        };
        if ring == libc::MAP_FAILED {
            return Err(last_error("mmap(PACKET_RX_RING)"));
        }
        let sock = PacketSocket {
            fd,
            ring: ring.cast(),
            ring_len,
            current: 0,
            ifindex,
        };
        // SAFETY: sockaddr_ll is plain data; zero is a valid initial value.
        let mut addr: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        addr.sll_family = libc::AF_PACKET as u16;
        addr.sll_protocol = proto;
        addr.sll_ifindex = ifindex as i32;
        // SAFETY: `addr` is a valid sockaddr_ll of the size passed.
        let r = unsafe {
            libc::bind(
                sock.fd.as_raw_fd(),
                (&addr as *const libc::sockaddr_ll).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        if r != 0 {
            return Err(last_error("bind(AF_PACKET)"));
        }
        let mreq = libc::packet_mreq {
            mr_ifindex: ifindex as i32,
            mr_type: libc::PACKET_MR_PROMISC as u16,
            mr_alen: 0,
            mr_address: [0; 8],
        };
        setsockopt(
            &sock.fd,
            libc::SOL_PACKET,
            libc::PACKET_ADD_MEMBERSHIP,
            &mreq,
            "PACKET_ADD_MEMBERSHIP",
        )?;
        Ok(sock)
    }

    /// The interface's index.
    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    /// The socket's descriptor (for poll).
    pub fn raw_fd(&self) -> i32 {
        self.fd.as_raw_fd()
    }

    fn block_status(&self, block: usize) -> &AtomicU32 {
        let off = block * BLOCK_SIZE + BLOCK_STATUS;
        debug_assert!(off + 4 <= self.ring_len);
        // SAFETY: in bounds of the mapping, 4-byte aligned (blocks are page aligned); the
        // kernel and this process share the word, so it is accessed atomically.
        unsafe { &*(self.ring.add(off) as *const AtomicU32) }
    }

    fn read_u32(&self, off: usize) -> u32 {
        if off + 4 > self.ring_len {
            return 0;
        }
        // SAFETY: in bounds of the mapping (checked above); unaligned read of plain data
        // in a block the kernel handed over (status TP_STATUS_USER read with Acquire).
        unsafe { std::ptr::read_unaligned(self.ring.add(off) as *const u32) }
    }

    fn read_u16(&self, off: usize) -> u16 {
        if off + 2 > self.ring_len {
            return 0;
        }
        // SAFETY: as read_u32.
        unsafe { std::ptr::read_unaligned(self.ring.add(off) as *const u16) }
    }

    /// Wait up to `timeout` for a block of frames; call `f` with each frame, its timestamp
    /// and whether its TCP/UDP checksum is still partial (`TP_STATUS_CSUMNOTREADY`: sent by
    /// this host with checksum offload, see [`complete_checksum`]), then hand the block back
    /// to the kernel. Gives the number of frames.
    ///
    /// # Errors
    /// poll failed.
    pub fn recv(
        &mut self,
        timeout: Duration,
        mut f: impl FnMut(&[u8], Timestamp, bool),
    ) -> io::Result<usize> {
        let block = self.current;
        if self.block_status(block).load(Ordering::Acquire) & TP_STATUS_USER == 0 {
            let mut pfd = libc::pollfd {
                fd: self.fd.as_raw_fd(),
                events: libc::POLLIN | libc::POLLERR,
                revents: 0,
            };
            // SAFETY: one valid pollfd.
            let r = unsafe { libc::poll(&mut pfd, 1, timeout.as_millis() as i32) };
            if r < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    return Ok(0);
                }
                return Err(e);
            }
            if self.block_status(block).load(Ordering::Acquire) & TP_STATUS_USER == 0 {
                return Ok(0);
            }
        }
        let base = block * BLOCK_SIZE;
        let count = self.read_u32(base + BLOCK_NUM_PKTS) as usize;
        let mut off = base + self.read_u32(base + BLOCK_FIRST_PKT) as usize;
        let end = base + BLOCK_SIZE;
        let mut seen = 0;
        while seen < count && off + 32 <= end {
            let next = self.read_u32(off) as usize;
            let ts = Timestamp {
                secs: u64::from(self.read_u32(off + 4)),
                nanos: self.read_u32(off + 8),
            };
            let snaplen = self.read_u32(off + 12) as usize;
            let partial = self.read_u32(off + 20) & TP_STATUS_CSUMNOTREADY != 0;
            let mac = usize::from(self.read_u16(off + 24));
            if off + mac + snaplen <= end {
                // SAFETY: in bounds of this block (checked), which belongs to user space
                // until its status is reset below.
                let frame =
                    unsafe { std::slice::from_raw_parts(self.ring.add(off + mac), snaplen) };
                f(frame, ts, partial);
            }
            seen += 1;
            if next == 0 {
                break;
            }
            off += next;
        }
        self.block_status(block)
            .store(TP_STATUS_KERNEL, Ordering::Release);
        self.current = (block + 1) % BLOCK_COUNT;
        Ok(seen)
    }

    /// Send `frame` out of interface `ifindex`.
    ///
    /// # Errors
    /// sendto failed (interface down, frame too large).
    pub fn send_to(&self, ifindex: u32, frame: &[u8]) -> io::Result<()> {
        // SAFETY: sockaddr_ll is plain data; zero is a valid initial value.
        let mut addr: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        addr.sll_family = libc::AF_PACKET as u16;
        addr.sll_ifindex = ifindex as i32;
        addr.sll_halen = 6;
        // SAFETY: `frame` and `addr` are valid for the sizes passed.
        let r = unsafe {
            libc::sendto(
                self.fd.as_raw_fd(),
                frame.as_ptr().cast(),
                frame.len(),
                0,
                (&addr as *const libc::sockaddr_ll).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        if r < 0 {
            return Err(last_error("sendto(AF_PACKET)"));
        }
        Ok(())
    }
}

impl Drop for PacketSocket {
    fn drop(&mut self) {
        // SAFETY: unmaps the ring mapped in `open`, which nothing borrows any more.
        unsafe {
            libc::munmap(self.ring.cast(), self.ring_len);
        }
    }
}

/// Finish the TCP or UDP checksum of a frame this host sent with checksum offload
/// (`CHECKSUM_PARTIAL`: the field holds the pseudo-header sum, the rest is left to the
/// device), as the device would before the wire: the program then sees, and userbpf
/// forwards, what another host would receive. Ethernet with up to two VLAN tags, IPv4
/// without fragments and IPv6 without extension headers; anything else is left as it is.
pub fn complete_checksum(frame: &mut [u8]) {
    let mut off = 12;
    while frame.len() >= off + 2 && matches!([frame[off], frame[off + 1]], [0x81, 0] | [0x88, 0xa8])
    {
        off += 4;
    }
    if frame.len() < off + 2 {
        return;
    }
    let ethertype = u16::from_be_bytes([frame[off], frame[off + 1]]);
    let net = off + 2;
    let (proto, l4, end) = match ethertype {
        0x0800 if frame.len() >= net + 20 => {
            let ihl = usize::from(frame[net] & 0x0f) * 4;
            let total = usize::from(u16::from_be_bytes([frame[net + 2], frame[net + 3]]));
            if ihl < 20 || frame[net + 6] & 0x3f != 0 || frame[net + 7] != 0 {
                return;
            }
            (frame[net + 9], net + ihl, (net + total).min(frame.len()))
        }
        0x86dd if frame.len() >= net + 40 => {
            let payload = usize::from(u16::from_be_bytes([frame[net + 4], frame[net + 5]]));
            (
                frame[net + 6],
                net + 40,
                (net + 40 + payload).min(frame.len()),
            )
        }
        _ => return,
    };
    let field = match proto {
        6 => l4 + 16,
        17 => l4 + 6,
        _ => return,
    };
    if field + 2 > end {
        return;
    }
    let mut sum: u64 = 0;
    for chunk in frame[l4..end].chunks(2) {
        sum += u64::from(u16::from_be_bytes([chunk[0], *chunk.get(1).unwrap_or(&0)]));
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    let mut c = !(sum as u16);
    if proto == 17 && c == 0 {
        c = 0xffff;
    }
    frame[field..field + 2].copy_from_slice(&c.to_be_bytes());
}

/// Where live packets come from and go.
#[derive(Clone, Debug, Default)]
pub struct LiveOptions {
    /// The interface to receive on.
    pub iface: String,
    /// Bridge mode: the other interface; passed packets cross between the two (the
    /// program runs on the frames of both directions).
    pub peer: Option<String>,
    /// Stop after this long.
    pub duration: Option<Duration>,
    /// Stop after this many packets.
    pub max_packets: Option<u64>,
}

/// Run `hook` on the frames of a live interface (and its peer in bridge mode) until `stop`
/// is set, the duration passes or enough packets were seen; apply each verdict (see the
/// module documentation) and call `each` with the ifindex a frame came in on and its result.
/// XDP programs run in the hook's frame with one reused result and reused send buffers, so
/// nothing is allocated per frame (tc and socket programs go through the runtime's test
/// run, which builds its buffers per run).
///
/// # Errors
/// Opening the sockets failed (no such interface, no CAP_NET_RAW), or receiving failed.
/// Failures to send one frame are counted, not fatal.
pub fn run_live(
    hook: &mut PacketHook,
    options: &LiveOptions,
    stop: &AtomicBool,
    mut each: impl FnMut(u32, &PacketResult),
) -> Result<Summary, HookError> {
    let open = |name: &str| {
        PacketSocket::open(name).map_err(|e| HookError::Live(format!("interface {name}: {e}")))
    };
    let mut sockets = vec![open(&options.iface)?];
    if let Some(peer) = &options.peer {
        sockets.push(open(peer)?);
    }
    let ifindexes: Vec<u32> = sockets.iter().map(|s| s.ifindex()).collect();
    let mut summary = Summary::default();
    for name in hook.kind().verdict_names() {
        summary.verdicts.insert((*name).to_string(), 0);
    }
    let start = Instant::now();
    let kind = hook.kind();
    // Reused from frame to frame, so that XDP programs run without allocating: the
    // result, a copy for frames whose checksum the kernel left to finish, and the frames
    // to send once a block of the ring is read (`queued` of them; each buffer is swapped
    // with the result's, not copied).
    let mut result = PacketResult::default();
    let mut fixed = Vec::new();
    let mut outgoing: Vec<(u32, Vec<u8>)> = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        if options.duration.is_some_and(|d| start.elapsed() >= d)
            || options.max_packets.is_some_and(|m| summary.packets >= m)
        {
            break;
        }
        for side in 0..sockets.len() {
            let timeout = if sockets.len() > 1 {
                Duration::from_millis(1)
            } else {
                Duration::from_millis(20)
            };
            let mut queued = 0;
            sockets[side]
                .recv(timeout, |frame, _ts, partial| {
                    let frame = if partial {
                        fixed.clear();
                        fixed.extend_from_slice(frame);
                        complete_checksum(&mut fixed);
                        &fixed[..]
                    } else {
                        frame
                    };
                    hook.run_packet_into(frame, &mut result);
                    let r = &result;
                    summary.packets += 1;
                    summary.bytes_in += frame.len() as u64;
                    summary.run_time += r.duration;
                    summary.count_result(kind, r);
                    let target = match r.verdict.fate() {
                        Fate::Transmit => Some(ifindexes[side]),
                        Fate::Redirect => r.redirect_ifindex,
                        Fate::Pass if ifindexes.len() > 1 => Some(ifindexes[1 - side]),
                        _ => None,
                    };
                    each(ifindexes[side], r);
                    if let Some(t) = target {
                        if queued == outgoing.len() {
                            outgoing.push((0, Vec::new()));
                        }
                        let slot = &mut outgoing[queued];
                        slot.0 = t;
                        std::mem::swap(&mut slot.1, &mut result.data);
                        queued += 1;
                    }
                })
                .map_err(|e| HookError::Live(format!("receiving: {e}")))?;
            for (target, frame) in &outgoing[..queued] {
                if sockets[side].send_to(*target, frame).is_ok() {
                    summary.written += 1;
                    summary.bytes_out += frame.len() as u64;
                } else {
                    summary.send_errors += 1;
                }
            }
        }
    }
    Ok(summary)
}

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    INTERRUPTED.store(true, Ordering::Relaxed);
}

/// A flag set when the process receives SIGINT or SIGTERM (installs the handlers), so that
/// [`run_live`] can stop cleanly and the caller print its summary.
pub fn stop_on_signals() -> &'static AtomicBool {
    let handler = on_signal as extern "C" fn(libc::c_int);
    for sig in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
        unsafe {
            libc::signal(sig, handler as libc::sighandler_t);
        }
    }
    &INTERRUPTED
}
