//! Control flow: jumps, calls, `callx`, `may_goto`.
//!
//! Takes one eBPF control-flow instruction; emits compare-and-branch pairs, bpf-to-bpf calls
//! (depth check against the context's stack limit, r6–r9 and r10 pushed, r10 lowered by one
//! 512-byte frame, native `call`), helper calls through [`crate::run`]'s trampolines (r1–r5
//! are already the System V argument registers; the context goes in r9; an error comes back
//! in rdx and aborts the run), and the `may_goto` budget kept in the context.

use std::sync::Arc;

use userbpf_isa::{CallTarget, JmpCond, Source, Width};
use userbpf_runtime::interp::callbacks::TAIL_CALL_ID;
use userbpf_runtime::interp::FUNC_PTR_TAG;
use userbpf_runtime::kernel_helpers::map_fast::{DirectCall, HashInline, LpmInline};
use userbpf_runtime::{LoadError, STACK_FRAME_SIZE};

use super::alu::size_of;
use super::inline_map::{
    check_index, count_step, load_cpu_id, null_result, seq_begin, seq_recheck, slow_lookup,
};
use super::{ArrayLayout, Cg, Operand, SiteKind, CTX, SAVED, TMP, TMP2, TMP3};
use crate::asm::Label;
use crate::error::JitError;
use crate::run::{self, off, trap_code};
use crate::x86::{AluOp, Cond, Mem, Scale, Size, X86Insn, X86Reg};

fn target(slot: usize, off: i64) -> usize {
    (slot as i64 + 1 + off) as usize
}

pub(crate) fn goto(cg: &mut Cg<'_>, slot: usize, off: i64) {
    let l = cg.slot_label(target(slot, off));
    cg.a.jmp(l);
}

fn cond(c: JmpCond) -> Cond {
    match c {
        JmpCond::Eq => Cond::E,
        JmpCond::Ne | JmpCond::Set => Cond::Ne,
        JmpCond::Gt => Cond::A,
        JmpCond::Ge => Cond::Ae,
        JmpCond::Lt => Cond::B,
        JmpCond::Le => Cond::Be,
        JmpCond::SGt => Cond::G,
        JmpCond::SGe => Cond::Ge,
        JmpCond::SLt => Cond::L,
        JmpCond::SLe => Cond::Le,
    }
}

pub(crate) fn jump(
    cg: &mut Cg<'_>,
    slot: usize,
    width: Width,
    c: JmpCond,
    d: X86Reg,
    src: Source,
    off: i16,
) {
    let size = size_of(width);
    let operand = cg.operand(src);
    let l = cg.slot_label(target(slot, off as i64));
    // The previous ALU operation on `d` at this width set the flags from its result.
    if matches!(c, JmpCond::Eq | JmpCond::Ne)
        && operand == Operand::Imm(0)
        && cg.prev.flags == Some((d, size))
    {
        cg.a.jcc(cond(c), l);
        return;
    }
    let insn = match (c, operand) {
        (JmpCond::Set, Operand::Reg(s)) => X86Insn::Test { size, a: d, b: s },
        (JmpCond::Set, Operand::Imm(imm)) => X86Insn::TestImm { size, dst: d, imm },
        (JmpCond::Eq | JmpCond::Ne, Operand::Imm(0)) => X86Insn::Test { size, a: d, b: d },
        (_, Operand::Reg(s)) => X86Insn::Alu {
            op: AluOp::Cmp,
            size,
            dst: d,
            src: s,
        },
        (_, Operand::Imm(imm)) => X86Insn::AluImm {
            op: AluOp::Cmp,
            size,
            dst: d,
            imm,
        },
    };
    cg.emit(insn);
    cg.a.jcc(cond(c), l);
}

/// Where a local call goes.
enum Callee {
    Label(Label),
    /// An absolute address in r11.
    Tmp,
}

