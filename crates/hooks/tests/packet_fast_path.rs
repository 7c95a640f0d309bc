//! `PacketHook::run_pcap` (the tight loop: reused record buffer, verdicts counted in place)
//! gives the same summary and the same output capture as `PacketHook::run_capture` (one
//! `PacketResult` per packet, the path the golden tests compare with the kernel), for every
//! packet example, both engines, on the example captures and generated traffic (short,
//! truncated and malformed frames included), with map state carried between packets.

#[path = "common/packet_setup.rs"]
mod packet_setup;

use std::path::PathBuf;

use userbpf_hooks::packet::traffic;
use userbpf_hooks::packet::{
    CaptureReader, CaptureWriter, EngineKind, Format, PacketHook, Runner, Summary, Timestamp,
};
use userbpf_object::Object;

use packet_setup::{instance_with_setup, VIP};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn hook(object: &Object, name: &str, engine: EngineKind) -> PacketHook {
    let instance = instance_with_setup(object, name);
    let prepared = instance.program(name).unwrap();
    let runner = Runner::verified(object, prepared, Some(engine)).unwrap();
    assert_eq!(runner.kind(), engine, "{name}");
    PacketHook::with_runner(runner).unwrap()
}

fn capture(packets: &[Vec<u8>]) -> Vec<u8> {
    let format = Format::Pcap {
        nanos: true,
        big_endian: false,
    };
    let mut w = CaptureWriter::new(Vec::new(), format).unwrap();
    for (i, p) in packets.iter().enumerate() {
        let ts = Timestamp {
            secs: 1_700_000_000 + i as u64,
            nanos: i as u32,
        };
        // Every fifth packet was captured short of its wire length.
        let orig = p.len() as u32 + if i % 5 == 0 { 7 } else { 0 };
        w.write(ts, p, orig, 0, 1).unwrap();
    }
    w.finish().unwrap()
}

fn packets(name: &str) -> Vec<Vec<u8>> {
    let mut packets = Vec::new();
    let pcap = repo().join("examples").join(format!("{name}.pcap"));
    if let Ok(bytes) = std::fs::read(pcap) {
        for p in userbpf_hooks::packet::read_all(&bytes).unwrap() {
            packets.push(p.data);
        }
    }
    for (i, p) in traffic::generate(7, 400).into_iter().enumerate() {
        let mut p = p;
        if name == "xdp_lb" && p.len() >= 34 && p[12..14] == [8, 0] && i % 2 == 0 {
            p[30..34].copy_from_slice(&VIP);
        }
        packets.push(p);
    }
    // Too short to run, and too long for one frame.
    packets.push(vec![0xff; 10]);
    packets.push(vec![0; 4000]);
    packets.extend(traffic::generate(8, 100));
    packets
}

fn run(hook: &mut PacketHook, file: &[u8], tight: bool) -> (Summary, Vec<u8>) {
    let reader = CaptureReader::new(file).unwrap();
    let mut out = CaptureWriter::new(Vec::new(), reader.format()).unwrap();
    let mut summary = if tight {
        hook.run_pcap(reader, Some(&mut out)).unwrap()
    } else {
        hook.run_capture(reader, Some(&mut out), |_, _| {}).unwrap()
    };
    summary.run_time = Default::default();
    (summary, out.finish().unwrap())
}

#[test]
fn run_pcap_matches_run_capture() {
    for name in ["xdp_firewall", "xdp_counter", "xdp_lb", "xdp_filter"] {
        let bytes = std::fs::read(repo().join("examples").join(format!("{name}.bpf.o"))).unwrap();
        let object = Object::parse(&bytes).unwrap();
        let file = capture(&packets(name));
        for engine in [EngineKind::Interp, EngineKind::Jit] {
            let (tight, tight_out) = run(&mut hook(&object, name, engine), &file, true);
            let (each, each_out) = run(&mut hook(&object, name, engine), &file, false);
            assert_eq!(tight, each, "{name} {engine:?}");
            assert_eq!(
                tight_out, each_out,
                "{name} {engine:?}: output captures differ"
            );
            assert!(tight.written > 0, "{name} {engine:?}: {tight:?}");
            assert!(
                tight.verdicts.get("NOT_RUN").copied() >= Some(2),
                "{tight:?}"
            );
        }
    }
}
