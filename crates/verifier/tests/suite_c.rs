//! The verifier suite in C, in the style of the kernel's `selftests/bpf/progs/verifier_*.c`.
//!
//! Takes the C files of `tests/suite_c/` (one file per rule, each case a program, mostly a
//! `__naked` function of inline asm, annotated with the macros of `suite_c/suite.h`); gives
//! a pass or a list of failures, and prints totals and the listed differences.
//!
//! 1. Every file is compiled with `clang-19 -O2 -g -target bpf -mcpu=v3` (all at once, in
//!    parallel); without clang-19 the test prints "skipped: clang-19 not found".
//! 2. The expectations are read back from the object's BTF: `DECL_TAG` records named
//!    `suite:success`, `suite:failure`, `suite:msg=TEXT`, `suite:kernel_differs=WHY` and
//!    `suite:userbpf_differs=WHY` on the program's `FUNC`. Every program needs exactly one
//!    of `__success` / `__failure`.
//! 3. Ours: the object is parsed with `userbpf_object::Object::parse` and each program is
//!    verified with its section's program type through `userbpf_verifier::object_input`
//!    (as `userbpf verify` does). Our verdict must equal the expectation and our message
//!    must contain every `__msg`, unless the case is marked `__userbpf_differs` (a known bug
//!    of ours, listed), in which case our verdict must be the other one. Files whose
//!    programs the loader refuses to link are taken function by function from their
//!    sections instead, without relocations (a jump out of range or into an `lddw` no
//!    longer makes the loader refuse: it keeps such a program for the verifier).
//! 4. The kernel, where `bpf()` works: each program is loaded alone with
//!    `userbpf_kernel::load_object` (its maps created for real, `BPF_PROG_LOAD` with the
//!    section's type). Its verdict must equal the expectation, unless the case is marked
//!    `__kernel_differs` (listed with the reason), in which case it must be the other one.
//!
//! `SUITE_C_VERBOSE=1` prints one line per case; `SUITE_C_FILTER=text` keeps the cases whose
//! file or name contains `text`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Instant;

use userbpf_isa::{CallTarget, Insn, LdImm64Kind, Program};
use userbpf_kernel::{load_object, KernelLoadError, LoadOptions};
use userbpf_object::btf::{parse_elf, TypeKind};
use userbpf_object::{classify, program_sections, Object, ProgramSpec, ProgramType};
use userbpf_verifier::object_input::{
    expected_attach_type, input_for, map_infos, section_prog_type,
};
use userbpf_verifier::{verify, Options, ProgType, VerifierInput};

const CLANG: &str = "clang-19";

/// What one program (a case) is expected to do.
#[derive(Debug, Default)]
struct Case {
    accept: Option<bool>,
    msgs: Vec<String>,
    kernel_differs: Option<String>,
    userbpf_differs: Option<String>,
}

/// A verifier's answer: accepted, or rejected with a message.
type Verdict = Result<(), String>;

fn suite_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/suite_c")
}

fn clang_available() -> bool {
    Command::new(CLANG)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Compile every file at once; `(source, object)` pairs, or the first compiler error.
fn compile_all(sources: &[PathBuf], out_dir: &Path) -> Result<Vec<(PathBuf, PathBuf)>, String> {
    std::fs::create_dir_all(out_dir).map_err(|e| format!("{}: {e}", out_dir.display()))?;
    let include = suite_dir();
    let mut jobs: Vec<(PathBuf, PathBuf, Child)> = Vec::new();
    for src in sources {
        let stem = src.file_stem().unwrap_or_default().to_string_lossy();
        let obj = out_dir.join(format!("{stem}.o"));
        let child = Command::new(CLANG)
            .args(["-O2", "-g", "-target", "bpf", "-mcpu=v3", "-c"])
            .arg("-I")
            .arg(&include)
            .arg(src)
            .arg("-o")
            .arg(&obj)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("{CLANG} {}: {e}", src.display()))?;
        jobs.push((src.clone(), obj, child));
    }
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (src, obj, child) in jobs {
        match child.wait_with_output() {
            Ok(o) if o.status.success() => out.push((src, obj)),
            Ok(o) => errors.push(format!(
                "{}:\n{}",
                src.display(),
                String::from_utf8_lossy(&o.stderr)
            )),
            Err(e) => errors.push(format!("{}: {e}", src.display())),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors.join("\n"))
    }
}