/// A bpf-to-bpf call: depth check, save r6–r9 and r10, new frame, call, restore.
fn local_call(cg: &mut Cg<'_>, slot: usize, callee: Callee, site: Option<usize>) {
    let site = site.unwrap_or_else(|| cg.site(slot, SiteKind::Local));
    let too_deep = cg.trap_stub(site, trap_code::CALL_DEPTH);
    cg.emit(X86Insn::AluLoad {
        op: AluOp::Cmp,
        size: Size::S64,
        dst: X86Reg::Rbp,
        mem: Mem::at(CTX, off::STACK_LIMIT),
    });
    cg.a.jcc(Cond::Be, too_deep);
    for r in SAVED {
        cg.emit(X86Insn::Push(r));
    }
    cg.emit(X86Insn::AluImm {
        op: AluOp::Sub,
        size: Size::S64,
        dst: X86Reg::Rbp,
        imm: STACK_FRAME_SIZE as i32,
    });
    match callee {
        Callee::Label(l) => cg.a.call(l),
        Callee::Tmp => cg.emit(X86Insn::CallReg(TMP)),
    }
    for r in SAVED.into_iter().rev() {
        cg.emit(X86Insn::Pop(r));
    }
}

/// Call a trampoline with r1–r5 as arguments and the context in r9; abort on failure.
fn call_trampoline(cg: &mut Cg<'_>, addr: u64) {
    cg.borrow_tmp3();
    cg.emit(X86Insn::Mov {
        size: Size::S64,
        dst: TMP3,
        src: CTX,
    });
    cg.call_abs(addr);
    cg.return_tmp3();
    cg.emit(X86Insn::Test {
        size: Size::S32,
        a: X86Reg::Rdx,
        b: X86Reg::Rdx,
    });
    let abort = cg.abort;
    cg.a.jcc(Cond::Ne, abort);
}

pub(crate) fn call(cg: &mut Cg<'_>, slot: usize, t: CallTarget) -> Result<(), JitError> {
    match t {
        CallTarget::Helper(id) => {
            let uid = id as u32;
            let engine = cg.env.engine;
            if id >= 0 && engine.is_some_and(|e| e.get(uid).is_some()) {
                // A helper that calls back into the program: its callee frames go below
                // the current r10.
                cg.callbacks.push(uid);
                let site = cg.site(slot, SiteKind::Callback(uid));
                cg.set_site(site);
                cg.emit(X86Insn::Store {
                    size: Size::S64,
                    mem: Mem::at(CTX, off::CUR_FP),
                    src: X86Reg::Rbp,
                });
                call_trampoline(cg, run::callback_trampoline as *const () as u64);
            } else if uid == TAIL_CALL_ID && engine.is_some_and(|e| e.tail_calls().is_some()) {
                tail_call(cg, slot);
            } else if uid == MAP_LOOKUP_ELEM && cg.r1_array.is_some() && cg.blind_off() {
                let layout = cg.r1_array.unwrap_or(ArrayLayout {
                    base: 0,
                    stride: 0,
                    max_entries: 0,
                });
                inline_array_lookup(cg, layout);
            } else if uid == super::GET_SMP_PROCESSOR_ID && cg.env.inline_cpu {
                inline_smp_processor_id(cg);
            } else if let Some((layout, direct)) = inline_hash(cg, uid) {
                inline_hash_lookup(cg, slot, uid, layout, direct);
            } else if let Some((layout, direct)) = inline_lpm(cg, uid) {
                super::lpm::inline_lpm_lookup(cg, slot, uid, layout, direct);
            } else if let Some((direct, map_reg)) = direct_map_call(cg, uid) {
                direct_call(cg, slot, uid, direct, map_reg);
            } else if id >= 0 && cg.env.helpers.contains(uid) {
                let site = cg.site(slot, SiteKind::Helper(uid));
                cg.set_site(site);
                call_trampoline(cg, run::helper_trampoline as *const () as u64);
            } else {
                return Err(LoadError::UnknownHelper { slot, id }.into());
            }
        }
        CallTarget::Local(rel) => {
            let l = cg.slot_label(target(slot, rel as i64));
            local_call(cg, slot, Callee::Label(l), None);
        }
        CallTarget::Kfunc { .. } => {
            return Err(LoadError::Unsupported {
                slot,
                what: "a kernel function call (kfunc)",
                why: "kernel functions do not exist in user space",
            }
            .into())
        }
    }
    Ok(())
}

