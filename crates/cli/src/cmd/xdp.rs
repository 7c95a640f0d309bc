//! `userbpf xdp OBJ --program NAME --pcap IN [--out OUT] [--json] [--pin-dir DIR]`: a
//! packet program (xdp, tc or socket_filter, from its section) on every packet of a capture.
//!
//! Loads the object and creates its maps (pinned with `--pin-dir`, so `userbpf map update`
//! can fill them first and `userbpf map dump` read them after), then runs the program on the
//! packets of IN (pcap or pcapng, Ethernet) in order with `BPF_PROG_TEST_RUN` semantics, the
//! maps carrying their state from packet to packet. `--out` receives the packets that pass
//! or are sent back, as the program left them, with their original timestamps (pcapng when
//! OUT ends in `.pcapng`, else pcap). `--json` prints one line per packet and a summary line;
//! otherwise a readable summary. Without `--json` the hook's tight loop runs the capture
//! ([`PacketHook::run_pcap`]: nothing copied or timed per packet); with it, one reused
//! result per packet ([`PacketHook::run_capture`]). Packets per second are of the whole
//! loop, reading and writing included. Exit 2 for malformed captures, 1 when a run trapped.
//! With `--pin-dir` and no `--pcap`, only creates and pins the maps (to fill them first).
//!
//! `--engine interp|jit`: the program is verified first and runs in the JIT on x86-64 by
//! default; a program the verifier rejects is refused (exit 1) with its message, unless
//! `--unverified` asks for the checked interpreter without a verifier pass. See `load.rs`,
//! shared with `userbpf run OBJ`.

use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::Path;

use anyhow::anyhow;
use serde_json::json;
use std::time::{Duration, Instant};

use userbpf_hooks::packet::live::{self, LiveOptions};
use userbpf_hooks::packet::{
    CaptureReader, CaptureWriter, Format, HookError, PacketHook, PacketProgKind, PacketResult,
    Summary, Verdict,
};

use super::load::{self, LoadRequest};
use crate::cli::XdpArgs;
use crate::{CmdResult, Failure};

/// Load the object and prepare the chosen program in its engine.
fn prepare(args: &XdpArgs) -> Result<PacketHook, Failure> {
    let loaded = load::load(&LoadRequest {
        object: &args.object,
        program: args.program.as_deref(),
        btf: None,
        pin_dir: args.pin_dir.as_ref(),
        engine: args.engine,
        unverified: args.unverified,
    })?;
    let runner = loaded.runner(|_| {})?;
    PacketHook::with_runner(runner)
        .map_err(|e| Failure::input(anyhow!("{}: {e}", args.object.display())))
}

/// Print one packet's JSON line, keys in the documented order (written straight to `out`,
/// no string built per packet).
fn json_line(out: &mut impl Write, kind: PacketProgKind, r: &PacketResult) {
    let _ = write!(out, "{{\"index\":{},\"verdict\":", r.index);
    // Verdict names are plain ASCII identifiers (`TC_ACT(9)` at most): quoting is enough.
    let _ = match (r.verdict, r.verdict.static_name(kind)) {
        (Verdict::NotRun, _) => out.write_all(b"null"),
        (_, Some(name)) => write!(out, "\"{name}\""),
        (v, None) => write!(out, "{}", json!(v.name(kind))),
    };
    let _ = write!(out, ",\"len\":{},\"ifindex\":", r.data.len());
    let _ = match r.redirect_ifindex {
        Some(i) => write!(out, "{i}"),
        None => out.write_all(b"null"),
    };
    if let Some(e) = &r.error {
        let _ = out.write_all(b",\"error\":");
        let _ = serde_json::to_writer(&mut *out, e);
    }
    let _ = out.write_all(b"}\n");
}

/// Print the summary: a JSON line or readable text.
fn print_summary(
    json_out: bool,
    hook: &PacketHook,
    summary: &Summary,
    out: Option<&Path>,
    elapsed: Option<f64>,
) {
    let not_run = summary.verdicts.get("NOT_RUN").copied().unwrap_or(0);
    if json_out {
        let verdicts: Vec<String> = summary
            .verdicts
            .iter()
            .filter(|(k, _)| k.as_str() != "NOT_RUN")
            .map(|(k, v)| format!("{}:{v}", json!(k)))
            .collect();
        println!(
            "{{\"summary\":true,\"packets\":{},\"verdicts\":{{{}}},\"not_run\":{not_run},\
             \"traps\":{},\"written\":{},\"packets_per_second\":{}}}",
            summary.packets,
            verdicts.join(","),
            summary.traps,
            summary.written,
            json!(summary.packets_per_second()),
        );
        return;
    }
    let kind_name = match hook.kind() {
        PacketProgKind::Xdp => "xdp",
        PacketProgKind::Tc => "tc",
        PacketProgKind::Socket => "socket filter",
    };
    // A capture's time is its whole loop; live, the loop mostly waits for packets, and the
    // time is that of the packets' set-up and runs.
    let spent = if elapsed.is_some() {
        "in the program"
    } else {
        "in all"
    };
    println!(
        "{} ({kind_name}): {} packets, {} bytes, {:.0} packets/s ({:.3} ms {spent})",
        hook.program().name(),
        summary.packets,
        summary.bytes_in,
        summary.packets_per_second(),
        summary.run_time.as_secs_f64() * 1e3,
    );
    for (name, count) in &summary.verdicts {
        if name != "NOT_RUN" || *count > 0 {
            println!("  {name:<16} {count}");
        }
    }
    if let Some(out) = out {
        println!(
            "wrote {} packets ({} bytes) to {}",
            summary.written,
            summary.bytes_out,
            out.display()
        );
    }
    if let Some(secs) = elapsed {
        println!(
            "live for {secs:.1} s: sent {} frames ({} bytes), {} send errors",
            summary.written, summary.bytes_out, summary.send_errors
        );
    }
}

