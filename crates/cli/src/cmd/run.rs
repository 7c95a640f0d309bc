//! `userbpf run`: run a program with BPF_PROG_TEST_RUN semantics.

use anyhow::anyhow;
use userbpf_isa::Program;
use userbpf_runtime::engine::Executable;
use userbpf_runtime::{test_run, Helpers, Interpreter};
use userbpf_verifier::{Options, ProgType, VerifierInput};

use super::{is_elf, read_file};
use crate::cli::{Engine, RunArgs};
use crate::{CmdResult, Failure};

/// The engine when none is chosen: the JIT on x86-64, the interpreter elsewhere.
pub fn default_engine() -> Engine {
    Engine::native_default()
}

pub fn run(args: &RunArgs) -> CmdResult {
    let Some(raw) = &args.raw else {
        return match &args.object {
            Some(object) => super::run_object::run(args, object),
            None => Err(Failure::input(anyhow!(
                "give an object (userbpf run OBJ --program NAME) or plain bytecode (--raw FILE)"
            ))),
        };
    };
    // Nothing runs unverified unless asked for: --unverified is the checked interpreter's
    // opt-out (the JIT runs only verified programs). The default engine is the JIT (on
    // x86-64); with --unverified or --budget it is the interpreter.
    if args.unverified && args.engine == Some(Engine::Jit) {
        return Err(Failure::input(anyhow!(
            "--unverified runs the checked interpreter: the JIT runs only verified programs"
        )));
    }
    let engine = match args.engine {
        Some(e) => e,
        None if args.budget.is_some() || args.unverified => Engine::Interp,
        None => default_engine(),
    };
    if engine == Engine::Jit && args.budget.is_some() {
        return Err(Failure::input(anyhow!(
            "--budget applies to the interpreter; the JIT has no instruction budget"
        )));
    }
    if args.ctx_in.is_some() {
        return Err(Failure::input(anyhow!(
            "--ctx-in applies to ELF programs with a context; plain bytecode (--raw) takes its input with --data-in or --data-hex"
        )));
    }
    let code = read_file(raw)?;
    if is_elf(&code) {
        return Err(Failure::input(anyhow!(
            "{}: is an ELF object, not plain bytecode; --raw takes raw instructions",
            raw.display()
        )));
    }
    let program =
        Program::decode(&code).map_err(|e| Failure::input(anyhow!("{}: {e}", raw.display())))?;
    let data_in = match (&args.data_in, &args.data_hex) {
        (Some(path), _) => read_file(path)?,
        (None, Some(hex)) => {
            crate::hex::decode(hex).map_err(|e| Failure::input(e.context("--data-hex")))?
        }
        (None, None) => Vec::new(),
    };
    let helpers = Helpers::new();
    // The verifier checks the program as plain bytecode on an input of this size.
    let verified = if args.unverified {
        None
    } else {
        let size = u32::try_from(data_in.len())
            .map_err(|_| Failure::input(anyhow!("the input is too large")))?;
        let input = VerifierInput {
            program: &program,
            prog_type: ProgType::Raw { size },
            maps: &[],
            options: Options {
                allow_uninit_stack: true,
                ..Options::default()
            },
        };
        Some(userbpf_verifier::verify(&input).map_err(|e| {
            Failure::program(anyhow!(
                "{}: the verifier rejected the program at instruction {}: {}; userbpf runs \
                 only verified programs (--unverified runs trusted bytecode in the checked \
                 interpreter)",
                raw.display(),
                e.insn,
                e.message
            ))
        })?)
    };
    let vm: Box<dyn Executable> = match (engine, &verified) {
        (Engine::Jit, Some(v)) => Box::new(
            userbpf_jit::compile(v, &helpers, &userbpf_jit::JitOptions::default())
                .map_err(|e| Failure::input(anyhow!("{}: {e}", raw.display())))?,
        ),
        _ => {
            let mut vm = Interpreter::new(&program, &helpers)
                .map_err(|e| Failure::input(anyhow!("{}: {e}", raw.display())))?;
            vm.set_budget(args.budget);
            Box::new(vm)
        }
    };
    let out = test_run(vm.as_ref(), &data_in, args.repeat)
        .map_err(|e| Failure::program(anyhow!("{}: {e}", raw.display())))?;
    let duration_ns = out.duration.as_secs_f64() * 1e9;
    if args.json {
        let v = serde_json::json!({
            "retval": out.retval,
            "duration_ns": duration_ns,
            "data_out": crate::hex::encode(&out.data_out),
        });
        println!("{v}");
    } else {
        println!("retval: {} (0x{:x})", out.retval, out.retval);
        println!(
            "duration: {duration_ns:.1} ns (mean of {} runs)",
            out.repeat
        );
        println!("data_out: {}", crate::hex::encode(&out.data_out));
    }
    Ok(())
}
