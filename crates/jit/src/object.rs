//! Programs of ELF object instances in the JIT: helpers, callbacks, tail calls, maps.
//!
//! Takes a [`PreparedProgram`] (relocated: map references are handles and value addresses;
//! helpers bound to the instance's maps) and optionally the [`VerifiedProgram`] of the same
//! program; gives a [`JitObjectProgram`]: the program with its context accesses rewritten,
//! compiled with
//!
//! - the program's helpers (kernel and map helpers) called through the helper trampoline;
//! - its engine helpers (`bpf_loop`, `bpf_for_each_map_elem`): the JIT implements the
//!   runtime's `CallbackContext`, so a callback runs as JIT code on a frame of its own below
//!   the caller's;
//! - tail calls: `bpf_tail_call` resolves the program array slot to a program of the
//!   instance, compiles it on first use (kept for the life of this program) and jumps to it
//!   in place of the current function, at most 33 times per run as in the kernel;
//! - map regions: the JIT does not check memory, so the instance's map regions are only
//!   added to the run's memory map for the helpers' checked copies.
//!
//! The instance path does not verify yet, so [`compile_prepared`] is `unsafe`: its caller
//! vouches for the object's programs (or has run the verifier on them, see the CLI's
//! `run --engine jit`).

use std::sync::{Arc, OnceLock};

use userbpf_runtime::context::{test_run_program_with, TestRunError, TestRunInput, TestRunOutput};
use userbpf_runtime::engine::Executable;
use userbpf_runtime::instance::engine_support::TailCallSlot;
use userbpf_runtime::maps::MapType;
use userbpf_runtime::{MemoryMap, PreparedProgram, Region, Trap};
use userbpf_verifier::VerifiedProgram;

use crate::run::{self, TailCalls, TailResolution};
use crate::{JitError, JitOptions, JitProgram};

/// A tail-call target compiled on first use, or why it cannot run.
type Compiled = OnceLock<Result<Arc<JitProgram>, String>>;

/// The programs one JIT-compiled object program may tail-call, compiled on first use.
struct JitSet {
    prepared: PreparedProgram,
    options: JitOptions,
    programs: Box<[Compiled]>,
}

impl JitSet {
    fn compiled(&self, index: usize) -> Result<Arc<JitProgram>, String> {
        let cell = self
            .programs
            .get(index)
            .ok_or_else(|| format!("bpf_tail_call: no program #{index}"))?;
        cell.get_or_init(|| {
            let p = self.prepared.sibling(index).map_err(|e| e.to_string())?;
            let program = p.runnable_program().map_err(|e| e.to_string())?;
            // SAFETY: the caller of `compile_prepared` vouched for every program this one
            // may tail-call, and `k` is one: `tail_call_slot` gives only programs within
            // the prepared program's tail-call targets (`limit_tail_call_targets`).
            let arrays = |h| array_layout(&p, h);
            let jit = unsafe {
                crate::build(
                    &program,
                    p.helpers(),
                    Some(p.engine_helpers()),
                    None,
                    Some(&arrays),
                    &self.options,
                )
            }
            .map_err(|e| format!("bpf_tail_call: target {}: {e}", p.name()))?;
            Ok(Arc::new(jit))
        })
        .clone()
    }
}

impl TailCalls for JitSet {
    fn resolve(&self, map: u64, index: u32) -> Result<TailResolution, String> {
        Ok(match self.prepared.tail_call_slot(map, index)? {
            TailCallSlot::OutOfRange => TailResolution::OutOfRange,
            TailCallSlot::Empty => TailResolution::Empty,
            TailCallSlot::Program(k) => TailResolution::Program(self.compiled(k)?.body_addr()),
        })
    }
}

/// A program of an object instance compiled to native code.
pub struct JitObjectProgram {
    root: Arc<JitProgram>,
    set: Arc<JitSet>,
    regions: Arc<[Region]>,
}

