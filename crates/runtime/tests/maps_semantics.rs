//! Kernel semantics of each map type: flags, errors, full maps, LRU order, LPM matching,
//! queue/stack order, per-CPU layout, bloom filters, ring buffers.

use userbpf_runtime::maps::*;

fn k32(i: u32) -> [u8; 4] {
    i.to_ne_bytes()
}
fn v64(i: u64) -> [u8; 8] {
    i.to_ne_bytes()
}
fn errno<T: std::fmt::Debug>(r: Result<T, MapError>) -> i32 {
    r.expect_err("expected an error").errno()
}
fn create(t: MapType, k: u32, v: u32, n: u32) -> Map {
    Map::create(MapSpec::new(t, k, v, n), None).unwrap()
}

const ENOENT: i32 = 2;
const E2BIG: i32 = 7;
const EEXIST: i32 = 17;
const EINVAL: i32 = 22;
const ENOSPC: i32 = 28;
const EPERM: i32 = 1;
const EOPNOTSUPP: i32 = 95;

#[test]
fn map_type_ids_match_the_kernel() {
    let ids = [
        (MapType::Hash, 1),
        (MapType::Array, 2),
        (MapType::ProgArray, 3),
        (MapType::PerfEventArray, 4),
        (MapType::PercpuHash, 5),
        (MapType::PercpuArray, 6),
        (MapType::StackTrace, 7),
        (MapType::CgroupArray, 8),
        (MapType::LruHash, 9),
        (MapType::LruPercpuHash, 10),
        (MapType::LpmTrie, 11),
        (MapType::ArrayOfMaps, 12),
        (MapType::HashOfMaps, 13),
        (MapType::Queue, 22),
        (MapType::Stack, 23),
        (MapType::Ringbuf, 27),
        (MapType::BloomFilter, 30),
        (MapType::Arena, 33),
    ];
    for (t, id) in ids {
        assert_eq!(t as u32, id);
        assert_eq!(MapType::from_id(id).unwrap(), t);
    }
    assert_eq!(MapType::from_id(34).unwrap_err().errno(), EINVAL);
    assert_eq!(MapType::Hash.to_string(), "BPF_MAP_TYPE_HASH");
}

#[test]
fn unsupported_types_are_named() {
    let e = Map::create(MapSpec::new(MapType::StackTrace, 4, 8, 4), None).unwrap_err();
    assert_eq!(
        e.to_string(),
        "map type BPF_MAP_TYPE_STACK_TRACE is not supported yet"
    );
    assert_eq!(e.errno(), EOPNOTSUPP);
}

#[test]
fn array_semantics() {
    let m = create(MapType::Array, 4, 12, 4);
    // Present and zeroed from creation.
    assert_eq!(m.lookup(&k32(3)).unwrap(), vec![0; 12]);
    assert_eq!(errno(m.lookup(&k32(4))), ENOENT);
    assert_eq!(errno(m.update(&k32(4), &[1; 12], BPF_ANY)), E2BIG);
    assert_eq!(errno(m.update(&k32(1), &[1; 12], BPF_NOEXIST)), EEXIST);
    assert_eq!(errno(m.update(&k32(1), &[1; 12], 3)), EINVAL);
    assert_eq!(errno(m.update(&k32(1), &[1; 12], BPF_F_LOCK)), EINVAL);
    assert_eq!(errno(m.update(&k32(1), &[1; 11], BPF_ANY)), EINVAL);
    m.update(&k32(1), &[1; 12], BPF_EXIST).unwrap();
    m.update(&k32(2), &[2; 12], BPF_ANY).unwrap();
    assert_eq!(m.lookup(&k32(1)).unwrap(), vec![1; 12]);
    assert_eq!(errno(m.delete(&k32(1))), EINVAL);
    // get_next_key: None and out-of-range keys give 0; last gives ENOENT.
    assert_eq!(m.get_next_key(None).unwrap(), k32(0));
    assert_eq!(m.get_next_key(Some(&k32(99))).unwrap(), k32(0));
    assert_eq!(m.get_next_key(Some(&k32(1))).unwrap(), k32(2));
    assert_eq!(errno(m.get_next_key(Some(&k32(3)))), ENOENT);
    let all: Vec<_> = m.iter().map(Result::unwrap).collect();
    assert_eq!(all.len(), 4);
    assert_eq!(all[2], (k32(2).to_vec(), vec![2; 12]));
    // Pointers are stable, 8-aligned and inside the region.
    let p = m.lookup_ptr(&k32(2)).unwrap();
    let (start, len) = m.region();
    assert!(p >= start && p + 12 <= start + len && p.is_multiple_of(8));
    assert_eq!(m.lookup_ptr(&k32(2)), Some(p));
    assert_eq!(m.lookup_ptr(&k32(4)), None);
}

