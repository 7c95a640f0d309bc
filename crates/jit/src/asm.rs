//! Labels and branch relaxation over typed x86 instructions.
//!
//! Takes a sequence of [`X86Insn`]s, label bindings and branches to labels; gives machine
//! code and the offset of every label. Branches start in their 8-bit form and grow to the
//! 32-bit form when their displacement does not fit, pass after pass, until no branch
//! changes. Growing only ever lengthens distances, so the iteration terminates, and at the
//! fixed point every short branch fits. Plain instructions are encoded once; the passes
//! visit only the branches.

use std::cell::Cell;

use crate::x86::{encode, Cond, X86Insn};

/// Buffers of the last finished assembly of this thread, reused by the next one: large
/// programs need megabytes of them, and fresh allocations of that size cost page faults.
#[derive(Default)]
struct Scratch {
    items: Vec<Item>,
    branches: Vec<(Item, u32)>,
    bound: Vec<(u32, u32)>,
    long: Vec<bool>,
    prefix: Vec<u32>,
    plain: Vec<u8>,
    code: Vec<u8>,
}

thread_local! {
    static SCRATCH: Cell<Option<Box<Scratch>>> = const { Cell::new(None) };
}

fn take_scratch() -> Box<Scratch> {
    SCRATCH
        .try_with(Cell::take)
        .ok()
        .flatten()
        .unwrap_or_default()
}

fn give_scratch(s: Box<Scratch>) {
    let _ = SCRATCH.try_with(|c| c.set(Some(s)));
}

/// Give the code buffer of an [`Assembled`] back for reuse by this thread's next assembly.
pub fn recycle_code(mut code: Vec<u8>) {
    code.clear();
    let mut s = take_scratch();
    if code.capacity() > s.code.capacity() {
        s.code = code;
    }
    give_scratch(s);
}

/// A position in the code, bound once.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Label(u32);

impl Label {
    /// The label's number (its index in [`Assembled::labels`]).
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

#[derive(Clone, Copy, Debug)]
enum Item {
    Insn(X86Insn),
    Bind(Label),
    Jmp(Label),
    Jcc(Cond, Label),
    Call(Label),
}

/// An instruction stream under construction.
#[derive(Debug)]
pub struct Assembler {
    items: Vec<Item>,
    labels: u32,
}

/// The result of [`Assembler::finish`].
#[derive(Debug)]
pub struct Assembled {
    /// The machine code.
    pub code: Vec<u8>,
    /// The offset of each label, by label number (`usize::MAX` if never bound).
    pub labels: Vec<usize>,
    /// Number of relaxation passes run.
    pub passes: usize,
}

impl Default for Assembler {
    fn default() -> Self {
        Self::new()
    }
}

impl Assembler {
    /// An empty stream.
    pub fn new() -> Self {
        let mut s = take_scratch();
        let mut items = std::mem::take(&mut s.items);
        give_scratch(s);
        items.clear();
        Assembler { items, labels: 0 }
    }

    /// A fresh, unbound label.
    pub fn label(&mut self) -> Label {
        self.labels += 1;
        Label(self.labels - 1)
    }

    /// Bind `l` to the current position.
    pub fn bind(&mut self, l: Label) {
        self.items.push(Item::Bind(l));
    }

    /// Append an instruction. Branch instructions given here keep their displacement.
    pub fn emit(&mut self, insn: X86Insn) {
        self.items.push(Item::Insn(insn));
    }

    /// `jmp l`.
    pub fn jmp(&mut self, l: Label) {
        self.items.push(Item::Jmp(l));
    }

    /// `jcc l`.
    pub fn jcc(&mut self, cond: Cond, l: Label) {
        self.items.push(Item::Jcc(cond, l));
    }

    /// `call l`.
    pub fn call(&mut self, l: Label) {
        self.items.push(Item::Call(l));
    }

