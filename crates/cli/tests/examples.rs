//! The bundled examples: the prebuilt bytecode matches its source, and the README's command
//! gives the documented result.

use std::path::Path;
use std::process::Command;

fn examples() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples"))
}

#[test]
fn checksum_bin_is_assembled_from_its_source() {
    let src = std::fs::read_to_string(examples().join("checksum.s")).unwrap();
    let bin = std::fs::read(examples().join("checksum.bin")).unwrap();
    let insns = userbpf_isa::asm::assemble(&src).unwrap();
    assert_eq!(userbpf_isa::encode_program(&insns), bin);
}

#[test]
fn readme_command_validates_an_ipv4_checksum() {
    let run = |hex: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_userbpf"))
            .args(["run", "--raw"])
            .arg(examples().join("checksum.bin"))
            .args(["--data-hex", hex, "--json"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v["retval"].as_u64().unwrap()
    };
    assert_eq!(run("45000073000040004011b861c0a80001c0a800c7"), 0);
    assert_ne!(run("45000073000040004011b862c0a80001c0a800c7"), 0);
}
