//! The map helpers, bound to the maps of one instance.
//!
//! Takes the instance's maps; gives [`register`], which adds to a [`Helpers`] registry
//! `bpf_map_lookup_elem` (1), `bpf_map_update_elem` (2), `bpf_map_delete_elem` (3),
//! `bpf_perf_event_output` (25), `bpf_map_push_elem` / `pop_elem` / `peek_elem` (87–89) and
//! `bpf_ringbuf_output` / `reserve` / `submit` / `discard` / `query` (130–134) and
//! `bpf_redirect_map` (51, XDP: devmaps, cpumaps, xskmaps). Map
//! arguments are handles (`lddw rX, map` after relocation); keys and values are read from
//! and written to program memory through the run's checked [`MemoryMap`]. Results follow
//! the kernel: value pointers or NULL, 0 or a negative errno. A lookup in a map of maps gives
//! the inner map's handle. Using a helper on a map type the kernel's verifier would refuse
//! for it (say `bpf_map_lookup_elem` on a queue) ends the run with a trap naming both.
//!
//! [`MemoryMap`]: crate::MemoryMap

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use super::{map_handle, MapEntry, Shared};
use crate::helpers::{HelperContext, Helpers};
use crate::kernel_helpers::ids;
use crate::maps::{MapError, MapType};

fn errno(e: &MapError) -> u64 {
    (-(e.errno() as i64)) as u64
}

fn result(r: Result<(), MapError>) -> u64 {
    match r {
        Ok(()) => 0,
        Err(e) => errno(&e),
    }
}

fn map_arg(shared: &Shared, helper: u32, handle: u64) -> Result<&MapEntry, String> {
    shared.by_handle(handle).ok_or_else(|| {
        format!(
            "{}: r1 = 0x{handle:x} is not a map of this instance",
            ids::name(helper).unwrap_or("helper")
        )
    })
}

fn refuse(helper: u32, entry: &MapEntry) -> String {
    format!(
        "{} cannot be used on {} map '{}' (the kernel's verifier rejects it)",
        ids::name(helper).unwrap_or("helper"),
        entry.map.map_type(),
        entry.name
    )
}

fn read(ctx: &HelperContext<'_, '_>, addr: u64, len: u32) -> Result<Vec<u8>, String> {
    ctx.memory.read_bytes(addr, len as usize)
}

/// Run `f` on a copy of the `len` bytes of program memory at `addr` (keys: no allocation
/// for keys up to 64 bytes).
fn with_bytes<R>(
    ctx: &HelperContext<'_, '_>,
    addr: u64,
    len: u32,
    f: impl FnOnce(&[u8]) -> R,
) -> Result<R, String> {
    let len = len as usize;
    if len > 64 {
        return Ok(f(&read(ctx, addr, len as u32)?));
    }
    if len > 0 && ctx.memory.find(addr, len as u64, false).is_none() {
        return Err(ctx.memory.read_bytes(addr, len).unwrap_err());
    }
    let mut buf = [0u8; 64];
    // SAFETY: `[addr, addr + len)` lies inside a readable region of this run (checked just
    // above), which its MemoryMap guarantees valid while the run lasts; the bytes are
    // copied into a distinct local buffer without creating a reference to them.
    unsafe { std::ptr::copy_nonoverlapping(addr as *const u8, buf.as_mut_ptr(), len) };
    Ok(f(&buf[..len]))
}

