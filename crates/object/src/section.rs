//! Program types and attach targets from section names, following libbpf's conventions.
//!
//! Takes an ELF section name (`xdp`, `tracepoint/syscalls/sys_enter_openat`,
//! `uprobe/libc.so.6:malloc+4`, `2/16`, ...); gives the kernel program type
//! ([`ProgramType`], numbered as `enum bpf_prog_type`) and the parsed [`AttachTarget`].
//! Names libbpf does not know are kept as [`ProgramType::Unspecified`], not an error. As older
//! libbpf did, a known name followed by more characters (`xdp_prog`, `socket1`) also matches,
//! so the objects of the kernel-4.x era keep their types.

use std::fmt;

/// The kernel's program types (`enum bpf_prog_type`).
#[allow(missing_docs)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum ProgramType {
    Unspecified = 0,
    #[doc(alias = "BPF_PROG_TYPE_SOCKET_FILTER")]
    SocketFilter = 1,
    #[doc(alias = "BPF_PROG_TYPE_KPROBE")]
    Kprobe = 2,
    #[doc(alias = "BPF_PROG_TYPE_SCHED_CLS")]
    SchedCls = 3,
    #[doc(alias = "BPF_PROG_TYPE_SCHED_ACT")]
    SchedAct = 4,
    #[doc(alias = "BPF_PROG_TYPE_TRACEPOINT")]
    Tracepoint = 5,
    #[doc(alias = "BPF_PROG_TYPE_XDP")]
    Xdp = 6,
    #[doc(alias = "BPF_PROG_TYPE_PERF_EVENT")]
    PerfEvent = 7,
    #[doc(alias = "BPF_PROG_TYPE_CGROUP_SKB")]
    CgroupSkb = 8,
    #[doc(alias = "BPF_PROG_TYPE_CGROUP_SOCK")]
    CgroupSock = 9,
    LwtIn = 10,
    LwtOut = 11,
    LwtXmit = 12,
    #[doc(alias = "BPF_PROG_TYPE_SOCK_OPS")]
    SockOps = 13,
    #[doc(alias = "BPF_PROG_TYPE_SK_SKB")]
    SkSkb = 14,
    CgroupDevice = 15,
    SkMsg = 16,
    #[doc(alias = "BPF_PROG_TYPE_RAW_TRACEPOINT")]
    RawTracepoint = 17,
    CgroupSockAddr = 18,
    LwtSeg6local = 19,
    LircMode2 = 20,
    SkReuseport = 21,
    FlowDissector = 22,
    CgroupSysctl = 23,
    RawTracepointWritable = 24,
    CgroupSockopt = 25,
    #[doc(alias = "BPF_PROG_TYPE_TRACING")]
    Tracing = 26,
    StructOps = 27,
    Ext = 28,
    Lsm = 29,
    SkLookup = 30,
    Syscall = 31,
    Netfilter = 32,
}

impl ProgramType {
    /// The kernel's numeric id.
    pub fn id(self) -> u32 {
        self as u32
    }

    /// The name bpftool prints (`xdp`, `sched_cls`, `tracepoint`, ...).
    pub fn name(self) -> &'static str {
        use ProgramType::*;
        match self {
            Unspecified => "unspec",
            SocketFilter => "socket_filter",
            Kprobe => "kprobe",
            SchedCls => "sched_cls",
            SchedAct => "sched_act",
            Tracepoint => "tracepoint",
            Xdp => "xdp",
            PerfEvent => "perf_event",
            CgroupSkb => "cgroup_skb",
            CgroupSock => "cgroup_sock",
            LwtIn => "lwt_in",
            LwtOut => "lwt_out",
            LwtXmit => "lwt_xmit",
            SockOps => "sock_ops",
            SkSkb => "sk_skb",
            CgroupDevice => "cgroup_device",
            SkMsg => "sk_msg",
            RawTracepoint => "raw_tracepoint",
            CgroupSockAddr => "cgroup_sock_addr",
            LwtSeg6local => "lwt_seg6local",
            LircMode2 => "lirc_mode2",
            SkReuseport => "sk_reuseport",
            FlowDissector => "flow_dissector",
            CgroupSysctl => "cgroup_sysctl",
            RawTracepointWritable => "raw_tracepoint_writable",
            CgroupSockopt => "cgroup_sockopt",
            Tracing => "tracing",
            StructOps => "struct_ops",
            Ext => "ext",
            Lsm => "lsm",
            SkLookup => "sk_lookup",
            Syscall => "syscall",
            Netfilter => "netfilter",
        }
    }
}

