//! # Instances: an object's maps created, its programs relocated and ready to run
//!
//! Takes a parsed [`Object`] (programs with map references as map indices, map
//! definitions); gives an [`ObjectInstance`]: every map created ([`maps_setup`]: kernel map
//! types, global data with its initial contents, `.rodata` read-only for programs, pinning),
//! and [`PreparedProgram`]s ([`ObjectInstance::program`]): the program's instructions with
//! map references rewritten ([`relocate`]), the map helpers bound to the instance's maps
//! ([`map_helpers`]), `bpf_loop` and `bpf_for_each_map_elem` ([`callbacks`]) and tail calls
//! through program arrays ([`tail_call`]), checked by the interpreter.
//!
//! ## Map handles and value addresses
//! `lddw rX, map` becomes the constant [`map_handle`]`(id)` = [`MAP_HANDLE_TAG`]` | id`, a
//! value no region contains, so any load or store through it traps; helpers turn it back
//! into the map. `lddw rX, map_value + off` (global data) becomes the real address of
//! element 0 of the array plus `off`. Map ids are the indices of [`Object::maps`], then the
//! maps created later with [`ObjectInstance::create_map`].
//!
//! ## Memory
//! A run ([`PreparedProgram::run_with`]) sees the caller's regions and the storage region of
//! every map of the instance ([`RegionKind::MapValue`]; read-only for `BPF_F_RDONLY_PROG`
//! maps), so value pointers from `bpf_map_lookup_elem`, ring buffer records and global data
//! can be dereferenced, also by tail-called programs and through inner maps.
//!
//! ```no_run
//! use userbpf_runtime::instance::{LoadOptions, ObjectInstance};
//! let object = userbpf_object::Object::parse(&std::fs::read("prog.bpf.o").unwrap()).unwrap();
//! let instance = ObjectInstance::load(&object, &LoadOptions::default()).unwrap();
//! let prog = instance.program("count").unwrap();
//! let r0 = prog.run_raw(&mut [0u8; 16]).unwrap();
//! let counts = instance.map("counts").unwrap();
//! println!("{r0} {:?}", counts.lookup(&0u32.to_ne_bytes()));
//! ```

pub mod callbacks;
pub mod engine_support;
mod error;
pub mod map_helpers;
pub mod maps_setup;
pub mod relocate;
pub mod tail_call;

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use userbpf_isa::Program;
use userbpf_object::{Object, ProgramSpec};

pub use error::RuntimeError;

use crate::context::{
    register_packet_helpers, test_run_program_with, CtxAccessFacts, ProgType, TestRunError,
    TestRunInput, TestRunOutput,
};
use crate::engine::Executable;
use crate::error::Trap;
use crate::helpers::Helpers;
use crate::interp::{EngineHelpers, Interpreter};
use crate::kernel_helpers::{self, HelperEnv, LocalEnv};
use crate::maps::{self, Map, MapType};
use crate::memory::{MemoryMap, Region};

/// Tag of map handles: `lddw rX, map` loads `MAP_HANDLE_TAG | map id`.
pub const MAP_HANDLE_TAG: u64 = 0xfbe0_0000_0000_0000;
/// Most maps one instance holds (the object's and those created later).
pub const MAX_MAPS: usize = 4096;

/// The handle programs see for map `id`.
pub const fn map_handle(id: u32) -> u64 {
    MAP_HANDLE_TAG | id as u64
}

/// The map id of a handle, if `value` is one.
pub const fn map_id_of_handle(value: u64) -> Option<u32> {
    if value & 0xffff_ffff_0000_0000 == MAP_HANDLE_TAG {
        Some(value as u32)
    } else {
        None
    }
}

/// How to load an object.
#[derive(Clone, Default)]
pub struct LoadOptions {
    /// Pin every map as `DIR/<map name>`. Maps declared with `LIBBPF_PIN_BY_NAME` reuse an
    /// existing compatible pin (its contents kept); any other existing pin is an error.
    pub pin_dir: Option<PathBuf>,
    /// Who the kernel helpers act for (pid, uid, comm, trace output); default: this process,
    /// trace output on standard error.
    pub helper_env: Option<Arc<dyn HelperEnv>>,
}

