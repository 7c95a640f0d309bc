//! `userbpf xdp`: the examples end to end (maps filled with `userbpf map update`, JSON
//! lines, output captures checked byte by byte), and malformed captures (exit code 2, an
//! error naming the record and offset).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use userbpf_hooks::packet::{read_all, CaptureWriter, Format, Timestamp};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn example(name: &str) -> PathBuf {
    repo().join("examples").join(name)
}

fn userbpf(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_userbpf"))
        .args(args)
        .output()
        .expect("run userbpf")
}

fn ok(args: &[&str]) -> String {
    let o = userbpf(args);
    assert!(
        o.status.success(),
        "userbpf {args:?}: {}\n{}",
        String::from_utf8_lossy(&o.stderr),
        String::from_utf8_lossy(&o.stdout)
    );
    String::from_utf8(o.stdout).unwrap()
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("userbpf-xdp-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn json_lines(out: &str) -> Vec<serde_json::Value> {
    out.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect()
}

fn checksum(bytes: &[u8], seed: u32) -> u16 {
    let mut sum = seed;
    for c in bytes.chunks(2) {
        sum += u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]));
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

#[test]
fn firewall_filled_with_map_update() {
    let dir = tmp("fw");
    let pins = dir.join("pins");
    let obj = example("xdp_firewall.bpf.o");
    let pcap = example("xdp_firewall.pcap");
    let out = dir.join("passed.pcap");
    ok(&["xdp", s(&obj), "--pin-dir", s(&pins)]);
    // 192.168.0.0/16 and destination port 22.
    ok(&[
        "map",
        "update",
        s(&pins.join("blocked_src")),
        "--key",
        "10000000c0a80000",
        "--value",
        "01",
    ]);
    ok(&[
        "map",
        "update",
        s(&pins.join("blocked_ports")),
        "--key",
        "1600",
        "--value",
        "01",
    ]);
    let text = ok(&[
        "xdp",
        s(&obj),
        "--program",
        "xdp_firewall",
        "--pin-dir",
        s(&pins),
        "--pcap",
        s(&pcap),
        "--out",
        s(&out),
        "--json",
    ]);
    let lines = json_lines(&text);
    let verdicts: Vec<&str> = lines[..lines.len() - 1]
        .iter()
        .map(|l| l["verdict"].as_str().unwrap())
        .collect();
    // Packets 1 (192.168.1.7), 5 (port 22), 8 (VLAN, 192.168.9.9), 9 (VLAN, port 22).
    let dropped: Vec<usize> = (0..verdicts.len())
        .filter(|&i| verdicts[i] == "XDP_DROP")
        .collect();
    assert_eq!(dropped, vec![1, 5, 8, 9], "{verdicts:?}");
    let summary = lines.last().unwrap();
    assert_eq!(summary["summary"], true);
    assert_eq!(summary["verdicts"]["XDP_DROP"], 4);
    assert_eq!(summary["verdicts"]["XDP_PASS"], 9);
    assert_eq!(summary["written"], 9);
    assert!(text.starts_with("{\"index\":0,\"verdict\":\"XDP_PASS\",\"len\":"));
    // The passed packets, unchanged, with their timestamps, in order.
    let input = read_all(&std::fs::read(&pcap).unwrap()).unwrap();
    let passed = read_all(&std::fs::read(&out).unwrap()).unwrap();
    let expected: Vec<_> = input
        .iter()
        .enumerate()
        .filter(|(i, _)| !dropped.contains(i))
        .map(|(_, p)| (p.timestamp, p.data.clone()))
        .collect();
    let got: Vec<_> = passed
        .iter()
        .map(|p| (p.timestamp, p.data.clone()))
        .collect();
    assert_eq!(got, expected);
    // The counters, as pinned.
    let stats = ok(&["map", "dump", s(&pins.join("stats"))]);
    let stats: serde_json::Value = serde_json::from_str(
        stats
            .rsplit_once(']')
            .map(|(a, _)| format!("{a}]"))
            .as_deref()
            .unwrap(),
    )
    .unwrap();
    let values: Vec<u64> = stats
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["value"].as_u64().unwrap())
        .collect();
    assert_eq!(values, vec![9, 2, 2]);
    // Without --json: a readable summary.
    let text = ok(&["xdp", s(&obj), "--pin-dir", s(&pins), "--pcap", s(&pcap)]);
    assert!(text.contains("13 packets"), "{text}");
    assert!(text.contains("packets/s"), "{text}");
    assert!(text.contains("XDP_DROP         4"), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn load_balancer_rewrites_and_transmits() {
    let dir = tmp("lb");
    let pins = dir.join("pins");
    let obj = example("xdp_lb.bpf.o");
    let pcap = example("xdp_lb.pcap");
    let out = dir.join("tx.pcapng");
    ok(&["xdp", s(&obj), "--pin-dir", s(&pins)]);
    ok(&[
        "map",
        "update",
        s(&pins.join("config")),
        "--key",
        "00000000",
        "--value",
        "0a00006402000000",
    ]);
    for (k, v) in [
        (
            "00000000",
            "0a0001010200000001010000000000000000000000000000",
        ),
        (
            "01000000",
            "0a0001020200000001020000000000000000000000000000",
        ),
    ] {
        ok(&[
            "map",
            "update",
            s(&pins.join("backends")),
            "--key",
            k,
            "--value",
            v,
        ]);
    }
    let text = ok(&[
        "xdp",
        s(&obj),
        "--pin-dir",
        s(&pins),
        "--pcap",
        s(&pcap),
        "--out",
        s(&out),
        "--json",
    ]);
    let lines = json_lines(&text);
    let summary = lines.last().unwrap();
    assert_eq!(summary["verdicts"]["XDP_TX"], 16, "{text}");
    assert_eq!(summary["verdicts"]["XDP_PASS"], 3, "{text}");
    let bytes = std::fs::read(&out).unwrap();
    assert_eq!(&bytes[..4], &[0x0a, 0x0d, 0x0d, 0x0a], "pcapng output");
    let packets = read_all(&bytes).unwrap();
    assert_eq!(packets.len(), 19);
    let input = read_all(&std::fs::read(&pcap).unwrap()).unwrap();
    for (p, orig) in packets.iter().zip(&input).take(16) {
        let d = &p.data;
        // MACs: ours (the old destination) as source, a backend's as destination.
        assert_eq!(&d[6..12], &orig.data[0..6]);
        assert_eq!(&d[0..5], &[2, 0, 0, 0, 1]);
        // IPs: VIP -> backend 10.0.1.x; the checksums verify.
        assert_eq!(&d[26..30], &[10, 0, 0, 100]);
        assert_eq!(&d[30..33], &[10, 0, 1]);
        assert_eq!(checksum(&d[14..34], 0), 0, "IP checksum");
        let l4 = &d[34..];
        let mut pseudo = d[26..34].to_vec();
        pseudo.extend_from_slice(&[0, d[23]]);
        pseudo.extend_from_slice(&(l4.len() as u16).to_be_bytes());
        assert_eq!(
            checksum(l4, u32::from(!checksum(&pseudo, 0))),
            0,
            "L4 checksum"
        );
        assert_eq!(p.timestamp, orig.timestamp);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn counter_counts_per_protocol() {
    let dir = tmp("cnt");
    let pins = dir.join("pins");
    let text = ok(&[
        "xdp",
        s(&example("xdp_counter.bpf.o")),
        "--pin-dir",
        s(&pins),
        "--pcap",
        s(&example("xdp_counter.pcap")),
        "--json",
    ]);
    let lines = json_lines(&text);
    assert_eq!(lines.last().unwrap()["verdicts"]["XDP_PASS"], 16);
    let dump = ok(&[
        "map",
        "lookup",
        s(&pins.join("proto_stats")),
        "--key",
        "11000000",
    ]);
    assert!(!dump.trim().is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}

fn write_pcap(path: &Path, frames: &[Vec<u8>]) {
    let mut w = CaptureWriter::new(
        std::fs::File::create(path).unwrap(),
        Format::Pcap {
            nanos: true,
            big_endian: false,
        },
    )
    .unwrap();
    for f in frames {
        w.write(Timestamp::default(), f, f.len() as u32, 0, 1)
            .unwrap();
    }
    w.finish().unwrap();
}

#[test]
fn malformed_captures_exit_2() {
    let dir = tmp("bad");
    let obj = example("xdp_counter.bpf.o");
    let check = |bytes: &[u8], expect: &str| {
        let p = dir.join("bad.pcap");
        std::fs::write(&p, bytes).unwrap();
        let o = userbpf(&["xdp", s(&obj), "--pcap", s(&p)]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(err.contains(expect), "{err}");
    };
    check(b"this is not a capture file", "not a pcap or pcapng file");
    let good = dir.join("good.pcap");
    write_pcap(&good, &[vec![0xff; 60], vec![0xee; 70]]);
    let bytes = std::fs::read(&good).unwrap();
    check(
        &bytes[..bytes.len() - 5],
        "record 1 at offset 100: truncated packet data: need 70 bytes, 65 left",
    );
    let mut absurd = bytes.clone();
    absurd[24 + 8..24 + 12].copy_from_slice(&u32::MAX.to_le_bytes());
    check(&absurd, "record 0 at offset 24: captured length 4294967295");
    // Another link type (Linux cooked capture).
    let mut sll = bytes.clone();
    sll[20..24].copy_from_slice(&113u32.to_le_bytes());
    check(
        &sll,
        "link type 113 (LINUX_SLL); only Ethernet (1) is supported",
    );
    // Runt frames are not run (the kernel refuses them too) and say why.
    let runt = dir.join("runt.pcap");
    write_pcap(&runt, &[vec![1, 2, 3], vec![0; 60]]);
    let text = ok(&["xdp", s(&obj), "--pcap", s(&runt), "--json"]);
    let lines = json_lines(&text);
    assert_eq!(lines[0]["verdict"], serde_json::Value::Null);
    assert!(lines[0]["error"]
        .as_str()
        .unwrap()
        .contains("shorter than an Ethernet header"));
    assert_eq!(lines[1]["verdict"], "XDP_PASS");
    assert_eq!(lines[2]["not_run"], 1);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Compile a C program of the hooks crate's golden tests (or of `src`) with clang-19;
/// None without clang-19.
fn compile_c(name: &str, src: &str) -> Option<PathBuf> {
    let dir = tmp(&format!("c-{name}"));
    let c = dir.join(format!("{name}.c"));
    std::fs::write(&c, src).unwrap();
    let o = dir.join(format!("{name}.o"));
    let out = Command::new("clang-19")
        .args(["-g", "-O2", "-target", "bpf", "-mcpu=v3"])
        .arg("-I/usr/include/x86_64-linux-gnu")
        .arg("-c")
        .arg(&c)
        .arg("-o")
        .arg(&o)
        .output()
        .ok()?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(o)
}

/// The JIT (the default on x86-64, after the verifier) and the interpreter give the same
/// verdicts and bytes.
#[test]
fn engines_agree() {
    let obj = example("xdp_counter.bpf.o");
    let pcap = example("xdp_counter.pcap");
    let dir = tmp("engines");
    let mut outs = Vec::new();
    for engine in ["interp", "jit"] {
        let out = dir.join(format!("{engine}.pcap"));
        let text = ok(&[
            "xdp",
            s(&obj),
            "--pcap",
            s(&pcap),
            "--json",
            "--engine",
            engine,
            "--out",
            s(&out),
        ]);
        let lines: Vec<_> = json_lines(&text)
            .into_iter()
            .filter(|v| v.get("summary").is_none())
            .collect();
        outs.push((lines, std::fs::read(&out).unwrap()));
    }
    assert_eq!(outs[0], outs[1]);
    assert!(!outs[0].0.is_empty());
}

/// bpf_fib_lookup is refused when the object loads, with the reason.
#[test]
fn fib_lookup_is_refused_at_load() {
    let src = r#"
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
SEC("xdp")
int xdp_fib(struct xdp_md *ctx)
{
	struct bpf_fib_lookup p = {};
	p.family = 2;
	p.ifindex = ctx->ingress_ifindex;
	return bpf_fib_lookup(ctx, &p, sizeof(p), 0) == 0 ? XDP_TX : XDP_PASS;
}
char LICENSE[] SEC("license") = "GPL";
"#;
    let Some(obj) = compile_c("xdp_fib", src) else {
        println!("skipped: clang-19 not found");
        return;
    };
    let o = userbpf(&["xdp", s(&obj), "--pcap", s(&example("xdp_lb.pcap"))]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("bpf_fib_lookup (69) is not implemented"),
        "{err}"
    );
}

/// The counts of a readable summary: every line but the first (which has the rate) and
/// the `wrote` line's path, and the packet and byte counts of the first.
fn readable_counts(text: &str) -> Vec<String> {
    let mut lines = text.lines();
    let first = lines.next().unwrap_or_default();
    let counts = first
        .split(" packets/s")
        .next()
        .unwrap_or_default()
        .to_string();
    let counts = counts
        .rsplit_once(", ")
        .map_or(counts.clone(), |(a, _)| a.to_string());
    std::iter::once(counts)
        .chain(lines.map(|l| l.split(" to /").next().unwrap_or_default().to_string()))
        .collect()
}

/// `--json` (each result to a JSON line) and the readable mode (the hook's tight loop) give
/// the same output capture, byte for byte, and the same counts, on every example capture,
/// with both engines.
#[test]
fn json_and_readable_runs_agree() {
    let dir = tmp("modes");
    for (name, pcap) in [
        ("xdp_firewall", "xdp_firewall.pcap"),
        ("xdp_counter", "xdp_counter.pcap"),
        ("xdp_lb", "xdp_lb.pcap"),
        ("xdp_filter", "xdp_counter.pcap"),
    ] {
        let obj = example(&format!("{name}.bpf.o"));
        let input = example(pcap);
        for engine in ["interp", "jit"] {
            for ext in ["pcap", "pcapng"] {
                let run = |json: bool| {
                    let out = dir.join(format!("{name}-{engine}-{json}.{ext}"));
                    let mut args = vec![
                        "xdp",
                        s(&obj),
                        "--pcap",
                        s(&input),
                        "--engine",
                        engine,
                        "--out",
                        s(&out),
                    ];
                    if json {
                        args.push("--json");
                    }
                    let text = ok(&args);
                    (text, std::fs::read(&out).unwrap())
                };
                let (json_text, json_out) = run(true);
                let (text, out) = run(false);
                let what = format!("{name} {engine} {ext}");
                assert_eq!(json_out, out, "{what}: output captures differ");
                let lines = json_lines(&json_text);
                let summary = lines.last().unwrap();
                assert_eq!(summary["summary"], true, "{what}");
                assert_eq!(lines.len() as u64 - 1, summary["packets"].as_u64().unwrap());
                // The readable summary, rebuilt from the JSON one (zero counts other than
                // NOT_RUN are listed too).
                let packets = summary["packets"].as_u64().unwrap();
                let bytes: u64 = read_all(&std::fs::read(&input).unwrap())
                    .unwrap()
                    .iter()
                    .map(|p| p.data.len() as u64)
                    .sum();
                let mut want = vec![format!("{name} (xdp): {packets} packets, {bytes} bytes")];
                let mut verdicts: Vec<(String, u64)> = summary["verdicts"]
                    .as_object()
                    .unwrap()
                    .iter()
                    .map(|(k, v)| (k.clone(), v.as_u64().unwrap()))
                    .collect();
                let not_run = summary["not_run"].as_u64().unwrap();
                if not_run > 0 {
                    verdicts.push(("NOT_RUN".to_string(), not_run));
                    verdicts.sort();
                }
                for (k, v) in verdicts {
                    want.push(format!("  {k:<16} {v}"));
                }
                let written = summary["written"].as_u64().unwrap();
                let bytes_out: usize = read_all(&out).unwrap().iter().map(|p| p.data.len()).sum();
                want.push(format!("wrote {written} packets ({bytes_out} bytes)"));
                assert_eq!(readable_counts(&text), want, "{what}:\n{text}");
                assert!(text.contains(" packets/s ("), "{what}: {text}");
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
