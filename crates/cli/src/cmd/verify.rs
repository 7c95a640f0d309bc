//! `userbpf verify OBJ [--program NAME] [--json] [--log-level 0|1|2]`: run the verifier.
//!
//! Each selected program of the object is verified with its program type and the object's
//! map definitions. Text output: the verdict, and for a rejection the kernel-style message,
//! the instruction, the C source line (from BTF line info), the registers involved and a hint.
//! `--json`: one object per program per line, in the form DESIGN.md fixes. Exit 0 when every
//! selected program is accepted, 1 when some are rejected, 2 for load or usage errors.

use std::path::Path;
use std::time::Instant;

use anyhow::anyhow;
use serde_json::json;
use userbpf_object::{Object, ProgramSpec};
use userbpf_verifier::{verify, MapInfo, Options, ProgType, VerifierInput};

use super::read_file;
use crate::{CmdResult, Failure};

/// The program type libbpf gives the section: the loader's, or for names it leaves
/// unspecified, libbpf's rules that a leading `?` only disables auto-loading and that a
/// prefix such as `tracepoint`, `raw_tp` or `fentry` also matches without its `/TARGET`.
fn section_prog_type(p: &ProgramSpec) -> userbpf_object::ProgramType {
    use userbpf_object::{classify, ProgramType as P};
    if p.prog_type != P::Unspecified {
        return p.prog_type;
    }
    let s = p.section.strip_prefix('?').unwrap_or(&p.section);
    match classify(s).prog_type {
        P::Unspecified => classify(&format!("{s}/")).prog_type,
        t => t,
    }
}

fn prog_type_of(p: &ProgramSpec) -> ProgType {
    use userbpf_object::ProgramType as P;
    match section_prog_type(p) {
        P::SocketFilter => ProgType::SocketFilter,
        P::SchedCls | P::SchedAct => ProgType::SchedCls,
        P::Xdp => ProgType::Xdp,
        other => ProgType::Other(other.id()),
    }
}

/// The `expected_attach_type` libbpf sets for a section name (its `section_defs` table; a
/// leading `?` only disables auto-loading).
fn expected_attach_type(section: &str) -> u32 {
    use userbpf_verifier::input::attach_type as at;
    let s = section.strip_prefix('?').unwrap_or(section);
    const EXACT: &[(&str, u32)] = &[
        ("cgroup_skb/ingress", at::CGROUP_INET_INGRESS),
        ("cgroup_skb/egress", at::CGROUP_INET_EGRESS),
        ("cgroup/sock_create", at::CGROUP_INET_SOCK_CREATE),
        ("cgroup/sock_release", at::CGROUP_INET_SOCK_RELEASE),
        ("cgroup/sock", at::CGROUP_INET_SOCK_CREATE),
        ("cgroup/post_bind4", at::CGROUP_INET4_POST_BIND),
        ("cgroup/post_bind6", at::CGROUP_INET6_POST_BIND),
        ("cgroup/bind4", at::CGROUP_INET4_BIND),
        ("cgroup/bind6", at::CGROUP_INET6_BIND),
        ("cgroup/connect4", at::CGROUP_INET4_CONNECT),
        ("cgroup/connect6", at::CGROUP_INET6_CONNECT),
        ("cgroup/connect_unix", at::CGROUP_UNIX_CONNECT),
        ("cgroup/sendmsg4", at::CGROUP_UDP4_SENDMSG),
        ("cgroup/sendmsg6", at::CGROUP_UDP6_SENDMSG),
        ("cgroup/sendmsg_unix", at::CGROUP_UNIX_SENDMSG),
        ("cgroup/recvmsg4", at::CGROUP_UDP4_RECVMSG),
        ("cgroup/recvmsg6", at::CGROUP_UDP6_RECVMSG),
        ("cgroup/recvmsg_unix", at::CGROUP_UNIX_RECVMSG),
        ("cgroup/getpeername4", at::CGROUP_INET4_GETPEERNAME),
        ("cgroup/getpeername6", at::CGROUP_INET6_GETPEERNAME),
        ("cgroup/getpeername_unix", at::CGROUP_UNIX_GETPEERNAME),
        ("cgroup/getsockname4", at::CGROUP_INET4_GETSOCKNAME),
        ("cgroup/getsockname6", at::CGROUP_INET6_GETSOCKNAME),
        ("cgroup/getsockname_unix", at::CGROUP_UNIX_GETSOCKNAME),
        ("cgroup/sysctl", at::CGROUP_SYSCTL),
        ("cgroup/getsockopt", at::CGROUP_GETSOCKOPT),
        ("cgroup/setsockopt", at::CGROUP_SETSOCKOPT),
        ("cgroup/dev", at::CGROUP_DEVICE),
        ("sockops", at::CGROUP_SOCK_OPS),
        ("sk_skb/stream_parser", at::SK_SKB_STREAM_PARSER),
        ("sk_skb/stream_verdict", at::SK_SKB_STREAM_VERDICT),
        ("sk_msg", at::SK_MSG_VERDICT),
        ("flow_dissector", at::FLOW_DISSECTOR),
        ("sk_lookup", at::SK_LOOKUP),
        ("netfilter", at::NETFILTER),
        ("tcx/ingress", at::TCX_INGRESS),
        ("tcx/egress", at::TCX_EGRESS),
        ("xdp", at::XDP),
    ];
    const PREFIX: &[(&str, u32)] = &[
        ("fentry/", at::TRACE_FENTRY),
        ("fentry.s/", at::TRACE_FENTRY),
        ("fexit/", at::TRACE_FEXIT),
        ("fexit.s/", at::TRACE_FEXIT),
        ("fmod_ret/", at::MODIFY_RETURN),
        ("fmod_ret.s/", at::MODIFY_RETURN),
        ("tp_btf/", at::TRACE_RAW_TP),
        ("iter/", at::TRACE_ITER),
        ("iter.s/", at::TRACE_ITER),
        ("lsm/", at::LSM_MAC),
        ("lsm.s/", at::LSM_MAC),
        ("lsm_cgroup/", at::LSM_CGROUP),
        ("xdp/", at::XDP),
        ("xdp.frags", at::XDP),
    ];
    if let Some(&(_, t)) = EXACT.iter().find(|(n, _)| *n == s) {
        return t;
    }
    PREFIX
        .iter()
        .find(|(p, _)| s.starts_with(p))
        .map_or(0, |&(_, t)| t)
}