/// The cases of one object, by function name, from its BTF decl tags.
fn read_cases(file: &str, bytes: &[u8]) -> Result<BTreeMap<String, Case>, String> {
    let btf = parse_elf(bytes)
        .map_err(|e| format!("{file}: BTF: {e}"))?
        .ok_or_else(|| format!("{file}: no .BTF (compiled without -g?)"))?
        .btf;
    let mut cases: BTreeMap<String, Case> = BTreeMap::new();
    for (_, ty) in btf.iter() {
        let TypeKind::DeclTag {
            type_id,
            component_idx: -1,
            ..
        } = ty.kind
        else {
            continue;
        };
        let Some(tag) = ty.name.strip_prefix("suite:") else {
            continue;
        };
        let target = btf
            .type_by_id(type_id)
            .map_err(|e| format!("{file}: decl tag {tag}: {e}"))?;
        if !matches!(target.kind, TypeKind::Func { .. }) {
            return Err(format!("{file}: tag {tag} is not on a function"));
        }
        let case = cases.entry(target.name.clone()).or_default();
        let (key, value) = tag.split_once('=').unwrap_or((tag, ""));
        let twice = |what: &str| format!("{file}: {}: {what} given twice", target.name);
        match key {
            "success" | "failure" => {
                if case.accept.replace(key == "success").is_some() {
                    return Err(twice("__success/__failure"));
                }
            }
            "msg" => case.msgs.push(value.to_string()),
            "kernel_differs" => {
                if case.kernel_differs.replace(value.to_string()).is_some() {
                    return Err(twice("__kernel_differs"));
                }
            }
            "userbpf_differs" => {
                if case.userbpf_differs.replace(value.to_string()).is_some() {
                    return Err(twice("__userbpf_differs"));
                }
            }
            other => return Err(format!("{file}: {}: unknown tag {other}", target.name)),
        }
    }
    Ok(cases)
}

/// The last line of a kernel log that says something (not the statistics).
fn kernel_message(log: &str) -> String {
    log.lines()
        .rev()
        .map(str::trim)
        .find(|l| {
            !l.is_empty()
                && !l.starts_with("processed ")
                && !l.starts_with("verification time")
                && !l.starts_with("stack depth")
                && !l.starts_with("-- END PROG LOAD LOG --")
        })
        .unwrap_or("")
        // The statistics line sometimes follows the message without a line break.
        .split("processed ")
        .next()
        .unwrap_or("")
        .to_string()
}

/// The start of the message our verdict carries when the verifier panicked.
const PANICKED: &str = "verifier panicked: ";

/// Our verifier's verdict; a panic becomes a rejection whose message starts with
/// [`PANICKED`], which no expectation accepts (see [`Report::ours`]).
fn our_verdict(input: &VerifierInput<'_>) -> Verdict {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| verify(input))) {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(format!("insn {}: {}", e.insn, e.message)),
        Err(payload) => {
            let what = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            Err(format!("{PANICKED}{what}"))
        }
    }
}

/// Program name and verdicts (ours, the kernel's) of every program of an
/// object the loader accepts.
fn run_object(
    object: &Object,
    kernel: bool,
) -> Result<Vec<(String, Verdict, Option<Verdict>)>, String> {
    let maps = map_infos(object);
    let mut out = Vec::new();
    for p in &object.programs {
        let ours = our_verdict(&input_for(p, &maps));
        let theirs = if kernel {
            Some(kernel_verdict(object, p)?)
        } else {
            None
        };
        out.push((p.name.clone(), ours, theirs));
    }
    Ok(out)
}