#[test]
fn array_spec_checks() {
    let bad = |s: MapSpec| Map::create(s, None).unwrap_err().errno();
    assert_eq!(bad(MapSpec::new(MapType::Array, 8, 4, 1)), EINVAL);
    assert_eq!(bad(MapSpec::new(MapType::Array, 4, 0, 1)), EINVAL);
    assert_eq!(bad(MapSpec::new(MapType::Array, 4, 4, 0)), EINVAL);
    assert_eq!(
        bad(MapSpec::new(MapType::Array, 4, 4, 1).with_flags(BPF_F_NO_PREALLOC)),
        EINVAL
    );
    assert_eq!(
        bad(MapSpec::new(MapType::Array, 4, 4, 1).with_flags(BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG)),
        EINVAL
    );
    assert_eq!(
        bad(MapSpec::new(MapType::PercpuArray, 4, 4, 1).with_flags(BPF_F_MMAPABLE)),
        EINVAL
    );
    Map::create(
        MapSpec::new(MapType::Array, 4, 4, 1).with_flags(BPF_F_MMAPABLE | BPF_F_RDONLY_PROG),
        None,
    )
    .unwrap();
}

#[test]
fn access_flags() {
    let ro = Map::create(
        MapSpec::new(MapType::Hash, 4, 8, 4).with_flags(BPF_F_RDONLY),
        None,
    )
    .unwrap();
    assert_eq!(errno(ro.update(&k32(1), &v64(1), BPF_ANY)), EPERM);
    ro.update_from_program(&k32(1), &v64(1), BPF_ANY).unwrap();
    assert_eq!(ro.lookup(&k32(1)).unwrap(), v64(1));
    let ro_prog = Map::create(
        MapSpec::new(MapType::Array, 4, 8, 4).with_flags(BPF_F_RDONLY_PROG),
        None,
    )
    .unwrap();
    assert_eq!(
        errno(ro_prog.update_from_program(&k32(1), &v64(1), BPF_ANY)),
        EPERM
    );
    assert!(!ro_prog.memory_region().writable);
    let wo = Map::create(
        MapSpec::new(MapType::Hash, 4, 8, 4).with_flags(BPF_F_WRONLY),
        None,
    )
    .unwrap();
    wo.update(&k32(1), &v64(1), BPF_ANY).unwrap();
    assert_eq!(errno(wo.lookup(&k32(1))), EPERM);
}

