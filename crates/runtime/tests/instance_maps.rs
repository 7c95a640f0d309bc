//! Objects with element maps, queues, bloom filters and global data: map helpers from C
//! programs, results and map contents checked from user space.

#[path = "instance_src/support.rs"]
mod support;

use support::*;
use userbpf_runtime::maps::{possible_cpus, BPF_ANY};

const ENOENT: i64 = -2;
const E2BIG: i64 = -7;
const EEXIST: i64 = -17;
const EINVAL: i64 = -22;

fn results(inst: &userbpf_runtime::ObjectInstance, n: u32) -> Vec<i64> {
    let m = inst.map("results").unwrap();
    (0..n)
        .map(|i| u64_of(&m.lookup(&u32_key(i)).unwrap()) as i64)
        .collect()
}

#[test]
fn counters_in_array_hash_and_percpu_maps() {
    let Some(inst) = instance("maps_basic") else {
        return;
    };
    let prog = inst.program("count").unwrap();
    for _ in 0..5 {
        assert_eq!(prog.run_raw(&mut [0u8; 8]).unwrap(), 0);
    }
    let counts = inst.map("counts").unwrap();
    assert_eq!(u64_of(&counts.lookup(&u32_key(0)).unwrap()), 5);
    let hash = inst.map("hash").unwrap();
    assert_eq!(u64_of(&hash.lookup(&u32_key(7)).unwrap()), 5);
    // Per-CPU: one value per CPU slot, all runs on this thread's slot.
    let per = inst.map("percpu").unwrap().lookup(&u32_key(0)).unwrap();
    assert_eq!(per.len(), 8 * possible_cpus() as usize);
    let total: u64 = per.chunks(8).map(u64_of).sum();
    assert_eq!(total, 5);
}

#[test]
fn global_data_sections() {
    let Some(inst) = instance("maps_basic") else {
        return;
    };
    let names: Vec<String> = inst.maps().into_iter().map(|(n, _)| n).collect();
    for want in [".rodata", ".data", ".bss"] {
        assert!(names.iter().any(|n| n == want), "{names:?}");
    }
    let prog = inst.program("globals").unwrap();
    assert_eq!(prog.run_raw(&mut []).unwrap(), 103 + 1000);
    assert_eq!(prog.run_raw(&mut []).unwrap(), 106 + 2000);
    let data = inst.map(".data").unwrap().lookup(&u32_key(0)).unwrap();
    assert_eq!(u64_of(&data), 106);
    let bss = inst.map(".bss").unwrap().lookup(&u32_key(0)).unwrap();
    assert_eq!(u64_of(&bss), 2);
    // .rodata: the initial value, and read-only for programs.
    let rodata = inst.map(".rodata").unwrap();
    assert_eq!(u32_of(&rodata.lookup(&u32_key(0)).unwrap()), 3);
    assert!(!rodata.memory_region().writable);
    // Frozen after loading, as libbpf freezes it: user space can no longer change it.
    assert!(rodata.is_frozen());
    let e = rodata
        .update(&u32_key(0), &5u32.to_ne_bytes(), BPF_ANY)
        .unwrap_err();
    assert_eq!(e.errno(), 1, "{e}"); // EPERM
    assert_eq!(u32_of(&rodata.lookup(&u32_key(0)).unwrap()), 3);
    assert_eq!(prog.run_raw(&mut []).unwrap(), 109 + 3000);
    // .data and .bss stay writable.
    assert!(!inst.map(".data").unwrap().is_frozen());
    inst.map(".bss")
        .unwrap()
        .update(&u32_key(0), &[0u8; 8], BPF_ANY)
        .unwrap();
}

#[test]
fn helper_errnos_follow_the_kernel() {
    let Some(inst) = instance("maps_basic") else {
        return;
    };
    inst.program("errnos").unwrap().run_raw(&mut []).unwrap();
    assert_eq!(
        results(&inst, 10),
        vec![0, EEXIST, ENOENT, ENOENT, EINVAL, E2BIG, EEXIST, EINVAL, 0, 1]
    );
    assert!(inst.map("hash").unwrap().is_empty());
}

#[test]
fn lru_hash_evicts_least_recently_used() {
    let Some(inst) = instance("maps_basic") else {
        return;
    };
    assert_eq!(
        inst.program("lru_fill").unwrap().run_raw(&mut []).unwrap(),
        90
    );
    let lru = inst.map("lru").unwrap();
    assert_eq!(lru.len(), 4);
    let mut keys: Vec<u32> = lru.keys().map(|k| u32_of(&k.unwrap())).collect();
    keys.sort();
    assert_eq!(keys, vec![6, 7, 8, 9]);
}

