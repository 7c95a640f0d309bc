//! Synthetic Ethernet traffic for tests, examples and benchmarks.
//!
//! Takes a seed (and a count); gives frames: IPv4 and IPv6 with TCP, UDP and ICMP (correct
//! checksums), 802.1Q VLAN tags (single and stacked), IPv4 fragments, ARP, and damaged
//! frames (truncated at every layer, bad IHL, bad versions, lengths that lie). The same seed
//! gives the same frames. Builders for single frames ([`Frame`]) are public too.

/// A deterministic pseudo-random generator (xorshift64*).
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number below `n` (`n` > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// Random bytes.
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next_u64() as u8).collect()
    }
}

/// The Internet checksum of `bytes`, starting from the partial sum `seed`.
pub fn checksum(bytes: &[u8], seed: u32) -> u16 {
    let mut sum = u64::from(seed);
    for chunk in bytes.chunks(2) {
        sum += u64::from(u16::from_be_bytes([chunk[0], *chunk.get(1).unwrap_or(&0)]));
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Layer-4 protocols.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum L4 {
    /// TCP with these flags.
    Tcp(u8),
    /// UDP.
    Udp,
    /// ICMP (echo request) or ICMPv6 (echo request).
    Icmp,
}

impl L4 {
    fn proto(self, v6: bool) -> u8 {
        match self {
            L4::Tcp(_) => 6,
            L4::Udp => 17,
            L4::Icmp if v6 => 58,
            L4::Icmp => 1,
        }
    }
}

/// A frame under construction.
#[derive(Clone, Debug)]
pub struct Frame {
    /// Destination MAC.
    pub dst_mac: [u8; 6],
    /// Source MAC.
    pub src_mac: [u8; 6],
    /// VLAN tags (TCI values), outermost first.
    pub vlans: Vec<u16>,
}

impl Default for Frame {
    fn default() -> Frame {
        Frame {
            dst_mac: [0x02, 0, 0, 0, 0, 0x0b],
            src_mac: [0x02, 0, 0, 0, 0, 0x0a],
            vlans: Vec::new(),
        }
    }
}

fn l4_bytes(l4: L4, sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    match l4 {
        L4::Tcp(flags) => {
            b.extend_from_slice(&sport.to_be_bytes());
            b.extend_from_slice(&dport.to_be_bytes());
            b.extend_from_slice(&1000u32.to_be_bytes());
            b.extend_from_slice(&(if flags & 0x10 != 0 { 77u32 } else { 0 }).to_be_bytes());
            b.extend_from_slice(&[0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
        }
        L4::Udp => {
            b.extend_from_slice(&sport.to_be_bytes());
            b.extend_from_slice(&dport.to_be_bytes());
            b.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
            b.extend_from_slice(&[0, 0]);
        }
        L4::Icmp => {
            b.extend_from_slice(&[8, 0, 0, 0]);
            b.extend_from_slice(&sport.to_be_bytes());
            b.extend_from_slice(&dport.to_be_bytes());
        }
    }
    b.extend_from_slice(payload);
    b
}

/// Offset of the checksum in a layer-4 header.
fn l4_csum_off(l4: L4) -> usize {
    match l4 {
        L4::Tcp(_) => 16,
        L4::Udp => 6,
        L4::Icmp => 2,
    }
}

impl Frame {
    /// The Ethernet header (and VLAN tags) for `ethertype`, then `payload`.
    pub fn ether(&self, ethertype: u16, payload: &[u8]) -> Vec<u8> {
        let mut f = Vec::with_capacity(18 + payload.len());
        f.extend_from_slice(&self.dst_mac);
        f.extend_from_slice(&self.src_mac);
        for (i, tci) in self.vlans.iter().enumerate() {
            // Outer tags of a stack are 802.1ad when there is more than one.
            let tpid: u16 = if i + 1 < self.vlans.len() {
                0x88a8
            } else {
                0x8100
            };
            f.extend_from_slice(&tpid.to_be_bytes());
            f.extend_from_slice(&tci.to_be_bytes());
        }
        f.extend_from_slice(&ethertype.to_be_bytes());
        f.extend_from_slice(payload);
        f
    }

    /// An IPv4 packet (identification, flags/fragment offset given) carrying `l4`.
    #[allow(clippy::too_many_arguments)]
    pub fn ipv4_raw(
        &self,
        src: [u8; 4],
        dst: [u8; 4],
        proto: u8,
        ttl: u8,
        id: u16,
        frag: u16,
        body: &[u8],
    ) -> Vec<u8> {
        let total = 20 + body.len();
        let mut h = vec![0x45, 0];
        h.extend_from_slice(&(total as u16).to_be_bytes());
        h.extend_from_slice(&id.to_be_bytes());
        h.extend_from_slice(&frag.to_be_bytes());
        h.extend_from_slice(&[ttl, proto, 0, 0]);
        h.extend_from_slice(&src);
        h.extend_from_slice(&dst);
        let c = checksum(&h, 0);
        h[10..12].copy_from_slice(&c.to_be_bytes());
        h.extend_from_slice(body);
        self.ether(0x0800, &h)
    }

    /// An IPv4 frame with a TCP, UDP or ICMP packet (checksums filled in).
    pub fn ipv4(
        &self,
        src: [u8; 4],
        dst: [u8; 4],
        l4: L4,
        sport: u16,
        dport: u16,
        payload: &[u8],
    ) -> Vec<u8> {
        let mut b = l4_bytes(l4, sport, dport, payload);
        let proto = l4.proto(false);
        let seed = if l4 == L4::Icmp {
            0
        } else {
            let mut p = Vec::new();
            p.extend_from_slice(&src);
            p.extend_from_slice(&dst);
            p.extend_from_slice(&[0, proto]);
            p.extend_from_slice(&(b.len() as u16).to_be_bytes());
            u32::from(!checksum(&p, 0))
        };
        let c = checksum(&b, seed);
        let o = l4_csum_off(l4);
        b[o..o + 2].copy_from_slice(&c.to_be_bytes());
        self.ipv4_raw(src, dst, proto, 64, 0x1234, 0x4000, &b)
    }

    /// An IPv6 frame with a TCP, UDP or ICMPv6 packet (checksums filled in).
    pub fn ipv6(
        &self,
        src: [u8; 16],
        dst: [u8; 16],
        l4: L4,
        sport: u16,
        dport: u16,
        payload: &[u8],
    ) -> Vec<u8> {
        let mut b = l4_bytes(l4, sport, dport, payload);
        let proto = l4.proto(true);
        if l4 == L4::Icmp {
            b[0] = 128;
        }
        let mut p = Vec::new();
        p.extend_from_slice(&src);
        p.extend_from_slice(&dst);
        p.extend_from_slice(&(b.len() as u32).to_be_bytes());
        p.extend_from_slice(&[0, 0, 0, proto]);
        let c = checksum(&b, u32::from(!checksum(&p, 0)));
        let o = l4_csum_off(l4);
        b[o..o + 2].copy_from_slice(&c.to_be_bytes());
        self.ipv6_raw(src, dst, proto, &b)
    }

    /// An IPv6 frame with next header `proto` and body `body`.
    pub fn ipv6_raw(&self, src: [u8; 16], dst: [u8; 16], proto: u8, body: &[u8]) -> Vec<u8> {
        let mut h = vec![0x60, 0, 0, 0];
        h.extend_from_slice(&(body.len() as u16).to_be_bytes());
        h.extend_from_slice(&[proto, 64]);
        h.extend_from_slice(&src);
        h.extend_from_slice(&dst);
        h.extend_from_slice(body);
        self.ether(0x86dd, &h)
    }

    /// An ARP request.
    pub fn arp(&self, sender: [u8; 4], target: [u8; 4]) -> Vec<u8> {
        let mut a = vec![0, 1, 8, 0, 6, 4, 0, 1];
        a.extend_from_slice(&self.src_mac);
        a.extend_from_slice(&sender);
        a.extend_from_slice(&[0; 6]);
        a.extend_from_slice(&target);
        self.ether(0x0806, &a)
    }
}

/// An IPv6 address `2001:db8::<last>`, with `net` in the fourth group.
pub fn ip6(net: u16, last: u16) -> [u8; 16] {
    let mut a = [0u8; 16];
    a[0..4].copy_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
    a[6..8].copy_from_slice(&net.to_be_bytes());
    a[14..16].copy_from_slice(&last.to_be_bytes());
    a
}

/// `count` frames of mixed traffic from `seed`: mostly well-formed IPv4/IPv6
/// TCP/UDP/ICMP (some VLAN-tagged, some fragmented), with ARP and a share of damaged frames.
/// Addresses come from 10.0.0.0/8, 192.168.0.0/16, 172.16.0.0/12 and 2001:db8::/32; ports
/// from a small set (22, 53, 80, 443, 8080, random) so that filters have something to match.
pub fn generate(seed: u64, count: usize) -> Vec<Vec<u8>> {
    let mut rng = Rng::new(seed);
    (0..count).map(|_| one(&mut rng)).collect()
}

fn pick<T: Copy>(rng: &mut Rng, items: &[T]) -> T {
    items[rng.below(items.len() as u64) as usize]
}

fn addr4(rng: &mut Rng) -> [u8; 4] {
    let r = rng.next_u64().to_le_bytes();
    match rng.below(4) {
        0 => [10, r[0] % 4, r[1], r[2]],
        1 => [192, 168, r[0] % 3, r[1]],
        2 => [172, 16 + r[0] % 16, r[1], r[2]],
        _ => [r[0].max(1), r[1], r[2], r[3]],
    }
}

fn port(rng: &mut Rng) -> u16 {
    match rng.below(6) {
        0 => 22,
        1 => 53,
        2 => 80,
        3 => 443,
        4 => 8080,
        _ => 1024 + rng.below(60000) as u16,
    }
}

fn one(rng: &mut Rng) -> Vec<u8> {
    let mut frame = Frame::default();
    if rng.below(8) == 0 {
        frame.vlans.push(rng.below(4095) as u16 + 1);
        if rng.below(4) == 0 {
            frame.vlans.insert(0, 100);
        }
    }
    if rng.below(3) == 0 {
        frame.src_mac[5] = rng.below(256) as u8;
    }
    let l4 = pick(
        rng,
        &[
            L4::Tcp(0x02),
            L4::Tcp(0x10),
            L4::Tcp(0x18),
            L4::Udp,
            L4::Udp,
            L4::Icmp,
        ],
    );
    let len = pick(rng, &[0usize, 1, 18, 64, 200, 512, 1400]);
    let payload = rng.bytes(len);
    let (sport, dport) = (port(rng), port(rng));
    let kind = rng.below(20);
    let mut f = match kind {
        0..=9 => frame.ipv4(addr4(rng), addr4(rng), l4, sport, dport, &payload),
        10..=13 => frame.ipv6(
            ip6(rng.below(4) as u16, rng.below(65536) as u16),
            ip6(rng.below(4) as u16, rng.below(65536) as u16),
            l4,
            sport,
            dport,
            &payload,
        ),
        14 => frame.arp(addr4(rng), addr4(rng)),
        15 => {
            // An IPv4 fragment: the first (MF set) or a later one (offset, no L4 header).
            let body = l4_bytes(l4, sport, dport, &payload);
            let flags = if rng.below(2) == 0 {
                0x2000
            } else {
                0x2000 | (1 + rng.below(100) as u16)
            };
            frame.ipv4_raw(addr4(rng), addr4(rng), l4.proto(false), 64, 7, flags, &body)
        }
        16 => {
            // An IPv6 fragment header.
            let mut body = vec![l4.proto(true), 0];
            body.extend_from_slice(&(8u16 | 1).to_be_bytes());
            body.extend_from_slice(&rng.next_u64().to_be_bytes()[..4]);
            body.extend_from_slice(&l4_bytes(l4, sport, dport, &payload));
            frame.ipv6_raw(ip6(1, 1), ip6(2, 2), 44, &body)
        }
        _ => Vec::new(),
    };
    if kind >= 17 {
        // Damaged frames.
        let good = frame.ipv4(addr4(rng), addr4(rng), l4, sport, dport, &payload);
        f = match rng.below(7) {
            // Cut anywhere: inside the Ethernet, IP or L4 header or the payload.
            0 | 1 => {
                let cut = rng.below(good.len() as u64 + 1) as usize;
                good[..cut].to_vec()
            }
            // IHL below 5 or beyond the packet.
            2 => {
                let mut g = good;
                g[14] = 0x40 | pick(rng, &[0u8, 3, 15]);
                g
            }
            // A version that is neither 4 nor 6.
            3 => {
                let mut g = good;
                g[14] = (g[14] & 0x0f) | 0x70;
                g
            }
            // IP total length larger or smaller than the frame.
            4 => {
                let mut g = good;
                let l = pick(rng, &[0u16, 8, 0xffff]);
                g[16..18].copy_from_slice(&l.to_be_bytes());
                g
            }
            // Random bytes after a valid Ethernet header of a known type.
            5 => {
                let t = pick(rng, &[0x0800u16, 0x86dd, 0x8100]);
                let n = rng.below(80) as usize;
                frame.ether(t, &rng.bytes(n))
            }
            // Plain noise.
            _ => {
                let n = rng.below(100) as usize;
                rng.bytes(n)
            }
        };
    }
    f
}
