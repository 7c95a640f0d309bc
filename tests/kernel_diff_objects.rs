//! Differential test on whole objects: clang-19-compiled XDP, socket and tc programs
//! (`kernel_diff_src/*.c`) run in the kernel and in userbpf, comparing return values,
//! output packets and the final contents of every map.
//!
//! Takes the C sources; compiles each with `clang-19 -g -O2 -target bpf -mcpu=v3`, parses it
//! with `userbpf_object::Object::parse`, then for each case:
//!
//! - kernel: `userbpf_kernel::load_object` (a mini libbpf), the case's map pre-population,
//!   one `BPF_PROG_TEST_RUN` (repeat 1) per input packet, then every map read back through
//!   `bpf()` ([`KernelObject::dump_map`]); the case's own expectations (return values, some
//!   map values) are asserted, so the kernel side checks the test programs themselves;
//! - userbpf: the same through [`run_userbpf`];
//! - the two [`Outcome`]s are compared after normalising what legitimately differs: per-CPU
//!   values are summed lane by lane (u64) over CPUs (which CPU ran is not the program's
//!   choice), program-array and map-in-map values (kernel ids) become program and map names,
//!   keyed entries are sorted by key. Queue/stack elements and ringbuf records keep their
//!   order. Bloom filters and perf event arrays cannot be listed; their programs record
//!   helper results in arrays instead.
//!
//! Prints one line per case and a summary (programs run on the kernel, compared,
//! mismatches, skipped). Prints "skipped: ..." and passes without clang-19 or `bpf()`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use userbpf_kernel::{available, is_percpu, map_type, possible_cpus, KernelObject};
use userbpf_object::Object;

// ---------------------------------------------------------------------------------------
// Packets

const MAC_A: [u8; 6] = [0x02, 0, 0, 0, 0, 0x0a];
const MAC_B: [u8; 6] = [0x02, 0, 0, 0, 0, 0x0b];

