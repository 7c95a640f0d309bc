//! The BTF API on objects prebuilt from `btf_src/*.c` with clang-19 (kept in
//! `btf_src/prebuilt/` so these tests need no compiler): maps, members, sizes, line info at
//! known source lines, CO-RE records, and clear errors for malformed BTF.

use userbpf_object::btf::{
    parse_access_str, parse_elf, Btf, BtfError, BtfExt, CoreReloKind, ElfBtf, Kind, TypeKind,
};

const GLOBALS: &[u8] = include_bytes!("btf_src/prebuilt/globals.o");
const LINES: &[u8] = include_bytes!("btf_src/prebuilt/lines.o");
const TYPES: &[u8] = include_bytes!("btf_src/prebuilt/types.o");
const TAGS: &[u8] = include_bytes!("btf_src/prebuilt/tags.o");
const LINES_SRC: &str = include_str!("btf_src/lines.c");

fn load(bytes: &[u8]) -> ElfBtf {
    parse_elf(bytes).unwrap().expect(".BTF present")
}

#[test]
fn btf_defined_maps() {
    let btf = load(GLOBALS).btf;
    let maps = btf.maps().unwrap();
    let names: Vec<&str> = maps.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["inner_a", "outer", "flows", "sized", "events"]);

    let flows = &maps[2];
    assert_eq!(flows.map_type, Some(1));
    assert_eq!(flows.max_entries, Some(1024));
    assert_eq!(flows.key_size, Some(8));
    assert_eq!(flows.value_size, Some(16));
    assert_eq!(flows.map_flags, Some(1));
    assert_eq!(flows.pinning, Some(1));
    let key = flows.key_type.unwrap();
    assert_eq!(btf.type_by_id(key).unwrap().name, "key");
    assert_eq!(
        btf.type_by_id(flows.value_type.unwrap()).unwrap().name,
        "value"
    );
    assert!(flows.unknown_fields.is_empty());

    let sized = &maps[3];
    assert_eq!((sized.key_size, sized.value_size), (Some(4), Some(16)));
    assert_eq!((sized.key_type, sized.value_type), (None, None));
    assert_eq!(sized.max_entries, Some(8));

    let outer = &maps[1];
    assert_eq!(outer.map_type, Some(12));
    let inner = outer.inner.as_ref().expect("inner map definition");
    assert_eq!(inner.map_type, Some(2));
    assert_eq!((inner.key_size, inner.value_size), (Some(4), Some(8)));
    assert_eq!(inner.max_entries, Some(1));

    let events = &maps[4];
    assert_eq!(
        (events.map_type, events.max_entries),
        (Some(27), Some(4096))
    );
    assert_eq!(events.key_size, None);
}

#[test]
fn datasecs_and_vars() {
    let btf = load(GLOBALS).btf;
    for (sec, vars) in [
        (".data", &["counter", "weights", "static_counter"][..]),
        (".rodata", &["greeting", "config_value"][..]),
        (".bss", &["scratch", "totals"][..]),
        (".data.custom", &["custom_var"][..]),
    ] {
        let id = btf.datasec(sec).unwrap_or_else(|| panic!("DATASEC {sec}"));
        let TypeKind::Datasec { vars: infos, .. } = &btf.type_by_id(id).unwrap().kind else {
            panic!("{sec} is not a DATASEC");
        };
        let names: Vec<&str> = infos
            .iter()
            .map(|v| btf.type_by_id(v.type_id).unwrap().name.as_str())
            .collect();
        assert_eq!(names, vars, "{sec}");
        for v in infos {
            assert_eq!(btf.size_of(v.type_id).unwrap(), v.size, "{sec}");
        }
    }
    let greeting = btf.find_by_name(Kind::Var, "greeting").unwrap();
    assert_eq!(btf.size_of(greeting).unwrap(), 6);
    let ext = btf.find_by_name(Kind::Var, "some_extern").unwrap();
    assert!(matches!(
        btf.type_by_id(ext).unwrap().kind,
        TypeKind::Var {
            linkage: userbpf_object::btf::VarLinkage::Extern,
            ..
        }
    ));
}

