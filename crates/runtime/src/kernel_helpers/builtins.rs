//! userbpf's built-ins: `memset`, `memcpy`, `memmove` and `memcmp` as helpers.
//!
//! Takes a [`Helpers`] registry; [`register`] adds the four under their private ids
//! ([`userbpf_object::BUILTINS`], past the kernel's helpers), which the loader gives the
//! calls clang left to these undefined functions. The kernel cannot load such objects; the
//! verifier checks these calls (its `builtins` module) and every byte here goes
//! through the run's checked memory map like any helper's.

use super::ids::{MEMCMP, MEMCPY, MEMMOVE, MEMSET};
use crate::helpers::Helpers;

/// Register `memset`, `memcpy`, `memmove` and `memcmp`.
pub fn register(helpers: &mut Helpers) {
    helpers.register(MEMSET, "memset", |ctx, a| {
        let (dst, c, n) = (a[0], a[1] as u8, a[2] as usize);
        ctx.memory.write_bytes(dst, &vec![c; n])?;
        Ok(dst)
    });
    // Copied through a buffer: an overlapping memcpy behaves as memmove.
    for (id, name) in [(MEMCPY, "memcpy"), (MEMMOVE, "memmove")] {
        helpers.register(id, name, |ctx, a| {
            let (dst, src, n) = (a[0], a[1], a[2] as usize);
            let bytes = ctx.memory.read_bytes(src, n)?;
            ctx.memory.write_bytes(dst, &bytes)?;
            Ok(dst)
        });
    }
    helpers.register(MEMCMP, "memcmp", |ctx, a| {
        let (x, y, n) = (a[0], a[1], a[2] as usize);
        let left = ctx.memory.read_bytes(x, n)?;
        let right = ctx.memory.read_bytes(y, n)?;
        // The difference of the first differing bytes (as unsigned chars), sign-extended.
        let d = left
            .iter()
            .zip(&right)
            .find(|(l, r)| l != r)
            .map_or(0, |(&l, &r)| i64::from(l) - i64::from(r));
        Ok(d as u64)
    });
}

#[cfg(test)]
mod tests {
    #[test]
    fn private_ids_match_the_loader() {
        for (name, id) in userbpf_object::BUILTINS {
            assert_eq!(super::super::ids::name(id as u32), Some(name));
        }
    }
}
