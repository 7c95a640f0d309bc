//! `bpf_loop`, `bpf_for_each_map_elem`, ring buffers and perf event arrays from C programs.

#[path = "instance_src/support.rs"]
mod support;

use support::*;
use userbpf_runtime::maps::{current_cpu, BPF_ANY};

const ENOENT: i64 = -2;
const E2BIG: i64 = -7;
/// `-E2BIG` as the kernel's inlined `bpf_loop` returns it (a 32-bit move: zero-extended).
const E2BIG_INLINED: i64 = 0xffff_fff9;
const EINVAL: i64 = -22;

fn results(inst: &userbpf_runtime::ObjectInstance, n: u32) -> Vec<i64> {
    let m = inst.map("results").unwrap();
    (0..n)
        .map(|i| u64_of(&m.lookup(&u32_key(i)).unwrap()) as i64)
        .collect()
}

#[test]
fn bpf_loop_calls_the_callback_with_kernel_limits() {
    let Some(inst) = instance("callbacks") else {
        return;
    };
    assert_eq!(inst.program("loops").unwrap().run_raw(&mut []).unwrap(), 0);
    assert_eq!(
        results(&inst, 7),
        vec![100, 4950, 11, 55, EINVAL, E2BIG_INLINED, 0]
    );
}

#[test]
fn for_each_map_elem_visits_hash_and_array() {
    let Some(inst) = instance("callbacks") else {
        return;
    };
    let hash = inst.map("hash").unwrap();
    for k in 1..=6u32 {
        hash.update(&u32_key(k), &(k as u64 * 10).to_ne_bytes(), BPF_ANY)
            .unwrap();
    }
    let arr = inst.map("arr").unwrap();
    for k in 0..8u32 {
        arr.update(&u32_key(k), &(k as u64).to_ne_bytes(), BPF_ANY)
            .unwrap();
    }
    inst.program("each").unwrap().run_raw(&mut []).unwrap();
    let r = results(&inst, 8);
    // Hash: all 6 elements, keys 1..=6, values 10..=60.
    assert_eq!(&r[0..3], &[6, 21, 210]);
    // Array: stops after the third element (callback returned 1): keys 0,1,2.
    assert_eq!(&r[3..6], &[3, 3, 3]);
    // Flags must be 0.
    assert_eq!(r[6], EINVAL);
    // delete_odd visits all six and deletes 1, 3, 5.
    assert_eq!(r[7], 6);
    let mut left: Vec<(u32, u64)> = hash
        .iter()
        .map(|e| {
            let (k, v) = e.unwrap();
            (u32_of(&k), u64_of(&v))
        })
        .collect();
    left.sort();
    // The callback added 1000 to every value it saw through its pointer.
    assert_eq!(left, vec![(2, 1020), (4, 1040), (6, 1060)]);
    assert_eq!(u64_of(&arr.lookup(&u32_key(2)).unwrap()), 1002);
    assert_eq!(u64_of(&arr.lookup(&u32_key(3)).unwrap()), 3);
}

#[test]
fn callbacks_nest() {
    let Some(inst) = instance("callbacks") else {
        return;
    };
    let arr = inst.map("arr").unwrap();
    for k in 0..8u32 {
        arr.update(&u32_key(k), &(k as u64 + 1).to_ne_bytes(), BPF_ANY)
            .unwrap();
    }
    let r = inst.program("nested").unwrap().run_raw(&mut []).unwrap();
    assert_eq!(r, 3 * 36);
}

#[test]
fn ring_buffer_records() {
    let Some(inst) = instance("events") else {
        return;
    };
    assert_eq!(inst.program("ring").unwrap().run_raw(&mut []).unwrap(), 0);
    assert_eq!(results(&inst, 4), vec![0, 72, 4096, 1]);
    let rb = inst.map("rb").unwrap();
    let mut seen = Vec::new();
    let n = rb
        .ringbuf_consume(|rec| seen.push((u32_of(rec), u32_of(&rec[4..]), u64_of(&rec[8..]))))
        .unwrap();
    assert_eq!(n, 2);
    assert_eq!(seen, vec![(1, 7, 0x1122334455667788), (3, 9, 42)]);
}

#[test]
fn perf_event_output_to_opened_slots() {
    let Some(inst) = instance("events") else {
        return;
    };
    let events = inst.map("events").unwrap();
    let prog = inst.program("perf").unwrap();
    // Closed slots: ENOENT, as a perf event array without perf events in the kernel.
    prog.run_raw(&mut []).unwrap();
    assert_eq!(results(&inst, 4), vec![ENOENT, ENOENT, E2BIG, EINVAL]);

    events.perf_open_all().unwrap();
    prog.run_raw(&mut []).unwrap();
    assert_eq!(results(&inst, 4), vec![0, 0, E2BIG, EINVAL]);
    let cpu = current_cpu();
    let mut recs = Vec::new();
    events
        .perf_read(cpu, |r| recs.push((0u32, r.to_vec())))
        .unwrap();
    if cpu != 0 {
        events.perf_read(0, |r| recs.push((1, r.to_vec()))).unwrap();
    }
    recs.sort_by_key(|r| r.1.len());
    assert_eq!(recs.len(), 2, "{recs:?}");
    assert_eq!(recs[0].1.len(), 12);
    assert_eq!(recs[1].1.len(), 16);
    assert_eq!(u32_of(&recs[1].1), 5);
    assert_eq!(u64_of(&recs[1].1[8..]), 99);
    assert_eq!(events.perf_lost(cpu).unwrap(), 0);
}

#[test]
fn perf_ring_overflow_counts_lost_records() {
    use userbpf_runtime::maps::{perf_event_array::PERF_RING_SIZE, Map, MapSpec, MapType};
    let m = Map::create(MapSpec::new(MapType::PerfEventArray, 4, 4, 2), None).unwrap();
    m.perf_open(1).unwrap();
    let rec = [7u8; 100];
    let per = 8 + 104;
    let fit = PERF_RING_SIZE / per;
    for _ in 0..fit {
        m.perf_event_output(1, &rec).unwrap();
    }
    assert_eq!(m.perf_event_output(1, &rec).unwrap_err().errno(), 28);
    assert_eq!(m.perf_lost(1).unwrap(), 1);
    let mut n = 0;
    m.perf_read(1, |r| {
        assert_eq!(r, &rec[..]);
        n += 1;
    })
    .unwrap();
    assert_eq!(n, fit);
    // Space is free again and records wrap around the end of the ring.
    for _ in 0..fit {
        m.perf_event_output(1, &rec).unwrap();
    }
    assert_eq!(m.perf_read(1, |r| assert_eq!(r, &rec[..])).unwrap(), fit);
    m.delete(&1u32.to_ne_bytes()).unwrap();
    assert_eq!(m.perf_event_output(1, &rec).unwrap_err().errno(), 2);
}
