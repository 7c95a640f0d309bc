//! `userbpf run OBJ --program NAME`: a program of an ELF object, with BPF_PROG_TEST_RUN
//! semantics for its type.
//!
//! Loads the object (CO-RE relocations against the host BTF or `--btf`), creates its maps
//! (pinned with `--pin-dir`), fills `--map-in` arrays, prepares the program (map references,
//! helpers, context rewriting for its type) and runs it on `--data-in`/`--data-hex` and
//! `--ctx-in`, `--repeat` times. Prints retval (the low 32 bits of r0, as the kernel reports
//! it), mean duration, data_out and ctx_out.

use std::path::Path;

use anyhow::anyhow;
use userbpf_object::{core_relo, Object};
use userbpf_runtime::context::TestRunInput;
use userbpf_runtime::instance::{LoadOptions, ObjectInstance};
use userbpf_runtime::pin_btf;

use super::read_file;
use crate::cli::{Engine, RunArgs};
use crate::{CmdResult, Failure};

fn apply_core(object: &mut Object, btf_path: Option<&Path>) -> Result<(), Failure> {
    let has_relos = object
        .btf_ext
        .as_ref()
        .is_some_and(|e| e.sections.iter().any(|s| !s.core_relos.is_empty()));
    if !has_relos {
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

fn fill_map_in(instance: &ObjectInstance, spec: &str) -> Result<(), Failure> {
    let (name, file) = spec
        .split_once('=')
        .ok_or_else(|| Failure::input(anyhow!("--map-in takes NAME=FILE, got {spec:?}")))?;
    let map = instance
        .map(name)
        .map_err(|e| Failure::input(anyhow!("--map-in {name}: {e}")))?;
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
    if args.engine == Some(Engine::Jit) {
        return Err(Failure::input(anyhow!(
            "the JIT does not run ELF programs yet (maps, callbacks and tail calls run in the \
             interpreter); use --engine interp"
        )));
    }
    let bytes = read_file(object_path)?;
    let mut object = Object::parse(&bytes)
        .map_err(|e| Failure::input(anyhow!("{}: {e}", object_path.display())))?;
    let name = match (&args.program, object.programs.as_slice()) {
        (Some(n), _) => n.clone(),
        (None, [only]) => only.name.clone(),
        (None, programs) => {
            let names: Vec<&str> = programs.iter().map(|p| p.name.as_str()).collect();
            return Err(Failure::input(anyhow!(
                "{}: choose a program with --program: {}",
                object_path.display(),
                names.join(", ")
            )));
        }
    };
    if object.program(&name).is_none() {
        return Err(Failure::input(anyhow!(
            "{}: no program named {name}",
            object_path.display()
        )));
    }
    apply_core(&mut object, args.btf.as_deref())?;
    if let Some(dir) = &args.pin_dir {
        std::fs::create_dir_all(dir)
            .map_err(|e| Failure::input(anyhow!("--pin-dir {}: {e}", dir.display())))?;
    }
    let instance = ObjectInstance::load(
        &object,
        &LoadOptions {
            pin_dir: args.pin_dir.clone(),
            helper_env: None,
        },
    )
    .map_err(|e| Failure::input(anyhow!("{}: {e}", object_path.display())))?;
    if let Some(dir) = &args.pin_dir {
        pin_btf::write_for_object(dir, &object).map_err(|e| Failure::input(anyhow!(e)))?;
    }
    for spec in &args.map_in {
        fill_map_in(&instance, spec)?;
    }
    let mut prepared = instance
        .program(&name)
        .map_err(|e| Failure::input(anyhow!("{}: {e}", object_path.display())))?;
    prepared.set_budget(args.budget);
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
    if !args.unverified {
        eprintln!(
            "note: the verifier is not built yet; running in the checked interpreter, \
             which stops the program on any access outside its memory"
        );
    }
    let out = prepared
        .test_run(&TestRunInput {
            data_in: &data_in,
            ctx_in: ctx_in.as_deref(),
            repeat: args.repeat,
        })
        .map_err(|e| match e {
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
