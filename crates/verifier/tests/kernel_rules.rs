//! Kernel rules found through the kernel's own selftests: packet memory only for the
//! helpers made for it (`pkt_access`), packet writes only for the program types that may
//! write their packet, tail calls invalidate packet pointers, the maps a helper may take
//! (`check_map_func_compatibility`), socket-map lookups give acquired sockets, and stack
//! pointers never spilled into a caller's frame. Cases without maps are also loaded into the
//! running kernel when bpf() is available and must get the same verdict.

mod common;

use common::{kernel, run};
use userbpf_verifier::{map_type, MapInfo, Options, ProgType};

const TC: ProgType = ProgType::SchedCls;
const XDP: ProgType = ProgType::Xdp;
const CG_SKB: ProgType = ProgType::Other(8);

/// r2 = data, r3 = data_end, 8 bytes checked (exit otherwise).
const PKT: &str = "r2 = *(u32 *)(r1 + 76)\nr3 = *(u32 *)(r1 + 80)\nr4 = r2\nr4 += 8\n\
                   if r4 <= r3 goto +2\nr0 = 0\nexit\n";
const XDP_PKT: &str = "r2 = *(u32 *)(r1 + 0)\nr3 = *(u32 *)(r1 + 4)\nr4 = r2\nr4 += 8\n\
                       if r4 <= r3 goto +2\nr0 = 0\nexit\n";

fn map(map_type: u32, key_size: u32, value_size: u32) -> MapInfo {
    MapInfo {
        map_type,
        key_size,
        value_size,
        max_entries: 4,
        flags: 0,
        fd: Some(1),
        inner_map: None,
        frozen: None,
    }
}

/// Our verdict (`Ok` or the message) and, without maps, the kernel's must match `expect`.
fn check(code: &str, pt: ProgType, maps: &[MapInfo], expect: Option<&str>) {
    let ours = run(code, pt, maps, Options::default()).map_err(|e| e.message);
    match (&ours, expect) {
        (Ok(_), None) => {}
        (Err(m), Some(e)) if m.contains(e) => {}
        _ => panic!("expected {expect:?}, got {ours:?}\n{code}"),
    }
    if maps.is_empty() {
        if let Some(k) = kernel(code, pt) {
            assert_eq!(k.is_ok(), expect.is_none(), "kernel: {k:?}\n{code}");
        }
    }
}

#[test]
fn packet_memory_for_pkt_access_helpers_only() {
    // bpf_csum_diff may read the packet.
    check(
        &format!("{XDP_PKT}r1 = r2\nr2 = 8\nr3 = 0\nr4 = 0\nr5 = 0\ncall 28\nr0 = 0\nexit"),
        XDP,
        &[],
        None,
    );
    // bpf_probe_read_kernel may not write into it, nor bpf_skb_load_bytes.
    check(
        &format!("{XDP_PKT}r1 = r2\nr2 = 8\nr3 = 0\ncall 113\nr0 = 0\nexit"),
        XDP,
        &[],
        Some("helper access to the packet is not allowed"),
    );
    check(
        &format!("{PKT}r3 = r2\nr2 = 0\nr4 = 4\ncall 26\nr0 = 0\nexit"),
        TC,
        &[],
        Some("helper access to the packet is not allowed"),
    );
    // Out of the checked range too: the helper's rule comes before the access (the
    // kernel's log says so, suite_c xdp_short_packet_into_helper).
    check(
        &format!("{XDP_PKT}r1 = r2\nr2 = 16\nr3 = 0\ncall 113\nr0 = 0\nexit"),
        XDP,
        &[],
        Some("helper access to the packet is not allowed"),
    );
}

#[test]
fn packet_writes_by_program_type() {
    let write = format!("{PKT}r0 = 1\n*(u8 *)(r2 + 0) = r0\nr0 = 1\nexit");
    check(&write, TC, &[], None);
    check(&write, CG_SKB, &[], Some("cannot write into packet"));
    check(
        &format!("{PKT}r0 = *(u8 *)(r2 + 0)\nr0 = 1\nexit"),
        CG_SKB,
        &[],
        None,
    );
}

#[test]
fn tail_calls_invalidate_packet_pointers() {
    let maps = [map(map_type::PROG_ARRAY, 4, 4)];
    let code = format!(
        "r6 = r1\n{PKT}r7 = r2\nr1 = r6\nld_pseudo r2, 1, 1\nr3 = 0\ncall 12\n\
         r0 = *(u8 *)(r7 + 0)\nr0 = 0\nexit"
    );
    check(&code, TC, &maps, Some("R7 invalid mem access 'scalar'"));
}

