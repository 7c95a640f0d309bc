//! Labels and branch relaxation over typed x86 instructions.
//!
//! Takes a sequence of [`X86Insn`]s, label bindings and branches to labels; gives machine
//! code and the offset of every label. Branches start in their 32-bit form and shrink to
//! the 8-bit form when their displacement fits, pass after pass, until no branch changes
//! (the fixed point the kernel's JIT also iterates to). Shrinking only ever shortens
//! distances, so the iteration terminates and every chosen short form stays valid.

use crate::x86::{encode, Cond, X86Insn};

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
#[derive(Debug, Default)]
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

impl Assembler {
    /// An empty stream.
    pub fn new() -> Self {
        Self::default()
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
        let n = self.items.len();
        // Plain instructions are encoded once, here, into `plain` (item i's bytes start at
        // `plain_at[i]`); branch sizes vary with `short`.
        let mut size = vec![0u32; n];
        let mut short = vec![false; n];
        let mut plain = Vec::with_capacity(n * 4);
        let mut plain_at = vec![0u32; n];
        for (i, item) in self.items.iter().enumerate() {
            size[i] = match item {
                Item::Insn(x) => {
                    let at = plain.len();
                    plain_at[i] = at as u32;
                    encode(x, &mut plain);
                    (plain.len() - at) as u32
                }
                Item::Bind(_) => 0,
                Item::Jmp(_) | Item::Call(_) => 5,
                Item::Jcc(..) => 6,
            };
        }
        let mut labels = vec![usize::MAX; self.labels as usize];
        let mut starts = vec![0usize; n];
        let mut passes = 0;
        loop {
            passes += 1;
            let mut pos = 0usize;
            for (i, item) in self.items.iter().enumerate() {
                starts[i] = pos;
                if let Item::Bind(l) = item {
                    labels[l.0 as usize] = pos;
                }
                pos += size[i] as usize;
            }
            let mut changed = false;
            for (i, item) in self.items.iter().enumerate() {
                let target = match item {
                    Item::Jmp(l) | Item::Jcc(_, l) if !short[i] => labels[l.0 as usize],
                    _ => continue,
                };
                assert!(target != usize::MAX, "branch to an unbound label");
                let rel = target as i64 - (starts[i] as i64 + 2);
                if rel == rel as i8 as i64 {
                    short[i] = true;
                    size[i] = 2;
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        let total: usize = size.iter().map(|&s| s as usize).sum();
        let mut code = Vec::with_capacity(total);
        for (i, item) in self.items.iter().enumerate() {
            let rel_to = |l: &Label| {
                let t = labels[l.0 as usize];
                assert!(t != usize::MAX, "branch to an unbound label");
                (t as i64 - (starts[i] + size[i] as usize) as i64) as i32
            };
            match item {
                Item::Insn(_) => {
                    let at = plain_at[i] as usize;
                    code.extend_from_slice(&plain[at..at + size[i] as usize]);
                }
                Item::Bind(_) => {}
                Item::Jmp(l) => encode(
                    &X86Insn::Jmp {
                        rel: rel_to(l),
                        short: short[i],
                    },
                    &mut code,
                ),
                Item::Jcc(cond, l) => encode(
                    &X86Insn::Jcc {
                        cond: *cond,
                        rel: rel_to(l),
                        short: short[i],
                    },
                    &mut code,
                ),
                Item::Call(l) => encode(&X86Insn::Call { rel: rel_to(l) }, &mut code),
            }
            debug_assert_eq!(code.len(), starts[i] + size[i] as usize);
        }
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
