//! clang-19-compiled XDP, tc, socket, cgroup_skb and tracing programs (sources in
//! `context_src/`), run with our context rewriting and `BPF_PROG_TEST_RUN` semantics, and
//! compared with the running kernel's `BPF_PROG_TEST_RUN` (retval, data_out, ctx_out).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use userbpf_isa::Program;
use userbpf_kernel::{prog_load, TestRunOptions};
use userbpf_object::Object;
use userbpf_runtime::context::{
    find_context_accesses, register_packet_helpers, rewrite_context_accesses, skb,
    test_run_program, tracing, ProgType, TestRunInput, TestRunOutput,
};
use userbpf_runtime::{kernel_helpers, Helpers, Interpreter};

fn compile(name: &str) -> Option<PathBuf> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/context_src")
        .join(name);
    let out = std::env::temp_dir().join(format!(
        "userbpf-context-{}-{}.o",
        std::process::id(),
        name.trim_end_matches(".bpf.c")
    ));
    let status = Command::new("clang-19")
        .args(["-g", "-O2", "-target", "bpf", "-mcpu=v3"])
        .arg("-I/usr/include/x86_64-linux-gnu")
        .arg("-c")
        .arg(&src)
        .arg("-o")
        .arg(&out)
        .status();
    match status {
        Ok(s) if s.success() => Some(out),
        Ok(s) => panic!("clang-19 failed on {name}: {s}"),
        Err(e) => {
            println!("skipped: clang-19 not available ({e})");
            None
        }
    }
}

struct Prepared {
    name: String,
    prog_type: ProgType,
    original: Program,
    vm: Interpreter,
    facts: userbpf_runtime::context::CtxAccessFacts,
}

fn prepare(obj: &Object) -> Vec<Prepared> {
    obj.programs
        .iter()
        .map(|p| {
            let prog_type = ProgType::from_id(p.prog_type.id())
                .unwrap_or_else(|| panic!("{}: type {:?}", p.name, p.prog_type));
            let facts = find_context_accesses(&p.insns).unwrap();
            let rewritten = rewrite_context_accesses(&p.insns, prog_type, &facts)
                .unwrap_or_else(|e| panic!("{}: {e}", p.name));
            let mut helpers = Helpers::new();
            kernel_helpers::register(&mut helpers, Arc::new(kernel_helpers::LocalEnv::default()));
            register_packet_helpers(&mut helpers, prog_type);
            let vm = Interpreter::new(&rewritten, &helpers)
                .unwrap_or_else(|e| panic!("{}: {e}", p.name));
            Prepared {
                name: p.name.clone(),
                prog_type,
                original: p.insns.clone(),
                vm,
                facts,
            }
        })
        .collect()
}

fn eth(dst: [u8; 6], proto: u16, payload: &[u8]) -> Vec<u8> {
    let mut v = dst.to_vec();
    v.extend_from_slice(&[0x02, 0x11, 0x22, 0x33, 0x44, 0x55]);
    v.extend_from_slice(&proto.to_be_bytes());
    v.extend_from_slice(payload);
    v
}

fn ipv4(proto: u8, payload: &[u8]) -> Vec<u8> {
    let total = 20 + payload.len();
    let mut h = vec![
        0x45,
        0,
        (total >> 8) as u8,
        total as u8,
        0x12,
        0x34,
        0x40,
        0,
        64,
        proto,
        0,
        0,
        10,
        0,
        0,
        1,
        10,
        0,
        0,
        2,
    ];
    let mut sum = 0u32;
    for c in h.chunks(2) {
        sum += u16::from_be_bytes([c[0], c[1]]) as u32;
    }
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    let c = !(sum as u16);
    h[10] = (c >> 8) as u8;
    h[11] = c as u8;
    h.extend_from_slice(payload);
    h
}

fn udp(dport: u16, body: &[u8]) -> Vec<u8> {
    let len = 8 + body.len();
    let mut v = vec![0x30, 0x39];
    v.extend_from_slice(&dport.to_be_bytes());
    v.extend_from_slice(&(len as u16).to_be_bytes());
    v.extend_from_slice(&[0xab, 0xcd]);
    v.extend_from_slice(body);
    v
}

