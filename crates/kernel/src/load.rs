//! A mini libbpf: loading a parsed object into the kernel.
//!
//! Takes a [`userbpf_object::Object`]; gives a [`KernelObject`]: every map created
//! ([`MapFd`], map-in-map maps with a template made from the inner definition), global data
//! written into `.data` / `.rodata` / `.bss` (and `.rodata*` frozen, as libbpf does, so the
//! verifier treats its contents as constants), every program's `lddw` map references
//! rewritten from object map indices (`BPF_PSEUDO_MAP_IDX`, `BPF_PSEUDO_MAP_IDX_VALUE`) to
//! the kernel's `BPF_PSEUDO_MAP_FD` / `BPF_PSEUDO_MAP_VALUE` with the new fds, every program
//! loaded with its type, and the `.values = { ... }` initial elements of program arrays and
//! map-in-map maps filled in. The object's BTF is loaded (with `DATASEC` layouts fixed up,
//! [`crate::sanitize_btf`]) so that each program carries `func_info` for its functions, which
//! the verifier needs for callbacks and global functions; maps are created without BTF
//! types. When the kernel refuses the BTF, programs are loaded without it.

use std::io;
use std::os::fd::AsRawFd;

use userbpf_isa::{encode_program, Insn, LdImm64Kind};
use userbpf_object::{DataKind, MapInit, MapOrigin, MapSpec, Object, ProgramSpec, ProgramType};

use crate::btf::{btf_load, sanitize, BtfFd};
use crate::map::{map_create, map_type, update_flags, MapCreateOptions, MapFd};
use crate::prog::{prog_load_with, LoadFailure, LoadOptions, ProgFd};

/// `BPF_XDP`, the `expected_attach_type` libbpf gives `SEC("xdp")` programs.
const BPF_XDP: u32 = 37;

/// Why [`load_object`] could not load an object.
#[derive(Debug, thiserror::Error)]
pub enum KernelLoadError {
    /// `BPF_MAP_CREATE` refused a map.
    #[error("map {map}: BPF_MAP_CREATE failed: {source}")]
    MapCreate {
        /// Map name.
        map: String,
        /// The kernel's errno.
        source: io::Error,
    },
    /// Writing a map's initial contents (global data, program array or map-in-map
    /// elements) or freezing it failed.
    #[error("map {map}: initialising failed: {what}: {source}")]
    MapInit {
        /// Map name.
        map: String,
        /// What was being done.
        what: String,
        /// The kernel's errno.
        source: io::Error,
    },
    /// A map or program reference the object contains does not resolve.
    #[error("{context}: {message}")]
    Reference {
        /// Program or map name.
        context: String,
        /// What is wrong.
        message: String,
    },
    /// `BPF_PROG_LOAD` refused a program.
    #[error("program {program}: {failure}")]
    ProgLoad {
        /// Program name.
        program: String,
        /// Errno and verifier log.
        failure: LoadFailure,
    },
}

/// An object loaded into the kernel: its maps and programs by name, closed on drop.
#[derive(Debug)]
pub struct KernelObject {
    maps: Vec<(String, MapFd)>,
    programs: Vec<(String, ProgFd)>,
    btf: Result<BtfFd, String>,
}

/// Load every map and program of `object` into the kernel, as libbpf's
/// `bpf_object__load` would.
///
/// # Errors
/// [`KernelLoadError`] naming the map or program the kernel refused, with its errno (and
/// the verifier log for programs).
///
/// ```no_run
/// let bytes = std::fs::read("prog.bpf.o").unwrap();
/// let object = userbpf_object::Object::parse(&bytes).unwrap();
/// let loaded = userbpf_kernel::load_object(&object)?;
/// let run = loaded.program("xdp_pass").unwrap().test_run(&[0u8; 64], 1, 64)?;
/// println!("retval {}; counts {:?}", run.retval, loaded.dump_map("counts")?);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn load_object(object: &Object) -> Result<KernelObject, KernelLoadError> {
    load_object_with_log_level(object, 0)
}

