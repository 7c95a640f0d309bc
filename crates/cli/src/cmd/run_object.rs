//! `userbpf run OBJ --program NAME`: a program of an ELF object, with BPF_PROG_TEST_RUN
//! semantics for its type.
//!
//! Loads the object (CO-RE relocations against the host BTF or `--btf`), creates its maps
//! (pinned with `--pin-dir`), fills `--map-in` arrays (not `.rodata*`, which the load froze
//! and the verifier read as constants: refused), prepares the program (map references,
//! helpers, context rewriting for its type) and runs it on `--data-in`/`--data-hex` and
//! `--ctx-in`, `--repeat` times. Prints retval (the low 32 bits of r0, as the kernel reports
//! it), mean duration, data_out and ctx_out.
//!
//! Engines: the program is verified first (with its program type; with a program array in
//! the object, the other programs too: tail calls reach only the ones accepted, a slot naming
//! a rejected program behaving as an empty slot, as in the kernel) and runs in the JIT on x86-64 by
//! default, or in the checked interpreter with `--engine interp` or `--budget`. A program
//! the verifier rejects, or whose type it does not model, is refused (exit 1) with the
//! verifier's message. `--unverified` is the one opt-out: the checked interpreter without
//! a verifier pass, for trusted objects (every memory access is still checked at run time).

use std::path::Path;

use anyhow::anyhow;
use userbpf_runtime::context::TestRunInput;
use userbpf_runtime::instance::ObjectInstance;

use super::load::{self, LoadRequest};
use super::read_file;
use crate::cli::{Engine, RunArgs};
use crate::{CmdResult, Failure};

pub(super) use super::load::apply_core;

fn fill_map_in(instance: &ObjectInstance, spec: &str) -> Result<(), Failure> {
    let (name, file) = spec
        .split_once('=')
        .ok_or_else(|| Failure::input(anyhow!("--map-in takes NAME=FILE, got {spec:?}")))?;
    let map = instance
        .map(name)
        .map_err(|e| Failure::input(anyhow!("--map-in {name}: {e}")))?;
    if map.is_frozen() {
        return Err(Failure::input(anyhow!(
            "--map-in {name}: the map is frozen: read-only global data is frozen when the \
             object is loaded (as libbpf does) and the verifier has read its contents as \
             constants; change the constants in the object instead"
        )));
    }
    let bytes = read_file(Path::new(file))?;
    let size = map.spec().value_size as usize;
    if bytes.len() > size {
        return Err(Failure::input(anyhow!(
            "--map-in {name}: {file} has {} bytes, the value is {size} bytes",
            bytes.len()
        )));
    }
    let mut value = vec![0u8; map.user_value_size()];
    value[..bytes.len()].copy_from_slice(&bytes);
    map.update(&0u32.to_ne_bytes(), &value, 0)
        .map_err(|e| Failure::input(anyhow!("--map-in {name}: {e}")))
}

pub fn run(args: &RunArgs, object_path: &Path) -> CmdResult {
    if args.budget.is_some() && args.engine == Some(Engine::Jit) {
        return Err(Failure::input(anyhow!(
            "--budget applies to the interpreter; the JIT has no instruction budget"
        )));
    }
    let loaded = load::load(&LoadRequest {
        object: object_path,
        program: args.program.as_deref(),
        btf: args.btf.as_deref(),
        pin_dir: args.pin_dir.as_ref(),
        // The budget is the interpreter's.
        engine: if args.budget.is_some() {
            Some(Engine::Interp)
        } else {
            args.engine
        },
        unverified: args.unverified,
    })?;
    let name = &loaded.name;
    for spec in &args.map_in {
        fill_map_in(&loaded.instance, spec)?;
    }
    let runner = loaded.runner(|p| p.set_budget(args.budget))?;
    let data_in = match (&args.data_in, &args.data_hex) {
        (Some(path), _) => read_file(path)?,
        (None, Some(hex)) => {
            crate::hex::decode(hex).map_err(|e| Failure::input(e.context("--data-hex")))?
        }
        (None, None) => Vec::new(),
    };
    let ctx_in = match &args.ctx_in {
        Some(p) => Some(read_file(p)?),
        None => None,
    };
    let input = TestRunInput {
        data_in: &data_in,
        ctx_in: ctx_in.as_deref(),
        repeat: args.repeat,
    };
    let out = runner.test_run(&input).map_err(|e| match e {
        userbpf_runtime::context::TestRunError::Trap(t) => {
            Failure::program(anyhow!("{}: program {name}: {t}", object_path.display()))
        }
        other => Failure::input(anyhow!(
            "{}: program {name}: {other}",
            object_path.display()
        )),
    })?;
    let duration_ns = out.duration.as_secs_f64() * 1e9;
    if args.json {
        let v = serde_json::json!({
            "retval": out.retval,
            "duration_ns": duration_ns,
            "data_out": crate::hex::encode(&out.data_out),
            "ctx_out": crate::hex::encode(&out.ctx_out),
        });
        println!("{v}");
    } else {
        println!("retval: {} (0x{:x})", out.retval, out.retval);
        println!(
            "duration: {duration_ns:.1} ns (mean of {} runs)",
            out.repeat
        );
        println!("data_out: {}", crate::hex::encode(&out.data_out));
        if !out.ctx_out.is_empty() {
            println!("ctx_out: {}", crate::hex::encode(&out.ctx_out));
        }
    }
    Ok(())
}
