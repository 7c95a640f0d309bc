//! Socket pointers: `__sk_buff.sk` (sock_common or NULL), the lookup helpers (acquired
//! references that must be released), the casts `bpf_sk_fullsock` / `bpf_tcp_sock` (which
//! carry the reference of their argument), field reads of `struct bpf_sock` and
//! `struct bpf_tcp_sock`, and the kernel's rules around them. Each case is also loaded into
//! the running kernel when bpf() is available and must get the same verdict.

mod common;

use common::{kernel, run};
use userbpf_verifier::{map_type, MapInfo, Options, ProgType};

const TC: ProgType = ProgType::SchedCls;
const CG_SKB: ProgType = ProgType::Other(8);

/// r6 = skb->sk, null-checked (exit with 0 when NULL).
const SK: &str = "r6 = *(u64 *)(r1 + 168)\nif r6 != 0 goto +2\nr0 = 0\nexit\n";
/// A zeroed 36-byte tuple at fp-40, then `r0 = bpf_sk_lookup_tcp(ctx, tuple, 36, -1, 0)`.
const LOOKUP: &str = "r6 = r1\nr2 = 0\n*(u64 *)(r10 - 40) = r2\n*(u64 *)(r10 - 32) = r2\n\
    *(u64 *)(r10 - 24) = r2\n*(u64 *)(r10 - 16) = r2\n*(u64 *)(r10 - 8) = r2\n\
    r1 = r6\nr2 = r10\nr2 += -40\nr3 = 36\nr4 = -1\nr5 = 0\ncall 84\n";

struct Case {
    name: &'static str,
    pt: ProgType,
    code: String,
    /// `None`: accepted; `Some(m)`: rejected with a message containing `m`.
    expect: Option<&'static str>,
}

fn case(name: &'static str, pt: ProgType, code: String, expect: Option<&'static str>) -> Case {
    Case {
        name,
        pt,
        code,
        expect,
    }
}