#[test]
fn hash_semantics() {
    let m = create(MapType::Hash, 4, 8, 3);
    assert_eq!(errno(m.lookup(&k32(1))), ENOENT);
    assert_eq!(errno(m.update(&k32(1), &v64(1), BPF_EXIST)), ENOENT);
    m.update(&k32(1), &v64(10), BPF_NOEXIST).unwrap();
    assert_eq!(errno(m.update(&k32(1), &v64(11), BPF_NOEXIST)), EEXIST);
    m.update(&k32(1), &v64(12), BPF_EXIST).unwrap();
    assert_eq!(m.lookup(&k32(1)).unwrap(), v64(12));
    m.update(&k32(2), &v64(20), BPF_ANY).unwrap();
    m.update(&k32(3), &v64(30), BPF_ANY).unwrap();
    assert_eq!(m.len(), 3);
    let e = m.update(&k32(4), &v64(40), BPF_ANY).unwrap_err();
    assert_eq!(e.errno(), E2BIG);
    // Updating an existing key of a full map works.
    m.update(&k32(3), &v64(31), BPF_ANY).unwrap();
    assert_eq!(errno(m.update(&k32(3), &v64(31), 3)), EINVAL);
    assert_eq!(errno(m.update(&k32(3), &v64(31), BPF_F_LOCK)), EINVAL);
    assert_eq!(errno(m.lookup(&[1, 2, 3])), EINVAL);
    // Delete and reuse.
    assert_eq!(errno(m.delete(&k32(9))), ENOENT);
    m.delete(&k32(2)).unwrap();
    assert_eq!(errno(m.lookup(&k32(2))), ENOENT);
    m.update(&k32(4), &v64(40), BPF_ANY).unwrap();
    // Iteration sees every key once.
    let mut keys: Vec<u32> = m
        .keys()
        .map(|k| u32::from_ne_bytes(k.unwrap().try_into().unwrap()))
        .collect();
    keys.sort();
    assert_eq!(keys, vec![1, 3, 4]);
    // get_next_key of a missing key restarts at the first key.
    assert_eq!(
        m.get_next_key(Some(&k32(77))).unwrap(),
        m.get_next_key(None).unwrap()
    );
    // lookup_and_delete.
    assert_eq!(m.lookup_and_delete(&k32(4)).unwrap(), v64(40));
    assert_eq!(errno(m.lookup_and_delete(&k32(4))), ENOENT);
    assert_eq!(m.len(), 2);
    // A value pointer is updated in place by user-space updates.
    let p = m.lookup_ptr(&k32(1)).unwrap();
    m.update(&k32(1), &v64(99), BPF_ANY).unwrap();
    assert_eq!(m.lookup_ptr(&k32(1)), Some(p));
}

#[test]
fn hash_spec_checks() {
    let bad = |s: MapSpec| Map::create(s, None).unwrap_err().errno();
    assert_eq!(bad(MapSpec::new(MapType::Hash, 0, 4, 1)), EINVAL);
    assert_eq!(bad(MapSpec::new(MapType::Hash, 4, 0, 1)), EINVAL);
    assert_eq!(bad(MapSpec::new(MapType::Hash, 4, 4, 0)), EINVAL);
    assert_eq!(bad(MapSpec::new(MapType::Hash, 513, 4, 1)), E2BIG);
    assert_eq!(
        bad(MapSpec::new(MapType::Hash, 4, 4, 1).with_flags(BPF_F_MMAPABLE)),
        EINVAL
    );
    assert_eq!(
        bad(MapSpec::new(MapType::Hash, 4, 4, 1).with_flags(BPF_F_NO_COMMON_LRU)),
        EINVAL
    );
    assert_eq!(
        bad(MapSpec::new(MapType::LruHash, 4, 4, 1).with_flags(BPF_F_NO_PREALLOC)),
        524
    );
    Map::create(
        MapSpec::new(MapType::Hash, 4, 4, 1).with_flags(BPF_F_NO_PREALLOC | BPF_F_ZERO_SEED),
        None,
    )
    .unwrap();
}

#[test]
fn zero_seed_gives_reproducible_order() {
    let order = || {
        let m = Map::create(
            MapSpec::new(MapType::Hash, 4, 4, 64).with_flags(BPF_F_ZERO_SEED),
            None,
        )
        .unwrap();
        for i in 0..50u32 {
            m.update(&k32(i), &k32(i), BPF_ANY).unwrap();
        }
        m.keys().map(Result::unwrap).collect::<Vec<_>>()
    };
    assert_eq!(order(), order());
}

fn keys_of(m: &Map) -> Vec<u32> {
    let mut keys: Vec<u32> = m
        .keys()
        .map(|k| u32::from_ne_bytes(k.unwrap().try_into().unwrap()))
        .collect();
    keys.sort();
    keys
}