#[test]
fn members_sizes_and_resolution() {
    let btf = load(TYPES).btf;
    let nested = btf.find_by_name(Kind::Struct, "nested").unwrap();
    assert_eq!(btf.size_of(nested).unwrap(), 152);
    let corners = btf.member(nested, "corners").unwrap().unwrap();
    assert_eq!(btf.size_of(corners.type_id).unwrap(), 2 * 3 * 8);
    // Members of anonymous structs and unions are found with their full offsets.
    let anon_c = btf.member(nested, "anon_c").unwrap().unwrap();
    assert_eq!(anon_c.bits_offset, 512 + 64);
    assert_eq!(anon_c.path, vec![3, 1, 1]);
    assert_eq!(btf.member(nested, "missing").unwrap(), None);
    // typedef chain my_my_u32 -> my_u32 -> u32 -> unsigned int.
    let chained = btf.member(nested, "chained").unwrap().unwrap();
    let int = btf.resolve(chained.type_id).unwrap();
    assert_eq!(btf.type_by_id(int).unwrap().name, "unsigned int");
    // const volatile int *: the pointee resolves through both qualifiers.
    let cvp = btf.member(nested, "cvp").unwrap().unwrap();
    let pointee = btf.pointee(cvp.type_id).unwrap();
    assert_eq!(btf.resolved_type(pointee).unwrap().name, "int");
    assert_eq!(btf.size_of(cvp.type_id).unwrap(), 8);
    // Bitfields.
    let bits = btf.find_by_name(Kind::Struct, "bits").unwrap();
    let d = btf.member(bits, "d").unwrap().unwrap();
    assert_eq!((d.bits_offset, d.bitfield_size), (15, 40));
    let tail = btf.member(bits, "tail").unwrap().unwrap();
    assert_eq!((tail.bits_offset, tail.bitfield_size), (56, 0));
    // Enums.
    let wide = btf.find_by_name(Kind::Enum64, "wide").unwrap();
    let TypeKind::Enum64 { values, signed, .. } = &btf.type_by_id(wide).unwrap().kind else {
        panic!()
    };
    assert!(!signed);
    assert_eq!(values[1].value, 0x123456789abcdef);
    let sign = btf.find_by_name(Kind::Enum, "sign").unwrap();
    let TypeKind::Enum { values, signed, .. } = &btf.type_by_id(sign).unwrap().kind else {
        panic!()
    };
    assert!(signed);
    assert_eq!(values[0].value as i64, -3);
    // No size for functions and forward declarations; not a struct for member().
    let helper = btf.find_by_name(Kind::Func, "helper").unwrap();
    assert!(matches!(btf.size_of(helper), Err(BtfError::NoSize { .. })));
    let fwd = btf.find_by_name(Kind::Fwd, "fwd_only").unwrap();
    assert!(btf.size_of(fwd).is_err());
    assert!(matches!(
        btf.member(int, "x"),
        Err(BtfError::UnexpectedKind { .. })
    ));
    assert!(matches!(
        btf.type_by_id(btf.type_count()),
        Err(BtfError::NoSuchType { .. })
    ));
    // C-like names.
    assert_eq!(btf.type_name(cvp.type_id), "const volatile int *");
    assert_eq!(btf.type_name(corners.type_id), "struct point[2][3]");
    let callback = btf.member(nested, "callback").unwrap().unwrap();
    assert_eq!(
        btf.type_name(callback.type_id),
        "int (struct point *, u64, ...) *"
    );
    assert_eq!(btf.type_name(anon_c.type_id), "long");
    assert_eq!(btf.type_name(0), "void");
    // Flexible array: zero elements.
    let flex = btf.member(nested, "flex").unwrap().unwrap();
    assert_eq!(btf.size_of(flex.type_id).unwrap(), 0);
}

#[test]
fn tags() {
    let btf = load(TAGS).btf;
    let tagged = btf.find_by_name(Kind::Struct, "tagged").unwrap();
    let uptr = btf.member(tagged, "uptr").unwrap().unwrap();
    let tag = btf.pointee(uptr.type_id).unwrap();
    assert_eq!(btf.type_by_id(tag).unwrap().kind(), Kind::TypeTag);
    assert_eq!(btf.type_by_id(tag).unwrap().name, "user");
    assert_eq!(btf.resolved_type(tag).unwrap().name, "int");
    let decl = btf.find_by_name(Kind::DeclTag, "member_tag").unwrap();
    assert!(matches!(
        btf.type_by_id(decl).unwrap().kind,
        TypeKind::DeclTag {
            component_idx: 0,
            ..
        }
    ));
}

