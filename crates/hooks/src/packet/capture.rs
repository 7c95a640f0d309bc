//! Packet capture files: what classic pcap and pcapng have in common.
//!
//! Takes a byte stream ([`std::io::Read`]); gives [`Packet`]s in file order through
//! [`CaptureReader`], which recognises the format from the first four bytes (classic pcap in
//! either byte order with microsecond or nanosecond timestamps, or pcapng). Writes packets
//! back through [`CaptureWriter`]. Malformed input gives a [`CaptureError`] that names the
//! record (packet record of a pcap file, block of a pcapng file, counted from 0) and its byte
//! offset; no input makes the readers panic or allocate more than one record's bytes.

use std::fmt;
use std::io::{self, Read, Write};

use thiserror::Error;

use super::{pcap, pcapng};

/// `LINKTYPE_ETHERNET`: the only link type the packet hooks run programs on.
pub const LINKTYPE_ETHERNET: u32 = 1;

/// Largest captured length a record may claim (the largest snapshot length tools use,
/// 256 KiB): anything beyond is taken as corruption.
pub const MAX_CAPTURE_LEN: u32 = 262_144;

/// Time of capture: seconds and nanoseconds since the Unix epoch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    /// Whole seconds.
    pub secs: u64,
    /// Nanoseconds (below 1,000,000,000).
    pub nanos: u32,
}

impl Timestamp {
    /// Nanoseconds since the epoch (saturating).
    pub fn as_nanos(&self) -> u128 {
        u128::from(self.secs) * 1_000_000_000 + u128::from(self.nanos)
    }
}

/// One captured packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Packet {
    /// When it was captured.
    pub timestamp: Timestamp,
    /// The captured bytes (at most the snapshot length).
    pub data: Vec<u8>,
    /// Its length on the wire (at least `data.len()` in well-formed files).
    pub orig_len: u32,
    /// The interface it was captured on (pcapng interface id; 0 for classic pcap).
    pub interface: u32,
    /// The interface's link type (`LINKTYPE_*`).
    pub link_type: u32,
    /// Index of its record (pcap packet record or pcapng block), from 0.
    pub record: u64,
    /// Byte offset of its record in the file.
    pub offset: u64,
}

/// The container format of a capture file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Classic pcap.
    Pcap {
        /// Nanosecond timestamps (magic `a1b23c4d`) rather than microseconds (`a1b2c3d4`).
        nanos: bool,
        /// Big-endian file.
        big_endian: bool,
    },
    /// pcapng.
    Pcapng,
}

/// What is wrong with a capture file.
#[derive(Debug, Error)]
pub enum CaptureErrorKind {
    /// The first bytes are no pcap or pcapng magic.
    #[error("not a pcap or pcapng file: magic {0:02x?}")]
    WrongMagic(Vec<u8>),
    /// The file ends inside a record.
    #[error("truncated {what}: need {need} bytes, {got} left in the file")]
    Truncated {
        /// Which part was cut.
        what: &'static str,
        /// Bytes needed.
        need: u64,
        /// Bytes present.
        got: u64,
    },
    /// A length field is impossible.
    #[error("{0}")]
    BadLength(String),
    /// Any other inconsistency.
    #[error("{0}")]
    Malformed(String),
    /// A version of the format this reader does not know.
    #[error("unsupported {0}")]
    Unsupported(String),
    /// Reading or writing failed.
    #[error("{0}")]
    Io(#[from] io::Error),
}

/// A [`CaptureErrorKind`] with the record and byte offset where it was found.
#[derive(Debug, Error)]
pub struct CaptureError {
    /// Index of the record (None: the file header).
    pub record: Option<u64>,
    /// Byte offset of the record (or of the header).
    pub offset: u64,
    /// What is wrong.
    #[source]
    pub kind: CaptureErrorKind,
}

impl fmt::Display for CaptureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.record {
            Some(r) => write!(f, "record {r} at offset {}: {}", self.offset, self.kind),
            None => write!(f, "file header at offset {}: {}", self.offset, self.kind),
        }
    }
}

/// A byte source that counts its offset and reports short reads as [`CaptureError`]s.
pub(crate) struct Source<R> {
    inner: R,
    pub offset: u64,
}

impl<R: Read> Source<R> {
    pub fn new(inner: R, offset: u64) -> Source<R> {
        Source { inner, offset }
    }