/// Register the map helpers for the maps of `shared`.
pub(crate) fn register(helpers: &mut Helpers, shared: &Arc<Shared>) {
    let s = shared.clone();
    helpers.register(
        ids::MAP_LOOKUP_ELEM,
        "bpf_map_lookup_elem",
        move |ctx, a| {
            let e = map_arg(&s, ids::MAP_LOOKUP_ELEM, a[0])?;
            let t = e.map.map_type();
            // Devmap and xskmap entries may be looked up (read-only; xskmaps are empty).
            let redirect_map = matches!(t, MapType::Devmap | MapType::DevmapHash | MapType::Xskmap);
            if t.is_element_map() || redirect_map {
                return with_bytes(ctx, a[1], e.map.spec().key_size, |key| {
                    e.map.lookup_ptr(key).unwrap_or(0)
                });
            }
            if matches!(t, MapType::ArrayOfMaps | MapType::HashOfMaps) {
                let key = read(ctx, a[1], e.map.spec().key_size)?;
                return Ok(match e.map.lookup_id(&key) {
                    Some(id) if s.entry(id).is_some() => map_handle(id),
                    _ => 0,
                });
            }
            Err(refuse(ids::MAP_LOOKUP_ELEM, e))
        },
    );

    let s = shared.clone();
    helpers.register(ids::REDIRECT_MAP, "bpf_redirect_map", move |_, a| {
        let e = map_arg(&s, ids::REDIRECT_MAP, a[0])?;
        let t = e.map.map_type();
        if !matches!(
            t,
            MapType::Devmap | MapType::DevmapHash | MapType::Cpumap | MapType::Xskmap
        ) {
            return Err(refuse(ids::REDIRECT_MAP, e));
        }
        Ok(crate::context::packet_helpers::xdp_redirect_map(
            t,
            a[1],
            a[2],
            |key| e.map.redirect_target(key).ok().flatten(),
        ))
    });

    let s = shared.clone();
    helpers.register(
        ids::MAP_UPDATE_ELEM,
        "bpf_map_update_elem",
        move |ctx, a| {
            let e = map_arg(&s, ids::MAP_UPDATE_ELEM, a[0])?;
            if !e.map.map_type().is_element_map() {
                return Err(refuse(ids::MAP_UPDATE_ELEM, e));
            }
            let spec = e.map.spec();
            let value = read(ctx, a[2], spec.value_size)?;
            with_bytes(ctx, a[1], spec.key_size, |key| {
                result(e.map.update_from_program(key, &value, a[3]))
            })
        },
    );

    let s = shared.clone();
    helpers.register(
        ids::MAP_DELETE_ELEM,
        "bpf_map_delete_elem",
        move |ctx, a| {
            let e = map_arg(&s, ids::MAP_DELETE_ELEM, a[0])?;
            if !e.map.map_type().is_element_map() {
                return Err(refuse(ids::MAP_DELETE_ELEM, e));
            }
            with_bytes(ctx, a[1], e.map.spec().key_size, |key| {
                result(e.map.delete_from_program(key))
            })
        },
    );

    let s = shared.clone();
    helpers.register(ids::MAP_PUSH_ELEM, "bpf_map_push_elem", move |ctx, a| {
        let e = map_arg(&s, ids::MAP_PUSH_ELEM, a[0])?;
        if !matches!(
            e.map.map_type(),
            MapType::Queue | MapType::Stack | MapType::BloomFilter
        ) {
            return Err(refuse(ids::MAP_PUSH_ELEM, e));
        }
        let value = read(ctx, a[1], e.map.spec().value_size)?;
        Ok(result(e.map.push_from_program(&value, a[2])))
    });

    let s = shared.clone();
    helpers.register(ids::MAP_POP_ELEM, "bpf_map_pop_elem", move |ctx, a| {
        let e = map_arg(&s, ids::MAP_POP_ELEM, a[0])?;
        if !matches!(e.map.map_type(), MapType::Queue | MapType::Stack) {
            return Err(refuse(ids::MAP_POP_ELEM, e));
        }
        let mut out = vec![0u8; e.map.spec().value_size as usize];
        let r = e.map.pop_from_program(&mut out);
        if r.is_err() {
            // The kernel zeroes the destination when the map is empty.
            out.fill(0);
        }
        ctx.memory.write_bytes(a[1], &out)?;
        Ok(result(r))
    });

    let s = shared.clone();
    helpers.register(ids::MAP_PEEK_ELEM, "bpf_map_peek_elem", move |ctx, a| {
        let e = map_arg(&s, ids::MAP_PEEK_ELEM, a[0])?;
        let size = e.map.spec().value_size;
        match e.map.map_type() {
            MapType::Queue | MapType::Stack => {
                let mut out = vec![0u8; size as usize];
                let r = e.map.peek_from_program(&mut out);
                if r.is_err() {
                    out.fill(0);
                }
                ctx.memory.write_bytes(a[1], &out)?;
                Ok(result(r))
            }
            MapType::BloomFilter => {
                let mut value = read(ctx, a[1], size)?;
                Ok(result(e.map.peek_from_program(&mut value)))
            }
            _ => Err(refuse(ids::MAP_PEEK_ELEM, e)),
        }
    });

    let s = shared.clone();
    helpers.register(
        ids::PERF_EVENT_OUTPUT,
        "bpf_perf_event_output",
        move |ctx, a| {
            // (ctx, map, flags, data, size)
            let e = map_arg(&s, ids::PERF_EVENT_OUTPUT, a[1])?;
            if e.map.map_type() != MapType::PerfEventArray {
                return Err(refuse(ids::PERF_EVENT_OUTPUT, e));
            }
            let data = ctx.memory.read_bytes(a[3], a[4] as usize)?;
            Ok(result(e.map.perf_event_output(a[2], &data)))
        },
    );

    let ring = |s: &Shared, helper: u32, handle: u64| -> Result<Arc<crate::maps::Map>, String> {
        let e = map_arg(s, helper, handle)?;
        if e.map.map_type() != MapType::Ringbuf {
            return Err(refuse(helper, e));
        }
        Ok(e.map.clone())
    };

    let s = shared.clone();
    helpers.register(ids::RINGBUF_OUTPUT, "bpf_ringbuf_output", move |ctx, a| {
        let m = ring(&s, ids::RINGBUF_OUTPUT, a[0])?;
        let data = ctx.memory.read_bytes(a[1], a[2] as usize)?;
        Ok(result(m.ringbuf_output(&data, a[3])))
    });

    let s = shared.clone();
    helpers.register(ids::RINGBUF_RESERVE, "bpf_ringbuf_reserve", move |_, a| {
        let m = ring(&s, ids::RINGBUF_RESERVE, a[0])?;
        Ok(m.ringbuf_reserve(a[1], a[2]).unwrap_or(0))
    });

    for (id, name, discard) in [
        (ids::RINGBUF_SUBMIT, "bpf_ringbuf_submit", false),
        (ids::RINGBUF_DISCARD, "bpf_ringbuf_discard", true),
    ] {
        let s = shared.clone();
        // The ring buffer of the last record submitted through this helper: tried first.
        let last = AtomicU32::new(u32::MAX);
        helpers.register(id, name, move |_, a| {
            let (addr, flags) = (a[0], a[1]);
            let owns = |e: &MapEntry| {
                let (start, len) = e.map.region();
                e.map.map_type() == MapType::Ringbuf && addr >= start && addr - start < len
            };
            let cached = s
                .entry(last.load(Ordering::Relaxed))
                .filter(|e| owns(e))
                .map(|e| (u32::MAX, e));
            let owner = cached.or_else(|| {
                let found = s.entries().find(|(_, e)| owns(e));
                if let Some((i, _)) = found {
                    last.store(i, Ordering::Relaxed);
                }
                found
            });
            let Some((_, e)) = owner else {
                return Err(format!(
                    "{name}: 0x{addr:x} is not a record reserved in a ring buffer"
                ));
            };
            let r = if discard {
                e.map.ringbuf_discard(addr, flags)
            } else {
                e.map.ringbuf_submit(addr, flags)
            };
            r.map_err(|err| format!("{name} of 0x{addr:x} in '{}': {err}", e.name))?;
            Ok(0)
        });
    }

    let s = shared.clone();
    helpers.register(ids::RINGBUF_QUERY, "bpf_ringbuf_query", move |_, a| {
        let m = ring(&s, ids::RINGBUF_QUERY, a[0])?;
        Ok(m.ringbuf_query(a[1]))
    });

    // Compiled code may call the map operations of these helpers directly.
    let s = Arc::downgrade(shared);
    crate::kernel_helpers::map_fast::record_map_helpers(
        helpers,
        Arc::new(move |handle| Some(s.upgrade()?.by_handle(handle)?.map.clone())),
    );
}
