//! The kernel's helper functions that do not need maps or packets, by kernel id.
//!
//! Takes a [`HelperEnv`] (who the current task is, where trace output goes); gives
//! [`register`], which adds to a [`Helpers`] registry: time (5, 118, 125, 160, 208),
//! randomness (7), CPU and NUMA ids (8, 42), task identity (14, 15, 16), probe reads (4, 45,
//! 112–115), trace_printk (6), trace_vprintk (177), snprintf (165), strncmp (182) and
//! csum_diff (28), and userbpf's built-ins `memset`, `memcpy`, `memmove`, `memcmp`
//! ([`builtins`]). Each follows the kernel's semantics and errno results. Helpers that need
//! maps, packets or callbacks are registered by the modules that own those; [`map_fast`]
//! gives compiled code direct calls of the map helpers.

pub mod basic;
pub mod builtins;
pub mod env;
pub mod format;
pub mod ids;
pub mod map_fast;

use std::sync::{Arc, Mutex, Weak};

pub use env::{HelperEnv, LocalEnv, TraceSink};

use crate::helpers::{Helper, HelperContext, HelperFn, Helpers};
use crate::memory::MemoryMap;

const EFAULT: u64 = (-14i64) as u64;
const EINVAL: u64 = (-22i64) as u64;
const E2BIG: u64 = (-7i64) as u64;

/// Most arguments trace_printk takes.
pub const MAX_TRACE_PRINTK_ARGS: usize = 3;
/// Most arguments trace_vprintk and snprintf take.
pub const MAX_BPRINTF_ARGS: usize = 12;

/// Read up to `max` bytes of a NUL-terminated string at `addr` from the run's memory, then
/// from the task; without the NUL.
fn read_str(memory: &MemoryMap<'_>, env: &dyn HelperEnv, addr: u64, max: usize) -> Option<Vec<u8>> {
    let bytes = match memory.find(addr, 1, false) {
        Some(r) => {
            let avail = (r.start + r.len - addr) as usize;
            memory.read_bytes(addr, avail.min(max)).ok()?
        }
        None => env.read_task_memory(addr, max)?,
    };
    let end = bytes.iter().position(|&b| b == 0);
    match end {
        Some(n) => Some(bytes[..n].to_vec()),
        // Unterminated within `max`: the kernel copies max-1 bytes and terminates.
        None if bytes.len() >= max => Some(bytes[..max.saturating_sub(1)].to_vec()),
        None => None,
    }
}

fn read(memory: &MemoryMap<'_>, env: &dyn HelperEnv, addr: u64, len: usize) -> Option<Vec<u8>> {
    memory
        .read_bytes(addr, len)
        .ok()
        // A task's memory may be readable only in part: the kernel fails the whole read.
        .or_else(|| env.read_task_memory(addr, len).filter(|b| b.len() == len))
}

struct FormatMem<'m, 'a> {
    memory: &'m MemoryMap<'a>,
    env: &'m dyn HelperEnv,
}

impl format::FormatMemory for FormatMem<'_, '_> {
    fn read(&self, addr: u64, len: usize) -> Option<Vec<u8>> {
        read(self.memory, self.env, addr, len)
    }
    fn read_str(&self, addr: u64, max: usize) -> Option<Vec<u8>> {
        read_str(self.memory, self.env, addr, max)
    }
}

/// Read `u64` arguments packed in program memory (trace_vprintk, snprintf).
fn packed_args(ctx: &HelperContext<'_, '_>, addr: u64, len: u64) -> Result<Vec<u64>, u64> {
    if !len.is_multiple_of(8) || len as usize > MAX_BPRINTF_ARGS * 8 {
        return Err(EINVAL);
    }
    if len == 0 {
        return Ok(Vec::new());
    }
    let bytes = ctx
        .memory
        .read_bytes(addr, len as usize)
        .map_err(|_| EFAULT)?;
    Ok(bytes
        .chunks_exact(8)
        .map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes")))
        .collect())
}

fn format_with(
    ctx: &HelperContext<'_, '_>,
    env: &dyn HelperEnv,
    fmt_addr: u64,
    fmt_len: u64,
    args: &[u64],
    max_args: usize,
) -> Result<Vec<u8>, u64> {
    if fmt_len == 0 || fmt_len > 4096 {
        return Err(EINVAL);
    }
    let fmt = ctx
        .memory
        .read_bytes(fmt_addr, fmt_len as usize)
        .map_err(|_| EFAULT)?;
    let mem = FormatMem {
        memory: ctx.memory,
        env,
    };
    format::bprintf(&fmt, args, max_args, &mem).map_err(|e| (-(e as i64)) as u64)
}

/// Ones'-complement sum of 32-bit words, as the kernel's csum_partial folds them.
fn csum_add(sum: u64, bytes: &[u8]) -> u64 {
    bytes.chunks_exact(4).fold(sum, |s, c| {
        s + u32::from_ne_bytes(c.try_into().expect("4 bytes")) as u64
    })
}

