//! Unit tests: request building and result parsing against a fake kernel, then the real
//! kernel when `bpf()` is available.
//!
//! Takes nothing; gives tests.

use std::any::Any;
use std::cell::RefCell;
use std::io;
use std::os::fd::IntoRawFd;

use crate::attr::{Attr, ProgLoadAttr, TestRunAttr, BPF_PROG_LOAD, BPF_PROG_TEST_RUN};
use crate::prog::{load_in, test_run_in};
use crate::sys::Sys;
use crate::{available, prog_load, prog_type, LoadOptions, TestRunOptions, PROBE};

/// A fake kernel: rejects every program without a log, explains with one, and answers
/// test runs with fixed outputs. Records the log levels and sizes it was offered.
#[derive(Default)]
struct Fake {
    accept: bool,
    calls: RefCell<Vec<(u32, u32, u32)>>,
}

const MESSAGE: &[u8] = b"0: R0 !read_ok\nprocessed 1 insns\0";

impl Sys for Fake {
    fn bpf<A: Attr>(&self, cmd: u32, attr: &mut A) -> io::Result<i64> {
        let any = attr as &mut dyn Any;
        if let Some(a) = any.downcast_mut::<ProgLoadAttr>() {
            assert_eq!(cmd, BPF_PROG_LOAD);
            self.calls
                .borrow_mut()
                .push((a.log_level, a.log_size, a.insn_cnt));
            if a.log_level == 0 {
                assert_eq!((a.log_buf, a.log_size), (0, 0));
                if self.accept {
                    let f = std::fs::File::open("/dev/null")?;
                    return Ok(f.into_raw_fd() as i64);
                }
                return Err(io::Error::from_raw_os_error(libc::EACCES));
            }
            a.log_true_size = MESSAGE.len() as u32;
            let n = MESSAGE.len().min(a.log_size as usize);
            // SAFETY: log_buf points at the crate's live log buffer of log_size bytes.
            unsafe {
                std::ptr::copy_nonoverlapping(MESSAGE.as_ptr(), a.log_buf as *mut u8, n);
            }
            return Err(io::Error::from_raw_os_error(libc::EACCES));
        }
        if let Some(t) = any.downcast_mut::<TestRunAttr>() {
            assert_eq!(cmd, BPF_PROG_TEST_RUN);
            assert_eq!(t.data_size_in, 3);
            t.retval = 7;
            t.duration = 11;
            // SAFETY: data_out points at a live buffer of data_size_out >= 2 bytes.
            unsafe { (t.data_out as *mut u8).write(0xaa) };
            t.data_size_out = 1;
            return Ok(0);
        }
        panic!("unexpected attribute type");
    }
}

#[test]
fn rejection_is_retried_with_a_log() {
    let fake = Fake::default();
    let err = load_in(
        &fake,
        prog_type::XDP,
        &PROBE,
        "GPL",
        &LoadOptions::default(),
    )
    .expect_err("fake rejects");
    assert_eq!(err.errno, libc::EACCES);
    assert_eq!(err.log, "0: R0 !read_ok\nprocessed 1 insns");
    let calls = fake.calls.borrow();
    assert_eq!(calls[0], (0, 0, 2));
    assert_eq!(calls[1].0, 1);
    assert!(calls[1].1 > 0);
    assert!(err.to_string().contains("R0 !read_ok"), "{err}");
}

#[test]
fn acceptance_gives_an_fd() {
    let fake = Fake {
        accept: true,
        ..Fake::default()
    };
    let prog = load_in(
        &fake,
        prog_type::XDP,
        &PROBE,
        "GPL",
        &LoadOptions::default(),
    );
    assert!(prog.is_ok());
    assert_eq!(fake.calls.borrow().len(), 1);
}

#[test]
fn malformed_requests_make_no_syscall() {
    let fake = Fake::default();
    let opts = LoadOptions::default();
    assert_eq!(
        load_in(&fake, 6, &PROBE[..12], "GPL", &opts)
            .unwrap_err()
            .errno,
        libc::EINVAL
    );
    assert_eq!(
        load_in(&fake, 6, &PROBE, "G\0PL", &opts).unwrap_err().errno,
        libc::EINVAL
    );
    assert!(fake.calls.borrow().is_empty());
}

#[test]
fn test_run_outputs_are_parsed() {
    let opts = TestRunOptions {
        data_in: &[1, 2, 3],
        data_out_capacity: 8,
        ..TestRunOptions::default()
    };
    let r = test_run_in(&Fake::default(), 3, &opts).unwrap();
    assert_eq!((r.retval, r.duration_ns), (7, 11));
    assert_eq!(r.data_out, vec![0xaa]);
    assert!(r.ctx_out.is_empty());
}

