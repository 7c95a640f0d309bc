//! CO-RE relocations against the host kernel's BTF: offsets, sizes, existence, enum values
//! and type sizes come out as the kernel's own BTF says; a missing field is a clear error.

use std::process::Command;

use userbpf_isa::{Insn, Source};
use userbpf_object::btf::Btf;
use userbpf_object::core_relo::{self, VMLINUX_BTF};
use userbpf_object::Object;

fn build() -> Option<Vec<u8>> {
    if Command::new("clang-19").arg("--version").output().is_err() {
        println!("skipped: clang-19 not found");
        return None;
    }
    if !std::path::Path::new(VMLINUX_BTF).exists() {
        println!("skipped: {VMLINUX_BTF} not found");
        return None;
    }
    let dir = std::env::temp_dir().join(format!("userbpf-core-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("core.bpf.o");
    let status = Command::new("clang-19")
        .args([
            "-g",
            "-O2",
            "-target",
            "bpf",
            "-mcpu=v3",
            "-I/usr/include/x86_64-linux-gnu",
            "-c",
        ])
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/core_src/core.bpf.c"
        ))
        .arg("-o")
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success());
    Some(std::fs::read(out).unwrap())
}

/// The constant a `r0 = K; exit` style program returns.
fn returned_constant(object: &Object, name: &str) -> i64 {
    let p = object.program(name).unwrap();
    p.insns
        .insns()
        .iter()
        .rev()
        .find_map(|i| match *i {
            Insn::Alu {
                src: Source::Imm(k),
                dst,
                ..
            } if dst.num() == 0 => Some(k as i64),
            Insn::LdImm64 {
                dst, imm, next_imm, ..
            } if dst.num() == 0 => Some(Insn::imm64(imm, next_imm) as i64),
            _ => None,
        })
        .unwrap_or_else(|| panic!("{name}: no constant: {:?}", p.insns.insns()))
}

#[test]
fn relocations_follow_the_host_btf() {
    let Some(bytes) = build() else { return };
    let vmlinux = core_relo::host_btf().unwrap();
    let mut object = Object::parse(&bytes).unwrap();
    // Drop the program whose relocation must fail, and check it fails on its own below.
    object.programs.retain(|p| p.name != "missing_field_offset");
    let report = core_relo::apply(&mut object, &vmlinux).unwrap();
    assert!(report.applied >= 8, "{report:?}");

    let task = vmlinux
        .find_by_name(userbpf_object::btf::Kind::Struct, "task_struct")
        .unwrap();
    let tgid = vmlinux.member(task, "tgid").unwrap().unwrap();
    assert_eq!(
        returned_constant(&object, "tgid_offset"),
        (tgid.bits_offset / 8) as i64
    );
    assert_eq!(returned_constant(&object, "pid_size"), 4);
    assert_eq!(returned_constant(&object, "missing_exists"), 0);
    assert_eq!(returned_constant(&object, "present_exists"), 1);
    assert_eq!(
        returned_constant(&object, "enum_value"),
        1,
        "BPF_FUNC_map_lookup_elem"
    );
    assert_eq!(returned_constant(&object, "enum_missing"), 0);
    let xdp_md = vmlinux
        .find_by_name(userbpf_object::btf::Kind::Struct, "xdp_md")
        .unwrap();
    assert_eq!(
        returned_constant(&object, "type_size"),
        vmlinux.size_of(xdp_md).unwrap() as i64
    );
    // A field access: the load offset is the target's offset of data_end.
    let p = object.program("read_data_end").unwrap();
    let off = p.insns.insns().iter().find_map(|i| match *i {
        Insn::Load { off, .. } => Some(off),
        _ => None,
    });
    assert_eq!(off, Some(4));
}

#[test]
fn a_missing_field_names_itself() {
    let Some(bytes) = build() else { return };
    let vmlinux = core_relo::host_btf().unwrap();
    let mut object = Object::parse(&bytes).unwrap();
    object.programs.retain(|p| p.name == "missing_field_offset");
    let err = core_relo::apply(&mut object, &vmlinux).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("missing_field_offset"), "{text}");
    assert!(
        text.contains("task_struct___mine.no_such_field_here"),
        "{text}"
    );
    assert!(text.contains("not found in the target BTF"), "{text}");
}

#[test]
fn objects_without_btf_are_untouched() {
    let bytes = std::fs::read(concat!(
        env!("USERBPF_SHARED"),
        "/corpus/ebpf-samples/linux/sockex1_kern.o"
    ))
    .unwrap();
    let mut object = Object::parse(&bytes).unwrap();
    let before = object.programs[0].code.clone();
    let empty = Btf::parse(&[
        0x9f, 0xeb, 1, 0, 24, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0,
    ])
    .unwrap();
    let report = core_relo::apply(&mut object, &empty).unwrap();
    assert_eq!(report.applied, 0);
    assert_eq!(object.programs[0].code, before);
}

#[test]
fn corpus_core_relocations_against_the_host() {
    if !std::path::Path::new(VMLINUX_BTF).exists() {
        println!("skipped: {VMLINUX_BTF} not found");
        return;
    }
    let vmlinux = core_relo::host_btf().unwrap();
    let root = concat!(env!("USERBPF_SHARED"), "/corpus/ebpf-samples");
    let mut stack = vec![std::path::PathBuf::from(root)];
    let (mut objects, mut applied, mut failed) = (0, 0, Vec::new());
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                if !path.ends_with("invalid") {
                    stack.push(path);
                }
                continue;
            }
            if path.extension().is_none_or(|e| e != "o") {
                continue;
            }
            let Ok(mut object) = Object::parse(&std::fs::read(&path).unwrap()) else {
                continue;
            };
            if !object.has_core_relos() {
                continue;
            }
            objects += 1;
            match core_relo::apply(&mut object, &vmlinux) {
                Ok(r) => applied += r.applied,
                Err(e) => failed.push(format!("{}: {e}", path.display())),
            }
        }
    }
    println!(
        "CO-RE: {objects} corpus objects with relocations, {applied} applied against the host; {} objects refused:",
        failed.len()
    );
    for f in &failed {
        println!("  {f}");
    }
}
