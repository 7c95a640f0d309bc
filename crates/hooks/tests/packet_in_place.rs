//! Packets run in place (a verified XDP program that cannot write its packet runs on the
//! caller's bytes or on each record inside an in-memory pcap, nothing copied) give the same
//! results as packets copied into the hook's frame: per packet (verdict, return value,
//! packet, metadata, redirect target, error), per run (`run_pcap_bytes` summaries) and in
//! the maps at the end, for the four examples, both engines, on the example captures and
//! generated traffic. A program that writes its packet (xdp_lb) and an unverified program
//! never run in place.

#[path = "common/packet_setup.rs"]
mod packet_setup;

use std::path::PathBuf;
use std::time::Duration;

use userbpf_hooks::packet::traffic;
use userbpf_hooks::packet::{
    CaptureWriter, EngineKind, Format, PacketHook, PacketResult, Runner, Summary, Timestamp,
};
use userbpf_object::Object;
use userbpf_runtime::instance::ObjectInstance;

use packet_setup::{instance_with_setup, VIP};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn object(name: &str) -> Object {
    let bytes = std::fs::read(repo().join("examples").join(format!("{name}.bpf.o"))).unwrap();
    Object::parse(&bytes).unwrap()
}

/// A hook over a fresh instance (kept, to read its maps), copying packets unless
/// `in_place`.
fn hook(
    object: &Object,
    name: &str,
    engine: EngineKind,
    in_place: bool,
) -> (ObjectInstance, PacketHook) {
    let instance = instance_with_setup(object, name);
    let prepared = instance.program(name).unwrap();
    let runner = Runner::verified(object, prepared, Some(engine)).unwrap();
    assert_eq!(runner.kind(), engine, "{name}");
    let mut hook = PacketHook::with_runner(runner).unwrap();
    hook.set_in_place(in_place);
    (instance, hook)
}

fn packets(name: &str) -> Vec<Vec<u8>> {
    let mut packets = Vec::new();
    let pcap = repo().join("examples").join(format!("{name}.pcap"));
    if let Ok(bytes) = std::fs::read(pcap) {
        for p in userbpf_hooks::packet::read_all(&bytes).unwrap() {
            packets.push(p.data);
        }
    }
    for (i, mut p) in traffic::generate(11, 400).into_iter().enumerate() {
        if name == "xdp_lb" && p.len() >= 34 && p[12..14] == [8, 0] && i % 2 == 0 {
            p[30..34].copy_from_slice(&VIP);
        }
        packets.push(p);
    }
    // Too short to run, and too long for one frame.
    packets.push(vec![0xff; 10]);
    packets.push(vec![0; 4000]);
    packets
}

fn capture(packets: &[Vec<u8>]) -> Vec<u8> {
    let format = Format::Pcap {
        nanos: false,
        big_endian: false,
    };
    let mut w = CaptureWriter::new(Vec::new(), format).unwrap();
    for (i, p) in packets.iter().enumerate() {
        let ts = Timestamp {
            secs: 1_700_000_000 + i as u64,
            nanos: 0,
        };
        w.write(ts, p, p.len() as u32, 0, 1).unwrap();
    }
    w.finish().unwrap()
}

/// A map's name and its elements (key, value), sorted.
type MapDump = (String, Vec<(Vec<u8>, Vec<u8>)>);

/// Every map's elements, sorted.
fn maps(instance: &ObjectInstance) -> Vec<MapDump> {
    let mut all = Vec::new();
    for (name, map) in instance.maps() {
        let mut elems: Vec<_> = map.iter().collect::<Result<_, _>>().unwrap();
        elems.sort();
        all.push((name.to_string(), elems));
    }
    all.sort();
    all
}

fn run_each(hook: &mut PacketHook, packets: &[Vec<u8>]) -> Vec<PacketResult> {
    packets
        .iter()
        .map(|p| PacketResult {
            duration: Duration::ZERO,
            ..hook.run_packet(p)
        })
        .collect()
}

fn run_pcap(hook: &mut PacketHook, file: &[u8]) -> Summary {
    let mut summary = hook.run_pcap_bytes::<Vec<u8>>(file, None).unwrap();
    summary.run_time = Duration::ZERO;
    summary
}