impl std::fmt::Debug for LoadOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadOptions")
            .field("pin_dir", &self.pin_dir)
            .field("helper_env", &self.helper_env.is_some())
            .finish()
    }
}

/// One map of an instance.
#[derive(Debug)]
pub(crate) struct MapEntry {
    pub name: String,
    pub map: Arc<Map>,
    /// The inner map template of a map-in-map.
    pub inner: Option<maps::MapSpec>,
}

/// What the instance's helpers and programs share.
pub(crate) struct Shared {
    maps: Box<[OnceLock<MapEntry>]>,
    map_count: AtomicUsize,
    /// Serialises adding maps (names must stay unique).
    adding: Mutex<()>,
    regions: RwLock<Arc<[Region]>>,
    pub programs: Vec<ProgramSpec>,
    pin_dir: Option<PathBuf>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("maps", &self.map_count.load(Ordering::Acquire))
            .field("programs", &self.programs.len())
            .finish()
    }
}

impl Shared {
    /// The map with id `id`.
    #[inline]
    pub(crate) fn entry(&self, id: u32) -> Option<&MapEntry> {
        self.maps.get(id as usize)?.get()
    }

    /// The map a handle names.
    #[inline]
    pub(crate) fn by_handle(&self, handle: u64) -> Option<&MapEntry> {
        self.entry(map_id_of_handle(handle)?)
    }

    #[inline]
    pub(crate) fn count(&self) -> usize {
        self.map_count.load(Ordering::Acquire)
    }

    pub(crate) fn entries(&self) -> impl Iterator<Item = (u32, &MapEntry)> {
        (0..self.count()).filter_map(|i| self.maps[i].get().map(|e| (i as u32, e)))
    }

    pub(crate) fn id_of(&self, name: &str) -> Option<u32> {
        self.entries().find(|(_, e)| e.name == name).map(|(i, _)| i)
    }

    pub(crate) fn program_index(&self, name: &str) -> Option<usize> {
        self.programs.iter().position(|p| p.name == name)
    }

    /// Add a map; returns its id.
    pub(crate) fn push(&self, entry: MapEntry) -> Result<u32, RuntimeError> {
        let _g = self.adding.lock().unwrap_or_else(|e| e.into_inner());
        let id = self.count();
        if id >= self.maps.len() {
            return Err(RuntimeError::TooManyMaps(entry.name));
        }
        let region = entry.map.memory_region();
        let _ = self.maps[id].set(entry);
        self.map_count.store(id + 1, Ordering::Release);
        let mut regions = self.regions.write().unwrap_or_else(|e| e.into_inner());
        let mut v: Vec<Region> = regions.iter().copied().collect();
        v.push(region);
        *regions = v.into();
        Ok(id as u32)
    }

    /// The storage regions of all maps.
    pub(crate) fn regions(&self) -> Arc<[Region]> {
        self.regions
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// An object with its maps created: the source of runnable programs.
///
/// `ObjectInstance` is `Send + Sync`; its prepared programs may run on many threads at once.
pub struct ObjectInstance {
    shared: Arc<Shared>,
    env: Arc<dyn HelperEnv>,
}

impl std::fmt::Debug for ObjectInstance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObjectInstance")
            .field("maps", &self.maps())
            .field("programs", &self.program_names())
            .finish()
    }
}

impl ObjectInstance {
    /// Create every map of `object` (with initial contents, pinned if asked) and fill
    /// program arrays and maps of maps from the object's initial values.
    ///
    /// # Errors
    /// [`RuntimeError`] naming the map whose type is unsupported, whose geometry is invalid,
    /// whose pin cannot be created or reused, or whose initial values are invalid.
    pub fn load(object: &Object, options: &LoadOptions) -> Result<ObjectInstance, RuntimeError> {
        let shared = Arc::new(Shared {
            maps: (0..MAX_MAPS.max(object.maps.len()))
                .map(|_| OnceLock::new())
                .collect(),
            map_count: AtomicUsize::new(0),
            adding: Mutex::new(()),
            regions: RwLock::new(Arc::from(Vec::new())),
            programs: object.programs.clone(),
            pin_dir: options.pin_dir.clone(),
        });
        maps_setup::create_maps(&shared, object, options.pin_dir.as_deref())?;
        let env = options
            .helper_env
            .clone()
            .unwrap_or_else(|| Arc::new(LocalEnv::default()));
        Ok(ObjectInstance { shared, env })
    }

