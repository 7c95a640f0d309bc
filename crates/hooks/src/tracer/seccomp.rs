//! The seccomp filter of the tracer's fast path.
//!
//! Takes the syscall numbers the hooks need; gives a classic BPF seccomp program that
//! returns `SECCOMP_RET_TRACE` (a `PTRACE_EVENT_SECCOMP` stop for the tracer) for those
//! numbers and `SECCOMP_RET_ALLOW` for every other syscall, so that a spawned command stops
//! only at the syscalls some program is attached to. Syscalls of any other ABI (i386
//! `int 0x80`, x32) are always traced, as the tracer sees them without the filter.

/// `SECCOMP_RET_TRACE`.
const RET_TRACE: u32 = 0x7ff0_0000;
/// `SECCOMP_RET_ALLOW`.
const RET_ALLOW: u32 = 0x7fff_0000;
/// `AUDIT_ARCH_X86_64`.
const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
/// The x32 ABI's bit in x86-64 syscall numbers.
const X32_SYSCALL_BIT: u32 = 0x4000_0000;

/// Offsets in `struct seccomp_data`.
const DATA_NR: u32 = 0;
const DATA_ARCH: u32 = 4;

// Classic BPF opcodes.
const LD_W_ABS: u16 = 0x20; // BPF_LD (0) | BPF_W (0) | BPF_ABS (0x20)
const JEQ_K: u16 = 0x15; // BPF_JMP (5) | BPF_JEQ (0x10) | BPF_K (0)
const JGE_K: u16 = 0x35; // BPF_JMP (5) | BPF_JGE (0x30) | BPF_K (0)
const RET_K: u16 = 0x06; // BPF_RET (6) | BPF_K (0)

/// Most syscall numbers one filter lists (each jump to the shared `RET_TRACE` must fit
/// classic BPF's 8-bit jump offsets).
pub const MAX_NUMBERS: usize = 250;

fn insn(code: u16, jt: u8, jf: u8, k: u32) -> libc::sock_filter {
    libc::sock_filter { code, jt, jf, k }
}

/// The filter tracing exactly `numbers` (x86-64 syscall numbers; duplicates and numbers
/// that are no syscall are harmless); None when there are more than [`MAX_NUMBERS`].
pub fn filter(numbers: &[u64]) -> Option<Vec<libc::sock_filter>> {
    let mut nrs: Vec<u32> = numbers
        .iter()
        .filter_map(|&n| u32::try_from(n).ok())
        .collect();
    nrs.sort_unstable();
    nrs.dedup();
    if nrs.len() > MAX_NUMBERS {
        return None;
    }
    let n = nrs.len();
    let mut prog = vec![
        insn(LD_W_ABS, 0, 0, DATA_ARCH),
        // Another architecture: trace (jump over the rest to RET_TRACE).
        insn(JEQ_K, 0, (n + 3) as u8, AUDIT_ARCH_X86_64),
        insn(LD_W_ABS, 0, 0, DATA_NR),
        // x32: trace.
        insn(JGE_K, (n + 1) as u8, 0, X32_SYSCALL_BIT),
    ];
    for (i, &nr) in nrs.iter().enumerate() {
        // Match: skip the remaining comparisons and RET_ALLOW.
        prog.push(insn(JEQ_K, (n - i) as u8, 0, nr));
    }
    prog.push(insn(RET_K, 0, 0, RET_ALLOW));
    prog.push(insn(RET_K, 0, 0, RET_TRACE));
    Some(prog)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A classic BPF interpreter for the instructions `filter` emits, over
    /// `struct seccomp_data` { nr, arch }.
    fn run(prog: &[libc::sock_filter], nr: u32, arch: u32) -> u32 {
        let mut a = 0u32;
        let mut pc = 0usize;
        loop {
            let i = prog[pc];
            pc += 1;
            match i.code {
                LD_W_ABS => a = if i.k == DATA_NR { nr } else { arch },
                JEQ_K => pc += usize::from(if a == i.k { i.jt } else { i.jf }),
                JGE_K => pc += usize::from(if a >= i.k { i.jt } else { i.jf }),
                RET_K => return i.k,
                other => panic!("unexpected opcode {other:#x}"),
            }
        }
    }

    #[test]
    fn traces_exactly_the_listed_numbers() {
        let prog = filter(&[257, 0, 257, 59]).unwrap();
        for nr in 0..400u32 {
            let want = if [0, 59, 257].contains(&nr) {
                RET_TRACE
            } else {
                RET_ALLOW
            };
            assert_eq!(run(&prog, nr, AUDIT_ARCH_X86_64), want, "nr {nr}");
        }
        assert_eq!(
            run(&prog, 39 | X32_SYSCALL_BIT, AUDIT_ARCH_X86_64),
            RET_TRACE
        );
        // i386 (int 0x80): always traced.
        assert_eq!(run(&prog, 20, 0x4000_0003), RET_TRACE);
    }

    #[test]
    fn empty_and_largest_sets() {
        let prog = filter(&[]).unwrap();
        assert_eq!(run(&prog, 39, AUDIT_ARCH_X86_64), RET_ALLOW);
        assert_eq!(run(&prog, 39, 0x4000_0003), RET_TRACE);
        let all: Vec<u64> = (0..MAX_NUMBERS as u64).collect();
        let prog = filter(&all).unwrap();
        assert_eq!(run(&prog, 0, AUDIT_ARCH_X86_64), RET_TRACE);
        assert_eq!(
            run(&prog, MAX_NUMBERS as u32 - 1, AUDIT_ARCH_X86_64),
            RET_TRACE
        );
        assert_eq!(run(&prog, MAX_NUMBERS as u32, AUDIT_ARCH_X86_64), RET_ALLOW);
        let too_many: Vec<u64> = (0..=MAX_NUMBERS as u64).collect();
        assert!(filter(&too_many).is_none());
    }
}
