//! Classic pcap files (the libpcap format, `draft-ietf-opsawg-pcap`).
//!
//! Takes a byte stream; gives its packets ([`PcapReader`]) in either byte order with
//! microsecond (`a1b2c3d4`) or nanosecond (`a1b23c4d`) timestamps, and writes them back
//! ([`PcapWriter`], little-endian). Record indexes count packet records from 0; offsets are
//! those of the 16-byte record headers (the file header is 24 bytes).

use std::io::{self, Read, Write};

use super::capture::{
    err, CaptureError, CaptureErrorKind, Format, Packet, Source, Timestamp, MAX_CAPTURE_LEN,
};

const MAGIC_MICROS: u32 = 0xa1b2_c3d4;
const MAGIC_NANOS: u32 = 0xa1b2_3c4d;
/// Bytes of the file header.
pub const FILE_HEADER_LEN: usize = 24;
/// Bytes of a record header.
pub const RECORD_HEADER_LEN: usize = 16;

/// The format a 4-byte magic announces, if it is a classic pcap magic.
pub fn format_of_magic(magic: [u8; 4]) -> Option<Format> {
    let le = u32::from_le_bytes(magic);
    let be = u32::from_be_bytes(magic);
    match (le, be) {
        (MAGIC_MICROS, _) => Some(Format::Pcap {
            nanos: false,
            big_endian: false,
        }),
        (MAGIC_NANOS, _) => Some(Format::Pcap {
            nanos: true,
            big_endian: false,
        }),
        (_, MAGIC_MICROS) => Some(Format::Pcap {
            nanos: false,
            big_endian: true,
        }),
        (_, MAGIC_NANOS) => Some(Format::Pcap {
            nanos: true,
            big_endian: true,
        }),
        _ => None,
    }
}

/// Largest record read straight into a reused buffer (longer ones grow a buffer as their
/// bytes arrive, so a lying length in a truncated file costs no more than the file).
const REUSE_MAX: usize = 64 * 1024;

/// Reads the packet records of a classic pcap stream.
pub struct PcapReader<R> {
    src: Source<R>,
    nanos: bool,
    big_endian: bool,
    link_type: u32,
    snaplen: u32,
    record: u64,
}

impl<R: Read> PcapReader<R> {
    /// Read the file header.
    ///
    /// # Errors
    /// Wrong magic, a truncated header or an unknown major version.
    pub fn new(inner: R) -> Result<PcapReader<R>, CaptureError> {
        let mut src = Source::new(inner, 0);
        let mut magic = [0u8; 4];
        src.read_all(&mut magic, "file header", None, 0)?;
        let format = format_of_magic(magic)
            .ok_or_else(|| err(None, 0, CaptureErrorKind::WrongMagic(magic.to_vec())))?;
        PcapReader::after_magic(src, format)
    }

    pub(crate) fn after_magic(
        mut src: Source<R>,
        format: Format,
    ) -> Result<PcapReader<R>, CaptureError> {
        let Format::Pcap { nanos, big_endian } = format else {
            unreachable!("after_magic is called with a pcap format")
        };
        let mut rest = [0u8; FILE_HEADER_LEN - 4];
        src.read_all(&mut rest, "file header", None, 0)?;
        let u16_at = |o: usize| {
            let b = [rest[o], rest[o + 1]];
            if big_endian {
                u16::from_be_bytes(b)
            } else {
                u16::from_le_bytes(b)
            }
        };
        let u32_at = |o: usize| {
            let b = [rest[o], rest[o + 1], rest[o + 2], rest[o + 3]];
            if big_endian {
                u32::from_be_bytes(b)
            } else {
                u32::from_le_bytes(b)
            }
        };
        let (major, minor) = (u16_at(0), u16_at(2));
        if major != 2 {
            return Err(err(
                None,
                0,
                CaptureErrorKind::Unsupported(format!("pcap version {major}.{minor}")),
            ));
        }
        Ok(PcapReader {
            src,
            nanos,
            big_endian,
            snaplen: u32_at(12),
            // The low 16 bits; the upper bits carry FCS information.
            link_type: u32_at(16) & 0xffff,
            record: 0,
        })
    }

    /// The file's link type (`LINKTYPE_*`).
    pub fn link_type(&self) -> u32 {
        self.link_type
    }

    /// The file's snapshot length.
    pub fn snaplen(&self) -> u32 {
        self.snaplen
    }