/// The kernel's verdict on program `p` of `object`, loaded alone: through `load_object`
/// (maps created, BTF and `func_info` loaded), or, for sections whose
/// `expected_attach_type` `load_object` does not set (it sets only BPF_XDP), directly with
/// `BPF_PROG_LOAD` and that attach type; such programs may not use maps.
fn kernel_verdict(object: &Object, p: &ProgramSpec) -> Result<Verdict, String> {
    let eat = expected_attach_type(&p.section);
    let pt = section_prog_type(p);
    // load_object gives xdp programs BPF_XDP; devmap and cpumap programs need theirs.
    if eat != 0 && (pt != ProgramType::Xdp || eat != userbpf_verifier::input::attach_type::XDP) {
        let uses_maps = p.insns.insns().iter().any(|i| {
            matches!(i, Insn::LdImm64 { kind, .. } if *kind != LdImm64Kind::Imm && *kind != LdImm64Kind::Func)
        });
        if uses_maps {
            return Err(format!(
                "{}: section {} needs an expected_attach_type, which load_object does not set, \
                 and the program uses maps",
                p.name, p.section
            ));
        }
        let opts = LoadOptions {
            expected_attach_type: eat,
            name: p.name.clone(),
            ..LoadOptions::default()
        };
        let license = object.license.as_deref().unwrap_or("GPL");
        return Ok(
            userbpf_kernel::prog_load_with(pt.id(), &p.code, license, &opts)
                .map(drop)
                .map_err(|e| e.log),
        );
    }
    let mut alone = object.clone();
    alone.programs.retain(|q| q.name == p.name);
    match load_object(&alone) {
        Ok(_) => Ok(Ok(())),
        Err(KernelLoadError::ProgLoad { failure, .. }) => Ok(Err(failure.log)),
        Err(e) => Err(format!("{}: kernel: {e}", p.name)),
    }
}

/// The same for an object whose programs the loader refuses to link: each function of
/// each program section on its own, as raw bytes. Only self-contained functions (no map
/// references, no calls of other functions) can be checked this way.
fn run_sections(
    bytes: &[u8],
    kernel: bool,
) -> Result<Vec<(String, Verdict, Option<Verdict>)>, String> {
    let sections = program_sections(bytes).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for s in sections.iter().filter(|s| s.name != ".text") {
        let info = classify(&s.name);
        let pt = ProgType::from_kernel_id(info.prog_type.id());
        let eat = expected_attach_type(&s.name);
        for f in &s.functions {
            let code = s
                .code
                .get(f.slot * 8..(f.slot + f.slots) * 8)
                .ok_or_else(|| format!("{}: function {} outside its section", s.name, f.name))?;
            let program =
                Program::decode_unchecked_targets(code).map_err(|e| format!("{}: {e}", f.name))?;
            let linked = program.insns().iter().any(|i| match i {
                Insn::LdImm64 { kind, .. } => *kind != LdImm64Kind::Imm,
                Insn::Call(target) => !matches!(target, CallTarget::Helper(_)),
                _ => false,
            });
            if linked {
                return Err(format!(
                    "{}: refers to maps or functions, which need the loader",
                    f.name
                ));
            }
            let input = VerifierInput {
                program: &program,
                prog_type: pt,
                maps: &[],
                options: Options {
                    allow_uninit_stack: true,
                    expected_attach_type: eat,
                    ..Options::default()
                },
            };
            let ours = our_verdict(&input);
            let theirs = kernel.then(|| {
                let opts = LoadOptions {
                    expected_attach_type: eat,
                    name: f.name.clone(),
                    ..LoadOptions::default()
                };
                userbpf_kernel::prog_load_with(pt.kernel_id(), code, "GPL", &opts)
                    .map(drop)
                    .map_err(|e| e.log)
            });
            out.push((f.name.clone(), ours, theirs));
        }
    }
    Ok(out)
}

fn verdict_word(v: &Verdict) -> &'static str {
    if v.is_ok() {
        "accepted"
    } else {
        "rejected"
    }
}

/// `": message"` for a rejection, nothing for an acceptance.
fn colon_message(message: &str) -> String {
    if message.is_empty() {
        String::new()
    } else {
        format!(": {message}")
    }
}

