//! The real-world corpus (`../shared/corpus/ebpf-samples`): every program of every object
//! outside `invalid/` is verified with its program type (from the section name, as libbpf
//! gives it) and the object's maps, as `userbpf verify` does; the accepted and rejected
//! counts are printed with each rejection's message, beside what PREVAIL decided
//! (`prevail-inventory.json`). Objects in `invalid/` must be rejected (or refused by the
//! loader). Skipped when the corpus is absent.
//!
//! `cargo test -p userbpf-verifier --test corpus -- --nocapture` shows the listing.
//!
//! Falco's `probe.o` calls `memset`, which clang emitted as a call of an undefined function
//! (`call -1` with a relocation against `memset`; the loader keeps it as an extern call):
//! those programs are rejected ("call to undefined function"), as libbpf (which cannot
//! resolve the relocation) and the kernel (which has no such function) would; PREVAIL's
//! inventory accepts them, but its current loader reports the same missing subprogram.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use userbpf_object::{classify, Object, ProgramSpec, ProgramType};
use userbpf_verifier::input::attach_type as at;
use userbpf_verifier::{verify, MapInfo, Options, ProgType, VerifierInput};

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus")
}

fn objects(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = rd.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            objects(&p, out);
        } else if p.extension().is_some_and(|e| e == "o") {
            out.push(p);
        }
    }
}

fn prog_type(p: &ProgramSpec, path: &str) -> ProgType {
    let t = if p.prog_type == ProgramType::Unspecified {
        let s = p.section.strip_prefix('?').unwrap_or(&p.section);
        match classify(s).prog_type {
            ProgramType::Unspecified => classify(&format!("{s}/")).prog_type,
            t => t,
        }
    } else {
        p.prog_type
    };
    match t {
        // As PREVAIL does for Cilium's objects, whose type is in the file name.
        ProgramType::Unspecified if path.contains("xdp") => ProgType::Xdp,
        ProgramType::SocketFilter => ProgType::SocketFilter,
        ProgramType::SchedCls | ProgramType::SchedAct => ProgType::SchedCls,
        ProgramType::Xdp => ProgType::Xdp,
        // Sections libbpf does not know (`filter`, `ingress`, `tail-3`): the old loaders
        // of these objects (tc, iproute2) attach them as classifiers.
        ProgramType::Unspecified => ProgType::SchedCls,
        other => ProgType::Other(other.id()),
    }
}

/// libbpf's expected attach type for the section names of the corpus.
fn attach_type(section: &str) -> u32 {
    match section {
        "cgroup_skb/egress" => at::CGROUP_INET_EGRESS,
        "cgroup/post_bind4" => at::CGROUP_INET4_POST_BIND,
        "cgroup/post_bind6" => at::CGROUP_INET6_POST_BIND,
        "cgroup/sock_release" => at::CGROUP_INET_SOCK_RELEASE,
        "cgroup/connect4" => at::CGROUP_INET4_CONNECT,
        "cgroup/connect6" => at::CGROUP_INET6_CONNECT,
        "cgroup/sendmsg4" => at::CGROUP_UDP4_SENDMSG,
        "cgroup/sendmsg6" => at::CGROUP_UDP6_SENDMSG,
        "cgroup/recvmsg4" => at::CGROUP_UDP4_RECVMSG,
        "cgroup/recvmsg6" => at::CGROUP_UDP6_RECVMSG,
        "cgroup/bind4" => at::CGROUP_INET4_BIND,
        "cgroup/bind6" => at::CGROUP_INET6_BIND,
        "cgroup/getpeername4" => at::CGROUP_INET4_GETPEERNAME,
        "cgroup/getpeername6" => at::CGROUP_INET6_GETPEERNAME,
        "cgroup/getsockname4" => at::CGROUP_INET4_GETSOCKNAME,
        "cgroup/getsockname6" => at::CGROUP_INET6_GETSOCKNAME,
        s if s.starts_with("fentry/") => at::TRACE_FENTRY,
        s if s.starts_with("fexit/") => at::TRACE_FEXIT,
        _ => 0,
    }
}