/// [`load_object`] with every program loaded at `log_level` (`BPF_PROG_LOAD`'s, e.g. 4 =
/// `BPF_LOG_STATS` for the kernel's "verification time N usec" line); each program's log is
/// then [`ProgFd::log`] of [`KernelObject::program`].
///
/// # Errors
/// As [`load_object`].
pub fn load_object_with_log_level(
    object: &Object,
    log_level: u32,
) -> Result<KernelObject, KernelLoadError> {
    let mut maps = Vec::with_capacity(object.maps.len());
    for spec in &object.maps {
        let fd = create_map(spec)?;
        fill_data(spec, &fd)?;
        maps.push((spec.name.clone(), fd));
    }
    let btf = match &object.btf {
        Some(btf) => {
            sanitize(btf.raw_bytes()).and_then(|raw| btf_load(&raw).map_err(|e| e.to_string()))
        }
        None => Err("the object has no BTF".to_string()),
    };
    let license = object.license.as_deref().unwrap_or("GPL");
    let mut programs = Vec::with_capacity(object.programs.len());
    for program in &object.programs {
        let code = relocate(program, &maps)?;
        let func_info = match &btf {
            Ok(_) => func_info(object, program),
            Err(_) => None,
        };
        let opts = LoadOptions {
            expected_attach_type: expected_attach_type(program.prog_type),
            name: program.name.clone(),
            btf_fd: func_info
                .as_ref()
                .and(btf.as_ref().ok())
                .map(|b| b.as_raw_fd()),
            func_info: func_info.unwrap_or_default(),
            log_level,
            ..LoadOptions::default()
        };
        let fd =
            prog_load_with(program.prog_type.id(), &code, license, &opts).map_err(|failure| {
                KernelLoadError::ProgLoad {
                    program: program.name.clone(),
                    failure,
                }
            })?;
        programs.push((program.name.clone(), fd));
    }
    let loaded = KernelObject {
        maps,
        programs,
        btf,
    };
    for spec in &object.maps {
        loaded.fill_initial_values(object, spec)?;
    }
    Ok(loaded)
}

/// `(insn_off, type_id)` for every function linked into `program`, from BTF.ext; `None`
/// when some function has no record (the kernel wants all or nothing).
fn func_info(object: &Object, program: &ProgramSpec) -> Option<Vec<(u32, u32)>> {
    let ext = object.btf_ext.as_ref()?;
    let mut out = Vec::with_capacity(program.segments.len());
    for seg in &program.segments {
        let record = ext
            .section(&seg.section)?
            .func_info
            .iter()
            .find(|f| f.slot == seg.section_slot)?;
        out.push((u32::try_from(seg.slot).ok()?, record.type_id));
    }
    out.sort_unstable();
    Some(out)
}

fn expected_attach_type(prog_type: ProgramType) -> u32 {
    match prog_type {
        ProgramType::Xdp => BPF_XDP,
        _ => 0,
    }
}

fn create_opts(spec: &MapSpec, name: &str) -> MapCreateOptions {
    MapCreateOptions {
        map_type: spec.map_type,
        key_size: spec.key_size,
        value_size: spec.value_size,
        max_entries: spec.max_entries,
        map_flags: spec.map_flags,
        inner_map_fd: None,
        numa_node: spec.numa_node,
        map_extra: spec.map_extra,
        name: name.to_string(),
    }
}

fn create_map(spec: &MapSpec) -> Result<MapFd, KernelLoadError> {
    let err = |source| KernelLoadError::MapCreate {
        map: spec.name.clone(),
        source,
    };
    let mut opts = create_opts(spec, &spec.name);
    // The template inner map only lives until the outer map holds its description.
    let template = match (&spec.inner, spec.is_map_in_map()) {
        (Some(inner), _) => Some(map_create(&create_opts(inner, "inner")).map_err(err)?),
        (None, true) => {
            return Err(KernelLoadError::Reference {
                context: format!("map {}", spec.name),
                message: "map-in-map without an inner map definition".into(),
            })
        }
        (None, false) => None,
    };
    opts.inner_map_fd = template.as_ref().map(|t| t.as_raw_fd());
    map_create(&opts).map_err(err)
}

/// Write a global data map's initial contents; freeze `.rodata*`.
fn fill_data(spec: &MapSpec, fd: &MapFd) -> Result<(), KernelLoadError> {
    let MapOrigin::Data(kind) = spec.origin else {
        return Ok(());
    };
    let err = |what: &str, source| KernelLoadError::MapInit {
        map: spec.name.clone(),
        what: what.into(),
        source,
    };
    if !spec.data.iter().all(|&b| b == 0) {
        let mut value = spec.data.clone();
        value.resize(spec.value_size as usize, 0);
        fd.update(&0u32.to_ne_bytes(), &value, update_flags::ANY)
            .map_err(|e| err("writing the initial contents", e))?;
    }
    if kind == DataKind::Rodata {
        fd.freeze().map_err(|e| err("BPF_MAP_FREEZE", e))?;
    }
    Ok(())
}

/// The program's bytecode with object map indices replaced by the kernel's map fds.
fn relocate(program: &ProgramSpec, maps: &[(String, MapFd)]) -> Result<Vec<u8>, KernelLoadError> {
    let fd_of = |index: i32, slot: usize| {
        usize::try_from(index)
            .ok()
            .and_then(|i| maps.get(i))
            .map(|(_, fd)| fd.as_raw_fd())
            .ok_or_else(|| KernelLoadError::Reference {
                context: format!("program {}", program.name),
                message: format!("instruction {slot}: map index {index} out of range"),
            })
    };
    let starts = program.insns.starts();
    let mut insns = Vec::with_capacity(program.insns.insns().len());
    for (i, insn) in program.insns.insns().iter().enumerate() {
        let slot = starts.get(i).copied().unwrap_or(i);
        let new = match *insn {
            Insn::LdImm64 {
                dst,
                kind: LdImm64Kind::MapIdx,
                imm,
                next_imm,
            } => Insn::LdImm64 {
                dst,
                kind: LdImm64Kind::MapFd,
                imm: fd_of(imm, slot)?,
                next_imm,
            },
            Insn::LdImm64 {
                dst,
                kind: LdImm64Kind::MapIdxValue,
                imm,
                next_imm,
            } => Insn::LdImm64 {
                dst,
                kind: LdImm64Kind::MapValue,
                imm: fd_of(imm, slot)?,
                next_imm,
            },
            other => other,
        };
        insns.push(new);
    }
    Ok(encode_program(&insns))
}

