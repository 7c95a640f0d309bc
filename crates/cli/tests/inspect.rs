//! `userbpf inspect` and `userbpf disasm --source` on real objects.

use std::path::Path;
use std::process::Command;

fn corpus(rel: &str) -> String {
    Path::new(env!("USERBPF_SHARED"))
        .join("corpus/ebpf-samples")
        .join(rel)
        .to_string_lossy()
        .into_owned()
}

fn userbpf(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_userbpf"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn inspect_json_lists_programs_and_maps() {
    let out = userbpf(&["inspect", "--json", &corpus("linux/sockex1_kern.o")]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["license"], "GPL");
    assert_eq!(v["programs"][0]["prog_type"], "socket_filter");
    assert_eq!(v["maps"][0]["name"], "my_map");
    assert_eq!(v["maps"][0]["type"], "array");
    assert_eq!(v["maps"][0]["max_entries"], 256);
}

#[test]
fn inspect_text_and_bad_objects() {
    let out = userbpf(&["inspect", &corpus("cilium/bpf_lxc.o")]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("cilium_calls_111"), "{text}");
    assert!(text.contains("prog_array"), "{text}");
    let bad = std::env::temp_dir().join(format!("userbpf-inspect-{}.o", std::process::id()));
    std::fs::write(&bad, b"\x7fELF\x02\x01\x01garbage").unwrap();
    let out = userbpf(&["inspect", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn disasm_source_interleaves_c_lines() {
    if Command::new("clang-19").arg("--version").output().is_err() {
        println!("skipped: clang-19 not found");
        return;
    }
    let dir = std::env::temp_dir().join(format!("userbpf-src-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("lines.bpf.c");
    std::fs::write(
        &src,
        "#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\n\
         SEC(\"xdp\")\nint lines(struct xdp_md *ctx)\n{\n    int answer = 42; /* the answer */\n    return answer > 40 ? XDP_PASS : XDP_DROP;\n}\n\
         char LICENSE[] SEC(\"license\") = \"GPL\";\n",
    )
    .unwrap();
    let obj = dir.join("lines.bpf.o");
    let out = userbpf(&["build", src.to_str().unwrap(), "-o", obj.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = userbpf(&["disasm", "--source", obj.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("; ") && text.contains("XDP_PASS"), "{text}");
    assert!(text.contains("exit"), "{text}");
}
