//! Loading programs into the kernel and running them with `BPF_PROG_TEST_RUN`.
//!
//! Takes raw instruction bytes, a license and load options; gives a [`ProgFd`] (the kernel's
//! verdict "accepted", closed on drop) or a [`LoadFailure`] with the errno and the verifier
//! log. A [`ProgFd`] runs on caller-supplied packet data and gives a [`TestRunResult`].

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use crate::attr::{ProgLoadAttr, TestRunAttr, BPF_OBJ_NAME_LEN, BPF_PROG_LOAD, BPF_PROG_TEST_RUN};
use crate::sys::{Linux, Sys};

/// Program types (`enum bpf_prog_type`) the oracle uses; any other number may be passed.
pub mod prog_type {
    /// `BPF_PROG_TYPE_SOCKET_FILTER`: context `__sk_buff`; test_run needs >= 14 bytes.
    #[doc(alias = "BPF_PROG_TYPE_SOCKET_FILTER")]
    pub const SOCKET_FILTER: u32 = 1;
    /// `BPF_PROG_TYPE_SCHED_CLS` (tc): context `__sk_buff` with direct packet access.
    #[doc(alias = "BPF_PROG_TYPE_SCHED_CLS")]
    pub const SCHED_CLS: u32 = 3;
    /// `BPF_PROG_TYPE_XDP`: context `xdp_md`; test_run needs 14 bytes (`ETH_HLEN`) up to
    /// about a page minus headroom and tailroom (3,520 bytes with 4 KiB pages).
    #[doc(alias = "BPF_PROG_TYPE_XDP")]
    pub const XDP: u32 = 6;
}

/// Verifier log sizes tried, smallest first (the kernel caps a log at 16 MiB - 1).
const LOG_SIZES: [usize; 3] = [64 * 1024, 1024 * 1024, (16 << 20) - 1];

/// Options of `BPF_PROG_LOAD` beyond type, instructions and license.
#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    /// `log_level`: 0 (no log unless the load fails), 1, 2, or with 4 (stats).
    pub log_level: u32,
    /// `expected_attach_type` (`enum bpf_attach_type`).
    pub expected_attach_type: u32,
    /// `prog_flags` (`BPF_F_*`).
    pub prog_flags: u32,
    /// `prog_name`: at most 15 bytes are kept.
    pub name: String,
    /// `prog_btf_fd`: the BTF that `func_info` refers to ([`crate::btf_load`]).
    pub btf_fd: Option<RawFd>,
    /// `func_info`: `(insn_off, type_id)` of every function of the program, the entry
    /// first (`insn_off` 0), in slot order; `type_id` names a `BTF_KIND_FUNC` in `btf_fd`.
    pub func_info: Vec<(u32, u32)>,
    /// `attach_btf_id`: for tracing and LSM programs, the id in vmlinux's BTF of the
    /// function (or hook) they attach to; 0 for none.
    pub attach_btf_id: u32,
}

/// The kernel refused a program.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("BPF_PROG_LOAD failed: {} (errno {errno}){}", io::Error::from_raw_os_error(*errno), log_suffix(log))]
pub struct LoadFailure {
    /// The errno (`EACCES` or `EINVAL` for verifier rejections, `EPERM` without privilege).
    pub errno: i32,
    /// The verifier log (empty when the kernel wrote none).
    pub log: String,
}

fn log_suffix(log: &str) -> String {
    if log.trim().is_empty() {
        String::new()
    } else {
        format!("\nverifier log:\n{}", log.trim_end())
    }
}

/// A loaded program: the file descriptor the kernel returned. Dropping it closes the fd.
#[derive(Debug)]
pub struct ProgFd {
    fd: OwnedFd,
    log: String,
}

/// Inputs of one `BPF_PROG_TEST_RUN`.
#[derive(Clone, Copy, Debug, Default)]
pub struct TestRunOptions<'a> {
    /// Packet data (`data_in`).
    pub data_in: &'a [u8],
    /// Capacity offered for `data_out` (0: no output wanted).
    pub data_out_capacity: usize,
    /// Context (`ctx_in`), for program types that accept one.
    pub ctx_in: Option<&'a [u8]>,
    /// Capacity offered for `ctx_out`.
    pub ctx_out_capacity: usize,
    /// Run this many times (0 counts as 1); `duration_ns` is the mean.
    pub repeat: u32,
    /// `BPF_F_TEST_*` flags.
    pub flags: u32,
}

/// Outputs of one `BPF_PROG_TEST_RUN`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TestRunResult {
    /// The program's return value (the kernel keeps only the low 32 bits of r0).
    pub retval: u32,
    /// Mean run time in nanoseconds, as measured by the kernel.
    pub duration_ns: u32,
    /// The packet after the run (truncated to `data_out_capacity`).
    pub data_out: Vec<u8>,
    /// The context after the run (empty unless asked for).
    pub ctx_out: Vec<u8>,
}