/// Line numbers of the `LINE:<name>` markers in lines.c.
fn marker_line(name: &str) -> u32 {
    let tag = format!("LINE:{name} ");
    LINES_SRC
        .lines()
        .position(|l| l.contains(&tag))
        .unwrap_or_else(|| panic!("marker {name}")) as u32
        + 1
}

#[test]
fn line_info_points_at_the_source() {
    let ElfBtf { btf, ext } = load(LINES);
    let ext = ext.expect(".BTF.ext");
    let src: Vec<&str> = LINES_SRC.lines().collect();
    let mut records = 0;
    for sec in &ext.sections {
        for l in &sec.line_info {
            assert!(l.file_name.ends_with("lines.c"), "{}", l.file_name);
            let text = src[l.line as usize - 1];
            assert_eq!(l.line_text, text, "line {}", l.line);
            records += 1;
        }
    }
    assert!(records > 10);
    // Every marker of a function's body has a record in that function's section.
    for (section, markers) in [
        (".text", &["sub_body", "sub_ret"][..]),
        (
            "kprobe/do_thing",
            &["probe_pid", "probe_tgid", "probe_ret"][..],
        ),
        ("xdp", &["second_ret"][..]),
    ] {
        let sec = ext.section(section).unwrap();
        for m in markers {
            let line = marker_line(m);
            assert!(
                sec.line_info.iter().any(|l| l.line == line),
                "{section}: no line_info for {m} (line {line})"
            );
        }
    }
    // The first instruction of probe loads t->pid.
    let probe = ext.section("kprobe/do_thing").unwrap();
    let first_body = probe
        .line_info
        .iter()
        .filter(|l| l.slot == 0)
        .map(|l| l.line)
        .collect::<Vec<_>>();
    assert!(first_body.contains(&marker_line("probe_pid")) || !first_body.is_empty());
    assert_eq!(probe.line_at(1).unwrap().line, marker_line("probe_tgid"));
    // func_info: one function per section, at slot 0, of kind FUNC with the right name.
    for (section, func) in [
        (".text", "sub"),
        ("kprobe/do_thing", "probe"),
        ("xdp", "second"),
    ] {
        let sec = ext.section(section).unwrap();
        assert_eq!(sec.func_info.len(), 1);
        assert_eq!(sec.func_info[0].slot, 0);
        let t = btf.type_by_id(sec.func_info[0].type_id).unwrap();
        assert_eq!((t.kind(), t.name.as_str()), (Kind::Func, func));
    }
}

#[test]
fn core_relocations() {
    let ElfBtf { btf, ext } = load(LINES);
    let ext = ext.unwrap();
    let sec = ext.section("kprobe/do_thing").unwrap();
    let kinds: std::collections::BTreeSet<CoreReloKind> =
        sec.core_relos.iter().map(|r| r.kind).collect();
    for k in 0..=11 {
        let kind = CoreReloKind::from_number(k).unwrap();
        assert!(kinds.contains(&kind), "no {kind} relocation");
    }
    let task = btf.find_by_name(Kind::Struct, "task").unwrap();
    for r in &sec.core_relos {
        let access = parse_access_str(&r.access).unwrap();
        assert!(!access.is_empty());
        match r.kind {
            CoreReloKind::FieldByteOffset => {
                assert_eq!(r.type_id, task);
                // t->pid is 0:0, t->tgid is 0:1.
                assert!(access == [0, 0] || access == [0, 1], "{}", r.access);
            }
            CoreReloKind::FieldExists => assert_eq!(access, [0, 3]),
            k if k.is_type() => assert_eq!(access, [0]),
            _ => {}
        }
    }
    let pid_slot = sec
        .core_relos
        .iter()
        .find(|r| r.access == "0:0")
        .unwrap()
        .slot;
    assert_eq!(
        sec.line_at(pid_slot).unwrap().line,
        marker_line("probe_pid")
    );
    assert_eq!(
        CoreReloKind::FieldExists.kernel_name(),
        "BPF_CORE_FIELD_EXISTS"
    );
    assert_eq!(CoreReloKind::TypeMatches.libbpf_name(), "type_matches");
}

