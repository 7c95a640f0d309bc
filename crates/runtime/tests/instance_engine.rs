//! The interpreter's engine helpers on hand-written bytecode: callbacks with their own
//! frames, the budget across callbacks, bad function pointers.

use std::sync::Arc;

use userbpf_isa::{asm, Program};
use userbpf_runtime::interp::{CallbackError, EngineHelpers, TailCallTarget, TailCallTargets};
use userbpf_runtime::{Helpers, Interpreter, Trap};

fn program(src: &str) -> Program {
    Program::from_insns(asm::assemble(src).expect("assemble"))
}

/// Helper 200(func, n): calls func(i, 0) for i in 0..n, sums the results.
fn engine() -> EngineHelpers {
    let mut e = EngineHelpers::new();
    e.register(200, "sum_calls", |ctx, a| {
        let mut sum = 0u64;
        for i in 0..a[1] {
            sum += ctx.call_function(a[0], [i, 0, 0, 0, 0], &[])?;
        }
        Ok(sum)
    });
    e.register(201, "read_key", |ctx, a| {
        let key = 0x1234_5678u32.to_ne_bytes();
        Ok(ctx.call_function(a[0], [key.as_ptr() as u64, 0, 0, 0, 0], &key)?)
    });
    e.register(202, "fails", |_, _| {
        Err(CallbackError::Message("no".to_string()))
    });
    e
}

// r6 survives the callbacks; the callback returns i * 2 using its own stack.
const SUM: &str = "
    r6 = 7
    r1 = 0 ll
    r2 = 5
    call 200
    r0 += r6
    exit
    *(u64 *)(r10 - 8) = r1
    r0 = *(u64 *)(r10 - 8)
    r0 *= 2
    r6 = 99
    exit
";

#[test]
fn callbacks_run_in_their_own_frame() {
    // The function pointer: lddw with src BPF_PSEUDO_FUNC, target relative to the next slot.
    let src = SUM.replace("r1 = 0 ll", "ld_pseudo r1, 4, 5");
    let prog = program(&src);
    let vm = Interpreter::with_engine_helpers(&prog, &Helpers::new(), &engine()).unwrap();
    assert_eq!(vm.run_raw(&mut []).unwrap(), 2 * (1 + 2 + 3 + 4) + 7);
}

#[test]
fn readonly_scratch_is_visible_only_during_the_call() {
    let src = "
        ld_pseudo r1, 4, 3
        call 201
        exit
        r0 = *(u32 *)(r1 + 0)
        exit
    ";
    let vm = Interpreter::with_engine_helpers(&program(src), &Helpers::new(), &engine()).unwrap();
    assert_eq!(vm.run_raw(&mut []).unwrap(), 0x1234_5678);
}

#[test]
fn bad_function_pointers_and_helper_failures_trap() {
    let src = "r1 = 12345\nr2 = 1\ncall 200\nexit\n";
    let vm = Interpreter::with_engine_helpers(&program(src), &Helpers::new(), &engine()).unwrap();
    assert!(matches!(
        vm.run_raw(&mut []),
        Err(Trap::BadCallTarget { target: 12345, .. })
    ));
    let vm = Interpreter::with_engine_helpers(
        &program("r0 = 0\ncall 202\nexit\n"),
        &Helpers::new(),
        &engine(),
    )
    .unwrap();
    assert!(matches!(
        vm.run_raw(&mut []),
        Err(Trap::Helper {
            slot: 1,
            id: 202,
            ..
        })
    ));
}

#[test]
fn budget_covers_callbacks() {
    let src = SUM.replace("r1 = 0 ll", "ld_pseudo r1, 4, 5");
    let mut vm =
        Interpreter::with_engine_helpers(&program(&src), &Helpers::new(), &engine()).unwrap();
    vm.set_budget(Some(20));
    assert!(matches!(
        vm.run_raw(&mut []),
        Err(Trap::BudgetExhausted { budget: 20, .. })
    ));
    vm.set_budget(Some(1000));
    assert_eq!(vm.run_raw(&mut []).unwrap(), 27);
}

struct ToSelf(std::sync::OnceLock<Arc<Interpreter>>);

impl TailCallTargets for ToSelf {
    fn target(&self, _map: u64, index: u32) -> Result<TailCallTarget, String> {
        Ok(match index {
            0 => TailCallTarget::Program(self.0.get().unwrap().clone()),
            1 => TailCallTarget::Empty,
            _ => TailCallTarget::OutOfRange,
        })
    }
}

#[test]
fn tail_call_limit_on_bytecode() {
    // Count in the input buffer, then tail call ourselves.
    let src = "
        r2 = *(u64 *)(r1 + 0)
        r2 += 1
        *(u64 *)(r1 + 0) = r2
        r6 = r1
        r2 = 0
        r3 = 0
        call 12
        r0 = *(u64 *)(r6 + 0)
        exit
    ";
    let targets = Arc::new(ToSelf(std::sync::OnceLock::new()));
    let mut e = EngineHelpers::new();
    e.set_tail_calls(targets.clone());
    let vm =
        Arc::new(Interpreter::with_engine_helpers(&program(src), &Helpers::new(), &e).unwrap());
    let _ = targets.0.set(vm.clone());
    let mut input = [0u8; 8];
    assert_eq!(vm.run_raw(&mut input).unwrap(), 34);
}
