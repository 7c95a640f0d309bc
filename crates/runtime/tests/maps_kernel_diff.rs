//! Differential test against the running kernel's maps: the same random operations on a
//! kernel map (through bpf()) and on ours give the same errno values and contents.
//! Prints "skipped: bpf() unavailable" where the kernel refuses BPF_MAP_CREATE.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use userbpf_runtime::maps::*;

const BPF_MAP_CREATE: i64 = 0;
const BPF_MAP_LOOKUP_ELEM: i64 = 1;
const BPF_MAP_UPDATE_ELEM: i64 = 2;
const BPF_MAP_DELETE_ELEM: i64 = 3;
const BPF_MAP_GET_NEXT_KEY: i64 = 4;
const BPF_MAP_LOOKUP_AND_DELETE_ELEM: i64 = 21;

fn bpf(cmd: i64, attr: &mut [u8; 128]) -> Result<i64, i32> {
    // SAFETY: `attr` is a valid, writable bpf_attr-sized buffer; the pointers inside it
    // (keys, values) point to live buffers of the sizes the map was created with.
    let r = unsafe { libc::syscall(libc::SYS_bpf, cmd, attr.as_mut_ptr(), attr.len()) };
    if r < 0 {
        Err(std::io::Error::last_os_error().raw_os_error().unwrap_or(0))
    } else {
        Ok(r)
    }
}

struct KMap {
    fd: OwnedFd,
    vsize: usize,
    ksize: usize,
}

impl KMap {
    fn create(s: &MapSpec) -> Result<KMap, i32> {
        let mut a = [0u8; 128];
        for (i, v) in [
            s.map_type as u32,
            s.key_size,
            s.value_size,
            s.max_entries,
            s.flags,
        ]
        .iter()
        .enumerate()
        {
            a[4 * i..4 * i + 4].copy_from_slice(&v.to_ne_bytes());
        }
        a[64..72].copy_from_slice(&s.map_extra.to_ne_bytes());
        let fd = bpf(BPF_MAP_CREATE, &mut a)?;
        Ok(KMap {
            // SAFETY: bpf() returned a new file descriptor that nothing else owns.
            fd: unsafe { OwnedFd::from_raw_fd(fd as i32) },
            vsize: s.value_size as usize,
            ksize: s.key_size as usize,
        })
    }

    fn elem(&self, cmd: i64, key: Option<&[u8]>, val: &mut [u8], flags: u64) -> Result<(), i32> {
        let mut a = [0u8; 128];
        a[0..4].copy_from_slice(&(self.fd.as_raw_fd() as u32).to_ne_bytes());
        let kp = key
            .filter(|k| !k.is_empty())
            .map_or(0, |k| k.as_ptr() as u64);
        a[8..16].copy_from_slice(&kp.to_ne_bytes());
        // Fields a command does not use must be zero (the kernel's CHECK_ATTR).
        let vp = if val.is_empty() {
            0
        } else {
            val.as_mut_ptr() as u64
        };
        a[16..24].copy_from_slice(&vp.to_ne_bytes());
        a[24..32].copy_from_slice(&flags.to_ne_bytes());
        bpf(cmd, &mut a).map(drop)
    }

    fn lookup(&self, key: &[u8]) -> Result<Vec<u8>, i32> {
        let mut v = vec![0u8; self.vsize];
        self.elem(BPF_MAP_LOOKUP_ELEM, Some(key), &mut v, 0)?;
        Ok(v)
    }

    fn update(&self, key: &[u8], val: &[u8], flags: u64) -> Result<(), i32> {
        let mut v = val.to_vec();
        self.elem(BPF_MAP_UPDATE_ELEM, Some(key), &mut v, flags)
    }

    fn delete(&self, key: &[u8]) -> Result<(), i32> {
        self.elem(BPF_MAP_DELETE_ELEM, Some(key), &mut [], 0)
    }

    fn pop(&self) -> Result<Vec<u8>, i32> {
        let mut v = vec![0u8; self.vsize];
        self.elem(BPF_MAP_LOOKUP_AND_DELETE_ELEM, None, &mut v, 0)?;
        Ok(v)
    }

