//! `userbpf trace OBJ [--program NAME]... (-p PID | -- CMD ARGS...)`: programs attached to
//! the syscalls of a traced process.
//!
//! Loads the object (CO-RE against the host BTF, maps pinned with `--pin-dir` so `userbpf
//! map dump` reads them while tracing), attaches every selected program by its section name
//! ([`userbpf_hooks::syscall_hooks`]) once the verifier accepted it, in the engine `--engine`
//! names (default: the JIT on x86-64) — a rejected program is refused (exit 1) with the
//! verifier's message, unless `--unverified` asks for the checked interpreter without a
//! verifier pass — spawns the command or attaches to the process, and
//! streams the programs' output as it arrives: trace_printk lines as trace_pipe prints
//! them, ring buffer and perf event records as hex or, when the record type is known
//! (`--event-type STRUCT`, or a BTF struct named `event` of the record's size), decoded
//! through BTF; `--json` prints one object per line. When the target ends (or on
//! SIGINT/SIGTERM, which detach and leave an attached process running) every map is
//! printed BTF-aware, log2 histograms (maps whose name contains `hist`) as bars like
//! bpftrace's `hist()`, and userbpf exits with the target's status.
//!
//! `--system` ([`system`]) attaches the same programs to the syscall tracepoints of every
//! process on the machine through perf events instead of ptrace.

use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::anyhow;
use serde_json::{json, Value};
use userbpf_hooks::env::TaskEnv;
use userbpf_hooks::error::HookError;
use userbpf_hooks::syscall_hooks::{Event, SyscallHooks};
use userbpf_hooks::trace_engine::EngineKind;
use userbpf_hooks::tracer::{self, TargetStatus, Tracer};
use userbpf_object::btf::{read_value, Btf, BtfValue, Kind};
use userbpf_object::Object;
use userbpf_runtime::instance::{LoadOptions, ObjectInstance};
use userbpf_runtime::maps::{Map, MapType};
use userbpf_runtime::pin_btf;

use super::map::{print_entries, to_json, Typed};
use super::read_file;
use crate::{CmdResult, Failure};

mod system;

/// Arguments of `userbpf trace`.
#[derive(Debug, clap::Args)]
pub struct TraceArgs {
    /// ELF object.
    pub object: PathBuf,
    /// Attach only these programs (default: all).
    #[arg(long)]
    pub program: Vec<String>,
    /// Attach to this running process (all its threads); it stops at every syscall entry
    /// and exit (a running process cannot be given the seccomp filter `-- CMD` gets).
    #[arg(short = 'p', long = "pid", conflicts_with = "command")]
    pub pid: Option<i32>,
    /// One JSON object per line.
    #[arg(long)]
    pub json: bool,
    /// Pin every map of the object as DIR/<map name> (readable with `userbpf map dump`).
    #[arg(long)]
    pub pin_dir: Option<PathBuf>,
    /// Decode ring buffer and perf event records as this BTF struct.
    #[arg(long, value_name = "STRUCT")]
    pub event_type: Option<String>,
    /// Target BTF for CO-RE relocations (default: /sys/kernel/btf/vmlinux).
    #[arg(long)]
    pub btf: Option<PathBuf>,
    /// Do not print the maps at exit.
    #[arg(long)]
    pub no_maps: bool,
    /// Execution engine for verified programs (default: the JIT on x86-64).
    #[arg(long, value_enum)]
    pub engine: Option<crate::cli::Engine>,
    /// Run the programs without a verifier pass in the checked interpreter (trusted
    /// programs the verifier cannot prove yet; every memory access is checked at run time).
    #[arg(long, conflicts_with = "engine")]
    pub unverified: bool,
    /// Trace the syscall tracepoints of every process on the machine (perf events; needs
    /// root and tracefs); with `-- CMD` until the command exits, else until Ctrl-C.
    #[arg(long, conflicts_with = "pid")]
    pub system: bool,
    /// The command to run and trace; only the syscalls the programs need stop it (a seccomp
    /// filter installed before its exec, unless a raw tracepoint needs every syscall).
    #[arg(last = true, value_name = "CMD")]
    pub command: Vec<OsString>,
}