/// What the cases gave: counts, the listed differences and the failures.
#[derive(Default)]
struct Report {
    cases: usize,
    expect_accept: usize,
    expect_reject: usize,
    ours_agree: usize,
    kernel_checked: usize,
    kernel_agree: usize,
    kernel_msgs: usize,
    kernel_msgs_found: usize,
    kernel_diffs: Vec<String>,
    our_diffs: Vec<String>,
    msg_diffs: Vec<String>,
    failures: Vec<String>,
}

impl Report {
    /// Check our verdict on case `id` against its expectation.
    fn ours(&mut self, id: &str, case: &Case, accept: bool, ours: &Verdict) {
        let expected = if accept { "accept" } else { "reject" };
        let word = verdict_word(ours);
        let message = colon_message(ours.as_ref().err().map_or("", String::as_str));
        let panicked = ours.as_ref().is_err_and(|m| m.starts_with(PANICKED));
        match (&case.userbpf_differs, ours) {
            (Some(why), _) if panicked => self.our_diffs.push(format!(
                "{id}: expected {expected}, userbpf panicked ({why}){message}"
            )),
            (None, _) if panicked => self
                .failures
                .push(format!("{id}: expected {expected}, userbpf{message}")),
            (Some(why), v) if v.is_ok() != accept => self.our_diffs.push(format!(
                "{id}: expected {expected}, userbpf {word} ({why}){message}"
            )),
            (Some(_), _) => self.failures.push(format!(
                "{id}: userbpf now gives the expected verdict; remove __userbpf_differs"
            )),
            (None, Ok(())) if accept => self.ours_agree += 1,
            (None, Err(m)) if !accept => {
                let missing: Vec<&String> = case
                    .msgs
                    .iter()
                    .filter(|w| !m.contains(w.as_str()))
                    .collect();
                if missing.is_empty() {
                    self.ours_agree += 1;
                } else {
                    self.failures
                        .push(format!("{id}: our message '{m}' lacks {missing:?}"));
                }
            }
            (None, _) => self.failures.push(format!(
                "{id}: expected {expected}, userbpf {word}{message}"
            )),
        }
    }

    /// Check the kernel's verdict on case `id` against its expectation; count the expected
    /// messages its log contains.
    fn kernel(&mut self, id: &str, case: &Case, accept: bool, theirs: &Verdict) {
        self.kernel_checked += 1;
        let expected = if accept { "accept" } else { "reject" };
        let word = verdict_word(theirs);
        let last = theirs.as_ref().err().map(|log| kernel_message(log));
        let message = colon_message(last.as_deref().unwrap_or(""));
        if let Err(log) = theirs {
            if !accept && case.kernel_differs.is_none() {
                self.kernel_msgs += case.msgs.len();
                for m in &case.msgs {
                    if log.contains(m.as_str()) {
                        self.kernel_msgs_found += 1;
                    } else {
                        self.msg_diffs.push(format!("{id}: '{m}'; kernel{message}"));
                    }
                }
            }
        }
        match &case.kernel_differs {
            Some(why) if theirs.is_ok() != accept => self.kernel_diffs.push(format!(
                "{id}: expected {expected}, kernel {word} ({why}){message}"
            )),
            Some(_) => self.failures.push(format!(
                "{id}: the kernel now gives the expected verdict; remove __kernel_differs"
            )),
            None if theirs.is_ok() == accept => self.kernel_agree += 1,
            None => self
                .failures
                .push(format!("{id}: expected {expected}, kernel {word}{message}")),
        }
    }