    fn next_key(&self, key: Option<&[u8]>) -> Result<Vec<u8>, i32> {
        let mut k = vec![0u8; self.ksize];
        self.elem(BPF_MAP_GET_NEXT_KEY, key, &mut k, 0)?;
        Ok(k)
    }

    fn keys(&self) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let mut prev: Option<Vec<u8>> = None;
        while let Ok(k) = self.next_key(prev.as_deref()) {
            out.push(k.clone());
            prev = Some(k);
        }
        out
    }
}

fn ours<T>(r: Result<T, MapError>) -> Result<T, i32> {
    r.map_err(|e| e.errno())
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn kernel_ok() -> bool {
    match KMap::create(&MapSpec::new(MapType::Array, 4, 4, 1)) {
        Ok(_) => true,
        Err(e) => {
            println!("skipped: bpf() unavailable (BPF_MAP_CREATE: errno {e})");
            false
        }
    }
}

/// Run random key/value operations on both maps and compare every result.
fn diff_ops(spec: MapSpec, key_of: &dyn Fn(&mut Rng) -> Vec<u8>, ops: usize, order: bool) {
    let k = KMap::create(&spec).unwrap();
    let u = Map::create(spec.clone(), None).unwrap();
    let mut rng = Rng(0x5eed ^ spec.map_type as u64);
    for step in 0..ops {
        let key = key_of(&mut rng);
        let val: Vec<u8> = (0..spec.value_size).map(|_| rng.next() as u8).collect();
        let what = rng.below(10);
        let (kr, ur) = match what {
            0..=3 => {
                let flags = [0, 0, 1, 2, 3, 4][rng.below(6) as usize];
                (
                    k.update(&key, &val, flags).map(|()| Vec::new()),
                    ours(u.update(&key, &val, flags)).map(|()| Vec::new()),
                )
            }
            4..=6 => (k.lookup(&key), ours(u.lookup(&key))),
            7 | 8 => (
                k.delete(&key).map(|()| Vec::new()),
                ours(u.delete(&key)).map(|()| Vec::new()),
            ),
            _ => {
                // get_next_key order is only comparable for arrays and LPM tries; for hashes
                // compare whether the map is empty.
                if order {
                    (k.next_key(Some(&key)), ours(u.get_next_key(Some(&key))))
                } else {
                    (
                        k.next_key(None).map(|_| Vec::new()),
                        ours(u.get_next_key(None)).map(|_| Vec::new()),
                    )
                }
            }
        };
        assert_eq!(
            kr, ur,
            "{} step {step}: op {what} key {key:?}",
            spec.map_type
        );
    }
    let mut kk = k.keys();
    let mut uk: Vec<Vec<u8>> = u.keys().map(Result::unwrap).collect();
    if order {
        assert_eq!(kk, uk, "{} iteration order", spec.map_type);
    }
    kk.sort();
    uk.sort();
    assert_eq!(kk, uk, "{} keys", spec.map_type);
    for key in &kk {
        assert_eq!(k.lookup(key).unwrap(), u.lookup(key).unwrap());
    }
}

#[test]
fn hash_and_array_match_the_kernel() {
    if !kernel_ok() {
        return;
    }
    let small = |r: &mut Rng| (r.below(24) as u32).to_ne_bytes().to_vec();
    diff_ops(MapSpec::new(MapType::Hash, 4, 8, 16), &small, 5000, false);
    diff_ops(
        MapSpec::new(MapType::Hash, 4, 12, 16).with_flags(BPF_F_NO_PREALLOC),
        &small,
        5000,
        false,
    );
    diff_ops(MapSpec::new(MapType::Array, 4, 8, 16), &small, 5000, true);
    diff_ops(MapSpec::new(MapType::Array, 4, 3, 20), &small, 2000, true);
}

#[test]
fn lpm_trie_matches_the_kernel() {
    if !kernel_ok() {
        return;
    }
    // Prefixes of a few related addresses so that many prefixes nest.
    let key = |r: &mut Rng| {
        let plen = r.below(33) as u32;
        let base = [
            10u8,
            (r.below(4) * 64) as u8,
            r.below(3) as u8,
            r.below(256) as u8,
        ];
        let mut k = plen.to_ne_bytes().to_vec();
        k.extend_from_slice(&base);
        k
    };
    diff_ops(
        MapSpec::new(MapType::LpmTrie, 8, 4, 24).with_flags(BPF_F_NO_PREALLOC),
        &key,
        5000,
        true,
    );
}

#[test]
fn queue_and_stack_match_the_kernel() {
    if !kernel_ok() {
        return;
    }
    for t in [MapType::Queue, MapType::Stack] {
        let spec = MapSpec::new(t, 0, 4, 6);
        let k = KMap::create(&spec).unwrap();
        let u = Map::create(spec, None).unwrap();
        let mut rng = Rng(77);
        for step in 0..3000 {
            let v = (rng.next() as u32).to_ne_bytes();
            match rng.below(3) {
                0 => {
                    let flags = [0, 1, 2, 3][rng.below(4) as usize];
                    assert_eq!(
                        k.update(&[], &v, flags),
                        ours(u.push(&v, flags)),
                        "{t} step {step} push {flags}"
                    );
                }
                1 => assert_eq!(k.pop(), ours(u.pop()), "{t} step {step} pop"),
                _ => assert_eq!(k.lookup(&[]), ours(u.peek()), "{t} step {step} peek"),
            }
        }
    }
}

#[test]
fn create_checks_match_the_kernel() {
    if !kernel_ok() {
        return;
    }
    use MapType as T;
    let specs = [
        MapSpec::new(T::Array, 8, 4, 1),
        MapSpec::new(T::Array, 4, 0, 1),
        MapSpec::new(T::Array, 4, 4, 0),
        MapSpec::new(T::Array, 4, 4, 1).with_flags(BPF_F_NO_PREALLOC),
        MapSpec::new(T::Array, 4, 4, 1).with_flags(BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG),
        MapSpec::new(T::PercpuArray, 4, 4, 1).with_flags(BPF_F_MMAPABLE),
        MapSpec::new(T::Hash, 0, 4, 1),
        MapSpec::new(T::Hash, 4, 0, 1),
        MapSpec::new(T::Hash, 4, 4, 0),
        MapSpec::new(T::Hash, 4, 4, 1).with_flags(BPF_F_MMAPABLE),
        MapSpec::new(T::Hash, 4, 4, 1).with_flags(BPF_F_NO_COMMON_LRU),
        MapSpec::new(T::LruHash, 4, 4, 1).with_flags(BPF_F_NO_PREALLOC),
        MapSpec::new(T::LpmTrie, 8, 4, 1),
        MapSpec::new(T::LpmTrie, 4, 4, 1).with_flags(BPF_F_NO_PREALLOC),
        MapSpec::new(T::LpmTrie, 261, 4, 1).with_flags(BPF_F_NO_PREALLOC),
        MapSpec::new(T::Queue, 4, 4, 1),
        MapSpec::new(T::Queue, 0, 0, 1),
        MapSpec::new(T::Stack, 0, 4, 1).with_flags(BPF_F_ZERO_SEED),
        MapSpec::new(T::BloomFilter, 4, 4, 1),
        MapSpec::new(T::BloomFilter, 0, 4, 1).with_map_extra(16),
        MapSpec::new(T::BloomFilter, 0, 4, 1).with_flags(BPF_F_NO_PREALLOC),
        MapSpec::new(T::Ringbuf, 0, 0, 4000),
        MapSpec::new(T::Ringbuf, 0, 0, 3 * 4096),
        MapSpec::new(T::Ringbuf, 4, 0, 4096),
        MapSpec::new(T::Ringbuf, 0, 0, 4096).with_flags(BPF_F_RDONLY_PROG),
        // Valid ones.
        MapSpec::new(T::Hash, 4, 4, 1).with_flags(BPF_F_ZERO_SEED | BPF_F_NO_PREALLOC),
        MapSpec::new(T::LpmTrie, 5, 1, 1).with_flags(BPF_F_NO_PREALLOC),
        MapSpec::new(T::BloomFilter, 0, 4, 1).with_map_extra(15),
        MapSpec::new(T::Ringbuf, 0, 0, 8192),
        MapSpec::new(T::Array, 4, 4, 1).with_flags(BPF_F_MMAPABLE),
    ];
    for s in specs {
        let k = KMap::create(&s).map(drop);
        let u = ours(Map::create(s.clone(), None)).map(drop);
        assert_eq!(k, u, "{s:?}");
    }
}

/// The kernel's possible CPU count, from `/sys/devices/system/cpu/possible` ("0-N").
fn kernel_possible_cpus() -> Option<u32> {
    let s = std::fs::read_to_string("/sys/devices/system/cpu/possible").ok()?;
    let last = s.trim().rsplit(['-', ',']).next()?;
    Some(last.parse::<u32>().ok()? + 1)
}

#[test]
fn percpu_maps_match_the_kernel() {
    if !kernel_ok() {
        return;
    }
    if kernel_possible_cpus() != Some(possible_cpus()) {
        println!(
            "skipped: kernel has {:?} possible CPUs, userbpf uses {}",
            kernel_possible_cpus(),
            possible_cpus()
        );
        return;
    }
    let n = possible_cpus();
    for t in [MapType::PercpuArray, MapType::PercpuHash] {
        // User-space values are n slots of round_up(value_size, 8) bytes; the kernel map is
        // created with the per-CPU value size, and KMap buffers are sized per CPU here.
        let spec = MapSpec::new(t, 4, 12, 8);
        let mut k = KMap::create(&spec).unwrap();
        k.vsize = 16 * n as usize;
        let u = Map::create(spec, None).unwrap();
        let mut rng = Rng(99);
        for step in 0..2000 {
            let key = (rng.below(10) as u32).to_ne_bytes();
            let mut val: Vec<u8> = (0..16 * n).map(|_| rng.next() as u8).collect();
            for c in 0..n as usize {
                val[16 * c + 12..16 * c + 16].fill(0);
            }
            let (kr, ur) = match rng.below(3) {
                0 => (
                    k.update(&key, &val, 0).map(|()| Vec::new()),
                    ours(u.update(&key, &val, 0)).map(|()| Vec::new()),
                ),
                1 => (k.lookup(&key), ours(u.lookup(&key))),
                _ => (
                    k.delete(&key).map(|()| Vec::new()),
                    ours(u.delete(&key)).map(|()| Vec::new()),
                ),
            };
            assert_eq!(kr, ur, "{t} step {step}");
        }
    }
}

// ------------------------------------------------------------------ LRU eviction

const BPF_PROG_LOAD: i64 = 5;
const BPF_PROG_TEST_RUN: i64 = 10;

/// One instruction's 8 bytes.
fn insn(op: u8, dst: u8, src: u8, off: i16, imm: i32) -> [u8; 8] {
    let mut b = [0u8; 8];
    b[0] = op;
    b[1] = dst | (src << 4);
    b[2..4].copy_from_slice(&off.to_le_bytes());
    b[4..8].copy_from_slice(&imm.to_le_bytes());
    b
}

/// An XDP program that does one map operation on the kernel map `fd`, chosen by its
/// packet `{op u32, key u32, flags u32, pad u32, value u64}`: op 0 looks `key` up (a
/// program lookup sets the LRU reference bit) and returns 1 if found, 0 if not; op 1
/// updates `key` with `value` and `flags` and returns the helper's result.
struct KProg {
    fd: OwnedFd,
}

impl KProg {
    fn load(map: &KMap) -> Result<KProg, i32> {
        let fd = map.fd.as_raw_fd();
        let code: Vec<[u8; 8]> = vec![
            insn(0x61, 2, 1, 0, 0),    // 0: r2 = ctx->data
            insn(0x61, 3, 1, 4, 0),    // 1: r3 = ctx->data_end
            insn(0xbf, 4, 2, 0, 0),    // 2: r4 = r2
            insn(0x07, 4, 0, 0, 24),   // 3: r4 += 24
            insn(0x2d, 4, 3, 21, 0),   // 4: if r4 > r3 goto 26
            insn(0x61, 6, 2, 0, 0),    // 5: r6 = op
            insn(0x61, 7, 2, 4, 0),    // 6: r7 = key
            insn(0x63, 10, 7, -4, 0),  // 7: *(u32 *)(r10 - 4) = r7
            insn(0x61, 8, 2, 8, 0),    // 8: r8 = flags
            insn(0x79, 9, 2, 16, 0),   // 9: r9 = value
            insn(0x7b, 10, 9, -16, 0), // 10: *(u64 *)(r10 - 16) = r9
            insn(0x18, 1, 1, 0, fd),   // 11: r1 = map
            insn(0, 0, 0, 0, 0),       // 12
            insn(0xbf, 2, 10, 0, 0),   // 13: r2 = r10
            insn(0x07, 2, 0, 0, -4),   // 14: r2 += -4
            insn(0x55, 6, 0, 5, 0),    // 15: if r6 != 0 goto 21
            insn(0x85, 0, 0, 0, 1),    // 16: call map_lookup_elem
            insn(0x15, 0, 0, 2, 0),    // 17: if r0 == 0 goto 20
            insn(0xb7, 0, 0, 0, 1),    // 18: r0 = 1
            insn(0x95, 0, 0, 0, 0),    // 19: exit
            insn(0x95, 0, 0, 0, 0),    // 20: exit (r0 = 0)
            insn(0xbf, 3, 10, 0, 0),   // 21: r3 = r10
            insn(0x07, 3, 0, 0, -16),  // 22: r3 += -16
            insn(0xbf, 4, 8, 0, 0),    // 23: r4 = flags
            insn(0x85, 0, 0, 0, 2),    // 24: call map_update_elem
            insn(0x95, 0, 0, 0, 0),    // 25: exit
            insn(0xb7, 0, 0, 0, 99),   // 26: r0 = 99
            insn(0x95, 0, 0, 0, 0),    // 27: exit
        ];
        let bytes: Vec<u8> = code.concat();
        let license = b"GPL\0";
        let mut a = [0u8; 128];
        a[0..4].copy_from_slice(&6u32.to_ne_bytes()); // BPF_PROG_TYPE_XDP
        a[4..8].copy_from_slice(&(code.len() as u32).to_ne_bytes());
        a[8..16].copy_from_slice(&(bytes.as_ptr() as u64).to_ne_bytes());
        a[16..24].copy_from_slice(&(license.as_ptr() as u64).to_ne_bytes());
        let fd = bpf(BPF_PROG_LOAD, &mut a)?;
        Ok(KProg {
            // SAFETY: bpf() returned a new file descriptor that nothing else owns.
            fd: unsafe { OwnedFd::from_raw_fd(fd as i32) },
        })
    }

    /// Run the program once on this CPU; its return value as an i32.
    fn run(&self, op: u32, key: u32, flags: u32, value: u64) -> i32 {
        let mut pkt = [0u8; 24];
        pkt[0..4].copy_from_slice(&op.to_ne_bytes());
        pkt[4..8].copy_from_slice(&key.to_ne_bytes());
        pkt[8..12].copy_from_slice(&flags.to_ne_bytes());
        pkt[16..24].copy_from_slice(&value.to_ne_bytes());
        let mut a = [0u8; 128];
        a[0..4].copy_from_slice(&(self.fd.as_raw_fd() as u32).to_ne_bytes());
        a[8..12].copy_from_slice(&(pkt.len() as u32).to_ne_bytes());
        a[16..24].copy_from_slice(&(pkt.as_ptr() as u64).to_ne_bytes());
        a[32..36].copy_from_slice(&1u32.to_ne_bytes());
        bpf(BPF_PROG_TEST_RUN, &mut a).expect("BPF_PROG_TEST_RUN");
        u32::from_ne_bytes(a[4..8].try_into().unwrap()) as i32
    }
}

/// Pin this thread to one CPU it may run on and make userbpf's maps use that CPU, so that
/// the kernel's per-CPU LRU lists and ours see the same CPU.
fn pin_to_one_cpu() -> Option<u32> {
    let size = std::mem::size_of::<libc::cpu_set_t>();
    // SAFETY: cpu_set_t is plain data; the affinity calls read and write exactly `size`
    // bytes of the sets passed, for the calling thread (pid 0).
    let cpu = unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, size, &mut set) != 0 {
            return None;
        }
        let cpu = (0..libc::CPU_SETSIZE as usize).find(|&c| libc::CPU_ISSET(c, &set))?;
        let mut one: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut one);
        if libc::sched_setaffinity(0, size, &one) != 0 {
            return None;
        }
        cpu as u32
    };
    set_current_cpu(cpu);
    Some(cpu)
}

