//! The provenance analysis and the rewriting pass on hand-written programs.

use userbpf_isa::asm::assemble;
use userbpf_isa::{Insn, MemSize, Program};
use userbpf_runtime::context::{
    find_context_accesses, register_packet_helpers, rewrite_context_accesses, skb,
    test_run_program, ContextError, ProgType, TestRunInput,
};
use userbpf_runtime::{Helpers, Interpreter};

fn prog(text: &str) -> Program {
    Program::from_insns(assemble(text).unwrap())
}

fn rewrite(t: ProgType, text: &str) -> Result<Program, ContextError> {
    let p = prog(text);
    let facts = find_context_accesses(&p)?;
    rewrite_context_accesses(&p, t, &facts)
}

fn run(t: ProgType, text: &str, data: &[u8], ctx: Option<&[u8]>) -> u32 {
    let p = prog(text);
    let facts = find_context_accesses(&p).unwrap();
    let rewritten = rewrite_context_accesses(&p, t, &facts).unwrap();
    let mut helpers = Helpers::new();
    register_packet_helpers(&mut helpers, t);
    let vm = Interpreter::new(&rewritten, &helpers).unwrap();
    test_run_program(
        &vm,
        t,
        &facts,
        &TestRunInput {
            data_in: data,
            ctx_in: ctx,
            repeat: 1,
        },
    )
    .unwrap()
    .retval
}

#[test]
fn xdp_data_becomes_a_pointer_load() {
    let out = rewrite(
        ProgType::Xdp,
        "r2 = *(u32 *)(r1 + 0)\nr3 = *(u32 *)(r1 + 4)\nr4 = *(u32 *)(r1 + 12)\nr0 = 2\nexit",
    )
    .unwrap();
    assert_eq!(
        out.insns()[0],
        Insn::Load {
            size: MemSize::DW,
            dst: userbpf_isa::Reg::R2,
            src: userbpf_isa::Reg::R1,
            off: 24
        }
    );
    assert!(matches!(
        out.insns()[1],
        Insn::Load {
            size: MemSize::DW,
            off: 32,
            ..
        }
    ));
    assert!(matches!(
        out.insns()[2],
        Insn::Load {
            size: MemSize::W,
            off: 12,
            ..
        }
    ));
    // Packet length through the rewritten pointers.
    let len = "r2 = *(u32 *)(r1 + 0)\nr0 = *(u32 *)(r1 + 4)\nr0 -= r2\nexit";
    assert_eq!(run(ProgType::Xdp, len, &[0u8; 60], None), 60);
}

#[test]
fn spills_fills_and_subprograms_are_followed() {
    // ctx spilled to the stack, reloaded, and passed to a subprogram that reads data_end.
    let text = "
        *(u64 *)(r10 - 8) = r1
        r1 = 0
        r6 = *(u64 *)(r10 - 8)
        r1 = r6
        call sub
        r2 = *(u32 *)(r6 + 0)
        r0 -= r2
        exit
    sub:
        r0 = *(u32 *)(r1 + 4)
        exit";
    let p = prog(text);
    let facts = find_context_accesses(&p).unwrap();
    assert_eq!(facts.accesses.len(), 2, "{facts:?}");
    assert_eq!(run(ProgType::Xdp, text, &[1u8; 42], None), 42);
    // A subprogram writing ctx into the caller's stack through a pointer.
    let text = "
        r2 = r1
        r1 = r10
        r1 += -16
        call store
        r3 = *(u64 *)(r10 - 16)
        r0 = *(u32 *)(r3 + 12)
        exit
    store:
        *(u64 *)(r1 + 0) = r2
        r0 = 0
        exit";
    assert_eq!(run(ProgType::Xdp, text, &[1u8; 20], None), 1);
}

