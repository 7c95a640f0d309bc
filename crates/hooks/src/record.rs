//! Contexts of syscall hooks, byte for byte as the kernel builds them on x86-64.
//!
//! Takes a syscall stop (number, arguments or return value, registers); gives:
//! - the syscall tracepoint record (`events/syscalls/sys_enter_NAME/format`): `common_type`
//!   u16, `common_flags` u8, `common_preempt_count` u8, `common_pid` i32, `__syscall_nr`
//!   i32 at 8, 4 bytes of padding, then each argument as 8 bytes from 16 (enter) or `ret`
//!   (long) at 16 (exit);
//! - `struct pt_regs` (168 bytes) from the tracee's `user_regs_struct`, whose first 21
//!   members are pt_regs in the same order;
//! - `struct bpf_raw_tracepoint_args` for `sys_enter` (`regs`, `id`) and `sys_exit` (`regs`,
//!   `ret`).

use userbpf_runtime::context::tracing::PT_REGS_SIZE;

use crate::sys::Regs;

/// Offset of the first argument (or of `ret`) in a syscall record.
pub const ARGS_OFFSET: usize = 16;

/// The common header of a trace record.
fn header(rec: &mut [u8], common_type: u16, pid: i32) {
    rec[0..2].copy_from_slice(&common_type.to_ne_bytes());
    rec[2] = 0; // common_flags
    rec[3] = 0; // common_preempt_count
    rec[4..8].copy_from_slice(&pid.to_ne_bytes());
}

/// A `sys_enter_*` record with `nargs` arguments.
pub fn sys_enter_record(
    common_type: u16,
    pid: i32,
    nr: u64,
    args: &[u64; 6],
    nargs: usize,
) -> Vec<u8> {
    let nargs = nargs.min(6);
    let mut rec = vec![0u8; ARGS_OFFSET + 8 * nargs];
    header(&mut rec, common_type, pid);
    rec[8..12].copy_from_slice(&(nr as i32).to_ne_bytes());
    for (i, a) in args.iter().take(nargs).enumerate() {
        let at = ARGS_OFFSET + 8 * i;
        rec[at..at + 8].copy_from_slice(&a.to_ne_bytes());
    }
    rec
}

/// A `sys_exit_*` record.
pub fn sys_exit_record(common_type: u16, pid: i32, nr: u64, ret: i64) -> Vec<u8> {
    let mut rec = vec![0u8; ARGS_OFFSET + 8];
    header(&mut rec, common_type, pid);
    rec[8..12].copy_from_slice(&(nr as i32).to_ne_bytes());
    rec[16..24].copy_from_slice(&ret.to_ne_bytes());
    rec
}

/// x86-64 `struct pt_regs` from the tracee's registers.
pub fn pt_regs(regs: &Regs) -> [u8; PT_REGS_SIZE] {
    let words = [
        regs.r15,
        regs.r14,
        regs.r13,
        regs.r12,
        regs.rbp,
        regs.rbx,
        regs.r11,
        regs.r10,
        regs.r9,
        regs.r8,
        regs.rax,
        regs.rcx,
        regs.rdx,
        regs.rsi,
        regs.rdi,
        regs.orig_rax,
        regs.rip,
        regs.cs,
        regs.eflags,
        regs.rsp,
        regs.ss,
    ];
    let mut out = [0u8; PT_REGS_SIZE];
    for (i, w) in words.iter().enumerate() {
        out[i * 8..i * 8 + 8].copy_from_slice(&w.to_ne_bytes());
    }
    out
}

/// `struct bpf_raw_tracepoint_args { u64 args[2]; }`.
pub fn raw_tp_args(regs_addr: u64, second: u64) -> [u8; 16] {
    let mut out = [0u8; 16];
    out[..8].copy_from_slice(&regs_addr.to_ne_bytes());
    out[8..].copy_from_slice(&second.to_ne_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enter_layout() {
        let rec = sys_enter_record(782, 1234, 257, &[1, 2, 3, 4, 5, 6], 4);
        assert_eq!(rec.len(), 48);
        assert_eq!(u16::from_ne_bytes([rec[0], rec[1]]), 782);
        assert_eq!(i32::from_ne_bytes(rec[4..8].try_into().unwrap()), 1234);
        assert_eq!(i32::from_ne_bytes(rec[8..12].try_into().unwrap()), 257);
        assert_eq!(&rec[12..16], &[0; 4]);
        assert_eq!(u64::from_ne_bytes(rec[24..32].try_into().unwrap()), 2);
        assert_eq!(u64::from_ne_bytes(rec[40..48].try_into().unwrap()), 4);
    }

    #[test]
    fn exit_layout() {
        let rec = sys_exit_record(781, 7, 257, -2);
        assert_eq!(rec.len(), 24);
        assert_eq!(i64::from_ne_bytes(rec[16..24].try_into().unwrap()), -2);
    }
}