/// How records are decoded.
struct Decoder {
    btf: Option<Btf>,
    /// (type id, size) of `--event-type`.
    event: Option<(u32, usize)>,
    /// (type id, size) of a struct named `event`.
    default_event: Option<(u32, usize)>,
}

impl Decoder {
    fn decode(&self, data: &[u8]) -> Option<BtfValue> {
        let btf = self.btf.as_ref()?;
        let (id, _) = self
            .event
            .or_else(|| self.default_event.filter(|(_, size)| *size == data.len()))?;
        Some(read_value(btf, id, data))
    }
}

fn hex(data: &[u8]) -> String {
    crate::hex::encode(data)
}

/// `a=1 b=str c=[..]` for a decoded struct (other values as JSON).
fn text_of(v: &BtfValue) -> String {
    match v {
        BtfValue::Struct(members) => members
            .iter()
            .map(|(k, v)| match v {
                BtfValue::Str(s) => format!("{k}={s}"),
                other => format!("{k}={}", to_json(other)),
            })
            .collect::<Vec<_>>()
            .join(" "),
        other => to_json(other).to_string(),
    }
}

fn emit(out: &mut impl Write, line: &str) {
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

fn print_event(event: Event<'_>, json_mode: bool, decoder: &Decoder) {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match event {
        Event::Trace(m) => {
            if json_mode {
                let v = json!({
                    "type": "trace",
                    "pid": m.pid,
                    "tgid": m.tgid,
                    "comm": m.comm,
                    "timestamp_ns": m.timestamp_ns,
                    "message": String::from_utf8_lossy(&m.message),
                });
                emit(&mut out, &v.to_string());
            } else {
                let _ = out.write_all(&m.line);
                let _ = out.flush();
            }
        }
        Event::Ringbuf { map, data } | Event::PerfEvent { map, data, .. } => {
            let cpu = match event {
                Event::PerfEvent { cpu, .. } => Some(cpu),
                _ => None,
            };
            let decoded = decoder.decode(data);
            if json_mode {
                let mut v = json!({
                    "type": if cpu.is_some() { "perf_event" } else { "ringbuf" },
                    "map": map,
                    "data": hex(data),
                });
                if let Some(cpu) = cpu {
                    v["cpu"] = json!(cpu);
                }
                if let Some(d) = &decoded {
                    v["value"] = to_json(d);
                }
                emit(&mut out, &v.to_string());
            } else {
                let body = decoded.as_ref().map_or_else(|| hex(data), text_of);
                emit(&mut out, &format!("{map}: {body}"));
            }
        }
        Event::Trap { program, error } => {
            if json_mode {
                let v = json!({"type": "error", "program": program, "error": error});
                emit(&mut out, &v.to_string());
            } else {
                eprintln!("userbpf: program {program}: {error}");
            }
        }
    }
}

fn struct_size(btf: &Btf, name: &str) -> Option<(u32, usize)> {
    let id = btf
        .find_by_name(Kind::Struct, name)
        .or_else(|| btf.find_by_name(Kind::Union, name))?;
    let size = btf.size_of(id).ok()? as usize;
    Some((id, size))
}

/// A map of log2 buckets: an array or hash with integer keys (the bucket) and 8-byte
/// counts, named like a histogram.
fn is_histogram(name: &str, map: &Map) -> bool {
    let s = map.spec();
    name.contains("hist")
        && matches!(
            map.map_type(),
            MapType::Array | MapType::Hash | MapType::PercpuArray | MapType::PercpuHash
        )
        && (s.key_size == 4 || s.key_size == 8)
        && s.value_size == 8
}

fn int_of(bytes: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    let n = bytes.len().min(8);
    b[..n].copy_from_slice(&bytes[..n]);
    u64::from_ne_bytes(b)
}

/// Sum the per-CPU copies of a value.
fn value_total(map: &Map, value: &[u8]) -> u64 {
    if map.map_type().is_percpu() {
        value.chunks(8).map(int_of).sum()
    } else {
        int_of(value)
    }
}