#[test]
fn real_kernel_probe() {
    if let Err(why) = available() {
        println!("skipped: {why}");
        return;
    }
    // r0 = 0x1_0000_0007; exit: retval keeps the low 32 bits.
    let insns = [
        0x18, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0,
    ];
    let prog = prog_load(prog_type::XDP, &insns, "GPL", 1).unwrap();
    assert!(prog.log().contains("processed"), "{}", prog.log());
    let run = prog.test_run(&[5u8; 20], 3, 64).unwrap();
    assert_eq!(run.retval, 7);
    assert_eq!(run.data_out, vec![5u8; 20]);

    // Reading r2 before writing it is rejected with a log naming the register.
    let bad = [0xbf, 0x20, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0];
    let err = prog_load(prog_type::XDP, &bad, "GPL", 0).unwrap_err();
    assert_eq!(err.errno, libc::EACCES);
    assert!(err.log.contains("R2 !read_ok"), "{}", err.log);
}

#[test]
fn cpu_lists_are_counted() {
    use crate::map::parse_cpu_list;
    assert_eq!(parse_cpu_list("0"), Some(1));
    assert_eq!(parse_cpu_list("0-3"), Some(4));
    assert_eq!(parse_cpu_list("0-3,5,7-8"), Some(9));
    assert_eq!(parse_cpu_list("x"), None);
    assert_eq!(parse_cpu_list(""), None);
}

#[test]
fn object_names_are_sanitised() {
    use crate::map::object_name;
    assert_eq!(&object_name("a-b.c_d")[..6], b"ab.c_d");
    let long = object_name("abcdefghijklmnopqrstuvwxyz");
    assert_eq!(&long[..15], b"abcdefghijklmno");
    assert_eq!(long[15], 0);
}

/// A fake kernel for map commands: checks the attribute layout it receives.
struct FakeMaps;

impl Sys for FakeMaps {
    fn bpf<A: Attr>(&self, cmd: u32, attr: &mut A) -> io::Result<i64> {
        let any = attr as &mut dyn Any;
        if let Some(a) = any.downcast_mut::<crate::attr::MapCreateAttr>() {
            assert_eq!(cmd, crate::attr::BPF_MAP_CREATE);
            assert_eq!((a.map_type, a.key_size, a.value_size), (1, 4, 8));
            assert_eq!(&a.map_name[..4], b"hash");
            let f = std::fs::File::open("/dev/null")?;
            return Ok(f.into_raw_fd() as i64);
        }
        if let Some(a) = any.downcast_mut::<crate::attr::MapElemAttr>() {
            assert_eq!(cmd, crate::attr::BPF_MAP_LOOKUP_ELEM);
            assert_ne!(a.key, 0);
            // SAFETY: value points at the crate's buffer of value_size (8) bytes.
            unsafe { (a.value as *mut u64).write_unaligned(0x1122) };
            return Ok(0);
        }
        panic!("unexpected attribute type");
    }
}

#[test]
fn map_requests_are_checked_before_the_syscall() {
    use crate::map::{map_create_in, MapCreateOptions};
    let map = map_create_in(
        &FakeMaps,
        &MapCreateOptions {
            map_type: 1,
            key_size: 4,
            value_size: 8,
            max_entries: 4,
            name: "hash".into(),
            ..MapCreateOptions::default()
        },
    )
    .unwrap();
    let v = map.lookup_in(&FakeMaps, Some(&[1, 0, 0, 0]), 0).unwrap();
    assert_eq!(v, Some(0x1122u64.to_ne_bytes().to_vec()));
    // Wrong key size: EINVAL with no syscall (FakeMaps would accept it).
    let e = map.lookup_in(&FakeMaps, Some(&[1, 0]), 0).unwrap_err();
    assert_eq!(e.raw_os_error(), Some(libc::EINVAL));
    let e = map
        .update_in(&FakeMaps, Some(&[1, 0, 0, 0]), &[0; 4], 0)
        .unwrap_err();
    assert_eq!(e.raw_os_error(), Some(libc::EINVAL));
}

