//! Custom hooks: attach points an embedding application declares itself.
//!
//! Takes a [`HookDecl`]: the hook's name and its context layout ([`ContextLayout`]: total
//! size and named fields, each read-only or writable); gives, for a program of a loaded
//! object, a [`CustomHook`] the application fires with a context buffer of that layout
//! ([`CustomHook::fire`]), from any number of threads.
//!
//! # Checks at load
//!
//! 1. The verifier checks the program with the context as a buffer of the layout's size
//!    ([`ProgType::Raw`]): r1 points to `size` bytes, r2 holds `size`. Every path must stay
//!    inside the buffer, the stack and the maps, and end in `exit`.
//! 2. Every direct access to the context (found by
//!    [`find_context_accesses`](userbpf_runtime::context::find_context_accesses)) must lie
//!    inside one declared field; a store must target a writable field. Otherwise the load
//!    fails with [`CustomHookError::Access`], naming the instruction, the offset and the
//!    field.
//!
//! A helper given a pointer into the context (say `bpf_probe_read_kernel(ctx + 4, ...)`) is
//! not seen by step 2; [`CustomHook::fire`] restores the read-only fields after every run,
//! so the application always gets its read-only fields back unchanged.
//!
//! # Engine
//!
//! A program the verifier accepted runs in the x86-64 JIT
//! ([`userbpf_jit::compile_prepared`]), unless the object has a program array (tail calls
//! could reach programs not checked against this layout) or the interpreter is asked for
//! ([`HookDecl::load_with`]); otherwise in the checked interpreter.
//!
//! ```no_run
//! use userbpf_hooks::custom::{ContextLayout, FieldAccess, HookDecl};
//! use userbpf_runtime::instance::{LoadOptions, ObjectInstance};
//!
//! let layout = ContextLayout::new(8)
//!     .field("value", 0, 4, FieldAccess::ReadOnly)
//!     .field("result", 4, 4, FieldAccess::Writable);
//! let decl = HookDecl::new("my_hook", layout).unwrap();
//! let object = userbpf_object::Object::parse(&std::fs::read("plugin.bpf.o").unwrap()).unwrap();
//! let instance = ObjectInstance::load(&object, &LoadOptions::default()).unwrap();
//! let hook = decl.load(&instance, &object, "plugin").unwrap();
//! let mut ctx = [0u8; 8];
//! ctx[..4].copy_from_slice(&7u32.to_ne_bytes());
//! let ret = hook.fire(&mut ctx).unwrap();
//! println!("{ret} {:?}", &ctx[4..]);
//! ```

use std::fmt;
use std::sync::Arc;

use userbpf_jit::{JitObjectProgram, JitOptions};
use userbpf_object::Object;
use userbpf_runtime::context::{find_context_accesses, CtxAccessKind};
use userbpf_runtime::instance::ObjectInstance;
use userbpf_runtime::memory::Region;
use userbpf_runtime::{Access, PreparedProgram, RegionKind, Trap};
use userbpf_verifier::object_input::{map_infos, privileged_options};
use userbpf_verifier::{ProgType, VerifierInput};

use crate::run_memory::RunMemory;

pub use crate::packet::engine::EngineKind;

/// Whether a program may write a field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldAccess {
    /// Loads only.
    ReadOnly,
    /// Loads and stores.
    Writable,
}

/// One field of a context.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Field {
    /// Name, for messages.
    pub name: String,
    /// Offset in the context, in bytes.
    pub offset: u32,
    /// Size in bytes.
    pub size: u32,
    /// Read-only or writable.
    pub access: FieldAccess,
}

impl Field {
    fn end(&self) -> u64 {
        self.offset as u64 + self.size as u64
    }
}

/// The layout of a hook's context: its size and its fields (bytes outside every field
/// cannot be accessed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContextLayout {
    /// Total size in bytes; [`CustomHook::fire`] takes buffers of exactly this size.
    pub size: u32,
    /// The fields.
    pub fields: Vec<Field>,
}

impl ContextLayout {
    /// A layout of `size` bytes without fields yet.
    pub fn new(size: u32) -> ContextLayout {
        ContextLayout {
            size,
            fields: Vec::new(),
        }
    }