fn bucket_label(slot: u64) -> (String, String) {
    let fmt = |v: u64| -> String {
        if v >= 1 << 30 && v.is_multiple_of(1 << 30) {
            format!("{}G", v >> 30)
        } else if v >= 1 << 20 && v.is_multiple_of(1 << 20) {
            format!("{}M", v >> 20)
        } else if v >= 1 << 10 && v.is_multiple_of(1 << 10) {
            format!("{}K", v >> 10)
        } else {
            v.to_string()
        }
    };
    if slot == 0 {
        ("0".into(), "1".into())
    } else if slot >= 63 {
        (fmt(1 << 63), "...".into())
    } else {
        (fmt(1 << slot), fmt(1 << (slot + 1)))
    }
}

/// Print buckets as bpftrace's `hist()`: `[lo, hi)  count |@@@@   |`.
fn print_histogram(name: &str, map: &Map, entries: &[(Vec<u8>, Vec<u8>)]) {
    let mut buckets: Vec<(u64, u64)> = entries
        .iter()
        .map(|(k, v)| (int_of(k), value_total(map, v)))
        .filter(|(_, c)| *c > 0)
        .collect();
    buckets.sort();
    println!("@{name}:");
    let Some(&(first, _)) = buckets.first() else {
        println!("(empty)");
        return;
    };
    let last = buckets.last().map_or(first, |b| b.0);
    let max = buckets.iter().map(|b| b.1).max().unwrap_or(1).max(1);
    for slot in first..=last {
        let count = buckets.iter().find(|b| b.0 == slot).map_or(0, |b| b.1);
        let (lo, hi) = bucket_label(slot);
        let bar = "@".repeat(((count * 52) / max) as usize);
        println!("{:<20} {:>8} |{:<52}|", format!("[{lo}, {hi})"), count, bar);
    }
    println!();
}

fn print_maps(instance: &ObjectInstance, object: &Object, json_mode: bool) {
    for (name, map) in instance.maps() {
        if matches!(
            map.map_type(),
            MapType::Ringbuf | MapType::PerfEventArray | MapType::ProgArray
        ) || name.ends_with(".rodata")
            || name.contains(".rodata.")
            || name == ".kconfig"
        {
            continue;
        }
        let mut entries: Vec<(Vec<u8>, Vec<u8>)> = map.iter().filter_map(Result::ok).collect();
        // Global data that stayed zero (often only there to put types in the BTF).
        if name.starts_with('.') && entries.iter().all(|(_, v)| v.iter().all(|&b| b == 0)) {
            continue;
        }
        let spec = object.maps.iter().find(|m| m.name == name);
        let typed = match (&object.btf, spec) {
            (Some(btf), Some(s)) if s.key_type_id.is_some() || s.value_type_id.is_some() => {
                Some(Typed {
                    btf: btf.clone(),
                    key: s.key_type_id.unwrap_or(0),
                    value: s.value_type_id.unwrap_or(0),
                })
            }
            _ => None,
        };
        if !json_mode && is_histogram(&name, &map) {
            print_histogram(&name, &map, &entries);
            continue;
        }
        // Counters read best largest first (syscount); other maps in key order.
        let s = map.spec();
        if matches!(
            map.map_type(),
            MapType::Hash | MapType::LruHash | MapType::PercpuHash | MapType::LruPercpuHash
        ) && s.value_size == 8
        {
            entries.sort_by_key(|(k, v)| (std::cmp::Reverse(value_total(&map, v)), k.clone()));
        }
        if json_mode {
            let list: Vec<Value> = entries
                .iter()
                .map(|(k, v)| {
                    let part = |id: Option<u32>, b: &[u8]| match (&typed, id) {
                        (Some(t), Some(id)) if id != 0 && !map.map_type().is_percpu() => {
                            to_json(&read_value(&t.btf, id, b))
                        }
                        _ => json!(hex(b)),
                    };
                    json!({
                        "key": part(typed.as_ref().map(|t| t.key), k),
                        "value": part(typed.as_ref().map(|t| t.value), v),
                    })
                })
                .collect();
            let v = json!({"type": "map", "name": name, "entries": list});
            println!("{v}");
        } else if is_counter(&map) {
            print_counts(&name, &map, &entries);
        } else {
            println!("map {name}:");
            print_entries(&map, typed.as_ref(), &entries, false);
            println!();
        }
    }
}