#[test]
fn maps_reached_through_their_own_helpers() {
    let lookup = "r1 = 0\n*(u64 *)(r10 - 8) = r1\nr2 = r10\nr2 += -8\nld_pseudo r1, 1, 1\n\
                  call 1\nr0 = 0\nexit";
    for (mt, n) in [
        (map_type::SK_STORAGE, 24),
        (map_type::CPUMAP, 16),
        (map_type::CGROUP_STORAGE, 19),
    ] {
        check(
            lookup,
            TC,
            &[map(mt, 4, 8)],
            Some(&format!(
                "cannot pass map_type {n} into func bpf_map_lookup_elem#1"
            )),
        );
    }
    // Maps of maps and device maps: lookups only.
    let update = "r1 = 0\n*(u64 *)(r10 - 8) = r1\nr2 = r10\nr2 += -8\nr3 = r10\nr3 += -8\n\
                  ld_pseudo r1, 1, 1\nr4 = 0\ncall 2\nr0 = 0\nexit";
    check(lookup, XDP, &[map(map_type::DEVMAP, 4, 4)], None);
    check(
        update,
        XDP,
        &[map(map_type::DEVMAP, 4, 4)],
        Some("cannot pass map_type 14 into func bpf_map_update_elem#2"),
    );
}

#[test]
fn socket_map_lookups_acquire_the_socket() {
    let maps = [map(map_type::SOCKMAP, 4, 4)];
    let lookup = "r1 = 0\n*(u64 *)(r10 - 8) = r1\nr2 = r10\nr2 += -8\nld_pseudo r1, 1, 1\ncall 1\n";
    let sk_skb = ProgType::Other(14);
    check(
        &format!("{lookup}r0 = 0\nexit"),
        sk_skb,
        &maps,
        Some("Unreleased reference"),
    );
    check(
        &format!(
            "{lookup}if r0 == 0 goto +3\nr1 = r0\nr0 = *(u32 *)(r0 + 8)\ncall 86\nr0 = 0\nexit"
        ),
        sk_skb,
        &maps,
        None,
    );
}

#[test]
fn stack_pointers_stay_in_their_frame() {
    // The callee stores a pointer to its own stack, or to the caller's, in the caller's frame.
    for callee in [
        "r2 = r10\nr2 += -8\n*(u64 *)(r1 + 0) = r2\nr0 = 0\nexit",
        "r2 = r1\n*(u64 *)(r1 + 0) = r2\nr0 = 0\nexit",
    ] {
        let code = format!(
            "r1 = r10\nr1 += -8\ncall f\nr1 = *(u64 *)(r10 - 8)\nr0 = 0\nexit\nf:\n{callee}"
        );
        check(
            &code,
            XDP,
            &[],
            Some("cannot spill pointers to stack into stack frame of the caller"),
        );
    }
    // A scalar stored there is fine.
    check(
        "r1 = r10\nr1 += -8\ncall f\nr0 = *(u64 *)(r10 - 8)\nr0 = 0\nexit\nf:\nr2 = 7\n*(u64 *)(r1 + 0) = r2\nr0 = 0\nexit",
        XDP,
        &[],
        None,
    );
}

#[test]
fn lwt_sk_skb_and_sk_msg_contexts() {
    let (lwt_in, lwt_xmit) = (ProgType::Other(10), ProgType::Other(12));
    let (sk_skb, sk_msg) = (ProgType::Other(14), ProgType::Other(16));
    let write = format!("{PKT}r0 = 1\n*(u8 *)(r2 + 0) = r0\nr0 = 0\nexit");
    let read = format!("{PKT}r0 = *(u8 *)(r2 + 0)\nr0 = 0\nexit");
    // lwt: packet read by all, written by lwt_xmit only; no socket fields; mark writable.
    check(&read, lwt_in, &[], None);
    check(&write, lwt_in, &[], Some("cannot write into packet"));
    check(&write, lwt_xmit, &[], None);
    check(
        "r0 = *(u32 *)(r1 + 88)\nr0 = 0\nexit",
        lwt_in,
        &[],
        Some("invalid bpf_context access"),
    );
    check(
        "r0 = 1\n*(u32 *)(r1 + 8) = r0\nr0 = 0\nexit",
        lwt_xmit,
        &[],
        None,
    );
    check("r2 = 0\nr3 = 0\ncall 43\nr0 = 0\nexit", lwt_xmit, &[], None);
    // sk_skb: direct packet access, no mark, tc_index writable.
    check(&write, sk_skb, &[], None);
    check(
        "r0 = *(u32 *)(r1 + 8)\nr0 = 0\nexit",
        sk_skb,
        &[],
        Some("invalid bpf_context access"),
    );
    check(
        "r0 = *(u32 *)(r1 + 28)\nr0 = 1\n*(u32 *)(r1 + 44) = r0\nr0 = 0\nexit",
        sk_skb,
        &[],
        None,
    );
    // sk_msg: data/data_end as u64, u32 fields, the socket; read only.
    let msg_pkt = "r2 = *(u64 *)(r1 + 0)\nr3 = *(u64 *)(r1 + 8)\nr4 = r2\nr4 += 8\n\
                   if r4 > r3 goto +2\nr0 = 1\n*(u8 *)(r2 + 0) = r0\nr0 = 1\nexit";
    check(msg_pkt, sk_msg, &[], None);
    check(
        "r0 = *(u32 *)(r1 + 16)\nr0 = *(u32 *)(r1 + 68)\nr2 = *(u64 *)(r1 + 72)\nr0 = *(u32 *)(r2 + 4)\nr0 = 1\nexit",
        sk_msg,
        &[],
        None,
    );
    check(
        "r0 = *(u32 *)(r1 + 0)\nr0 = 1\nexit",
        sk_msg,
        &[],
        Some("invalid bpf_context access"),
    );
    check(
        "r0 = 1\n*(u32 *)(r1 + 16) = r0\nr0 = 1\nexit",
        sk_msg,
        &[],
        Some("invalid bpf_context access"),
    );
}

