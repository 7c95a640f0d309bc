//! Verifier inputs for the programs of a parsed object.
//!
//! Takes an [`Object`] (from `userbpf-object`) and one of its programs; gives what
//! [`crate::verify`] needs to check it the way the kernel would after libbpf loaded it: the
//! program type libbpf gives its section, the `expected_attach_type` libbpf sets, the object's
//! maps as [`MapInfo`] (inner-map templates of maps of maps appended), and the options of a
//! privileged (CAP_BPF + CAP_PERFMON) load. The CLI, the hooks and the tests share these.

use userbpf_object::{Object, ProgramSpec};

use crate::input::{map_type, MapInfo, Options, ProgType, VerifierInput};
use crate::VerifiedProgram;

/// The object's maps as the verifier sees them, then the inner-map templates of its maps of
/// maps (each outer map's `inner_map` pointing at its template). Read-only global data
/// (`.rodata`, `.rodata.*`) is given as frozen with its initial contents
/// ([`MapInfo::frozen`]), as libbpf freezes these maps before loading the programs: constant
/// loads from them become known values. The runtime does the same (`ObjectInstance::load`
/// freezes them right after filling them with these bytes, a pinned one must hold them, and
/// user-space writes then fail with `EPERM`), so the constants trusted here are the bytes
/// the programs read.
pub fn map_infos(object: &Object) -> Vec<MapInfo> {
    let info = |m: &userbpf_object::MapSpec| MapInfo {
        map_type: m.map_type,
        key_size: m.key_size,
        value_size: m.value_size,
        max_entries: m.max_entries,
        flags: m.map_flags,
        fd: None,
        inner_map: None,
        frozen: frozen_rodata(m),
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

/// The contents of a `.rodata` map, which libbpf freezes (read-only for programs, one
/// element, its initial data zero-padded to the value size); `None` for every other map,
/// and for read-only data holding addresses of other data sections (relocated per instance,
/// so the object's bytes are not the map's).
fn frozen_rodata(m: &userbpf_object::MapSpec) -> Option<std::sync::Arc<[u8]>> {
    use userbpf_object::{DataKind, MapOrigin};
    if m.origin != MapOrigin::Data(DataKind::Rodata)
        || !m.data_relocs.is_empty()
        || m.map_type != map_type::ARRAY
        || m.max_entries != 1
        || m.map_flags & crate::input::BPF_F_RDONLY_PROG == 0
        || m.data.len() > m.value_size as usize
    {
        return None;
    }
    let mut value = m.data.clone();
    value.resize(m.value_size as usize, 0);
    Some(value.into())
}

/// The options of a privileged load of `p`: uninitialised stack reads allowed (CAP_PERFMON),
/// the `expected_attach_type` of its section, the LSM hook kind of `lsm/NAME` sections
/// ([`Options::lsm_hook`]), and for the sections of userbpf's syscall hooks the enforcement
/// helpers ([`Options::syscall_hook`], see [`is_syscall_hook`]).
pub fn privileged_options(p: &ProgramSpec) -> Options {
    Options {
        allow_uninit_stack: true,
        expected_attach_type: expected_attach_type(&p.section),
        syscall_hook: is_syscall_hook(&p.section),
        lsm_hook: crate::lsm::section_hook(&p.section),
        ..Options::default()
    }
}

/// Whether a section attaches to one of userbpf's syscall hooks, where the ptrace hook can
/// make the syscall fail: `tracepoint/syscalls/sys_enter_NAME` or `sys_exit_NAME` (`tp/`
/// too), `raw_tracepoint/sys_enter` or `sys_exit` (`raw_tp/` too).
pub fn is_syscall_hook(section: &str) -> bool {
    let s = section.strip_prefix('?').unwrap_or(section);
    let tracepoint = ["tracepoint/syscalls/", "tp/syscalls/"]
        .iter()
        .filter_map(|prefix| s.strip_prefix(prefix))
        .any(|event| {
            ["sys_enter_", "sys_exit_"].iter().any(|side| {
                event
                    .strip_prefix(side)
                    .is_some_and(|name| !name.is_empty())
            })
        });
    let raw = ["raw_tracepoint/", "raw_tp/"]
        .iter()
        .filter_map(|prefix| s.strip_prefix(prefix))
        .any(|event| event == "sys_enter" || event == "sys_exit");
    tracepoint || raw
}

/// The verifier input for program `p` with the object's `maps` (see [`map_infos`]).
pub fn input_for<'a>(p: &'a ProgramSpec, maps: &'a [MapInfo]) -> VerifierInput<'a> {
    VerifierInput {
        program: &p.insns,
        prog_type: prog_type_of(p),
        maps,
        options: privileged_options(p),
    }
}

/// A program the verifier accepted, with the programs of its object tail calls may reach.
#[derive(Debug)]
pub struct VerifiedWithTargets {
    /// The verifier's result for the selected program.
    pub program: VerifiedProgram,
    /// The names of the object's programs a tail call may reach: the ones the verifier
    /// accepted (the selected one included). As in the kernel, where a rejected program is
    /// never loaded and so never sits in a program array, a slot naming any other program
    /// must behave as an empty slot (`PreparedProgram::limit_tail_call_targets` in the
    /// runtime). Only the selected program when the object has no program array.
    pub tail_call_targets: Vec<String>,
}

impl VerifiedWithTargets {
    /// Whether a tail call may reach program `name`.
    pub fn may_reach(&self, name: &str) -> bool {
        self.tail_call_targets.iter().any(|t| t == name)
    }
}

/// Verify program `name` of `object` for an engine that trusts the verifier (the JIT):
/// `Ok(Some(_))` when accepted, `Ok(None)` when `modelled` says its program type is not
/// checked here (or there is no such program), `Err` with the verifier's message when
/// rejected. With a program array in the object, every other program is verified too: the
/// ones accepted (of a type `modelled` accepts) are the valid tail-call targets, the others
/// are not (see [`VerifiedWithTargets::tail_call_targets`]).
///
/// # Errors
/// The verifier's message for the selected program, naming the instruction.
pub fn verify_with_tail_call_targets(
    object: &Object,
    name: &str,
    modelled: &dyn Fn(&ProgramSpec) -> bool,
) -> Result<Option<VerifiedWithTargets>, String> {
    let maps = map_infos(object);
    let verify_one = |p: &ProgramSpec| -> Result<Option<VerifiedProgram>, String> {
        if !modelled(p) {
            return Ok(None);
        }
        crate::verify(&input_for(p, &maps))
            .map(Some)
            .map_err(|e| format!("rejected at instruction {}: {}", e.insn, e.message))
    };
    let Some(p) = object.program(name) else {
        return Ok(None);
    };
    let Some(verified) = verify_one(p)? else {
        return Ok(None);
    };
    let mut tail_call_targets = vec![name.to_string()];
    if object
        .maps
        .iter()
        .any(|m| m.map_type == map_type::PROG_ARRAY)
    {
        for other in object.programs.iter().filter(|o| o.name != name) {
            if let Ok(Some(_)) = verify_one(other) {
                tail_call_targets.push(other.name.clone());
            }
        }
    }
    Ok(Some(VerifiedWithTargets {
        program: verified,
        tail_call_targets,
    }))
}

/// The program type libbpf gives the section: the loader's, or for names it leaves
/// unspecified, libbpf's rules that a leading `?` only disables auto-loading and that a
/// prefix such as `tracepoint`, `raw_tp` or `fentry` also matches without its `/TARGET`.
pub fn section_prog_type(p: &ProgramSpec) -> userbpf_object::ProgramType {
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

pub fn prog_type_of(p: &ProgramSpec) -> ProgType {
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
pub fn expected_attach_type(section: &str) -> u32 {
    use crate::input::attach_type as at;
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
        ("xdp/devmap", at::XDP_DEVMAP),
        ("xdp.frags/devmap", at::XDP_DEVMAP),
        ("xdp/cpumap", at::XDP_CPUMAP),
        ("xdp.frags/cpumap", at::XDP_CPUMAP),
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
