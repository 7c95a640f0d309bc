//! `userbpf map (dump|lookup|update|delete) PINNED ...`: pinned maps from another process.
//!
//! Opens a map pinned by a running or finished userbpf (`--pin-dir`), and prints keys and
//! values the way `bpftool map` does: through BTF when the pin has a BTF sidecar (numbers,
//! strings, structs by member), as hex bytes otherwise; per-CPU values per CPU.

use std::path::Path;

use anyhow::anyhow;
use serde_json::{json, Value};
use userbpf_object::btf::{read_value, Btf, BtfValue};
use userbpf_runtime::maps::{Map, BPF_ANY, BPF_EXIST, BPF_NOEXIST};
use userbpf_runtime::pin_btf;

use crate::cli::{MapCommand, UpdateFlag};
use crate::{CmdResult, Failure};

/// BTF of a map's key and value (from a pin's sidecar or the object).
pub(crate) struct Typed {
    pub(crate) btf: Btf,
    pub(crate) key: u32,
    pub(crate) value: u32,
}

fn open(pin: &Path) -> Result<(Map, Option<Typed>), Failure> {
    let map =
        Map::open_pinned(pin).map_err(|e| Failure::input(anyhow!("{}: {e}", pin.display())))?;
    let typed = match pin_btf::read(pin).map_err(|e| Failure::input(anyhow!(e)))? {
        Some(info) => {
            let btf = Btf::parse(&info.btf)
                .map_err(|e| Failure::input(anyhow!("{}: BTF: {e}", pin.display())))?;
            Some(Typed {
                btf,
                key: info.key_type_id,
                value: info.value_type_id,
            })
        }
        None => None,
    };
    Ok((map, typed))
}

pub(crate) fn to_json(v: &BtfValue) -> Value {
    match v {
        BtfValue::Int(i) => i64::try_from(*i).map_or_else(|_| json!(i.to_string()), |x| json!(x)),
        BtfValue::Uint(u) => u64::try_from(*u).map_or_else(|_| json!(u.to_string()), |x| json!(x)),
        BtfValue::Bool(b) => json!(b),
        BtfValue::Float(f) => json!(f),
        BtfValue::Enum(s) | BtfValue::Str(s) => json!(s),
        BtfValue::Ptr(p) => json!(format!("{p:#x}")),
        BtfValue::Array(items) => Value::Array(items.iter().map(to_json).collect()),
        BtfValue::Struct(members) => Value::Object(
            members
                .iter()
                .map(|(k, v)| (k.clone(), to_json(v)))
                .collect(),
        ),
        BtfValue::Bytes(b) => hex_list(b),
    }
}

fn hex_list(bytes: &[u8]) -> Value {
    Value::Array(bytes.iter().map(|b| json!(format!("{b:#04x}"))).collect())
}

fn hex_text(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn format_part(typed: Option<&Typed>, type_id: Option<u32>, bytes: &[u8]) -> Value {
    match (typed, type_id) {
        (Some(t), Some(id)) if id != 0 => to_json(&read_value(&t.btf, id, bytes)),
        _ => hex_list(bytes),
    }
}

/// Per-CPU values come concatenated, each rounded up to 8 bytes.
fn split_percpu(map: &Map, value: &[u8]) -> Vec<Vec<u8>> {
    let size = map.spec().value_size as usize;
    let stride = size.div_ceil(8) * 8;
    value
        .chunks(stride.max(1))
        .map(|c| c[..size.min(c.len())].to_vec())
        .collect()
}

fn entry_json(map: &Map, typed: Option<&Typed>, key: &[u8], value: &[u8]) -> Value {
    let k = format_part(typed, typed.map(|t| t.key), key);
    if map.map_type().is_percpu() {
        let values: Vec<Value> = split_percpu(map, value)
            .iter()
            .enumerate()
            .map(|(cpu, v)| json!({"cpu": cpu, "value": format_part(typed, typed.map(|t| t.value), v)}))
            .collect();
        json!({"key": k, "values": values})
    } else {
        json!({"key": k, "value": format_part(typed, typed.map(|t| t.value), value)})
    }
}

pub(crate) fn print_entries(
    map: &Map,
    typed: Option<&Typed>,
    entries: &[(Vec<u8>, Vec<u8>)],
    as_json: bool,
) {
    if as_json || typed.is_some() {
        let list: Vec<Value> = entries
            .iter()
            .map(|(k, v)| entry_json(map, typed, k, v))
            .collect();
        let v = Value::Array(list);
        if as_json {
            println!("{v}");
        } else {
            println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
        }
    } else {
        for (k, v) in entries {
            if map.map_type().is_percpu() {
                println!("key: {}", hex_text(k));
                for (cpu, v) in split_percpu(map, v).iter().enumerate() {
                    println!("  value (CPU {cpu:02}): {}", hex_text(v));
                }
            } else if k.is_empty() {
                println!("value: {}", hex_text(v));
            } else {
                println!("key: {}  value: {}", hex_text(k), hex_text(v));
            }
        }
    }
}

fn parse_hex(what: &str, text: &str) -> Result<Vec<u8>, Failure> {
    crate::hex::decode(text).map_err(|e| Failure::input(e.context(format!("--{what}"))))
}

pub fn run(command: &MapCommand) -> CmdResult {
    match command {
        MapCommand::Dump { pinned, json } => {
            let (map, typed) = open(pinned)?;
            let mut entries = Vec::new();
            for e in map.iter() {
                entries
                    .push(e.map_err(|e| Failure::program(anyhow!("{}: {e}", pinned.display())))?);
            }
            print_entries(&map, typed.as_ref(), &entries, *json);
            if !*json {
                let n = entries.len();
                println!("Found {n} element{}", if n == 1 { "" } else { "s" });
            }
            Ok(())
        }
        MapCommand::Lookup { pinned, key, json } => {
            let (map, typed) = open(pinned)?;
            let key = parse_hex("key", key.as_deref().unwrap_or(""))?;
            let value = map
                .lookup(&key)
                .map_err(|e| Failure::program(anyhow!("{}: lookup: {e}", pinned.display())))?;
            print_entries(&map, typed.as_ref(), &[(key, value)], *json);
            Ok(())
        }
        MapCommand::Update {
            pinned,
            key,
            value,
            flag,
        } => {
            let (map, _) = open(pinned)?;
            let key = parse_hex("key", key.as_deref().unwrap_or(""))?;
            let value = parse_hex("value", value)?;
            let flags = match flag {
                UpdateFlag::Any => BPF_ANY,
                UpdateFlag::Noexist => BPF_NOEXIST,
                UpdateFlag::Exist => BPF_EXIST,
            };
            let result = if key.is_empty() && map.spec().key_size == 0 {
                map.push(&value, flags)
            } else {
                map.update(&key, &value, flags)
            };
            result.map_err(|e| Failure::program(anyhow!("{}: update: {e}", pinned.display())))
        }
        MapCommand::Delete { pinned, key } => {
            let (map, _) = open(pinned)?;
            let key = parse_hex("key", key)?;
            map.delete(&key)
                .map_err(|e| Failure::program(anyhow!("{}: delete: {e}", pinned.display())))
        }
    }
}