/// The kernel's LRU (kernel/bpf/bpf_lru_list.c), step by step on a 3-entry map, whose CPU
/// refills its local free list one node at a time (target_free = max(1, 3 / CPUs / 2)).
/// maps_kernel_diff.rs runs the same sequence on the kernel.
#[test]
fn lru_follows_the_kernels_lists() {
    let m = create(MapType::LruHash, 4, 8, 3);
    for i in 1..=3 {
        m.update(&k32(i), &v64(i as u64), BPF_ANY).unwrap();
    }
    // A program lookup sets 1's reference bit; a user-space lookup sets nothing.
    assert!(m.lookup_ptr(&k32(1)).is_some());
    m.lookup(&k32(2)).unwrap();
    // No free node: the pending 3 joins the inactive list, referenced 1 moves to the
    // active list, and the oldest unreferenced inactive key, 2, is evicted.
    m.update(&k32(4), &v64(4), BPF_ANY).unwrap();
    assert_eq!(keys_of(&m), [1, 3, 4]);
    // 1 stays on the active list (the inactive list is not shorter) while older
    // inactive keys go.
    m.update(&k32(5), &v64(5), BPF_ANY).unwrap();
    assert_eq!(keys_of(&m), [1, 4, 5]);
    m.update(&k32(6), &v64(6), BPF_NOEXIST).unwrap();
    assert_eq!(keys_of(&m), [1, 5, 6]);
    assert!(m.lookup_ptr(&k32(5)).is_some());
    m.update(&k32(7), &v64(7), BPF_ANY).unwrap();
    assert_eq!(keys_of(&m), [1, 5, 7]);
    // An update of an existing key takes a node first, which evicts 7 (the active list
    // {5, 1} is rotated into the inactive one, behind 7), then frees 5's old node.
    m.update(&k32(5), &v64(55), BPF_EXIST).unwrap();
    assert_eq!(keys_of(&m), [1, 5]);
    assert_eq!(m.len(), 2);
    assert_eq!(m.lookup(&k32(5)).unwrap(), v64(55));
    // A failing update takes the free node and gives it back: nothing is evicted...
    assert_eq!(errno(m.update(&k32(8), &v64(8), BPF_EXIST)), ENOENT);
    assert_eq!(keys_of(&m), [1, 5]);
    m.update(&k32(9), &v64(9), BPF_ANY).unwrap();
    assert_eq!(keys_of(&m), [1, 5, 9]);
    // ...unless there is none: then even a failing update evicts.
    assert_eq!(errno(m.update(&k32(10), &v64(10), BPF_EXIST)), ENOENT);
    assert_eq!(keys_of(&m), [5, 9]);
    // A deleted key's node is free again: no eviction.
    m.delete(&k32(5)).unwrap();
    m.update(&k32(11), &v64(11), BPF_ANY).unwrap();
    assert_eq!(keys_of(&m), [9, 11]);
    assert_eq!(m.lookup(&k32(9)).unwrap(), v64(9));
}

#[test]
fn lru_many_insertions_keep_the_newest() {
    // Without lookups, keys leave oldest first, target_free at a time.
    let n = possible_cpus();
    let target = (100 / n / 2).clamp(1, 128) as usize;
    let m = create(MapType::LruHash, 8, 8, 100);
    for i in 0..10_000u64 {
        m.update(&v64(i), &v64(i * 2), BPF_ANY).unwrap();
    }
    let len = m.len();
    assert!(len <= 100 && len > 100 - target, "{len} entries");
    for i in 10_000 - len as u64..10_000 {
        assert_eq!(m.lookup(&v64(i)).unwrap(), v64(i * 2));
    }
}

