//! pcapng files (`draft-ietf-opsawg-pcapng`).
//!
//! Takes a byte stream; gives the packets of its Enhanced, Simple and (obsolete) Packet
//! Blocks ([`PcapngReader`]), across sections of either byte order and any number of
//! interfaces (each Interface Description Block's link type, `if_tsresol` and
//! `if_tsoffset` apply to its packets). Other blocks (name resolution, statistics, custom)
//! are skipped. Writes packets back ([`PcapngWriter`]: little-endian, nanosecond
//! timestamps). Record indexes count blocks from 0 (the Section Header Block is block 0).

use std::io::{self, Read, Write};

use super::capture::{
    err, CaptureError, CaptureErrorKind, Packet, Source, Timestamp, MAX_CAPTURE_LEN,
};

/// Section Header Block type (also the file magic; the same in both byte orders).
pub const SHB_TYPE: u32 = 0x0a0d_0d0a;
const IDB_TYPE: u32 = 1;
const OPB_TYPE: u32 = 2;
const SPB_TYPE: u32 = 3;
const EPB_TYPE: u32 = 6;
const BYTE_ORDER_MAGIC: u32 = 0x1a2b_3c4d;
/// Largest block accepted: a maximal packet with room for options.
pub const MAX_BLOCK_LEN: u32 = MAX_CAPTURE_LEN + 64 * 1024;
const OPT_ENDOFOPT: u16 = 0;
const OPT_IF_TSRESOL: u16 = 9;
const OPT_IF_TSOFFSET: u16 = 14;

/// An interface of the current section.
#[derive(Clone, Copy, Debug)]
struct Interface {
    link_type: u32,
    snaplen: u32,
    /// `if_tsresol`: bit 7 clear: 10^-n seconds; set: 2^-n seconds.
    tsresol: u8,
    tsoffset: i64,
}

/// Reads the packets of a pcapng stream.
pub struct PcapngReader<R> {
    src: Source<R>,
    big_endian: bool,
    interfaces: Vec<Interface>,
    block: u64,
}

impl<R: Read> PcapngReader<R> {
    /// Read the first Section Header Block.
    ///
    /// # Errors
    /// Wrong magic or a malformed first block.
    pub fn new(inner: R) -> Result<PcapngReader<R>, CaptureError> {
        let mut src = Source::new(inner, 0);
        let mut magic = [0u8; 4];
        src.read_all(&mut magic, "block type", Some(0), 0)?;
        if u32::from_le_bytes(magic) != SHB_TYPE {
            return Err(err(None, 0, CaptureErrorKind::WrongMagic(magic.to_vec())));
        }
        PcapngReader::after_magic(src)
    }

    pub(crate) fn after_magic(src: Source<R>) -> Result<PcapngReader<R>, CaptureError> {
        let mut r = PcapngReader {
            src,
            big_endian: false,
            interfaces: Vec::new(),
            block: 0,
        };
        r.read_shb(0, 0)?;
        r.block = 1;
        Ok(r)
    }

    fn u32_of(&self, b: &[u8]) -> u32 {
        let a = [b[0], b[1], b[2], b[3]];
        if self.big_endian {
            u32::from_be_bytes(a)
        } else {
            u32::from_le_bytes(a)
        }
    }

    fn u16_of(&self, b: &[u8]) -> u16 {
        let a = [b[0], b[1]];
        if self.big_endian {
            u16::from_be_bytes(a)
        } else {
            u16::from_le_bytes(a)
        }
    }

    fn check_len(&self, len: u32, min: u32, record: u64, start: u64) -> Result<(), CaptureError> {
        if len < min || !len.is_multiple_of(4) || len > MAX_BLOCK_LEN {
            return Err(err(
                Some(record),
                start,
                CaptureErrorKind::BadLength(format!(
                    "block total length {len} (must be a multiple of 4 between {min} and \
                     {MAX_BLOCK_LEN})"
                )),
            ));
        }
        Ok(())
    }

    /// Read the rest of a block whose type and length were read: the body and the trailing
    /// length, which must repeat the leading one.
    fn read_body(&mut self, len: u32, record: u64, start: u64) -> Result<Vec<u8>, CaptureError> {
        let mut body = self
            .src
            .read_vec(len as usize - 8, "block", Some(record), start)?;
        self.strip_trailer(&mut body, len, record, start)?;
        Ok(body)
    }