fn checksum(bytes: &[u8], seed: u32) -> u16 {
    let mut sum = seed;
    for chunk in bytes.chunks(2) {
        let word = u16::from_be_bytes([chunk[0], *chunk.get(1).unwrap_or(&0)]);
        sum += u32::from(word);
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

fn ether(proto: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(14 + payload.len());
    f.extend_from_slice(&MAC_B);
    f.extend_from_slice(&MAC_A);
    f.extend_from_slice(&proto.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

fn ipv4(src: [u8; 4], dst: [u8; 4], proto: u8, ttl: u8, l4: &[u8]) -> Vec<u8> {
    let total = 20 + l4.len();
    let mut h = vec![0x45, 0];
    h.extend_from_slice(&(total as u16).to_be_bytes());
    h.extend_from_slice(&[0x12, 0x34, 0x40, 0, ttl, proto, 0, 0]);
    h.extend_from_slice(&src);
    h.extend_from_slice(&dst);
    let c = checksum(&h, 0);
    h[10..12].copy_from_slice(&c.to_be_bytes());
    h.extend_from_slice(l4);
    h
}

fn pseudo_sum(src: [u8; 4], dst: [u8; 4], proto: u8, len: usize) -> u32 {
    let mut p = Vec::new();
    p.extend_from_slice(&src);
    p.extend_from_slice(&dst);
    p.extend_from_slice(&[0, proto]);
    p.extend_from_slice(&(len as u16).to_be_bytes());
    u32::from(!checksum(&p, 0))
}

fn udp(src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16, ttl: u8, payload: &[u8]) -> Vec<u8> {
    let len = 8 + payload.len();
    let mut u = Vec::new();
    u.extend_from_slice(&sport.to_be_bytes());
    u.extend_from_slice(&dport.to_be_bytes());
    u.extend_from_slice(&(len as u16).to_be_bytes());
    u.extend_from_slice(&[0, 0]);
    u.extend_from_slice(payload);
    let c = checksum(&u, pseudo_sum(src, dst, 17, len));
    u[6..8].copy_from_slice(&(if c == 0 { 0xffff } else { c }).to_be_bytes());
    ether(0x0800, &ipv4(src, dst, 17, ttl, &u))
}

const SYN: u8 = 0x02;
const ACK: u8 = 0x10;
const PSH: u8 = 0x08;

fn tcp(src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16, flags: u8, payload: &[u8]) -> Vec<u8> {
    let mut t = Vec::new();
    t.extend_from_slice(&sport.to_be_bytes());
    t.extend_from_slice(&dport.to_be_bytes());
    t.extend_from_slice(&1000u32.to_be_bytes());
    t.extend_from_slice(&(if flags & ACK != 0 { 77u32 } else { 0 }).to_be_bytes());
    t.extend_from_slice(&[0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
    t.extend_from_slice(payload);
    let c = checksum(&t, pseudo_sum(src, dst, 6, t.len()));
    t[16..18].copy_from_slice(&c.to_be_bytes());
    ether(0x0800, &ipv4(src, dst, 6, 64, &t))
}

fn arp() -> Vec<u8> {
    let mut a = vec![0, 1, 8, 0, 6, 4, 0, 1];
    a.extend_from_slice(&MAC_A);
    a.extend_from_slice(&[10, 0, 0, 1]);
    a.extend_from_slice(&[0; 6]);
    a.extend_from_slice(&[10, 0, 0, 2]);
    ether(0x0806, &a)
}

const H1: [u8; 4] = [10, 0, 0, 1];
const H2: [u8; 4] = [10, 0, 0, 2];
const H3: [u8; 4] = [10, 1, 2, 3];
const WEB: [u8; 4] = [192, 168, 1, 10];

fn dns() -> Vec<u8> {
    udp(H1, H2, 1234, 53, 64, b"hello world, this is a dns query")
}

fn dns_from(src: [u8; 4]) -> Vec<u8> {
    udp(src, H2, 1234, 53, 64, b"hello world, this is a dns query")
}

fn discard() -> Vec<u8> {
    udp(H1, H3, 999, 9, 64, b"to the discard port")
}

fn big_udp() -> Vec<u8> {
    let payload: Vec<u8> = (1..=120u8).collect();
    udp(H3, H2, 4321, 8080, 20, &payload)
}

fn syn() -> Vec<u8> {
    tcp(H1, WEB, 40000, 80, SYN, b"")
}

fn syn_from(src: [u8; 4]) -> Vec<u8> {
    tcp(src, WEB, 40000, 80, SYN, b"")
}

fn http() -> Vec<u8> {
    tcp(H1, WEB, 40000, 80, ACK | PSH, b"GET / HTTP/1.0\r\n\r\n")
}

fn vxlan() -> Vec<u8> {
    let mut payload = vec![0x08, 0, 0, 0, 0, 0, 0x2a, 0];
    payload.extend_from_slice(&udp(H3, WEB, 7, 7, 33, b"inner frame"));
    udp(H1, H2, 50000, 4789, 64, &payload)
}

// ---------------------------------------------------------------------------------------
// Cases

/// Map contents written before the first run.
#[derive(Clone, Debug)]
enum Setup {
    /// `bpf_map_update_elem(map, key, value, BPF_ANY)`; for per-CPU maps `value` is given
    /// to every CPU (so what a program sees does not depend on the CPU it runs on).
    Update {
        map: &'static str,
        key: Vec<u8>,
        value: Vec<u8>,
    },
    /// Push onto a queue, stack or bloom filter.
    Push { map: &'static str, value: Vec<u8> },
    /// Put a program of the object into a program array.
    ProgArray {
        map: &'static str,
        index: u32,
        program: &'static str,
    },
}

/// A check of the kernel's final map contents (normalised): map, key, expected value.
type MapCheck = (&'static str, Vec<u8>, Vec<u8>);

struct Case {
    /// Source file in `kernel_diff_src/`.
    file: &'static str,
    /// Program (function) to run.
    program: &'static str,
    /// Packets, run one after the other on the same maps.
    inputs: Vec<Vec<u8>>,
    setup: Vec<Setup>,
    /// The kernel's return value for each input (a prefix when the last results are
    /// left to the kernel: see `kernel_defined_tail`).
    retvals: Vec<u32>,
    /// Inputs at the end whose results are only compared, not asserted (LRU eviction
    /// order is the kernel's to define).
    unasserted_tail: usize,
    /// Expected normalised values in the kernel's final maps.
    checks: Vec<MapCheck>,
}

fn u32b(v: u32) -> Vec<u8> {
    v.to_ne_bytes().to_vec()
}
fn u64b(v: u64) -> Vec<u8> {
    v.to_ne_bytes().to_vec()
}
fn i64b(v: i64) -> Vec<u8> {
    v.to_ne_bytes().to_vec()
}

const XDP_ABORTED: u32 = 0;
const XDP_DROP: u32 = 1;
const XDP_PASS: u32 = 2;
const XDP_TX: u32 = 3;
const XDP_REDIRECT: u32 = 4;
const TC_ACT_OK: u32 = 0;
const TC_ACT_SHOT: u32 = 2;
const TC_ACT_UNSPEC: u32 = u32::MAX;
const TC_ACT_REDIRECT: u32 = 7;

const ENOENT: i64 = -2;
const E2BIG: i64 = -7;
const EACCES: i64 = -13;
const EFAULT: i64 = -14;
const EEXIST: i64 = -17;
const EINVAL: i64 = -22;

fn case(
    file: &'static str,
    program: &'static str,
    inputs: Vec<Vec<u8>>,
    retvals: Vec<u32>,
) -> Case {
    Case {
        file,
        program,
        inputs,
        setup: Vec::new(),
        retvals,
        unasserted_tail: 0,
        checks: Vec::new(),
    }
}

impl Case {
    fn setup(mut self, s: Setup) -> Case {
        self.setup.push(s);
        self
    }
    fn kernel_defined_tail(mut self, n: usize) -> Case {
        self.unasserted_tail = n;
        self
    }
    fn check(mut self, map: &'static str, key: Vec<u8>, value: Vec<u8>) -> Case {
        self.checks.push((map, key, value));
        self
    }
}

fn lpm_key(prefix: u32, addr: [u8; 4]) -> Vec<u8> {
    let mut k = u32b(prefix);
    k.extend_from_slice(&addr);
    k
}

fn cases() -> Vec<Case> {
    let dns_len = dns().len() as u64;
    vec![
        case(
            "array_count.c",
            "array_count",
            vec![dns(), syn(), arp(), dns()],
            vec![XDP_PASS, XDP_TX, XDP_DROP, XDP_PASS],
        )
        .check(
            "proto_counts",
            u32b(17),
            [u64b(2), u64b(2 * dns_len)].concat(),
        )
        .check("misc", u32b(0), i64b(E2BIG))
        .check("misc", u32b(2), i64b(EEXIST)),
        case(
            "percpu_array.c",
            "percpu_array",
            vec![dns(), big_udp(), dns()],
            vec![XDP_PASS; 3],
        )
        .setup(Setup::Update {
            map: "stats",
            key: u32b(1),
            value: [u64b(5), u64b(0), u64b(0)].concat(),
        }),
        case(
            "hash_flows.c",
            "hash_flows",
            vec![dns(), dns(), discard(), syn(), big_udp(), http(), arp()],
            vec![
                XDP_PASS, XDP_TX, XDP_PASS, XDP_PASS, XDP_PASS, XDP_TX, XDP_PASS,
            ],
        )
        .check("results", u32b(1), i64b(EEXIST))
        .check("results", u32b(3), i64b(ENOENT))
        .check("results", u32b(6), i64b(ENOENT)),
        case(
            "percpu_hash.c",
            "percpu_hash",
            vec![dns(), dns(), discard(), syn(), arp()],
            vec![TC_ACT_OK, TC_ACT_OK, TC_ACT_SHOT, TC_ACT_SHOT, TC_ACT_OK],
        )
        .setup(Setup::Update {
            map: "port_bytes",
            key: 7u16.to_ne_bytes().to_vec(),
            value: u64b(1),
        })
        .setup(Setup::Update {
            map: "port_bytes",
            key: 8080u16.to_ne_bytes().to_vec(),
            value: u64b(1000),
        }),
        // 40 sources, each followed by a repeat of an earlier one (no eviction yet), then
        // 60 more sources (the 64-entry map evicts), then the first 8 again.
        case(
            "lru_hash.c",
            "lru_hash",
            (0..40u8)
                .flat_map(|i| [dns_from([10, 9, 0, i]), dns_from([10, 9, 0, i / 2])])
                .chain((0..60u8).map(|i| dns_from([10, 9, 1, i])))
                .chain((0..8u8).map(|i| dns_from([10, 9, 0, i])))
                .collect(),
            (0..40)
                .flat_map(|_| [XDP_PASS, XDP_DROP])
                .chain((0..60).map(|_| XDP_PASS))
                .collect(),
        )
        .kernel_defined_tail(8),
        case(
            "lru_percpu_hash.c",
            "lru_percpu_hash",
            vec![dns(), dns(), syn(), arp(), dns()],
            vec![
                TC_ACT_UNSPEC,
                TC_ACT_OK,
                TC_ACT_UNSPEC,
                TC_ACT_UNSPEC,
                TC_ACT_OK,
            ],
        ),
        case(
            "lpm_route.c",
            "lpm_route",
            vec![
                dns(),
                udp(H1, [10, 0, 0, 7], 1, 2, 64, b"x"),
                udp(H1, [10, 200, 0, 1], 1, 2, 64, b"x"),
                dns(),
                syn(),
                syn(),
                udp(H1, [10, 200, 0, 1], 1, 2, 64, b"x"),
                udp(H1, [172, 16, 0, 1], 1, 2, 64, b"x"),
                udp(H1, [172, 16, 0, 9], 1, 2, 64, b"x"),
            ],
            vec![
                XDP_PASS, XDP_DROP, XDP_TX, XDP_PASS, XDP_DROP, XDP_DROP, XDP_DROP, XDP_DROP,
                XDP_TX,
            ],
        )
        .setup(Setup::Update {
            map: "routes",
            key: lpm_key(8, [10, 0, 0, 0]),
            value: [u32b(XDP_TX), u32b(0)].concat(),
        })
        .setup(Setup::Update {
            map: "routes",
            key: lpm_key(24, [10, 0, 0, 0]),
            value: [u32b(XDP_DROP), u32b(0)].concat(),
        })
        .setup(Setup::Update {
            map: "routes",
            key: lpm_key(32, [10, 0, 0, 2]),
            value: [u32b(XDP_PASS), u32b(0)].concat(),
        })
        .setup(Setup::Update {
            map: "routes",
            key: lpm_key(16, [192, 168, 0, 0]),
            value: [u32b(XDP_DROP), u32b(0)].concat(),
        }),
        case(
            "queue.c",
            "queue",
            vec![dns(), syn(), big_udp(), arp(), dns(), dns(), big_udp()],
            vec![XDP_PASS; 7],
        )
        .setup(Setup::Push {
            map: "lengths",
            value: u32b(1),
        }),
        case(
            "stack.c",
            "stack",
            vec![dns(), big_udp(), discard(), syn(), dns(), syn()],
            vec![TC_ACT_OK; 6],
        ),
        case(
            "bloom.c",
            "bloom",
            vec![dns(), syn(), dns_from(H3), big_udp(), arp()],
            vec![XDP_PASS, XDP_DROP, XDP_PASS, XDP_DROP, XDP_PASS],
        )
        .setup(Setup::Push {
            map: "seen",
            value: H2.to_vec(),
        }),
        case(
            "ringbuf_output.c",
            "ringbuf_output",
            vec![dns(), syn(), arp()],
            vec![XDP_PASS; 3],
        )
        .check("out", u32b(2), u64b(4096)),
        case(
            "ringbuf_reserve.c",
            "ringbuf_reserve",
            vec![dns(), syn(), discard(), arp()],
            vec![TC_ACT_OK; 4],
        )
        .check("out", u32b(0), u64b(1))
        .check("out", u32b(1), u64b(2))
        .check("out", u32b(2), u64b(2)),
        case(
            "tail_call.c",
            "tail_call",
            vec![dns(), big_udp(), syn(), arp(), http()],
            vec![XDP_PASS, XDP_TX, XDP_DROP, XDP_ABORTED, XDP_DROP],
        )
        .setup(Setup::ProgArray {
            map: "jump",
            index: 7,
            program: "stage_final",
        })
        .check("hits", u32b(0), u64b(5))
        .check("hits", u32b(5), u64b(1)),
        case(
            "tc_tail_call.c",
            "tc_tail_call",
            vec![dns(), syn()],
            vec![102, 102],
        )
        .setup(Setup::ProgArray {
            map: "chain",
            index: 1,
            program: "tc_stage1",
        })
        .setup(Setup::ProgArray {
            map: "chain",
            index: 2,
            program: "tc_stage2",
        })
        .check("marks", u32b(2), u64b(123)),
        case(
            "array_of_maps.c",
            "array_of_maps",
            vec![dns(), syn(), dns(), arp()],
            vec![XDP_PASS, XDP_PASS, XDP_PASS, XDP_DROP],
        )
        .check("udp_counts", u32b(0), u64b(2)),
        case(
            "hash_of_maps.c",
            "hash_of_maps",
            vec![dns(), dns_from(H3), syn(), discard(), http()],
            vec![TC_ACT_OK, TC_ACT_OK, TC_ACT_OK, TC_ACT_SHOT, TC_ACT_OK],
        ),
        case("perf_event.c", "perf_event", vec![dns()], vec![XDP_DROP]).check(
            "out",
            u32b(0),
            i64b(ENOENT),
        ),
        case(
            "perf_event.c",
            "perf_event_tc",
            vec![dns()],
            vec![TC_ACT_OK],
        )
        .check("out", u32b(1), i64b(ENOENT)),
        case(
            "adjust_head.c",
            "adjust_head",
            vec![vxlan(), dns(), arp()],
            vec![XDP_TX, XDP_TX, XDP_PASS],
        )
        .check("out", u32b(0), i64b(EINVAL)),
        case(
            "adjust_tail.c",
            "adjust_tail",
            vec![big_udp(), syn(), arp()],
            vec![XDP_TX, XDP_TX, XDP_PASS],
        )
        .check("out", u32b(0), i64b(EINVAL)),
        case(
            "adjust_meta.c",
            "adjust_meta",
            vec![dns(), arp()],
            vec![XDP_PASS, XDP_PASS],
        )
        .check("out", u32b(2), i64b(EACCES))
        .check("out", u32b(3), i64b(EINVAL)),
        case(
            "csum_diff.c",
            "csum_diff",
            vec![dns(), syn(), arp()],
            vec![XDP_TX, XDP_TX, XDP_PASS],
        )
        .check("out", u32b(2), i64b(0)),
        case(
            "redirect.c",
            "redirect",
            vec![dns(), big_udp()],
            vec![XDP_REDIRECT, XDP_ABORTED],
        ),
        case(
            "redirect.c",
            "redirect_tc",
            vec![dns(), big_udp()],
            vec![TC_ACT_REDIRECT, TC_ACT_SHOT],
        ),
        case(
            "redirect_map.c",
            "redirect_map",
            vec![dns(), big_udp()],
            vec![XDP_DROP, XDP_PASS],
        ),
        case(
            "skb_load_store.c",
            "skb_load_store",
            vec![dns(), syn()],
            vec![TC_ACT_OK, TC_ACT_SHOT],
        )
        .check("out", u32b(4), i64b(EFAULT))
        .check("out", u32b(6), i64b(EFAULT)),
        case(
            "l3_l4_csum.c",
            "l3_l4_csum",
            vec![dns(), http(), arp()],
            vec![TC_ACT_OK; 3],
        )
        .check("out", u32b(6), i64b(EINVAL))
        .check("out", u32b(7), i64b(EFAULT)),
        case(
            "socket_filter.c",
            "socket_filter",
            vec![dns(), discard(), syn(), dns()],
            vec![dns().len() as u32 - 14, 64, 0, dns().len() as u32 - 14],
        )
        .check("info", u32b(2), u64b(0x45)),
        case(
            "socket_ld_abs.c",
            "socket_ld_abs",
            vec![dns(), syn(), http()],
            vec![0, u32::MAX, u32::MAX],
        ),
        case(
            "bpf_loop.c",
            "bpf_loop_prog",
            vec![dns(), big_udp()],
            vec![XDP_PASS, XDP_PASS],
        )
        // The verifier inlines bpf_loop (flags 0, known callback) and its inlined code
        // sets the error with a 32-bit move: -E2BIG arrives zero-extended.
        .check("out", u32b(2), u64b(E2BIG as u32 as u64))
        .check("out", u32b(3), i64b(EINVAL)),
        case(
            "for_each.c",
            "for_each",
            vec![dns(), big_udp(), syn(), arp()],
            vec![TC_ACT_OK; 4],
        )
        .setup(Setup::Update {
            map: "table",
            key: u32b(100),
            value: u64b(5),
        })
        .setup(Setup::Update {
            map: "arr",
            key: u32b(1),
            value: u64b(3),
        }),
        case(
            "snprintf_strncmp.c",
            "snprintf_strncmp",
            vec![dns(), syn()],
            vec![XDP_PASS, XDP_PASS],
        ),
        case(
            "trace_printk.c",
            "trace_printk",
            vec![dns()],
            vec![XDP_PASS],
        ),
        case(
            "global_data.c",
            "global_data",
            vec![dns(), big_udp(), arp(), dns()],
            vec![XDP_PASS, XDP_DROP, XDP_PASS, XDP_PASS],
        ),
        case(
            "subprog_calls.c",
            "subprog_calls",
            vec![dns(), arp(), big_udp()],
            vec![TC_ACT_OK, TC_ACT_SHOT, TC_ACT_OK],
        ),
        case(
            "time_random_cpu.c",
            "time_random_cpu",
            vec![dns()],
            vec![XDP_PASS],
        )
        .check("out", u32b(0), u64b(1))
        .check("out", u32b(5), u64b(1))
        .check("out", u32b(6), u64b(1)),
        case("probe_read.c", "probe_read", vec![dns()], vec![TC_ACT_OK])
            .check("out", u32b(2), i64b(8))
            .check("out", u32b(4), i64b(EFAULT))
            .check("out", u32b(5), i64b(0)),
        case(
            "current_task.c",
            "current_task",
            vec![dns()],
            vec![XDP_PASS],
        ),
        case(
            "current_task.c",
            "current_task_socket",
            vec![dns()],
            vec![0],
        ),
        case(
            "tcp_flags.c",
            "tcp_flags",
            vec![syn(), syn(), http(), syn(), syn_from(H3), syn(), dns()],
            vec![
                XDP_PASS, XDP_PASS, XDP_PASS, XDP_DROP, XDP_PASS, XDP_DROP, XDP_PASS,
            ],
        ),
    ]
}

// ---------------------------------------------------------------------------------------
// Outcomes

/// One run: what BPF_PROG_TEST_RUN reports.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Run {
    retval: u32,
    data_out: Vec<u8>,
}

/// Map contents after normalisation.
type Maps = BTreeMap<String, Vec<(Vec<u8>, Vec<u8>)>>;

/// Everything a case produced.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Outcome {
    runs: Vec<Run>,
    maps: Maps,
}

/// Per-CPU values reduced to one value: lane by lane (u64 lanes, wrapping), the sum over
/// CPUs of each CPU's change from `base` (the value the case's setup gave every CPU, zero
/// otherwise), plus `base` once. This does not depend on the number of CPUs nor on which
/// CPU ran the program.
fn sum_percpu(raw: &[u8], value_size: usize, base: Option<&[u8]>) -> Vec<u8> {
    let slot = value_size.next_multiple_of(8);
    let lanes = |bytes: &[u8]| -> Vec<u64> {
        let mut padded = bytes.to_vec();
        padded.resize(slot, 0);
        padded
            .chunks(8)
            .map(|c| u64::from_ne_bytes(c.try_into().unwrap()))
            .collect()
    };
    let base = lanes(base.unwrap_or(&[]));
    let mut acc = base.clone();
    for cpu in raw.chunks(slot) {
        for ((lane, v), b) in acc.iter_mut().zip(lanes(cpu)).zip(&base) {
            *lane = lane.wrapping_add(v.wrapping_sub(*b));
        }
    }
    let mut out: Vec<u8> = acc.iter().flat_map(|l| l.to_ne_bytes()).collect();
    out.truncate(value_size);
    out
}

/// The value `setup` gave `key` of per-CPU map `map`, if any.
fn setup_base<'a>(setup: &'a [Setup], map: &str, key: &[u8]) -> Option<&'a [u8]> {
    setup.iter().rev().find_map(|s| match s {
        Setup::Update {
            map: m,
            key: k,
            value,
        } if *m == map && k == key => Some(value.as_slice()),
        _ => None,
    })
}

/// One CPU's value repeated for every CPU (each slot rounded up to 8 bytes), `total`
/// bytes in all.
fn replicate(value: &[u8], total: usize) -> Vec<u8> {
    let slot = value.len().next_multiple_of(8).max(8);
    let mut out = vec![0u8; total];
    for chunk in out.chunks_mut(slot) {
        let n = value.len().min(chunk.len());
        chunk[..n].copy_from_slice(&value[..n]);
    }
    out
}

fn is_fd_map(t: u32) -> bool {
    matches!(
        t,
        map_type::PROG_ARRAY | map_type::ARRAY_OF_MAPS | map_type::HASH_OF_MAPS
    )
}

/// Sort keyed entries; keep keyless (queue, stack, ringbuf) order.
fn sort_entries(entries: &mut [(Vec<u8>, Vec<u8>)]) {
    if entries.iter().all(|(k, _)| !k.is_empty()) {
        entries.sort();
    }
}

// ---------------------------------------------------------------------------------------
// Kernel side

fn compile(src_dir: &Path, out_dir: &Path, file: &str) -> Result<PathBuf, String> {
    let out = out_dir.join(file.replace(".c", ".o"));
    let output = Command::new("clang-19")
        .args([
            "-g",
            "-O2",
            "-target",
            "bpf",
            "-mcpu=v3",
            "-Wall",
            "-Wno-unused-function",
        ])
        .arg("-I/usr/include/x86_64-linux-gnu")
        .arg("-I")
        .arg(src_dir)
        .arg("-c")
        .arg(src_dir.join(file))
        .arg("-o")
        .arg(&out)
        .output()
        .map_err(|e| format!("clang-19: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "clang-19 failed on {file}:\n{}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(out)
}

fn kernel_setup(loaded: &KernelObject, setup: &[Setup]) -> Result<(), String> {
    for s in setup {
        let r = match s {
            Setup::Update { map, key, value } => {
                let m = loaded.map(map).ok_or(format!("no map {map}"))?;
                let v = if is_percpu(m.map_type()) {
                    replicate(value, m.value_buf_size())
                } else {
                    value.clone()
                };
                m.update(key, &v, 0)
            }
            Setup::Push { map, value } => loaded
                .map(map)
                .ok_or(format!("no map {map}"))?
                .push(value, 0),
            Setup::ProgArray {
                map,
                index,
                program,
            } => loaded.set_prog_array(map, *index, program),
        };
        r.map_err(|e| format!("setup {s:?}: {e}"))?;
    }
    Ok(())
}

fn kernel_maps(object: &Object, loaded: &KernelObject, setup: &[Setup]) -> Result<Maps, String> {
    let mut maps = Maps::new();
    for spec in &object.maps {
        let mut entries = loaded
            .dump_map(&spec.name)
            .map_err(|e| format!("dump {}: {e}", spec.name))?;
        for (key, value) in entries.iter_mut() {
            if is_percpu(spec.map_type) {
                let base = setup_base(setup, &spec.name, key);
                *value = sum_percpu(value, spec.value_size as usize, base);
            } else if is_fd_map(spec.map_type) && value.len() == 4 {
                let id = u32::from_ne_bytes(value[..4].try_into().unwrap());
                let name = if spec.map_type == map_type::PROG_ARRAY {
                    loaded.program_name_of_id(id)
                } else {
                    loaded.map_name_of_id(id)
                };
                *value = name.unwrap_or("?").as_bytes().to_vec();
            }
        }
        sort_entries(&mut entries);
        maps.insert(spec.name.clone(), entries);
    }
    Ok(maps)
}

fn run_kernel(object: &Object, case: &Case) -> Result<Outcome, String> {
    let _pinned = PinnedToOneCpu::new();
    let loaded = userbpf_kernel::load_object(object).map_err(|e| e.to_string())?;
    kernel_setup(&loaded, &case.setup)?;
    let prog = loaded
        .program(case.program)
        .ok_or(format!("no program {}", case.program))?;
    let mut runs = Vec::new();
    for input in &case.inputs {
        let r = prog
            .test_run(input, 1, input.len() + 4096)
            .map_err(|e| format!("BPF_PROG_TEST_RUN: {e}"))?;
        runs.push(Run {
            retval: r.retval,
            data_out: r.data_out,
        });
    }
    Ok(Outcome {
        runs,
        maps: kernel_maps(object, &loaded, &case.setup)?,
    })
}

/// The case's own expectations on the kernel's outcome.
fn check_kernel(case: &Case, out: &Outcome) -> Vec<String> {
    let mut problems = Vec::new();
    let asserted = out.runs.len().saturating_sub(case.unasserted_tail);
    let got: Vec<u32> = out.runs[..asserted].iter().map(|r| r.retval).collect();
    if got != case.retvals {
        problems.push(format!("retvals {got:?}, expected {:?}", case.retvals));
    }
    for (map, key, value) in &case.checks {
        let found = out
            .maps
            .get(*map)
            .and_then(|e| e.iter().find(|(k, _)| k == key))
            .map(|(_, v)| v.clone());
        if found.as_ref() != Some(value) {
            problems.push(format!(
                "map {map} key {key:02x?}: {found:02x?}, expected {value:02x?}"
            ));
        }
    }
    problems
}

// ---------------------------------------------------------------------------------------
// userbpf side

/// Why userbpf gave no outcome.
#[derive(Debug)]
enum UserbpfError {
    /// The userbpf side cannot run this yet (the comparison is skipped).
    Unavailable(String),
    /// userbpf refused or failed a program the kernel ran (counted as a mismatch).
    Failed(String),
}

/// Run `program` of the object in userbpf: maps created fresh (`ObjectInstance::load`),
/// `setup` applied, the program prepared with the instance's map, callback and tail-call
/// helpers plus the kernel and packet helpers, its context accesses rewritten, one
/// `BPF_PROG_TEST_RUN`-style run per input (`test_run_program_with`), then every map read
/// back and normalised as on the kernel side.
///
/// # Errors
/// [`UserbpfError::Unavailable`] for what the userbpf side cannot do yet,
/// [`UserbpfError::Failed`] for load, preparation or run failures.
/// Run `program` on a fresh instance in the interpreter, or with `jit` in the JIT.
fn run_userbpf(
    object_bytes: &[u8],
    program: &str,
    inputs: &[Vec<u8>],
    setup: &[Setup],
    jit: bool,
) -> Result<Outcome, UserbpfError> {
    use std::sync::Arc;
    use userbpf_runtime::context::{ProgType, TestRunInput};
    use userbpf_runtime::instance::{LoadOptions, ObjectInstance};
    use userbpf_runtime::kernel_helpers;

    let failed =
        |what: &str, e: &dyn std::fmt::Display| UserbpfError::Failed(format!("{what}: {e}"));
    let object = Object::parse(object_bytes).map_err(|e| failed("Object::parse", &e))?;
    let spec = object
        .program(program)
        .ok_or_else(|| UserbpfError::Failed(format!("no program {program}")))?;
    let prog_type = ProgType::from_id(spec.prog_type.id())
        .ok_or_else(|| UserbpfError::Unavailable(format!("program type {:?}", spec.prog_type)))?;
    // A quiet helper environment: trace_printk output is not compared.
    let env = Arc::new(kernel_helpers::LocalEnv::default());
    let instance = ObjectInstance::load(&object, &LoadOptions::default())
        .map_err(|e| failed("ObjectInstance::load", &e))?;
    for s in setup {
        let r = match s {
            Setup::Update { map, key, value } => {
                instance.map(map).map_err(|e| e.to_string()).and_then(|m| {
                    let v = if is_percpu(object.map(map).map_or(0, |(_, s)| s.map_type)) {
                        replicate(value, m.user_value_size())
                    } else {
                        value.clone()
                    };
                    m.update(key, &v, 0).map_err(|e| e.to_string())
                })
            }
            Setup::Push { map, value } => instance
                .map(map)
                .map_err(|e| e.to_string())
                .and_then(|m| m.push(value, 0).map_err(|e| e.to_string())),
            Setup::ProgArray {
                map,
                index,
                program,
            } => instance
                .set_tail_call(map, *index, program)
                .map_err(|e| e.to_string()),
        };
        r.map_err(|e| UserbpfError::Failed(format!("setup {s:?}: {e}")))?;
    }
    let _ = (env, prog_type);
    let prepared = instance
        .program(program)
        .map_err(|e| failed("prepare", &e))?;
    let compiled = if jit {
        // SAFETY: the kernel's verifier accepted these programs (the kernel side ran them
        // before userbpf does), and they run on the contexts test_run builds.
        Some(
            unsafe {
                userbpf_jit::compile_prepared(&prepared, None, &userbpf_jit::JitOptions::default())
            }
            .map_err(|e| failed("JIT compile", &e))?,
        )
    } else {
        None
    };
    let mut runs = Vec::new();
    for (i, input) in inputs.iter().enumerate() {
        let test_input = TestRunInput {
            data_in: input,
            ctx_in: None,
            repeat: 1,
        };
        let run = match &compiled {
            Some(j) => j.test_run(&test_input),
            None => prepared.test_run(&test_input),
        }
        .map_err(|e| failed(&format!("input {i}"), &e))?;
        runs.push(Run {
            retval: run.retval,
            data_out: run.data_out,
        });
    }
    let maps = userbpf_maps(&object, &instance, setup).map_err(UserbpfError::Failed)?;
    Ok(Outcome { runs, maps })
}

/// Every map of the object read back from the instance, normalised as [`kernel_maps`].
fn userbpf_maps(
    object: &Object,
    instance: &userbpf_runtime::instance::ObjectInstance,
    setup: &[Setup],
) -> Result<Maps, String> {
    let names = instance.program_names();
    let map_name_of = |id: u32| {
        object
            .maps
            .iter()
            .find(|m| instance.map_id(&m.name).ok() == Some(id))
            .map(|m| m.name.clone())
    };
    let mut maps = Maps::new();
    for spec in &object.maps {
        let m = instance.map(&spec.name).map_err(|e| e.to_string())?;
        let err = |e: &dyn std::fmt::Display| format!("map {}: {e}", spec.name);
        let mut entries: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
        match spec.map_type {
            map_type::QUEUE | map_type::STACK => {
                while let Ok(v) = m.pop() {
                    entries.push((Vec::new(), v));
                }
            }
            map_type::RINGBUF => {
                m.ringbuf_consume(|r| entries.push((Vec::new(), r.to_vec())))
                    .map_err(|e| err(&e))?;
            }
            map_type::BLOOM_FILTER | map_type::PERF_EVENT_ARRAY => {}
            t if is_fd_map(t) => {
                for key in m.keys() {
                    let key = key.map_err(|e| err(&e))?;
                    if let Some(id) = m.lookup_id(&key) {
                        let name = if t == map_type::PROG_ARRAY {
                            names.get(id as usize).map(|n| n.to_string())
                        } else {
                            map_name_of(id)
                        };
                        entries.push((key, name.unwrap_or_else(|| "?".into()).into_bytes()));
                    }
                }
            }
            _ => {
                for key in m.keys() {
                    let key = key.map_err(|e| err(&e))?;
                    if let Ok(mut value) = m.lookup(&key) {
                        if is_percpu(spec.map_type) {
                            let base = setup_base(setup, &spec.name, &key);
                            value = sum_percpu(&value, spec.value_size as usize, base);
                        }
                        entries.push((key, value));
                    }
                }
            }
        }
        sort_entries(&mut entries);
        maps.insert(spec.name.clone(), entries);
    }
    Ok(maps)
}

// ---------------------------------------------------------------------------------------
// Comparison

/// Differences from the kernel that userbpf has today, by case, with what differs (a
/// `should_fail` list). Listed cases still run and print their differences; the test fails
/// on any other mismatch, and also when a listed case starts to match, so the list stays
/// current.
const KNOWN_DIFFERENCES: &[(&str, &str)] = &[];

fn known_difference(label: &str) -> Option<&'static str> {
    KNOWN_DIFFERENCES
        .iter()
        .find(|(l, _)| *l == label)
        .map(|(_, why)| *why)
}

fn describe_difference(kernel: &Outcome, ours: &Outcome) -> Vec<String> {
    let mut out = Vec::new();
    for (i, (k, u)) in kernel.runs.iter().zip(&ours.runs).enumerate() {
        if k.retval != u.retval {
            out.push(format!(
                "input {i}: retval kernel {} userbpf {}",
                k.retval, u.retval
            ));
        }
        if k.data_out != u.data_out {
            out.push(format!(
                "input {i}: data_out differs\n  kernel  {:02x?}\n  userbpf {:02x?}",
                k.data_out, u.data_out
            ));
        }
    }
    if kernel.runs.len() != ours.runs.len() {
        out.push(format!(
            "runs: kernel {} userbpf {}",
            kernel.runs.len(),
            ours.runs.len()
        ));
    }
    for (name, entries) in &kernel.maps {
        match ours.maps.get(name) {
            None => out.push(format!("map {name}: missing in userbpf")),
            Some(u) if u != entries => out.push(format!(
                "map {name} differs\n  kernel  {entries:02x?}\n  userbpf {u:02x?}"
            )),
            Some(_) => {}
        }
    }
    out
}

#[test]
fn kernel_diff_objects() {
    if Command::new("clang-19").arg("--version").output().is_err() {
        println!("skipped: clang-19 not found");
        return;
    }
    if let Err(why) = available() {
        println!("skipped: {why}");
        return;
    }
    let src_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("kernel_diff_src");
    let out_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("kernel_diff_src");
    std::fs::create_dir_all(&out_dir).unwrap();

    let cases = cases();
    let (mut kernel_ok, mut compared, mut skipped) = (0, 0, 0);
    let mut jit_same = 0;
    let mut failures = Vec::new();
    let mut mismatches = Vec::new();
    let mut compared_labels: Vec<String> = Vec::new();
    for case in &cases {
        let label = format!("{}:{}", case.file, case.program);
        let object_path = match compile(&src_dir, &out_dir, case.file) {
            Ok(p) => p,
            Err(e) => {
                failures.push(format!("{label}: {e}"));
                continue;
            }
        };
        let bytes = std::fs::read(&object_path).unwrap();
        let object = match Object::parse(&bytes) {
            Ok(o) => o,
            Err(e) => {
                failures.push(format!("{label}: Object::parse: {e}"));
                continue;
            }
        };
        let kernel = match run_kernel(&object, case) {
            Ok(k) => k,
            Err(e) => {
                failures.push(format!("{label}: kernel: {e}"));
                continue;
            }
        };
        let problems = check_kernel(case, &kernel);
        if !problems.is_empty() {
            failures.push(format!("{label}: kernel: {}", problems.join("; ")));
            println!("{label}: kernel outcome {kernel:02x?}");
            continue;
        }
        kernel_ok += 1;
        if std::env::var_os("KDIFF_VERBOSE").is_some() {
            println!("{label}: kernel outcome {kernel:02x?}");
        }
        // The JIT must do exactly what the interpreter does (known differences included).
        let interp = run_userbpf(&bytes, case.program, &case.inputs, &case.setup, false);
        let jit = run_userbpf(&bytes, case.program, &case.inputs, &case.setup, true);
        match (&interp, &jit) {
            (Ok(i), Ok(j)) => {
                let diff = describe_difference(i, j);
                if diff.is_empty() {
                    jit_same += 1;
                } else {
                    failures.push(format!(
                        "{label}: the JIT differs from the interpreter:\n  {}",
                        diff.join("\n  ")
                    ));
                }
            }
            (Err(UserbpfError::Unavailable(_)), _) => {}
            (Ok(_), Err(e)) => failures.push(format!("{label}: the JIT failed: {e:?}")),
            (Err(_), _) => {}
        }
        match interp {
            Err(UserbpfError::Failed(why)) => {
                compared += 1;
                compared_labels.push(label.clone());
                println!("{label}: MISMATCH: the kernel ran it, userbpf failed: {why}");
                mismatches.push(label);
            }
            Err(UserbpfError::Unavailable(why)) => {
                skipped += 1;
                println!(
                    "{label}: kernel ok ({} runs, retvals {:?}); comparison skipped (userbpf side: {why})",
                    kernel.runs.len(),
                    case.retvals
                );
            }
            Ok(ours) => {
                compared += 1;
                compared_labels.push(label.clone());
                let diff = describe_difference(&kernel, &ours);
                if diff.is_empty() {
                    println!("{label}: same in kernel and userbpf");
                } else {
                    println!("{label}: MISMATCH\n  {}", diff.join("\n  "));
                    mismatches.push(label);
                }
            }
        }
    }
    println!("kernel_diff_objects: the JIT agrees with the interpreter on {jit_same} cases");
    let programs: std::collections::BTreeSet<&str> = cases.iter().map(|c| c.file).collect();
    println!(
        "kernel_diff_objects: {} cases from {} programs ({} possible CPUs); kernel ok {}, \
         compared {}, mismatches {}, comparison skipped {}, failures {}",
        cases.len(),
        programs.len(),
        possible_cpus(),
        kernel_ok,
        compared,
        mismatches.len(),
        skipped,
        failures.len()
    );
    let (known, unexpected): (Vec<&String>, Vec<&String>) = mismatches
        .iter()
        .partition(|l| known_difference(l).is_some());
    for label in &known {
        println!(
            "known difference {label}: {}",
            known_difference(label).unwrap_or_default()
        );
    }
    let fixed: Vec<&str> = KNOWN_DIFFERENCES
        .iter()
        .map(|(l, _)| *l)
        .filter(|l| compared_labels.iter().any(|c| c == l) && !mismatches.iter().any(|m| m == l))
        .collect();
    println!(
        "kernel_diff_objects: mismatches: {} known, {} unexpected; known differences now \
         matching: {}",
        known.len(),
        unexpected.len(),
        fixed.len()
    );
    assert!(failures.is_empty(), "failures:\n{}", failures.join("\n"));
    assert!(
        unexpected.is_empty(),
        "unexpected mismatches: {unexpected:?}"
    );
    assert!(
        fixed.is_empty(),
        "these cases now match the kernel: remove them from KNOWN_DIFFERENCES: {fixed:?}"
    );
}

/// Keeps the calling thread on the CPU it is on while alive (kernel runs: LRU maps keep
/// per-CPU free lists, so which CPU runs decides when they evict); restores the previous
/// affinity on drop, so that userbpf (which sizes per-CPU maps from the parallelism
/// available to the process) is not affected.
struct PinnedToOneCpu {
    previous: Option<libc::cpu_set_t>,
}

impl PinnedToOneCpu {
    fn new() -> PinnedToOneCpu {
        let size = std::mem::size_of::<libc::cpu_set_t>();
        // SAFETY: sched_getaffinity/sched_getcpu/sched_setaffinity on the calling thread
        // with fully initialised cpu_set_t values of the size passed; no memory is shared.
        unsafe {
            let mut previous: libc::cpu_set_t = std::mem::zeroed();
            if libc::sched_getaffinity(0, size, &mut previous) != 0 {
                return PinnedToOneCpu { previous: None };
            }
            let cpu = libc::sched_getcpu();
            if cpu < 0 {
                return PinnedToOneCpu { previous: None };
            }
            let mut one: libc::cpu_set_t = std::mem::zeroed();
            libc::CPU_SET(cpu as usize, &mut one);
            if libc::sched_setaffinity(0, size, &one) != 0 {
                return PinnedToOneCpu { previous: None };
            }
            PinnedToOneCpu {
                previous: Some(previous),
            }
        }
    }
}

impl Drop for PinnedToOneCpu {
    fn drop(&mut self) {
        if let Some(previous) = &self.previous {
            // SAFETY: restores the affinity read in `new`, for the calling thread.
            unsafe {
                libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), previous);
            }
        }
    }
}