#[test]
fn percpu_array_layout() {
    let n = possible_cpus() as usize;
    let m = create(MapType::PercpuArray, 4, 4, 2);
    assert_eq!(m.num_cpus() as usize, n);
    assert_eq!(m.user_value_size(), 8 * n);
    // User update: every CPU's value, each rounded up to 8 bytes.
    let mut v = vec![0u8; 8 * n];
    for c in 0..n {
        v[8 * c..8 * c + 4].copy_from_slice(&(c as u32 + 100).to_ne_bytes());
        v[8 * c + 4..8 * c + 8].copy_from_slice(&[0xee; 4]); // padding is ignored
    }
    m.update(&k32(1), &v, BPF_ANY).unwrap();
    let got = m.lookup(&k32(1)).unwrap();
    assert_eq!(got.len(), 8 * n);
    for c in 0..n {
        assert_eq!(got[8 * c..8 * c + 4], (c as u32 + 100).to_ne_bytes());
        assert_eq!(got[8 * c + 4..8 * c + 8], [0; 4]);
    }
    // Program side: the current CPU's slot only.
    set_current_cpu((n - 1) as u32);
    m.update_from_program(&k32(0), &k32(7), BPF_ANY).unwrap();
    let got = m.lookup(&k32(0)).unwrap();
    assert_eq!(got[8 * (n - 1)..8 * (n - 1) + 4], k32(7));
    assert_eq!(got[..8 * (n - 1)], vec![0; 8 * (n - 1)][..]);
    let p = m.lookup_ptr(&k32(0)).unwrap();
    let p0 = m.lookup_percpu_ptr(&k32(0), 0).unwrap();
    assert_eq!(p - p0, 8 * (n as u64 - 1));
    assert_eq!(m.lookup_percpu_ptr(&k32(0), n as u32), None);
    assert_eq!(errno(m.update(&k32(0), &[0; 4], BPF_ANY)), EINVAL);
}

#[test]
fn percpu_hash_layout() {
    let n = possible_cpus() as usize;
    for t in [MapType::PercpuHash, MapType::LruPercpuHash] {
        let m = create(t, 4, 12, 4);
        assert_eq!(m.user_value_size(), 16 * n);
        let v: Vec<u8> = (0..16 * n).map(|i| i as u8).collect();
        m.update(&k32(1), &v, BPF_ANY).unwrap();
        let got = m.lookup(&k32(1)).unwrap();
        for c in 0..n {
            assert_eq!(got[16 * c..16 * c + 12], v[16 * c..16 * c + 12]);
            assert_eq!(got[16 * c + 12..16 * c + 16], [0; 4]);
        }
        // A new element from a program: the other CPUs are zero.
        set_current_cpu(0);
        m.update_from_program(&k32(2), &[9; 12], BPF_ANY).unwrap();
        let got = m.lookup(&k32(2)).unwrap();
        assert_eq!(got[..12], [9; 12]);
        assert!(got[16..].iter().all(|b| *b == 0));
        assert_eq!(m.lookup_percpu_ptr(&k32(2), 0), m.lookup_ptr(&k32(2)));
    }
}

fn lpm_key(plen: u32, ip: [u8; 4]) -> Vec<u8> {
    let mut k = plen.to_ne_bytes().to_vec();
    k.extend_from_slice(&ip);
    k
}