/// Integer keys and 8-byte integer values: printed as a two-column table.
fn is_counter(map: &Map) -> bool {
    let s = map.spec();
    matches!(
        map.map_type(),
        MapType::Hash | MapType::LruHash | MapType::PercpuHash | MapType::LruPercpuHash
    ) && matches!(s.key_size, 1 | 2 | 4 | 8)
        && s.value_size == 8
}

/// `KEY  COUNT` lines; keys of maps named after syscalls get the syscall's name.
fn print_counts(name: &str, map: &Map, entries: &[(Vec<u8>, Vec<u8>)]) {
    let syscall_keys = name.contains("syscall");
    println!("map {name}:");
    for (k, v) in entries {
        let key = int_of(k);
        let label = match userbpf_hooks::syscalls::by_nr(key).filter(|_| syscall_keys) {
            Some(sc) => format!("{} ({key})", sc.name),
            None => key.to_string(),
        };
        println!("  {label:<28} {:>12}", value_total(map, v));
    }
    println!();
}

fn signal_name(sig: i32) -> String {
    let names = [
        (1, "SIGHUP"),
        (2, "SIGINT"),
        (3, "SIGQUIT"),
        (4, "SIGILL"),
        (5, "SIGTRAP"),
        (6, "SIGABRT"),
        (7, "SIGBUS"),
        (8, "SIGFPE"),
        (9, "SIGKILL"),
        (10, "SIGUSR1"),
        (11, "SIGSEGV"),
        (12, "SIGUSR2"),
        (13, "SIGPIPE"),
        (14, "SIGALRM"),
        (15, "SIGTERM"),
    ];
    names
        .iter()
        .find(|(n, _)| *n == sig)
        .map_or_else(|| format!("signal {sig}"), |(_, s)| s.to_string())
}