    /// The maps, by id: `(name, map)`.
    pub fn maps(&self) -> Vec<(String, Arc<Map>)> {
        self.shared
            .entries()
            .map(|(_, e)| (e.name.clone(), e.map.clone()))
            .collect()
    }

    /// The map called `name`.
    ///
    /// # Errors
    /// [`RuntimeError::NoSuchMap`].
    pub fn map(&self, name: &str) -> Result<Arc<Map>, RuntimeError> {
        let id = self.map_id(name)?;
        Ok(self.shared.entry(id).expect("listed map").map.clone())
    }

    /// The id of the map called `name` (its handle is [`map_handle`]`(id)`).
    ///
    /// # Errors
    /// [`RuntimeError::NoSuchMap`].
    pub fn map_id(&self, name: &str) -> Result<u32, RuntimeError> {
        self.shared
            .id_of(name)
            .ok_or_else(|| RuntimeError::NoSuchMap(name.to_string()))
    }

    /// The map with id `id`.
    pub fn map_by_id(&self, id: u32) -> Option<Arc<Map>> {
        self.shared.entry(id).map(|e| e.map.clone())
    }

    /// Create another map (for example an inner map to store in a map of maps), pinned
    /// under the instance's pin directory if it has one; returns its id.
    ///
    /// # Errors
    /// As [`ObjectInstance::load`] for one map; a name already in use is an error.
    pub fn create_map(&self, name: &str, spec: maps::MapSpec) -> Result<u32, RuntimeError> {
        if self.shared.id_of(name).is_some() {
            return Err(RuntimeError::MapDefinition {
                map: name.to_string(),
                reason: "a map of this name exists".to_string(),
            });
        }
        let spec = spec.with_name(name);
        let pin = self
            .shared
            .pin_dir
            .as_deref()
            .map(|d| d.join(maps_setup::pin_file_name(name)));
        let map = Map::create(spec, pin.as_deref()).map_err(|source| RuntimeError::Map {
            map: name.to_string(),
            source,
        })?;
        self.shared.push(MapEntry {
            name: name.to_string(),
            map: Arc::new(map),
            inner: None,
        })
    }

    /// Names of the programs, in object order.
    pub fn program_names(&self) -> Vec<&str> {
        self.shared
            .programs
            .iter()
            .map(|p| p.name.as_str())
            .collect()
    }

    /// The object's description of program `name`.
    pub fn program_spec(&self, name: &str) -> Option<&ProgramSpec> {
        self.shared.programs.iter().find(|p| p.name == name)
    }

    /// Prepare program `name` to run with the kernel helpers of
    /// [`kernel_helpers`](crate::kernel_helpers) (acting for the load options' environment)
    /// and the map, callback and tail call helpers of this instance.
    ///
    /// # Errors
    /// [`RuntimeError::NoSuchProgram`]; a relocation error; a helper that user space cannot
    /// provide or that is not registered, or a kfunc call, naming the helper and the
    /// instruction.
    pub fn program(&self, name: &str) -> Result<PreparedProgram, RuntimeError> {
        let mut base = Helpers::new();
        kernel_helpers::register(&mut base, self.env.clone());
        let index = self
            .shared
            .program_index(name)
            .ok_or_else(|| RuntimeError::NoSuchProgram(name.to_string()))?;
        if let Some(pt) = ProgType::from_id(self.shared.programs[index].prog_type.id()) {
            register_packet_helpers(&mut base, pt);
        }
        self.program_with(name, &base)
    }

