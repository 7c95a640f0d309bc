//! BTF-typed contexts of BPF_PROG_TYPE_TRACING (fentry/fexit/fmod_ret, `tp_btf/`) and LSM
//! programs, and loads through BTF-typed pointers (the kernel's `btf_ctx_access` and
//! `btf_struct_access`, privileged mode).
//!
//! Takes the target BTF (the host's vmlinux, as CO-RE uses) and the attach function's name;
//! gives a [`TracingCtx`]: the context is an array of u64 arguments of that function (fexit
//! and fmod_ret add the return value after them), and a load of argument i gives a
//! [`BtfLoad`]: a scalar for integer-like types or a pointer to a BTF struct. The same
//! [`BtfLoad`] comes out of [`struct_load`], a load at an offset inside a BTF struct. Errors
//! carry the kernel's log wording. This module knows nothing of registers: the checker maps
//! a [`BtfLoad`] to its register type.

use std::sync::Arc;

use userbpf_object::btf::{Btf, TypeKind};

/// Upper bound on the arguments a traced function may have (`MAX_BPF_FUNC_ARGS`).
pub const MAX_FUNC_ARGS: u32 = 12;

/// Deepest nesting of embedded structs and arrays [`struct_load`] walks.
const MAX_NEST: usize = 32;

/// What a load from a BTF-typed location gives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BtfLoad {
    /// An integer, enum, or any value the kernel treats as an unknown scalar.
    Scalar,
    /// A pointer to the BTF struct or union `type_id` (resolved), named `name`; the kernel's
    /// PTR_TO_BTF_ID, printed `ptr_NAME`.
    Ptr {
        /// The struct's resolved BTF id in the target BTF.
        type_id: u32,
        /// The struct's name (empty when anonymous).
        name: String,
    },
}

/// The context of a tracing program attached to one function of the target BTF.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TracingCtx {
    /// The attach function's name (as in the kernel's messages).
    pub func: String,
    /// Type ids of the arguments in order.
    pub args: Vec<u32>,
    /// The return type (0: void), readable after the arguments when `has_ret`.
    pub ret: u32,
    /// fexit and fmod_ret programs see the return value after the arguments.
    pub has_ret: bool,
}

impl TracingCtx {
    /// The context of a program attached to function `func` of `btf`; `has_ret` for fexit
    /// and fmod_ret.
    ///
    /// # Errors
    /// A message when `func` is no FUNC of `btf`, its prototype is malformed or it has more
    /// than [`MAX_FUNC_ARGS`] arguments.
    pub fn for_function(btf: &Btf, func: &str, has_ret: bool) -> Result<TracingCtx, String> {
        let id = btf
            .ids_by_name(func)
            .iter()
            .copied()
            .find(|&id| {
                matches!(
                    btf.type_by_id(id).map(|t| &t.kind),
                    Ok(TypeKind::Func { .. })
                )
            })
            .ok_or_else(|| format!("The attach target function '{func}' is not in the BTF"))?;
        let proto = match btf.type_by_id(id).map(|t| &t.kind) {
            Ok(TypeKind::Func { type_id, .. }) => *type_id,
            _ => return Err(format!("func '{func}' is not a function")),
        };
        let (ret, params) = match btf.type_by_id(proto).map(|t| &t.kind) {
            Ok(TypeKind::FuncProto {
                return_type,
                params,
            }) => (*return_type, params),
            _ => return Err(format!("func '{func}' has no prototype")),
        };
        if params.len() > MAX_FUNC_ARGS as usize {
            return Err(format!(
                "The function {func} has {} arguments. Too many.",
                params.len()
            ));
        }
        Ok(TracingCtx {
            func: func.to_string(),
            args: params.iter().map(|p| p.type_id).collect(),
            ret,
            has_ret,
        })
    }