#[test]
fn in_place_runs_match_copying_runs() {
    for (name, read_only) in [
        ("xdp_filter", true),
        ("xdp_firewall", true),
        ("xdp_counter", true),
        ("xdp_lb", false),
    ] {
        let object = object(name);
        let packets = packets(name);
        let file = capture(&packets);
        for engine in [EngineKind::Interp, EngineKind::Jit] {
            let (copy_maps, mut copying) = hook(&object, name, engine, false);
            let (place_maps, mut in_place) = hook(&object, name, engine, true);
            assert!(!copying.runs_in_place());
            assert_eq!(in_place.runs_in_place(), read_only, "{name} {engine:?}");

            let want = run_each(&mut copying, &packets);
            let got = run_each(&mut in_place, &packets);
            assert_eq!(want.len(), got.len());
            for (w, g) in want.iter().zip(&got) {
                assert_eq!(w, g, "{name} {engine:?}: packet {}", w.index);
            }
            assert!(
                want.iter()
                    .any(|r| r.verdict == userbpf_hooks::packet::Verdict::NotRun),
                "{name}: the short and long packets are not run"
            );

            let want = run_pcap(&mut copying, &file);
            let got = run_pcap(&mut in_place, &file);
            assert_eq!(want, got, "{name} {engine:?}: run_pcap_bytes summaries");
            assert_eq!(got.packets, packets.len() as u64);
            assert_eq!(
                maps(&copy_maps),
                maps(&place_maps),
                "{name} {engine:?}: maps at the end"
            );
        }
    }
}

#[test]
fn unverified_programs_never_run_in_place() {
    for name in ["xdp_filter", "xdp_firewall"] {
        let object = object(name);
        let instance = instance_with_setup(&object, name);
        let mut hook = PacketHook::new(instance.program(name).unwrap()).unwrap();
        assert!(!hook.runs_in_place(), "{name}");
        assert!(!hook.set_in_place(true), "{name}");
    }
}

#[test]
fn a_writing_program_never_runs_in_place() {
    let object = object("xdp_lb");
    for engine in [EngineKind::Interp, EngineKind::Jit] {
        let (_maps, mut hook) = hook(&object, "xdp_lb", engine, true);
        assert!(!hook.runs_in_place());
        assert!(!hook.set_in_place(true));
        // Packets to the VIP are rewritten: the results show the rewritten bytes, which a
        // run on the capture's own (read-only) bytes could not give.
        let packets = packets("xdp_lb");
        let file = capture(&packets);
        let results = run_each(&mut hook, &packets);
        assert!(
            results
                .iter()
                .zip(&packets)
                .any(|(r, p)| r.verdict == userbpf_hooks::packet::Verdict::Xdp(3) && r.data != *p),
            "xdp_lb rewrote no packet"
        );
        let before = file.clone();
        run_pcap(&mut hook, &file);
        assert_eq!(file, before);
    }
}

#[test]
fn truncated_captures_fail_alike_in_place_and_copied() {
    let object = object("xdp_filter");
    let file = capture(&packets("xdp_filter")[..20]);
    // Cut inside a record's data, inside a record header, and right after a record.
    let first = 24 + 16 + packets("xdp_filter")[0].len();
    for cut in [file.len() - 3, first + 5, first] {
        let bytes = &file[..cut];
        let (_a, mut copying) = hook(&object, "xdp_filter", EngineKind::Jit, false);
        let (_b, mut in_place) = hook(&object, "xdp_filter", EngineKind::Jit, true);
        assert!(in_place.runs_in_place());
        let want = copying.run_pcap_bytes::<Vec<u8>>(bytes, None);
        let got = in_place.run_pcap_bytes::<Vec<u8>>(bytes, None);
        match (want, got) {
            (Err(w), Err(g)) => assert_eq!(w.to_string(), g.to_string(), "cut at {cut}"),
            (Ok(mut w), Ok(mut g)) => {
                (w.run_time, g.run_time) = (Duration::ZERO, Duration::ZERO);
                assert_eq!(w, g, "cut at {cut}");
                assert_eq!(cut, first);
            }
            (w, g) => panic!("cut at {cut}: copied {w:?}, in place {g:?}"),
        }
    }
}