    /// Number of items so far (instructions, bindings, branches).
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether nothing was emitted.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Lay out and encode. Unbound labels referenced by branches are a bug of the caller.
    ///
    /// # Panics
    /// If a branch refers to a label that was never bound.
    pub fn finish(self) -> Assembled {
        const UNBOUND: u32 = u32::MAX;
        let mut scratch = take_scratch();
        // Plain instructions are encoded once, here, into `plain`. A branch is kept with the
        // offset in `plain` it sits at; a label with that offset and the number of branches
        // before it. The layout passes then only visit the branches: where anything is is
        // its plain offset plus the sizes of the branches before it (`prefix`).
        let mut plain = std::mem::take(&mut scratch.plain);
        plain.clear();
        plain.reserve(self.items.len() * 4);
        let mut branches = std::mem::take(&mut scratch.branches);
        branches.clear();
        let mut bound = std::mem::take(&mut scratch.bound);
        bound.clear();
        bound.resize(self.labels as usize, (UNBOUND, 0));
        for item in &self.items {
            match item {
                Item::Insn(x) => encode(x, &mut plain),
                Item::Bind(l) => bound[l.0 as usize] = (plain.len() as u32, branches.len() as u32),
                br => branches.push((*br, plain.len() as u32)),
            }
        }
        let n = branches.len();
        // Branches start short and grow when their displacement does not fit, pass after
        // pass (growing only lengthens distances, so this terminates).
        let mut long = std::mem::take(&mut scratch.long);
        long.clear();
        long.resize(n, false);
        let mut prefix = std::mem::take(&mut scratch.prefix);
        prefix.clear();
        prefix.resize(n + 1, 0u32);
        let size_of = |br: &Item, long: bool| -> u32 {
            match (br, long) {
                (Item::Call(_), _) | (Item::Jmp(_), true) => 5,
                (Item::Jcc(..), true) => 6,
                _ => 2,
            }
        };
        let label_at = |prefix: &[u32], l: &Label| -> u32 {
            let (at, before) = bound[l.0 as usize];
            assert!(at != UNBOUND, "branch to an unbound label");
            at + prefix[before as usize]
        };
        let mut passes = 0;
        loop {
            passes += 1;
            for k in 0..n {
                prefix[k + 1] = prefix[k] + size_of(&branches[k].0, long[k]);
            }
            let mut changed = false;
            for k in 0..n {
                let l = match &branches[k].0 {
                    Item::Jmp(l) | Item::Jcc(_, l) if !long[k] => l,
                    _ => continue,
                };
                let start = branches[k].1 + prefix[k];
                let rel = label_at(&prefix, l) as i64 - (start as i64 + 2);
                if rel != rel as i8 as i64 {
                    long[k] = true;
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        let total = plain.len() + prefix[n] as usize;
        let mut code = std::mem::take(&mut scratch.code);
        code.clear();
        code.reserve(total);
        let mut from = 0usize;
        for (k, (br, at)) in branches.iter().enumerate() {
            let at = *at as usize;
            code.extend_from_slice(&plain[from..at]);
            from = at;
            let end = (branches[k].1 + prefix[k + 1]) as i64;
            let rel_to = |l: &Label| (label_at(&prefix, l) as i64 - end) as i32;
            match br {
                Item::Jmp(l) => encode(
                    &X86Insn::Jmp {
                        rel: rel_to(l),
                        short: !long[k],
                    },
                    &mut code,
                ),
                Item::Jcc(cond, l) => encode(
                    &X86Insn::Jcc {
                        cond: *cond,
                        rel: rel_to(l),
                        short: !long[k],
                    },
                    &mut code,
                ),
                Item::Call(l) => encode(&X86Insn::Call { rel: rel_to(l) }, &mut code),
                Item::Bind(_) | Item::Insn(_) => {}
            }
            debug_assert_eq!(code.len() as i64, end);
        }
        code.extend_from_slice(&plain[from..]);
        debug_assert_eq!(code.len(), total);
        let labels = bound
            .iter()
            .map(|&(at, before)| {
                if at == UNBOUND {
                    usize::MAX
                } else {
                    (at + prefix[before as usize]) as usize
                }
            })
            .collect();
        let mut items = self.items;
        items.clear();
        *scratch = Scratch {
            items,
            branches,
            bound,
            long,
            prefix,
            plain,
            code: Vec::new(),
        };
        give_scratch(scratch);
        Assembled {
            code,
            labels,
            passes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::x86::X86Reg;

    #[test]
    fn short_and_long_branches() {
        let mut a = Assembler::new();
        let top = a.label();
        let far = a.label();
        a.bind(top);
        a.jcc(Cond::E, far);
        a.jmp(top);
        for _ in 0..200 {
            a.emit(X86Insn::Push(X86Reg::Rax));
        }
        a.bind(far);
        a.emit(X86Insn::Ret);
        let out = a.finish();
        // jcc rel32 (6 bytes) then jmp rel8 back to 0.
        assert_eq!(&out.code[..2], &[0x0f, 0x84]);
        assert_eq!(&out.code[6..8], &[0xeb, 0xf8]);
        assert_eq!(out.labels[1], 8 + 200);
        assert_eq!(out.code.len(), 8 + 200 + 1);
    }
}