#[test]
fn callbacks_get_the_context_through_their_data() {
    // bpf_loop(1, cb, &slot, 0) with the context spilled in the slot: the callback's r2
    // points to it, and its read of data_end is a context access.
    let text = "
        *(u64 *)(r10 - 8) = r1
        r1 = 1
        ld_pseudo r2, 4, 6
        r3 = r10
        r3 += -8
        r4 = 0
        call 181
        exit
        r3 = *(u64 *)(r2 + 0)
        r0 = *(u32 *)(r3 + 4)
        r0 = 0
        exit";
    let facts = find_context_accesses(&prog(text)).unwrap();
    let accesses: Vec<(usize, i16)> = facts.accesses.iter().map(|(i, a)| (*i, a.off)).collect();
    assert_eq!(accesses, [(9, 4)]);
    let out = rewrite(ProgType::Xdp, text).unwrap();
    assert!(
        matches!(
            out.insns()[9],
            Insn::Load {
                size: MemSize::DW,
                ..
            }
        ),
        "{:?}",
        out.insns()[9]
    );
    // bpf_for_each_map_elem(map, cb, &slot, 0): the data arrives in the callback's r4.
    let text = "
        *(u64 *)(r10 - 8) = r1
        r1 = 0
        ld_pseudo r2, 4, 6
        r3 = r10
        r3 += -8
        r4 = 0
        call 164
        exit
        r3 = *(u64 *)(r4 + 0)
        r0 = *(u32 *)(r3 + 0)
        r0 = 0
        exit";
    let facts = find_context_accesses(&prog(text)).unwrap();
    let accesses: Vec<(usize, i16)> = facts.accesses.iter().map(|(i, a)| (*i, a.off)).collect();
    assert_eq!(accesses, [(9, 0)]);
    // The callback's own stack writes reach its next call: here the first call stores the
    // context into the caller's slot, and a later one reads through it.
    let text = "
        *(u64 *)(r10 - 16) = r1
        r1 = 0
        *(u64 *)(r10 - 8) = r1
        r1 = 4
        ld_pseudo r2, 4, 6
        r3 = r10
        r3 += -16
        r4 = 0
        call 181
        exit
        r3 = *(u64 *)(r2 + 0)
        *(u64 *)(r2 + 8) = r3
        r0 = 0
        exit";
    let facts = find_context_accesses(&prog(text)).unwrap();
    assert!(facts.accesses.is_empty(), "{facts:?}");
}

#[test]
fn legacy_packet_loads_in_skb_programs() {
    let mut pkt = vec![0u8; 12];
    pkt.extend_from_slice(&[0x08, 0x00]);
    pkt.extend_from_slice(&[0x45, 0x00, 0x12, 0x34, 0xde, 0xad, 0xbe, 0xef]);
    pkt.resize(14 + 19, 0);
    pkt.push(0x77);
    // Big-endian B/H/W loads, ABS and IND (tc programs see the packet from its start).
    let text = "
        r6 = r1
        r0 = *(u8 *)skb[14]
        r7 = r0
        r0 = *(u16 *)skb[16]
        r7 += r0
        r8 = 4
        r0 = *(u32 *)skb[r8 + 14]
        r7 += r0
        r0 = r7
        exit";
    assert_eq!(
        run(ProgType::SchedCls, text, &pkt, None),
        0x45 + 0x1234 + 0xdead_beef
    );
    // The last byte is in bounds; past it (or before the start) the program returns 0.
    let last = format!("r6 = r1\nr0 = *(u8 *)skb[{}]\nexit", pkt.len() - 1);
    assert_eq!(run(ProgType::SchedCls, &last, &pkt, None), 0x77);
    // The offset is the helper's int: only the low 32 bits of the register count.
    for (reg, imm, expect) in [
        (pkt.len() as i64 - 1, 0, 0),
        (1000, 0, 0),
        (-1, 0, 0),
        (0x1_0000_0000, 5, 9),
    ] {
        let text = format!("r6 = r1\nr8 = {reg} ll\nr0 = *(u16 *)skb[r8 + {imm}]\nr0 = 9\nexit");
        assert_eq!(
            run(ProgType::SchedCls, &text, &pkt, None),
            expect,
            "r8 = {reg} imm {imm}"
        );
    }
    // Socket filters see the packet from the network header.
    assert_eq!(
        run(
            ProgType::SocketFilter,
            "r6 = r1\nr0 = *(u8 *)skb[0]\nexit",
            &pkt,
            None
        ),
        0x45
    );
    // What the kernel refuses.
    let e = rewrite(ProgType::Xdp, "r6 = r1\nr0 = *(u8 *)skb[0]\nexit").unwrap_err();
    assert_eq!(
        e.to_string(),
        "instruction 1: BPF_LD_[ABS|IND] instructions not allowed for this program type"
    );
    let e = rewrite(
        ProgType::SchedCls,
        "r6 = r1\nr0 = *(u8 *)skb[0]\ncall sub\nexit\nsub:\nr0 = 0\nexit",
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "instruction 1: BPF_LD_[ABS|IND] instructions cannot be mixed with bpf-to-bpf calls"
    );
    let e = rewrite(ProgType::SocketFilter, "r0 = *(u8 *)skb[0]\nexit").unwrap_err();
    assert_eq!(
        e.to_string(),
        "instruction 0: at the time of BPF_LD_ABS|IND R6 != pointer to skb"
    );
}

