//! userbpf as a library: load a clang/libbpf object, get its programs verified and ready to
//! run, and reach its maps — the API in the spirit of aya's `Ebpf`.
//!
//! Takes the bytes of an ELF object (and optionally a target BTF for CO-RE, a pin directory
//! and a helper environment); gives an [`Ebpf`] holding the parsed object and its loaded
//! instance (maps created in shared memory, pinned when asked). [`Ebpf::program`] verifies a
//! program first (with its program type; with a program array in the object, the other
//! programs too: tail calls reach only the ones accepted, a slot naming a rejected program
//! behaving as an empty slot, as in the kernel) and prepares it in the JIT (the default on x86-64) or the checked
//! interpreter; a program the verifier rejects is an [`EbpfError::Rejected`] with the
//! verifier's message. The one opt-out is explicit: [`Ebpf::program_unverified`] runs a
//! trusted program in the checked interpreter, which checks every memory access at run time.
//! As with libbpf, read-only global data (`.rodata*`) is frozen at load: the verifier reads
//! it as constants, and user-space writes to it ([`Map::update`]...) fail with `EPERM`.
//!
//! ```no_run
//! use userbpf::{Ebpf, TestRunInput};
//!
//! let ebpf = Ebpf::load(&std::fs::read("examples/xdp_filter.bpf.o")?)?;
//! let program = ebpf.program("xdp_filter")?;
//! let packet = [0u8; 64];
//! let out = program.test_run(&TestRunInput { data_in: &packet, ctx_in: None, repeat: 1 })?;
//! println!("verdict {}", out.retval);
//! println!("counters {:?}", ebpf.map("verdicts")?.lookup(&1u32.to_ne_bytes())?);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The hooks are in [`userbpf_hooks`]: `syscall_hooks::SyscallHooks::attach_engine` (trace
//! processes), `packet::PacketHook` (packets), `custom` (hooks an application declares).

use std::path::PathBuf;
use std::sync::Arc;

use userbpf_hooks::packet::engine::{self, SelectError};
use userbpf_object::btf::Btf;
use userbpf_object::{core_relo, Object};
use userbpf_runtime::kernel_helpers::HelperEnv;
use userbpf_runtime::maps::Map;
use userbpf_runtime::{LoadOptions, ObjectInstance, RuntimeError};

pub use userbpf_hooks::packet::engine::EngineKind;
pub use userbpf_hooks::packet::Runner as Program;
pub use userbpf_runtime::context::{TestRunError, TestRunInput, TestRunOutput};

/// Why an object could not be loaded or a program prepared.
#[derive(Debug, thiserror::Error)]
pub enum EbpfError {
    /// The bytes are not a loadable object.
    #[error("the object is malformed: {0}")]
    Parse(String),
    /// A CO-RE relocation could not be resolved against the target BTF.
    #[error("CO-RE: {0}")]
    Core(String),
    /// Creating the maps or preparing a program failed.
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    /// The verifier rejected the program or does not model its type.
    #[error("{0}")]
    Rejected(String),
    /// The JIT could not compile the program.
    #[error("{0}")]
    Jit(String),
}

/// How to load an object.
#[derive(Default)]
pub struct EbpfOptions {
    /// Target BTF for CO-RE relocations (default: the host's `/sys/kernel/btf/vmlinux`, read
    /// only when the object has relocations).
    pub btf: Option<Btf>,
    /// Pin every map as `DIR/<map name>` (readable with `userbpf map dump`).
    pub pin_dir: Option<PathBuf>,
    /// Who the kernel helpers act for (default: this process).
    pub helper_env: Option<Arc<dyn HelperEnv>>,
}

/// A loaded object: its programs, verified on request, and its maps.
pub struct Ebpf {
    object: Object,
    instance: ObjectInstance,
}

impl Ebpf {
    /// Load an ELF object with the default options.
    ///
    /// # Errors
    /// See [`Ebpf::load_with`].
    pub fn load(bytes: &[u8]) -> Result<Ebpf, EbpfError> {
        Ebpf::load_with(bytes, EbpfOptions::default())
    }

    /// Parse the object, apply its CO-RE relocations and create its maps.
    ///
    /// # Errors
    /// A malformed object, an unresolvable relocation, a map that cannot be created.
    pub fn load_with(bytes: &[u8], options: EbpfOptions) -> Result<Ebpf, EbpfError> {
        let mut object = Object::parse(bytes).map_err(|e| EbpfError::Parse(e.to_string()))?;
        if object.has_core_relos() {
            let target = match options.btf {
                Some(btf) => btf,
                None => core_relo::host_btf().map_err(EbpfError::Core)?,
            };
            core_relo::apply(&mut object, &target).map_err(|e| EbpfError::Core(e.to_string()))?;
        }
        let instance = ObjectInstance::load(
            &object,
            &LoadOptions {
                pin_dir: options.pin_dir,
                helper_env: options.helper_env,
            },
        )?;
        Ok(Ebpf { object, instance })
    }

    /// Program `name`, verified and prepared in the host's default engine (the JIT on
    /// x86-64).
    ///
    /// # Errors
    /// No such program; [`EbpfError::Rejected`] when the verifier rejects it or does not
    /// model its type; the JIT's compile error.
    pub fn program(&self, name: &str) -> Result<Program, EbpfError> {
        self.program_in(name, None)
    }

    /// Program `name`, verified and prepared in `engine`.
    ///
    /// # Errors
    /// As [`Ebpf::program`].
    pub fn program_in(&self, name: &str, engine: Option<EngineKind>) -> Result<Program, EbpfError> {
        let prepared = self.instance.program(name)?;
        let selection = engine::select(&self.object, name, engine, false).map_err(|e| match e {
            SelectError::NotModelled(m) | SelectError::Rejected(m) | SelectError::Usage(m) => {
                EbpfError::Rejected(m)
            }
        })?;
        // SAFETY: `select` gave the verifier's result for this program of the object the
        // instance was loaded from (and the programs its tail calls may reach, to which
        // `Program::new` limits them).
        unsafe { Program::new(prepared, &selection) }.map_err(|e| EbpfError::Jit(e.to_string()))
    }

    /// The explicit opt-out of verification: program `name` in the checked interpreter,
    /// without a verifier pass (every memory access is checked at run time).
    ///
    /// # Errors
    /// No such program, or it cannot be prepared.
    pub fn program_unverified(&self, name: &str) -> Result<Program, EbpfError> {
        Ok(Program::unverified(self.instance.program(name)?))
    }

    /// Map `name` (global data sections by their section name, `.bss`, `.rodata`...).
    ///
    /// # Errors
    /// No such map.
    pub fn map(&self, name: &str) -> Result<Arc<Map>, EbpfError> {
        Ok(self.instance.map(name)?)
    }

    /// The names of the object's programs.
    pub fn program_names(&self) -> Vec<&str> {
        self.object
            .programs
            .iter()
            .map(|p| p.name.as_str())
            .collect()
    }

    /// The parsed object (after CO-RE relocation).
    pub fn object(&self) -> &Object {
        &self.object
    }

    /// The loaded instance (maps, prepared programs, for the hooks).
    pub fn instance(&self) -> &ObjectInstance {
        &self.instance
    }
}