    /// The format (byte order and timestamp resolution).
    pub fn format(&self) -> Format {
        Format::Pcap {
            nanos: self.nanos,
            big_endian: self.big_endian,
        }
    }

    /// The next packet, `None` at the end of the file.
    ///
    /// # Errors
    /// A truncated record, an absurd captured length or a bad sub-second field, naming the
    /// record and its offset.
    pub fn next_packet(&mut self) -> Result<Option<Packet>, CaptureError> {
        let mut packet = Packet {
            timestamp: Timestamp::default(),
            data: Vec::new(),
            orig_len: 0,
            interface: 0,
            link_type: self.link_type,
            record: 0,
            offset: 0,
        };
        Ok(self.next_packet_into(&mut packet)?.then_some(packet))
    }

    /// [`next_packet`](Self::next_packet) into `packet`, reusing its buffer (no allocation
    /// once the buffer has grown to the largest packet): `Ok(false)` at the end of the file.
    ///
    /// # Errors
    /// As [`next_packet`](Self::next_packet); `packet` is unspecified then.
    pub fn next_packet_into(&mut self, packet: &mut Packet) -> Result<bool, CaptureError> {
        Ok(self.next_packet_to(packet, |_| None)?.is_some())
    }

    /// The next packet's record into `packet` and its bytes into the buffer `dst` gives
    /// for the captured length, or into `packet.data` when `dst` gives none or a buffer of
    /// another length (then `packet.data` is left empty otherwise):
    /// the packet's bytes are copied once, from the file to where they are used. Gives the
    /// captured length, `None` at the end of the file.
    ///
    /// # Errors
    /// As [`next_packet`](Self::next_packet); `packet` and the buffer are unspecified then.
    #[inline]
    pub fn next_packet_to<'b>(
        &mut self,
        packet: &mut Packet,
        dst: impl FnOnce(usize) -> Option<&'b mut [u8]>,
    ) -> Result<Option<usize>, CaptureError> {
        let Some(caplen) = self.record_header(packet)? else {
            return Ok(None);
        };
        let (record, start) = (packet.record, packet.offset);
        if let Some(buf) = dst(caplen).filter(|b| b.len() == caplen) {
            packet.data.clear();
            self.src.read_all(buf, "packet data", Some(record), start)?;
        } else if caplen <= REUSE_MAX || caplen <= packet.data.capacity() {
            // Bounded: at most REUSE_MAX bytes, or no more than the buffer already holds.
            packet.data.resize(caplen, 0);
            self.src
                .read_all(&mut packet.data, "packet data", Some(record), start)?;
        } else {
            packet.data = self
                .src
                .read_vec(caplen, "packet data", Some(record), start)?;
        }
        self.record += 1;
        Ok(Some(caplen))
    }

    /// Read the next record header into `packet` (all but its data, which is left as it
    /// was); gives the captured length, `None` at the end of the file. The record index
    /// is not advanced.
    #[inline]
    fn record_header(&mut self, packet: &mut Packet) -> Result<Option<usize>, CaptureError> {
        let record = self.record;
        let start = self.src.offset;
        let mut h = [0u8; RECORD_HEADER_LEN];
        if !self
            .src
            .read_or_end(&mut h, "record header", Some(record), start)?
        {
            return Ok(None);
        }
        self.parse_header(&h, packet, record, start).map(Some)
    }

    /// Check record header `h` (record `record` at offset `start`) and put it into
    /// `packet` (all but its data); gives the captured length.
    #[inline]
    fn parse_header(
        &self,
        h: &[u8],
        packet: &mut Packet,
        record: u64,
        start: u64,
    ) -> Result<usize, CaptureError> {
        let be = self.big_endian;
        let u32_at = |o: usize| {
            let b = [h[o], h[o + 1], h[o + 2], h[o + 3]];
            if be {
                u32::from_be_bytes(b)
            } else {
                u32::from_le_bytes(b)
            }
        };
        let (secs, frac, caplen, orig_len) = (u32_at(0), u32_at(4), u32_at(8), u32_at(12));
        let bad = |kind| err(Some(record), start, kind);
        if caplen > MAX_CAPTURE_LEN {
            return Err(bad(CaptureErrorKind::BadLength(format!(
                "captured length {caplen} is larger than any snapshot length ({MAX_CAPTURE_LEN})"
            ))));
        }
        let nanos = if self.nanos {
            if frac >= 1_000_000_000 {
                return Err(bad(CaptureErrorKind::Malformed(format!(
                    "nanoseconds field {frac} is not below 1000000000"
                ))));
            }
            frac
        } else {
            if frac >= 1_000_000 {
                return Err(bad(CaptureErrorKind::Malformed(format!(
                    "microseconds field {frac} is not below 1000000"
                ))));
            }
            frac * 1000
        };
        packet.timestamp = Timestamp {
            secs: u64::from(secs),
            nanos,
        };
        packet.orig_len = orig_len;
        packet.interface = 0;
        packet.link_type = self.link_type;
        packet.record = record;
        packet.offset = start;
        Ok(caplen as usize)
    }
}