#[test]
fn lpm_longest_prefix_match() {
    let bad = Map::create(MapSpec::new(MapType::LpmTrie, 8, 4, 16), None).unwrap_err();
    assert_eq!(bad.errno(), EINVAL);
    assert_eq!(
        Map::create(
            MapSpec::new(MapType::LpmTrie, 4, 4, 16).with_flags(BPF_F_NO_PREALLOC),
            None
        )
        .unwrap_err()
        .errno(),
        EINVAL
    );
    let m = Map::create(
        MapSpec::new(MapType::LpmTrie, 8, 4, 5).with_flags(BPF_F_NO_PREALLOC),
        None,
    )
    .unwrap();
    m.update(&lpm_key(8, [10, 0, 0, 0]), &k32(8), BPF_ANY)
        .unwrap();
    m.update(&lpm_key(16, [10, 1, 0, 0]), &k32(16), BPF_ANY)
        .unwrap();
    m.update(&lpm_key(24, [10, 1, 2, 0]), &k32(24), BPF_ANY)
        .unwrap();
    m.update(&lpm_key(0, [0, 0, 0, 0]), &k32(0), BPF_ANY)
        .unwrap();
    m.update(&lpm_key(12, [10, 16, 0, 0]), &k32(12), BPF_ANY)
        .unwrap();
    let look = |ip| u32::from_ne_bytes(m.lookup(&lpm_key(32, ip)).unwrap().try_into().unwrap());
    assert_eq!(look([10, 1, 2, 3]), 24);
    assert_eq!(look([10, 1, 3, 3]), 16);
    assert_eq!(look([10, 2, 3, 4]), 8);
    assert_eq!(look([10, 31, 0, 1]), 12); // 10.16.0.0/12 covers 10.16-10.31
    assert_eq!(look([10, 32, 0, 1]), 8);
    assert_eq!(look([11, 0, 0, 1]), 0);
    // The lookup key's prefix length limits the match.
    assert_eq!(
        m.lookup(&lpm_key(20, [10, 1, 2, 3])).unwrap(),
        k32(16).to_vec()
    );
    // Pointer lookups find the same element.
    let p = m.lookup_ptr(&lpm_key(32, [10, 1, 2, 99])).unwrap();
    assert_eq!(m.lookup_ptr(&lpm_key(24, [10, 1, 2, 0])), Some(p));
    // Full: ENOSPC; exact-prefix update works.
    assert_eq!(
        errno(m.update(&lpm_key(30, [1, 1, 1, 1]), &k32(1), BPF_ANY)),
        ENOSPC
    );
    m.update(&lpm_key(16, [10, 1, 9, 9]), &k32(160), BPF_EXIST)
        .unwrap();
    assert_eq!(look([10, 1, 3, 3]), 160);
    assert_eq!(
        errno(m.update(&lpm_key(16, [10, 1, 0, 0]), &k32(1), BPF_NOEXIST)),
        EEXIST
    );
    assert_eq!(
        errno(m.update(&lpm_key(33, [10, 1, 0, 0]), &k32(1), BPF_ANY)),
        EINVAL
    );
    // Delete is exact.
    assert_eq!(errno(m.delete(&lpm_key(20, [10, 1, 0, 0]))), ENOENT);
    m.delete(&lpm_key(24, [10, 1, 2, 0])).unwrap();
    assert_eq!(look([10, 1, 2, 3]), 160);
    // Iteration: post-order, more specific prefixes first.
    let keys: Vec<(u32, Vec<u8>)> = m
        .keys()
        .map(|k| {
            let k = k.unwrap();
            (
                u32::from_ne_bytes(k[..4].try_into().unwrap()),
                k[4..].to_vec(),
            )
        })
        .collect();
    assert_eq!(
        keys,
        vec![
            // An update of an existing prefix stores the new key's data, as the kernel.
            (16, vec![10, 1, 9, 9]),
            (12, vec![10, 16, 0, 0]),
            (8, vec![10, 0, 0, 0]),
            (0, vec![0, 0, 0, 0]),
        ]
    );
}

