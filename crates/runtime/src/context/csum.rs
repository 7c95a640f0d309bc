//! Internet checksum arithmetic as the kernel's `include/net/checksum.h` does it.
//!
//! Takes 16-bit checksums as they sit in packet memory (read as native little-endian `u16`,
//! as the kernel's `__sum16` is) and 32-bit partial sums (`__wsum`); gives the in-place
//! update operations the `bpf_l3_csum_replace` / `bpf_l4_csum_replace` helpers use. Ones'
//! complement sums do not depend on byte order as long as every operand is read the same
//! way, which the helpers guarantee by taking `from` and `to` as the program passes them.

/// `csum_add`: 32-bit ones' complement addition (end-around carry).
pub fn csum_add(a: u32, b: u32) -> u32 {
    let (s, carry) = a.overflowing_add(b);
    s.wrapping_add(carry as u32)
}

/// `csum_sub`.
pub fn csum_sub(a: u32, b: u32) -> u32 {
    csum_add(a, !b)
}

/// `csum_fold`: fold a 32-bit partial sum to 16 bits and complement it.
pub fn csum_fold(sum: u32) -> u16 {
    let mut s = (sum & 0xffff) + (sum >> 16);
    s = (s & 0xffff) + (s >> 16);
    !(s as u16)
}

/// `csum16_add`.
fn csum16_add(csum: u16, addend: u16) -> u16 {
    let (r, carry) = csum.overflowing_add(addend);
    r.wrapping_add(carry as u16)
}

/// `csum_replace_by_diff`: apply a 32-bit difference (from `bpf_csum_diff`) to `sum`.
pub fn replace_by_diff(sum: u16, diff: u32) -> u16 {
    csum_fold(csum_add(diff, !(sum as u32)))
}

/// `csum_replace2`: replace the 16-bit word `from` by `to`.
pub fn replace2(sum: u16, from: u16, to: u16) -> u16 {
    !csum16_add(csum16_add(!sum, !from), to)
}

/// `csum_replace4`: replace the 32-bit word `from` by `to`.
pub fn replace4(sum: u16, from: u32, to: u32) -> u16 {
    let tmp = csum_sub(!(sum as u32), from);
    csum_fold(csum_add(tmp, to))
}