#[test]
fn real_kernel_maps() {
    use crate::{map_create, map_type, possible_cpus, MapCreateOptions};
    if let Err(why) = available() {
        println!("skipped: {why}");
        return;
    }
    let create = |t, k, v, n, extra| {
        map_create(&MapCreateOptions {
            map_type: t,
            key_size: k,
            value_size: v,
            max_entries: n,
            map_extra: extra,
            name: "t".into(),
            ..MapCreateOptions::default()
        })
        .unwrap()
    };
    let hash = create(map_type::HASH, 4, 8, 8, 0);
    for k in 1u32..=3 {
        hash.update(&k.to_ne_bytes(), &u64::from(k * 10).to_ne_bytes(), 0)
            .unwrap();
    }
    assert!(hash.delete(&2u32.to_ne_bytes()).unwrap());
    assert!(!hash.delete(&2u32.to_ne_bytes()).unwrap());
    let mut dump = hash.dump().unwrap();
    dump.sort();
    assert_eq!(
        dump,
        vec![
            (1u32.to_ne_bytes().to_vec(), 10u64.to_ne_bytes().to_vec()),
            (3u32.to_ne_bytes().to_vec(), 30u64.to_ne_bytes().to_vec()),
        ]
    );
    assert!(hash.id().unwrap() > 0);

    let percpu = create(map_type::PERCPU_ARRAY, 4, 4, 2, 0);
    assert_eq!(percpu.value_buf_size(), 8 * possible_cpus());
    assert_eq!(percpu.dump().unwrap().len(), 2);

    let queue = create(map_type::QUEUE, 0, 4, 4, 0);
    let stack = create(map_type::STACK, 0, 4, 4, 0);
    for v in 1u32..=3 {
        queue.push(&v.to_ne_bytes(), 0).unwrap();
        stack.push(&v.to_ne_bytes(), 0).unwrap();
    }
    let values = |m: &crate::MapFd| -> Vec<u32> {
        m.dump()
            .unwrap()
            .into_iter()
            .map(|(_, v)| u32::from_ne_bytes(v.try_into().unwrap()))
            .collect()
    };
    assert_eq!(values(&queue), [1, 2, 3]);
    assert_eq!(values(&queue), [1, 2, 3], "dump leaves the queue as it was");
    assert_eq!(values(&stack), [3, 2, 1]);
    assert_eq!(values(&stack), [3, 2, 1], "dump leaves the stack as it was");
    assert_eq!(queue.pop().unwrap(), Some(1u32.to_ne_bytes().to_vec()));

    let bloom = create(map_type::BLOOM_FILTER, 0, 4, 16, 3);
    bloom.push(&7u32.to_ne_bytes(), 0).unwrap();
    assert!(bloom.bloom_contains(&7u32.to_ne_bytes()).unwrap());

    let ringbuf = create(map_type::RINGBUF, 0, 0, 4096, 0);
    assert!(ringbuf.ringbuf_records().unwrap().is_empty());

    let rodata = create(map_type::ARRAY, 4, 4, 1, 0);
    rodata
        .update(&0u32.to_ne_bytes(), &5u32.to_ne_bytes(), 0)
        .unwrap();
    rodata.freeze().unwrap();
    assert_eq!(
        rodata
            .update(&0u32.to_ne_bytes(), &6u32.to_ne_bytes(), 0)
            .unwrap_err()
            .raw_os_error(),
        Some(libc::EPERM)
    );
}

#[test]
fn datasec_layouts_are_fixed_up() {
    // Types: [1] INT 'int' size 4; [2] VAR 'a' -> 1; [3] VAR 'b' -> 1;
    // [4] DATASEC '.data' size 0 { a @0 size 4, b @0 size 4 } as clang writes it.
    // Names: "int" at 1, "a" at 5, "b" at 7, ".data" at 9.
    let strings = b"\0int\0a\0b\0.data\0";
    #[rustfmt::skip]
    let words: [u32; 21] = [
        1, 1 << 24, 4, 32,        // INT, 32 bits
        5, 14 << 24, 1, 1,        // VAR a, global
        7, 14 << 24, 1, 1,        // VAR b, global
        9, (15 << 24) | 2, 0,     // DATASEC, vlen 2, size 0
        2, 0, 4,                  // a @0 size 4
        3, 0, 4,                  // b @0 size 4
    ];
    let types: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    let mut raw = Vec::new();
    raw.extend_from_slice(&0xeb9fu16.to_le_bytes());
    raw.extend_from_slice(&[1, 0]);
    for v in [
        24u32,
        0,
        types.len() as u32,
        types.len() as u32,
        strings.len() as u32,
    ] {
        raw.extend_from_slice(&v.to_le_bytes());
    }
    raw.extend_from_slice(&types);
    raw.extend_from_slice(strings);
    let fixed = crate::sanitize_btf(&raw).unwrap();
    let word = |i: usize| u32::from_le_bytes(fixed[24 + 4 * i..28 + 4 * i].try_into().unwrap());
    assert_eq!(word(14), 8, "DATASEC size is the sum of its variables");
    assert_eq!((word(16), word(17)), (0, 4), "a at 0, size 4");
    assert_eq!((word(19), word(20)), (4, 4), "b after a");
    assert!(crate::sanitize_btf(&raw[..10]).is_err());
    assert!(crate::sanitize_btf(&[0u8; 32]).is_err());
}

#[test]
fn object_load_with_stats_log() {
    if let Err(why) = available() {
        println!("skipped: {why}");
        return;
    }
    let path = std::path::Path::new(env!("USERBPF_SHARED"))
        .join("corpus/ebpf-samples/build/packet_access.o");
    let Ok(bytes) = std::fs::read(&path) else {
        println!("skipped: {} not found", path.display());
        return;
    };
    let object = userbpf_object::Object::parse(&bytes).unwrap();
    // BPF_LOG_STATS alone: the kernel's statistics, its verification time among them.
    let loaded = crate::load_object_with_log_level(&object, 4).unwrap();
    let name = loaded.program_names().next().unwrap().to_string();
    let log = loaded.program(&name).unwrap().log();
    assert!(log.contains("verification time"), "{log}");
    // Level 0 keeps no log.
    let quiet = crate::load_object(&object).unwrap();
    assert_eq!(quiet.program(&name).unwrap().log(), "");
}