#[test]
fn queue_and_stack_order_and_overwrite() {
    let q = create(MapType::Queue, 0, 4, 3);
    let s = create(MapType::Stack, 0, 4, 3);
    for m in [&q, &s] {
        assert_eq!(errno(m.pop()), ENOENT);
        assert_eq!(errno(m.peek()), ENOENT);
        for i in 1..=3 {
            m.push(&k32(i), BPF_ANY).unwrap();
        }
        assert_eq!(errno(m.push(&k32(4), BPF_ANY)), E2BIG);
        assert_eq!(errno(m.push(&k32(4), BPF_NOEXIST)), EINVAL);
        // BPF_EXIST overwrites the oldest (1).
        m.push(&k32(4), BPF_EXIST).unwrap();
        assert_eq!(m.len(), 3);
        assert_eq!(errno(m.delete(&[])), EINVAL);
        assert_eq!(errno(m.get_next_key(None)), EINVAL);
        assert_eq!(errno(m.lookup(&k32(0))), EINVAL);
    }
    let pop = |m: &Map| u32::from_ne_bytes(m.pop().unwrap().try_into().unwrap());
    assert_eq!(q.peek().unwrap(), k32(2));
    assert_eq!((pop(&q), pop(&q), pop(&q)), (2, 3, 4));
    assert_eq!(s.peek().unwrap(), k32(4));
    assert_eq!((pop(&s), pop(&s), pop(&s)), (4, 3, 2));
    assert!(q.is_empty() && s.is_empty());
    // Wrap around many times.
    for i in 0..100u32 {
        q.push(&k32(i), BPF_EXIST).unwrap();
    }
    assert_eq!((pop(&q), pop(&q), pop(&q)), (97, 98, 99));
    // Program-side push/pop/peek.
    s.push_from_program(&k32(5), BPF_ANY).unwrap();
    let mut out = [0u8; 4];
    s.peek_from_program(&mut out).unwrap();
    assert_eq!(out, k32(5));
    s.pop_from_program(&mut out).unwrap();
    assert_eq!(errno(s.pop_from_program(&mut out)), ENOENT);
    assert_eq!(
        Map::create(MapSpec::new(MapType::Queue, 4, 4, 3), None)
            .unwrap_err()
            .errno(),
        EINVAL
    );
}

#[test]
fn bloom_filter() {
    let bad = |s: MapSpec| Map::create(s, None).unwrap_err().errno();
    assert_eq!(bad(MapSpec::new(MapType::BloomFilter, 4, 4, 100)), EINVAL);
    assert_eq!(
        bad(MapSpec::new(MapType::BloomFilter, 0, 4, 100).with_map_extra(16)),
        EINVAL
    );
    assert_eq!(
        bad(MapSpec::new(MapType::BloomFilter, 0, 4, 100).with_flags(BPF_F_NO_PREALLOC)),
        EINVAL
    );
    let m = Map::create(
        MapSpec::new(MapType::BloomFilter, 0, 4, 1000).with_map_extra(3),
        None,
    )
    .unwrap();
    for i in 0..1000u32 {
        m.push(&k32(i * 7), BPF_ANY).unwrap();
    }
    for i in 0..1000u32 {
        assert!(m.contains(&k32(i * 7)).unwrap());
    }
    let false_pos = (0..10_000u32)
        .map(|i| 1_000_000 + i)
        .filter(|v| m.contains(&k32(*v)).unwrap())
        .count();
    assert!(false_pos < 1000, "{false_pos} false positives");
    assert_eq!(errno(m.push(&k32(1), BPF_EXIST)), EINVAL);
    assert_eq!(errno(m.delete(&[])), EOPNOTSUPP);
    assert_eq!(errno(m.pop_from_program(&mut [0; 4])), EOPNOTSUPP);
    let mut v = k32(14);
    m.peek_from_program(&mut v).unwrap();
    let mut absent = k32(3);
    let r = m.peek_from_program(&mut absent);
    assert!(r.is_ok() || r.unwrap_err().errno() == ENOENT);
}