impl std::fmt::Debug for JitObjectProgram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JitObjectProgram")
            .field("name", &self.set.prepared.name())
            .field("code", &self.root)
            .finish()
    }
}

/// Compile a prepared program of an object instance (see the [module docs](self)).
///
/// `verified`, when given, is the verifier's result for the same program of the object
/// (before relocation); its facts drive optimisations when the instruction counts match
/// (context rewriting may insert instructions, in which case they are not used).
///
/// # Safety
/// The generated code performs the program's memory accesses unchecked. The caller must
/// guarantee what the verifier proves, for this program and every program of the instance
/// it may tail-call (all of them, unless limited with
/// [`PreparedProgram::limit_tail_call_targets`] before this call, say to the programs the
/// verifier accepted; a slot naming any other program then falls through): every access stays inside the context, packet, stack and map memory
/// the program may use, no register is read before it is written, every path ends in
/// `exit`; and `verified`, when given, must be the verification of this program.
///
/// # Errors
/// [`JitError`] as [`crate::compile_unchecked`]; [`JitError::Prepare`] when the context
/// accesses cannot be rewritten.
pub unsafe fn compile_prepared(
    prepared: &PreparedProgram,
    verified: Option<&VerifiedProgram>,
    options: &JitOptions,
) -> Result<JitObjectProgram, JitError> {
    let program = prepared
        .runnable_program()
        .map_err(|e| JitError::Prepare(e.to_string()))?;
    let facts = verified
        .filter(|v| v.program().insns().len() == program.insns().len())
        .map(|v| v.facts.as_slice());
    // SAFETY: the caller's contract.
    let arrays = |h| array_layout(prepared, h);
    let root = Arc::new(unsafe {
        crate::build(
            &program,
            prepared.helpers(),
            Some(prepared.engine_helpers()),
            facts,
            Some(&arrays),
            options,
        )
    }?);
    let own = prepared
        .sibling(prepared.index())
        .map_err(|e| JitError::Prepare(e.to_string()))?;
    let programs: Box<[Compiled]> = (0..prepared.instance_program_count())
        .map(|_| OnceLock::new())
        .collect();
    if let Some(cell) = programs.get(prepared.index()) {
        let _ = cell.set(Ok(root.clone()));
    }
    Ok(JitObjectProgram {
        root,
        set: Arc::new(JitSet {
            prepared: own,
            options: options.clone(),
            programs,
        }),
        regions: prepared.map_regions(),
    })
}

/// Where the values of the plain array map `handle` names live, for inlining lookups (the
/// kernel's `array_map_gen_lookup`). Only when the layout is checked regular.
fn array_layout(prepared: &PreparedProgram, handle: u64) -> Option<crate::codegen::ArrayLayout> {
    let map = prepared.map_by_handle(handle)?;
    if map.map_type() != MapType::Array {
        return None;
    }
    let max = map.spec().max_entries;
    if max == 0 || max > i32::MAX as u32 {
        return None;
    }
    let at = |k: u32| map.lookup_ptr(&k.to_ne_bytes());
    let base = at(0)?;
    let stride = if max >= 2 {
        at(1)?.checked_sub(base)?
    } else {
        u64::from(map.spec().value_size).next_multiple_of(8)
    };
    if stride < u64::from(map.spec().value_size) || stride > i32::MAX as u64 {
        return None;
    }
    if at(max - 1)? != base + stride * u64::from(max - 1) {
        return None;
    }
    Some(crate::codegen::ArrayLayout {
        base,
        stride: stride as u32,
        max_entries: max,
    })
}

/// Runs a [`JitObjectProgram`] on a memory map that already holds the map regions.
struct WithRegions<'a>(&'a JitObjectProgram);

impl Executable for WithRegions<'_> {
    fn run_raw(&self, input: &mut [u8]) -> Result<u64, Trap> {
        self.0.run_raw(input)
    }

    fn run(&self, args: &[u64], memory: &mut MemoryMap<'_>) -> Result<u64, Trap> {
        // SAFETY: the contract of `compile_prepared`; test runs build the context the
        // program type expects.
        unsafe { run::execute(&self.0.root, args, memory, Some(&*self.0.set)) }
    }
}

