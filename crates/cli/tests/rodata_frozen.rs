//! `.rodata` frozen at load, as libbpf does: cilium's `bpf_host.o` bounds its packet reads
//! with constants from `.rodata.config`, so `userbpf verify` and `userbpf run` accept its
//! programs only because the verifier may trust those bytes; `--map-in` cannot change them.

use std::path::PathBuf;
use std::process::Command;

fn bpf_host() -> Option<PathBuf> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/corpus/ebpf-samples/cilium-core/bpf_host.o");
    if path.exists() {
        Some(path)
    } else {
        println!("skipped: {} not found", path.display());
        None
    }
}

fn userbpf(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_userbpf"))
        .args(args)
        .output()
        .unwrap()
}

fn temp_file(tag: &str, bytes: &[u8]) -> PathBuf {
    let p = std::env::temp_dir().join(format!("userbpf-rodata-{tag}-{}", std::process::id()));
    std::fs::write(&p, bytes).unwrap();
    p
}

/// An Ethernet + IPv4 + UDP packet from 10.0.0.1:53 to 10.0.0.2:53.
fn udp_packet() -> Vec<u8> {
    let mut p = Vec::new();
    p.extend_from_slice(&[0xff; 6]);
    p.extend_from_slice(&[2, 0, 0, 0, 0, 1, 0x08, 0x00]);
    p.extend_from_slice(&[0x45, 0, 0, 28, 0, 0, 0x40, 0, 64, 17, 0, 0]);
    p.extend_from_slice(&[10, 0, 0, 1, 10, 0, 0, 2]);
    p.extend_from_slice(&[0, 53, 0, 53, 0, 8, 0, 0]);
    p.extend_from_slice(&[0; 20]);
    p
}

#[test]
fn bpf_host_programs_that_need_rodata_constants_pass_verify() {
    let Some(obj) = bpf_host() else {
        return;
    };
    let obj = obj.to_str().unwrap();
    // Each of these reads the packet with bounds from .rodata.config (rejected with
    // "invalid access to packet" when its contents are not trusted).
    for prog in [
        "tail_srv6_encap",
        "cil_from_netdev",
        "cil_from_host",
        "cil_to_netdev",
        "cil_to_host",
        "cil_host_policy",
    ] {
        let out = userbpf(&["verify", obj, "--program", prog, "--json"]);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && text.contains("\"verdict\":\"accepted\""),
            "{prog}: {text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn bpf_host_policy_runs_on_a_packet() {
    let Some(obj) = bpf_host() else {
        return;
    };
    let pkt = temp_file("pkt", &udp_packet());
    let out = userbpf(&[
        "run",
        obj.to_str().unwrap(),
        "--program",
        "cil_host_policy",
        "--data-in",
        pkt.to_str().unwrap(),
        "--json",
    ]);
    let _ = std::fs::remove_file(&pkt);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // CTX_ACT_DROP: no host policy allows the packet (the policy maps are empty).
    assert_eq!(v["retval"], 2, "{v}");
}

#[test]
fn map_in_cannot_change_frozen_rodata() {
    let Some(obj) = bpf_host() else {
        return;
    };
    let pkt = temp_file("pkt2", &udp_packet());
    let cfg = temp_file("cfg", &[1, 2]);
    let out = userbpf(&[
        "run",
        obj.to_str().unwrap(),
        "--program",
        "cil_host_policy",
        "--data-in",
        pkt.to_str().unwrap(),
        "--map-in",
        &format!(".rodata.config={}", cfg.display()),
    ]);
    let _ = std::fs::remove_file(&pkt);
    let _ = std::fs::remove_file(&cfg);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--map-in .rodata.config: the map is frozen"),
        "{err}"
    );
}
