//! Context layouts against the kernel's BTF, and the access rules against the kernel's
//! verifier: for every program type, offset and size, a one-access program is loaded into
//! the kernel and checked with our analysis + rewriting; both must agree.

use userbpf_isa::{Insn, MemSize, Program, Reg, Source, Width};
use userbpf_object::btf::Btf;
use userbpf_runtime::context::{
    find_context_accesses, rewrite_context_accesses, skb, tracing, xdp, ContextError, ProgType,
};

fn vmlinux() -> Option<Btf> {
    let bytes = std::fs::read("/sys/kernel/btf/vmlinux").ok()?;
    Btf::parse(&bytes).ok()
}

fn struct_id(btf: &Btf, name: &str) -> u32 {
    btf.find_by_name(userbpf_object::btf::Kind::Struct, name)
        .unwrap_or_else(|| panic!("struct {name} in vmlinux BTF"))
}

fn member_off(btf: &Btf, sid: u32, name: &str) -> i64 {
    btf.member(sid, name)
        .unwrap()
        .unwrap_or_else(|| panic!("member {name}"))
        .byte_offset() as i64
}

#[test]
fn layouts_match_vmlinux_btf() {
    let Some(btf) = vmlinux() else {
        println!("skipped: /sys/kernel/btf/vmlinux unavailable");
        return;
    };
    let sk = struct_id(&btf, "__sk_buff");
    let mut checked = 0;
    for &(name, off, _) in skb::FIELDS {
        assert_eq!(member_off(&btf, sk, name), off, "__sk_buff.{name}");
        checked += 1;
    }
    assert_eq!(btf.size_of(sk).unwrap() as usize, skb::SK_BUFF_SIZE);
    let md = struct_id(&btf, "xdp_md");
    for (name, off) in [
        ("data", xdp::MD_DATA),
        ("data_end", xdp::MD_DATA_END),
        ("data_meta", xdp::MD_DATA_META),
        ("ingress_ifindex", xdp::MD_INGRESS_IFINDEX),
        ("rx_queue_index", xdp::MD_RX_QUEUE_INDEX),
        ("egress_ifindex", xdp::MD_EGRESS_IFINDEX),
    ] {
        assert_eq!(member_off(&btf, md, name), off, "xdp_md.{name}");
        checked += 1;
    }
    assert_eq!(btf.size_of(md).unwrap() as usize, xdp::MD_SIZE);
    let regs = struct_id(&btf, "pt_regs");
    assert_eq!(btf.size_of(regs).unwrap() as usize, tracing::PT_REGS_SIZE);
    for name in tracing::PT_REGS_FIELDS {
        assert_eq!(
            member_off(&btf, regs, name) as usize,
            tracing::pt_regs_offset(name).unwrap(),
            "pt_regs.{name}"
        );
        checked += 1;
    }
    let frame = struct_id(&btf, "xdp_frame");
    assert_eq!(btf.size_of(frame).unwrap() as usize, xdp::XDP_FRAME_SIZE);
    let shinfo = struct_id(&btf, "skb_shared_info");
    let aligned = (btf.size_of(shinfo).unwrap() as usize).div_ceil(64) * 64;
    assert_eq!(aligned, xdp::SHARED_INFO_SIZE);
    if let Some(pe) = btf.find_by_name(userbpf_object::btf::Kind::Struct, "bpf_perf_event_data") {
        assert_eq!(
            member_off(&btf, pe, "sample_period"),
            tracing::PERF_SAMPLE_PERIOD
        );
        assert_eq!(member_off(&btf, pe, "addr"), tracing::PERF_ADDR);
    }
    println!("{checked} context member offsets agree with vmlinux BTF");
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Op {
    Load,
    StoreReg,
    StoreImm,
}

fn program(op: Op, off: i16, size: MemSize) -> Program {
    let access = match op {
        Op::Load => Insn::Load {
            size,
            dst: Reg::R2,
            src: Reg::R1,
            off,
        },
        Op::StoreReg => Insn::Store {
            size,
            dst: Reg::R1,
            off,
            src: Source::Reg(Reg::R2),
        },
        Op::StoreImm => Insn::Store {
            size,
            dst: Reg::R1,
            off,
            src: Source::Imm(1),
        },
    };
    let mov = |dst, v| Insn::Alu {
        width: Width::W64,
        op: userbpf_isa::AluOp::Mov,
        dst,
        src: Source::Imm(v),
    };
    Program::from_insns(vec![mov(Reg::R2, 1), access, mov(Reg::R0, 0), Insn::Exit])
}

/// Our verdict: Ok(true) accepted, Ok(false) refused as invalid, Err for "accepted by the
/// kernel but not supported here".
fn ours(t: ProgType, p: &Program) -> Result<bool, String> {
    let facts = find_context_accesses(p).map_err(|e| e.to_string())?;
    match rewrite_context_accesses(p, t, &facts) {
        Ok(_) => Ok(true),
        Err(ContextError::InvalidAccess { .. }) => Ok(false),
        Err(ContextError::Unsupported { what, .. }) => Err(what),
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn access_rules_match_the_kernel_verifier() {
    if let Err(why) = userbpf_kernel::available() {
        println!("skipped: {why}");
        return;
    }
    let sizes = [MemSize::B, MemSize::H, MemSize::W, MemSize::DW];
    let mut compared = 0;
    let mut mismatches = Vec::new();
    for t in ProgType::ALL {
        let offsets: Vec<i16> = match t {
            ProgType::Xdp => (-4..36).collect(),
            ProgType::Tracepoint => (-4..72).chain(8180..8200).collect(),
            ProgType::RawTracepoint => (-4..112).collect(),
            ProgType::Kprobe => (-4..180).collect(),
            ProgType::PerfEvent => (-4..196).collect(),
            _ => (-4..200).collect(),
        };
        for &off in &offsets {
            for size in sizes {
                for op in [Op::Load, Op::StoreReg, Op::StoreImm] {
                    let p = program(op, off, size);
                    let kernel = userbpf_kernel::prog_load(t.id(), &p.to_bytes(), "GPL", 0);
                    let ours = ours(t, &p);
                    compared += 1;
                    let agree = match (&kernel, &ours) {
                        (Ok(_), Ok(true)) | (Err(_), Ok(false)) => true,
                        (Ok(_), Err(_)) => true, // supported by the kernel, refused clearly here
                        _ => false,
                    };
                    if !agree {
                        mismatches.push(format!(
                            "{t} {op:?} off={off} size={}: kernel {} ours {:?}{}",
                            size.bytes(),
                            if kernel.is_ok() { "accepts" } else { "rejects" },
                            ours,
                            kernel
                                .as_ref()
                                .err()
                                .map(|e| format!(" ({})", e.log.lines().last().unwrap_or("")))
                                .unwrap_or_default()
                        ));
                    }
                }
            }
        }
    }
    println!(
        "{compared} context accesses compared with the kernel verifier, {} mismatches",
        mismatches.len()
    );
    for m in mismatches.iter().take(60) {
        println!("  {m}");
    }
    assert!(mismatches.is_empty());
}
