//! `userbpf build`: compiles libbpf-style C with clang-19 into an object our loader reads.

use std::process::Command;

fn clang_available() -> bool {
    Command::new("clang-19").arg("--version").output().is_ok()
}

#[test]
fn builds_a_libbpf_style_program() {
    if !clang_available() {
        println!("skipped: clang-19 not found");
        return;
    }
    let dir = std::env::temp_dir().join(format!("userbpf-build-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("pass.bpf.c");
    std::fs::write(
        &src,
        "#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\n\
         SEC(\"xdp\") int pass(struct xdp_md *ctx) { return XDP_PASS; }\n\
         char LICENSE[] SEC(\"license\") = \"GPL\";\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_userbpf"))
        .arg("build")
        .arg(&src)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let obj = std::fs::read(dir.join("pass.bpf.o")).expect("object written next to the source");
    let sections = userbpf_object::program_sections(&obj).unwrap();
    assert!(sections.iter().any(|s| s.name == "xdp"));
}

#[test]
fn compile_errors_and_missing_sources_exit_2() {
    let out = Command::new(env!("CARGO_BIN_EXE_userbpf"))
        .args(["build", "/nonexistent/x.bpf.c"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    if !clang_available() {
        return;
    }
    let dir = std::env::temp_dir().join(format!("userbpf-build-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("bad.bpf.c");
    std::fs::write(&src, "int f( { return 0; }\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_userbpf"))
        .arg("build")
        .arg(&src)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("failed to compile"));
}