    /// A context read of `size` bytes at `off` (the kernel's `bpf_tracing_btf_ctx_access`
    /// then `btf_ctx_access`): what the loaded register holds.
    ///
    /// # Errors
    /// The kernel's message: writes and out-of-array offsets as `invalid bpf_context
    /// access` (the checker adds off and size), the rest as `btf_ctx_access` logs them.
    pub fn load(&self, btf: &Btf, off: i64, size: u32, write: bool) -> Result<BtfLoad, String> {
        let limit = 8 * i64::from(MAX_FUNC_ARGS);
        if write || off < 0 || off >= limit || size == 0 || off % i64::from(size) != 0 {
            return Err(format!("invalid bpf_context access off={off} size={size}"));
        }
        let func = &self.func;
        if off % 8 != 0 {
            return Err(format!("func '{func}' offset {off} is not multiple of 8"));
        }
        let arg = (off / 8) as usize;
        let nr = self.args.len();
        let ty = if arg < nr {
            self.args[arg]
        } else if arg == nr && self.has_ret {
            self.ret
        } else {
            return Err(format!(
                "func '{func}' doesn't have {}-th argument",
                arg + 1
            ));
        };
        if ty == 0 {
            // The return value of a void function, or a variadic tail: a plain u64.
            return Ok(BtfLoad::Scalar);
        }
        match classify(btf, ty).map_err(|e| format!("func '{func}' arg{arg} {e}"))? {
            // Part of a pointer is a number.
            BtfLoad::Ptr { .. } if size != 8 => Ok(BtfLoad::Scalar),
            load => Ok(load),
        }
    }
}

/// The target BTF with the context of one tracing or LSM program attached to it: what the
/// checker needs for [`crate::verify_with_btf`].
#[derive(Clone, Debug)]
pub struct BtfCtx {
    /// The target BTF (vmlinux), shared by the programs of an object.
    pub btf: Arc<Btf>,
    /// The program's context.
    pub ctx: TracingCtx,
}

impl BtfCtx {
    /// The context of the program in `section` (libbpf's names): `fentry/F`, `fexit/F`,
    /// `fmod_ret/F` (and their `.s` forms) attach to function `F`, `lsm/H` to `bpf_lsm_H`
    /// (which sees the previous program's return value after the arguments), `tp_btf/T` to
    /// the tracepoint's `btf_trace_T` prototype less its first (`void *`) argument.
    /// `None` for other sections.
    ///
    /// # Errors
    /// As [`TracingCtx::for_function`], or a missing `btf_trace_T`.
    pub fn for_section(btf: Arc<Btf>, section: &str) -> Option<Result<BtfCtx, String>> {
        let s = section.strip_prefix('?').unwrap_or(section);
        let (kind, target) = s.split_once('/')?;
        let ctx = match kind {
            "fentry" | "fentry.s" => TracingCtx::for_function(&btf, target, false),
            "fexit" | "fexit.s" | "fmod_ret" | "fmod_ret.s" => {
                TracingCtx::for_function(&btf, target, true)
            }
            "lsm" | "lsm.s" => TracingCtx::for_function(&btf, &format!("bpf_lsm_{target}"), true),
            "tp_btf" => tp_btf_ctx(&btf, target),
            _ => return None,
        };
        Some(ctx.map(|ctx| BtfCtx { btf, ctx }))
    }
}

/// `tp_btf/T`: the arguments of `btf_trace_T` (a typedef of a pointer to a prototype whose
/// first argument is the tracepoint's `void *` data, which programs do not see).
fn tp_btf_ctx(btf: &Btf, tp: &str) -> Result<TracingCtx, String> {
    let name = format!("btf_trace_{tp}");
    let missing = || format!("The attach target tracepoint '{tp}' ({name}) is not in the BTF");
    let id = btf
        .ids_by_name(&name)
        .iter()
        .copied()
        .find(|&id| {
            matches!(
                btf.type_by_id(id).map(|t| &t.kind),
                Ok(TypeKind::Typedef { .. })
            )
        })
        .ok_or_else(missing)?;
    let ptr = btf.resolved_type(id).map_err(|e| e.to_string())?;
    let TypeKind::Ptr { type_id } = ptr.kind else {
        return Err(missing());
    };
    let Ok(TypeKind::FuncProto { params, .. }) = btf.type_by_id(type_id).map(|t| &t.kind) else {
        return Err(missing());
    };
    if params.is_empty() || params.len() > MAX_FUNC_ARGS as usize + 1 {
        return Err(format!("tracepoint {tp} has a malformed prototype"));
    }
    Ok(TracingCtx {
        func: name,
        args: params[1..].iter().map(|p| p.type_id).collect(),
        ret: 0,
        has_ret: false,
    })
}