impl fmt::Display for ProgramType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Where a program attaches, as its section name says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AttachTarget {
    /// Nothing to parse (xdp, socket, tc, ...) or not given.
    None,
    /// `tracepoint/CATEGORY/NAME` or `tp/CATEGORY/NAME`.
    Tracepoint {
        /// Category, e.g. `syscalls`.
        category: String,
        /// Event name, e.g. `sys_enter_openat`.
        name: String,
    },
    /// `raw_tracepoint/NAME` or `raw_tp/NAME`.
    RawTracepoint {
        /// Tracepoint name, e.g. `sys_enter`.
        name: String,
    },
    /// `kprobe/FUNC[+OFF]` or `kretprobe/FUNC`.
    Kprobe {
        /// Kernel function.
        function: String,
        /// Offset into it.
        offset: u64,
        /// A return probe.
        ret: bool,
    },
    /// `uprobe/PATH:FUNC[+OFF]` or `uretprobe/...`.
    Uprobe {
        /// Binary or library path.
        path: String,
        /// Function symbol (empty when only an offset is given).
        function: String,
        /// Offset into the function (or the file when `function` is empty).
        offset: u64,
        /// A return probe.
        ret: bool,
    },
    /// A named attach point of another kind (`cgroup_skb/ingress`, `fentry/FUNC`, `tc/egress`).
    Named(String),
    /// A numbered section of older objects (`2/16`: tail-call map 2, index 16).
    TailCallSlot {
        /// First number.
        map: u32,
        /// Second number.
        index: u32,
    },
}

/// Program type and attach target of a section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SectionInfo {
    /// Kernel program type.
    pub prog_type: ProgramType,
    /// Parsed attach target.
    pub target: AttachTarget,
}

fn split_offset(s: &str) -> (String, u64) {
    if let Some((name, off)) = s.rsplit_once('+') {
        let parsed = off
            .strip_prefix("0x")
            .map_or_else(|| off.parse().ok(), |h| u64::from_str_radix(h, 16).ok());
        if let Some(o) = parsed {
            return (name.to_string(), o);
        }
    }
    (s.to_string(), 0)
}

fn uprobe(rest: &str, ret: bool) -> AttachTarget {
    let (path, func) = rest.rsplit_once(':').unwrap_or((rest, ""));
    let (function, offset) = split_offset(func);
    let (function, offset) = match function.strip_prefix("0x") {
        Some(hex) => (String::new(), u64::from_str_radix(hex, 16).unwrap_or(0)),
        None => (function, offset),
    };
    AttachTarget::Uprobe {
        path: path.to_string(),
        function,
        offset,
        ret,
    }
}