    /// Add a field (checked by [`HookDecl::new`]).
    pub fn field(mut self, name: &str, offset: u32, size: u32, access: FieldAccess) -> Self {
        self.fields.push(Field {
            name: name.to_string(),
            offset,
            size,
            access,
        });
        self
    }

    /// The field holding bytes `off..off + size`, if one holds them all.
    pub fn field_for(&self, off: i64, size: u64) -> Option<&Field> {
        self.fields
            .iter()
            .find(|f| off >= f.offset as i64 && (off as i128 + size as i128) <= f.end() as i128)
    }

    /// The field overlapping byte `off`, for messages.
    fn field_at(&self, off: i64) -> Option<&Field> {
        self.fields
            .iter()
            .find(|f| off >= f.offset as i64 && off < f.end() as i64)
    }

    fn check(&self) -> Result<(), String> {
        if self.size == 0 {
            return Err("the context size is 0".into());
        }
        for (i, f) in self.fields.iter().enumerate() {
            if f.size == 0 {
                return Err(format!("field {} has size 0", f.name));
            }
            if f.end() > self.size as u64 {
                return Err(format!(
                    "field {} ({}..{}) ends past the context size {}",
                    f.name,
                    f.offset,
                    f.end(),
                    self.size
                ));
            }
            for g in &self.fields[..i] {
                if g.name == f.name {
                    return Err(format!("field {} declared twice", f.name));
                }
                if (f.offset as u64) < g.end() && (g.offset as u64) < f.end() {
                    return Err(format!("fields {} and {} overlap", g.name, f.name));
                }
            }
        }
        Ok(())
    }
}

/// Why a hook could not be declared or a program not loaded on it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CustomHookError {
    /// The layout is inconsistent.
    #[error("hook {hook}: bad context layout: {why}")]
    Layout {
        /// Hook name.
        hook: String,
        /// What is wrong.
        why: String,
    },
    /// No such program in the object or the instance, or preparing it failed.
    #[error("hook {hook}: program {program}: {why}")]
    Program {
        /// Hook name.
        hook: String,
        /// Program name.
        program: String,
        /// Why.
        why: String,
    },
    /// The verifier rejected the program for this context.
    #[error(
        "hook {hook}: program {program}: the verifier rejected it at instruction {insn}: {message}"
    )]
    Rejected {
        /// Hook name.
        hook: String,
        /// Program name.
        program: String,
        /// Slot of the instruction.
        insn: usize,
        /// The verifier's message.
        message: String,
    },
    /// A context access the layout does not allow.
    #[error("hook {hook}: program {program}: instruction {insn}: {why}")]
    Access {
        /// Hook name.
        hook: String,
        /// Program name.
        program: String,
        /// Slot of the instruction.
        insn: usize,
        /// What the access does and why it is refused (naming the field or offset).
        why: String,
    },
}

/// A hook declared by the application: a name and a context layout.
#[derive(Clone, Debug)]
pub struct HookDecl {
    name: String,
    layout: Arc<ContextLayout>,
}

impl HookDecl {
    /// Declare hook `name` with `layout`.
    ///
    /// # Errors
    /// [`CustomHookError::Layout`]: size 0, a field of size 0, past the end, overlapping
    /// another or named twice.
    pub fn new(name: &str, layout: ContextLayout) -> Result<HookDecl, CustomHookError> {
        layout.check().map_err(|why| CustomHookError::Layout {
            hook: name.to_string(),
            why,
        })?;
        Ok(HookDecl {
            name: name.to_string(),
            layout: Arc::new(layout),
        })
    }

    /// The hook's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The context layout.
    pub fn layout(&self) -> &ContextLayout {
        &self.layout
    }

    /// Load program `program` of `instance` (loaded from `object`) on this hook with the
    /// host's default engine (see the [module docs](self)).
    ///
    /// # Errors
    /// As [`HookDecl::load_with`].
    pub fn load(
        &self,
        instance: &ObjectInstance,
        object: &Object,
        program: &str,
    ) -> Result<CustomHook, CustomHookError> {
        self.load_with(instance, object, program, EngineKind::native_default())
    }

