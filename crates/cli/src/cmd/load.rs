//! Loading one program of an ELF object for a run, shared by `userbpf run OBJ` and
//! `userbpf xdp`: parse the object, choose the program (`--program`, or the only one),
//! apply CO-RE relocations, create its maps (pinned with `--pin-dir`), verify the program
//! and choose the engine (see [`userbpf_hooks::packet::engine`]: a rejected program is
//! refused, `--unverified` is the checked interpreter's opt-out) and prepare the program in
//! it.

use std::path::{Path, PathBuf};

use anyhow::anyhow;
use userbpf_hooks::packet::engine::{self, EngineKind, Runner, SelectError, Selection};
use userbpf_object::{core_relo, Object};
use userbpf_runtime::instance::{LoadOptions, ObjectInstance};
use userbpf_runtime::{pin_btf, PreparedProgram};

use super::read_file;
use crate::cli::Engine;
use crate::Failure;

pub(super) fn apply_core(object: &mut Object, btf_path: Option<&Path>) -> Result<(), Failure> {
    if !object.has_core_relos() {
        return Ok(());
    }
    let target = match btf_path {
        Some(p) => {
            let bytes = read_file(p)?;
            userbpf_object::btf::Btf::parse(&bytes)
                .map_err(|e| Failure::input(anyhow!("{}: {e}", p.display())))?
        }
        None => core_relo::host_btf().map_err(|e| {
            Failure::input(anyhow!(
                "the object has CO-RE relocations and no target BTF: {e}; pass --btf FILE"
            ))
        })?,
    };
    core_relo::apply(object, &target).map_err(Failure::input)?;
    Ok(())
}

/// Helpers packet programs may call in the kernel that user space does not implement,
/// with the reason.
const UNIMPLEMENTED: &[(i32, &str, &str)] = &[(
    69,
    "bpf_fib_lookup",
    "user space has no kernel routing (FIB) and neighbour tables to look the route up in; \
     fill a map with the next hops from user space instead",
)];

/// A clear refusal when program `name` calls a helper in [`UNIMPLEMENTED`].
fn unimplemented_helper(object: &Object, name: &str) -> Option<String> {
    let p = object.program(name)?;
    p.insns.iter().find_map(|(slot, insn)| match insn {
        userbpf_isa::Insn::Call(userbpf_isa::CallTarget::Helper(id)) => UNIMPLEMENTED
            .iter()
            .find(|(h, _, _)| h == id)
            .map(|(h, helper, why)| {
                format!(
                    "program {name}: instruction {slot}: helper {helper} ({h}) is not \
                     implemented: {why}"
                )
            }),
        _ => None,
    })
}

/// A clear refusal when program `name` is of a type that runs only attached inside the
/// kernel (fentry/fexit/tp_btf tracing, LSM, struct_ops, freplace): its context is a kernel
/// function's arguments or a kernel object.
fn kernel_attached(object: &Object, name: &str) -> Option<String> {
    use userbpf_object::ProgramType as P;
    let p = object.program(name)?;
    matches!(p.prog_type, P::Tracing | P::Lsm | P::StructOps | P::Ext).then(|| {
        format!(
            "program {name} (section {}, type {}): attaches to a kernel function or object; \
             userbpf can verify it (`userbpf verify`) but has no kernel to run it in",
            p.section,
            p.prog_type.name()
        )
    })
}

/// What to load.
pub(super) struct LoadRequest<'a> {
    pub object: &'a Path,
    pub program: Option<&'a str>,
    pub btf: Option<&'a Path>,
    pub pin_dir: Option<&'a PathBuf>,
    /// The engine asked for (None: the host's default).
    pub engine: Option<Engine>,
    /// Run the checked interpreter without a verifier pass (trusted objects).
    pub unverified: bool,
}

/// A loaded object with its chosen program, before the engine is built.
pub(super) struct Loaded {
    pub name: String,
    pub instance: ObjectInstance,
    selection: Selection,
    path: PathBuf,
}

/// Load the object, verify the program and choose the engine (printing a note when the
/// user opted out of verification).
pub(super) fn load(req: &LoadRequest<'_>) -> Result<Loaded, Failure> {
    let path = req.object;
    let bytes = read_file(path)?;
    let mut object =
        Object::parse(&bytes).map_err(|e| Failure::input(anyhow!("{}: {e}", path.display())))?;
    let name = match (req.program, object.programs.as_slice()) {
        (Some(n), _) => n.to_string(),
        (None, [only]) => only.name.clone(),
        (None, programs) => {
            let names: Vec<&str> = programs.iter().map(|p| p.name.as_str()).collect();
            return Err(Failure::input(anyhow!(
                "{}: choose a program with --program: {}",
                path.display(),
                names.join(", ")
            )));
        }
    };
    if object.program(&name).is_none() {
        return Err(Failure::input(anyhow!(
            "{}: no program named {name}",
            path.display()
        )));
    }
    if let Some(why) = kernel_attached(&object, &name) {
        return Err(Failure::input(anyhow!("{}: {why}", path.display())));
    }
    if let Some(why) = unimplemented_helper(&object, &name) {
        return Err(Failure::input(anyhow!("{}: {why}", path.display())));
    }
    apply_core(&mut object, req.btf)?;
    if let Some(dir) = req.pin_dir {
        std::fs::create_dir_all(dir)
            .map_err(|e| Failure::input(anyhow!("--pin-dir {}: {e}", dir.display())))?;
    }
    let instance = ObjectInstance::load(
        &object,
        &LoadOptions {
            pin_dir: req.pin_dir.cloned(),
            helper_env: None,
        },
    )
    .map_err(|e| Failure::input(anyhow!("{}: {e}", path.display())))?;
    if let Some(dir) = req.pin_dir {
        pin_btf::write_for_object(dir, &object).map_err(|e| Failure::input(anyhow!(e)))?;
    }
    let requested = req.engine.map(|e| match e {
        Engine::Interp => EngineKind::Interp,
        Engine::Jit => EngineKind::Jit,
    });
    let selection =
        engine::select(&object, &name, requested, req.unverified).map_err(|e| match e {
            SelectError::Usage(m) => Failure::input(anyhow!(m)),
            SelectError::NotModelled(m) | SelectError::Rejected(m) => {
                Failure::program(anyhow!("{}: {m}", path.display()))
            }
        })?;
    if let Selection::Interp {
        verified: false, ..
    } = &selection
    {
        eprintln!("note: program {name}: running without verification in the checked interpreter");
    }
    Ok(Loaded {
        name,
        instance,
        selection,
        path: path.to_path_buf(),
    })
}

impl Loaded {
    /// The program prepared in the chosen engine; `adjust` sees the prepared program
    /// first (to set an interpreter budget, for example).
    pub fn runner(&self, adjust: impl FnOnce(&mut PreparedProgram)) -> Result<Runner, Failure> {
        let mut prepared = self
            .instance
            .program(&self.name)
            .map_err(|e| Failure::input(anyhow!("{}: {e}", self.path.display())))?;
        adjust(&mut prepared);
        // SAFETY: `engine::select` gave the verifier's result for this program of the
        // object the instance was loaded from (and the programs its tail calls may reach, to
        // which `Runner::new` limits them).
        unsafe { Runner::new(prepared, &self.selection) }
            .map_err(|e| Failure::input(anyhow!("{}: {e}", self.path.display())))
    }
}
