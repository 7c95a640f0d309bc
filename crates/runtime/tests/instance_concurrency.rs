//! One prepared program on several threads updating a hash map and an array with atomics
//! while user space iterates, deletes and reinserts; exact final counts.

#[path = "instance_src/support.rs"]
mod support;

use std::sync::atomic::{AtomicBool, Ordering};

use support::*;
use userbpf_runtime::maps::{BPF_ANY, BPF_NOEXIST};

#[test]
fn threads_count_exactly_while_user_space_churns() {
    let Some(inst) = instance("concurrent") else {
        return;
    };
    let prog = inst.program("work").unwrap();
    let per_key = inst.map("per_key").unwrap();
    const THREADS: u32 = 4;
    const RUNS: u32 = 20_000;
    let done = AtomicBool::new(false);
    std::thread::scope(|s| {
        let mut workers = Vec::new();
        for t in 0..THREADS {
            let prog = &prog;
            workers.push(s.spawn(move || {
                for i in 0..RUNS {
                    let mut input = (i * 7 + t).to_ne_bytes();
                    assert_eq!(prog.run_raw(&mut input).unwrap(), 0);
                }
            }));
        }
        // User space: iterate everything, delete and reinsert its own keys (>= 1000).
        let map = &per_key;
        let done = &done;
        s.spawn(move || {
            let mut round = 0u64;
            while !done.load(Ordering::Relaxed) || round < 10 {
                for k in 1000..1100u32 {
                    let _ = map.update(&k.to_ne_bytes(), &round.to_ne_bytes(), BPF_NOEXIST);
                }
                let mut seen = 0;
                for e in map.iter() {
                    let (k, v) = e.unwrap();
                    assert_eq!(k.len(), 4);
                    assert_eq!(v.len(), 8);
                    seen += 1;
                }
                assert!(seen <= 1024);
                for k in (1000..1100u32).step_by(2) {
                    let _ = map.delete(&k.to_ne_bytes());
                }
                for k in (1000..1100u32).step_by(4) {
                    map.update(&k.to_ne_bytes(), &round.to_ne_bytes(), BPF_ANY)
                        .unwrap();
                }
                round += 1;
                std::thread::yield_now();
            }
        });
        // Let the workers finish, then stop the churner.
        for w in workers {
            w.join().unwrap();
        }
        done.store(true, Ordering::Relaxed);
    });

    let total = u64_of(&inst.map("total").unwrap().lookup(&u32_key(0)).unwrap());
    assert_eq!(total, (THREADS * RUNS) as u64);
    let mut sum = 0;
    for k in 0..16u32 {
        sum += u64_of(&per_key.lookup(&k.to_ne_bytes()).unwrap());
    }
    assert_eq!(sum, (THREADS * RUNS) as u64);
    // Key k was hit by every (i * 7 + t) & 15 == k: check one key exactly.
    let expected_k0 = (0..THREADS)
        .flat_map(|t| (0..RUNS).map(move |i| (i * 7 + t) & 15))
        .filter(|k| *k == 0)
        .count() as u64;
    assert_eq!(
        u64_of(&per_key.lookup(&0u32.to_ne_bytes()).unwrap()),
        expected_k0
    );
}
