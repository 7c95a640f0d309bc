//! BTF against references nobody here wrote: `bpftool btf dump file` on clang-19-compiled
//! objects, every corpus object with a `.BTF` section, and the host kernel's BTF.

use std::path::{Path, PathBuf};
use std::process::Command;

use userbpf_object::btf::{parse_elf, Btf, Kind, TypeKind};

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/btf_src")
}

fn tool(candidates: &[&str]) -> Option<PathBuf> {
    candidates.iter().map(PathBuf::from).find(|p| {
        Command::new(p)
            .arg("--version")
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    })
}

/// Compiles every `btf_src/*.c` with clang-19; `None` (after printing why) when clang-19 is
/// missing.
fn compile_sources() -> Option<Vec<(String, PathBuf)>> {
    let clang = tool(&["clang-19", "/usr/bin/clang-19"]).or_else(|| {
        println!("skipped: clang-19 not found");
        None
    })?;
    let out_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("btf_src");
    std::fs::create_dir_all(&out_dir).unwrap();
    let mut sources: Vec<PathBuf> = std::fs::read_dir(src_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "c"))
        .collect();
    sources.sort();
    let mut objects = Vec::new();
    for src in sources {
        let stem = src.file_stem().unwrap().to_string_lossy().to_string();
        let obj = out_dir.join(format!("{stem}.o"));
        let status = Command::new(&clang)
            .args(["-g", "-O2", "-target", "bpf", "-c"])
            .arg(&src)
            .arg("-o")
            .arg(&obj)
            .status()
            .unwrap();
        assert!(status.success(), "clang-19 failed on {}", src.display());
        objects.push((stem, obj));
    }
    Some(objects)
}

#[test]
fn dump_matches_bpftool() {
    let Some(objects) = compile_sources() else {
        return;
    };
    let Some(bpftool) = tool(&["bpftool", "/usr/sbin/bpftool"]) else {
        println!("skipped: bpftool not found");
        return;
    };
    let mut types = 0;
    let mut lines = 0;
    for (name, obj) in &objects {
        let bytes = std::fs::read(obj).unwrap();
        let parsed = parse_elf(&bytes).unwrap().expect("object has .BTF");
        let ours = parsed.btf.dump_raw();
        let out = Command::new(&bpftool)
            .args(["btf", "dump", "file"])
            .arg(obj)
            .output()
            .unwrap();
        assert!(out.status.success(), "bpftool failed on {name}");
        let theirs = String::from_utf8(out.stdout).unwrap();
        let (a, b): (Vec<&str>, Vec<&str>) = (ours.lines().collect(), theirs.lines().collect());
        for (i, (x, y)) in a.iter().zip(&b).enumerate() {
            assert_eq!(x, y, "{name}.o: dump line {} differs", i + 1);
        }
        assert_eq!(a.len(), b.len(), "{name}.o: number of dump lines");
        types += parsed.btf.last_type_id();
        lines += a.len();
    }
    println!(
        "bpftool comparison: {} objects, {types} types, {lines} lines identical",
        objects.len()
    );
    assert!(objects.len() >= 4);
}

/// Every kind the brief lists appears in the compiled sources, so the comparison covers it.
#[test]
fn sources_cover_every_kind() {
    let Some(objects) = compile_sources() else {
        return;
    };
    let mut seen = std::collections::BTreeSet::new();
    let mut kflag_struct = false;
    for (_, obj) in &objects {
        let parsed = parse_elf(&std::fs::read(obj).unwrap()).unwrap().unwrap();
        for (_, t) in parsed.btf.iter() {
            seen.insert(t.kind());
            if let TypeKind::Struct {
                kind_flag: true, ..
            } = t.kind
            {
                kflag_struct = true;
            }
        }
    }
    for k in 1..=19u8 {
        let kind = Kind::from_number(k).unwrap();
        assert!(seen.contains(&kind), "no {kind} in the test sources");
    }
    assert!(kflag_struct, "no bitfield struct in the test sources");
}

fn corpus_objects(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            if p.file_name().is_some_and(|n| n == "invalid") {
                continue;
            }
            corpus_objects(&p, out);
        } else if p.extension().is_some_and(|e| e == "o") {
            out.push(p);
        }
    }
}

