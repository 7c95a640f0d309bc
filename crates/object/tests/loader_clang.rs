//! The loader on clang-19-compiled programs (sources in `tests/loader_src/`, objects built
//! with `clang-19 -g -O2 -target bpf -c` and checked in next to them): BTF-defined maps
//! with map-in-map and pinning, legacy map definitions, global data, static and global
//! subprograms, `bpf_loop` callbacks, license and version, line info.

use std::path::{Path, PathBuf};
use userbpf_isa::{CallTarget, Insn, LdImm64Kind};
use userbpf_object::{AttachTarget, MapInit, Object, ProgramSpec, ProgramType};

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/loader_src")
}

fn load(name: &str) -> Object {
    let bytes = std::fs::read(src_dir().join(name)).unwrap();
    Object::parse(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The `lddw` map references of a program: (slot, kind, map index, value offset).
fn map_refs(p: &ProgramSpec) -> Vec<(usize, LdImm64Kind, i32, i32)> {
    p.insns
        .iter()
        .filter_map(|(slot, i)| match *i {
            Insn::LdImm64 {
                kind: kind @ (LdImm64Kind::MapIdx | LdImm64Kind::MapIdxValue),
                imm,
                next_imm,
                ..
            } => Some((slot, kind, imm, next_imm)),
            _ => None,
        })
        .collect()
}

/// The absolute targets of the local calls of a program.
fn local_calls(p: &ProgramSpec) -> Vec<usize> {
    p.insns
        .iter()
        .filter_map(|(slot, i)| match *i {
            Insn::Call(CallTarget::Local(rel)) => Some((slot as i64 + 1 + rel as i64) as usize),
            _ => None,
        })
        .collect()
}

fn segment_start(p: &ProgramSpec, function: &str) -> usize {
    p.segments
        .iter()
        .find(|s| s.function == function)
        .unwrap_or_else(|| panic!("{}: no segment {function}", p.name))
        .slot
}

#[test]
fn btf_defined_maps() {
    let obj = load("maps.bpf.o");
    let names: Vec<_> = obj.maps.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["inner_a", "inner_b", "outer", "counts", "bloom"]);
    let (ci, counts) = obj.map("counts").unwrap();
    assert_eq!(
        (
            counts.map_type,
            counts.key_size,
            counts.value_size,
            counts.max_entries
        ),
        (1, 4, 8, 1024)
    );
    assert_eq!((counts.map_flags, counts.pinning), (1, 1));
    assert!(counts.key_type_id.is_some() && counts.value_type_id.is_some());
    let (oi, outer) = obj.map("outer").unwrap();
    assert_eq!(
        (
            outer.map_type,
            outer.key_size,
            outer.value_size,
            outer.max_entries
        ),
        (12, 4, 4, 2)
    );
    let inner = outer.inner.as_ref().unwrap();
    assert_eq!(inner.name, "outer.inner");
    assert_eq!(
        (
            inner.map_type,
            inner.key_size,
            inner.value_size,
            inner.max_entries
        ),
        (2, 4, 8, 4)
    );
    assert_eq!(
        outer.initial_values,
        vec![(0, MapInit::Map(0)), (1, MapInit::Map(1))]
    );
    let (_, bloom) = obj.map("bloom").unwrap();
    assert_eq!(
        (bloom.map_type, bloom.value_size, bloom.map_extra),
        (30, 8, 3)
    );
    assert_eq!(obj.license.as_deref(), Some("Dual MIT/GPL"));
    assert_eq!(obj.kernel_version, None);

    assert_eq!(obj.programs.len(), 1);
    let p = &obj.programs[0];
    assert_eq!(
        (p.name.as_str(), p.section.as_str()),
        ("count_packets", "xdp")
    );
    assert_eq!(p.prog_type, ProgramType::Xdp);
    let refs: Vec<_> = map_refs(p).iter().map(|r| (r.1, r.2 as usize)).collect();
    assert_eq!(
        refs,
        [
            (LdImm64Kind::MapIdx, ci),
            (LdImm64Kind::MapIdx, ci),
            (LdImm64Kind::MapIdx, oi)
        ]
    );
    // Line info maps the first instruction to the first statement of the function.
    assert!(obj.btf.is_some() && obj.btf_ext.is_some());
    let line = obj.line_info(p, 0).unwrap();
    assert!(line.file_name.ends_with("maps.bpf.c"), "{}", line.file_name);
    assert!(
        line.line_text.contains("ingress_ifindex"),
        "{}",
        line.line_text
    );
    assert!(!obj.program_lines(p).is_empty());
}

#[test]
fn legacy_maps_and_inner_map_idx() {
    let obj = load("legacy.bpf.o");
    let names: Vec<_> = obj.maps.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["arr", "inner", "outer"]);
    let outer = &obj.maps[2];
    assert_eq!(
        (
            outer.map_type,
            outer.key_size,
            outer.value_size,
            outer.max_entries
        ),
        (13, 4, 4, 8)
    );
    assert_eq!(outer.inner.as_ref().unwrap().name, "inner");
    let p = obj.program("probe").unwrap();
    assert_eq!(p.prog_type, ProgramType::Kprobe);
    assert_eq!(
        p.target,
        AttachTarget::Kprobe {
            function: "sys_execve".into(),
            offset: 0,
            ret: false
        }
    );
    let refs: Vec<_> = map_refs(p).iter().map(|r| r.2).collect();
    assert_eq!(refs, [0, 2]);
}

