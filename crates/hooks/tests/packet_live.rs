//! Live packet hook test: three network namespaces, a client and a server joined through a
//! middle namespace by two veth pairs, and userbpf bridging the two middle ends
//! ([`run_live`] with a peer). The firewall example drops exactly the packets it should
//! (blocked source prefix, blocked port) and the rest arrive intact; then the load balancer
//! example, on one interface, reflects packets back to the client with XDP_TX.
//!
//! Prints "skipped: ..." and passes without root, `ip` or network namespaces.

use std::net::UdpSocket;
use std::os::fd::AsRawFd;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use userbpf_hooks::packet::live::{run_live, LiveOptions, PacketSocket};
use userbpf_hooks::packet::PacketHook;
use userbpf_object::Object;
use userbpf_runtime::instance::{LoadOptions, ObjectInstance};

struct Netns {
    names: Vec<String>,
}

impl Drop for Netns {
    fn drop(&mut self) {
        for n in &self.names {
            let _ = Command::new("ip").args(["netns", "del", n]).status();
        }
    }
}

fn ip(args: &str) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args.split_whitespace())
        .output()
        .map_err(|e| format!("ip: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "ip {args}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(())
}

fn enter(ns: &str) {
    let f = std::fs::File::open(Path::new("/run/netns").join(ns)).unwrap();
    // SAFETY: setns on this thread with a valid namespace descriptor.
    let r = unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) };
    assert_eq!(r, 0, "setns {ns}: {}", std::io::Error::last_os_error());
}

const CLIENT_MAC: &str = "02:00:00:00:aa:01";
const SERVER_MAC: &str = "02:00:00:00:bb:01";
const MID_A_MAC: &str = "02:00:00:00:aa:02";

fn setup(tag: &str) -> Result<(Netns, [String; 3]), String> {
    let names = [format!("{tag}c"), format!("{tag}m"), format!("{tag}s")];
    let ns = Netns { names: Vec::new() };
    let mut ns = ns;
    for n in &names {
        ip(&format!("netns add {n}"))?;
        ns.names.push(n.clone());
    }
    let [c, m, s] = &names;
    ip(&format!(
        "-n {c} link add ca address {CLIENT_MAC} type veth peer name ma address {MID_A_MAC} netns {m}"
    ))?;
    ip(&format!(
        "-n {s} link add sb address {SERVER_MAC} type veth peer name mb netns {m}"
    ))?;
    for (n, dev) in [(c, "ca"), (m, "ma"), (m, "mb"), (s, "sb")] {
        ip(&format!("-n {n} link set dev {dev} up"))?;
        ip(&format!("-n {n} link set dev lo up"))?;
    }
    ip(&format!("-n {c} addr add 10.77.0.1/24 dev ca"))?;
    ip(&format!("-n {c} addr add 10.77.1.1/32 dev ca"))?;
    ip(&format!("-n {s} addr add 10.77.0.2/24 dev sb"))?;
    ip(&format!(
        "-n {c} neigh add 10.77.0.2 lladdr {SERVER_MAC} dev ca"
    ))?;
    ip(&format!(
        "-n {s} neigh add 10.77.0.1 lladdr {CLIENT_MAC} dev sb"
    ))?;
    // The load balancer's VIP is reached through the middle.
    ip(&format!("-n {c} route add 10.0.0.100/32 dev ca"))?;
    ip(&format!(
        "-n {c} neigh add 10.0.0.100 lladdr {MID_A_MAC} dev ca"
    ))?;
    Ok((ns, names))
}

fn object(name: &str) -> Object {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(name);
    Object::parse(&std::fs::read(path).unwrap()).unwrap()
}

fn lpm4(prefix: u32, addr: [u8; 4]) -> Vec<u8> {
    let mut k = prefix.to_le_bytes().to_vec();
    k.extend_from_slice(&addr);
    k
}