/// `bpf_map_lookup_elem`'s id.
const MAP_LOOKUP_ELEM: u32 = 1;

/// The direct form of map helper `id` at this call, and the register its map argument
/// goes in: r1 for calls on the map `lddw r1, map` named (lookup, update, delete, ring
/// buffer reserve), the third argument for submits and discards of the program's only ring
/// buffer.
fn direct_map_call(cg: &Cg<'_>, id: u32) -> Option<(DirectCall, X86Reg)> {
    use userbpf_runtime::kernel_helpers::ids;
    let fast = cg.env.fast_maps?;
    match id {
        ids::RINGBUF_SUBMIT | ids::RINGBUF_DISCARD => {
            Some((fast.commit(id, cg.ring?)?, X86Reg::Rdx))
        }
        _ => Some((fast.with_map(id, cg.r1_handle?)?, X86Reg::Rdi)),
    }
}

/// The inline lookup layout of the plain hash map `lddw r1, map` named, for
/// `bpf_map_lookup_elem`, with the direct call of its slow path.
fn inline_hash(cg: &Cg<'_>, id: u32) -> Option<(HashInline, DirectCall)> {
    if id != MAP_LOOKUP_ELEM {
        return None;
    }
    cg.env.fast_maps?.inline_hash(cg.r1_handle?)
}

/// The inline lookup layout of the LPM trie `lddw r1, map` named, for
/// `bpf_map_lookup_elem`, with the direct call of its slow path.
fn inline_lpm(cg: &Cg<'_>, id: u32) -> Option<(LpmInline, DirectCall)> {
    if id != MAP_LOOKUP_ELEM {
        return None;
    }
    cg.env.fast_maps?.inline_lpm(cg.r1_handle?)
}

/// `dst` = the address of the bucket of the hash in edx (its lock word, then its first
/// element index; `scratch` is overwritten).
fn bucket_lock_addr(cg: &mut Cg<'_>, l: &HashInline, dst: X86Reg, scratch: X86Reg) {
    cg.emit(X86Insn::Mov {
        size: Size::S32,
        dst,
        src: X86Reg::Rdx,
    });
    cg.emit(X86Insn::AluImm {
        op: AluOp::And,
        size: Size::S32,
        dst,
        imm: l.bucket_mask as i32,
    });
    cg.emit(X86Insn::MovAbs {
        dst: scratch,
        imm: l.buckets,
    });
    cg.emit(X86Insn::Lea {
        dst,
        mem: Mem::indexed(scratch, dst, Scale::S8, 0),
    });
}

/// Compare ecx (the sequence read before the walk) with the lock word again: jump to
/// `slow` when a writer intervened. Uses r8 and rdi.
fn recheck_lock(cg: &mut Cg<'_>, l: &HashInline, slow: Label) {
    use X86Reg::{Rcx, Rdi, R8};
    match l.lru {
        Some(lru) => cg.emit(X86Insn::MovAbs {
            dst: R8,
            imm: lru.lock,
        }),
        None => bucket_lock_addr(cg, l, R8, Rdi),
    }
    seq_recheck(cg, Rcx, R8, slow);
}