#[test]
fn corpus_btf_parses() {
    let root = Path::new(env!("USERBPF_SHARED")).join("corpus/ebpf-samples");
    let mut files = Vec::new();
    corpus_objects(&root, &mut files);
    if files.is_empty() {
        println!("skipped: corpus not found at {}", root.display());
        return;
    }
    files.sort();
    let (mut with_btf, mut with_ext, mut types, mut lines, mut relos) = (0, 0, 0, 0, 0);
    let mut failures = Vec::new();
    for f in &files {
        let bytes = std::fs::read(f).unwrap();
        let Ok(file) = object::File::parse(&*bytes) else {
            continue;
        };
        use object::Object;
        if file.section_by_name(".BTF").is_none() {
            continue;
        }
        with_btf += 1;
        match parse_elf(&bytes) {
            Ok(Some(parsed)) => {
                types += parsed.btf.last_type_id() as usize;
                // Every query must terminate without error on real BTF.
                for (id, t) in parsed.btf.iter() {
                    parsed.btf.resolve(id).unwrap();
                    let _ = parsed.btf.size_of(id);
                    let _ = parsed.btf.dump_type(id);
                    let _ = t.references();
                }
                if let Err(e) = parsed.btf.maps() {
                    failures.push(format!("{}: maps: {e}", f.display()));
                }
                if let Some(ext) = &parsed.ext {
                    with_ext += 1;
                    let (_, l, c) = ext.counts();
                    lines += l;
                    relos += c;
                }
            }
            Ok(None) => unreachable!(),
            Err(e) => failures.push(format!("{}: {e}", f.display())),
        }
    }
    println!(
        "corpus: {} objects, {with_btf} with .BTF, {} parsed ({with_ext} with .BTF.ext): \
         {types} types, {lines} line_info, {relos} CO-RE relocations",
        files.len(),
        with_btf - failures.len()
    );
    assert!(failures.is_empty(), "failures:\n{}", failures.join("\n"));
}

#[test]
fn host_vmlinux_btf() {
    let path = Path::new("/sys/kernel/btf/vmlinux");
    let Ok(bytes) = std::fs::read(path) else {
        println!("skipped: {} not readable", path.display());
        return;
    };
    let start = std::time::Instant::now();
    let btf = Btf::parse(&bytes).unwrap();
    let elapsed = start.elapsed();
    let task = btf
        .find_by_name(Kind::Struct, "task_struct")
        .expect("task_struct");
    let task_size = btf.size_of(task).unwrap();
    assert!(
        (1000..100_000).contains(&task_size),
        "task_struct size {task_size}"
    );
    let pid = btf.member(task, "pid").unwrap().expect("task_struct.pid");
    assert_eq!(btf.size_of(pid.type_id).unwrap(), 4);
    let xdp = btf.find_by_name(Kind::Struct, "xdp_md").expect("xdp_md");
    assert_eq!(btf.size_of(xdp).unwrap(), 24);
    let data_end = btf.member(xdp, "data_end").unwrap().unwrap();
    assert_eq!(data_end.byte_offset(), 4);
    let skb = btf
        .find_by_name(Kind::Struct, "__sk_buff")
        .expect("__sk_buff");
    assert!(btf.size_of(skb).unwrap() >= 180);
    // Every type resolves and sizes without error or hang.
    let mut sized = 0;
    for (id, _) in btf.iter() {
        btf.resolve(id).unwrap();
        if btf.size_of(id).is_ok() {
            sized += 1;
        }
    }
    let dump = btf.dump_raw();
    println!(
        "vmlinux: {} types ({sized} with a size), task_struct size {task_size}, parsed in {elapsed:?}, dump {} lines",
        btf.last_type_id(),
        dump.lines().count()
    );
    if let Some(bpftool) = tool(&["bpftool", "/usr/sbin/bpftool"]) {
        let out = Command::new(bpftool)
            .args(["btf", "dump", "file"])
            .arg(path)
            .output()
            .unwrap();
        if out.status.success() {
            let theirs = String::from_utf8_lossy(&out.stdout);
            for (i, (x, y)) in dump.lines().zip(theirs.lines()).enumerate() {
                assert_eq!(x, y, "vmlinux dump line {} differs", i + 1);
            }
            assert_eq!(dump.lines().count(), theirs.lines().count());
            println!("vmlinux: dump identical to bpftool's");
        }
    }
}