    /// Drop the trailing block length from `body`, which must repeat the leading `len`.
    fn strip_trailer(
        &self,
        body: &mut Vec<u8>,
        len: u32,
        record: u64,
        start: u64,
    ) -> Result<(), CaptureError> {
        let trailer = self.u32_of(&body[body.len() - 4..]);
        if trailer != len {
            return Err(err(
                Some(record),
                start,
                CaptureErrorKind::Malformed(format!(
                    "trailing block length {trailer} differs from the leading {len}"
                )),
            ));
        }
        body.truncate(body.len() - 4);
        Ok(())
    }

    /// A Section Header Block whose type was read at `start`.
    fn read_shb(&mut self, record: u64, start: u64) -> Result<(), CaptureError> {
        let mut len = [0u8; 4];
        self.src
            .read_all(&mut len, "section header", Some(record), start)?;
        self.read_shb_after_len(len, record, start)
    }

    fn parse_idb(&self, body: &[u8], record: u64, start: u64) -> Result<Interface, CaptureError> {
        if body.len() < 8 {
            return Err(err(
                Some(record),
                start,
                CaptureErrorKind::BadLength(format!(
                    "interface description block body of {} bytes (at least 8)",
                    body.len()
                )),
            ));
        }
        let mut iface = Interface {
            link_type: u32::from(self.u16_of(&body[0..2])),
            snaplen: self.u32_of(&body[4..8]),
            tsresol: 6,
            tsoffset: 0,
        };
        let mut opts = &body[8..];
        while opts.len() >= 4 {
            let code = self.u16_of(&opts[0..2]);
            let len = usize::from(self.u16_of(&opts[2..4]));
            if code == OPT_ENDOFOPT {
                break;
            }
            let padded = len.div_ceil(4) * 4;
            if 4 + padded > opts.len() {
                return Err(err(
                    Some(record),
                    start,
                    CaptureErrorKind::BadLength(format!(
                        "option {code} of {len} bytes overruns its block"
                    )),
                ));
            }
            let value = &opts[4..4 + len];
            match (code, len) {
                (OPT_IF_TSRESOL, 1) => iface.tsresol = value[0],
                (OPT_IF_TSOFFSET, 8) => {
                    let a: [u8; 8] = value.try_into().unwrap_or([0; 8]);
                    iface.tsoffset = if self.big_endian {
                        i64::from_be_bytes(a)
                    } else {
                        i64::from_le_bytes(a)
                    };
                }
                _ => {}
            }
            opts = &opts[4 + padded..];
        }
        let bad_resol = if iface.tsresol & 0x80 != 0 {
            iface.tsresol & 0x7f > 63
        } else {
            iface.tsresol > 19
        };
        if bad_resol {
            return Err(err(
                Some(record),
                start,
                CaptureErrorKind::Unsupported(format!("if_tsresol {:#x}", iface.tsresol)),
            ));
        }
        Ok(iface)
    }