#[test]
fn ringbuf_reserve_submit_consume() {
    let bad = |s: MapSpec| Map::create(s, None).unwrap_err().errno();
    assert_eq!(bad(MapSpec::new(MapType::Ringbuf, 0, 0, 4000)), EINVAL);
    assert_eq!(bad(MapSpec::new(MapType::Ringbuf, 0, 0, 3 * 4096)), EINVAL);
    assert_eq!(bad(MapSpec::new(MapType::Ringbuf, 4, 0, 4096)), EINVAL);
    let m = create(MapType::Ringbuf, 0, 0, 4096);
    assert_eq!(m.ringbuf_query(ringbuf::BPF_RB_RING_SIZE), 4096);
    let a = m.ringbuf_reserve(5, 0).unwrap();
    let b = m.ringbuf_reserve(16, 0).unwrap();
    let (start, len) = m.region();
    assert!(a >= start && b + 16 <= start + len);
    m.ringbuf_output(b"third", 0).unwrap();
    // Nothing is consumed while the first record is busy.
    let mut got = Vec::new();
    assert_eq!(m.ringbuf_consume(|s| got.push(s.to_vec())).unwrap(), 0);
    m.ringbuf_discard(b, 0).unwrap();
    assert_eq!(errno(m.ringbuf_submit(b, 0)), EINVAL); // already committed
    m.ringbuf_submit(a, 0).unwrap();
    assert_eq!(m.ringbuf_consume(|s| got.push(s.to_vec())).unwrap(), 2);
    assert_eq!(got[0].len(), 5);
    assert_eq!(got[1], b"third");
    assert_eq!(m.ringbuf_query(ringbuf::BPF_RB_AVAIL_DATA), 0);
    // Fill, wrap around, and run out of room.
    let mut n = 0u32;
    for round in 0..50u32 {
        let data = vec![round as u8; 1000];
        loop {
            match m.ringbuf_output(&data, 0) {
                Ok(()) => n += 1,
                Err(e) => {
                    assert_eq!(e.errno(), 11); // EAGAIN
                    break;
                }
            }
        }
        let mut seen = 0;
        m.ringbuf_consume(|s| {
            assert_eq!(s, &data[..]);
            seen += 1;
        })
        .unwrap();
        assert!(seen >= 3, "round {round}: {seen}");
    }
    assert!(n >= 150);
    assert_eq!(errno(m.ringbuf_reserve(8, 1)), EINVAL);
    assert_eq!(errno(m.ringbuf_output(&[0; 5000], 0)), 11);
    assert_eq!(errno(m.lookup(&[])), 524);
}

#[test]
fn batch_operations() {
    let m = create(MapType::Hash, 4, 4, 64);
    let keys: Vec<[u8; 4]> = (0..50u32).map(k32).collect();
    let entries: Vec<(&[u8], &[u8])> = keys.iter().map(|k| (&k[..], &k[..])).collect();
    m.update_batch(&entries, BPF_ANY).unwrap();
    assert_eq!(m.len(), 50);
    let mut seen = Vec::new();
    let mut cursor: Option<Vec<u8>> = None;
    loop {
        let b = m.lookup_batch(cursor.as_deref(), 7).unwrap();
        assert!(b.entries.len() <= 7);
        seen.extend(b.entries);
        match b.cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(seen.len(), 50);
    assert!(seen.iter().all(|(k, v)| k == v));
    let e = m.update_batch(&entries, BPF_NOEXIST).unwrap_err();
    assert!(matches!(e, MapError::Batch { processed: 0, .. }));
    assert_eq!(e.errno(), EEXIST);
    let del: Vec<&[u8]> = keys[..10].iter().map(|k| &k[..]).collect();
    m.delete_batch(&del).unwrap();
    assert_eq!(m.len(), 40);
    let out = m.lookup_and_delete_batch(15).unwrap();
    assert_eq!(out.len(), 15);
    assert_eq!(m.len(), 25);
    let rest = m.lookup_and_delete_batch(100).unwrap();
    assert_eq!(rest.len(), 25);
    assert!(m.is_empty());
}

#[test]
fn errnos_match_the_kernel() {
    assert_eq!(MapError::NotFound.errno(), ENOENT);
    assert_eq!(MapError::Exists.errno(), EEXIST);
    assert_eq!(MapError::Full { max_entries: 1 }.errno(), E2BIG);
    assert_eq!(MapError::NoSpace { max_entries: 1 }.errno(), ENOSPC);
    assert_eq!(MapError::BadUpdateFlags { flags: 9 }.errno(), EINVAL);
    assert_eq!(
        MapError::NoMemory {
            reason: String::new()
        }
        .errno(),
        12
    );
}