/// PREVAIL's verdict per (object file name, section): `true` when it accepts (a section
/// without a `test_overrides` entry), `false` when it rejects.
fn prevail(dir: &Path) -> BTreeMap<(String, String), bool> {
    let mut out = BTreeMap::new();
    let Ok(text) = std::fs::read_to_string(dir.join("prevail-inventory.json")) else {
        return out;
    };
    let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) else {
        return out;
    };
    let Some(projects) = v["projects"].as_object() else {
        return out;
    };
    for project in projects.values() {
        let Some(objs) = project["objects"].as_object() else {
            continue;
        };
        for (name, o) in objs {
            let overridden = o["test_overrides"]["sections"].as_object();
            if let Some(secs) = o["sections"].as_object() {
                for sec in secs.keys() {
                    let bad = overridden.is_some_and(|m| m.contains_key(sec));
                    out.insert((name.clone(), sec.clone()), !bad);
                }
            }
        }
    }
    out
}

/// The object's maps, then the inner-map templates of its maps of maps.
fn map_infos(object: &Object) -> Vec<MapInfo> {
    let info = |m: &userbpf_object::MapSpec| MapInfo {
        map_type: m.map_type,
        key_size: m.key_size,
        value_size: m.value_size,
        max_entries: m.max_entries,
        flags: m.map_flags,
        fd: None,
        inner_map: None,
    };
    let mut maps: Vec<MapInfo> = object.maps.iter().map(info).collect();
    for (i, m) in object.maps.iter().enumerate() {
        if let Some(inner) = &m.inner {
            maps[i].inner_map = Some(maps.len() as u32);
            maps.push(info(inner));
        }
    }
    maps
}

#[test]
fn corpus() {
    let dir = corpus_dir();
    let samples = dir.join("ebpf-samples");
    if !samples.exists() {
        eprintln!("corpus not found at {}: skipped", samples.display());
        return;
    }
    let prevail = prevail(&dir);
    let mut files = Vec::new();
    objects(&samples, &mut files);
    let (mut accepted, mut rejected, mut unloadable) = (0, 0, 0);
    let (mut prevail_ok_we_reject, mut invalid_accepted) = (Vec::new(), Vec::new());
    for f in &files {
        let invalid = f.components().any(|c| c.as_os_str() == "invalid");
        let rel = f.strip_prefix(&samples).unwrap_or(f).display().to_string();
        let bytes = std::fs::read(f).expect("read object");
        let object = match Object::parse(&bytes) {
            Ok(o) => o,
            Err(e) => {
                unloadable += 1;
                println!("LOAD  {rel}: {e}");
                continue;
            }
        };
        let maps = map_infos(&object);
        for p in &object.programs {
            let input = VerifierInput {
                program: &p.insns,
                prog_type: prog_type(p, &rel),
                maps: &maps,
                options: Options {
                    allow_uninit_stack: true,
                    expected_attach_type: attach_type(&p.section),
                    ..Options::default()
                },
            };
            let name = f.file_name().unwrap().to_string_lossy().into_owned();
            let pv = prevail.get(&(name, p.section.clone())).copied();
            match verify(&input) {
                Ok(_) => {
                    if invalid {
                        invalid_accepted.push(format!("{rel} {}", p.section));
                    } else {
                        accepted += 1;
                    }
                }
                Err(e) => {
                    if invalid {
                        continue;
                    }
                    rejected += 1;
                    let mark = match pv {
                        Some(true) => {
                            prevail_ok_we_reject.push(format!("{rel} {}", p.section));
                            "PREVAIL-accepts"
                        }
                        Some(false) => "PREVAIL-rejects",
                        None => "",
                    };
                    println!(
                        "REJ   {rel} {} ({:?}) insn {}: {} {mark}",
                        p.section, input.prog_type, e.insn, e.message
                    );
                }
            }
        }
    }
    println!(
        "corpus: {accepted} accepted, {rejected} rejected, {unloadable} objects not loadable; \
         {} rejected programs PREVAIL accepts",
        prevail_ok_we_reject.len()
    );
    assert!(
        invalid_accepted.is_empty(),
        "programs of invalid/ accepted: {invalid_accepted:?}"
    );
}