fn packets() -> Vec<(&'static str, Vec<u8>)> {
    let host = [0u8; 6];
    let other = [0x02, 0, 0, 0, 0, 9];
    let bcast = [0xff; 6];
    vec![
        (
            "udp53",
            eth(host, 0x0800, &ipv4(17, &udp(53, b"query-data"))),
        ),
        ("udp80", eth(other, 0x0800, &ipv4(17, &udp(80, b"xyz")))),
        ("tcp", eth(host, 0x0800, &ipv4(6, &[0u8; 20]))),
        ("icmp-bcast", eth(bcast, 0x0800, &ipv4(1, &[8, 0, 0, 0]))),
        ("ipv6", eth(host, 0x86dd, &[0x60; 48])),
        ("arp", eth(bcast, 0x0806, &[0u8; 28])),
        ("min", eth(host, 0x0800, &[0x45; 20])),
        ("802.3", eth(host, 0x0040, &[0xff, 0xff, 1, 2])),
    ]
}

fn ctx_variants(t: ProgType) -> Vec<(&'static str, Option<Vec<u8>>)> {
    let mut v = vec![("no ctx", None)];
    if t.is_skb() {
        let mut c = vec![0u8; skb::SK_BUFF_SIZE];
        c[skb::MARK as usize..][..4].copy_from_slice(&5u32.to_le_bytes());
        c[skb::PRIORITY as usize..][..4].copy_from_slice(&9u32.to_le_bytes());
        c[skb::INGRESS_IFINDEX as usize..][..4].copy_from_slice(&1u32.to_le_bytes());
        c[skb::CB as usize + 8..][..4].copy_from_slice(&1u32.to_le_bytes());
        c[skb::GSO_SEGS as usize..][..4].copy_from_slice(&3u32.to_le_bytes());
        c[skb::WIRE_LEN as usize..][..4].copy_from_slice(&2000u32.to_le_bytes());
        v.push(("ctx", Some(c)));
    }
    if t == ProgType::Xdp {
        v.push(("xdp_md ifindex 1", None)); // filled per packet below
    }
    v
}

fn kernel_run(
    p: &Prepared,
    data: &[u8],
    ctx: Option<&[u8]>,
) -> Result<userbpf_kernel::TestRunResult, String> {
    let fd = prog_load(p.prog_type.id(), &p.original.to_bytes(), "GPL", 0)
        .map_err(|e| format!("load: {e}"))?;
    let raw = p.prog_type == ProgType::RawTracepoint;
    fd.test_run_with(&TestRunOptions {
        data_in: data,
        data_out_capacity: if raw { 0 } else { 8192 },
        ctx_in: ctx,
        ctx_out_capacity: if raw || ctx.is_none() {
            0
        } else {
            ctx.map_or(0, |c| c.len())
        },
        repeat: if raw { 0 } else { 1 },
        flags: 0,
    })
    .map_err(|e| format!("test_run: {e}"))
}

fn ours(p: &Prepared, data: &[u8], ctx: Option<&[u8]>) -> Result<TestRunOutput, String> {
    test_run_program(
        &p.vm,
        p.prog_type,
        &p.facts,
        &TestRunInput {
            data_in: data,
            ctx_in: ctx,
            repeat: 1,
        },
    )
    .map_err(|e| e.to_string())
}