/// Classify a section name.
pub fn classify(section: &str) -> SectionInfo {
    use ProgramType as P;
    let kind = |prog_type, target| SectionInfo { prog_type, target };
    let named = |s: &str| AttachTarget::Named(s.to_string());

    // Prefixes with a '/'-separated target.
    let with_target: &[(&str, P)] = &[
        ("tracepoint/", P::Tracepoint),
        ("tp/", P::Tracepoint),
        ("raw_tracepoint.w/", P::RawTracepointWritable),
        ("raw_tp.w/", P::RawTracepointWritable),
        ("raw_tracepoint/", P::RawTracepoint),
        ("raw_tp/", P::RawTracepoint),
        ("kprobe/", P::Kprobe),
        ("kretprobe/", P::Kprobe),
        ("kprobe.multi/", P::Kprobe),
        ("kretprobe.multi/", P::Kprobe),
        ("uprobe/", P::Kprobe),
        ("uprobe.s/", P::Kprobe),
        ("uretprobe/", P::Kprobe),
        ("uretprobe.s/", P::Kprobe),
        ("uprobe.multi/", P::Kprobe),
        ("usdt/", P::Kprobe),
        ("tp_btf/", P::Tracing),
        ("fentry/", P::Tracing),
        ("fentry.s/", P::Tracing),
        ("fexit/", P::Tracing),
        ("fexit.s/", P::Tracing),
        ("fmod_ret/", P::Tracing),
        ("fmod_ret.s/", P::Tracing),
        ("iter/", P::Tracing),
        ("iter.s/", P::Tracing),
        ("freplace/", P::Ext),
        ("lsm/", P::Lsm),
        ("lsm.s/", P::Lsm),
        ("lsm_cgroup/", P::Lsm),
        ("struct_ops/", P::StructOps),
        ("struct_ops.s/", P::StructOps),
    ];
    for (prefix, prog_type) in with_target {
        if let Some(rest) = section.strip_prefix(prefix) {
            let target = match *prefix {
                "tracepoint/" | "tp/" => match rest.split_once('/') {
                    Some((category, name)) => AttachTarget::Tracepoint {
                        category: category.to_string(),
                        name: name.to_string(),
                    },
                    None => named(rest),
                },
                "raw_tracepoint/" | "raw_tp/" | "raw_tracepoint.w/" | "raw_tp.w/" => {
                    AttachTarget::RawTracepoint {
                        name: rest.to_string(),
                    }
                }
                "kprobe/" | "kretprobe/" => {
                    let (function, offset) = split_offset(rest);
                    AttachTarget::Kprobe {
                        function,
                        offset,
                        ret: prefix.starts_with("kret"),
                    }
                }
                "uprobe/" | "uprobe.s/" => uprobe(rest, false),
                "uretprobe/" | "uretprobe.s/" => uprobe(rest, true),
                _ => named(rest),
            };
            return kind(*prog_type, target);
        }
    }

    // Exact names (and old-style prefixes) without a parsed target.
    let simple: &[(&str, P)] = &[
        ("socket", P::SocketFilter),
        ("sk_reuseport", P::SkReuseport),
        ("kprobe", P::Kprobe),
        ("uprobe", P::Kprobe),
        ("kretprobe", P::Kprobe),
        ("uretprobe", P::Kprobe),
        ("tcx/", P::SchedCls),
        ("tc/", P::SchedCls),
        ("tc", P::SchedCls),
        ("classifier", P::SchedCls),
        ("action", P::SchedAct),
        ("netkit/", P::SchedCls),
        ("xdp.frags/", P::Xdp),
        ("xdp/", P::Xdp),
        ("xdp.frags", P::Xdp),
        ("xdp", P::Xdp),
        ("perf_event", P::PerfEvent),
        ("lwt_in", P::LwtIn),
        ("lwt_out", P::LwtOut),
        ("lwt_xmit", P::LwtXmit),
        ("lwt_seg6local", P::LwtSeg6local),
        ("sockops", P::SockOps),
        ("sk_skb", P::SkSkb),
        ("sk_msg", P::SkMsg),
        ("lirc_mode2", P::LircMode2),
        ("flow_dissector", P::FlowDissector),
        ("cgroup_skb/", P::CgroupSkb),
        ("cgroup/skb", P::CgroupSkb),
        ("cgroup/sock_create", P::CgroupSock),
        ("cgroup/sock_release", P::CgroupSock),
        ("cgroup/sock", P::CgroupSock),
        ("cgroup/post_bind", P::CgroupSock),
        ("cgroup/dev", P::CgroupDevice),
        ("cgroup/sysctl", P::CgroupSysctl),
        ("cgroup/getsockopt", P::CgroupSockopt),
        ("cgroup/setsockopt", P::CgroupSockopt),
        ("cgroup/", P::CgroupSockAddr),
        ("sk_lookup", P::SkLookup),
        ("syscall", P::Syscall),
        ("netfilter", P::Netfilter),
        ("struct_ops", P::StructOps),
    ];
    for (prefix, prog_type) in simple {
        if let Some(rest) = section.strip_prefix(prefix) {
            let target = if rest.is_empty() && !prefix.ends_with('/') {
                AttachTarget::None
            } else {
                named(section)
            };
            return kind(*prog_type, target);
        }
    }

    // Numbered sections of older objects: "2/16".
    if let Some((a, b)) = section.split_once('/') {
        if let (Ok(map), Ok(index)) = (a.parse(), b.parse()) {
            return kind(P::Unspecified, AttachTarget::TailCallSlot { map, index });
        }
    }
    kind(P::Unspecified, AttachTarget::None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libbpf_forms() {
        assert_eq!(classify("xdp").prog_type, ProgramType::Xdp);
        assert_eq!(classify("xdp_prog").prog_type, ProgramType::Xdp);
        assert_eq!(classify("socket1").prog_type, ProgramType::SocketFilter);
        assert_eq!(classify("classifier").prog_type, ProgramType::SchedCls);
        assert_eq!(classify("tc/ingress").prog_type, ProgramType::SchedCls);
        assert_eq!(
            classify("tracepoint/syscalls/sys_enter_openat"),
            SectionInfo {
                prog_type: ProgramType::Tracepoint,
                target: AttachTarget::Tracepoint {
                    category: "syscalls".into(),
                    name: "sys_enter_openat".into()
                }
            }
        );
        assert_eq!(
            classify("raw_tp/sys_enter").target,
            AttachTarget::RawTracepoint {
                name: "sys_enter".into()
            }
        );
        assert_eq!(
            classify("uretprobe//lib/x86_64-linux-gnu/libc.so.6:malloc+0x10").target,
            AttachTarget::Uprobe {
                path: "/lib/x86_64-linux-gnu/libc.so.6".into(),
                function: "malloc".into(),
                offset: 16,
                ret: true
            }
        );
        assert_eq!(
            classify("kprobe/do_sys_open").target,
            AttachTarget::Kprobe {
                function: "do_sys_open".into(),
                offset: 0,
                ret: false
            }
        );
        assert_eq!(
            classify("cgroup_skb/egress").prog_type,
            ProgramType::CgroupSkb
        );
        assert_eq!(
            classify("2/16").target,
            AttachTarget::TailCallSlot { map: 2, index: 16 }
        );
        assert_eq!(
            classify("from-container").prog_type,
            ProgramType::Unspecified
        );
        assert_eq!(classify("perf_event").prog_type, ProgramType::PerfEvent);
    }
}