    /// Load with `engine` (the JIT only when the object has no program array; else the
    /// interpreter).
    ///
    /// # Errors
    /// [`CustomHookError::Program`] (no such program, relocation, unavailable helper, JIT
    /// failure), [`CustomHookError::Rejected`] (the verifier), [`CustomHookError::Access`]
    /// (a context access outside the fields or a store to a read-only field).
    pub fn load_with(
        &self,
        instance: &ObjectInstance,
        object: &Object,
        program: &str,
        engine: EngineKind,
    ) -> Result<CustomHook, CustomHookError> {
        let perr = |why: String| CustomHookError::Program {
            hook: self.name.clone(),
            program: program.to_string(),
            why,
        };
        let spec = object
            .program(program)
            .ok_or_else(|| perr("no such program in the object".into()))?;
        let maps = map_infos(object);
        let input = VerifierInput {
            program: &spec.insns,
            prog_type: ProgType::Raw {
                size: self.layout.size,
            },
            maps: &maps,
            options: privileged_options(spec),
        };
        let verified = userbpf_verifier::verify(&input).map_err(|e| CustomHookError::Rejected {
            hook: self.name.clone(),
            program: program.to_string(),
            insn: e.insn,
            message: e.message,
        })?;
        self.check_accesses(program, &spec.insns)?;
        let prepared = instance.program(program).map_err(|e| perr(e.to_string()))?;
        let prog_array = userbpf_verifier::input::map_type::PROG_ARRAY;
        let tail_calls = object.maps.iter().any(|m| m.map_type == prog_array);
        let runner = if engine == EngineKind::Jit && !tail_calls && cfg!(target_arch = "x86_64") {
            // SAFETY: the verifier accepted this program with r1 pointing to exactly
            // `layout.size` bytes, and `fire` passes only buffers of that size; the object
            // has no program array, so no other (unchecked) program can be reached; and
            // `verified` is the verification of this program.
            let jit = unsafe {
                userbpf_jit::compile_prepared(&prepared, Some(&verified), &JitOptions::default())
            }
            .map_err(|e| perr(format!("JIT: {e}")))?;
            Runner::Jit(Box::new(jit))
        } else {
            Runner::Interp(Box::new(prepared))
        };
        let read_only = self
            .layout
            .fields
            .iter()
            .filter(|f| f.access == FieldAccess::ReadOnly)
            .map(|f| (f.offset as usize, f.end() as usize))
            .collect();
        let memory = RunMemory::new(runner.prepared(), 0);
        Ok(CustomHook {
            hook: self.name.clone(),
            program: program.to_string(),
            layout: self.layout.clone(),
            read_only,
            runner,
            memory,
        })
    }

    /// Every direct context access inside one field, stores only to writable fields.
    fn check_accesses(
        &self,
        program: &str,
        insns: &userbpf_isa::Program,
    ) -> Result<(), CustomHookError> {
        let starts = insns.starts();
        let slot = |i: usize| starts.get(i).copied().unwrap_or(i);
        let err = |insn: usize, why: String| CustomHookError::Access {
            hook: self.name.clone(),
            program: program.to_string(),
            insn,
            why,
        };
        let facts = find_context_accesses(insns).map_err(|e| {
            err(
                0,
                format!("cannot follow the context pointer through the program: {e}"),
            )
        })?;
        for (&i, a) in &facts.accesses {
            let size = a.size.bytes() as u64;
            let off = a.off as i64;
            let what = match a.kind {
                CtxAccessKind::Load | CtxAccessKind::LoadSx => "reads",
                CtxAccessKind::Store | CtxAccessKind::StoreImm => "writes",
            };
            let Some(field) = self.layout.field_for(off, size) else {
                let near = match self.layout.field_at(off) {
                    Some(f) => format!(
                        "it crosses the end of field {} ({}..{})",
                        f.name,
                        f.offset,
                        f.end()
                    ),
                    None => "no field is declared there".to_string(),
                };
                return Err(err(
                    slot(i),
                    format!("{what} {size} bytes at context offset {off}: {near}"),
                ));
            };
            let write = matches!(a.kind, CtxAccessKind::Store | CtxAccessKind::StoreImm);
            if write && field.access == FieldAccess::ReadOnly {
                return Err(err(
                    slot(i),
                    format!(
                        "writes {size} bytes at context offset {off}: field {} ({}..{}) is read-only",
                        field.name,
                        field.offset,
                        field.end()
                    ),
                ));
            }
        }
        Ok(())
    }
}

