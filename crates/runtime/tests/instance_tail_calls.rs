//! Tail calls through program arrays and maps of maps, from C programs.

#[path = "instance_src/support.rs"]
mod support;

use support::*;
use userbpf_runtime::maps::{MapSpec, MapType, BPF_ANY};
use userbpf_runtime::RuntimeError;

fn state(inst: &userbpf_runtime::ObjectInstance) -> Vec<u64> {
    let m = inst.map("state").unwrap();
    (0..4)
        .map(|i| u64_of(&m.lookup(&u32_key(i)).unwrap()))
        .collect()
}

#[test]
fn tail_calls_from_initial_values() {
    let Some(inst) = instance("tail_calls") else {
        return;
    };
    let jumps = inst.map("jumps").unwrap();
    // The object's .values: slot 1 = step1, slot 2 = step2 (program indices).
    let names = inst.program_names();
    let idx = |n: &str| names.iter().position(|p| *p == n).unwrap() as u32;
    assert_eq!(u32_of(&jumps.lookup(&u32_key(1)).unwrap()), idx("step1"));
    assert_eq!(u32_of(&jumps.lookup(&u32_key(2)).unwrap()), idx("step2"));
    assert_eq!(jumps.lookup(&u32_key(0)).unwrap_err().errno(), 2);

    let entry = inst.program("entry").unwrap();
    // entry -> step1 -> step2, which returns 42 after two failed tail calls.
    assert_eq!(entry.run_raw(&mut [0u8; 4]).unwrap(), 42);
    assert_eq!(state(&inst), vec![1, 10, 100, 0]);

    // Clearing slot 1 makes entry's tail call fail: it continues and returns 200.
    inst.clear_tail_call("jumps", 1).unwrap();
    assert_eq!(entry.run_raw(&mut []).unwrap(), 200);
    // Setting it from user space to step2 directly.
    inst.set_tail_call("jumps", 1, "step2").unwrap();
    assert_eq!(entry.run_raw(&mut []).unwrap(), 42);
    assert_eq!(state(&inst), vec![3, 10, 200, 0]);
}

#[test]
fn at_most_33_tail_calls_per_run() {
    let Some(inst) = instance("tail_calls") else {
        return;
    };
    inst.set_tail_call("jumps", 3, "chain").unwrap();
    let chain = inst.program("chain").unwrap();
    assert_eq!(chain.run_raw(&mut []).unwrap(), 7);
    // The first run plus 33 tail calls (MAX_TAIL_CALL_CNT), as in the kernel.
    assert_eq!(state(&inst)[3], 34);
    // The count is per run.
    assert_eq!(chain.run_raw(&mut []).unwrap(), 7);
    assert_eq!(state(&inst)[3], 68);
}

#[test]
fn tail_call_from_a_subprogram_returns_to_its_caller() {
    let Some(inst) = instance("tail_calls") else {
        return;
    };
    let p = inst.program("from_sub").unwrap();
    // sub's frame is replaced by step2 (42), whose result sub's caller gets.
    assert_eq!(p.run_raw(&mut []).unwrap(), 1042);
    inst.clear_tail_call("jumps", 2).unwrap();
    // Failed tail call: sub continues and returns state[0] (0).
    assert_eq!(p.run_raw(&mut []).unwrap(), 1000);
}

#[test]
fn prog_array_slots_are_checked() {
    let Some(inst) = instance("tail_calls") else {
        return;
    };
    assert!(matches!(
        inst.set_tail_call("jumps", 1, "nope"),
        Err(RuntimeError::NoSuchProgram(_))
    ));
    let e = inst.set_tail_call("jumps", 8, "step1").unwrap_err();
    assert!(e.to_string().contains("out of range"), "{e}");
    let e = inst.set_tail_call("state", 0, "step1").unwrap_err();
    assert!(e.to_string().contains("not a program array"), "{e}");
}