    /// Prepare program `name` with `base` helpers (for example the kernel helpers plus the
    /// packet helpers of a hook) and this instance's map, callback and tail call helpers,
    /// which replace helpers of the same id in `base`. Programs reached by tail calls get
    /// the same helpers.
    ///
    /// # Errors
    /// As [`ObjectInstance::program`].
    pub fn program_with(
        &self,
        name: &str,
        base: &Helpers,
    ) -> Result<PreparedProgram, RuntimeError> {
        let index = self
            .shared
            .program_index(name)
            .ok_or_else(|| RuntimeError::NoSuchProgram(name.to_string()))?;
        let set = tail_call::ProgramSet::new(self.shared.clone(), base.clone());
        let prepared = set.prepare(index)?;
        Ok(PreparedProgram {
            name: name.to_string(),
            index,
            program: prepared.program,
            context: prepared.context,
            helpers: prepared.helpers,
            engine: prepared.engine,
            interp: prepared.interp,
            set,
            shared: self.shared.clone(),
            map_regions: self.shared.regions(),
        })
    }

    /// Store program `program` in slot `index` of prog_array `map` (user space's
    /// `bpf_map_update_elem(prog_array_fd, &index, &prog_fd)`).
    ///
    /// # Errors
    /// No such map or program, `map` not a prog_array, `index` out of range.
    pub fn set_tail_call(&self, map: &str, index: u32, program: &str) -> Result<(), RuntimeError> {
        let prog = self
            .shared
            .program_index(program)
            .ok_or_else(|| RuntimeError::NoSuchProgram(program.to_string()))?;
        maps_setup::set_prog_slot(&self.shared, self.map_id(map)?, index, prog)
    }

    /// Empty slot `index` of prog_array `map`.
    ///
    /// # Errors
    /// No such map, `map` not a prog_array, `index` out of range or the slot already empty.
    pub fn clear_tail_call(&self, map: &str, index: u32) -> Result<(), RuntimeError> {
        let m = self.map(map)?;
        if m.map_type() != MapType::ProgArray {
            return Err(RuntimeError::Slot {
                map: map.to_string(),
                reason: format!("is a {}, not a program array", m.map_type()),
            });
        }
        m.delete(&index.to_ne_bytes())
            .map_err(|source| RuntimeError::Map {
                map: map.to_string(),
                source,
            })
    }

    /// Store map `inner` under `key` in map of maps `outer` (checked against the outer
    /// map's inner template as the kernel does).
    ///
    /// # Errors
    /// No such map, `outer` not a map of maps, an incompatible inner map, a bad key.
    pub fn set_inner_map(&self, outer: &str, key: &[u8], inner: &str) -> Result<(), RuntimeError> {
        maps_setup::set_inner(&self.shared, self.map_id(outer)?, key, self.map_id(inner)?)
    }
}

/// A program of an instance, relocated and ready to run in the checked interpreter.
///
/// Cheap to share between threads (`&PreparedProgram` is `Sync`); each run has its own
/// stack and registers, and the maps are shared.
pub struct PreparedProgram {
    name: String,
    index: usize,
    program: Program,
    context: Option<(ProgType, CtxAccessFacts)>,
    helpers: Helpers,
    engine: EngineHelpers,
    interp: Arc<Interpreter>,
    set: Arc<tail_call::ProgramSet>,
    shared: Arc<Shared>,
    /// The instance's map regions when the program was prepared.
    map_regions: Arc<[Region]>,
}

impl std::fmt::Debug for PreparedProgram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PreparedProgram")
            .field("name", &self.name)
            .field("slots", &self.program.slot_count())
            .finish()
    }
}

impl PreparedProgram {
    /// The program's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The program's index in the object.
    pub fn index(&self) -> usize {
        self.index
    }

    /// The object's description of the program (section, type, line info origin).
    pub fn spec(&self) -> &ProgramSpec {
        &self.shared.programs[self.index]
    }

    /// The relocated instructions: map references are constants (handles and value
    /// addresses); this is what a verifier or JIT takes.
    pub fn program(&self) -> &Program {
        &self.program
    }

    /// The program's context type and the context accesses found in it (None for program
    /// types without a context layout here, such as unspecified numbered sections).
    pub fn context(&self) -> Option<(ProgType, &CtxAccessFacts)> {
        self.context.as_ref().map(|(pt, f)| (*pt, f))
    }