    /// Fill `buf` as far as the input goes; gives the number of bytes read.
    #[inline]
    fn fill(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut n = 0;
        while n < buf.len() {
            match self.inner.read(&mut buf[n..]) {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        self.offset += n as u64;
        Ok(n)
    }

    /// Read exactly `buf.len()` bytes. `Ok(false)` when the input ended before the first
    /// byte (a clean end between records); a partial read is an error naming `what`.
    #[inline]
    pub fn read_or_end(
        &mut self,
        buf: &mut [u8],
        what: &'static str,
        record: Option<u64>,
        start: u64,
    ) -> Result<bool, CaptureError> {
        let n = self
            .fill(buf)
            .map_err(|e| err(record, start, CaptureErrorKind::Io(e)))?;
        if n == 0 && !buf.is_empty() {
            return Ok(false);
        }
        if n < buf.len() {
            return Err(err(
                record,
                start,
                CaptureErrorKind::Truncated {
                    what,
                    need: buf.len() as u64,
                    got: n as u64,
                },
            ));
        }
        Ok(true)
    }

    /// Read `len` bytes into a new vector, growing it as bytes arrive (an absurd length in
    /// a truncated file costs no more memory than the file has); a short read is an error.
    pub fn read_vec(
        &mut self,
        len: usize,
        what: &'static str,
        record: Option<u64>,
        start: u64,
    ) -> Result<Vec<u8>, CaptureError> {
        let mut v = Vec::with_capacity(len.min(64 * 1024));
        let n = (&mut self.inner)
            .take(len as u64)
            .read_to_end(&mut v)
            .map_err(|e| err(record, start, CaptureErrorKind::Io(e)))?;
        self.offset += n as u64;
        if n < len {
            return Err(err(
                record,
                start,
                CaptureErrorKind::Truncated {
                    what,
                    need: len as u64,
                    got: n as u64,
                },
            ));
        }
        Ok(v)
    }

    /// Read exactly `buf.len()` bytes; any short read is an error naming `what`.
    #[inline]
    pub fn read_all(
        &mut self,
        buf: &mut [u8],
        what: &'static str,
        record: Option<u64>,
        start: u64,
    ) -> Result<(), CaptureError> {
        let n = self
            .fill(buf)
            .map_err(|e| err(record, start, CaptureErrorKind::Io(e)))?;
        if n < buf.len() {
            return Err(err(
                record,
                start,
                CaptureErrorKind::Truncated {
                    what,
                    need: buf.len() as u64,
                    got: n as u64,
                },
            ));
        }
        Ok(())
    }
}

impl<'a> Source<&'a [u8]> {
    /// Whether the input held in memory is used up.
    #[inline]
    pub fn at_end(&self) -> bool {
        self.inner.is_empty()
    }

    /// The next `len` bytes of an input held in memory, lent rather than copied; a short
    /// input is an error naming `what`.
    #[inline]
    pub fn take_slice(
        &mut self,
        len: usize,
        what: &'static str,
        record: Option<u64>,
        start: u64,
    ) -> Result<&'a [u8], CaptureError> {
        let rest: &'a [u8] = self.inner;
        if rest.len() < len {
            return Err(err(
                record,
                start,
                CaptureErrorKind::Truncated {
                    what,
                    need: len as u64,
                    got: rest.len() as u64,
                },
            ));
        }
        let (bytes, tail) = rest.split_at(len);
        self.inner = tail;
        self.offset += len as u64;
        Ok(bytes)
    }
}

pub(crate) fn err(record: Option<u64>, offset: u64, kind: CaptureErrorKind) -> CaptureError {
    CaptureError {
        record,
        offset,
        kind,
    }
}

/// Reads packets from a pcap or pcapng stream, whichever it is.
pub enum CaptureReader<R> {
    /// Classic pcap.
    Pcap(pcap::PcapReader<R>),
    /// pcapng.
    Pcapng(pcapng::PcapngReader<R>),
}

impl<R: Read> CaptureReader<R> {
    /// Read the file header and recognise the format.
    ///
    /// # Errors
    /// [`CaptureErrorKind::WrongMagic`] for other files, or a malformed header.
    pub fn new(inner: R) -> Result<CaptureReader<R>, CaptureError> {
        let mut src = Source::new(inner, 0);
        let mut magic = [0u8; 4];
        let n = src
            .fill(&mut magic)
            .map_err(|e| err(None, 0, CaptureErrorKind::Io(e)))?;
        if n < 4 {
            return Err(err(
                None,
                0,
                CaptureErrorKind::Truncated {
                    what: "file magic",
                    need: 4,
                    got: n as u64,
                },
            ));
        }
        if magic == pcapng::SHB_TYPE.to_le_bytes() {
            Ok(CaptureReader::Pcapng(pcapng::PcapngReader::after_magic(
                src,
            )?))
        } else if let Some(format) = pcap::format_of_magic(magic) {
            Ok(CaptureReader::Pcap(pcap::PcapReader::after_magic(
                src, format,
            )?))
        } else {
            Err(err(None, 0, CaptureErrorKind::WrongMagic(magic.to_vec())))
        }
    }

    /// The container format.
    pub fn format(&self) -> Format {
        match self {
            CaptureReader::Pcap(r) => r.format(),
            CaptureReader::Pcapng(_) => Format::Pcapng,
        }
    }