fn source_line(object: &Object, p: &ProgramSpec, insn: usize) -> Option<String> {
    object.line_info(p, insn).map(|l| {
        let file = Path::new(&l.file_name)
            .file_name()
            .map_or(l.file_name.clone(), |f| f.to_string_lossy().into_owned());
        format!("{file}:{}: {}", l.line, l.line_text.trim())
    })
}

pub fn run(file: &Path, program: Option<&str>, as_json: bool, log_level: u32) -> CmdResult {
    let bytes = read_file(file)?;
    let object =
        Object::parse(&bytes).map_err(|e| Failure::input(anyhow!("{}: {e}", file.display())))?;
    let selected: Vec<&ProgramSpec> = object
        .programs
        .iter()
        .filter(|p| program.is_none_or(|n| n == p.name || n == p.section))
        .collect();
    if selected.is_empty() {
        return Err(Failure::input(match program {
            Some(n) => anyhow!("{}: no program named {n}", file.display()),
            None => anyhow!("{}: no programs", file.display()),
        }));
    }
    // The object's maps, then the inner-map templates of its maps of maps.
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
    let mut rejected = 0;
    for p in selected {
        let input = VerifierInput {
            program: &p.insns,
            prog_type: prog_type_of(p),
            maps: &maps,
            options: Options {
                log_level,
                // Privileged loading (CAP_BPF + CAP_PERFMON), as the kernel's selftests and
                // most loaders run: uninitialised stack reads give unknown scalars.
                allow_uninit_stack: true,
                expected_attach_type: expected_attach_type(&p.section),
                ..Options::default()
            },
        };
        let start = Instant::now();
        let result = verify(&input);
        let duration_us = start.elapsed().as_secs_f64() * 1e6;
        let prog_type = section_prog_type(p).name();
        match result {
            Ok(v) => {
                if as_json {
                    println!(
                        "{}",
                        json!({
                            "program": p.name, "section": p.section, "prog_type": prog_type,
                            "verdict": "accepted", "error": null, "insn": null, "line": null,
                            "log": v.log, "processed_insns": v.processed_insns,
                            "duration_us": duration_us,
                        })
                    );
                } else {
                    if log_level > 0 {
                        print!("{}", v.log);
                    }
                    println!(
                        "{}: accepted ({} instructions processed, {:.0} us)",
                        p.name, v.processed_insns, duration_us
                    );
                }
            }
            Err(mut e) => {
                rejected += 1;
                // Name the undefined function the loader kept as an extern call.
                if let Some(x) = p.extern_calls.iter().find(|x| x.slot == e.insn) {
                    if e.message.starts_with("call to undefined function") {
                        e.message = format!("call to undefined function '{}'", x.name);
                    }
                }
                let line = source_line(&object, p, e.insn);
                if as_json {
                    println!(
                        "{}",
                        json!({
                            "program": p.name, "section": p.section, "prog_type": prog_type,
                            "verdict": "rejected", "error": e.message, "insn": e.insn,
                            "line": line, "log": e.log, "processed_insns": e.processed,
                            "duration_us": duration_us,
                        })
                    );
                } else {
                    if log_level > 0 {
                        print!("{}", e.log);
                    }
                    println!(
                        "{}: rejected at instruction {}: {}",
                        p.name, e.insn, e.message
                    );
                    if let Some(l) = &line {
                        println!("  source: {l}");
                    }
                    for (reg, state) in &e.regs {
                        println!("  {reg} = {state}");
                    }
                    if let Some(h) = &e.hint {
                        println!("  hint: {h}");
                    }
                }
            }
        }
    }
    if rejected > 0 {
        return Err(Failure::rejected(rejected));
    }
    Ok(())
}