    /// Run with `BPF_PROG_TEST_RUN` semantics for the program's type: packet in
    /// (`data_in`), context in (`ctx_in`), `repeat` runs; retval, packet out, context out.
    ///
    /// # Errors
    /// [`TestRunError`]: inputs the kernel would refuse (with its errno), program types
    /// that cannot be test-run, or a trap.
    pub fn test_run(&self, input: &TestRunInput<'_>) -> Result<TestRunOutput, TestRunError> {
        let Some((pt, facts)) = &self.context else {
            return Err(TestRunError::Unsupported(format!(
                "program {} has type {}, which has no test-run context (the kernel refuses it too)",
                self.name,
                self.spec().prog_type
            )));
        };
        test_run_program_with(self, *pt, facts, input, &mut |_| {})
    }

    /// The ordinary helpers of the program (kernel helpers and map helpers), by id.
    pub fn helpers(&self) -> &Helpers {
        &self.helpers
    }

    /// The helpers that call back into the program (`bpf_loop`, `bpf_for_each_map_elem`)
    /// and the tail call resolver.
    pub fn engine_helpers(&self) -> &EngineHelpers {
        &self.engine
    }

    /// The interpreter.
    pub fn interpreter(&self) -> &Interpreter {
        &self.interp
    }

    /// The storage regions of the instance's maps, which every run must be able to reach.
    pub fn map_regions(&self) -> Arc<[Region]> {
        self.shared.regions()
    }

    /// Stop runs after `budget` instructions (tail calls and callbacks included).
    pub fn set_budget(&mut self, budget: Option<u64>) {
        Arc::make_mut(&mut self.interp).set_budget(budget);
    }

    /// Number of maps of the instance now (the length of [`PreparedProgram::map_regions`]);
    /// one atomic load, for callers that keep the map regions and refresh them when maps
    /// are added.
    #[inline]
    pub fn map_count(&self) -> usize {
        self.shared.count()
    }

    /// Run with r1.. from `args` (at most 5), with the regions of `memory` (context,
    /// packet...) and the map regions.
    ///
    /// # Errors
    /// A [`Trap`] when the program misbehaves.
    pub fn run_with(&self, args: &[u64], memory: &MemoryMap<'_>) -> Result<u64, Trap> {
        // Room for the stack region the interpreter adds.
        let mut run_memory = MemoryMap::with_capacity(memory.regions().len() + 2);
        for r in memory.regions() {
            // SAFETY: the caller's regions are valid for its map's lifetime, which outlasts
            // this call.
            unsafe { run_memory.add_raw(*r) };
        }
        self.run_adding_map_regions(args, &mut run_memory)
    }

    /// [`PreparedProgram::run_with`] on `memory` itself: the map regions are added to it
    /// for the run and removed again (no copy of the caller's regions).
    fn run_adding_map_regions(
        &self,
        args: &[u64],
        memory: &mut MemoryMap<'_>,
    ) -> Result<u64, Trap> {
        // The map regions as the program was prepared, unless maps were added since.
        let latest;
        let regions: &[Region] = if self.map_regions.len() == self.shared.count() {
            &self.map_regions
        } else {
            latest = self.shared.regions();
            &latest
        };
        // SAFETY: the map regions belong to maps held by `self.shared` (each map's storage
        // lives as long as the map), which outlives the run.
        unsafe { memory.with_regions(regions, |memory| self.run_in(args, memory)) }
    }

    /// Run with r1.. from `args` (at most 5) on `memory` as it is: the caller has added
    /// the map regions ([`PreparedProgram::map_regions`]) it wants the run to reach, so a
    /// memory map built once serves run after run. Map values outside `memory` trap.
    ///
    /// # Errors
    /// A [`Trap`] when the program misbehaves.
    #[inline]
    pub fn run_in(&self, args: &[u64], memory: &mut MemoryMap<'_>) -> Result<u64, Trap> {
        let _keep = &self.set;
        self.interp.run(args, memory)
    }

    /// Run with r1 = address of `input` (0 when empty) and r2 = its length.
    ///
    /// # Errors
    /// A [`Trap`] when the program misbehaves.
    pub fn run_raw(&self, input: &mut [u8]) -> Result<u64, Trap> {
        crate::engine::run_on_input(self, input)
    }
}

impl Executable for PreparedProgram {
    fn run(&self, args: &[u64], memory: &mut MemoryMap<'_>) -> Result<u64, Trap> {
        self.run_adding_map_regions(args, memory)
    }
}
