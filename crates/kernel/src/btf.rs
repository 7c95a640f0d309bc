//! Loading an object's BTF into the kernel (`BPF_BTF_LOAD`), so that programs can carry
//! `func_info` (which the verifier requires for callbacks such as `bpf_loop`'s and for
//! global functions).
//!
//! Takes the raw `.BTF` section as clang wrote it; gives a [`BtfFd`]. clang leaves every
//! `DATASEC` with size 0 and its variables at offset 0 (the linker or loader knows the
//! section layout); the kernel refuses that, so, as libbpf fixes them up before loading,
//! [`sanitize`] gives each `DATASEC` a layout its checks accept: variables laid out one after
//! the other with the sizes clang recorded, the section as large as their sum. The layout
//! is only descriptive here: maps are created without BTF value types, so nothing reads it.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use crate::attr::{BtfLoadAttr, BPF_BTF_LOAD};
use crate::prog::LoadFailure;
use crate::sys::{Linux, Sys};

const BTF_MAGIC: u16 = 0xeb9f;
const KIND_DATASEC: u32 = 15;

/// BTF loaded into the kernel; closed on drop.
#[derive(Debug)]
pub struct BtfFd {
    fd: OwnedFd,
}

impl AsRawFd for BtfFd {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// Bytes that follow the 12-byte common header of a type of `kind` with `vlen`.
fn extra_len(kind: u32, vlen: usize) -> Option<usize> {
    Some(match kind {
        // INT, VAR, DECL_TAG: one u32.
        1 | 14 | 17 => 4,
        // PTR, FWD, TYPEDEF, VOLATILE, CONST, RESTRICT, FUNC, FLOAT, TYPE_TAG.
        2 | 7..=12 | 16 | 18 => 0,
        // ARRAY: struct btf_array.
        3 => 12,
        // STRUCT, UNION: btf_member; DATASEC: btf_var_secinfo; ENUM64: btf_enum64.
        4 | 5 | 15 | 19 => 12 * vlen,
        // ENUM: btf_enum; FUNC_PROTO: btf_param.
        6 | 13 => 8 * vlen,
        _ => return None,
    })
}

/// The raw BTF with every `DATASEC` given a consistent size and variable offsets.
///
/// # Errors
/// A message when the bytes are not little-endian BTF this walker understands.
pub fn sanitize(raw: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = raw.to_vec();
    let magic = raw
        .get(0..2)
        .map(|m| u16::from_le_bytes([m[0], m[1]]))
        .ok_or("BTF shorter than its header")?;
    if magic != BTF_MAGIC {
        return Err(format!("not little-endian BTF (magic {magic:#x})"));
    }
    let field = |at| {
        u32_at(raw, at)
            .ok_or("BTF header truncated")
            .map(|v| v as usize)
    };
    let hdr_len = field(4)?;
    let type_off = hdr_len + field(8)?;
    let type_end = type_off + field(12)?;
    if type_end > raw.len() {
        return Err("BTF type section out of bounds".into());
    }
    let mut at = type_off;
    while at < type_end {
        let info = u32_at(raw, at + 4).ok_or("BTF type truncated")?;
        let kind = (info >> 24) & 0x1f;
        let vlen = (info & 0xffff) as usize;
        let extra = extra_len(kind, vlen).ok_or(format!("unknown BTF kind {kind}"))?;
        if at + 12 + extra > type_end {
            return Err("BTF type truncated".into());
        }
        if kind == KIND_DATASEC {
            let mut offset: u32 = 0;
            for i in 0..vlen {
                let rec = at + 12 + 12 * i;
                let size = u32_at(raw, rec + 8).ok_or("BTF DATASEC truncated")?;
                out[rec + 4..rec + 8].copy_from_slice(&offset.to_le_bytes());
                offset = offset.saturating_add(size);
            }
            out[at + 8..at + 12].copy_from_slice(&offset.max(1).to_le_bytes());
        }
        at += 12 + extra;
    }
    Ok(out)
}

/// Load BTF (already [`sanitize`]d) into the kernel.
///
/// # Errors
/// [`LoadFailure`] with the errno and the kernel's BTF verifier log.
#[doc(alias = "BPF_BTF_LOAD")]
pub fn btf_load(btf: &[u8]) -> Result<BtfFd, LoadFailure> {
    btf_load_in(&Linux, btf)
}

pub(crate) fn btf_load_in<S: Sys>(sys: &S, btf: &[u8]) -> Result<BtfFd, LoadFailure> {
    let einval = |log: &str| LoadFailure {
        errno: libc::EINVAL,
        log: log.into(),
    };
    let size = u32::try_from(btf.len()).map_err(|_| einval("BTF over 4 GiB"))?;
    let attempt = |log: &mut [u8]| {
        let mut attr = BtfLoadAttr {
            btf: btf.as_ptr() as u64,
            btf_size: size,
            ..BtfLoadAttr::default()
        };
        if !log.is_empty() {
            attr.btf_log_buf = log.as_mut_ptr() as u64;
            attr.btf_log_size = log.len() as u32;
            attr.btf_log_level = 1;
        }
        sys.bpf(BPF_BTF_LOAD, &mut attr)
    };
    let fd = match attempt(&mut []) {
        Ok(fd) => fd,
        Err(e) => {
            let errno = e.raw_os_error().unwrap_or(libc::EIO);
            // Repeat with a log to say why.
            let mut log = vec![0u8; 64 * 1024];
            let _ = attempt(&mut log);
            let end = log.iter().position(|&b| b == 0).unwrap_or(log.len());
            return Err(LoadFailure {
                errno,
                log: String::from_utf8_lossy(&log[..end]).into_owned(),
            });
        }
    };
    let fd = RawFd::try_from(fd).map_err(|_| einval("fd out of range"))?;
    // SAFETY: BPF_BTF_LOAD returned a fresh file descriptor that nothing else owns;
    // OwnedFd takes it over and closes it once.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    Ok(BtfFd { fd })
}

/// An `io::Error` view of a load failure (for callers that only want the errno).
impl From<LoadFailure> for io::Error {
    fn from(f: LoadFailure) -> io::Error {
        io::Error::from_raw_os_error(f.errno)
    }
}
