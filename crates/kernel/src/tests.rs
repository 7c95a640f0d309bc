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
