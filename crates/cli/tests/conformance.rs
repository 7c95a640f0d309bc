//! The 313 bpf_conformance tests, through the library and through `userbpf plugin` (with the
//! interpreter and with the JIT).
//!
//! Each `.data` file is assembled with our assembler (and, where it has a `-- raw` section,
//! checked against those words), run in the interpreter on its `-- mem`, and r0 compared with
//! `-- result` (or an error expected with `-- error`).

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use userbpf_isa::Program;
use userbpf_runtime::{Helpers, Interpreter};

fn run_in_process(code: &[u8], mem: &[u8]) -> Result<u64, String> {
    let program = Program::decode(code).map_err(|e| e.to_string())?;
    let vm = Interpreter::new(&program, &Helpers::conformance()).map_err(|e| e.to_string())?;
    let mut mem = mem.to_vec();
    vm.run_raw(&mut mem).map_err(|e| e.to_string())
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

#[test]
fn conformance_interpreter() {
    let cases = common::load_all();
    assert_eq!(cases.len(), 313, "expected the 313 conformance tests");
    let mut failures = Vec::new();
    for case in &cases {
        let result = common::bytecode(case).and_then(|code| {
            if let Some(raw) = &case.raw {
                if raw != &code {
                    return Err("assembled bytes differ from the -- raw section".into());
                }
            }
            check(case, run_in_process(&code, &case.mem))
        });
        if let Err(e) = result {
            failures.push(format!("{}: {e}", case.name));
        }
    }
    println!(
        "conformance (interpreter): {} of {} passed",
        cases.len() - failures.len(),
        cases.len()
    );
    assert!(failures.is_empty(), "failures:\n{}", failures.join("\n"));
}

#[test]
fn conformance_plugin() {
    plugin_suite("interp");
}

#[test]
fn conformance_plugin_jit() {
    plugin_suite("jit");
}

/// Every case through `userbpf plugin --engine ENGINE`.
fn plugin_suite(engine: &str) {
    let cases = common::load_all();
    let mut failures = Vec::new();
    for case in &cases {
        let code = match common::bytecode(case) {
            Ok(c) => c,
            Err(e) => {
                failures.push(format!("{}: {e}", case.name));
                continue;
            }
        };
        let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_userbpf"));
        cmd.args(["plugin", "--engine", engine]);
        if !case.mem.is_empty() {
            cmd.arg(hex(&case.mem));
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn userbpf plugin");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(hex(&code).as_bytes())
            .expect("write program");
        let out = child.wait_with_output().expect("wait for plugin");
        let outcome = if out.status.success() {
            let text = String::from_utf8_lossy(&out.stdout);
            u64::from_str_radix(text.trim(), 16)
                .map_err(|e| format!("bad plugin output {text:?}: {e}"))
        } else {
            Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
        };
        if let Err(e) = check(case, outcome) {
            failures.push(format!("{}: {e}", case.name));
        }
    }
    println!(
        "conformance (userbpf plugin --engine {engine}): {} of {} passed",
        cases.len() - failures.len(),
        cases.len()
    );
    assert!(failures.is_empty(), "failures:\n{}", failures.join("\n"));
}
