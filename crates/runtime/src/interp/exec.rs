//! The execution loop of the interpreter.
//!
//! Takes prepared ops, initial argument registers and the run's memory map; gives r0 or a
//! trap. Registers live in a 16-entry array indexed with `& 15`, so register access needs no
//! bounds check; memory goes through [`crate::memory`] after a region check (stack first).

use userbpf_isa::{semantics, AtomicSize, Width};

use super::op::{Op, Operand, FUNC_PTR_TAG};
use super::{Interpreter, MAX_CALL_FRAMES, MAY_GOTO_BUDGET, STACK_FRAME_SIZE};
use crate::error::{Access, Trap};
use crate::helpers::HelperContext;
use crate::memory::{self, MemoryMap, Region, RegionKind};

const STACK_SIZE: usize = STACK_FRAME_SIZE * MAX_CALL_FRAMES;

struct Frame {
    saved: [u64; 4],
    saved_fp: u64,
    return_pc: usize,
}

struct Machine<'r, 'm, 'a> {
    regs: [u64; 16],
    memory: &'r mut MemoryMap<'m>,
    stack_lo: u64,
    stack_hi: u64,
    _a: std::marker::PhantomData<&'a ()>,
}

impl Machine<'_, '_, '_> {
    #[inline(always)]
    fn r(&self, i: u8) -> u64 {
        self.regs[(i & 15) as usize]
    }

    #[inline(always)]
    fn set(&mut self, i: u8, v: u64) {
        self.regs[(i & 15) as usize] = v;
    }

    #[inline(always)]
    fn in_stack(&self, addr: u64, size: u64) -> bool {
        addr >= self.stack_lo
            && addr.wrapping_sub(self.stack_lo) <= (self.stack_hi - self.stack_lo) - size
    }

    #[inline(always)]
    fn check(&self, slot: usize, addr: u64, size: usize, access: Access) -> Result<(), Trap> {
        if self.in_stack(addr, size as u64)
            || self
                .memory
                .find(addr, size as u64, access != Access::Read)
                .is_some()
        {
            Ok(())
        } else {
            Err(self.out_of_bounds(slot, addr, size, access))
        }
    }

    #[cold]
    fn out_of_bounds(&self, slot: usize, addr: u64, size: usize, access: Access) -> Trap {
        let stack = Region {
            start: self.stack_lo,
            len: self.stack_hi - self.stack_lo,
            writable: true,
            kind: RegionKind::Stack,
        };
        Trap::OutOfBounds {
            slot,
            access,
            addr,
            size,
            nearest: self.memory.describe_nearest(addr, &[stack]),
        }
    }

    #[inline(always)]
    fn load(&self, slot: usize, addr: u64, size: usize) -> Result<u64, Trap> {
        self.check(slot, addr, size, Access::Read)?;
        // SAFETY: `check` proved [addr, addr+size) lies in the stack or a readable region.
        Ok(unsafe { memory::load(addr, size) })
    }

    #[inline(always)]
    fn store(&self, slot: usize, addr: u64, size: usize, v: u64) -> Result<(), Trap> {
        self.check(slot, addr, size, Access::Write)?;
        // SAFETY: `check` proved [addr, addr+size) lies in the stack or a writable region.
        unsafe { memory::store(addr, size, v) };
        Ok(())
    }
}

fn operand(m: &Machine<'_, '_, '_>, o: Operand) -> u64 {
    match o {
        Operand::Reg(r) => m.r(r),
        Operand::Imm(v) => v as i64 as u64,
    }
}

/// Run `vm` with r1.. from `args`. The loop is compiled twice: with the instruction budget
/// counted, and without (no per-instruction cost when no budget is set).
pub(super) fn execute(
    vm: &Interpreter,
    args: &[u64],
    memory: &mut MemoryMap<'_>,
) -> Result<u64, Trap> {
    if vm.budget.is_some() {
        run_loop::<true>(vm, args, memory)
    } else {
        run_loop::<false>(vm, args, memory)
    }
}