pub fn run(args: &TraceArgs) -> CmdResult {
    if args.pid.is_none() && args.command.is_empty() && !args.system {
        return Err(Failure::input(anyhow!(
            "give a process to trace: -p PID, -- CMD ARGS... or --system"
        )));
    }
    let path = &args.object;
    let bytes = read_file(path)?;
    let mut object =
        Object::parse(&bytes).map_err(|e| Failure::input(anyhow!("{}: {e}", path.display())))?;
    super::run_object::apply_core(&mut object, args.btf.as_deref())?;
    if let Some(dir) = &args.pin_dir {
        std::fs::create_dir_all(dir)
            .map_err(|e| Failure::input(anyhow!("--pin-dir {}: {e}", dir.display())))?;
    }
    let env = Arc::new(TaskEnv::new());
    let instance = ObjectInstance::load(
        &object,
        &LoadOptions {
            pin_dir: args.pin_dir.clone(),
            helper_env: Some(env.clone()),
        },
    )
    .map_err(|e| Failure::input(anyhow!("{}: {e}", path.display())))?;
    if let Some(dir) = &args.pin_dir {
        pin_btf::write_for_object(dir, &object).map_err(|e| Failure::input(anyhow!(e)))?;
    }
    let event = match (&args.event_type, &object.btf) {
        (Some(name), Some(btf)) => Some(struct_size(btf, name).ok_or_else(|| {
            Failure::input(anyhow!(
                "--event-type {name}: no struct or union of that name in the object's BTF"
            ))
        })?),
        (Some(_), None) => {
            return Err(Failure::input(anyhow!(
                "--event-type: {} has no BTF",
                path.display()
            )))
        }
        _ => None,
    };
    let decoder = Decoder {
        default_event: object.btf.as_ref().and_then(|b| struct_size(b, "event")),
        btf: object.btf.clone(),
        event,
    };
    let json_mode = args.json;
    let mut hooks = SyscallHooks::new(&instance, env, |e| print_event(e, json_mode, &decoder))
        .map_err(|e| Failure::input(anyhow!("{}: {e}", path.display())))?;
    let names: Vec<String> = if args.program.is_empty() {
        instance
            .program_names()
            .iter()
            .map(|s| s.to_string())
            .collect()
    } else {
        args.program.clone()
    };
    let requested = args.engine.map(|e| match e {
        crate::cli::Engine::Interp => EngineKind::Interp,
        crate::cli::Engine::Jit => EngineKind::Jit,
    });
    let mut points = Vec::new();
    for name in &names {
        if let (true, Some(spec)) = (args.system, instance.program_spec(name)) {
            system::system_attach(spec)
                .map_err(|e| Failure::input(anyhow!("{}: {e}", path.display())))?;
        }
        let attached = if args.unverified {
            hooks.attach_unverified(&instance, name)
        } else {
            hooks.attach_engine(&object, &instance, name, requested)
        }
        .map_err(|e| match e {
            HookError::Rejected { .. } => Failure::program(anyhow!("{}: {e}", path.display())),
            e => Failure::input(anyhow!("{}: {e}", path.display())),
        })?;
        if let Some(note) = attached.note {
            eprintln!("note: {note}");
        }
        points.push(attached.at);
    }
    if hooks.is_empty() {
        return Err(Failure::input(anyhow!(
            "{}: no program to attach",
            path.display()
        )));
    }
    if args.system {
        return system::run(args, hooks, &points, &instance, &object);
    }
    tracer::install_signal_handlers();
    let mut tracer = match args.pid {
        Some(pid) => Tracer::attach(pid),
        None => Tracer::spawn_for(&args.command, &hooks),
    }
    .map_err(|e| Failure::input(anyhow!("{e}")))?;
    let target = tracer.pid();
    let what = match args.pid {
        Some(pid) => format!("process {pid}"),
        None => format!("{} (pid {target})", args.command[0].to_string_lossy()),
    };
    if !json_mode {
        eprintln!(
            "userbpf: tracing {what} with {} program(s); Ctrl-C to stop",
            names.len()
        );
    }
    let outcome = tracer.run(&mut hooks);
    drop(hooks);
    let outcome = outcome.map_err(|e| Failure::input(anyhow!("{e}")))?;
    let _ = std::io::stdout().flush();
    let message = match (outcome.detached, outcome.status) {
        (true, _) if args.pid.is_some() => format!("detached from {what}, which goes on"),
        (_, Some(st)) => ended_message(&what, st),
        (true, None) => format!("detached from {what}"),
        (false, None) => format!("{what}: tracing ended"),
    };
    if json_mode {
        let status = status_json(outcome.status);
        println!(
            "{}",
            json!({"type": "end", "detached": outcome.detached, "status": status, "message": message})
        );
    } else {
        eprintln!("userbpf: {message}");
    }
    if !args.no_maps {
        print_maps(&instance, &object, json_mode);
    }
    let _ = std::io::stdout().flush();
    let code = match (args.pid, outcome.status) {
        (None, Some(st)) => tracer::exit_code(st),
        _ => 0,
    };
    if code != 0 {
        std::process::exit(code);
    }
    Ok(())
}

/// How the target ended, in words ("X exited with status N", "X was killed by SIGSEGV").
fn ended_message(what: &str, status: TargetStatus) -> String {
    match status {
        TargetStatus::Exited(code) => format!("{what} exited with status {code}"),
        TargetStatus::Signaled { signal, core } => format!(
            "{what} was killed by {}{}",
            signal_name(signal),
            if core { " (core dumped)" } else { "" }
        ),
    }
}

/// How the target ended, as the `status` of the JSON end line.
fn status_json(status: Option<TargetStatus>) -> Value {
    match status {
        Some(TargetStatus::Exited(code)) => json!({"exited": code}),
        Some(TargetStatus::Signaled { signal, core }) => json!({"signal": signal, "core": core}),
        None => Value::Null,
    }
}