    /// The next packet, `None` at the end of the file.
    ///
    /// # Errors
    /// A malformed record, with its index and offset.
    pub fn next_packet(&mut self) -> Result<Option<Packet>, CaptureError> {
        match self {
            CaptureReader::Pcap(r) => r.next_packet(),
            CaptureReader::Pcapng(r) => r.next_packet(),
        }
    }
}

impl<R: Read> CaptureReader<R> {
    /// [`next_packet`](Self::next_packet) into `packet`: `Ok(false)` at the end of the
    /// file. Classic pcap reuses `packet`'s buffer (no allocation per packet); pcapng
    /// replaces it.
    ///
    /// # Errors
    /// As [`next_packet`](Self::next_packet); `packet` is unspecified then.
    pub fn next_packet_into(&mut self, packet: &mut Packet) -> Result<bool, CaptureError> {
        Ok(self.next_packet_to(packet, |_| None)?.is_some())
    }

    /// The next packet's record into `packet` and its bytes into the buffer `dst` gives
    /// for the captured length, or into `packet.data` when it gives none or a buffer of
    /// another length (`packet.data` is left empty otherwise). Gives the captured length, `None` at
    /// the end of the file. Classic pcap copies the bytes once, from the file to the
    /// buffer; pcapng reads its block first.
    ///
    /// # Errors
    /// As [`next_packet`](Self::next_packet); `packet` and the buffer are unspecified then.
    #[inline]
    pub fn next_packet_to<'b>(
        &mut self,
        packet: &mut Packet,
        dst: impl FnOnce(usize) -> Option<&'b mut [u8]>,
    ) -> Result<Option<usize>, CaptureError> {
        match self {
            CaptureReader::Pcap(r) => r.next_packet_to(packet, dst),
            CaptureReader::Pcapng(r) => {
                let Some(p) = r.next_packet()? else {
                    return Ok(None);
                };
                *packet = p;
                let caplen = packet.data.len();
                if let Some(buf) = dst(caplen).filter(|b| b.len() == caplen) {
                    buf.copy_from_slice(&packet.data);
                    packet.data.clear();
                }
                Ok(Some(caplen))
            }
        }
    }
}

impl<R: Read> Iterator for CaptureReader<R> {
    type Item = Result<Packet, CaptureError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_packet().transpose()
    }
}

/// Writes packets as pcap or pcapng.
pub enum CaptureWriter<W: Write> {
    /// Classic pcap.
    Pcap(pcap::PcapWriter<W>),
    /// pcapng.
    Pcapng(pcapng::PcapngWriter<W>),
}

impl<W: Write> CaptureWriter<W> {
    /// A writer of `format` (pcap files are written little-endian, with the resolution
    /// the format names); writes the file header now.
    ///
    /// # Errors
    /// Writing failed.
    pub fn new(inner: W, format: Format) -> io::Result<CaptureWriter<W>> {
        Ok(match format {
            Format::Pcap { nanos, .. } => {
                CaptureWriter::Pcap(pcap::PcapWriter::new(inner, nanos, LINKTYPE_ETHERNET)?)
            }
            Format::Pcapng => CaptureWriter::Pcapng(pcapng::PcapngWriter::new(inner)?),
        })
    }

    /// Append one packet: its bytes, wire length, timestamp, and (pcapng) its interface
    /// and link type; pcapng interfaces are declared as they first appear.
    ///
    /// # Errors
    /// Writing failed, or the packet does not fit the format.
    pub fn write(
        &mut self,
        timestamp: Timestamp,
        data: &[u8],
        orig_len: u32,
        interface: u32,
        link_type: u32,
    ) -> io::Result<()> {
        match self {
            CaptureWriter::Pcap(w) => w.write_packet(timestamp, data, orig_len),
            CaptureWriter::Pcapng(w) => {
                let id = w.interface_for(interface, link_type)?;
                w.write_packet(id, timestamp, data, orig_len)
            }
        }
    }

    /// Flush and give the inner writer back.
    ///
    /// # Errors
    /// Flushing failed.
    pub fn finish(self) -> io::Result<W> {
        match self {
            CaptureWriter::Pcap(w) => w.finish(),
            CaptureWriter::Pcapng(w) => w.finish(),
        }
    }
}

/// Read a whole capture held in memory.
///
/// # Errors
/// The first malformed record.
pub fn read_all(bytes: &[u8]) -> Result<Vec<Packet>, CaptureError> {
    CaptureReader::new(bytes)?.collect()
}

/// The name of a link type, for messages.
pub fn link_type_name(link_type: u32) -> &'static str {
    match link_type {
        0 => "NULL",
        1 => "ETHERNET",
        101 => "RAW",
        105 => "IEEE802_11",
        113 => "LINUX_SLL",
        127 => "IEEE802_11_RADIOTAP",
        228 => "IPV4",
        229 => "IPV6",
        276 => "LINUX_SLL2",
        _ => "unknown",
    }
}