#[test]
fn kernel_errors() {
    let e = rewrite(ProgType::Xdp, "r2 = *(u64 *)(r1 + 0)\nr0 = 0\nexit").unwrap_err();
    assert_eq!(
        e.to_string(),
        "instruction 0: invalid bpf_context access off=0 size=8"
    );
    let e = rewrite(
        ProgType::Xdp,
        "r1 += 4\nr2 = *(u32 *)(r1 + 0)\nr0 = 0\nexit",
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "instruction 1: dereference of modified ctx ptr R1 off=4 disallowed"
    );
    let e = rewrite(
        ProgType::Xdp,
        "r3 = r10\nr3 += -8\nif r2 == 0 goto +1\nr3 = r1\nr0 = *(u32 *)(r3 + 0)\nexit",
    )
    .unwrap_err();
    assert!(
        matches!(e, ContextError::MixedPointer { insn: 4, reg: 3 }),
        "{e}"
    );
    let e = rewrite(
        ProgType::SchedCls,
        "lock *(u32 *)(r1 + 8) += r2\nr0 = 0\nexit",
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "instruction 0: BPF_ATOMIC stores into R1 ctx is not allowed"
    );
    let e = rewrite(
        ProgType::SocketFilter,
        "*(u32 *)(r1 + 8) = r2\nr0 = 0\nexit",
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "instruction 0: invalid bpf_context access off=8 size=4"
    );
    let e = rewrite(ProgType::Kprobe, "*(u64 *)(r1 + 0) = r2\nr0 = 0\nexit").unwrap_err();
    assert!(matches!(e, ContextError::InvalidAccess { .. }));
}

#[test]
fn expansion_fixes_jumps() {
    // queue_mapping store from a register expands to two instructions; the jumps around it
    // (forward and backward) must still land where they did.
    let text = "
        r0 = 0
        r3 = 3
    loop:
        r0 += 1
        r2 = r0
        *(u32 *)(r1 + 12) = r2
        r3 += -1
        if r3 != 0 goto loop
        r2 = 70000
        *(u32 *)(r1 + 12) = r2
        r4 = *(u32 *)(r1 + 12)
        r0 <<= 8
        r0 |= r4
        exit";
    let out = rewrite(ProgType::SchedCls, text).unwrap();
    assert_eq!(out.insns().len(), prog(text).insns().len() + 2);
    out.check_targets().unwrap();
    // r0 = 3 after the loop; queue_mapping stays 3 because 70000 >= 0xffff is ignored.
    assert_eq!(
        run(ProgType::SchedCls, text, &[0u8; 14], None),
        (3 << 8) | 3
    );
}

#[test]
fn skb_narrow_reads_and_stores() {
    let pkt = {
        let mut p = vec![0u8; 12];
        p.extend_from_slice(&[0x08, 0x00]);
        p.extend_from_slice(&[0x45; 20]);
        p
    };
    // protocol as a 2-byte read at its start and at +2 (the kernel returns the whole
    // 16-bit kernel field for both), tc_index stored as 16 bits.
    let text = "
        r2 = *(u16 *)(r1 + 16)
        r3 = *(u16 *)(r1 + 18)
        r4 = 0x12345
        *(u32 *)(r1 + 44) = r4
        r4 = *(u32 *)(r1 + 44)
        r0 = r2
        r0 += r3
        r0 += r4
        exit";
    assert_eq!(
        run(ProgType::SchedCls, text, &pkt, None),
        0x0008 + 0x0008 + 0x2345
    );
    let mut ctx = vec![0u8; skb::SK_BUFF_SIZE];
    ctx[skb::MARK as usize] = 9;
    let mark = "r0 = *(u8 *)(r1 + 8)\nexit";
    assert_eq!(run(ProgType::SocketFilter, mark, &pkt, Some(&ctx)), 9);
}

/// `__sk_buff.sk`: user space has no socket, so the read gives NULL, as the kernel's field
/// may be (the verifier makes programs check it); writes stay refused.
#[test]
fn skb_sk_reads_null() {
    let out = rewrite(ProgType::SchedCls, "r2 = *(u64 *)(r1 + 168)\nr0 = 0\nexit").unwrap();
    assert_eq!(
        out.insns()[0],
        Insn::Alu {
            width: userbpf_isa::Width::W64,
            op: userbpf_isa::AluOp::Mov,
            dst: userbpf_isa::Reg::R2,
            src: userbpf_isa::Source::Imm(0),
        }
    );
    let text = "r2 = *(u64 *)(r1 + 168)\nr0 = 1\nif r2 != 0 goto +1\nr0 = 2\nexit";
    for t in [ProgType::SchedCls, ProgType::SocketFilter] {
        assert_eq!(run(t, text, &[0; 64], None), 2, "{t:?}");
    }
    let e = rewrite(ProgType::SchedCls, "*(u64 *)(r1 + 168) = r2\nr0 = 0\nexit").unwrap_err();
    assert!(matches!(e, ContextError::InvalidAccess { .. }), "{e}");
}