/// One operation on an LRU map.
#[derive(Clone, Copy, Debug)]
enum LruOp {
    /// `bpf_map_lookup_elem` from a program (sets the reference bit).
    ProgLookup(u32),
    /// `bpf_map_update_elem` from a program, with flags.
    ProgUpdate(u32, u32),
    /// `BPF_MAP_UPDATE_ELEM`, with flags.
    Update(u32, u32),
    /// `BPF_MAP_LOOKUP_ELEM` (does not set the reference bit).
    Lookup(u32),
    /// `BPF_MAP_DELETE_ELEM`.
    Delete(u32),
}

/// Apply `ops` to a kernel LRU map and ours from this CPU; after every operation the
/// results and the sets of keys must agree (which keys were evicted).
fn lru_compare(spec: &MapSpec, ops: &[LruOp]) {
    let n = possible_cpus() as usize;
    let percpu = spec.map_type == MapType::LruPercpuHash;
    let mut k = KMap::create(spec).unwrap();
    if percpu {
        k.vsize = 8 * n;
    }
    let prog = KProg::load(&k).expect("BPF_PROG_LOAD of the LRU test program");
    let u = Map::create(spec.clone(), None).unwrap();
    let name = format!(
        "{} flags {:#x} max {}",
        spec.map_type, spec.flags, spec.max_entries
    );
    let err = |r: Result<(), i32>| r.map_or_else(|e| -e, |()| 0);
    for (step, op) in ops.iter().enumerate() {
        let value = 0x1111_0000_0000_0000 | step as u64;
        let (kr, ur) = match *op {
            LruOp::ProgLookup(key) => (
                prog.run(0, key, 0, value),
                i32::from(u.lookup_ptr(&key.to_ne_bytes()).is_some()),
            ),
            LruOp::ProgUpdate(key, flags) => (
                prog.run(1, key, flags, value),
                err(ours(u.update_from_program(
                    &key.to_ne_bytes(),
                    &value.to_ne_bytes(),
                    flags as u64,
                ))),
            ),
            LruOp::Update(key, flags) => {
                let v: Vec<u8> = (0..k.vsize).map(|i| (i + step) as u8).collect();
                (
                    err(k.update(&key.to_ne_bytes(), &v, flags as u64)),
                    err(ours(u.update(&key.to_ne_bytes(), &v, flags as u64))),
                )
            }
            LruOp::Lookup(key) => (
                err(k.lookup(&key.to_ne_bytes()).map(drop)),
                err(ours(u.lookup(&key.to_ne_bytes())).map(drop)),
            ),
            LruOp::Delete(key) => (
                err(k.delete(&key.to_ne_bytes())),
                err(ours(u.delete(&key.to_ne_bytes()))),
            ),
        };
        assert_eq!(kr, ur, "{name}: step {step}: {op:?}");
        let mut kk = k.keys();
        let mut uk: Vec<Vec<u8>> = u.keys().map(Result::unwrap).collect();
        kk.sort();
        uk.sort();
        assert_eq!(kk, uk, "{name}: keys after step {step}: {op:?}");
    }
    for key in k.keys() {
        assert_eq!(k.lookup(&key).unwrap(), u.lookup(&key).unwrap(), "{name}");
    }
}