impl<'a> PcapReader<&'a [u8]> {
    /// The next record of a capture held in memory: its header into `packet` (whose data
    /// is cleared) and its bytes lent from the capture itself, nothing copied; `None` at
    /// the end of the file.
    ///
    /// # Errors
    /// As [`next_packet`](Self::next_packet).
    #[inline]
    pub fn next_packet_borrowed(
        &mut self,
        packet: &mut Packet,
    ) -> Result<Option<&'a [u8]>, CaptureError> {
        if self.src.at_end() {
            return Ok(None);
        }
        let (record, start) = (self.record, self.src.offset);
        let h = self
            .src
            .take_slice(RECORD_HEADER_LEN, "record header", Some(record), start)?;
        let caplen = self.parse_header(h, packet, record, start)?;
        packet.data.clear();
        let bytes =
            self.src
                .take_slice(caplen, "packet data", Some(packet.record), packet.offset)?;
        self.record += 1;
        Ok(Some(bytes))
    }
}

impl<R: Read> Iterator for PcapReader<R> {
    type Item = Result<Packet, CaptureError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_packet().transpose()
    }
}

/// Writes a little-endian classic pcap stream.
pub struct PcapWriter<W: Write> {
    inner: W,
    nanos: bool,
}

impl<W: Write> PcapWriter<W> {
    /// Write the file header: version 2.4, snapshot length 262144, `link_type`, nanosecond
    /// or microsecond timestamps.
    ///
    /// # Errors
    /// Writing failed.
    pub fn new(mut inner: W, nanos: bool, link_type: u32) -> io::Result<PcapWriter<W>> {
        let mut h = Vec::with_capacity(FILE_HEADER_LEN);
        h.extend_from_slice(&(if nanos { MAGIC_NANOS } else { MAGIC_MICROS }).to_le_bytes());
        h.extend_from_slice(&2u16.to_le_bytes());
        h.extend_from_slice(&4u16.to_le_bytes());
        h.extend_from_slice(&0i32.to_le_bytes());
        h.extend_from_slice(&0u32.to_le_bytes());
        h.extend_from_slice(&MAX_CAPTURE_LEN.to_le_bytes());
        h.extend_from_slice(&link_type.to_le_bytes());
        inner.write_all(&h)?;
        Ok(PcapWriter { inner, nanos })
    }

    /// Append a packet record. Microsecond files round timestamps down to microseconds;
    /// seconds beyond 2^32 - 1 cannot be written.
    ///
    /// # Errors
    /// Writing failed, or the packet is longer than 262144 bytes or too late for the format.
    pub fn write_packet(&mut self, ts: Timestamp, data: &[u8], orig_len: u32) -> io::Result<()> {
        let secs = u32::try_from(ts.secs).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("timestamp {} s does not fit a pcap record", ts.secs),
            )
        })?;
        if data.len() > MAX_CAPTURE_LEN as usize {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "packet of {} bytes is longer than a pcap record",
                    data.len()
                ),
            ));
        }
        let frac = if self.nanos {
            ts.nanos
        } else {
            ts.nanos / 1000
        };
        let mut h = [0u8; RECORD_HEADER_LEN];
        h[0..4].copy_from_slice(&secs.to_le_bytes());
        h[4..8].copy_from_slice(&frac.to_le_bytes());
        h[8..12].copy_from_slice(&(data.len() as u32).to_le_bytes());
        h[12..16].copy_from_slice(&orig_len.max(data.len() as u32).to_le_bytes());
        self.inner.write_all(&h)?;
        self.inner.write_all(data)
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
