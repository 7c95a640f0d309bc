//! Concurrency: programs' atomic increments through value pointers while user space
//! iterates, deletes and reinserts other keys; concurrent inserts and deletes.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;

use userbpf_runtime::maps::*;

const THREADS: u64 = 4;
const INCS: u64 = 50_000;

fn k32(i: u32) -> [u8; 4] {
    i.to_ne_bytes()
}

/// Atomically add 1 to the u64 at `addr`, as a program's `lock xadd` would.
fn atomic_inc(addr: u64) {
    assert!(addr.is_multiple_of(8));
    // SAFETY: `addr` is a value pointer from `lookup_ptr` of a map that outlives this call,
    // 8-aligned, and the element is never deleted while the test runs; all concurrent
    // accesses to it are atomic.
    let a = unsafe { AtomicU64::from_ptr(addr as *mut u64) };
    a.fetch_add(1, Ordering::SeqCst);
}

fn stress(map_type: MapType, max_entries: u32, churn_keys: std::ops::Range<u32>) {
    let map = Arc::new(Map::create(MapSpec::new(map_type, 4, 8, max_entries), None).unwrap());
    // The counter key 0, plus a few fixed keys, exist from the start.
    for k in 0..4u32 {
        map.update(&k32(k), &0u64.to_ne_bytes(), BPF_ANY).unwrap();
    }
    let stop = Arc::new(AtomicBool::new(false));
    let churn = {
        let (map, stop) = (map.clone(), stop.clone());
        let keys = churn_keys.clone();
        thread::spawn(move || {
            let mut rounds = 0u64;
            while !stop.load(Ordering::Relaxed) || rounds < 20 {
                for k in keys.clone() {
                    let _ = map.update(&k32(k), &(k as u64).to_ne_bytes(), BPF_ANY);
                }
                let mut seen = 0;
                for e in map.iter() {
                    let (k, v) = e.unwrap();
                    assert_eq!(k.len(), 4);
                    assert_eq!(v.len(), 8);
                    seen += 1;
                }
                assert!(seen >= 4);
                for k in keys.clone() {
                    if map_type != MapType::Array {
                        let _ = map.delete(&k32(k));
                    }
                }
                rounds += 1;
            }
            rounds
        })
    };
    let workers: Vec<_> = (0..THREADS)
        .map(|t| {
            let map = map.clone();
            thread::spawn(move || {
                for i in 0..INCS {
                    // Look the pointer up each time, as a program run would.
                    let p = map.lookup_ptr(&k32(0)).expect("counter present");
                    atomic_inc(p);
                    if i % 64 == 0 {
                        let p = map.lookup_ptr(&k32(1 + (t as u32 % 3))).unwrap();
                        atomic_inc(p);
                    }
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    let rounds = churn.join().unwrap();
    assert!(rounds >= 20);
    let get = |k: u32| u64::from_ne_bytes(map.lookup(&k32(k)).unwrap().try_into().unwrap());
    assert_eq!(get(0), THREADS * INCS, "{map_type}");
    let per = INCS.div_ceil(64);
    let side: u64 = (1..4).map(get).sum();
    assert_eq!(side, THREADS * per, "{map_type}");
}

#[test]
fn array_atomic_increments_under_churn() {
    stress(MapType::Array, 256, 100..200);
}

#[test]
fn hash_atomic_increments_under_churn() {
    stress(MapType::Hash, 256, 1000..1200);
}

#[test]
fn lru_hash_atomic_increments_under_churn() {
    // As in the kernel, an LRU map may evict before it is full: every CPU keeps up to
    // target_free = max_entries / CPUs / 2 nodes on its local free list. With room for the
    // churn plus half the map hoarded that way, the counters are never evicted.
    stress(MapType::LruHash, 1024, 1000..1200);
}

#[test]
fn concurrent_inserts_and_deletes_stay_consistent() {
    let map = Arc::new(Map::create(MapSpec::new(MapType::Hash, 8, 8, 1024), None).unwrap());
    let workers: Vec<_> = (0..8u64)
        .map(|t| {
            let map = map.clone();
            thread::spawn(move || {
                let mut x = t.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
                for _ in 0..40_000 {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    let key = (x % 1500).to_ne_bytes();
                    match x % 4 {
                        0 => {
                            let _ = map.delete(&key);
                        }
                        1 => {
                            if let Ok(v) = map.lookup(&key) {
                                assert_eq!(v, key);
                            }
                        }
                        _ => match map.update(&key, &key, BPF_ANY) {
                            Ok(()) => {}
                            Err(e) => assert_eq!(e.errno(), 7),
                        },
                    }
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    let entries: Vec<_> = map.iter().map(Result::unwrap).collect();
    assert_eq!(entries.len(), map.len());
    assert!(entries.iter().all(|(k, v)| k == v));
    let mut keys: Vec<_> = entries.iter().map(|(k, _)| k.clone()).collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), entries.len());
    // Every free slot can be reused: fill to capacity exactly.
    let mut n = map.len();
    let mut k = 10_000u64;
    while n < 1024 {
        map.update(&k.to_ne_bytes(), &k.to_ne_bytes(), BPF_NOEXIST)
            .unwrap();
        n += 1;
        k += 1;
    }
    assert_eq!(
        map.update(&k.to_ne_bytes(), &k.to_ne_bytes(), BPF_ANY)
            .unwrap_err()
            .errno(),
        7
    );
}

#[test]
fn ringbuf_many_producers_one_consumer() {
    let map = Arc::new(Map::create(MapSpec::new(MapType::Ringbuf, 0, 0, 1 << 14), None).unwrap());
    let done = Arc::new(AtomicU64::new(0));
    let producers: Vec<_> = (0..4u64)
        .map(|t| {
            let (map, done) = (map.clone(), done.clone());
            thread::spawn(move || {
                let mut i = 0u64;
                while i < 20_000 {
                    let rec = [t.to_ne_bytes(), i.to_ne_bytes()].concat();
                    if map.ringbuf_output(&rec[..8 + (i % 9) as usize], 0).is_ok() {
                        i += 1;
                    } else {
                        thread::yield_now();
                    }
                }
                done.fetch_add(1, Ordering::SeqCst);
            })
        })
        .collect();
    let mut next = [0u64; 4];
    loop {
        let finished = done.load(Ordering::SeqCst) == 4;
        map.ringbuf_consume(|s| {
            let t = u64::from_ne_bytes(s[..8].try_into().unwrap()) as usize;
            let mut seq = [0u8; 8];
            seq[..s.len() - 8].copy_from_slice(&s[8..]);
            let i = next[t];
            let mut want = i.to_ne_bytes();
            want[(i % 9) as usize..].fill(0);
            assert_eq!(seq, want, "producer {t} sample {i}");
            next[t] += 1;
        })
        .unwrap();
        if finished && map.ringbuf_query(ringbuf::BPF_RB_AVAIL_DATA) == 0 {
            break;
        }
    }
    for p in producers {
        p.join().unwrap();
    }
    assert_eq!(next, [20_000; 4]);
}