fn fold32(mut s: u64) -> u64 {
    while s >> 32 != 0 {
        s = (s & 0xffff_ffff) + (s >> 32);
    }
    s
}

/// Fold a 32-bit ones'-complement sum to 16 bits (without complementing).
fn fold16(s: u64) -> u64 {
    let s = (s & 0xffff) + (s >> 16);
    let s = (s & 0xffff) + (s >> 16);
    s & 0xffff
}

/// The `bpf_get_smp_processor_id` implementations [`register`] made (weak: each keeps its
/// allocation, so no other helper can get its address while it is listed). Dead entries are
/// pruned at each registration.
static OWN_SMP_PROCESSOR_ID: Mutex<Vec<Weak<HelperFn>>> = Mutex::new(Vec::new());

/// Whether `helper` is this module's `bpf_get_smp_processor_id` (registered by [`register`],
/// not replaced by a hook's own helper 8): it returns
/// [`maps::cpu::current_cpu`](crate::maps::cpu::current_cpu) of the calling thread and has
/// no other effect, so a JIT may read the slot inline
/// ([`current_cpu_ptr`](crate::maps::cpu::current_cpu_ptr)) instead of calling it.
pub fn is_own_smp_processor_id(helper: &Helper) -> bool {
    let own = OWN_SMP_PROCESSOR_ID
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    own.iter()
        .any(|w| std::ptr::addr_eq(w.as_ptr(), Arc::as_ptr(&helper.func)))
}