enum Runner {
    Interp(Box<PreparedProgram>),
    Jit(Box<JitObjectProgram>),
}

impl Runner {
    fn prepared(&self) -> &PreparedProgram {
        match self {
            Runner::Interp(p) => p,
            Runner::Jit(j) => j.prepared(),
        }
    }
}

/// A program loaded on a declared hook, ready to fire. `Send + Sync`: fire it from any
/// thread; each run has its own stack, the maps are shared.
pub struct CustomHook {
    hook: String,
    program: String,
    layout: Arc<ContextLayout>,
    /// Byte ranges of the read-only fields.
    read_only: Vec<(usize, usize)>,
    runner: Runner,
    /// The instance's map regions in a memory map kept from fire to fire.
    memory: RunMemory,
}

impl fmt::Debug for CustomHook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CustomHook")
            .field("hook", &self.hook)
            .field("program", &self.program)
            .field("engine", &self.engine())
            .finish()
    }
}

impl CustomHook {
    /// The hook's name.
    pub fn hook(&self) -> &str {
        &self.hook
    }

    /// The program's name.
    pub fn program(&self) -> &str {
        &self.program
    }

    /// The context layout.
    pub fn layout(&self) -> &ContextLayout {
        &self.layout
    }

    /// The engine running the program.
    pub fn engine(&self) -> EngineKind {
        match self.runner {
            Runner::Interp(_) => EngineKind::Interp,
            Runner::Jit(_) => EngineKind::Jit,
        }
    }

    /// Run the program on `ctx` (r1 = its address, r2 = its length); its writes to
    /// writable fields stay in `ctx`, read-only fields are left as they were. Gives the
    /// program's return value.
    ///
    /// # Errors
    /// A [`Trap`]: a failing helper, or (the interpreter) a bad access; also
    /// [`Trap::OutOfBounds`] at slot 0 when `ctx` is not exactly the layout's size.
    pub fn fire(&self, ctx: &mut [u8]) -> Result<u64, Trap> {
        if ctx.len() != self.layout.size as usize {
            return Err(Trap::OutOfBounds {
                slot: 0,
                access: Access::Read,
                addr: ctx.as_ptr() as u64,
                size: ctx.len(),
                nearest: format!(
                    "hook {} was given a context of {} bytes; its layout has {}",
                    self.hook,
                    ctx.len(),
                    self.layout.size
                ),
            });
        }
        let mut saved = [0u8; 256];
        let mut saved_vec = Vec::new();
        let total: usize = self.read_only.iter().map(|(a, b)| b - a).sum();
        let keep: &mut [u8] = if total <= saved.len() {
            &mut saved[..total]
        } else {
            saved_vec.resize(total, 0);
            &mut saved_vec
        };
        let mut at = 0;
        for &(a, b) in &self.read_only {
            keep[at..at + b - a].copy_from_slice(&ctx[a..b]);
            at += b - a;
        }
        let len = ctx.len() as u64;
        let addr = ctx.as_mut_ptr() as u64;
        let region = Region {
            start: addr,
            len,
            writable: true,
            kind: RegionKind::Input,
        };
        let result = self.memory.run(self.runner.prepared(), |memory, _| {
            // SAFETY: `ctx` is borrowed mutably for the whole run and not touched through
            // it meanwhile; `with_regions` removes the region when the run returns.
            unsafe {
                memory.with_regions(&[region], |memory| match &self.runner {
                    Runner::Interp(p) => p.run_in(&[addr, len], memory),
                    Runner::Jit(j) => j.run_in(&[addr, len], memory),
                })
            }
        });
        let mut at = 0;
        for &(a, b) in &self.read_only {
            ctx[a..b].copy_from_slice(&keep[at..at + b - a]);
            at += b - a;
        }
        result
    }
}