/// Random operations: half on a "hot" quarter of the keys, so that some keys are
/// referenced again and again and others age.
fn random_lru_ops(keys: u64, ops: usize, seed: u64) -> Vec<LruOp> {
    let mut rng = Rng(seed);
    (0..ops)
        .map(|_| {
            let key = if rng.below(2) == 0 {
                rng.below(keys / 4)
            } else {
                rng.below(keys)
            } as u32;
            let flags = [0u32, 0, 0, 1, 2, 4][rng.below(6) as usize];
            match rng.below(16) {
                0..=6 => LruOp::ProgLookup(key),
                7..=10 => LruOp::ProgUpdate(key, flags),
                11..=12 => LruOp::Update(key, flags),
                13 => LruOp::Lookup(key),
                _ => LruOp::Delete(key),
            }
        })
        .collect()
}

#[test]
fn lru_eviction_matches_the_kernel() {
    if !kernel_ok() {
        return;
    }
    if kernel_possible_cpus() != Some(possible_cpus()) {
        println!(
            "skipped: kernel has {:?} possible CPUs, userbpf uses {}",
            kernel_possible_cpus(),
            possible_cpus()
        );
        return;
    }
    if pin_to_one_cpu().is_none() {
        println!("skipped: cannot pin the test thread to one CPU");
        return;
    }
    use MapType as T;
    for (i, (t, flags, max, keys)) in [
        (T::LruHash, 0, 64, 200),
        (T::LruHash, 0, 8, 40),
        (T::LruHash, 0, 300, 700),
        (T::LruHash, 0, 1, 4),
        (T::LruHash, BPF_F_NO_COMMON_LRU, 32, 100),
        (T::LruHash, BPF_F_NO_COMMON_LRU, 7, 30),
        (T::LruPercpuHash, 0, 48, 150),
        (T::LruPercpuHash, BPF_F_NO_COMMON_LRU, 16, 60),
    ]
    .into_iter()
    .enumerate()
    {
        let spec = MapSpec::new(t, 4, 8, max).with_flags(flags);
        lru_compare(&spec, &random_lru_ops(keys, 3000, 0x1badb002 + i as u64));
    }
    // The sequence maps_semantics.rs explains step by step (3 entries: batches of 1).
    use LruOp::*;
    let script = [
        Update(1, 0),
        Update(2, 0),
        Update(3, 0),
        ProgLookup(1),
        Lookup(2),
        Update(4, 0),
        Update(5, 0),
        Update(6, 1),
        ProgLookup(5),
        Update(7, 0),
        Update(5, 2),
        Update(8, 2),
        Update(9, 0),
        Update(10, 2),
        Delete(5),
        Update(11, 0),
    ];
    lru_compare(&MapSpec::new(T::LruHash, 4, 8, 3), &script);
}