#[test]
fn lpm_trie_longest_prefix() {
    let Some(inst) = instance("maps_basic") else {
        return;
    };
    let lpm = inst.map("lpm").unwrap();
    let key = |len: u32, a: [u8; 4]| {
        let mut k = len.to_ne_bytes().to_vec();
        k.extend_from_slice(&a);
        k
    };
    lpm.update(&key(8, [10, 0, 0, 0]), &1u32.to_ne_bytes(), BPF_ANY)
        .unwrap();
    lpm.update(&key(16, [10, 1, 0, 0]), &2u32.to_ne_bytes(), BPF_ANY)
        .unwrap();
    lpm.update(&key(24, [10, 2, 0, 0]), &3u32.to_ne_bytes(), BPF_ANY)
        .unwrap();
    let r = inst
        .program("lpm_lookup")
        .unwrap()
        .run_raw(&mut [])
        .unwrap();
    assert_eq!(r, 2 * 1000);
}

#[test]
fn queue_stack_and_bloom_filter() {
    let Some(inst) = instance("maps_basic") else {
        return;
    };
    inst.program("queues").unwrap().run_raw(&mut []).unwrap();
    assert_eq!(results(&inst, 3), vec![11_33_22_22, ENOENT, 0]);
    let stack = inst.map("stack").unwrap();
    assert_eq!(u32_of(&stack.pop().unwrap()), 22);
    assert_eq!(u32_of(&stack.pop().unwrap()), 11);
    assert!(inst.map("queue").unwrap().is_empty());

    inst.program("bloom_ops").unwrap().run_raw(&mut []).unwrap();
    assert_eq!(results(&inst, 3), vec![0, 0, ENOENT]);
    assert!(inst
        .map("bloom")
        .unwrap()
        .contains(&42u32.to_ne_bytes())
        .unwrap());
}

#[test]
fn map_handles_are_not_pointers() {
    use userbpf_isa::{Insn, LdImm64Kind};
    let Some(inst) = instance("maps_basic") else {
        return;
    };
    let prog = inst.program("count").unwrap();
    // Every map reference became a constant with the handle tag.
    let handles: Vec<u64> = prog
        .program()
        .insns()
        .iter()
        .filter_map(|i| match *i {
            Insn::LdImm64 {
                kind: LdImm64Kind::Imm,
                imm,
                next_imm,
                ..
            } => Some(Insn::imm64(imm, next_imm)),
            Insn::LdImm64 { kind, .. } => panic!("unrelocated {kind:?}"),
            _ => None,
        })
        .collect();
    assert!(!handles.is_empty());
    for h in handles {
        assert!(
            userbpf_runtime::instance::map_id_of_handle(h).is_some(),
            "{h:x}"
        );
    }
    // A program that dereferences a handle traps.
    let trap = prog_deref_handle(&inst);
    assert!(trap.contains("invalid read"), "{trap}");
}

fn prog_deref_handle(inst: &userbpf_runtime::ObjectInstance) -> String {
    use userbpf_isa::{asm, Program};
    use userbpf_runtime::Interpreter;
    let h = userbpf_runtime::instance::map_handle(inst.map_id("counts").unwrap());
    let src = format!("r1 = {h} ll\nr0 = *(u64 *)(r1 + 0)\nexit\n");
    let program = Program::from_insns(asm::assemble(&src).unwrap());
    let vm = Interpreter::new(&program, &userbpf_runtime::Helpers::new()).unwrap();
    let mut mem = userbpf_runtime::MemoryMap::new();
    for (_, m) in inst.maps() {
        // SAFETY: the maps outlive the run (held by `inst`).
        unsafe { mem.add_raw(m.memory_region()) };
    }
    vm.run(&[], &mut mem).unwrap_err().to_string()
}

#[test]
fn pinned_rodata_stays_frozen_for_other_handles() {
    use userbpf_runtime::maps::Map;
    use userbpf_runtime::{LoadOptions, ObjectInstance};
    let Some(obj) = object("maps_basic") else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("userbpf-rodata-pin-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let opts = LoadOptions {
        pin_dir: Some(dir.clone()),
        ..LoadOptions::default()
    };
    let inst = ObjectInstance::load(&obj, &opts).expect("instance loads");
    // Another handle on the pin (as another process would open it) sees the freeze.
    let other = Map::open_pinned(&dir.join(".rodata")).unwrap();
    assert!(other.is_frozen());
    let e = other
        .update(&u32_key(0), &7u32.to_ne_bytes(), BPF_ANY)
        .unwrap_err();
    assert_eq!(e.errno(), 1, "{e}"); // EPERM
    assert_eq!(u32_of(&other.lookup(&u32_key(0)).unwrap()), 3);
    // .data is pinned too and stays writable.
    let data = Map::open_pinned(&dir.join(".data")).unwrap();
    assert!(!data.is_frozen());
    data.update(&u32_key(0), &[0u8; 8], BPF_ANY).unwrap();
    drop(inst);
    let _ = std::fs::remove_dir_all(&dir);
}