/// Load `insns` (raw 8-byte instruction slots) as a program of `prog_type`.
///
/// With `log_level` 0 the kernel writes no log; on failure the load is repeated with
/// level 1 so that the [`LoadFailure`] carries the verifier's explanation.
///
/// # Errors
/// [`LoadFailure`] with the errno and the verifier log.
///
/// ```no_run
/// // r0 = 0; exit
/// let insns = [0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0];
/// let prog = userbpf_kernel::prog_load(userbpf_kernel::prog_type::XDP, &insns, "GPL", 0)?;
/// let run = prog.test_run(&[0u8; 14], 1, 64)?;
/// assert_eq!(run.retval, 0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[doc(alias = "BPF_PROG_LOAD")]
pub fn prog_load(
    prog_type: u32,
    insns: &[u8],
    license: &str,
    log_level: u32,
) -> Result<ProgFd, LoadFailure> {
    let opts = LoadOptions {
        log_level,
        ..LoadOptions::default()
    };
    prog_load_with(prog_type, insns, license, &opts)
}

/// [`prog_load`] with all options.
///
/// # Errors
/// [`LoadFailure`] with the errno and the verifier log; `EINVAL` without a syscall when
/// `insns` is not a whole number of 8-byte slots or `license` contains a NUL byte.
pub fn prog_load_with(
    prog_type: u32,
    insns: &[u8],
    license: &str,
    opts: &LoadOptions,
) -> Result<ProgFd, LoadFailure> {
    load_in(&Linux, prog_type, insns, license, opts)
}

fn einval(log: &str) -> LoadFailure {
    LoadFailure {
        errno: libc::EINVAL,
        log: log.to_string(),
    }
}

pub(crate) fn load_in<S: Sys>(
    sys: &S,
    prog_type: u32,
    insns: &[u8],
    license: &str,
    opts: &LoadOptions,
) -> Result<ProgFd, LoadFailure> {
    if !insns.len().is_multiple_of(8) || insns.is_empty() {
        return Err(einval(
            "instructions must be a non-empty multiple of 8 bytes",
        ));
    }
    let insn_cnt = u32::try_from(insns.len() / 8).map_err(|_| einval("too many instructions"))?;
    let license = CString::new(license).map_err(|_| einval("license contains a NUL byte"))?;
    let mut name = [0u8; BPF_OBJ_NAME_LEN];
    for (d, s) in name
        .iter_mut()
        .zip(
            opts.name
                .bytes()
                .filter(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'.'),
        )
        .take(BPF_OBJ_NAME_LEN - 1)
    {
        *d = s;
    }
    // struct bpf_func_info { __u32 insn_off; __u32 type_id; }, 8 bytes per record.
    let func_info: Vec<u32> = opts
        .func_info
        .iter()
        .flat_map(|&(off, id)| [off, id])
        .collect();
    let btf_fd = match opts.btf_fd {
        Some(fd) => u32::try_from(fd).map_err(|_| einval("negative BTF fd"))?,
        None => 0,
    };
    let func_info_cnt =
        u32::try_from(opts.func_info.len()).map_err(|_| einval("too many func_info"))?;
    let base = ProgLoadAttr {
        prog_type,
        insn_cnt,
        insns: insns.as_ptr() as u64,
        license: license.as_ptr() as u64,
        prog_flags: opts.prog_flags,
        prog_name: name,
        expected_attach_type: opts.expected_attach_type,
        prog_btf_fd: btf_fd,
        func_info_rec_size: if func_info.is_empty() { 0 } else { 8 },
        func_info: if func_info.is_empty() {
            0
        } else {
            func_info.as_ptr() as u64
        },
        func_info_cnt,
        attach_btf_id: opts.attach_btf_id,
        ..ProgLoadAttr::default()
    };

    let attempt = |level: u32, log: &mut Vec<u8>| {
        let mut attr = base;
        attr.log_level = level;
        if level != 0 {
            attr.log_buf = log.as_mut_ptr() as u64;
            attr.log_size = log.len() as u32;
        }
        let r = sys.bpf(BPF_PROG_LOAD, &mut attr);
        (r, attr.log_true_size as usize)
    };

    let mut first_errno = None;
    let levels: &[u32] = if opts.log_level == 0 {
        &[0, 1]
    } else {
        &[opts.log_level]
    };
    for &level in levels {
        for &size in &LOG_SIZES {
            let mut log = vec![0u8; if level == 0 { 0 } else { size }];
            let (r, true_size) = attempt(level, &mut log);
            match r {
                Ok(fd) => {
                    if let Some(errno) = first_errno {
                        // Accepted only with a log: report the first verdict anyway.
                        return Err(LoadFailure {
                            errno,
                            log: c_string(&log),
                        });
                    }
                    let fd = RawFd::try_from(fd).map_err(|_| einval("fd out of range"))?;
                    // SAFETY: BPF_PROG_LOAD returned a fresh file descriptor that nothing
                    // else owns; OwnedFd takes it over and closes it once.
                    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
                    return Ok(ProgFd {
                        fd,
                        log: c_string(&log),
                    });
                }
                Err(e) => {
                    let errno = e.raw_os_error().unwrap_or(libc::EIO);
                    let truncated = level != 0
                        && errno == libc::ENOSPC
                        && (true_size > log.len() || true_size == 0);
                    if truncated && size != LOG_SIZES[LOG_SIZES.len() - 1] {
                        continue;
                    }
                    if level == 0 && levels.len() > 1 {
                        first_errno = Some(errno);
                        break;
                    }
                    return Err(LoadFailure {
                        errno: first_errno.unwrap_or(errno),
                        log: c_string(&log),
                    });
                }
            }
        }
    }
    Err(einval("unreachable: no load attempt made"))
}

