//! userbpf built-ins: `memset`, `memcpy`, `memmove` and `memcmp` as helpers.
//!
//! Takes a private helper id (past the kernel's last, from [`userbpf_object::BUILTINS`]:
//! the loader turns a call of an undefined function of exactly one of these names into a
//! helper call of its id); gives its [`Proto`]. Like PREVAIL, userbpf accepts programs where
//! clang left these calls un-inlined; the kernel cannot load such an object (libbpf has no
//! `memset` to link), so this is a userbpf extension.
//!
//! Their memory arguments follow the kernel's rules for a memory argument with a constant
//! size (stack, packet within its checked range, map values, ringbuf records, ...; a size of
//! 0 allowed): the destination is writable memory the call initialises, the sources
//! readable initialised memory, checked before the destination is written. r0 is the
//! destination (the same pointer) for `memset`, `memcpy` and `memmove`, an unknown scalar for
//! `memcmp`.

use crate::helpers::{Allowed, Arg, Proto, Ret};
use userbpf_object::BUILTINS;

const fn builtin(index: usize, args: [Arg; 5], ret: Ret) -> Proto {
    Proto {
        id: BUILTINS[index].1,
        name: BUILTINS[index].0,
        args,
        ret,
        allowed: Allowed::All,
        changes_pkt: false,
        pkt_access: true,
    }
}

/// The private helper id of `memset` (whose zero fill the verifier tracks on the stack).
pub(crate) const MEMSET: i32 = BUILTINS[0].1;

use Arg::{Anything as A, ConstSizeOrZero as N, DontCare as D, Mem as R, UninitMem as W};

/// The built-ins' prototypes, in [`BUILTINS`] order.
static PROTOS: [Proto; 4] = [
    // memset(dst, c, n)
    builtin(0, [W, A, N, D, D], Ret::FirstArg),
    // memcpy(dst, src, n)
    builtin(1, [W, R, N, D, D], Ret::FirstArg),
    // memmove(dst, src, n)
    builtin(2, [W, R, N, D, D], Ret::FirstArg),
    // memcmp(a, b, n)
    builtin(3, [R, R, N, D, D], Ret::Integer),
];

/// The prototype of the built-in with private helper id `id`.
pub fn proto(id: i32) -> Option<&'static Proto> {
    PROTOS.iter().find(|p| p.id == id)
}

/// Whether `proto` is a built-in's.
pub fn is_builtin(proto: &Proto) -> bool {
    proto.id >= crate::helpers::FUNC_MAX_ID && PROTOS.iter().any(|p| p.id == proto.id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_past_the_kernel_helpers_and_names_match_the_loader() {
        for (p, (name, id)) in PROTOS.iter().zip(BUILTINS) {
            assert_eq!((p.name, p.id), (name, id));
            assert!(p.id >= crate::helpers::FUNC_MAX_ID);
            assert!(crate::helpers::proto(p.id).is_some_and(|q| q == p));
        }
        assert!(crate::helpers::proto(crate::helpers::FUNC_MAX_ID + 4).is_none());
    }
}