#[test]
fn global_data_and_subprograms() {
    let obj = load("globals.bpf.o");
    assert_eq!(obj.license.as_deref(), Some("GPL"));
    assert_eq!(obj.kernel_version, Some(0x050a00));
    let names: Vec<_> = obj.maps.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, [".data", ".rodata", ".data.extra", ".bss"]);
    let data = &obj.maps[0];
    assert_eq!(
        (
            data.map_type,
            data.key_size,
            data.value_size,
            data.max_entries
        ),
        (2, 4, 8, 1)
    );
    assert_eq!(data.data, [7, 0, 0, 0, 9, 0, 0, 0]);
    assert_eq!(obj.maps[1].map_flags, 0x80);
    assert_eq!(obj.maps[1].data, 100i32.to_le_bytes());
    assert_eq!(obj.maps[2].data, 42i32.to_le_bytes());
    assert_eq!(obj.maps[3].data, [0; 32]);
    assert_eq!(obj.maps[3].map_flags, 0);

    let progs: Vec<_> = obj.programs.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(progs, ["on_open", "sock_a", "sock_b", "looper"]);

    // on_open calls the global function (which calls the static `add`) and the static
    // `twice`; each subprogram is appended once and every call lands on its start.
    let p = obj.program("on_open").unwrap();
    assert_eq!(
        p.target,
        AttachTarget::Tracepoint {
            category: "syscalls".into(),
            name: "sys_enter_openat".into()
        }
    );
    let functions: Vec<_> = p.segments.iter().map(|s| s.function.as_str()).collect();
    assert_eq!(functions, ["on_open", "global_helper", "twice", "add"]);
    let calls = local_calls(p);
    assert_eq!(
        calls,
        [
            segment_start(p, "global_helper"),
            segment_start(p, "twice"),
            segment_start(p, "add"),
            segment_start(p, "add"),
        ]
    );
    // counter (.data + 0), limit (.rodata), extra (.data.extra), hits (.bss), counter.
    let refs: Vec<_> = map_refs(p).iter().map(|r| (r.1, r.2, r.3)).collect();
    let v = LdImm64Kind::MapIdxValue;
    assert_eq!(
        refs,
        [(v, 0, 0), (v, 1, 0), (v, 2, 0), (v, 3, 0), (v, 0, 0)]
    );

    // sock_a and sock_b share a section; each links only what it calls.
    let a = obj.program("sock_a").unwrap();
    assert_eq!(
        a.segments
            .iter()
            .map(|s| s.function.as_str())
            .collect::<Vec<_>>(),
        ["sock_a", "twice", "add"]
    );
    let b = obj.program("sock_b").unwrap();
    assert_eq!(
        b.segments
            .iter()
            .map(|s| s.function.as_str())
            .collect::<Vec<_>>(),
        ["sock_b", "global_helper", "add"]
    );
    assert_eq!(b.segments[0].section_slot, 5);
    // `second` is at offset 4 of .data.
    assert!(map_refs(b).iter().any(|r| (r.1, r.2, r.3) == (v, 0, 4)));

    // bpf_loop's callback: lddw BPF_PSEUDO_FUNC pointing at the appended static function.
    let l = obj.program("looper").unwrap();
    let func_refs: Vec<_> = l
        .insns
        .iter()
        .filter_map(|(slot, i)| match *i {
            Insn::LdImm64 {
                kind: LdImm64Kind::Func,
                imm,
                ..
            } => Some((slot as i64 + 1 + imm as i64) as usize),
            _ => None,
        })
        .collect();
    assert_eq!(func_refs, [segment_start(l, "step")]);

    // Line info follows subprograms into the linked program.
    let add = segment_start(p, "add");
    let line = obj.line_info(p, add).unwrap();
    assert!(
        line.line_text.contains("add") || line.line_text.contains("return a + b"),
        "{line:?}"
    );
    for p in &obj.programs {
        assert!(p.extern_calls.is_empty());
        userbpf_isa::Program::decode(&p.code).unwrap();
    }
}

/// When clang-19 is installed, rebuild the sources and check the result parses to the same
/// programs and maps as the checked-in objects.
#[test]
fn rebuilt_objects_match() {
    if std::process::Command::new("clang-19")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipped: clang-19 not found");
        return;
    }
    let out = std::env::temp_dir().join(format!("userbpf-loader-{}", std::process::id()));
    std::fs::create_dir_all(&out).unwrap();
    for name in ["maps", "globals", "legacy"] {
        let obj = out.join(format!("{name}.bpf.o"));
        let status = std::process::Command::new("clang-19")
            .args(["-g", "-O2", "-target", "bpf", "-c"])
            .arg(src_dir().join(format!("{name}.bpf.c")))
            .arg("-o")
            .arg(&obj)
            .status()
            .unwrap();
        assert!(status.success(), "clang-19 failed on {name}.bpf.c");
        let fresh = Object::parse(&std::fs::read(&obj).unwrap()).unwrap();
        let checked_in = load(&format!("{name}.bpf.o"));
        assert_eq!(fresh.programs, checked_in.programs, "{name}");
        assert_eq!(fresh.maps, checked_in.maps, "{name}");
    }
    let _ = std::fs::remove_dir_all(&out);
}