fn c_string(buf: &[u8]) -> String {
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

impl ProgFd {
    /// The verifier log of the load (empty with `log_level` 0).
    pub fn log(&self) -> &str {
        &self.log
    }

    /// The program's global id (`bpf_prog_info.id`), which lookups in program arrays
    /// return.
    ///
    /// # Errors
    /// The errno of `BPF_OBJ_GET_INFO_BY_FD`.
    pub fn id(&self) -> io::Result<u32> {
        Ok(crate::map::info_head_in(&Linux, self.fd.as_raw_fd())?.id)
    }

    /// Run the program `repeat` times on `data_in`, collecting up to `data_out_capacity`
    /// bytes of the resulting packet.
    ///
    /// # Errors
    /// The errno of `BPF_PROG_TEST_RUN` (e.g. `EINVAL` for data shorter than the program
    /// type allows, `ENOTSUPP` (524) for types without test_run).
    #[doc(alias = "BPF_PROG_TEST_RUN")]
    pub fn test_run(
        &self,
        data_in: &[u8],
        repeat: u32,
        data_out_capacity: usize,
    ) -> io::Result<TestRunResult> {
        self.test_run_with(&TestRunOptions {
            data_in,
            data_out_capacity,
            repeat,
            ..TestRunOptions::default()
        })
    }

    /// `BPF_PROG_TEST_RUN` with all options.
    ///
    /// # Errors
    /// The errno of the syscall; `EINVAL` without a syscall for inputs over 4 GiB.
    pub fn test_run_with(&self, opts: &TestRunOptions<'_>) -> io::Result<TestRunResult> {
        test_run_in(&Linux, self.fd.as_raw_fd(), opts)
    }
}

impl AsRawFd for ProgFd {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

fn len32(n: usize) -> io::Result<u32> {
    u32::try_from(n).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))
}

pub(crate) fn test_run_in<S: Sys>(
    sys: &S,
    fd: RawFd,
    opts: &TestRunOptions<'_>,
) -> io::Result<TestRunResult> {
    let mut data_out = vec![0u8; opts.data_out_capacity];
    let mut ctx_out = vec![0u8; opts.ctx_out_capacity];
    let ctx_in = opts.ctx_in.unwrap_or(&[]);
    let nonnull = |p: u64, len: usize| if len == 0 { 0 } else { p };
    let mut attr = TestRunAttr {
        prog_fd: fd as u32,
        data_size_in: len32(opts.data_in.len())?,
        data_size_out: len32(data_out.len())?,
        data_in: nonnull(opts.data_in.as_ptr() as u64, opts.data_in.len()),
        data_out: nonnull(data_out.as_mut_ptr() as u64, data_out.len()),
        repeat: opts.repeat,
        ctx_size_in: len32(ctx_in.len())?,
        ctx_size_out: len32(ctx_out.len())?,
        ctx_in: nonnull(ctx_in.as_ptr() as u64, ctx_in.len()),
        ctx_out: nonnull(ctx_out.as_mut_ptr() as u64, ctx_out.len()),
        flags: opts.flags,
        ..TestRunAttr::default()
    };
    sys.bpf(BPF_PROG_TEST_RUN, &mut attr)?;
    data_out.truncate((attr.data_size_out as usize).min(opts.data_out_capacity));
    ctx_out.truncate((attr.ctx_size_out as usize).min(opts.ctx_out_capacity));
    Ok(TestRunResult {
        retval: attr.retval,
        duration_ns: attr.duration,
        data_out,
        ctx_out,
    })
}