/// What a value of type `ty` becomes in a register: a scalar for integers, enums, floats
/// and pointers to non-structs; a BTF pointer for pointers to structs and unions.
fn classify(btf: &Btf, ty: u32) -> Result<BtfLoad, String> {
    let t = btf.resolved_type(ty).map_err(|e| e.to_string())?;
    match &t.kind {
        TypeKind::Ptr { type_id } => {
            let target = btf.resolve(*type_id).map_err(|e| e.to_string())?;
            match btf.type_by_id(target).map(|t| (&t.kind, t.name.clone())) {
                Ok((TypeKind::Struct { .. } | TypeKind::Union { .. }, name)) => Ok(BtfLoad::Ptr {
                    type_id: target,
                    name,
                }),
                // Pointers to ints, void, functions: the kernel gives an unknown scalar
                // (privileged mode) for tracing arguments.
                _ => Ok(BtfLoad::Scalar),
            }
        }
        TypeKind::Struct { .. } | TypeKind::Union { .. } | TypeKind::Array { .. } => Err(format!(
            "type {} is not a scalar or pointer",
            t.kind().name()
        )),
        _ => Ok(BtfLoad::Scalar),
    }
}

/// A load of `size` bytes at `off` through a pointer to the BTF struct `type_id` named
/// `name` (the kernel's `btf_struct_access` for reads; register `reg` for the messages).
///
/// # Errors
/// Negative offsets (`R1 is ptr_NAME invalid negative access: off=-8`), accesses past the
/// struct (`access beyond struct NAME at off 300 size 8`), writes (`only read is supported`),
/// and reads that do not fall inside one member.
pub fn struct_load(
    btf: &Btf,
    reg: u8,
    type_id: u32,
    name: &str,
    off: i64,
    size: u32,
    write: bool,
) -> Result<BtfLoad, String> {
    if off < 0 {
        return Err(format!(
            "R{reg} is ptr_{name} invalid negative access: off={off}"
        ));
    }
    if write {
        return Err("only read is supported".to_string());
    }
    let total = btf.size_of(type_id).map_err(|e| e.to_string())?;
    let end = off.saturating_add(i64::from(size));
    if end > i64::from(total) {
        return Err(format!(
            "access beyond struct {name} at off {off} size {size}"
        ));
    }
    walk(btf, type_id, off as u32, size, name, 0)
}

