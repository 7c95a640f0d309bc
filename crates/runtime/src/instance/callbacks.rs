//! `bpf_loop` and `bpf_for_each_map_elem`: helpers that call a function of the program.
//!
//! Takes the instance's maps; gives [`register`], which adds both to an [`EngineHelpers`]
//! with the kernel's semantics:
//!
//! - `bpf_loop(nr_loops, callback_fn, callback_ctx, flags)` calls
//!   `callback_fn(index, callback_ctx)` for index `0..nr_loops` until it returns non-zero;
//!   returns the number of calls made. Flags other than 0 are `-EINVAL` (sign-extended, as
//!   the helper returns it). With flags 0 the kernel's verifier inlines the call
//!   (`inline_bpf_loop`), and the inlined form is what runs: it compares the whole 64-bit
//!   r1 with `BPF_MAX_LOOPS` (1 << 23) and sets r0 = -E2BIG with a 32-bit move, so a count
//!   that is too large gives 0x00000000fffffff9. (The kernel inlines only when the verifier
//!   proved flags to be 0 and the callback the same on every path; a program whose flags
//!   are 0 only at run time gets the helper's sign-extended -E2BIG for a count above
//!   1 << 23 in its low 32 bits there, and the inlined result here.)
//! - `bpf_for_each_map_elem(map, callback_fn, callback_ctx, flags)` calls
//!   `callback_fn(map, &key, &value, callback_ctx)` for each element of a hash or array map
//!   (per-CPU maps: this CPU's value) until it returns non-zero; returns the number of
//!   elements visited. Flags other than 0 are `-EINVAL`. The key is a read-only copy; the
//!   value pointer is the element's value in the map, which the callback may change. Hash
//!   maps visit the elements present when the iteration starts that are still present when
//!   their turn comes (the callback may delete elements).

use std::sync::Arc;

use super::Shared;
use crate::interp::{CallbackContext, CallbackError, EngineHelpers};
use crate::kernel_helpers::ids;
use crate::maps::{MapError, MapType};

/// `BPF_MAX_LOOPS`.
pub const BPF_MAX_LOOPS: u32 = 1 << 23;

const EINVAL: u64 = (-22i64) as u64;
/// `-E2BIG` as the inlined `bpf_loop` sets it: `BPF_MOV32_IMM(BPF_REG_0, -E2BIG)`.
const E2BIG_MOV32: u64 = (-7i32) as u32 as u64;

/// Register `bpf_loop` (181) and `bpf_for_each_map_elem` (164).
pub(crate) fn register(engine: &mut EngineHelpers, shared: &Arc<Shared>) {
    engine.register(ids::LOOP, "bpf_loop", |ctx, a| {
        let (nr, func, cb_ctx, flags) = (a[0], a[1], a[2], a[3]);
        if flags != 0 {
            return Ok(EINVAL);
        }
        if nr > u64::from(BPF_MAX_LOOPS) {
            return Ok(E2BIG_MOV32);
        }
        for i in 0..nr {
            if ctx.call_function(func, [i, cb_ctx, 0, 0, 0], &[])? != 0 {
                return Ok(i + 1);
            }
        }
        Ok(nr)
    });
    let shared = shared.clone();
    engine.register(
        ids::FOR_EACH_MAP_ELEM,
        "bpf_for_each_map_elem",
        move |ctx, a| for_each(&shared, ctx, a),
    );
}

fn for_each(
    shared: &Shared,
    ctx: &mut dyn CallbackContext,
    a: [u64; 5],
) -> Result<u64, CallbackError> {
    let (handle, func, cb_ctx, flags) = (a[0], a[1], a[2], a[3]);
    let entry = shared.by_handle(handle).ok_or_else(|| {
        CallbackError::Message(format!("r1 = 0x{handle:x} is not a map of this instance"))
    })?;
    if flags != 0 {
        return Ok(EINVAL);
    }
    let map = &entry.map;
    let mut visited = 0u64;
    match map.map_type() {
        MapType::Array | MapType::PercpuArray => {
            for i in 0..map.spec().max_entries {
                let key = i.to_ne_bytes();
                let Some(value) = map.lookup_ptr(&key) else {
                    continue;
                };
                visited += 1;
                let args = [handle, key.as_ptr() as u64, value, cb_ctx, 0];
                if ctx.call_function(func, args, &key)? != 0 {
                    break;
                }
            }
        }
        MapType::Hash | MapType::PercpuHash | MapType::LruHash | MapType::LruPercpuHash => {
            // Snapshot the keys first: get_next_key restarts after a deleted key, so
            // iterating while the callback deletes could revisit elements. Concurrent
            // deletes by other threads are bounded by max_entries and deduplicated.
            let max = map.spec().max_entries as usize;
            let mut keys = Vec::new();
            let mut seen = std::collections::HashSet::new();
            let mut prev: Option<Vec<u8>> = None;
            let mut steps = 0usize;
            while seen.len() <= max && steps <= 2 * max + 16 {
                steps += 1;
                match map.next_key_any(prev.as_deref()) {
                    Ok(k) => {
                        if seen.insert(k.clone()) {
                            keys.push(k.clone());
                        }
                        prev = Some(k);
                    }
                    Err(MapError::NotFound) => break,
                    Err(e) => {
                        return Err(CallbackError::Message(format!("map '{}': {e}", entry.name)))
                    }
                }
            }
            for key in &keys {
                // The kernel walks the buckets: no LRU reference bit is set.
                let Some(value) = map.value_ptr_unmarked(key) else {
                    continue;
                };
                visited += 1;
                let args = [handle, key.as_ptr() as u64, value, cb_ctx, 0];
                if ctx.call_function(func, args, key)? != 0 {
                    break;
                }
            }
        }
        other => {
            return Err(CallbackError::Message(format!(
                "bpf_for_each_map_elem is not supported on {other} map '{}' (the kernel's \
                 verifier rejects it)",
                entry.name
            )))
        }
    }
    Ok(visited)
}