fn run_live(args: &XdpArgs, iface: &str) -> CmdResult {
    if args.out.is_some() {
        return Err(Failure::input(anyhow!("--out is for --pcap runs")));
    }
    let mut hook = prepare(args)?;
    let kind = hook.kind();
    let options = LiveOptions {
        iface: iface.to_string(),
        peer: args.peer.clone(),
        duration: args.duration.map(Duration::from_secs_f64),
        max_packets: args.count,
    };
    let stop = live::stop_on_signals();
    let started = Instant::now();
    let stdout = std::io::stdout();
    let mut lines = stdout.lock();
    let summary = live::run_live(&mut hook, &options, stop, |_, r| {
        if args.json {
            json_line(&mut lines, kind, r);
            let _ = lines.flush();
        }
    })
    .map_err(|e| Failure::input(anyhow!("{e}")))?;
    drop(lines);
    print_summary(
        args.json,
        &hook,
        &summary,
        None,
        Some(started.elapsed().as_secs_f64()),
    );
    Ok(())
}

fn output_format(path: &Path, input: Format) -> Format {
    let ng = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("pcapng"));
    match (ng, input) {
        (true, _) => Format::Pcapng,
        (false, Format::Pcap { nanos, .. }) => Format::Pcap {
            nanos,
            big_endian: false,
        },
        (false, Format::Pcapng) => Format::Pcap {
            nanos: true,
            big_endian: false,
        },
    }
}

pub fn run(args: &XdpArgs) -> CmdResult {
    if let Some(iface) = &args.iface {
        return run_live(args, iface);
    }
    let Some(pcap) = &args.pcap else {
        let Some(dir) = &args.pin_dir else {
            return Err(Failure::input(anyhow!(
                "give --pcap IN (or --pin-dir DIR alone to create and pin the maps)"
            )));
        };
        // Only create (or reuse) the pinned maps, to be filled with `userbpf map update`.
        let hook = prepare(args)?;
        println!(
            "{}: maps pinned in {}",
            hook.program().name(),
            dir.display()
        );
        return Ok(());
    };
    let mut hook = prepare(args)?;
    let kind = hook.kind();
    // Without --json and --out nothing needs a copy of any packet: a capture that fits in
    // memory is read whole and, for programs that cannot write their packet, each record
    // runs in place ([`PacketHook::run_pcap_bytes`]).
    let in_memory = !args.json
        && args.out.is_none()
        && std::fs::metadata(pcap).is_ok_and(|m| m.len() <= IN_MEMORY_MAX);
    if in_memory {
        let bytes = std::fs::read(pcap)
            .map_err(|e| Failure::input(anyhow!("cannot read {}: {e}", pcap.display())))?;
        let summary = hook
            .run_pcap_bytes(&bytes, None::<&mut CaptureWriter<BufWriter<File>>>)
            .map_err(|e| Failure::input(anyhow!("{}: {e}", pcap.display())))?;
        return finish(args, &hook, &summary);
    }
    let file = File::open(pcap)
        .map_err(|e| Failure::input(anyhow!("cannot read {}: {e}", pcap.display())))?;
    let reader = CaptureReader::new(BufReader::new(file))
        .map_err(|e| Failure::input(anyhow!("{}: {e}", pcap.display())))?;
    let mut writer = match &args.out {
        Some(out) => {
            let f = File::create(out)
                .map_err(|e| Failure::input(anyhow!("cannot create {}: {e}", out.display())))?;
            Some(
                CaptureWriter::new(BufWriter::new(f), output_format(out, reader.format()))
                    .map_err(|e| Failure::input(anyhow!("{}: {e}", out.display())))?,
            )
        }
        None => None,
    };
    // Without --json nothing needs each packet's result: the hook's tight loop. With it,
    // each result (one, reused) goes to a JSON line. Either way the summary's time is the
    // whole loop, so packets/s counts reading, running, writing and printing.
    let result = if args.json {
        let stdout = std::io::stdout();
        let mut lines = BufWriter::new(stdout.lock());
        let result = hook.run_capture(reader, writer.as_mut(), |_, r| {
            json_line(&mut lines, kind, r);
        });
        let _ = lines.flush();
        result
    } else {
        hook.run_pcap(reader, writer.as_mut())
    };
    let summary = result.map_err(|e| match e {
        HookError::Write(e) => Failure::input(anyhow!(
            "{}: {e}",
            args.out.as_deref().unwrap_or(Path::new("-")).display()
        )),
        e => Failure::input(anyhow!("{}: {e}", pcap.display())),
    })?;
    if let (Some(w), Some(out)) = (writer, &args.out) {
        w.finish()
            .map_err(|e| Failure::input(anyhow!("{}: {e}", out.display())))?;
    }
    finish(args, &hook, &summary)
}

/// Captures up to this size are read whole (the in-place path); larger ones are streamed.
const IN_MEMORY_MAX: u64 = 1 << 30;

/// Print the summary; exit 1 when some packet stopped the program.
fn finish(args: &XdpArgs, hook: &PacketHook, summary: &Summary) -> CmdResult {
    print_summary(args.json, hook, summary, args.out.as_deref(), None);
    if let Some((index, trap)) = &summary.first_trap {
        return Err(Failure::program(anyhow!(
            "{} packet(s) stopped the program; the first, packet {index}: {trap}",
            summary.traps
        )));
    }
    Ok(())
}
