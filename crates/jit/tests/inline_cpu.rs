//! Inlined `bpf_get_smp_processor_id` against the runtime's helper and the interpreter, on
//! several threads, before and after `set_current_cpu`: always the thread's per-CPU map
//! slot.

use userbpf_isa::asm::assemble;
use userbpf_isa::Program;
use userbpf_jit::{compile_unchecked, JitOptions};
use userbpf_runtime::kernel_helpers::local_helpers;
use userbpf_runtime::maps::cpu::{current_cpu, possible_cpus, set_current_cpu};
use userbpf_runtime::{HelperContext, Interpreter, MemoryMap};

#[test]
fn inlined_cpu_equals_helper_and_map_slot_on_every_thread() {
    let helpers = local_helpers();
    // r0 = cpu; r6 = cpu again after a helper call that goes through the trampoline (5 is
    // ktime_get_ns), so both the fast and the calling run paths are covered.
    let fast = Program::from_insns(assemble("call 8\nexit\n").unwrap());
    let calling = Program::from_insns(
        assemble("call 8\nmov r6, r0\ncall 5\ncall 8\njeq r0, r6, +1\nmov r0, -1\nexit\n").unwrap(),
    );
    // SAFETY: the programs touch no memory.
    let jits = unsafe {
        [
            compile_unchecked(&fast, &helpers, &JitOptions::default()).unwrap(),
            compile_unchecked(&calling, &helpers, &JitOptions::default()).unwrap(),
        ]
    };
    let interp = Interpreter::new(&fast, &helpers).unwrap();
    let helper = helpers.get(8).unwrap().func.clone();
    let n = possible_cpus();
    std::thread::scope(|s| {
        for t in 0..6u32 {
            let (jits, interp, helper) = (&jits, &interp, &helper);
            s.spawn(move || {
                for round in 0..3 {
                    if round > 0 {
                        set_current_cpu(t * 7 + round);
                    }
                    let mut memory = MemoryMap::new();
                    let want = helper(
                        &mut HelperContext {
                            memory: &mut memory,
                        },
                        [0; 5],
                    )
                    .unwrap();
                    assert_eq!(want, current_cpu() as u64);
                    assert!(want < n as u64);
                    for jit in jits {
                        assert_eq!(jit.run_raw(&mut []).unwrap(), want, "thread {t}");
                    }
                    assert_eq!(interp.run_raw(&mut []).unwrap(), want);
                }
            });
        }
    });
}