/// `bpf_map_lookup_elem(hash, &key)` in generated code, as
/// `userbpf_runtime::kernel_helpers::map_fast::HashInline` describes: the hash, the lock
/// word's sequence (odd or changed means a writer intervened), the chain walk, the LRU
/// reference bit, the per-CPU value, and the direct call for everything else. Uses rax,
/// rcx, rdx, rdi, r8, r10 and r11 (r1–r5 are undefined after a helper call); r2 keeps the
/// key pointer and r1 is reloaded with the handle for the slow path.
fn inline_hash_lookup(cg: &mut Cg<'_>, slot: usize, uid: u32, l: HashInline, direct: DirectCall) {
    use X86Reg::{Rax, Rcx, Rdi, Rdx, Rsi, R8};
    let (key, tmp) = (TMP2, TMP);
    let key_size = match l.key_size {
        1 => Size::S8,
        2 => Size::S16,
        4 => Size::S32,
        _ => Size::S64,
    };
    let (walk, next, not_found, slow, done) = (
        cg.a.label(),
        cg.a.label(),
        cg.a.label(),
        cg.a.label(),
        cg.a.label(),
    );
    // The hash: x = (key ^ seed) * mul; h = low32(x ^ (x >> 32)), in edx.
    cg.emit(X86Insn::Load {
        size: key_size,
        dst: key,
        mem: Mem::at(Rsi, 0),
    });
    cg.emit(X86Insn::MovAbs {
        dst: Rax,
        imm: l.seed,
    });
    cg.emit(X86Insn::Alu {
        op: AluOp::Xor,
        size: Size::S64,
        dst: Rax,
        src: key,
    });
    cg.emit(X86Insn::MovAbs {
        dst: tmp,
        imm: l.hash_mul,
    });
    cg.emit(X86Insn::Imul {
        size: Size::S64,
        dst: Rax,
        src: tmp,
    });
    cg.emit(X86Insn::Mov {
        size: Size::S64,
        dst: tmp,
        src: Rax,
    });
    cg.emit(X86Insn::Shift {
        op: crate::x86::ShiftOp::Shr,
        size: Size::S64,
        dst: tmp,
        by: crate::x86::ShiftBy::Imm(32),
    });
    cg.emit(X86Insn::Alu {
        op: AluOp::Xor,
        size: Size::S32,
        dst: Rax,
        src: tmp,
    });
    cg.emit(X86Insn::Mov {
        size: Size::S32,
        dst: Rdx,
        src: Rax,
    });
    // The sequence in ecx (odd: a writer holds the lock), then the bucket's first index.
    bucket_lock_addr(cg, &l, R8, tmp);
    let lock = match l.lru {
        Some(lru) => {
            cg.emit(X86Insn::MovAbs {
                dst: tmp,
                imm: lru.lock,
            });
            tmp
        }
        None => R8,
    };
    seq_begin(cg, lock, Rcx, slow);
    cg.emit(X86Insn::Load {
        size: Size::S32,
        dst: Rax,
        mem: Mem::at(R8, 4),
    });
    // r8d counts the steps; rdi holds the element base.
    cg.emit(X86Insn::Alu {
        op: AluOp::Xor,
        size: Size::S32,
        dst: R8,
        src: R8,
    });
    cg.emit(X86Insn::MovAbs {
        dst: Rdi,
        imm: l.elems,
    });
    // eax: the element index; r11: its address.
    cg.a.bind(walk);
    check_index(cg, Rax, l.count, not_found, slow);
    cg.emit(X86Insn::ImulImm {
        size: Size::S64,
        dst: tmp,
        src: Rax,
        imm: l.elem_size as i32,
    });
    cg.emit(X86Insn::Alu {
        op: AluOp::Add,
        size: Size::S64,
        dst: tmp,
        src: Rdi,
    });
    cg.emit(X86Insn::AluLoad {
        op: AluOp::Cmp,
        size: Size::S32,
        dst: Rdx,
        mem: Mem::at(tmp, l.hash_off as i32),
    });
    cg.a.jcc(Cond::Ne, next);
    cg.emit(X86Insn::AluLoad {
        op: AluOp::Cmp,
        size: key_size,
        dst: key,
        mem: Mem::at(tmp, l.key_off as i32),
    });
    cg.a.jcc(Cond::Ne, next);
    // Found: valid if no writer took the lock meanwhile.
    recheck_lock(cg, &l, slow);
    if let Some(lru) = l.lru {
        // The reference bit, when clear: `lock or` of bit 8 of the element's word.
        let set = cg.a.label();
        cg.emit(X86Insn::MovAbs {
            dst: Rdi,
            imm: lru.ref_words,
        });
        cg.emit(X86Insn::Lea {
            dst: Rdi,
            mem: Mem::indexed(Rdi, Rax, Scale::S4, 0),
        });
        cg.emit(X86Insn::Load {
            size: Size::S32,
            dst: R8,
            mem: Mem::at(Rdi, 0),
        });
        cg.emit(X86Insn::TestImm {
            size: Size::S32,
            dst: R8,
            imm: 0x100,
        });
        cg.a.jcc(Cond::Ne, set);
        cg.emit(X86Insn::MovImm32 {
            dst: R8,
            imm: 0x100,
        });
        cg.emit(X86Insn::LockAlu {
            op: AluOp::Or,
            size: Size::S32,
            mem: Mem::at(Rdi, 0),
            src: R8,
        });
        cg.a.bind(set);
    }
    if let Some((ncpus, stride)) = l.percpu {
        // The thread's CPU slot's value.
        load_cpu_id(cg, R8);
        cg.emit(X86Insn::AluImm {
            op: AluOp::Cmp,
            size: Size::S32,
            dst: R8,
            imm: ncpus as i32,
        });
        cg.a.jcc(Cond::Ae, slow);
        cg.emit(X86Insn::ImulImm {
            size: Size::S64,
            dst: R8,
            src: R8,
            imm: stride as i32,
        });
        cg.emit(X86Insn::Alu {
            op: AluOp::Add,
            size: Size::S64,
            dst: tmp,
            src: R8,
        });
    }
    cg.emit(X86Insn::Lea {
        dst: Rax,
        mem: Mem::at(tmp, l.value_off as i32),
    });
    cg.a.jmp(done);
    cg.a.bind(next);
    count_step(cg, R8, l.max_steps as i32, slow);
    cg.emit(X86Insn::Load {
        size: Size::S32,
        dst: Rax,
        mem: Mem::at(tmp, l.next_off as i32),
    });
    cg.a.jmp(walk);
    // Not found: valid likewise.
    cg.a.bind(not_found);
    recheck_lock(cg, &l, slow);
    null_result(cg, done);
    // Everything else: the direct call, with r1 the handle again.
    cg.a.bind(slow);
    slow_lookup(cg, slot, uid, direct);
    cg.a.bind(done);
}