impl JitObjectProgram {
    /// The compiled code of the program itself.
    pub fn jit(&self) -> &JitProgram {
        &self.root
    }

    /// The prepared program this was compiled from.
    pub fn prepared(&self) -> &PreparedProgram {
        &self.set.prepared
    }

    /// Run with `BPF_PROG_TEST_RUN` semantics for the program's type, as
    /// [`PreparedProgram::test_run`]; the map regions are added once for all repetitions.
    ///
    /// # Errors
    /// As [`PreparedProgram::test_run`].
    pub fn test_run(&self, input: &TestRunInput<'_>) -> Result<TestRunOutput, TestRunError> {
        let prepared = &self.set.prepared;
        let Some((pt, facts)) = prepared.context() else {
            return Err(TestRunError::Unsupported(format!(
                "program {} has type {}, which has no test-run context (the kernel refuses it too)",
                prepared.name(),
                prepared.spec().prog_type
            )));
        };
        let regions = self.regions.clone();
        test_run_program_with(&WithRegions(self), pt, facts, input, &mut |m| {
            for r in regions.iter() {
                // SAFETY: the map regions belong to maps the instance keeps alive (held
                // by the prepared program) for longer than the test run.
                unsafe { m.add_raw(*r) };
            }
        })
    }

    /// Run with r1.. from `args` (at most 5): `memory` holds the context and packet
    /// regions; the map regions are added for the helpers.
    ///
    /// # Errors
    /// A [`Trap`] for a failing helper, call depth, a bad `callx` target, or running off
    /// the end.
    pub fn run_with(&self, args: &[u64], memory: &MemoryMap<'_>) -> Result<u64, Trap> {
        let mut run_memory = MemoryMap::with_capacity(memory.regions().len() + 1);
        for r in memory.regions() {
            // SAFETY: the caller's regions are valid for its map's lifetime, which outlasts
            // this call.
            unsafe { run_memory.add_raw(*r) };
        }
        self.run_adding_map_regions(args, &mut run_memory)
    }

    /// [`JitObjectProgram::run_with`] on `memory` itself: the map regions are added for the
    /// run and removed again.
    fn run_adding_map_regions(
        &self,
        args: &[u64],
        memory: &mut MemoryMap<'_>,
    ) -> Result<u64, Trap> {
        if !self.root.calls {
            // Code that calls nothing never looks at the memory map.
            return self.run_in(args, memory);
        }
        // SAFETY: the map regions belong to maps the instance keeps alive.
        unsafe { memory.with_regions(&self.regions, |memory| self.run_in(args, memory)) }
    }

    /// Run with r1.. from `args` (at most 5) on `memory` as it is: the caller has added the
    /// context, packet and map regions ([`PreparedProgram::map_regions`]) its helpers'
    /// checked copies may reach, so a memory map built once serves run after run.
    ///
    /// # Errors
    /// As [`JitObjectProgram::run_with`].
    #[inline]
    pub fn run_in(&self, args: &[u64], memory: &mut MemoryMap<'_>) -> Result<u64, Trap> {
        // SAFETY: the contract of `compile_prepared`; the program's own accesses do not
        // depend on `memory` (only helpers' checked copies do).
        unsafe { run::execute(&self.root, args, memory, Some(&*self.set)) }
    }

    /// Run with r1 = address of `input` (0 when empty) and r2 = its length.
    ///
    /// # Errors
    /// As [`JitObjectProgram::run_with`].
    pub fn run_raw(&self, input: &mut [u8]) -> Result<u64, Trap> {
        userbpf_runtime::engine::run_on_input(self, input)
    }
}

impl Executable for JitObjectProgram {
    fn run(&self, args: &[u64], memory: &mut MemoryMap<'_>) -> Result<u64, Trap> {
        self.run_adding_map_regions(args, memory)
    }
}