/// Finds the member of `ty` covering `[off, off + size)` and what reading it gives.
fn walk(
    btf: &Btf,
    ty: u32,
    off: u32,
    size: u32,
    name: &str,
    depth: usize,
) -> Result<BtfLoad, String> {
    if depth > MAX_NEST {
        return Err(format!("access to struct {name} nests too deep"));
    }
    let rid = btf.resolve(ty).map_err(|e| e.to_string())?;
    let t = btf.type_by_id(rid).map_err(|e| e.to_string())?;
    match &t.kind {
        TypeKind::Struct { members, .. } | TypeKind::Union { members, .. } => {
            let mut inner_err = None;
            for m in members {
                if m.bitfield_size != 0 || m.bits_offset % 8 != 0 {
                    // A bitfield: reading its storage gives a scalar.
                    let start = m.bits_offset / 8;
                    let stop = (m.bits_offset + u32::from(m.bitfield_size.max(1))).div_ceil(8);
                    if off >= start && off < stop.max(start + 1) {
                        return Ok(BtfLoad::Scalar);
                    }
                    continue;
                }
                let start = m.bits_offset / 8;
                let msize = btf.size_of(m.type_id).map_err(|e| e.to_string())?;
                if off < start || off >= start.saturating_add(msize) {
                    continue;
                }
                if off + size > start + msize {
                    inner_err = Some(format!(
                        "access beyond the end of member {} (mend:{}) in struct {name} with off {off} size {size}",
                        m.name,
                        start + msize
                    ));
                    continue;
                }
                match walk(btf, m.type_id, off - start, size, name, depth + 1) {
                    Ok(load) => return Ok(load),
                    Err(e) => inner_err = Some(e),
                }
            }
            Err(inner_err.unwrap_or_else(|| {
                format!("access to a hole in struct {name} at off {off} size {size}")
            }))
        }
        TypeKind::Array { elem_type, .. } => {
            let esize = btf.size_of(*elem_type).map_err(|e| e.to_string())?;
            if esize == 0 {
                return Err(format!("zero-sized array element in struct {name}"));
            }
            walk(btf, *elem_type, off % esize, size, name, depth + 1)
        }
        TypeKind::Ptr { .. } => {
            if off == 0 && size == 8 {
                classify(btf, rid)
            } else {
                // A partial read of a pointer member: the kernel gives a scalar.
                Ok(BtfLoad::Scalar)
            }
        }
        _ => Ok(BtfLoad::Scalar),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host() -> Option<Btf> {
        match userbpf_object::core_relo::host_btf() {
            Ok(b) => Some(b),
            Err(e) => {
                println!("skipped: {e}");
                None
            }
        }
    }

    #[test]
    fn fentry_tcp_connect_args() {
        let Some(btf) = host() else { return };
        let ctx = TracingCtx::for_function(&btf, "tcp_connect", false).unwrap();
        assert_eq!(ctx.args.len(), 1);
        let load = ctx.load(&btf, 0, 8, false).unwrap();
        let BtfLoad::Ptr { type_id, name } = load else {
            panic!("tcp_connect's sk is a BTF pointer: {load:?}")
        };
        assert_eq!(name, "sock");
        // skc_family (u16 at 16) is a scalar, skc_daddr (u32 at 0) too.
        assert_eq!(
            struct_load(&btf, 7, type_id, &name, 16, 2, false),
            Ok(BtfLoad::Scalar)
        );
        assert_eq!(
            struct_load(&btf, 7, type_id, &name, 0, 4, false),
            Ok(BtfLoad::Scalar)
        );
        assert_eq!(
            struct_load(&btf, 1, type_id, &name, -8, 8, false),
            Err("R1 is ptr_sock invalid negative access: off=-8".to_string())
        );
        assert!(struct_load(&btf, 1, type_id, &name, 0, 4, true).is_err());
        let total = btf.size_of(type_id).unwrap();
        assert!(
            struct_load(&btf, 1, type_id, &name, i64::from(total), 8, false)
                .unwrap_err()
                .starts_with("access beyond struct sock")
        );
        assert_eq!(
            ctx.load(&btf, 8, 8, false),
            Err("func 'tcp_connect' doesn't have 2-th argument".to_string())
        );
        assert!(ctx.load(&btf, 0, 8, true).is_err());
    }

    #[test]
    fn fexit_sees_the_return_value() {
        let Some(btf) = host() else { return };
        let ctx = TracingCtx::for_function(&btf, "tcp_connect", true).unwrap();
        assert_eq!(ctx.load(&btf, 8, 8, false), Ok(BtfLoad::Scalar));
        assert!(ctx.load(&btf, 16, 8, false).is_err());
        assert!(TracingCtx::for_function(&btf, "no_such_function_xyz", false).is_err());
    }
}