fn run_loop<const METERED: bool>(
    vm: &Interpreter,
    args: &[u64],
    memory: &mut MemoryMap<'_>,
) -> Result<u64, Trap> {
    let mut stack = vec![0u64; STACK_SIZE / 8];
    let stack_base = stack.as_mut_ptr() as u64;
    let stack_top = stack_base + STACK_SIZE as u64;
    let mut m = Machine {
        regs: [0; 16],
        memory,
        stack_lo: stack_top - STACK_FRAME_SIZE as u64,
        stack_hi: stack_top,
        _a: std::marker::PhantomData,
    };
    for (i, a) in args.iter().take(5).enumerate() {
        m.regs[i + 1] = *a;
    }
    m.regs[10] = stack_top;
    let mut frames: Vec<Frame> = Vec::with_capacity(MAX_CALL_FRAMES);
    let ops = &vm.ops[..];
    let mut pc: usize = 0;
    let mut budget = vm.budget.unwrap_or(u64::MAX);
    let mut may_goto = MAY_GOTO_BUDGET;

    macro_rules! jump_if {
        ($cond:expr, $t:expr) => {
            if $cond {
                pc = $t as usize;
            }
        };
    }

    let result = loop {
        let slot = pc;
        let op = ops[pc];
        pc += 1;
        if METERED {
            if budget == 0 {
                break Err(Trap::BudgetExhausted {
                    slot,
                    budget: vm.budget.unwrap_or(0),
                });
            }
            budget -= 1;
        }
        match op {
            Op::Add64I(d, v) => m.set(d, m.r(d).wrapping_add(v as i64 as u64)),
            Op::Add64R(d, s) => m.set(d, m.r(d).wrapping_add(m.r(s))),
            Op::Sub64I(d, v) => m.set(d, m.r(d).wrapping_sub(v as i64 as u64)),
            Op::Sub64R(d, s) => m.set(d, m.r(d).wrapping_sub(m.r(s))),
            Op::Mul64I(d, v) => m.set(d, m.r(d).wrapping_mul(v as i64 as u64)),
            Op::Mul64R(d, s) => m.set(d, m.r(d).wrapping_mul(m.r(s))),
            Op::Or64I(d, v) => m.set(d, m.r(d) | v as i64 as u64),
            Op::Or64R(d, s) => m.set(d, m.r(d) | m.r(s)),
            Op::And64I(d, v) => m.set(d, m.r(d) & v as i64 as u64),
            Op::And64R(d, s) => m.set(d, m.r(d) & m.r(s)),
            Op::Xor64I(d, v) => m.set(d, m.r(d) ^ v as i64 as u64),
            Op::Xor64R(d, s) => m.set(d, m.r(d) ^ m.r(s)),
            Op::Lsh64I(d, v) => m.set(d, m.r(d) << v),
            Op::Lsh64R(d, s) => m.set(d, m.r(d) << (m.r(s) & 63)),
            Op::Rsh64I(d, v) => m.set(d, m.r(d) >> v),
            Op::Rsh64R(d, s) => m.set(d, m.r(d) >> (m.r(s) & 63)),
            Op::Arsh64I(d, v) => m.set(d, ((m.r(d) as i64) >> v) as u64),
            Op::Arsh64R(d, s) => m.set(d, ((m.r(d) as i64) >> (m.r(s) & 63)) as u64),
            Op::Mov64I(d, v) => m.set(d, v as i64 as u64),
            Op::Mov64R(d, s) => m.set(d, m.r(s)),
            Op::Add32I(d, v) => m.set(d, (m.r(d) as u32).wrapping_add(v) as u64),
            Op::Add32R(d, s) => m.set(d, (m.r(d) as u32).wrapping_add(m.r(s) as u32) as u64),
            Op::Sub32I(d, v) => m.set(d, (m.r(d) as u32).wrapping_sub(v) as u64),
            Op::Sub32R(d, s) => m.set(d, (m.r(d) as u32).wrapping_sub(m.r(s) as u32) as u64),
            Op::Mul32I(d, v) => m.set(d, (m.r(d) as u32).wrapping_mul(v) as u64),
            Op::Mul32R(d, s) => m.set(d, (m.r(d) as u32).wrapping_mul(m.r(s) as u32) as u64),
            Op::Or32I(d, v) => m.set(d, (m.r(d) as u32 | v) as u64),
            Op::Or32R(d, s) => m.set(d, (m.r(d) as u32 | m.r(s) as u32) as u64),
            Op::And32I(d, v) => m.set(d, (m.r(d) as u32 & v) as u64),
            Op::And32R(d, s) => m.set(d, (m.r(d) as u32 & m.r(s) as u32) as u64),
            Op::Xor32I(d, v) => m.set(d, (m.r(d) as u32 ^ v) as u64),
            Op::Xor32R(d, s) => m.set(d, (m.r(d) as u32 ^ m.r(s) as u32) as u64),
            Op::Lsh32I(d, v) => m.set(d, ((m.r(d) as u32) << v) as u64),
            Op::Lsh32R(d, s) => m.set(d, ((m.r(d) as u32) << (m.r(s) & 31)) as u64),
            Op::Rsh32I(d, v) => m.set(d, ((m.r(d) as u32) >> v) as u64),
            Op::Rsh32R(d, s) => m.set(d, ((m.r(d) as u32) >> (m.r(s) & 31)) as u64),
            Op::Arsh32I(d, v) => m.set(d, ((m.r(d) as i32) >> v) as u32 as u64),
            Op::Arsh32R(d, s) => m.set(d, ((m.r(d) as i32) >> (m.r(s) & 31)) as u32 as u64),
            Op::Mov32I(d, v) => m.set(d, v as u64),
            Op::Mov32R(d, s) => m.set(d, m.r(s) as u32 as u64),
            Op::Div64R(d, s) => m.set(d, m.r(d).checked_div(m.r(s)).unwrap_or(0)),
            Op::Mod64R(d, s) => {
                let (a, b) = (m.r(d), m.r(s));
                m.set(d, a.checked_rem(b).unwrap_or(a))
            }
            Op::Div32R(d, s) => {
                let (a, b) = (m.r(d) as u32, m.r(s) as u32);
                m.set(d, a.checked_div(b).unwrap_or(0) as u64)
            }
            Op::Mod32R(d, s) => {
                let (a, b) = (m.r(d) as u32, m.r(s) as u32);
                m.set(d, a.checked_rem(b).unwrap_or(a) as u64)
            }
            Op::Div64I(d, v) => m.set(d, m.r(d) / v),
            Op::Mod64I(d, v) => m.set(d, m.r(d) % v),
            Op::Div32I(d, v) => m.set(d, (m.r(d) as u32 / v) as u64),
            Op::Mod32I(d, v) => m.set(d, (m.r(d) as u32 % v) as u64),
            Op::AluSlow(w, aop, d, o) => {
                let v = semantics::alu(w, aop, m.r(d), operand(&m, o));
                m.set(d, v)
            }
            Op::Neg64(d) => m.set(d, semantics::neg(Width::W64, m.r(d))),
            Op::Neg32(d) => m.set(d, semantics::neg(Width::W32, m.r(d))),
            Op::MovSx(w, d, s, from) => m.set(d, semantics::movsx(w, m.r(s), from)),
            Op::Endian(order, bits, d) => m.set(d, semantics::endian(order, bits, m.r(d))),
            Op::Load(size, d, s, off) => {
                let addr = m.r(s).wrapping_add(off as i64 as u64);
                match m.load(slot, addr, size as usize) {
                    Ok(v) => m.set(d, v),
                    Err(t) => break Err(t),
                }
            }
            Op::LoadSx(size, d, s, off) => {
                let addr = m.r(s).wrapping_add(off as i64 as u64);
                match m.load(slot, addr, size as usize) {
                    Ok(v) => m.set(d, semantics::sign_extend(v, size as u32 * 8)),
                    Err(t) => break Err(t),
                }
            }
            Op::StoreR(size, d, s, off) => {
                let addr = m.r(d).wrapping_add(off as i64 as u64);
                if let Err(t) = m.store(slot, addr, size as usize, m.r(s)) {
                    break Err(t);
                }
            }
            Op::StoreI(size, d, off, v) => {
                let addr = m.r(d).wrapping_add(off as i64 as u64);
                if let Err(t) = m.store(slot, addr, size as usize, v as i64 as u64) {
                    break Err(t);
                }
            }
            Op::Atomic(size, aop, d, s, off) => {
                let addr = m.r(d).wrapping_add(off as i64 as u64);
                let n = match size {
                    AtomicSize::W => 4,
                    AtomicSize::DW => 8,
                };
                if let Err(t) = m.check(slot, addr, n, Access::Atomic) {
                    break Err(t);
                }
                if !addr.is_multiple_of(n as u64) {
                    break Err(Trap::MisalignedAtomic {
                        slot,
                        addr,
                        size: n,
                    });
                }
                // SAFETY: checked in bounds of a writable region and aligned just above.
                let old = unsafe { memory::atomic(addr, n, aop, m.r(s), m.r(0)) };
                match aop {
                    userbpf_isa::AtomicOp::CmpXchg => m.set(0, old),
                    a if a.fetches() => m.set(s, old),
                    _ => {}
                }
            }
            Op::LoadImm(d, v) => m.set(d, v),
            Op::Nop => {}
            Op::Ja(t) => pc = t as usize,
            Op::JeqI(d, v, t) => jump_if!(m.r(d) == v as i64 as u64, t),
            Op::JeqR(d, s, t) => jump_if!(m.r(d) == m.r(s), t),
            Op::JneI(d, v, t) => jump_if!(m.r(d) != v as i64 as u64, t),
            Op::JneR(d, s, t) => jump_if!(m.r(d) != m.r(s), t),
            Op::JgtI(d, v, t) => jump_if!(m.r(d) > v as i64 as u64, t),
            Op::JgtR(d, s, t) => jump_if!(m.r(d) > m.r(s), t),
            Op::JgeI(d, v, t) => jump_if!(m.r(d) >= v as i64 as u64, t),
            Op::JgeR(d, s, t) => jump_if!(m.r(d) >= m.r(s), t),
            Op::JltI(d, v, t) => jump_if!(m.r(d) < v as i64 as u64, t),
            Op::JltR(d, s, t) => jump_if!(m.r(d) < m.r(s), t),
            Op::JleI(d, v, t) => jump_if!(m.r(d) <= v as i64 as u64, t),
            Op::JleR(d, s, t) => jump_if!(m.r(d) <= m.r(s), t),
            Op::JsetI(d, v, t) => jump_if!(m.r(d) & v as i64 as u64 != 0, t),
            Op::JsetR(d, s, t) => jump_if!(m.r(d) & m.r(s) != 0, t),
            Op::JsgtI(d, v, t) => jump_if!((m.r(d) as i64) > v as i64, t),
            Op::JsgtR(d, s, t) => jump_if!((m.r(d) as i64) > m.r(s) as i64, t),
            Op::JsgeI(d, v, t) => jump_if!((m.r(d) as i64) >= v as i64, t),
            Op::JsgeR(d, s, t) => jump_if!((m.r(d) as i64) >= m.r(s) as i64, t),
            Op::JsltI(d, v, t) => jump_if!((m.r(d) as i64) < v as i64, t),
            Op::JsltR(d, s, t) => jump_if!((m.r(d) as i64) < (m.r(s) as i64), t),
            Op::JsleI(d, v, t) => jump_if!((m.r(d) as i64) <= v as i64, t),
            Op::JsleR(d, s, t) => jump_if!((m.r(d) as i64) <= m.r(s) as i64, t),
            Op::Jmp32(cond, d, o, t) => {
                jump_if!(
                    semantics::jump_taken(Width::W32, cond, m.r(d), operand(&m, o)),
                    t
                )
            }
            Op::CallHelper(id) => {
                if let Err(t) = call_helper(vm, &mut m, slot, id as u64) {
                    break Err(t);
                }
            }
            Op::CallLocal(t) => {
                if let Err(e) = push_frame(&mut m, &mut frames, slot, pc) {
                    break Err(e);
                }
                pc = t as usize;
            }
            Op::CallX(r) => {
                let target = m.r(r);
                if target & !0xffff_ffff == FUNC_PTR_TAG & !0xffff_ffff
                    && ((target as u32) as usize) < ops.len() - 1
                    && !matches!(ops[target as u32 as usize], Op::Nop)
                {
                    if let Err(e) = push_frame(&mut m, &mut frames, slot, pc) {
                        break Err(e);
                    }
                    pc = target as u32 as usize;
                } else if let Err(t) = call_helper(vm, &mut m, slot, target) {
                    break Err(match t {
                        Trap::UnknownHelper { .. } => Trap::BadCallTarget { slot, target },
                        other => other,
                    });
                }
            }
            Op::Exit => match frames.pop() {
                None => break Ok(m.regs[0]),
                Some(f) => {
                    m.regs[6..10].copy_from_slice(&f.saved);
                    m.regs[10] = f.saved_fp;
                    m.stack_lo = f.saved_fp - STACK_FRAME_SIZE as u64;
                    pc = f.return_pc;
                }
            },
            Op::MayGoto(t) => {
                if may_goto == 0 {
                    pc = t as usize;
                } else {
                    may_goto -= 1;
                }
            }
            Op::End => break Err(Trap::FellOffEnd { slot }),
        }
    };
    drop(stack);
    result
}