/// A direct call of a map operation (see `userbpf_runtime::kernel_helpers::map_fast`):
/// the arguments the helper reads besides a map handle in r1 are saved on the machine stack
/// (padded to an even count, keeping rsp 16-byte aligned), the map's address goes in
/// `map_reg` and the thread's CPU slot (the context's `cpu_slot`) in the argument the call
/// names (one the helper does not read), and the function returns the result in rax and a
/// fallback flag in rdx. On fallback, the saved arguments are restored (and r1 reloaded with
/// the handle when the map took its place) and the helper is called as usual (it then
/// reports the trap).
pub(crate) fn direct_call(
    cg: &mut Cg<'_>,
    slot: usize,
    uid: u32,
    direct: DirectCall,
    map_reg: X86Reg,
) {
    use userbpf_runtime::kernel_helpers::ids;
    use X86Reg::{Rcx, Rdi, Rdx, Rsi};
    let saved: &[X86Reg] = match uid {
        ids::MAP_UPDATE_ELEM => &[Rsi, Rdx, Rcx],
        ids::RINGBUF_RESERVE => &[Rsi, Rdx],
        ids::RINGBUF_SUBMIT | ids::RINGBUF_DISCARD => &[Rdi, Rsi],
        _ => &[Rsi],
    };
    // r1 is reloaded from the handle when the map's address replaces it.
    let handle = (map_reg == Rdi).then_some(cg.r1_handle).flatten();
    let pad = saved.len() % 2 == 1;
    for &r in saved {
        cg.emit(X86Insn::Push(r));
    }
    if pad {
        cg.emit(X86Insn::Push(TMP));
    }
    cg.emit(X86Insn::MovAbs {
        dst: map_reg,
        imm: Arc::as_ptr(&direct.map) as u64,
    });
    if let Some(cpu) = direct.cpu_arg {
        let dst = [Rdi, Rsi, Rdx, Rcx, X86Reg::R8][cpu.arg];
        if cpu.needed {
            // The thread's CPU slot.
            load_cpu_id(cg, dst);
        } else {
            cg.emit(X86Insn::Alu {
                op: AluOp::Xor,
                size: Size::S32,
                dst,
                src: dst,
            });
        }
    }
    cg.maps.push(direct.map);
    cg.borrow_tmp3();
    cg.call_abs(direct.func);
    cg.return_tmp3();
    cg.emit(X86Insn::Test {
        size: Size::S32,
        a: Rdx,
        b: Rdx,
    });
    // Pops leave the flags alone.
    if pad {
        cg.emit(X86Insn::Pop(TMP));
    }
    for &r in saved.iter().rev() {
        cg.emit(X86Insn::Pop(r));
    }
    let done = cg.a.label();
    cg.a.jcc(Cond::E, done);
    if let Some(h) = handle {
        cg.emit(X86Insn::MovAbs { dst: Rdi, imm: h });
    }
    let site = cg.site(slot, SiteKind::Helper(uid));
    cg.set_site(site);
    call_trampoline(cg, run::helper_trampoline as *const () as u64);
    cg.a.bind(done);
}

