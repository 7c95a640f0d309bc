//! Pinned maps: another process opens the file and sees (and changes) the same map; damaged
//! files give errors, never panics.

use std::path::{Path, PathBuf};
use std::process::Command;

use userbpf_runtime::maps::*;

const CHILD_ENV: &str = "USERBPF_MAPS_PIN_CHILD";

fn k32(i: u32) -> [u8; 4] {
    i.to_ne_bytes()
}

/// A fresh directory under the system temp dir.
fn temp_dir(tag: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let d = std::env::temp_dir().join(format!("userbpf-maps-{tag}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Run `child_side` in a separate process of this test binary.
fn run_child(dir: &Path) {
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_side", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "child failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("child: done"));
}

/// The child process: read what the parent wrote, write an answer. A no-op in normal runs.
#[test]
fn child_side() {
    let Some(dir) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let dir = PathBuf::from(dir);
    let hash = Map::open_pinned(&dir.join("counts")).unwrap();
    assert_eq!(hash.map_type(), MapType::Hash);
    assert_eq!(hash.spec().name, "counts");
    assert_eq!(hash.lookup(&k32(7)).unwrap(), 700u64.to_ne_bytes());
    assert_eq!(hash.len(), 10);
    // Programs in this process change the value in place.
    let p = hash.lookup_ptr(&k32(7)).unwrap();
    // SAFETY: a value pointer of a live element, 8-aligned, accessed atomically.
    unsafe { std::sync::atomic::AtomicU64::from_ptr(p as *mut u64) }
        .fetch_add(5, std::sync::atomic::Ordering::SeqCst);
    hash.update(&k32(100), &1u64.to_ne_bytes(), BPF_NOEXIST)
        .unwrap();
    hash.delete(&k32(0)).unwrap();

    let arr = Map::open_pinned(&dir.join("arr")).unwrap();
    let n = arr.num_cpus() as usize;
    assert_eq!(arr.lookup(&k32(1)).unwrap(), vec![3u8; 8 * n]);

    let q = Map::open_pinned(&dir.join("q")).unwrap();
    assert_eq!(q.pop().unwrap(), k32(1));
    q.push(&k32(9), BPF_ANY).unwrap();

    let lpm = Map::open_pinned(&dir.join("lpm")).unwrap();
    let mut key = 32u32.to_ne_bytes().to_vec();
    key.extend_from_slice(&[192, 168, 1, 1]);
    assert_eq!(lpm.lookup(&key).unwrap(), k32(16));

    let rb = Map::open_pinned(&dir.join("rb")).unwrap();
    rb.ringbuf_output(b"from the child", 0).unwrap();

    let bloom = Map::open_pinned(&dir.join("bloom")).unwrap();
    assert!(bloom.contains(&k32(42)).unwrap());
    println!("child: done");
}

#[test]
fn pinned_maps_are_shared_with_another_process() {
    let dir = temp_dir("share");
    let hash = Map::create(
        MapSpec::new(MapType::Hash, 4, 8, 64).with_name("counts"),
        Some(&dir.join("counts")),
    )
    .unwrap();
    for i in 0..10u32 {
        hash.update(&k32(i), &(i as u64 * 100).to_ne_bytes(), BPF_ANY)
            .unwrap();
    }
    let arr = Map::create(
        MapSpec::new(MapType::PercpuArray, 4, 8, 4),
        Some(&dir.join("arr")),
    )
    .unwrap();
    let n = arr.num_cpus() as usize;
    arr.update(&k32(1), &vec![3u8; 8 * n], BPF_ANY).unwrap();
    let q = Map::create(MapSpec::new(MapType::Queue, 0, 4, 4), Some(&dir.join("q"))).unwrap();
    q.push(&k32(1), BPF_ANY).unwrap();
    q.push(&k32(2), BPF_ANY).unwrap();
    let lpm = Map::create(
        MapSpec::new(MapType::LpmTrie, 8, 4, 4).with_flags(BPF_F_NO_PREALLOC),
        Some(&dir.join("lpm")),
    )
    .unwrap();
    let mut key = 16u32.to_ne_bytes().to_vec();
    key.extend_from_slice(&[192, 168, 0, 0]);
    lpm.update(&key, &k32(16), BPF_ANY).unwrap();
    let rb = Map::create(
        MapSpec::new(MapType::Ringbuf, 0, 0, 4096),
        Some(&dir.join("rb")),
    )
    .unwrap();
    let bloom = Map::create(
        MapSpec::new(MapType::BloomFilter, 0, 4, 100),
        Some(&dir.join("bloom")),
    )
    .unwrap();
    bloom.push(&k32(42), BPF_ANY).unwrap();

    run_child(&dir);

    // The child's changes are visible here, through the same mapping.
    assert_eq!(hash.lookup(&k32(7)).unwrap(), 705u64.to_ne_bytes());
    assert_eq!(hash.lookup(&k32(100)).unwrap(), 1u64.to_ne_bytes());
    assert_eq!(hash.lookup(&k32(0)).unwrap_err().errno(), 2);
    assert_eq!(hash.len(), 10);
    assert_eq!(q.pop().unwrap(), k32(2));
    assert_eq!(q.pop().unwrap(), k32(9));
    let mut got = Vec::new();
    rb.ringbuf_consume(|s| got.push(s.to_vec())).unwrap();
    assert_eq!(got, vec![b"from the child".to_vec()]);
    // Reopening in this process sees the same contents too.
    drop(hash);
    let again = Map::open_pinned(&dir.join("counts")).unwrap();
    assert_eq!(again.lookup(&k32(7)).unwrap(), 705u64.to_ne_bytes());
    assert_eq!(again.pin_path(), Some(dir.join("counts").as_path()));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn pinning_over_an_existing_file_is_eexist() {
    let dir = temp_dir("exist");
    let p = dir.join("m");
    Map::create(MapSpec::new(MapType::Array, 4, 4, 1), Some(&p)).unwrap();
    let e = Map::create(MapSpec::new(MapType::Array, 4, 4, 1), Some(&p)).unwrap_err();
    assert_eq!(e.errno(), 17);
    // An invalid spec leaves no file behind.
    let p2 = dir.join("bad");
    assert!(Map::create(MapSpec::new(MapType::Array, 0, 4, 1), Some(&p2)).is_err());
    assert!(!p2.exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

fn open_err(path: &Path) -> MapError {
    Map::open_pinned(path).expect_err("damaged file must not open")
}

#[test]
fn damaged_pin_files_are_errors() {
    let dir = temp_dir("damaged");
    let good = dir.join("good");
    let m = Map::create(MapSpec::new(MapType::Hash, 4, 8, 16), Some(&good)).unwrap();
    m.update(&k32(1), &[1; 8], BPF_ANY).unwrap();
    drop(m);
    let bytes = std::fs::read(&good).unwrap();

    let write = |name: &str, data: &[u8]| {
        let p = dir.join(name);
        std::fs::write(&p, data).unwrap();
        p
    };
    // Missing file and a directory.
    assert_eq!(open_err(&dir.join("missing")).errno(), 2);
    assert!(Map::open_pinned(&dir).is_err());
    // Empty, truncated header, truncated data.
    for (name, len) in [("empty", 0), ("short", 100), ("trunc", bytes.len() - 4096)] {
        let e = open_err(&write(name, &bytes[..len]));
        assert!(matches!(e, MapError::BadPinFile { .. }), "{name}: {e}");
        assert_eq!(e.errno(), 22);
    }
    // Extended file.
    let mut longer = bytes.clone();
    longer.extend_from_slice(&[0; 4096]);
    assert!(matches!(
        open_err(&write("long", &longer)),
        MapError::BadPinFile { .. }
    ));
    // Not a map at all.
    let e = open_err(&write("text", &vec![b'x'; 8192]));
    assert!(e.to_string().contains("bad magic"), "{e}");
    // Header fields changed one at a time.
    let patch = |name: &str, off: usize, val: &[u8]| {
        let mut b = bytes.clone();
        b[off..off + val.len()].copy_from_slice(val);
        open_err(&write(name, &b))
    };
    assert!(patch("version", 8, &99u32.to_ne_bytes())
        .to_string()
        .contains("version"));
    assert!(patch("type", 12, &999u32.to_ne_bytes())
        .to_string()
        .contains("unknown map type"));
    assert!(patch("type2", 12, &7u32.to_ne_bytes())
        .to_string()
        .contains("not supported"));
    assert!(matches!(
        patch("keysize", 16, &0u32.to_ne_bytes()),
        MapError::BadPinFile { .. }
    ));
    assert!(matches!(
        patch("maxent", 24, &17u32.to_ne_bytes()),
        MapError::BadPinFile { .. }
    ));
    assert!(matches!(
        patch("ncpus", 40, &0u32.to_ne_bytes()),
        MapError::BadPinFile { .. }
    ));
    assert!(matches!(
        patch("meta", 88, &3u64.to_ne_bytes()),
        MapError::BadPinFile { .. }
    ));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn random_header_damage_never_panics() {
    let dir = temp_dir("fuzz");
    let good = dir.join("good");
    drop(Map::create(MapSpec::new(MapType::LruPercpuHash, 8, 16, 32), Some(&good)).unwrap());
    let bytes = std::fs::read(&good).unwrap();
    let mut x = 0x1234_5678_9abc_def1u64;
    for i in 0..2000 {
        let mut b = bytes.clone();
        for _ in 0..1 + i % 4 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // Damage the descriptive header (not the lock words, which would hang a user).
            let off = (x % 152) as usize;
            b[off] ^= (x >> 40) as u8 | 1;
        }
        let p = dir.join("damaged");
        std::fs::write(&p, &b).unwrap();
        // Either an error or a map whose header is still self-consistent.
        if let Ok(m) = Map::open_pinned(&p) {
            let _ = m.get_next_key(None);
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn corrupt_links_in_a_shared_region_are_errors() {
    let dir = temp_dir("links");
    let p = dir.join("m");
    let m = Map::create(
        MapSpec::new(MapType::Hash, 4, 8, 4).with_flags(BPF_F_ZERO_SEED),
        Some(&p),
    )
    .unwrap();
    for i in 0..4u32 {
        m.update(&k32(i), &[0; 8], BPF_ANY).unwrap();
    }
    // Point every bucket head (after the 256-byte header, 8 bytes per bucket, head at +4)
    // at a nonexistent element.
    let (start, _) = m.region();
    let mut b = std::fs::read(&p).unwrap();
    for bucket in 0..4 {
        b[256 + 8 * bucket + 4..256 + 8 * bucket + 8].copy_from_slice(&999u32.to_ne_bytes());
    }
    std::fs::write(&p, &b).unwrap();
    let _ = start;
    let e = m.lookup(&k32(1)).unwrap_err();
    assert_eq!(e.errno(), 117, "{e}");
    assert!(m.lookup_ptr(&k32(1)).is_none());
    assert!(m.get_next_key(None).is_err());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn frozen_map_refuses_user_writes_in_every_handle() {
    let dir = temp_dir("frozen");
    let pin = dir.join("ro");
    let map = Map::create(MapSpec::new(MapType::Hash, 4, 4, 8), Some(&pin)).unwrap();
    map.update(&k32(1), &k32(10), BPF_ANY).unwrap();
    assert!(!map.is_frozen());
    map.freeze().unwrap();
    assert_eq!(
        map.freeze().unwrap_err().errno(),
        16,
        "EBUSY the second time"
    );
    let other = Map::open_pinned(&pin).unwrap();
    for m in [&map, &other] {
        assert!(m.is_frozen());
        let eperm = |r: Result<(), MapError>| assert_eq!(r.unwrap_err().errno(), 1);
        eperm(m.update(&k32(2), &k32(20), BPF_ANY));
        eperm(m.delete(&k32(1)));
        eperm(m.lookup_and_delete(&k32(1)).map(|_| ()));
        eperm(m.update_batch(&[(&k32(3), &k32(30))], BPF_ANY));
        eperm(m.delete_batch(&[&k32(1)]));
        // Reads still work, and nothing changed.
        assert_eq!(m.lookup(&k32(1)).unwrap(), k32(10));
        assert_eq!(m.len(), 1);
    }
    let _ = std::fs::remove_dir_all(&dir);
}