/// Register the helpers of this module, acting for `env`.
pub fn register(helpers: &mut Helpers, env: Arc<dyn HelperEnv>) {
    use ids::*;
    builtins::register(helpers);
    let nm = |id| name(id).unwrap_or("helper");
    helpers.register(KTIME_GET_NS, nm(KTIME_GET_NS), |_, _| {
        Ok(basic::clock_ns(libc::CLOCK_MONOTONIC))
    });
    helpers.register(KTIME_GET_BOOT_NS, nm(KTIME_GET_BOOT_NS), |_, _| {
        Ok(basic::clock_ns(libc::CLOCK_BOOTTIME))
    });
    helpers.register(KTIME_GET_COARSE_NS, nm(KTIME_GET_COARSE_NS), |_, _| {
        Ok(basic::clock_ns(libc::CLOCK_MONOTONIC_COARSE))
    });
    helpers.register(KTIME_GET_TAI_NS, nm(KTIME_GET_TAI_NS), |_, _| {
        Ok(basic::clock_ns(libc::CLOCK_TAI))
    });
    helpers.register(JIFFIES64, nm(JIFFIES64), |_, _| Ok(basic::jiffies64()));
    helpers.register(GET_PRANDOM_U32, nm(GET_PRANDOM_U32), |_, _| {
        Ok(basic::prandom_u32() as u64)
    });
    helpers.register(GET_SMP_PROCESSOR_ID, nm(GET_SMP_PROCESSOR_ID), |_, _| {
        Ok(basic::smp_processor_id() as u64)
    });
    if let Some(h) = helpers.get(GET_SMP_PROCESSOR_ID) {
        let mut own = OWN_SMP_PROCESSOR_ID
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        own.retain(|w| w.strong_count() > 0);
        own.push(Arc::downgrade(&h.func));
    }
    helpers.register(GET_NUMA_NODE_ID, nm(GET_NUMA_NODE_ID), |_, _| Ok(0));

    let e = env.clone();
    helpers.register(
        GET_CURRENT_PID_TGID,
        nm(GET_CURRENT_PID_TGID),
        move |_, _| Ok(e.pid_tgid()),
    );
    let e = env.clone();
    helpers.register(GET_CURRENT_UID_GID, nm(GET_CURRENT_UID_GID), move |_, _| {
        Ok(e.uid_gid())
    });
    let e = env.clone();
    helpers.register(GET_CURRENT_COMM, nm(GET_CURRENT_COMM), move |ctx, a| {
        let size = a[1] as usize;
        if size == 0 {
            return Ok(EINVAL);
        }
        // strscpy_pad: at most size - 1 bytes of the name, then NULs.
        let comm = e.comm();
        let len = comm
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(16)
            .min(size - 1);
        let mut buf = vec![0u8; size];
        buf[..len].copy_from_slice(&comm[..len]);
        ctx.memory.write_bytes(a[0], &buf)?;
        Ok(0)
    });

    // probe_read family: (dst, size, unsafe_ptr).
    for id in [PROBE_READ, PROBE_READ_USER, PROBE_READ_KERNEL] {
        let e = env.clone();
        helpers.register(id, nm(id), move |ctx, a| {
            let (dst, size, src) = (a[0], a[1] as usize, a[2]);
            match read(ctx.memory, e.as_ref(), src, size) {
                Some(bytes) => {
                    ctx.memory.write_bytes(dst, &bytes)?;
                    Ok(0)
                }
                None => {
                    ctx.memory.write_bytes(dst, &vec![0; size])?;
                    Ok(EFAULT)
                }
            }
        });
    }
    for id in [PROBE_READ_STR, PROBE_READ_USER_STR, PROBE_READ_KERNEL_STR] {
        let e = env.clone();
        helpers.register(id, nm(id), move |ctx, a| {
            let (dst, size, src) = (a[0], a[1] as usize, a[2]);
            if size == 0 {
                return Ok(0);
            }
            match read_str(ctx.memory, e.as_ref(), src, size) {
                Some(mut s) => {
                    s.push(0);
                    ctx.memory.write_bytes(dst, &s)?;
                    Ok(s.len() as u64)
                }
                None => {
                    ctx.memory.write_bytes(dst, &vec![0; size])?;
                    Ok(EFAULT)
                }
            }
        });
    }

    let e = env.clone();
    helpers.register(TRACE_PRINTK, nm(TRACE_PRINTK), move |ctx, a| {
        let args = [a[2], a[3], a[4]];
        match format_with(ctx, e.as_ref(), a[0], a[1], &args, MAX_TRACE_PRINTK_ARGS) {
            Ok(msg) => {
                e.trace(&msg);
                Ok(msg.len() as u64)
            }
            Err(errno) => Ok(errno),
        }
    });
    let e = env.clone();
    helpers.register(TRACE_VPRINTK, nm(TRACE_VPRINTK), move |ctx, a| {
        let args = match packed_args(ctx, a[2], a[3]) {
            Ok(v) => v,
            Err(errno) => return Ok(errno),
        };
        match format_with(ctx, e.as_ref(), a[0], a[1], &args, MAX_BPRINTF_ARGS) {
            Ok(msg) => {
                e.trace(&msg);
                Ok(msg.len() as u64)
            }
            Err(errno) => Ok(errno),
        }
    });
    let e = env.clone();
    helpers.register(SNPRINTF, nm(SNPRINTF), move |ctx, a| {
        let (out, out_size) = (a[0], a[1] as usize);
        let args = match packed_args(ctx, a[3], a[4]) {
            Ok(v) => v,
            Err(errno) => return Ok(errno),
        };
        let fmt_len = read_str(ctx.memory, e.as_ref(), a[2], 4096).map_or(0, |s| s.len() + 1);
        match format_with(
            ctx,
            e.as_ref(),
            a[2],
            fmt_len as u64,
            &args,
            MAX_BPRINTF_ARGS,
        ) {
            Ok(msg) => {
                if out_size > 0 {
                    let n = msg.len().min(out_size - 1);
                    let mut buf = msg[..n].to_vec();
                    buf.push(0);
                    ctx.memory.write_bytes(out, &buf)?;
                }
                // Like snprintf: the length the full output needs, with its NUL.
                Ok(msg.len() as u64 + 1)
            }
            Err(errno) => Ok(errno),
        }
    });
    let e = env.clone();
    helpers.register(STRNCMP, nm(STRNCMP), move |ctx, a| {
        let (s1, n, s2) = (a[0], a[1] as usize, a[2]);
        let left = ctx.memory.read_bytes(s1, n).map_err(|m| m.to_string())?;
        let right = read_str(ctx.memory, e.as_ref(), s2, 4096).unwrap_or_default();
        for (i, &c1) in left.iter().enumerate().take(n) {
            let c2 = right.get(i).copied().unwrap_or(0);
            if c1 != c2 {
                return Ok(if c1 < c2 { (-1i64) as u64 } else { 1 });
            }
            if c1 == 0 {
                break;
            }
        }
        Ok(0)
    });
    helpers.register(CSUM_DIFF, nm(CSUM_DIFF), |ctx, a| {
        let (from, from_size, to, to_size, seed) = (a[0], a[1], a[2], a[3], a[4]);
        if !from_size.is_multiple_of(4)
            || !to_size.is_multiple_of(4)
            || from_size > 512
            || to_size > 512
        {
            return Ok(if from_size > 512 || to_size > 512 {
                E2BIG
            } else {
                EINVAL
            });
        }
        let from = ctx.memory.read_bytes(from, from_size as usize)?;
        let to = ctx.memory.read_bytes(to, to_size as usize)?;
        let inverted: Vec<u8> = from.iter().map(|b| !b).collect();
        let sum = csum_add(csum_add(seed as u32 as u64, &inverted), &to);
        // Since Linux 6.12 the result is folded to 16 bits on every architecture
        // (csum_from32to16), not the raw 32-bit partial sum.
        Ok(fold16(fold32(sum)))
    });
}

/// A registry with this module's helpers acting for the calling process, trace output on
/// standard error.
pub fn local_helpers() -> Helpers {
    let mut h = Helpers::new();
    register(&mut h, Arc::new(LocalEnv::default()));
    h
}