fn push_frame(
    m: &mut Machine<'_, '_, '_>,
    frames: &mut Vec<Frame>,
    slot: usize,
    return_pc: usize,
) -> Result<(), Trap> {
    if frames.len() + 1 >= MAX_CALL_FRAMES {
        return Err(Trap::CallDepth {
            slot,
            max: MAX_CALL_FRAMES,
        });
    }
    let mut saved = [0u64; 4];
    saved.copy_from_slice(&m.regs[6..10]);
    frames.push(Frame {
        saved,
        saved_fp: m.regs[10],
        return_pc,
    });
    m.regs[10] -= STACK_FRAME_SIZE as u64;
    m.stack_lo = m.regs[10] - STACK_FRAME_SIZE as u64;
    Ok(())
}

#[inline(never)]
fn call_helper(
    vm: &Interpreter,
    m: &mut Machine<'_, '_, '_>,
    slot: usize,
    id: u64,
) -> Result<(), Trap> {
    let Some(Some(f)) = vm.helpers.get(id as usize) else {
        return Err(Trap::UnknownHelper { slot, id });
    };
    let args = [m.regs[1], m.regs[2], m.regs[3], m.regs[4], m.regs[5]];
    let mut ctx = HelperContext { memory: m.memory };
    match f(&mut ctx, args) {
        Ok(v) => {
            m.regs[0] = v;
            Ok(())
        }
        Err(message) => Err(Trap::Helper { slot, id, message }),
    }
}