impl KernelObject {
    /// The loaded program whose function name is `name`.
    pub fn program(&self, name: &str) -> Option<&ProgFd> {
        self.programs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, p)| p)
    }

    /// The created map called `name` (global data maps by section name: `.data`, ...).
    pub fn map(&self, name: &str) -> Option<&MapFd> {
        self.maps.iter().find(|(n, _)| n == name).map(|(_, m)| m)
    }

    /// Whether the object's BTF was loaded (programs then carry `func_info`), or why not.
    pub fn btf_status(&self) -> Result<(), &str> {
        self.btf.as_ref().map(drop).map_err(String::as_str)
    }

    /// Names of the maps, in the object's order.
    pub fn map_names(&self) -> impl Iterator<Item = &str> {
        self.maps.iter().map(|(n, _)| n.as_str())
    }

    /// Names of the programs, in the object's order.
    pub fn program_names(&self) -> impl Iterator<Item = &str> {
        self.programs.iter().map(|(n, _)| n.as_str())
    }

    /// Everything map `name` holds ([`MapFd::dump`]): `(key, value)` pairs in the kernel's
    /// iteration order, per-CPU values concatenated with 8-byte rounding, queue/stack
    /// elements and ringbuf records with empty keys. In program arrays and map-in-map maps
    /// the values are kernel ids: [`KernelObject::map_name_of_id`] and
    /// [`KernelObject::program_name_of_id`] turn them back into names.
    ///
    /// # Errors
    /// `ENOENT` for an unknown map; the errno of the first failing command.
    pub fn dump_map(&self, name: &str) -> io::Result<Vec<(Vec<u8>, Vec<u8>)>> {
        self.map(name)
            .ok_or_else(|| io::Error::from_raw_os_error(libc::ENOENT))?
            .dump()
    }

    /// The name of this object's map whose kernel id is `id`.
    pub fn map_name_of_id(&self, id: u32) -> Option<&str> {
        self.maps
            .iter()
            .find(|(_, m)| m.id().ok() == Some(id))
            .map(|(n, _)| n.as_str())
    }

    /// The name of this object's program whose kernel id is `id`.
    pub fn program_name_of_id(&self, id: u32) -> Option<&str> {
        self.programs
            .iter()
            .find(|(_, p)| p.id().ok() == Some(id))
            .map(|(n, _)| n.as_str())
    }

    /// Put program `program` at `index` of program array `map` (what a loader does for
    /// tail-call targets set from user space).
    ///
    /// # Errors
    /// `ENOENT` for an unknown map or program; the errno of `BPF_MAP_UPDATE_ELEM`.
    pub fn set_prog_array(&self, map: &str, index: u32, program: &str) -> io::Result<()> {
        let enoent = || io::Error::from_raw_os_error(libc::ENOENT);
        let m = self.map(map).ok_or_else(enoent)?;
        let p = self.program(program).ok_or_else(enoent)?;
        m.update(
            &index.to_ne_bytes(),
            &p.as_raw_fd().to_ne_bytes(),
            update_flags::ANY,
        )
    }

    fn fill_initial_values(&self, object: &Object, spec: &MapSpec) -> Result<(), KernelLoadError> {
        if spec.initial_values.is_empty() {
            return Ok(());
        }
        let Some(outer) = self.map(&spec.name) else {
            return Ok(());
        };
        for (key, init) in &spec.initial_values {
            let (fd, what) = match init {
                MapInit::Program(name) => (
                    self.program(name).map(|p| p.as_raw_fd()),
                    format!("program {name}"),
                ),
                MapInit::Map(index) => {
                    let name = object.maps.get(*index).map(|m| m.name.as_str());
                    (
                        name.and_then(|n| self.map(n)).map(|m| m.as_raw_fd()),
                        format!("map #{index}"),
                    )
                }
            };
            let fd = fd.ok_or_else(|| KernelLoadError::Reference {
                context: format!("map {}", spec.name),
                message: format!("initial value {key}: no {what}"),
            })?;
            let key_bytes = match (spec.map_type, spec.key_size) {
                (map_type::HASH_OF_MAPS, 8) => u64::from(*key).to_ne_bytes().to_vec(),
                _ => key.to_ne_bytes().to_vec(),
            };
            outer
                .update(&key_bytes, &fd.to_ne_bytes(), update_flags::ANY)
                .map_err(|source| KernelLoadError::MapInit {
                    map: spec.name.clone(),
                    what: format!("initial value {key} = {what}"),
                    source,
                })?;
        }
        Ok(())
    }
}
