//! `userbpf run`: run a program with BPF_PROG_TEST_RUN semantics.

use anyhow::anyhow;
use userbpf_isa::Program;
use userbpf_runtime::engine::Executable;
use userbpf_runtime::{test_run, Helpers, Interpreter};

use super::{is_elf, read_file};
use crate::cli::{Engine, RunArgs};
use crate::{CmdResult, Failure};

pub fn run(args: &RunArgs) -> CmdResult {
    let Some(raw) = &args.raw else {
        return match &args.object {
            Some(object) => super::run_object::run(args, object),
            None => Err(Failure::input(anyhow!(
                "give an object (userbpf run OBJ --program NAME) or plain bytecode (--raw FILE)"
            ))),
        };
    };
    let engine = args.engine.unwrap_or(Engine::Interp);
    if engine == Engine::Jit && !args.unverified {
        return Err(Failure::input(anyhow!(
            "the JIT runs only verified programs and the verifier is not built yet; \
             pass --unverified for trusted bytecode"
        )));
    }
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
    if engine == Engine::Interp && !args.unverified {
        eprintln!(
            "note: the verifier is not built yet; running in the checked interpreter, \
             which stops the program on any access outside its memory"
        );
    }
    let helpers = Helpers::new();
    let vm: Box<dyn Executable> = match engine {
        Engine::Interp => {
            let mut vm = Interpreter::new(&program, &helpers)
                .map_err(|e| Failure::input(anyhow!("{}: {e}", raw.display())))?;
            vm.set_budget(args.budget);
            Box::new(vm)
        }
        // SAFETY: reached only with --unverified, by which the user vouches that the
        // bytecode is trusted (tests, benchmarks); the JIT does not check memory accesses.
        Engine::Jit => Box::new(
            unsafe {
                userbpf_jit::compile_unchecked(
                    &program,
                    &helpers,
                    &userbpf_jit::JitOptions::default(),
                )
            }
            .map_err(|e| Failure::input(anyhow!("{}: {e}", raw.display())))?,
        ),
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