#[test]
fn clang_programs_match_the_kernel() {
    let kernel = userbpf_kernel::available();
    if let Err(why) = &kernel {
        println!("kernel comparison skipped: {why}");
    }
    let mut programs_compared = std::collections::BTreeSet::new();
    let mut runs = 0;
    let mut failures = Vec::new();
    for src in ["xdp_progs.bpf.c", "skb_progs.bpf.c"] {
        let Some(obj_path) = compile(src) else { return };
        let obj = Object::parse(&std::fs::read(&obj_path).unwrap()).unwrap();
        for p in prepare(&obj) {
            for (pname, pkt) in packets() {
                for (cname, ctx) in ctx_variants(p.prog_type) {
                    let ctx = if cname == "xdp_md ifindex 1" {
                        let mut c = vec![0u8; 24];
                        c[4..8].copy_from_slice(&(pkt.len() as u32).to_le_bytes());
                        c[12..16].copy_from_slice(&1u32.to_le_bytes());
                        Some(c)
                    } else {
                        ctx
                    };
                    let mine = ours(&p, &pkt, ctx.as_deref());
                    if kernel.is_err() {
                        mine.unwrap_or_else(|e| panic!("{} {pname} {cname}: {e}", p.name));
                        continue;
                    }
                    let theirs = kernel_run(&p, &pkt, ctx.as_deref());
                    runs += 1;
                    programs_compared.insert(p.name.clone());
                    let what = format!("{} [{}] {pname} {cname}", p.name, p.prog_type);
                    match (&mine, &theirs) {
                        (Ok(m), Ok(k)) => {
                            if m.retval != k.retval || m.data_out != k.data_out {
                                failures.push(format!(
                                    "{what}: retval {} vs kernel {}\n  data_out {:02x?}\n  kernel   {:02x?}",
                                    m.retval, k.retval, m.data_out, k.data_out
                                ));
                            } else if ctx.is_some() && m.ctx_out != k.ctx_out {
                                failures.push(format!(
                                    "{what}: ctx_out {:?}\n  kernel  {:?}",
                                    m.ctx_out, k.ctx_out
                                ));
                            }
                        }
                        (Err(_), Err(_)) => {}
                        _ => failures.push(format!(
                            "{what}: ours {:?} kernel {:?}",
                            mine.as_ref().map(|m| m.retval),
                            theirs.as_ref().map(|k| k.retval)
                        )),
                    }
                }
            }
        }
    }
    println!(
        "{} clang-compiled programs compared with the kernel's BPF_PROG_TEST_RUN in {runs} runs",
        programs_compared.len()
    );
    for f in &failures {
        println!("MISMATCH {f}");
    }
    assert!(failures.is_empty(), "{} mismatches", failures.len());
}

#[test]
fn tracing_programs_read_ctx_in() {
    let Some(obj_path) = compile("tracing_progs.bpf.c") else {
        return;
    };
    let obj = Object::parse(&std::fs::read(&obj_path).unwrap()).unwrap();
    let kernel_ok = userbpf_kernel::available().is_ok();
    let mut compared = 0;
    for p in prepare(&obj) {
        match p.prog_type {
            ProgType::RawTracepoint => {
                let mut args = Vec::new();
                for a in [7u64, 5, 0, 0] {
                    args.extend_from_slice(&a.to_le_bytes());
                }
                let out = ours(&p, &[], Some(&args)).unwrap();
                assert_eq!(out.retval, 26);
                // Shorter than what the program reads: refused like the kernel.
                assert!(ours(&p, &[], Some(&args[..8])).is_err());
                if kernel_ok {
                    let k = kernel_run(&p, &[], Some(&args)).unwrap();
                    assert_eq!(k.retval, out.retval);
                    let k_short = kernel_run(&p, &[], Some(&args[..8]));
                    assert!(k_short.is_err());
                    compared += 1;
                }
            }
            ProgType::Kprobe => {
                let mut regs = vec![0u8; tracing::PT_REGS_SIZE];
                let di = tracing::pt_regs_offset("di").unwrap();
                let si = tracing::pt_regs_offset("si").unwrap();
                let ip = tracing::pt_regs_offset("ip").unwrap();
                regs[di..di + 8].copy_from_slice(&20u64.to_le_bytes());
                regs[si..si + 8].copy_from_slice(&2u64.to_le_bytes());
                regs[ip..ip + 8].copy_from_slice(&0x1000u64.to_le_bytes());
                assert_eq!(ours(&p, &[], Some(&regs)).unwrap().retval, 43);
                // Shorter ctx_in is zero-padded.
                assert_eq!(ours(&p, &[], Some(&regs[..si])).unwrap().retval, 0);
                assert_eq!(ours(&p, &[], Some(&regs[..di + 8])).unwrap().retval, 42);
            }
            ProgType::Tracepoint => {
                let mut rec = vec![0u8; 32];
                rec[8..12].copy_from_slice(&257u32.to_le_bytes());
                rec[16..24].copy_from_slice(&(-100i64 as u64).to_le_bytes());
                assert_eq!(ours(&p, &[], Some(&rec)).unwrap().retval, 157);
                assert!(ours(&p, &[], Some(&rec[..16])).is_err());
            }
            t => panic!("unexpected {t}"),
        }
    }
    println!("{compared} tracing programs compared with the kernel");
}