/// `bpf_map_lookup_elem(array, &key)` inlined, as the kernel's `array_map_gen_lookup`:
/// r0 = key < max_entries ? base + key * stride : NULL (the NULL case out of line). r1–r5
/// keep their values (a helper call may leave anything there).
fn inline_array_lookup(cg: &mut Cg<'_>, layout: ArrayLayout) {
    use X86Reg::{Rax, Rsi};
    let null = cg.a.label();
    let done = cg.a.label();
    cg.emit(X86Insn::Load {
        size: Size::S32,
        dst: Rax,
        mem: Mem::at(Rsi, 0),
    });
    cg.emit(X86Insn::AluImm {
        op: AluOp::Cmp,
        size: Size::S32,
        dst: Rax,
        imm: layout.max_entries as i32,
    });
    cg.a.jcc(Cond::Ae, null);
    let scale = match layout.stride {
        1 => Some(Scale::S1),
        2 => Some(Scale::S2),
        4 => Some(Scale::S4),
        8 => Some(Scale::S8),
        _ => None,
    };
    if let Some(scale) = scale {
        // r0 = base + key * stride in one `lea`.
        cg.emit(X86Insn::MovAbs {
            dst: TMP,
            imm: layout.base,
        });
        cg.emit(X86Insn::Lea {
            dst: Rax,
            mem: Mem::indexed(TMP, Rax, scale, 0),
        });
    } else if layout.stride.is_power_of_two() {
        let shift = layout.stride.trailing_zeros() as u8;
        if shift > 0 {
            cg.emit(X86Insn::Shift {
                op: crate::x86::ShiftOp::Shl,
                size: Size::S64,
                dst: Rax,
                by: crate::x86::ShiftBy::Imm(shift),
            });
        }
    } else {
        cg.emit(X86Insn::ImulImm {
            size: Size::S64,
            dst: Rax,
            src: Rax,
            imm: layout.stride as i32,
        });
    }
    if scale.is_none() {
        cg.emit(X86Insn::MovAbs {
            dst: TMP,
            imm: layout.base,
        });
        cg.emit(X86Insn::Alu {
            op: AluOp::Add,
            size: Size::S64,
            dst: Rax,
            src: TMP,
        });
    }
    // The NULL result out of line: the hit path runs straight on.
    cg.null_stubs.push((null, done));
    cg.a.bind(done);
}

/// `bpf_get_smp_processor_id()` inlined, as the kernel does (a per-CPU load): r0 = the
/// u32 at the context's `cpu_slot`, the running thread's per-CPU map slot (the runtime's
/// helper returns the same value; the slot's address is fixed for the thread and its value
/// follows `set_current_cpu`). r1–r5 keep their values.
fn inline_smp_processor_id(cg: &mut Cg<'_>) {
    use X86Reg::Rax;
    load_cpu_id(cg, Rax);
}