    /// The next packet, `None` at the end of the file.
    ///
    /// # Errors
    /// A malformed block, naming its index and offset.
    pub fn next_packet(&mut self) -> Result<Option<Packet>, CaptureError> {
        loop {
            let record = self.block;
            let start = self.src.offset;
            let mut h = [0u8; 8];
            if !self
                .src
                .read_or_end(&mut h, "block header", Some(record), start)?
            {
                return Ok(None);
            }
            self.block += 1;
            let block_type = self.u32_of(&h[0..4]);
            if block_type == SHB_TYPE {
                // A new section; its length is in its own byte order.
                self.read_shb_after_len([h[4], h[5], h[6], h[7]], record, start)?;
                continue;
            }
            let len = self.u32_of(&h[4..8]);
            self.check_len(len, 12, record, start)?;
            let body = self.read_body(len, record, start)?;
            let bad = |kind| err(Some(record), start, kind);
            let (iface_id, ts, caplen, orig_len, data_off) = match block_type {
                IDB_TYPE => {
                    let iface = self.parse_idb(&body, record, start)?;
                    self.interfaces.push(iface);
                    continue;
                }
                EPB_TYPE | OPB_TYPE => {
                    if body.len() < 20 {
                        return Err(bad(CaptureErrorKind::BadLength(format!(
                            "packet block body of {} bytes (at least 20)",
                            body.len()
                        ))));
                    }
                    let iface = if block_type == EPB_TYPE {
                        self.u32_of(&body[0..4])
                    } else {
                        u32::from(self.u16_of(&body[0..2]))
                    };
                    let ts = (u64::from(self.u32_of(&body[4..8])) << 32)
                        | u64::from(self.u32_of(&body[8..12]));
                    (
                        iface,
                        Some(ts),
                        self.u32_of(&body[12..16]),
                        self.u32_of(&body[16..20]),
                        20usize,
                    )
                }
                SPB_TYPE => {
                    if body.len() < 4 {
                        return Err(bad(CaptureErrorKind::BadLength(format!(
                            "simple packet block body of {} bytes (at least 4)",
                            body.len()
                        ))));
                    }
                    let orig = self.u32_of(&body[0..4]);
                    let snap = match self.interfaces.first() {
                        Some(i) if i.snaplen != 0 => i.snaplen,
                        _ => u32::MAX,
                    };
                    let room = (body.len() - 4) as u32;
                    (0, None, orig.min(snap).min(room), orig, 4usize)
                }
                _ => continue,
            };
            let Some(iface) = self.interfaces.get(iface_id as usize).copied() else {
                return Err(bad(CaptureErrorKind::Malformed(format!(
                    "packet on interface {iface_id}, but the section declares {} interface(s)",
                    self.interfaces.len()
                ))));
            };
            if caplen > MAX_CAPTURE_LEN || data_off + caplen as usize > body.len() {
                return Err(bad(CaptureErrorKind::BadLength(format!(
                    "captured length {caplen} overruns its block of {len} bytes"
                ))));
            }
            let data = body[data_off..data_off + caplen as usize].to_vec();
            return Ok(Some(Packet {
                timestamp: ts.map_or(Timestamp::default(), |t| timestamp(t, &iface)),
                data,
                orig_len,
                interface: iface_id,
                link_type: iface.link_type,
                record,
                offset: start,
            }));
        }
    }

    fn read_shb_after_len(
        &mut self,
        len_bytes: [u8; 4],
        record: u64,
        start: u64,
    ) -> Result<(), CaptureError> {
        let mut bom = [0u8; 4];
        self.src
            .read_all(&mut bom, "section header", Some(record), start)?;
        let le = u32::from_le_bytes(bom) == BYTE_ORDER_MAGIC;
        if !le && u32::from_be_bytes(bom) != BYTE_ORDER_MAGIC {
            return Err(err(
                Some(record),
                start,
                CaptureErrorKind::Malformed(format!("bad byte-order magic {bom:02x?}")),
            ));
        }
        self.big_endian = !le;
        let len = self.u32_of(&len_bytes);
        self.check_len(len, 28, record, start)?;
        let mut rest =
            self.src
                .read_vec(len as usize - 12, "section header", Some(record), start)?;
        self.strip_trailer(&mut rest, len, record, start)?;
        let major = self.u16_of(&rest[0..2]);
        if major != 1 {
            return Err(err(
                Some(record),
                start,
                CaptureErrorKind::Unsupported(format!("pcapng version {major}")),
            ));
        }
        self.interfaces.clear();
        Ok(())
    }
}

/// A pcapng timestamp in the interface's units, as seconds and nanoseconds.
fn timestamp(t: u64, iface: &Interface) -> Timestamp {
    let (secs, nanos) = if iface.tsresol & 0x80 != 0 {
        let n = u32::from(iface.tsresol & 0x7f);
        let secs = t.checked_shr(n).unwrap_or(0);
        let frac = if n >= 64 { t } else { t & ((1u64 << n) - 1) };
        let nanos = ((u128::from(frac) * 1_000_000_000) >> n) as u32;
        (secs, nanos)
    } else {
        let n = u32::from(iface.tsresol);
        let unit = 10u64.pow(n);
        let secs = t / unit;
        let frac = t % unit;
        let nanos = if n <= 9 {
            frac * 10u64.pow(9 - n)
        } else {
            frac / 10u64.pow(n - 9)
        };
        (secs, nanos as u32)
    };
    Timestamp {
        secs: secs.saturating_add_signed(iface.tsoffset),
        nanos,
    }
}

impl<R: Read> Iterator for PcapngReader<R> {
    type Item = Result<Packet, CaptureError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_packet().transpose()
    }
}

/// Writes a little-endian pcapng stream with nanosecond timestamps.
pub struct PcapngWriter<W: Write> {
    inner: W,
    /// (input interface, link type) of each declared output interface.
    interfaces: Vec<(u32, u32)>,
}

