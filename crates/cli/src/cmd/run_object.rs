//! `userbpf run OBJ --program NAME`: a program of an ELF object, with BPF_PROG_TEST_RUN
//! semantics for its type.
//!
//! Loads the object (CO-RE relocations against the host BTF or `--btf`), creates its maps
//! (pinned with `--pin-dir`), fills `--map-in` arrays, prepares the program (map references,
//! helpers, context rewriting for its type) and runs it on `--data-in`/`--data-hex` and
//! `--ctx-in`, `--repeat` times. Prints retval (the low 32 bits of r0, as the kernel reports
//! it), mean duration, data_out and ctx_out.
//!
//! Engines: the JIT runs only verified programs. Without `--unverified` the program is
//! verified first (XDP, socket filter and tc programs, the types whose context the verifier
//! models); `--engine jit` refuses what the verifier rejects or does not model, and the
//! default engine (the JIT on x86-64) falls back to the checked interpreter for those, with
//! a note. `--engine jit --unverified` runs the JIT on trusted objects without a verifier
//! pass (`--unverified` alone runs the checked interpreter).

use std::path::Path;

use anyhow::anyhow;
use userbpf_object::{core_relo, Object};
use userbpf_runtime::context::TestRunInput;
use userbpf_runtime::instance::{LoadOptions, ObjectInstance};
use userbpf_runtime::pin_btf;
use userbpf_verifier::{MapInfo, Options, ProgType, VerifiedProgram, VerifierInput};

use super::read_file;
use crate::cli::{Engine, RunArgs};
use crate::{CmdResult, Failure};

pub(super) fn apply_core(object: &mut Object, btf_path: Option<&Path>) -> Result<(), Failure> {
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

/// What the verifier needs of the object's maps (inner map templates appended, as
/// `userbpf verify` does).
fn map_infos(object: &Object) -> Vec<MapInfo> {
    let info = |m: &userbpf_object::MapSpec| MapInfo {
        map_type: m.map_type,
        key_size: m.key_size,
        value_size: m.value_size,
        max_entries: m.max_entries,
        flags: m.map_flags,
        fd: None,
        inner_map: None,
    };
    let mut maps: Vec<MapInfo> = object.maps.iter().map(info).collect();
    for (i, m) in object.maps.iter().enumerate() {
        if let Some(inner) = &m.inner {
            maps[i].inner_map = Some(maps.len() as u32);
            maps.push(info(inner));
        }
    }
    maps
}

/// Verify program `name` of `object` for the JIT: `Ok(Some(_))` when accepted, `Ok(None)`
/// when its program type is not modelled, `Err` with the verifier's message when rejected.
fn verify_for_jit(object: &Object, name: &str) -> Result<Option<VerifiedProgram>, String> {
    let Some(p) = object.program(name) else {
        return Ok(None);
    };
    let Some(prog_type) = prog_type_for_jit(p) else {
        return Ok(None);
    };
    let maps = map_infos(object);
    let input = VerifierInput {
        program: &p.insns,
        prog_type,
        maps: &maps,
        options: Options {
            allow_uninit_stack: true,
            ..Options::default()
        },
    };
    let verified = userbpf_verifier::verify(&input)
        .map_err(|e| format!("rejected at instruction {}: {}", e.insn, e.message))?;
    // Programs reached by tail calls run in the JIT too: with a program array in the
    // object, every other program must pass as well.
    let prog_array = userbpf_verifier::input::map_type::PROG_ARRAY;
    if object.maps.iter().any(|m| m.map_type == prog_array) {
        for other in object.programs.iter().filter(|o| o.name != name) {
            match verify_for_jit_one(object, other, &maps) {
                Ok(true) => {}
                Ok(false) => {
                    return Err(format!(
                        "cannot check tail-call target {} (its program type is not modelled)",
                        other.name
                    ))
                }
                Err(why) => return Err(format!("rejected tail-call target {}: {why}", other.name)),
            }
        }
    }
    Ok(Some(verified))
}

fn prog_type_for_jit(p: &userbpf_object::ProgramSpec) -> Option<ProgType> {
    use userbpf_object::ProgramType as P;
    match p.prog_type {
        P::SocketFilter => Some(ProgType::SocketFilter),
        P::SchedCls | P::SchedAct => Some(ProgType::SchedCls),
        P::Xdp => Some(ProgType::Xdp),
        _ => None,
    }
}

fn verify_for_jit_one(
    _object: &Object,
    p: &userbpf_object::ProgramSpec,
    maps: &[MapInfo],
) -> Result<bool, String> {
    let Some(prog_type) = prog_type_for_jit(p) else {
        return Ok(false);
    };
    let input = VerifierInput {
        program: &p.insns,
        prog_type,
        maps,
        options: Options {
            allow_uninit_stack: true,
            ..Options::default()
        },
    };
    userbpf_verifier::verify(&input)
        .map(|_| true)
        .map_err(|e| format!("instruction {}: {}", e.insn, e.message))
}

/// The engine a run uses (see the module docs).
enum Chosen {
    Interp,
    /// The JIT, with the verifier's result when it ran.
    Jit(Option<VerifiedProgram>),
}

fn choose_engine(args: &RunArgs, object: &Object, name: &str) -> Result<Chosen, Failure> {
    // With --unverified the default is the checked interpreter; the unchecked JIT must be
    // asked for by name.
    let engine = match args.engine {
        Some(e) => e,
        None if args.unverified => Engine::Interp,
        None => super::run::default_engine(),
    };
    if engine == Engine::Interp {
        return Ok(Chosen::Interp);
    }
    if args.budget.is_some() {
        if args.engine == Some(Engine::Jit) {
            return Err(Failure::input(anyhow!(
                "--budget applies to the interpreter; the JIT has no instruction budget"
            )));
        }
        return Ok(Chosen::Interp);
    }
    if args.unverified {
        return Ok(Chosen::Jit(None));
    }
    let explicit = args.engine == Some(Engine::Jit);
    match verify_for_jit(object, name) {
        Ok(Some(v)) => Ok(Chosen::Jit(Some(v))),
        Ok(None) if explicit => Err(Failure::input(anyhow!(
            "program {name}: the verifier does not model its program type, and the JIT runs \
             only verified programs; use --engine interp, or --unverified for a trusted object"
        ))),
        Err(why) if explicit => Err(Failure::program(anyhow!(
            "program {name}: the verifier {why}; the JIT runs only verified programs"
        ))),
        Ok(None) => Ok(Chosen::Interp),
        Err(why) => {
            eprintln!(
                "note: program {name}: the verifier {why}; running in the checked interpreter"
            );
            Ok(Chosen::Interp)
        }
    }
}

pub fn run(args: &RunArgs, object_path: &Path) -> CmdResult {
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
    let chosen = choose_engine(args, &object, &name)?;
    let mut prepared = instance
        .program(&name)
        .map_err(|e| Failure::input(anyhow!("{}: {e}", object_path.display())))?;
    prepared.set_budget(args.budget);
    let jit = match &chosen {
        Chosen::Interp => None,
        Chosen::Jit(verified) => Some(
            // SAFETY: either the verifier accepted the program and, when the object has a
            // program array, every other program (the possible tail-call targets), or the
            // user vouched for the object with --unverified.
            unsafe {
                userbpf_jit::compile_prepared(
                    &prepared,
                    verified.as_ref(),
                    &userbpf_jit::JitOptions::default(),
                )
            }
            .map_err(|e| Failure::input(anyhow!("{}: {e}", object_path.display())))?,
        ),
    };
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
    let out = match &jit {
        Some(j) => j.test_run(&input),
        None => prepared.test_run(&input),
    }
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
