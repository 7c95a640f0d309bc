//! `userbpf inspect OBJ [--json]`: what an object holds.
//!
//! Programs with their types, attach targets and sizes; maps with types, key/value sizes,
//! entries and flags; the BTF summary; license and kernel version. `--json` prints one JSON
//! object.

use std::path::Path;

use anyhow::anyhow;
use serde_json::{json, Value};
use userbpf_object::{AttachTarget, Object};
use userbpf_runtime::maps::MapType;

use super::read_file;
use crate::{CmdResult, Failure};

fn target_text(t: &AttachTarget) -> String {
    match t {
        AttachTarget::None => String::new(),
        AttachTarget::Tracepoint { category, name } => format!("tracepoint {category}:{name}"),
        AttachTarget::RawTracepoint { name } => format!("raw tracepoint {name}"),
        AttachTarget::Kprobe {
            function,
            offset,
            ret,
        } => format!(
            "{} {function}{}",
            if *ret { "kretprobe" } else { "kprobe" },
            if *offset > 0 {
                format!("+{offset:#x}")
            } else {
                String::new()
            }
        ),
        AttachTarget::Uprobe {
            path,
            function,
            offset,
            ret,
        } => format!(
            "{} {path}:{function}{}",
            if *ret { "uretprobe" } else { "uprobe" },
            if *offset > 0 {
                format!("+{offset:#x}")
            } else {
                String::new()
            }
        ),
        AttachTarget::Named(n) => n.clone(),
        AttachTarget::TailCallSlot { map, index } => format!("tail-call slot {map}/{index}"),
    }
}

fn map_type_name(id: u32) -> String {
    MapType::from_id(id)
        .map(|t| t.short_name().to_string())
        .unwrap_or_else(|_| format!("type {id}"))
}

/// The object summary as JSON.
/// The userbpf built-ins program `p` calls (`memset`, ...: undefined functions of those
/// names, which the loader linked to userbpf's own), each once, in call order.
pub fn builtins_called(p: &userbpf_object::ProgramSpec) -> Vec<&str> {
    let mut names: Vec<&str> = Vec::new();
    for x in &p.extern_calls {
        if userbpf_object::builtin_id(&x.name).is_some() && !names.contains(&x.name.as_str()) {
            names.push(&x.name);
        }
    }
    names
}

/// The note for each built-in `p` calls: a userbpf extension the kernel does not have.
pub fn builtin_notes(p: &userbpf_object::ProgramSpec) -> Vec<String> {
    builtins_called(p)
        .iter()
        .map(|n| format!("{n} linked as a userbpf built-in (the kernel cannot load this object)"))
        .collect()
}

pub fn summary(object: &Object) -> Value {
    let programs: Vec<Value> = object
        .programs
        .iter()
        .map(|p| {
            json!({
                "name": p.name,
                "section": p.section,
                "prog_type": p.prog_type.name(),
                "attach": target_text(&p.target),
                "insns": p.insns.slot_count(),
                "builtins": builtins_called(p),
            })
        })
        .collect();
    let maps: Vec<Value> = object
        .maps
        .iter()
        .map(|m| {
            json!({
                "name": m.name,
                "section": m.section,
                "type": map_type_name(m.map_type),
                "key_size": m.key_size,
                "value_size": m.value_size,
                "max_entries": m.max_entries,
                "flags": m.map_flags,
                "pinning": m.pinning,
            })
        })
        .collect();
    let btf = object.btf.as_ref().map(|b| {
        json!({
            "types": b.type_count().saturating_sub(1),
            "line_info": object.btf_ext.as_ref().map_or(0, |e| e.sections.iter().map(|s| s.line_info.len()).sum::<usize>()),
        })
    });
    json!({
        "programs": programs,
        "maps": maps,
        "btf": btf,
        "license": object.license,
        "kernel_version": object.kernel_version,
    })
}

pub fn run(file: &Path, as_json: bool) -> CmdResult {
    let bytes = read_file(file)?;
    let object =
        Object::parse(&bytes).map_err(|e| Failure::input(anyhow!("{}: {e}", file.display())))?;
    let v = summary(&object);
    if as_json {
        println!("{v}");
        return Ok(());
    }
    println!("{}", file.display());
    println!(
        "  license: {}",
        object.license.as_deref().unwrap_or("(none)")
    );
    if let Some(k) = object.kernel_version {
        println!(
            "  kernel version: {}.{}.{}",
            k >> 16,
            (k >> 8) & 0xff,
            k & 0xff
        );
    }
    println!("  programs ({}):", object.programs.len());
    for p in &object.programs {
        let target = target_text(&p.target);
        println!(
            "    {:<28} {:<16} section {:<32} {:>6} insns{}",
            p.name,
            p.prog_type.name(),
            p.section,
            p.insns.slot_count(),
            if target.is_empty() {
                String::new()
            } else {
                format!("  attach {target}")
            }
        );
        for note in builtin_notes(p) {
            println!("      note: {note}");
        }
    }
    println!("  maps ({}):", object.maps.len());
    for m in &object.maps {
        println!(
            "    {:<28} {:<16} key {:>4}  value {:>6}  max_entries {:>8}  flags {:#x}",
            m.name,
            map_type_name(m.map_type),
            m.key_size,
            m.value_size,
            m.max_entries,
            m.map_flags
        );
    }
    match (&object.btf, &v["btf"]) {
        (Some(_), b) => println!(
            "  btf: {} types, {} line_info records",
            b["types"], b["line_info"]
        ),
        (None, _) => println!("  btf: none"),
    }
    Ok(())
}
