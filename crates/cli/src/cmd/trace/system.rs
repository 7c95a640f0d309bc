//! `userbpf trace OBJ --system [-- CMD ARGS...]`: the programs on the syscall tracepoints of
//! every process on the machine ([`userbpf_hooks::system`]).
//!
//! Takes the hooks the trace command attached (their attach points checked by
//! [`system_attach`]); opens the tracepoints on every CPU, runs the command (not traced:
//! it is one process among all) and streams the programs' output as the ptrace mode does
//! until the command exits or SIGINT/SIGTERM; reports records the kernel dropped; then
//! prints the maps and exits with the command's status.

use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;

use anyhow::anyhow;
use serde_json::json;
use userbpf_hooks::syscall_hooks::{SyscallAttach, SyscallHooks};
use userbpf_hooks::system::{self, End, Notice, SystemTrace};
use userbpf_hooks::tracer::{self, TargetStatus};
use userbpf_object::Object;
use userbpf_runtime::instance::ObjectInstance;

use super::{ended_message, print_maps, status_json, TraceArgs};
use crate::{CmdResult, Failure};

pub use system::system_attach;

fn target_status(st: ExitStatus) -> Option<TargetStatus> {
    match (st.code(), st.signal()) {
        (Some(code), _) => Some(TargetStatus::Exited(code)),
        (None, Some(signal)) => Some(TargetStatus::Signaled {
            signal,
            core: st.core_dumped(),
        }),
        (None, None) => None,
    }
}

/// Trace system-wide with `hooks` (programs at `points`) until the command exits or a
/// signal; then print the maps of `instance`.
pub(super) fn run(
    args: &TraceArgs,
    mut hooks: SyscallHooks<'_>,
    points: &[SyscallAttach],
    instance: &ObjectInstance,
    object: &Object,
) -> CmdResult {
    let json_mode = args.json;
    let mut trace = SystemTrace::open(points).map_err(|e| Failure::input(anyhow!("{e}")))?;
    system::install_signal_handlers();
    let mut child = match args.command.split_first() {
        None => None,
        Some((cmd, rest)) => Some(std::process::Command::new(cmd).args(rest).spawn().map_err(
            |e| Failure::input(anyhow!("cannot execute {}: {e}", cmd.to_string_lossy())),
        )?),
    };
    let what = match (&child, args.command.first()) {
        (Some(c), Some(cmd)) => format!("{} (pid {})", cmd.to_string_lossy(), c.id()),
        _ => String::new(),
    };
    if !json_mode {
        let until = if what.is_empty() {
            "Ctrl-C to stop".to_string()
        } else {
            format!("until {what} exits")
        };
        eprintln!(
            "userbpf: tracing every process with {} program(s), {until}",
            points.len()
        );
    }
    let mut on_notice = |notice: Notice| match notice {
        Notice::Lost { cpu, records } if json_mode => {
            println!(
                "{}",
                json!({"type": "lost", "cpu": cpu, "records": records})
            );
        }
        Notice::Lost { cpu, records } => {
            eprintln!("userbpf: {records} record(s) lost on CPU {cpu} (its ring buffer was full)");
        }
        Notice::Note(note) => eprintln!("note: {note}"),
    };
    let end = trace.run(&mut hooks, child.as_mut(), &mut on_notice);
    drop(hooks);
    let end = end.map_err(|e| Failure::input(anyhow!("{e}")))?;
    let status = match &end {
        End::CommandExited(st) => target_status(*st),
        End::Stopped => None,
    };
    let mut message = match (&end, status) {
        (End::Stopped, _) if what.is_empty() => "stopped".to_string(),
        (End::Stopped, _) => format!("stopped; {what} goes on"),
        (_, Some(st)) => ended_message(&what, st),
        (_, None) => format!("{what} ended"),
    };
    let stats = trace.stats;
    message.push_str(&format!(
        "; {} record(s) handled, {} lost",
        stats.records, stats.lost
    ));
    if json_mode {
        let st = status_json(status);
        println!(
            "{}",
            json!({"type": "end", "system": true, "status": st, "message": message,
                   "records": stats.records, "lost": stats.lost})
        );
    } else {
        eprintln!("userbpf: {message}");
    }
    if !args.no_maps {
        print_maps(instance, object, json_mode);
    }
    use std::io::Write;
    let _ = std::io::stdout().flush();
    let code = status.map_or(0, tracer::exit_code);
    if code != 0 {
        std::process::exit(code);
    }
    Ok(())
}
