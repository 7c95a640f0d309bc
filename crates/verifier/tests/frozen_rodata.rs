//! Loads from frozen read-only maps (`.rodata`, which libbpf freezes): a load at a constant
//! offset gives the known value there, as the kernel's `bpf_map_direct_read`, so that
//! configuration constants (Cilium's `ETH_HLEN` in `.rodata.config`) bound packet accesses.
//! Every other load from a map value stays an unknown scalar.

mod common;

use std::sync::Arc;

use common::run;
use userbpf_verifier::input::BPF_F_RDONLY_PROG;
use userbpf_verifier::{map_type, MapInfo, Options, ProgType};

/// A one-element array of 16 bytes: 14 (u8) at 0, 0xfffe (u16) at 2, -1 (u8) at 4.
fn rodata(flags: u32, frozen: bool) -> MapInfo {
    let mut value = vec![0u8; 16];
    value[0] = 14;
    value[2..4].copy_from_slice(&0xfffeu16.to_le_bytes());
    value[4] = 0xff;
    MapInfo {
        map_type: map_type::ARRAY,
        key_size: 4,
        value_size: 16,
        max_entries: 1,
        flags,
        fd: None,
        inner_map: None,
        frozen: frozen.then(|| Arc::from(value)),
    }
}

/// `r1 = &map[0] + 0`, load, then `bad` (a read of uninitialised r5) unless the value is `v`.
fn expect_value(load: &str, v: i64) -> String {
    format!("ld_pseudo r1, 6, 0, 0\n{load}\nif r2 == {v} goto +1\nr0 = r5\nr0 = 0\nexit")
}

const XDP: ProgType = ProgType::Xdp;

/// The packet is read at `data + eth_hlen - 2` after checking `data + eth_hlen` against the
/// end, where `eth_hlen` comes from the frozen map.
const PACKET: &str = "r6 = r1
ld_pseudo r1, 6, 0, 0
r2 = *(u8 *)(r1 + 0)
r3 = *(u32 *)(r6 + 0)
r4 = *(u32 *)(r6 + 4)
r5 = r3
r5 += r2
if r5 > r4 goto +1
r0 = *(u16 *)(r3 + 12)
r0 = 2
exit";

#[test]
fn constant_loads_from_frozen_maps_are_known() {
    let maps = [rodata(BPF_F_RDONLY_PROG, true)];
    let opts = Options::default();
    for (load, v) in [
        ("r2 = *(u8 *)(r1 + 0)", 14),
        ("r2 = *(u16 *)(r1 + 2)", 0xfffe),
        ("r2 = *(u32 *)(r1 + 4)", 0xff),
        ("r2 = *(u64 *)(r1 + 0)\nr2 >>= 16", 0xff_fffe),
        ("r2 = *(s8 *)(r1 + 4)", -1),
        ("r2 = *(u8 *)(r1 + 4)", 0xff),
    ] {
        if let Err(e) = run(&expect_value(load, v), XDP, &maps, opts) {
            panic!("{load}: {}", e.message);
        }
    }
    run(PACKET, XDP, &maps, opts).expect("packet bounded by the frozen constant");
}

#[test]
fn other_map_loads_stay_unknown() {
    let opts = Options::default();
    // Not frozen, or writable by programs: the value may change after verification.
    for maps in [[rodata(BPF_F_RDONLY_PROG, false)], [rodata(0, true)]] {
        let e = run(&expect_value("r2 = *(u8 *)(r1 + 0)", 14), XDP, &maps, opts).unwrap_err();
        assert_eq!(e.message, "R5 !read_ok");
        let e = run(PACKET, XDP, &maps, opts).unwrap_err();
        assert!(
            e.message.starts_with("invalid access to packet"),
            "{}",
            e.message
        );
    }
    // A variable offset into a frozen map: unknown.
    let maps = [rodata(BPF_F_RDONLY_PROG, true)];
    let var = "call 7\nr0 &= 1\nld_pseudo r1, 6, 0, 0\nr1 += r0\nr2 = *(u8 *)(r1 + 0)\n\
               if r2 == 14 goto +1\nr0 = r5\nr0 = 0\nexit";
    assert_eq!(
        run(var, XDP, &maps, opts).unwrap_err().message,
        "R5 !read_ok"
    );
    // Writes stay forbidden.
    let write = "ld_pseudo r1, 6, 0, 0\n*(u8 *)(r1 + 0) = 1\nr0 = 0\nexit";
    assert_eq!(
        run(write, XDP, &maps, opts).unwrap_err().message,
        "write into map forbidden"
    );
}

/// Cilium's `bpf_host.o` bounds packet reads with `ETH_HLEN` from `.rodata.config`: accepted
/// with `.rodata` frozen as libbpf does, rejected when its contents may still change.
#[test]
fn cilium_config_constants_from_the_object() {
    use userbpf_object::Object;
    use userbpf_verifier::{object_input, verify};
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/corpus/ebpf-samples/cilium-core/bpf_host.o");
    let Ok(bytes) = std::fs::read(&path) else {
        eprintln!("skipped: {} not found", path.display());
        return;
    };
    let object = Object::parse(&bytes).expect("parse bpf_host.o");
    let p = object.program("tail_srv6_encap").expect("tail_srv6_encap");
    let frozen = object_input::map_infos(&object);
    let mut input = object_input::input_for(p, &frozen);
    input.prog_type = ProgType::SchedCls;
    if let Err(e) = verify(&input) {
        panic!("rejected with frozen .rodata at {}: {}", e.insn, e.message);
    }
    let open: Vec<_> = frozen
        .iter()
        .cloned()
        .map(|mut m| {
            m.frozen = None;
            m
        })
        .collect();
    let mut input = object_input::input_for(p, &open);
    input.prog_type = ProgType::SchedCls;
    let e = verify(&input).expect_err("rejected without frozen .rodata");
    assert!(
        e.message.starts_with("invalid access to packet"),
        "{}",
        e.message
    );
}