// ------------------------------------------------------------------ redirect maps

#[test]
fn redirect_maps_match_the_kernel() {
    if !kernel_ok() {
        return;
    }
    use MapType as T;
    // Creation checks.
    let specs = [
        MapSpec::new(T::Devmap, 4, 4, 4),
        MapSpec::new(T::Devmap, 4, 8, 4),
        MapSpec::new(T::Devmap, 4, 12, 4),
        MapSpec::new(T::Devmap, 8, 4, 4),
        MapSpec::new(T::Devmap, 4, 4, 0),
        MapSpec::new(T::Devmap, 4, 4, 4).with_flags(BPF_F_NO_PREALLOC),
        MapSpec::new(T::DevmapHash, 4, 8, 5),
        MapSpec::new(T::Cpumap, 4, 4, 2),
        MapSpec::new(T::Cpumap, 4, 6, 2),
        MapSpec::new(T::Cpumap, 4, 8, 2).with_flags(BPF_F_RDONLY),
        MapSpec::new(T::Xskmap, 4, 4, 2),
        MapSpec::new(T::Xskmap, 4, 8, 2),
    ];
    for s in &specs {
        let k = KMap::create(s).map(drop);
        let u = ours(Map::create(s.clone(), None)).map(drop);
        assert_eq!(k, u, "{s:?}");
    }
    // Random updates (existing, missing and zero ifindexes, programs), deletes, lookups and
    // iteration (order included: array indexes, devmap_hash buckets by the key's low bits).
    let n = possible_cpus();
    for (spec, keys) in [
        (MapSpec::new(T::Devmap, 4, 8, 6), 8u64),
        (MapSpec::new(T::Devmap, 4, 4, 3), 4),
        (MapSpec::new(T::DevmapHash, 4, 8, 5), 24),
        (MapSpec::new(T::DevmapHash, 4, 4, 3), 9),
        (MapSpec::new(T::Cpumap, 4, 8, n + 2), (n + 3) as u64),
    ] {
        let k = KMap::create(&spec).unwrap();
        let u = Map::create(spec.clone(), None).unwrap();
        let mut rng = Rng(0xdeu64 ^ spec.map_type as u64);
        let cpumap = spec.map_type == T::Cpumap;
        for step in 0..1500 {
            let key = (rng.below(keys) as u32).to_ne_bytes();
            let first: u32 = if cpumap {
                [0, 1, 64, 16384, 16385][rng.below(5) as usize]
            } else {
                [0, 1, 1, 1, 0x7fff_fff0][rng.below(5) as usize]
            };
            let mut val = first.to_ne_bytes().to_vec();
            if spec.value_size == 8 {
                val.extend_from_slice(&[-1i32, 0, -1][rng.below(3) as usize].to_ne_bytes());
            }
            let what = rng.below(10);
            let (kr, ur) = match what {
                0..=3 => {
                    let flags = [0, 0, 1, 2, 3][rng.below(5) as usize];
                    (
                        k.update(&key, &val, flags).map(|()| Vec::new()),
                        ours(u.update(&key, &val, flags)).map(|()| Vec::new()),
                    )
                }
                4..=5 => (k.lookup(&key), ours(u.lookup(&key))),
                6..=7 => (
                    k.delete(&key).map(|()| Vec::new()),
                    ours(u.delete(&key)).map(|()| Vec::new()),
                ),
                _ => (k.next_key(Some(&key)), ours(u.get_next_key(Some(&key)))),
            };
            assert_eq!(
                kr, ur,
                "{} step {step}: op {what} key {key:?} value {val:?}",
                spec.map_type
            );
        }
        assert_eq!(
            k.keys(),
            u.keys().map(Result::unwrap).collect::<Vec<_>>(),
            "{}",
            spec.map_type
        );
        assert!(!u.is_empty(), "{}: some updates succeed", spec.map_type);
    }
    // xskmaps: no AF_XDP sockets, so only the checks before the socket are compared.
    let spec = MapSpec::new(T::Xskmap, 4, 4, 2);
    let k = KMap::create(&spec).unwrap();
    let u = Map::create(spec, None).unwrap();
    for (key, flags) in [(5u32, 0u64), (0, 3)] {
        assert_eq!(
            k.update(&key.to_ne_bytes(), &0u32.to_ne_bytes(), flags),
            ours(u.update(&key.to_ne_bytes(), &0u32.to_ne_bytes(), flags))
        );
    }
    for key in [0u32, 1, 2] {
        assert_eq!(
            k.delete(&key.to_ne_bytes()),
            ours(u.delete(&key.to_ne_bytes()))
        );
        assert_eq!(
            k.lookup(&key.to_ne_bytes()),
            ours(u.lookup(&key.to_ne_bytes()))
        );
    }
    assert_eq!(k.keys(), u.keys().map(Result::unwrap).collect::<Vec<_>>());
}
