//! The 313 bpf_conformance tests through the JIT (with and without constant blinding).
//!
//! Parsing is shared with the CLI's conformance test (the same `.data` reader): each case is
//! assembled, compiled with [`compile_unchecked`] (the suite is trusted bytecode, as for
//! the conformance plugin) and run on its `-- mem`; r0 is compared with `-- result`, or an
//! error expected with `-- error`.

#[path = "../../cli/tests/common/mod.rs"]
mod common;

use userbpf_isa::Program;
use userbpf_jit::{compile_unchecked, JitOptions};
use userbpf_runtime::Helpers;

fn run_jit(code: &[u8], mem: &[u8], options: &JitOptions) -> Result<u64, String> {
    let program = Program::decode(code).map_err(|e| e.to_string())?;
    // SAFETY: the conformance suite is trusted bytecode whose accesses stay inside its
    // memory and stack (the interpreter checks the same programs in the CLI's test).
    let jit = unsafe { compile_unchecked(&program, &Helpers::conformance(), options) }
        .map_err(|e| e.to_string())?;
    let mut mem = mem.to_vec();
    jit.run_raw(&mut mem).map_err(|e| e.to_string())
}

fn check(case: &common::Case, outcome: Result<u64, String>) -> Result<(), String> {
    match (&case.error, case.result, outcome) {
        (Some(_), _, Err(_)) => Ok(()),
        (Some(e), _, Ok(v)) => Err(format!("expected error {e:?}, got r0 = 0x{v:x}")),
        (None, Some(want), Ok(got)) if want == got => Ok(()),
        (None, Some(want), Ok(got)) => Err(format!("r0 = 0x{got:x}, expected 0x{want:x}")),
        (None, Some(_), Err(e)) => Err(format!("unexpected error: {e}")),
        (None, None, _) => Err("case has neither -- result nor -- error".into()),
    }
}

fn suite(options: &JitOptions, what: &str) {
    let cases = common::load_all();
    assert_eq!(cases.len(), 313, "expected the 313 conformance tests");
    let mut failures = Vec::new();
    for case in &cases {
        let result =
            common::bytecode(case).and_then(|code| check(case, run_jit(&code, &case.mem, options)));
        if let Err(e) = result {
            failures.push(format!("{}: {e}", case.name));
        }
    }
    println!(
        "conformance (JIT, {what}): {} of {} passed",
        cases.len() - failures.len(),
        cases.len()
    );
    assert!(failures.is_empty(), "failures:\n{}", failures.join("\n"));
}

#[test]
fn conformance_jit() {
    suite(&JitOptions::default(), "default options");
}

#[test]
fn conformance_jit_blinded() {
    suite(
        &JitOptions::default().constant_blinding(true),
        "constant blinding",
    );
}