#[test]
fn bridge_firewall_and_tx() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        println!("skipped: needs root for network namespaces");
        return;
    }
    let tag = format!("ub{}", std::process::id() % 100_000);
    let (_ns, [c, m, s]) = match setup(&tag) {
        Ok(x) => x,
        Err(e) => {
            println!("skipped: {e}");
            return;
        }
    };

    // Phase 1: the firewall bridging ma <-> mb.
    let fw = object("xdp_firewall.bpf.o");
    let instance = ObjectInstance::load(&fw, &LoadOptions::default()).unwrap();
    instance
        .map("blocked_src")
        .unwrap()
        .update(&lpm4(24, [10, 77, 1, 0]), &[1], 0)
        .unwrap();
    instance
        .map("blocked_ports")
        .unwrap()
        .update(&23u16.to_le_bytes(), &[1], 0)
        .unwrap();
    let mut hook = PacketHook::new(instance.program("xdp_firewall").unwrap()).unwrap();
    let mid = m.clone();
    let bridge = std::thread::spawn(move || {
        enter(&mid);
        let stop = AtomicBool::new(false);
        run_live(
            &mut hook,
            &LiveOptions {
                iface: "ma".into(),
                peer: Some("mb".into()),
                duration: Some(Duration::from_millis(2500)),
                max_packets: None,
            },
            &stop,
            |_, _| {},
        )
        .unwrap()
    });
    let server_ns = s.clone();
    let server = std::thread::spawn(move || {
        enter(&server_ns);
        let mut got = Vec::new();
        let socks: Vec<UdpSocket> = [80u16, 23]
            .iter()
            .map(|p| {
                let s = UdpSocket::bind(("10.77.0.2", *p)).unwrap();
                s.set_read_timeout(Some(Duration::from_millis(100)))
                    .unwrap();
                s
            })
            .collect();
        let deadline = std::time::Instant::now() + Duration::from_millis(2000);
        while std::time::Instant::now() < deadline {
            for (sock, port) in socks.iter().zip([80u16, 23]) {
                let mut buf = [0u8; 2048];
                if let Ok((n, from)) = sock.recv_from(&mut buf) {
                    got.push((port, from.ip().to_string(), buf[..n].to_vec()));
                }
            }
        }
        got
    });
    let client_ns = c.clone();
    std::thread::spawn(move || {
        enter(&client_ns);
        std::thread::sleep(Duration::from_millis(400));
        let allowed = UdpSocket::bind("10.77.0.1:0").unwrap();
        let blocked_src = UdpSocket::bind("10.77.1.1:0").unwrap();
        for i in 0..5u8 {
            let payload = vec![i; 100 + usize::from(i)];
            allowed.send_to(&payload, "10.77.0.2:80").unwrap();
            blocked_src.send_to(&payload, "10.77.0.2:80").unwrap();
            allowed.send_to(&payload, "10.77.0.2:23").unwrap();
            std::thread::sleep(Duration::from_millis(20));
        }
    })
    .join()
    .unwrap();
    let got = server.join().unwrap();
    let summary = bridge.join().unwrap();
    println!("bridge: {summary:?}");
    let expected: Vec<(u16, String, Vec<u8>)> = (0..5u8)
        .map(|i| (80, "10.77.0.1".to_string(), vec![i; 100 + usize::from(i)]))
        .collect();
    assert_eq!(got, expected, "exactly the allowed packets, intact");
    assert_eq!(summary.verdicts["XDP_DROP"], 10, "{summary:?}");
    let stats = instance.map("stats").unwrap();
    let drops: Vec<u64> = [1u32, 2]
        .iter()
        .map(|k| {
            let v = stats.lookup(&k.to_le_bytes()).unwrap();
            u64::from_le_bytes(v[..8].try_into().unwrap())
        })
        .collect();
    assert_eq!(drops, vec![5, 5], "drops by source prefix and by port");

    // Phase 2: the load balancer on ma alone reflects VIP traffic with XDP_TX.
    let lb = object("xdp_lb.bpf.o");
    let instance = ObjectInstance::load(&lb, &LoadOptions::default()).unwrap();
    let mut cfg = vec![10, 0, 0, 100];
    cfg.extend_from_slice(&1u32.to_le_bytes());
    instance
        .map("config")
        .unwrap()
        .update(&0u32.to_le_bytes(), &cfg, 0)
        .unwrap();
    let mut be = vec![10, 77, 0, 1, 2, 0, 0, 0, 0xaa, 0x01];
    be.resize(24, 0);
    instance
        .map("backends")
        .unwrap()
        .update(&0u32.to_le_bytes(), &be, 0)
        .unwrap();
    let mut hook = PacketHook::new(instance.program("xdp_lb").unwrap()).unwrap();
    let mid = m.clone();
    let reflector = std::thread::spawn(move || {
        enter(&mid);
        let stop = AtomicBool::new(false);
        run_live(
            &mut hook,
            &LiveOptions {
                iface: "ma".into(),
                peer: None,
                duration: Some(Duration::from_millis(1500)),
                max_packets: None,
            },
            &stop,
            |_, _| {},
        )
        .unwrap()
    });
    let client_ns = c.clone();
    let reflected = std::thread::spawn(move || {
        enter(&client_ns);
        let mut sock = PacketSocket::open("ca").unwrap();
        std::thread::sleep(Duration::from_millis(300));
        let tx = UdpSocket::bind("10.77.0.1:0").unwrap();
        for _ in 0..3 {
            tx.send_to(b"to the vip", "10.0.0.100:53").unwrap();
        }
        let mut frames = Vec::new();
        let deadline = std::time::Instant::now() + Duration::from_millis(900);
        while std::time::Instant::now() < deadline {
            sock.recv(Duration::from_millis(50), |f, _, _| {
                if f.len() >= 34 && f[12..14] == [8, 0] && f[26..30] == [10, 0, 0, 100] {
                    frames.push(f.to_vec());
                }
            })
            .unwrap();
        }
        frames
    })
    .join()
    .unwrap();
    let summary = reflector.join().unwrap();
    println!("reflector: {summary:?}");
    assert_eq!(summary.verdicts["XDP_TX"], 3, "{summary:?}");
    assert_eq!(reflected.len(), 3, "reflected frames seen by the client");
    for f in &reflected {
        assert_eq!(&f[0..6], &[2, 0, 0, 0, 0xaa, 0x01], "to the backend's MAC");
        assert_eq!(&f[6..12], &[2, 0, 0, 0, 0xaa, 0x02], "from the middle");
        assert_eq!(&f[30..34], &[10, 77, 0, 1], "to the backend's address");
        assert!(f.ends_with(b"to the vip"));
    }
}