    fn print(&self, files: usize, kernel: bool) {
        println!(
            "suite_c: {} cases in {files} files ({} expected accepted, {} expected rejected)",
            self.cases, self.expect_accept, self.expect_reject
        );
        println!(
            "userbpf: {} of {} as expected, {} known differences (__userbpf_differs)",
            self.ours_agree,
            self.cases,
            self.our_diffs.len()
        );
        if kernel {
            println!(
                "kernel: {} of {} loaded as expected, {} listed differences (__kernel_differs); \
                 expected messages found in the kernel's log: {} of {}",
                self.kernel_agree,
                self.kernel_checked,
                self.kernel_diffs.len(),
                self.kernel_msgs_found,
                self.kernel_msgs
            );
        }
        let lists = [
            (
                "differences of the kernel from the expectation:",
                &self.kernel_diffs,
            ),
            (
                "expected messages (ours) missing from the kernel's log (same verdict):",
                &self.msg_diffs,
            ),
            (
                "known differences of userbpf from the expectation (bugs to fix):",
                &self.our_diffs,
            ),
        ];
        for (title, list) in lists {
            if !list.is_empty() {
                println!("{title}");
                for line in list {
                    println!("  {line}");
                }
            }
        }
    }
}

#[test]
fn suite_c() {
    if !clang_available() {
        println!("skipped: {CLANG} not found");
        return;
    }
    let start = Instant::now();
    let filter = std::env::var("SUITE_C_FILTER").unwrap_or_default();
    let verbose = std::env::var_os("SUITE_C_VERBOSE").is_some();
    let mut sources: Vec<PathBuf> = std::fs::read_dir(suite_dir())
        .expect("tests/suite_c exists")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "c"))
        .collect();
    sources.sort();
    // One directory per run, so that concurrent runs do not write the same objects.
    let out_dir =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("suite_c-{}", std::process::id()));
    let objects = compile_all(&sources, &out_dir).unwrap_or_else(|e| panic!("compiling:\n{e}"));
    let compiled = start.elapsed();
    let kernel = match userbpf_kernel::available() {
        Ok(()) => true,
        Err(why) => {
            println!("skipped: {why} (kernel comparison)");
            false
        }
    };

    let mut r = Report::default();
    for (src, obj) in &objects {
        let file = src
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .to_string();
        let bytes = std::fs::read(obj).unwrap_or_else(|e| panic!("{}: {e}", obj.display()));
        let mut cases = read_cases(&file, &bytes).unwrap_or_else(|e| panic!("{e}"));
        let results = match Object::parse(&bytes) {
            Ok(object) => run_object(&object, kernel),
            Err(why) => {
                println!("{file}: the loader refuses the object ({why}); checking its functions one by one");
                run_sections(&bytes, kernel)
            }
        }
        .unwrap_or_else(|e| panic!("{file}: {e}"));
        for (name, ours, theirs) in results {
            let id = format!("{file}: {name}");
            let Some(case) = cases.remove(&name) else {
                r.failures
                    .push(format!("{id}: program without __success/__failure"));
                continue;
            };
            if !id.contains(&filter) {
                continue;
            }
            let Some(accept) = case.accept else {
                r.failures
                    .push(format!("{id}: neither __success nor __failure"));
                continue;
            };
            r.cases += 1;
            if accept {
                r.expect_accept += 1;
            } else {
                r.expect_reject += 1;
            }
            r.ours(&id, &case, accept, &ours);
            if let Some(k) = &theirs {
                r.kernel(&id, &case, accept, k);
            }
            if verbose {
                println!(
                    "{id:60} expect {:6} ours {:8} kernel {:8} {}{}",
                    if accept { "accept" } else { "reject" },
                    verdict_word(&ours),
                    theirs.as_ref().map_or("-", verdict_word),
                    ours.as_ref().err().cloned().unwrap_or_default(),
                    theirs
                        .as_ref()
                        .and_then(|k| k.as_ref().err())
                        .map(|log| format!("  | kernel: {}", kernel_message(log)))
                        .unwrap_or_default()
                );
            }
        }
        for name in cases.keys() {
            r.failures.push(format!(
                "{file}: {name}: annotated but not a program of the object"
            ));
        }
    }
    // Best effort: a directory left behind is only disk space in the target directory.
    let _ = std::fs::remove_dir_all(&out_dir);
    r.print(objects.len(), kernel);
    println!(
        "compiled in {:.1} s, total {:.1} s",
        compiled.as_secs_f64(),
        start.elapsed().as_secs_f64()
    );
    assert!(
        r.failures.is_empty(),
        "{} failures:\n{}",
        r.failures.len(),
        r.failures.join("\n")
    );
}