fn block(block_type: u32, body: &[u8]) -> Vec<u8> {
    let padded = body.len().div_ceil(4) * 4;
    let len = (12 + padded) as u32;
    let mut b = Vec::with_capacity(len as usize);
    b.extend_from_slice(&block_type.to_le_bytes());
    b.extend_from_slice(&len.to_le_bytes());
    b.extend_from_slice(body);
    b.resize(8 + padded, 0);
    b.extend_from_slice(&len.to_le_bytes());
    b
}

impl<W: Write> PcapngWriter<W> {
    /// Write the Section Header Block (version 1.0, unknown section length).
    ///
    /// # Errors
    /// Writing failed.
    pub fn new(mut inner: W) -> io::Result<PcapngWriter<W>> {
        let mut body = Vec::new();
        body.extend_from_slice(&BYTE_ORDER_MAGIC.to_le_bytes());
        body.extend_from_slice(&1u16.to_le_bytes());
        body.extend_from_slice(&0u16.to_le_bytes());
        body.extend_from_slice(&(-1i64).to_le_bytes());
        inner.write_all(&block(SHB_TYPE, &body))?;
        Ok(PcapngWriter {
            inner,
            interfaces: Vec::new(),
        })
    }

    /// Declare an interface (an Interface Description Block with `if_tsresol` = 9);
    /// gives its id.
    ///
    /// # Errors
    /// Writing failed.
    pub fn add_interface(&mut self, link_type: u32) -> io::Result<u32> {
        self.add(u32::MAX, link_type)
    }

    fn add(&mut self, input: u32, link_type: u32) -> io::Result<u32> {
        let link = u16::try_from(link_type).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("link type {link_type} does not fit pcapng"),
            )
        })?;
        let mut body = Vec::new();
        body.extend_from_slice(&link.to_le_bytes());
        body.extend_from_slice(&0u16.to_le_bytes());
        body.extend_from_slice(&MAX_CAPTURE_LEN.to_le_bytes());
        body.extend_from_slice(&OPT_IF_TSRESOL.to_le_bytes());
        body.extend_from_slice(&1u16.to_le_bytes());
        body.extend_from_slice(&[9, 0, 0, 0]);
        body.extend_from_slice(&[0; 4]); // opt_endofopt
        self.inner.write_all(&block(IDB_TYPE, &body))?;
        self.interfaces.push((input, link_type));
        Ok(self.interfaces.len() as u32 - 1)
    }

    /// The output interface for packets of input interface `input`, declared on first use.
    ///
    /// # Errors
    /// Writing failed.
    pub fn interface_for(&mut self, input: u32, link_type: u32) -> io::Result<u32> {
        match self
            .interfaces
            .iter()
            .position(|&(i, l)| i == input && l == link_type)
        {
            Some(id) => Ok(id as u32),
            None => self.add(input, link_type),
        }
    }

    /// Append an Enhanced Packet Block.
    ///
    /// # Errors
    /// Writing failed, an undeclared interface, or a packet over 262144 bytes.
    pub fn write_packet(
        &mut self,
        interface: u32,
        ts: Timestamp,
        data: &[u8],
        orig_len: u32,
    ) -> io::Result<()> {
        if interface as usize >= self.interfaces.len() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("interface {interface} was not declared"),
            ));
        }
        if data.len() > MAX_CAPTURE_LEN as usize {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "packet of {} bytes is longer than a pcapng block",
                    data.len()
                ),
            ));
        }
        let t = ts.as_nanos().min(u128::from(u64::MAX)) as u64;
        let mut body = Vec::with_capacity(20 + data.len());
        body.extend_from_slice(&interface.to_le_bytes());
        body.extend_from_slice(&((t >> 32) as u32).to_le_bytes());
        body.extend_from_slice(&(t as u32).to_le_bytes());
        body.extend_from_slice(&(data.len() as u32).to_le_bytes());
        body.extend_from_slice(&orig_len.max(data.len() as u32).to_le_bytes());
        body.extend_from_slice(data);
        self.inner.write_all(&block(EPB_TYPE, &body))
    }

    /// Flush and give the inner writer back.
    ///
    /// # Errors
    /// Flushing failed.
    pub fn finish(mut self) -> io::Result<W> {
        self.inner.flush()?;
        Ok(self.inner)
    }
}
