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
//! (`call -1` with a relocation against `memset`): the loader makes it a call of the userbpf
//! built-in (`userbpf_verifier::builtins`), checked like a helper, as PREVAIL accepts it;
//! libbpf (which cannot resolve the relocation) and the kernel could not load the object.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use userbpf_object::{Object, ProgramSpec, ProgramType};
use userbpf_verifier::btf_ctx::BtfCtx;
use userbpf_verifier::object_input;
use userbpf_verifier::{verify_with_btf, Options, ProgType, VerifierInput};

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
    let t = object_input::section_prog_type(p);
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
    let host = userbpf_object::core_relo::host_btf()
        .map(std::sync::Arc::new)
        .map_err(|e| println!("no host BTF, tracing contexts untyped: {e}"))
        .ok();
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
        // .rodata frozen, as libbpf (and userbpf's runtime) freezes it.
        let maps = object_input::map_infos(&object);
        for p in &object.programs {
            let input = VerifierInput {
                program: &p.insns,
                prog_type: prog_type(p, &rel),
                maps: &maps,
                options: Options {
                    allow_uninit_stack: true,
                    expected_attach_type: object_input::expected_attach_type(&p.section),
                    ..Options::default()
                },
            };
            let name = f.file_name().unwrap().to_string_lossy().into_owned();
            let pv = prevail.get(&(name, p.section.clone())).copied();
            // Tracing and LSM programs: contexts typed by the host's vmlinux, as userbpf
            // verify types them (without it, their context reads are refused).
            let typed = host
                .as_ref()
                .and_then(|b| BtfCtx::for_section(b.clone(), &p.section))
                .and_then(Result::ok);
            match verify_with_btf(&input, typed.as_ref()) {
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