fn cases() -> Vec<Case> {
    vec![
        case(
            "skb->sk field after null check",
            TC,
            format!("{SK}r0 = *(u32 *)(r6 + 4)\nr0 = *(u16 *)(r6 + 48)\nr0 = 0\nexit"),
            None,
        ),
        case(
            "skb->sk without null check",
            TC,
            "r6 = *(u64 *)(r1 + 168)\nr0 = *(u32 *)(r6 + 4)\nr0 = 0\nexit".into(),
            Some("R6 invalid mem access 'sock_common_or_null'"),
        ),
        case(
            "skb->sk read narrowly",
            TC,
            "r6 = *(u32 *)(r1 + 168)\nr0 = 0\nexit".into(),
            Some("invalid bpf_context access"),
        ),
        case(
            "sock_common has no type field",
            TC,
            format!("{SK}r0 = *(u32 *)(r6 + 8)\nr0 = 0\nexit"),
            Some("invalid sock_common access off=8 size=4"),
        ),
        case(
            "write into sock_common",
            TC,
            format!("{SK}r0 = 1\n*(u32 *)(r6 + 4) = r0\nr0 = 0\nexit"),
            Some("cannot write into sock_common"),
        ),
        case(
            "arithmetic on sock_common",
            TC,
            format!("{SK}r6 += 4\nr0 = *(u32 *)(r6 + 0)\nr0 = 0\nexit"),
            Some("pointer arithmetic on sock_common prohibited"),
        ),
        case(
            "fullsock type field",
            CG_SKB,
            format!("{SK}r1 = r6\ncall 95\nif r0 == 0 goto +1\nr0 = *(u32 *)(r0 + 8)\nr0 = 1\nexit"),
            None,
        ),
        case(
            "fullsock without null check",
            CG_SKB,
            format!("{SK}r1 = r6\ncall 95\nr0 = *(u32 *)(r0 + 8)\nr0 = 1\nexit"),
            Some("invalid mem access 'sock_or_null'"),
        ),
        case(
            "tcp_sock byte counter",
            TC,
            format!("{SK}r1 = r6\ncall 96\nif r0 == 0 goto +1\nr0 = *(u64 *)(r0 + 80)\nr0 = 0\nexit"),
            None,
        ),
        case(
            "tcp_sock byte counter read narrowly",
            TC,
            format!("{SK}r1 = r6\ncall 96\nif r0 == 0 goto +1\nr0 = *(u32 *)(r0 + 80)\nr0 = 0\nexit"),
            Some("invalid tcp_sock access off=80 size=4"),
        ),
        case(
            "lookup then release",
            TC,
            format!("{LOOKUP}if r0 == 0 goto +2\nr1 = r0\ncall 86\nr0 = 0\nexit"),
            None,
        ),
        case(
            "lookup without release",
            TC,
            format!("{LOOKUP}r0 = 0\nexit"),
            Some("Unreleased reference"),
        ),
        case(
            "release of the NULL lookup result",
            TC,
            format!("{LOOKUP}r1 = r0\ncall 86\nr0 = 0\nexit"),
            Some("R1 type=sock_or_null"),
        ),
        case(
            "release of skb->sk",
            TC,
            format!("{SK}r1 = r6\ncall 86\nr0 = 0\nexit"),
            Some("must be referenced"),
        ),
        case(
            "use after release",
            TC,
            format!("{LOOKUP}if r0 == 0 goto +4\nr6 = r0\nr1 = r0\ncall 86\nr0 = *(u32 *)(r6 + 4)\nr0 = 0\nexit"),
            Some("invalid mem access 'scalar'"),
        ),
        case(
            // The cast being NULL does not release the socket it came from.
            "NULL fullsock of a looked-up socket keeps the reference",
            TC,
            format!("{LOOKUP}if r0 == 0 goto +6\nr7 = r0\nr1 = r0\ncall 95\nif r0 == 0 goto +2\n\
                     r1 = r0\ncall 86\nr0 = 0\nexit"),
            Some("Unreleased reference"),
        ),
        case(
            "release through the fullsock cast",
            TC,
            format!("{LOOKUP}if r0 == 0 goto +8\nr7 = r0\nr1 = r0\ncall 95\nif r0 == 0 goto +2\n\
                     r1 = r0\ngoto +1\nr1 = r7\ncall 86\nr0 = 0\nexit"),
            None,
        ),
        case(
            // Only a comparison with the immediate 0 resolves a maybe-null pointer.
            "null check against a register holding 0",
            TC,
            "r6 = *(u64 *)(r1 + 168)\nr2 = 0\nif r6 != r2 goto +2\nr0 = 0\nexit\n\
             r0 = *(u32 *)(r6 + 4)\nr0 = 0\nexit"
                .into(),
            Some("R6 invalid mem access 'sock_common_or_null'"),
        ),
        case(
            "lookup helpers are not for socket filters",
            ProgType::SocketFilter,
            format!("{LOOKUP}r0 = 0\nexit"),
            Some("cannot use helper bpf_sk_lookup_tcp#84"),
        ),
    ]
}

#[test]
fn socket_rules() {
    let mut failures = Vec::new();
    for c in cases() {
        let ours = run(&c.code, c.pt, &[], Options::default());
        match (&ours, c.expect) {
            (Ok(_), None) => {}
            (Err(e), Some(m)) if e.message.contains(m) => {}
            _ => failures.push(format!(
                "{}: expected {:?}, got {:?}",
                c.name,
                c.expect,
                ours.map_err(|e| e.message)
            )),
        }
        if let Some(k) = kernel(&c.code, c.pt) {
            if k.is_ok() != c.expect.is_none() {
                failures.push(format!("{}: the kernel disagrees: {k:?}", c.name));
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn tail_call_while_holding_a_socket() {
    let maps = [MapInfo {
        map_type: map_type::PROG_ARRAY,
        key_size: 4,
        value_size: 4,
        max_entries: 4,
        flags: 0,
        fd: Some(1),
        inner_map: None,
        frozen: None,
    }];
    let code = format!(
        "{LOOKUP}if r0 == 0 goto +7\nr7 = r0\nr1 = r6\nld_pseudo r2, 1, 1\nr3 = 0\ncall 12\n\
         r1 = r7\ncall 86\nr0 = 0\nexit"
    );
    let e = run(&code, TC, &maps, Options::default()).unwrap_err();
    assert_eq!(e.message, "tail_call would lead to reference leak");
}