/// `bpf_tail_call(ctx, map, index)`: the trampoline resolves the target and returns its
/// body address; the target then runs in place of the current function (same frame, same
/// return address) with r1 restored. When the call fails, r0 is restored and execution
/// continues.
fn tail_call(cg: &mut Cg<'_>, slot: usize) {
    use X86Reg::{Rax, Rdi};
    let site = cg.site(slot, SiteKind::TailCall);
    cg.set_site(site);
    cg.emit(X86Insn::Store {
        size: Size::S64,
        mem: Mem::at(CTX, off::SAVED_R0),
        src: Rax,
    });
    cg.emit(X86Insn::Store {
        size: Size::S64,
        mem: Mem::at(CTX, off::SAVED_R1),
        src: Rdi,
    });
    call_trampoline(cg, run::tail_call_trampoline as *const () as u64);
    let failed = cg.a.label();
    cg.emit(X86Insn::Test {
        size: Size::S64,
        a: Rax,
        b: Rax,
    });
    cg.a.jcc(Cond::E, failed);
    cg.emit(X86Insn::Load {
        size: Size::S64,
        dst: Rdi,
        mem: Mem::at(CTX, off::SAVED_R1),
    });
    cg.emit(X86Insn::JmpReg(Rax));
    cg.a.bind(failed);
    cg.emit(X86Insn::Load {
        size: Size::S64,
        dst: Rax,
        mem: Mem::at(CTX, off::SAVED_R0),
    });
}

/// `callx reg`: a tagged function pointer of this program (`FUNC_PTR_TAG | slot`) is called
/// through the context's slot table; anything else is a helper id, dispatched at run time.
pub(crate) fn callx(cg: &mut Cg<'_>, slot: usize, reg: X86Reg) {
    let site = cg.site(slot, SiteKind::CallX);
    cg.set_site(site);
    cg.emit(X86Insn::Store {
        size: Size::S64,
        mem: Mem::at(CTX, off::CALLX_TARGET),
        src: reg,
    });
    let helper = cg.a.label();
    let done = cg.a.label();
    cg.emit(X86Insn::Mov {
        size: Size::S64,
        dst: TMP,
        src: reg,
    });
    cg.emit(X86Insn::Shift {
        op: crate::x86::ShiftOp::Shr,
        size: Size::S64,
        dst: TMP,
        by: crate::x86::ShiftBy::Imm(32),
    });
    cg.emit(X86Insn::AluImm {
        op: AluOp::Cmp,
        size: Size::S32,
        dst: TMP,
        imm: (FUNC_PTR_TAG >> 32) as u32 as i32,
    });
    cg.a.jcc(Cond::Ne, helper);
    cg.emit(X86Insn::Mov {
        size: Size::S32,
        dst: TMP,
        src: reg,
    });
    cg.emit(X86Insn::AluImm {
        op: AluOp::Cmp,
        size: Size::S64,
        dst: TMP,
        imm: cg.slot_count as i32,
    });
    cg.a.jcc(Cond::Ae, helper);
    cg.emit(X86Insn::MovAbs {
        dst: TMP2,
        imm: cg.env.slot_table,
    });
    cg.emit(X86Insn::Load {
        size: Size::S64,
        dst: TMP,
        mem: Mem::indexed(TMP2, TMP, Scale::S8, 0),
    });
    cg.emit(X86Insn::Test {
        size: Size::S64,
        a: TMP,
        b: TMP,
    });
    cg.a.jcc(Cond::E, helper);
    local_call(cg, slot, Callee::Tmp, Some(site));
    cg.a.jmp(done);
    cg.a.bind(helper);
    call_trampoline(cg, run::callx_trampoline as *const () as u64);
    cg.a.bind(done);
}

/// `may_goto`: jump when the run's budget is spent, else count one down. One subtraction
/// (from r9 when the budget lives there, else from the context): a borrow (the budget was
/// already 0) goes to an out-of-line stub that puts the 0 back and jumps.
pub(crate) fn may_goto(cg: &mut Cg<'_>, slot: usize, off: i16) {
    if cg.goto_reg {
        cg.emit(X86Insn::AluImm {
            op: AluOp::Sub,
            size: Size::S64,
            dst: TMP3,
            imm: 1,
        });
    } else {
        cg.emit(X86Insn::AluMemImm {
            op: AluOp::Sub,
            size: Size::S64,
            mem: Mem::at(CTX, off::MAY_GOTO),
            imm: 1,
        });
    }
    let target = cg.slot_label(target(slot, off as i64));
    let stub = cg.a.label();
    cg.may_goto_stubs.push((stub, target));
    cg.a.jcc(Cond::B, stub);
}