#[test]
fn access_strings() {
    assert_eq!(parse_access_str("0").unwrap(), vec![0]);
    assert_eq!(parse_access_str("0:12:3").unwrap(), vec![0, 12, 3]);
    for bad in ["", ":", "0:", "a", "0:-1", "0: 1", "99999999999"] {
        assert!(
            matches!(parse_access_str(bad), Err(BtfError::BadAccessString(_))),
            "{bad:?}"
        );
    }
    let long = vec!["1"; 100].join(":");
    assert!(parse_access_str(&long).is_err());
}

// ---- malformed input -------------------------------------------------------------------

/// Builds raw BTF from type words and a string table.
fn raw_btf(type_words: &[u32], strings: &[u8]) -> Vec<u8> {
    let type_len = (type_words.len() * 4) as u32;
    let mut b = vec![0x9f, 0xeb, 1, 0];
    for w in [24, 0, type_len, type_len, strings.len() as u32] {
        b.extend_from_slice(&u32::to_le_bytes(w));
    }
    for w in type_words {
        b.extend_from_slice(&w.to_le_bytes());
    }
    b.extend_from_slice(strings);
    b
}

const INT: [u32; 4] = [1, 1 << 24, 4, (1 << 24) | 32];

#[test]
fn malformed_headers() {
    let good = raw_btf(&INT, b"\0int\0");
    Btf::parse(&good).unwrap();
    assert!(matches!(
        Btf::parse(&good[..10]),
        Err(BtfError::Truncated { .. })
    ));
    let mut be = good.clone();
    be[0] = 0xeb;
    be[1] = 0x9f;
    assert_eq!(Btf::parse(&be).unwrap_err(), BtfError::BigEndian);
    let mut magic = good.clone();
    magic[0] = 0;
    assert!(matches!(Btf::parse(&magic), Err(BtfError::BadMagic(_))));
    let mut version = good.clone();
    version[2] = 2;
    assert_eq!(
        Btf::parse(&version).unwrap_err(),
        BtfError::UnsupportedVersion(2)
    );
    let mut hdr = good.clone();
    hdr[4] = 8;
    assert!(matches!(
        Btf::parse(&hdr),
        Err(BtfError::BadHeaderLen { .. })
    ));
    let mut strlen = good.clone();
    strlen[20..24].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(matches!(
        Btf::parse(&strlen),
        Err(BtfError::SectionOutOfRange { .. })
    ));
    let e = Btf::parse(&strlen).unwrap_err().to_string();
    assert!(e.contains("string section"), "{e}");
}

#[test]
fn malformed_types() {
    // Name offset past the string table.
    let e = Btf::parse(&raw_btf(&[99, 1 << 24, 4, 32], b"\0int\0")).unwrap_err();
    assert!(matches!(e, BtfError::InType { id: 1, .. }), "{e}");
    assert!(e.to_string().contains("string offset 99"), "{e}");
    // Unknown kind.
    let e = Btf::parse(&raw_btf(&[0, 25 << 24, 0], b"\0")).unwrap_err();
    assert_eq!(e, BtfError::UnknownKind { id: 1, kind: 25 });
    // Pointer to a type that does not exist.
    let e = Btf::parse(&raw_btf(&[0, 2 << 24, 7], b"\0")).unwrap_err();
    assert!(
        matches!(e, BtfError::TypeIdOutOfRange { target: 7, .. }),
        "{e}"
    );
    // A struct claiming 65535 members in 12 bytes.
    let e = Btf::parse(&raw_btf(&[0, (4 << 24) | 0xffff, 8, 0, 0, 0], b"\0")).unwrap_err();
    assert!(e.to_string().contains("truncated"), "{e}");
    // INT wider than its size.
    let e = Btf::parse(&raw_btf(&[1, 1 << 24, 1, 64], b"\0int\0")).unwrap_err();
    assert!(matches!(e, BtfError::InvalidType { id: 1, .. }), "{e}");
    // String table not NUL-terminated.
    let e = Btf::parse(&raw_btf(&INT, b"\0int")).unwrap_err();
    assert!(matches!(e, BtfError::BadStringTable(_)), "{e}");
    // Trailing bytes that do not form a type.
    let mut words = INT.to_vec();
    words.push(0);
    let e = Btf::parse(&raw_btf(&words, b"\0int\0")).unwrap_err();
    assert!(e.to_string().contains("truncated"), "{e}");
}

