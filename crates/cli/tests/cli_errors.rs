//! Bad input to the CLI: each case gives a clear message and exit code 2, never a panic.

use std::path::PathBuf;
use std::process::{Command, Output};

fn userbpf(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_userbpf"))
        .args(args)
        .output()
        .expect("spawn userbpf")
}

fn temp_file(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("userbpf-cli-errors-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write temp file");
    path
}

fn assert_input_error(out: &Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(2),
        "expected exit 2, got {:?}; stderr: {stderr}",
        out.status.code()
    );
    assert!(
        stderr.contains(needle),
        "stderr should mention {needle:?}: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "panic: {stderr}");
}

const EXIT: [u8; 8] = [0x95, 0, 0, 0, 0, 0, 0, 0];
const MOV_R0_1: [u8; 8] = [0xb7, 0, 0, 0, 1, 0, 0, 0];

#[test]
fn length_not_multiple_of_eight() {
    let f = temp_file("len.bin", &[0x95, 0, 0]);
    let out = userbpf(&["run", "--raw", f.to_str().unwrap()]);
    assert_input_error(&out, "not a multiple of 8");
}

#[test]
fn unknown_opcode_names_the_instruction() {
    let mut code = MOV_R0_1.to_vec();
    code.extend([0xff, 0, 0, 0, 0, 0, 0, 0]);
    code.extend(EXIT);
    let f = temp_file("opcode.bin", &code);
    let out = userbpf(&["run", "--raw", f.to_str().unwrap()]);
    assert_input_error(&out, "instruction 1: unknown opcode 0xff");
}

#[test]
fn bad_register() {
    let f = temp_file(
        "reg.bin",
        &[0xb7, 0x0c, 0, 0, 1, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0],
    );
    let out = userbpf(&["run", "--raw", f.to_str().unwrap()]);
    assert_input_error(&out, "r12");
}

#[test]
fn truncated_lddw() {
    let f = temp_file("lddw.bin", &[0x18, 0, 0, 0, 1, 0, 0, 0]);
    let out = userbpf(&["run", "--raw", f.to_str().unwrap()]);
    assert_input_error(&out, "lddw is truncated");
}

#[test]
fn jump_out_of_range() {
    let mut code = vec![0x05, 0, 10, 0, 0, 0, 0, 0];
    code.extend(EXIT);
    let f = temp_file("jump.bin", &code);
    let out = userbpf(&["run", "--raw", f.to_str().unwrap()]);
    assert_input_error(&out, "jump out of range");
}

#[test]
fn reserved_field_set() {
    let mut code = vec![0x95, 0, 0, 0, 7, 0, 0, 0];
    code.extend(EXIT);
    let f = temp_file("reserved.bin", &code);
    let out = userbpf(&["run", "--raw", f.to_str().unwrap()]);
    assert_input_error(&out, "reserved field imm");
}

#[test]
fn empty_program() {
    let f = temp_file("empty.bin", &[]);
    let out = userbpf(&["run", "--raw", f.to_str().unwrap()]);
    assert_input_error(&out, "empty");
}

#[test]
fn missing_file() {
    let out = userbpf(&["run", "--raw", "/nonexistent/prog.bin"]);
    assert_input_error(&out, "cannot read /nonexistent/prog.bin");
}

#[test]
fn bad_hex_data() {
    let mut code = MOV_R0_1.to_vec();
    code.extend(EXIT);
    let f = temp_file("ok.bin", &code);
    let out = userbpf(&["run", "--raw", f.to_str().unwrap(), "--data-hex", "12zz"]);
    assert_input_error(&out, "invalid hex digit");
}

#[test]
fn absurd_repeat() {
    let mut code = MOV_R0_1.to_vec();
    code.extend(EXIT);
    let f = temp_file("ok2.bin", &code);
    for bad in ["0", "99999999999999999999", "many"] {
        let out = userbpf(&[
            "run",
            "--raw",
            f.to_str().unwrap(),
            &format!("--repeat={bad}"),
        ]);
        assert_input_error(&out, "--repeat");
    }
}

#[test]
fn unknown_subcommand_and_flag() {
    assert_input_error(&userbpf(&["frobnicate"]), "unrecognized subcommand");
    assert_input_error(&userbpf(&["run", "--no-such-flag"]), "unexpected argument");
}

#[test]
fn assembler_error_names_line_and_column() {
    let f = temp_file("bad.s", b"r0 = 1\nr0 = r11\nexit\n");
    let out = userbpf(&["asm", f.to_str().unwrap()]);
    assert_input_error(&out, "line 2");
}

#[test]
fn disasm_of_garbage_elf() {
    let mut elf = b"\x7fELF".to_vec();
    elf.extend([2, 1, 1, 0, 0, 0, 0]);
    let f = temp_file("garbage.o", &elf);
    let out = userbpf(&["disasm", f.to_str().unwrap()]);
    assert_input_error(&out, "malformed ELF");
}

#[test]
fn plugin_bad_program_hex() {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_userbpf"))
        .arg("plugin")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"b70000000100000g")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_input_error(&out, "invalid hex digit");
}

#[test]
fn trap_is_reported_with_exit_1() {
    // r0 = *(u64 *)(r1 + 0) with no input: r1 = 0, out of bounds.
    let mut code = vec![0x79, 0x10, 0, 0, 0, 0, 0, 0];
    code.extend(EXIT);
    let f = temp_file("trap.bin", &code);
    let out = userbpf(&["run", "--raw", f.to_str().unwrap(), "--unverified"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
    assert!(
        stderr.contains("instruction 0: invalid read of 8 bytes at 0x0"),
        "{stderr}"
    );
}

#[test]
fn run_prints_retval_and_data_out() {
    // *(u8 *)(r1 + 0) = 0xab; r0 = r2; exit
    let mut code = vec![0x72, 0x01, 0, 0, 0xab, 0, 0, 0];
    code.extend([0xbf, 0x20, 0, 0, 0, 0, 0, 0]);
    code.extend(EXIT);
    let f = temp_file("ok3.bin", &code);
    let out = userbpf(&[
        "run",
        "--raw",
        f.to_str().unwrap(),
        "--data-hex",
        "00 11 22",
        "--json",
        "--repeat",
        "10",
        "--unverified",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["retval"], 3);
    assert_eq!(v["data_out"], "ab1122");
    assert!(v["duration_ns"].as_f64().is_some());
}

#[test]
fn closed_output_pipe_is_not_a_panic() {
    use std::io::Read;
    use std::os::unix::process::ExitStatusExt;
    let corpus = concat!(
        env!("USERBPF_SHARED"),
        "/corpus/ebpf-samples/cilium/bpf_lxc.o"
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_userbpf"))
        .args(["disasm", corpus])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 64];
    child.stdout.take().unwrap().read_exact(&mut first).unwrap();
    // The reader is gone now; the next writes hit a closed pipe.
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        out.status.signal() == Some(13) || out.status.success(),
        "status {:?}: {stderr}",
        out.status
    );
}
