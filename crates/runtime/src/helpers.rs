//! Helper functions by kernel id, with one calling convention (r1–r5 in, r0 out).
//!
//! Takes helper implementations (closures) keyed by id; gives [`Helpers`], the registry the
//! engines call through, and [`HelperContext`], the view of the run a helper gets (its memory
//! regions, so it can check pointers it is handed and hand out memory).

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::memory::MemoryMap;

/// What a helper sees of the running program.
pub struct HelperContext<'m, 'a> {
    /// The regions of this run: check pointer arguments with it, register returned memory.
    pub memory: &'m mut MemoryMap<'a>,
}

/// A helper implementation: arguments r1–r5, result r0. An `Err` stops the run with a trap
/// carrying the message; ordinary failures are negative errno return values, as in the kernel.
pub type HelperFn =
    dyn Fn(&mut HelperContext<'_, '_>, [u64; 5]) -> Result<u64, String> + Send + Sync;

/// A registered helper.
#[derive(Clone)]
pub struct Helper {
    /// The kernel's name for it, e.g. `bpf_map_lookup_elem`.
    pub name: String,
    /// The implementation.
    pub func: Arc<HelperFn>,
}

impl std::fmt::Debug for Helper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Helper").field("name", &self.name).finish()
    }
}

/// The helpers available to a program, by id.
#[doc(alias = "bpf_func_id")]
#[derive(Clone, Debug, Default)]
pub struct Helpers {
    by_id: BTreeMap<u32, Helper>,
}

impl Helpers {
    /// No helpers.
    pub fn new() -> Self {
        Self::default()
    }

    /// Register (or replace) helper `id`.
    pub fn register<F>(&mut self, id: u32, name: &str, func: F) -> &mut Self
    where
        F: Fn(&mut HelperContext<'_, '_>, [u64; 5]) -> Result<u64, String> + Send + Sync + 'static,
    {
        self.by_id.insert(
            id,
            Helper {
                name: name.to_string(),
                func: Arc::new(func),
            },
        );
        self
    }

    /// The helper with this id.
    pub fn get(&self, id: u32) -> Option<&Helper> {
        self.by_id.get(&id)
    }

    /// Whether `id` is registered.
    pub fn contains(&self, id: u32) -> bool {
        self.by_id.contains_key(&id)
    }

    /// All helpers, by id.
    pub fn iter(&self) -> impl Iterator<Item = (u32, &Helper)> {
        self.by_id.iter().map(|(k, v)| (*k, v))
    }

    /// A dense table indexed by id, for fast dispatch.
    pub(crate) fn dense(&self) -> Vec<Option<Arc<HelperFn>>> {
        let len = self.by_id.keys().next_back().map_or(0, |k| *k as usize + 1);
        let mut v = vec![None; len];
        for (id, h) in &self.by_id {
            v[*id as usize] = Some(h.func.clone());
        }
        v
    }

    /// The helpers the bpf_conformance suite expects: id 5 returns its first argument
    /// (uBPF's test `unwind` helper, whose result the suite's programs ignore).
    pub fn conformance() -> Self {
        let mut h = Helpers::new();
        h.register(5, "conformance_identity", |_, args| Ok(args[0]));
        h
    }
}
