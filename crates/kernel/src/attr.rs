//! Raw `union bpf_attr` layouts, as in the kernel UAPI (`include/uapi/linux/bpf.h`).
//!
//! Takes nothing; gives `#[repr(C)]` structs for the members of `union bpf_attr` this crate
//! uses (`BPF_PROG_LOAD`, `BPF_PROG_TEST_RUN`) and the command and type numbers. Field
//! offsets are checked at compile time against the UAPI. The kernel accepts any attribute
//! size up to its own: a shorter struct is zero-extended, so newer kernel fields stay zero.
//!
//! Pointers are carried as `u64` (`__aligned_u64`); only this crate builds these structs,
//! from slices that outlive the syscall.

use std::mem::{offset_of, size_of};

/// `enum bpf_cmd`: `BPF_PROG_LOAD`.
pub const BPF_PROG_LOAD: u32 = 5;
/// `enum bpf_cmd`: `BPF_PROG_TEST_RUN` (alias `BPF_PROG_RUN`).
pub const BPF_PROG_TEST_RUN: u32 = 10;

/// Length of `prog_name` (`BPF_OBJ_NAME_LEN`).
pub const BPF_OBJ_NAME_LEN: usize = 16;

/// The `BPF_PROG_LOAD` member of `union bpf_attr` (up to `fd_array_cnt`, Linux 6.14).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct ProgLoadAttr {
    pub prog_type: u32,
    pub insn_cnt: u32,
    pub insns: u64,
    pub license: u64,
    pub log_level: u32,
    pub log_size: u32,
    pub log_buf: u64,
    pub kern_version: u32,
    pub prog_flags: u32,
    pub prog_name: [u8; BPF_OBJ_NAME_LEN],
    pub prog_ifindex: u32,
    pub expected_attach_type: u32,
    pub prog_btf_fd: u32,
    pub func_info_rec_size: u32,
    pub func_info: u64,
    pub func_info_cnt: u32,
    pub line_info_rec_size: u32,
    pub line_info: u64,
    pub line_info_cnt: u32,
    pub attach_btf_id: u32,
    /// Union with `attach_btf_obj_fd`.
    pub attach_prog_fd: u32,
    pub core_relo_cnt: u32,
    pub fd_array: u64,
    pub core_relos: u64,
    pub core_relo_rec_size: u32,
    /// Output: the full size the log needed, including the terminating zero.
    pub log_true_size: u32,
    pub prog_token_fd: i32,
    pub fd_array_cnt: u32,
}

/// The `test` member of `union bpf_attr` (`BPF_PROG_TEST_RUN`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct TestRunAttr {
    pub prog_fd: u32,
    /// Output: the program's return value.
    pub retval: u32,
    pub data_size_in: u32,
    /// Input: capacity of `data_out`; output: bytes the kernel wanted to write.
    pub data_size_out: u32,
    pub data_in: u64,
    pub data_out: u64,
    pub repeat: u32,
    /// Output: mean run time in nanoseconds.
    pub duration: u32,
    pub ctx_size_in: u32,
    pub ctx_size_out: u32,
    pub ctx_in: u64,
    pub ctx_out: u64,
    pub flags: u32,
    pub cpu: u32,
    pub batch_size: u32,
    /// Explicit tail padding, so that every byte handed to the kernel is initialised.
    pub _pad: u32,
}

// Offsets from include/uapi/linux/bpf.h; a mistake here fails the build, not the kernel call.
const _: () = {
    assert!(offset_of!(ProgLoadAttr, insns) == 8);
    assert!(offset_of!(ProgLoadAttr, license) == 16);
    assert!(offset_of!(ProgLoadAttr, log_level) == 24);
    assert!(offset_of!(ProgLoadAttr, log_buf) == 32);
    assert!(offset_of!(ProgLoadAttr, kern_version) == 40);
    assert!(offset_of!(ProgLoadAttr, prog_name) == 48);
    assert!(offset_of!(ProgLoadAttr, prog_ifindex) == 64);
    assert!(offset_of!(ProgLoadAttr, expected_attach_type) == 68);
    assert!(offset_of!(ProgLoadAttr, func_info) == 80);
    assert!(offset_of!(ProgLoadAttr, line_info) == 96);
    assert!(offset_of!(ProgLoadAttr, attach_btf_id) == 108);
    assert!(offset_of!(ProgLoadAttr, attach_prog_fd) == 112);
    assert!(offset_of!(ProgLoadAttr, fd_array) == 120);
    assert!(offset_of!(ProgLoadAttr, core_relos) == 128);
    assert!(offset_of!(ProgLoadAttr, core_relo_rec_size) == 136);
    assert!(offset_of!(ProgLoadAttr, log_true_size) == 140);
    assert!(offset_of!(ProgLoadAttr, prog_token_fd) == 144);
    assert!(offset_of!(ProgLoadAttr, fd_array_cnt) == 148);
    assert!(size_of::<ProgLoadAttr>() == 152);

    assert!(offset_of!(TestRunAttr, data_size_out) == 12);
    assert!(offset_of!(TestRunAttr, data_in) == 16);
    assert!(offset_of!(TestRunAttr, data_out) == 24);
    assert!(offset_of!(TestRunAttr, repeat) == 32);
    assert!(offset_of!(TestRunAttr, duration) == 36);
    assert!(offset_of!(TestRunAttr, ctx_size_in) == 40);
    assert!(offset_of!(TestRunAttr, ctx_in) == 48);
    assert!(offset_of!(TestRunAttr, ctx_out) == 56);
    assert!(offset_of!(TestRunAttr, flags) == 64);
    assert!(offset_of!(TestRunAttr, batch_size) == 72);
    assert!(size_of::<TestRunAttr>() == 80);
};

/// Types whose bytes may be handed to `bpf()` as an attribute.
///
/// # Safety
/// Implementors must be `#[repr(C)]` plain data with no padding the kernel would read
/// uninitialised and no field whose bit patterns the kernel could make invalid.
pub(crate) unsafe trait Attr: Copy + 'static {}

// SAFETY: repr(C), only integers and a byte array; explicit fields fill every byte.
unsafe impl Attr for ProgLoadAttr {}
// SAFETY: repr(C), only integers; explicit fields (with `_pad`) fill every byte.
unsafe impl Attr for TestRunAttr {}
