//! # userbpf-benches: the programs the benchmarks run, on every engine
//!
//! Takes nothing; gives the benchmark workloads as eBPF assembly (assembled with
//! [`userbpf_isa::asm`]) together with the native Rust code that does the same work:
//!
//! - **primes**: count primes below a limit by trial division (loop-heavy ALU, no memory).
//!   [`PRIMES`] is the portable form (r1 ignored, limit 10,000 as an immediate), run by our
//!   interpreter and rbpf. [`PRIMES_KERNEL`] is the same loop for the kernel verifier: an
//!   XDP program reading the limit and the first candidate from the packet (so that the
//!   verifier cannot follow the loop counters) with `may_goto` in both loop heads.
//! - **copy**: copy the first half of the input to the second half byte by byte.
//!   [`copy_program`] takes the input as r1 (1 MiB copied from a 2 MiB buffer);
//!   [`copy_kernel_program`] is the XDP form, which bounds-checks every byte against
//!   `data_end` and copies half of a packet (test_run packets are at most about 3.5 KiB, so
//!   the kernel's number is scaled per byte).
//!
//! The bench binary (`benches/interp.rs`) times them; the tests here check that every
//! form computes the same answer on the interpreter.

use userbpf_isa::{asm, encode_program, Insn};

/// Primes below this limit are counted.
pub const PRIMES_LIMIT: u32 = 10_000;
/// The number of primes below [`PRIMES_LIMIT`].
pub const PRIMES_BELOW_LIMIT: u64 = 1229;
/// Bytes the copy benchmark copies (from the first half of a buffer twice this size).
pub const COPY_LEN: usize = 1 << 20;

/// Trial division, portable form: `r0 = #{p prime : 2 <= p < 10000}`.
pub const PRIMES: &str = "
    r0 = 0                      # count
    r6 = 2                      # candidate n
outer:
    if r6 >= 10000 goto done
    r7 = 2                      # divisor d
inner:
    r8 = r7
    r8 *= r7
    if r8 > r6 goto prime       # d * d > n: n is prime
    r9 = r6
    r9 %= r7
    if r9 == 0 goto next        # d divides n
    r7 += 1
    goto inner
prime:
    r0 += 1
next:
    r6 += 1
    goto outer
done:
    exit
";

/// Trial division for the kernel (XDP): the packet holds the limit (u32 at 0) and the first
/// candidate (u32 at 4); returns the count.
pub const PRIMES_KERNEL: &str = "
    r2 = *(u32 *)(r1 + 0)       # data
    r3 = *(u32 *)(r1 + 4)       # data_end
    r4 = r2
    r4 += 8
    r0 = 0
    if r4 > r3 goto done
    r5 = *(u32 *)(r2 + 0)       # limit
    r6 = *(u32 *)(r2 + 4)       # candidate n (2)
outer:
    may_goto done
    if r6 >= r5 goto done
    r7 = 2
inner:
    may_goto done
    r8 = r7
    r8 *= r7
    if r8 > r6 goto prime
    r9 = r6
    r9 %= r7
    if r9 == 0 goto next
    r7 += 1
    goto inner
prime:
    r0 += 1
next:
    r6 += 1
    goto outer
done:
    exit
";

/// Copy `len` bytes from `r1` to `r1 + len`, one byte per iteration; returns 0.
pub fn copy_program(len: u32) -> String {
    format!(
        "
    r2 = r1                     # source
    r3 = r1
    r3 += {len}                 # destination
    r4 = 0
loop:
    r5 = *(u8 *)(r2 + 0)
    *(u8 *)(r3 + 0) = r5
    r2 += 1
    r3 += 1
    r4 += 1
    if r4 < {len} goto loop
    r0 = 0
    exit
"
    )
}

/// Copy the first `half` bytes of an XDP packet to the bytes after them, checking each
/// access against `data_end`; returns 2 (`XDP_PASS`). The verifier walks every iteration,
/// so `half` should stay below a few thousand.
pub fn copy_kernel_program(half: u16) -> String {
    let end = half as u32 + 1;
    format!(
        "
    r2 = *(u32 *)(r1 + 0)       # data
    r3 = *(u32 *)(r1 + 4)       # data_end
    r8 = 0
loop:
    if r8 >= {half} goto done
    r7 = r2
    r7 += r8
    r6 = r7
    r6 += {end}
    if r6 > r3 goto done
    r5 = *(u8 *)(r7 + 0)
    *(u8 *)(r7 + {half}) = r5
    r8 += 1
    goto loop
done:
    r0 = 2
    exit
"
    )
}

/// Assemble one of the texts above.
///
/// # Panics
/// When the text does not assemble (a bug in this file).
pub fn assemble(text: &str) -> Vec<Insn> {
    asm::assemble(text).unwrap_or_else(|e| panic!("benchmark program: {e}\n{text}"))
}

/// Assemble and encode.
pub fn bytecode(text: &str) -> Vec<u8> {
    encode_program(&assemble(text))
}

/// Native trial division, the same algorithm.
pub fn native_primes(limit: u64) -> u64 {
    let mut count = 0;
    for n in 2..limit {
        let mut d = 2;
        let mut prime = true;
        while d * d <= n {
            if n % d == 0 {
                prime = false;
                break;
            }
            d += 1;
        }
        count += prime as u64;
    }
    count
}

/// Native byte copy of the first half of `buf` to its second half.
pub fn native_copy(buf: &mut [u8]) {
    let half = buf.len() / 2;
    let (src, dst) = buf.split_at_mut(half);
    for (d, s) in dst.iter_mut().zip(src.iter()) {
        *d = *s;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use userbpf_isa::Program;
    use userbpf_runtime::{Helpers, Interpreter};

    fn run(text: &str, input: &mut [u8]) -> u64 {
        let p = Program::from_insns(assemble(text));
        Interpreter::new(&p, &Helpers::new())
            .unwrap()
            .run_raw(input)
            .unwrap()
    }

    #[test]
    fn primes_agree() {
        assert_eq!(native_primes(PRIMES_LIMIT as u64), PRIMES_BELOW_LIMIT);
        assert_eq!(run(PRIMES, &mut []), PRIMES_BELOW_LIMIT);
    }

    #[test]
    fn copy_agrees() {
        let mut buf: Vec<u8> = (0..2048u32).map(|i| (i * 7) as u8).collect();
        let mut expected = buf.clone();
        native_copy(&mut expected);
        assert_eq!(run(&copy_program(1024), &mut buf), 0);
        assert_eq!(buf, expected);
    }

    #[test]
    fn kernel_forms_assemble() {
        assemble(PRIMES_KERNEL);
        assemble(&copy_kernel_program(1000));
    }
}
