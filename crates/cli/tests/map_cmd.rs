//! `userbpf map` on maps pinned by another process: this test process creates and updates
//! pinned maps; the `userbpf` process reads and changes them.

use std::path::PathBuf;
use std::process::Command;

use userbpf_runtime::maps::{Map, MapSpec, MapType};

fn pin_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("userbpf-mapcmd-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn userbpf(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_userbpf"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn dump_lookup_update_delete_hex() {
    let dir = pin_dir("hex");
    let pin = dir.join("counts");
    let map = Map::create(
        MapSpec::new(MapType::Hash, 4, 8, 16).with_name("counts"),
        Some(&pin),
    )
    .unwrap();
    map.update(&1u32.to_le_bytes(), &5u64.to_le_bytes(), 0)
        .unwrap();
    let p = pin.to_str().unwrap();

    let out = userbpf(&["map", "dump", p]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("key: 01 00 00 00  value: 05 00 00 00 00 00 00 00"),
        "{text}"
    );
    assert!(text.contains("Found 1 element"), "{text}");

    let out = userbpf(&[
        "map",
        "update",
        p,
        "--key",
        "02000000",
        "--value",
        "0700000000000000",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(map.lookup(&2u32.to_le_bytes()).unwrap(), 7u64.to_le_bytes());

    let out = userbpf(&[
        "map",
        "update",
        p,
        "--key",
        "02000000",
        "--value",
        "0800000000000000",
        "--flag",
        "noexist",
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "NOEXIST on an existing key fails"
    );

    let out = userbpf(&["map", "lookup", p, "--key", "02000000", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v[0]["value"][0], "0x07");

    let out = userbpf(&["map", "delete", p, "--key", "01000000"]);
    assert!(out.status.success());
    assert!(map.lookup(&1u32.to_le_bytes()).is_err());
    let out = userbpf(&["map", "delete", p, "--key", "01000000"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("delete"));
}

#[test]
fn bad_pins_and_keys_are_input_errors() {
    let dir = pin_dir("bad");
    let junk = dir.join("junk");
    std::fs::write(&junk, b"not a map").unwrap();
    assert_eq!(
        userbpf(&["map", "dump", junk.to_str().unwrap()])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        userbpf(&["map", "dump", "/nonexistent/pin"]).status.code(),
        Some(2)
    );
    let pin = dir.join("arr");
    let _map = Map::create(MapSpec::new(MapType::Array, 4, 4, 2), Some(&pin)).unwrap();
    let out = userbpf(&["map", "lookup", pin.to_str().unwrap(), "--key", "zz"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn dump_through_btf_like_bpftool() {
    if Command::new("clang-19").arg("--version").output().is_err() {
        println!("skipped: clang-19 not found");
        return;
    }
    let dir = pin_dir("btf");
    let src = dir.join("stats.bpf.c");
    std::fs::write(
        &src,
        "#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\n\
         struct stats { unsigned long long packets; unsigned int bytes; char name[8]; };\n\
         struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 8); __type(key, unsigned int); __type(value, struct stats); } stats SEC(\".maps\");\n\
         SEC(\"xdp\") int prog(struct xdp_md *ctx) { unsigned int k = 0; bpf_map_lookup_elem(&stats, &k); return XDP_PASS; }\n\
         char LICENSE[] SEC(\"license\") = \"GPL\";\n",
    )
    .unwrap();
    let obj = dir.join("stats.bpf.o");
    let out = userbpf(&["build", src.to_str().unwrap(), "-o", obj.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let object = userbpf_object::Object::parse(&std::fs::read(&obj).unwrap()).unwrap();
    let spec = object.maps.iter().find(|m| m.name == "stats").unwrap();
    let btf = object.btf.as_ref().unwrap();
    let pin = dir.join("stats");
    let map = Map::create(
        MapSpec::new(
            MapType::Hash,
            spec.key_size,
            spec.value_size,
            spec.max_entries,
        ),
        Some(&pin),
    )
    .unwrap();
    userbpf_runtime::pin_btf::write(
        &pin,
        &userbpf_runtime::pin_btf::PinnedBtf {
            btf: btf.raw_bytes().to_vec(),
            key_type_id: spec.key_type_id.unwrap(),
            value_type_id: spec.value_type_id.unwrap(),
        },
    )
    .unwrap();
    let mut value = vec![0u8; spec.value_size as usize];
    value[..8].copy_from_slice(&3u64.to_le_bytes());
    value[8..12].copy_from_slice(&180u32.to_le_bytes());
    value[12..15].copy_from_slice(b"eth");
    map.update(&9u32.to_le_bytes(), &value, 0).unwrap();

    let out = userbpf(&["map", "dump", pin.to_str().unwrap(), "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v[0]["key"], 9);
    assert_eq!(v[0]["value"]["packets"], 3);
    assert_eq!(v[0]["value"]["bytes"], 180);
    assert_eq!(v[0]["value"]["name"], "eth");
}

#[test]
fn update_of_a_frozen_rodata_is_refused() {
    let dir = pin_dir("frozen");
    let pin = dir.join(".rodata");
    let map = Map::create(
        MapSpec::new(MapType::Array, 4, 4, 1).with_name(".rodata"),
        Some(&pin),
    )
    .unwrap();
    map.update(&0u32.to_le_bytes(), &3u32.to_le_bytes(), 0)
        .unwrap();
    map.freeze().unwrap();
    let p = pin.to_str().unwrap();
    for args in [
        &[
            "map", "update", p, "--key", "00000000", "--value", "07000000",
        ][..],
        &["map", "delete", p, "--key", "00000000"][..],
    ] {
        let out = userbpf(args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("frozen"), "{err}");
    }
    assert_eq!(map.lookup(&0u32.to_le_bytes()).unwrap(), 3u32.to_le_bytes());
    let _ = std::fs::remove_dir_all(&dir);
}