#[test]
fn cycles_are_errors() {
    // [1] TYPEDEF -> [2] CONST -> [1]
    let btf = Btf::parse(&raw_btf(&[1, 8 << 24, 2, 0, 10 << 24, 1], b"\0t\0")).unwrap();
    assert_eq!(btf.resolve(1).unwrap_err(), BtfError::Cycle(1));
    assert_eq!(btf.size_of(2).unwrap_err(), BtfError::Cycle(2));
    // [1] ARRAY of [1]
    let btf = Btf::parse(&raw_btf(&[0, 3 << 24, 0, 1, 1, 4], b"\0")).unwrap();
    assert!(btf.size_of(1).is_err());
    // [1] STRUCT with an anonymous member of its own type.
    let btf = Btf::parse(&raw_btf(&[0, (4 << 24) | 1, 4, 0, 1, 0], b"\0")).unwrap();
    assert_eq!(btf.member(1, "x").unwrap_err(), BtfError::Cycle(1));
    // 30 structs, each with two anonymous members of the next: 2^30 paths, searched once each.
    let mut words = Vec::new();
    for i in 1..=30u32 {
        let next = if i == 30 { 0 } else { i + 1 };
        let n = if i == 30 { 0 } else { 2 };
        words.extend_from_slice(&[0, (4 << 24) | n, 8]);
        for _ in 0..n {
            words.extend_from_slice(&[0, next, 0]);
        }
    }
    let btf = Btf::parse(&raw_btf(&words, b"\0")).unwrap();
    let start = std::time::Instant::now();
    assert_eq!(btf.member(1, "nothing").unwrap(), None);
    assert!(start.elapsed() < std::time::Duration::from_secs(1));
    // A prototype whose 1000 parameters are pointers to itself: its name stays short.
    let mut words = vec![0, (13 << 24) | 1000, 0];
    for _ in 0..1000 {
        words.extend_from_slice(&[0, 2]);
    }
    words.extend_from_slice(&[0, 2 << 24, 1]);
    let btf = Btf::parse(&raw_btf(&words, b"\0")).unwrap();
    assert!(btf.type_name(1).len() < 10_000);
    // An array whose size overflows u32.
    let words = [
        INT[0],
        INT[1],
        INT[2],
        INT[3], // [1] int
        0,
        3 << 24,
        0,
        1,
        1,
        0x4000_0000, // [2] int[1 << 30]
        0,
        3 << 24,
        0,
        2,
        1,
        16, // [3] [2][16]
    ];
    let btf = Btf::parse(&raw_btf(&words, b"\0int\0")).unwrap();
    assert_eq!(btf.size_of(3).unwrap_err(), BtfError::SizeOverflow(3));
}

#[test]
fn malformed_ext() {
    let ElfBtf { btf, .. } = load(LINES);
    let file = object::File::parse(LINES).unwrap();
    use object::{Object, ObjectSection};
    let ext_bytes = file.section_by_name(".BTF.ext").unwrap().data().unwrap();
    let ext = BtfExt::parse(ext_bytes, &btf).unwrap();
    assert_eq!(ext.record_sizes, [8, 16, 16]);
    for len in 0..ext_bytes.len() {
        assert!(
            BtfExt::parse(&ext_bytes[..len], &btf).is_err(),
            "prefix {len}"
        );
    }
    // Misaligned instruction offset in the first func_info record.
    let mut bad = ext_bytes.to_vec();
    let func_off = 32 + u32::from_le_bytes(bad[8..12].try_into().unwrap()) as usize;
    bad[func_off + 12] |= 3;
    let e = BtfExt::parse(&bad, &btf).unwrap_err();
    assert!(e.to_string().contains("not a multiple of 8"), "{e}");
    // A record size too small.
    let mut bad = ext_bytes.to_vec();
    bad[func_off..func_off + 4].copy_from_slice(&4u32.to_le_bytes());
    let e = BtfExt::parse(&bad, &btf).unwrap_err();
    assert!(e.to_string().contains("record size 4"), "{e}");
}