#[test]
fn socket_map_updates() {
    let maps = [map(map_type::SOCKHASH, 4, 4)];
    // skb->sk stored into a sockhash from tc; deleted from sock_ops; both refused on a raw
    // tracepoint, update refused on sock_ops, and the value must be a socket.
    let update = "r6 = *(u64 *)(r1 + 168)\nif r6 == 0 goto +9\nr1 = 0\n*(u64 *)(r10 - 8) = r1\n\
                  r2 = r10\nr2 += -8\nr3 = r6\nld_pseudo r1, 1, 1\nr4 = 0\ncall 2\nr0 = 0\nexit";
    let delete = "r1 = 0\n*(u64 *)(r10 - 8) = r1\nr2 = r10\nr2 += -8\nld_pseudo r1, 1, 1\ncall 3\n\
                  r0 = 0\nexit";
    check(update, TC, &maps, None);
    check(delete, TC, &maps, None);
    check(delete, ProgType::Other(13), &maps, None);
    let raw_tp = ProgType::Other(17);
    check(
        delete,
        raw_tp,
        &maps,
        Some("cannot update sockmap in this context"),
    );
    let stack_value = "r1 = 0\n*(u64 *)(r10 - 8) = r1\nr2 = r10\nr2 += -8\nr3 = r10\nr3 += -8\n\
                       ld_pseudo r1, 1, 1\nr4 = 0\ncall 2\nr0 = 0\nexit";
    check(
        stack_value,
        TC,
        &maps,
        Some("R3 type=fp expected=sock_common"),
    );
}

#[test]
fn socket_storage() {
    let maps = [map(map_type::SK_STORAGE, 4, 8)];
    // r0 = bpf_sk_fullsock(skb->sk), non-null, then bpf_sk_storage_get(map, sk, VALUE, 1).
    let get = |value: &str| {
        format!(
            "r2 = 0\n*(u64 *)(r10 - 8) = r2\nr1 = *(u64 *)(r1 + 168)\nif r1 != 0 goto +2\nr0 = 0\n\
             exit\ncall 95\nif r0 != 0 goto +2\nr0 = 0\nexit\nr4 = 1\n{value}\nr2 = r0\n\
             ld_pseudo r1, 1, 1\ncall 107\nif r0 == 0 goto +1\nr0 = *(u64 *)(r0 + 0)\nr0 = 0\nexit"
        )
    };
    check(&get("r3 = 0"), TC, &maps, None);
    check(&get("r3 = r10\nr3 += -8"), TC, &maps, None);
    check(
        &get("r3 = 1"),
        TC,
        &maps,
        Some("R3 type=scalar expected=fp"),
    );
    // The storage map is reached only through its helpers, and they need it.
    let lookup = "r1 = 0\n*(u64 *)(r10 - 8) = r1\nr2 = r10\nr2 += -8\nld_pseudo r1, 1, 1\n\
                  call 1\nr0 = 0\nexit";
    check(
        lookup,
        TC,
        &maps,
        Some("cannot pass map_type 24 into func bpf_map_lookup_elem#1"),
    );
    check(
        &get("r3 = 0"),
        TC,
        &[map(map_type::HASH, 4, 8)],
        Some("cannot pass map_type 1 into func bpf_sk_storage_get#107"),
    );
}