#[test]
fn maps_of_maps() {
    let Some(inst) = instance("map_in_map") else {
        return;
    };
    let outer = inst.map("outer").unwrap();
    let a = inst.map_id("inner_a").unwrap();
    let b = inst.map_id("inner_b").unwrap();
    assert_eq!(u32_of(&outer.lookup(&u32_key(0)).unwrap()), a);
    assert_eq!(u32_of(&outer.lookup(&u32_key(2)).unwrap()), b);
    assert_eq!(outer.lookup(&u32_key(1)).unwrap_err().errno(), 2);

    let p = inst.program("bump").unwrap();
    assert_eq!(p.run_raw(&mut []).unwrap(), 2);
    // A new inner map created by user space, stored in the hash of maps.
    let c = inst
        .create_map("inner_c", MapSpec::new(MapType::Array, 4, 8, 2))
        .unwrap();
    inst.set_inner_map("by_name", &1234u32.to_ne_bytes(), "inner_c")
        .unwrap();
    inst.set_inner_map("outer", &u32_key(1), "inner_c").unwrap();
    assert_eq!(p.run_raw(&mut []).unwrap(), 13);
    let val = |name: &str, k: u32| u64_of(&inst.map(name).unwrap().lookup(&u32_key(k)).unwrap());
    assert_eq!(val("inner_a", 0), 2);
    assert_eq!(val("inner_b", 0), 2);
    assert_eq!(val("inner_c", 0), 1);
    assert_eq!(val("inner_c", 1), 77);
    assert_eq!(inst.map_by_id(c).unwrap().spec().name, "inner_c");

    // Incompatible inner maps are refused as by the kernel.
    inst.create_map("wrong", MapSpec::new(MapType::Array, 4, 4, 2))
        .unwrap();
    let e = inst
        .set_inner_map("outer", &u32_key(3), "wrong")
        .unwrap_err();
    assert!(e.to_string().contains("value_size"), "{e}");
    inst.create_map("hash", MapSpec::new(MapType::Hash, 4, 8, 2))
        .unwrap();
    let e = inst
        .set_inner_map("outer", &u32_key(3), "hash")
        .unwrap_err();
    assert!(e.to_string().contains("type"), "{e}");
    // Removing an inner map from the outer array: the program no longer sees it.
    outer.delete(&u32_key(0)).unwrap();
    assert_eq!(p.run_raw(&mut []).unwrap(), 12);
    let _ = BPF_ANY;
}

#[test]
fn tail_calls_limited_to_some_targets_treat_the_others_as_empty_slots() {
    let Some(inst) = instance("tail_calls") else {
        return;
    };
    let entry = inst.program("entry").unwrap();
    // step1 may be reached, step2 (slot 2, and slot 1 once set to it) may not.
    entry
        .limit_tail_call_targets(&|name| name != "step2")
        .unwrap();
    // Limiting again to the same set is fine, to another one an error.
    entry
        .limit_tail_call_targets(&|name| name != "step2")
        .unwrap();
    assert!(matches!(
        entry.limit_tail_call_targets(&|_| true),
        Err(RuntimeError::TailCallTargets { .. })
    ));
    // entry -> step1, whose tail call to step2 falls through as if slot 2 were empty.
    let limited = entry.run_raw(&mut []).unwrap();
    inst.clear_tail_call("jumps", 2).unwrap();
    let state_before = state(&inst);
    assert_eq!(entry.run_raw(&mut []).unwrap(), limited);
    // The counters moved the same way for the limited slot and the truly empty one.
    let state_after = state(&inst);
    assert_eq!(state_after[0] - state_before[0], 1);
    // A slot filled from user space with step2 falls through too.
    inst.set_tail_call("jumps", 1, "step2").unwrap();
    assert_eq!(entry.run_raw(&mut []).unwrap(), 200);
    // Another prepared program of the same instance is not limited.
    let other = inst.program("entry").unwrap();
    assert_eq!(other.run_raw(&mut []).unwrap(), 42);
}