#[test]
fn xdp_buffer_helpers() {
    // bpf_xdp_load_bytes into the stack, bpf_xdp_store_bytes from it, bpf_xdp_get_buff_len.
    let ok = "r6 = r1\nr2 = 0\nr3 = r10\nr3 += -8\nr4 = 8\ncall 189\nr1 = r6\nr2 = 0\n\
              r3 = r10\nr3 += -8\nr4 = 8\ncall 190\nr1 = r6\ncall 188\nr0 = 2\nexit";
    check(ok, XDP, &[], None);
    // Storing uninitialised stack (refused by userbpf's default; the kernel allows it with
    // CAP_PERFMON, so it is not loaded there), and from tc.
    let uninit = "r2 = 0\nr3 = r10\nr3 += -8\nr4 = 8\ncall 190\nr0 = 2\nexit";
    let e = run(uninit, XDP, &[], Options::default()).unwrap_err();
    assert!(
        e.message.contains("invalid indirect read from stack"),
        "{}",
        e.message
    );
    check(
        "r2 = 0\nr3 = r10\nr3 += -8\nr4 = 8\ncall 189\nr0 = 0\nexit",
        TC,
        &[],
        Some("cannot use helper bpf_xdp_load_bytes#189"),
    );
}

#[test]
fn sock_ops_socket_map_updates() {
    let sock_ops = ProgType::Other(13);
    let update = |helper: u32, ctx_off: u32| {
        format!(
            "r6 = r1\nr6 += {ctx_off}\nr1 = 0\n*(u64 *)(r10 - 8) = r1\nr1 = r6\nr3 = r10\n\
             r3 += -8\nld_pseudo r2, 1, 1\nr4 = 0\ncall {helper}\nr0 = 1\nexit"
        )
    };
    check(
        &update(53, 0),
        sock_ops,
        &[map(map_type::SOCKMAP, 4, 4)],
        None,
    );
    check(
        &update(70, 0),
        sock_ops,
        &[map(map_type::SOCKHASH, 4, 4)],
        None,
    );
    check(
        &update(53, 0),
        sock_ops,
        &[map(map_type::ARRAY, 4, 4)],
        Some("cannot pass map_type 2 into func bpf_sock_map_update#53"),
    );
    check(
        &update(53, 8),
        sock_ops,
        &[map(map_type::SOCKMAP, 4, 4)],
        Some("dereference of modified ctx ptr R1 off=8 disallowed"),
    );
    check(
        &update(53, 0),
        TC,
        &[map(map_type::SOCKMAP, 4, 4)],
        Some("cannot use helper bpf_sock_map_update#53"),
    );
}

#[test]
fn map_pointer_plus_known_zero() {
    let maps = [map(map_type::HASH, 4, 8)];
    let lookup = |math: &str| {
        format!("r0 = 0\n*(u64 *)(r10 - 8) = r0\nr2 = r10\nr2 += -8\n{math}\ncall 1\nr0 = 0\nexit")
    };
    check(
        &lookup("r0 = 0\nld_pseudo r1, 1, 1\nr1 += r0"),
        XDP,
        &maps,
        None,
    );
    check(
        &lookup("r1 = 0\nld_pseudo r0, 1, 1\nr1 += r0"),
        XDP,
        &maps,
        None,
    );
    check(
        &lookup("r0 = 8\nld_pseudo r1, 1, 1\nr1 += r0"),
        XDP,
        &maps,
        Some("R1 pointer arithmetic on map_ptr prohibited"),
    );
    check(
        &lookup("r0 = 0\nld_pseudo r1, 1, 1\nr1 -= r0"),
        XDP,
        &maps,
        Some("R1 pointer arithmetic on map_ptr prohibited"),
    );
}

#[test]
fn failed_legacy_packet_load_returns_from_the_subprogram() {
    // A failed LD_ABS/LD_IND returns 0 from the function it is in: the caller sees r0 == 0
    // with r9 never written. (Not loaded into the kernel: it wants BTF for LD_ABS in
    // subprograms.)
    let sk = ProgType::SocketFilter;
    let code = |tail: &str| {
        format!(
            "r9 = 1\ncall f\nif r0 != 0 goto +1\n{tail}\nr0 = 0\nexit\nf:\nr9 = 2\nr6 = r1\n\
             r0 = *(u8 *)skb[0]\nr0 = 1\nexit"
        )
    };
    run(&code("r0 = r9"), sk, &[], Options::default()).expect("r9 set before the call");
    let no_r9 = "call f\nif r0 != 0 goto +1\nr0 = r9\nr0 = 0\nexit\nf:\nr6 = r1\n\
                 r2 = 3\nr0 = *(u16 *)skb[r2]\nr0 = 1\nexit";
    let e = run(no_r9, sk, &[], Options::default()).unwrap_err();
    assert_eq!(e.message, "R9 !read_ok");
}
