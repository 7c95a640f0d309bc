//! Raw `union bpf_attr` layouts, as in the kernel UAPI (`include/uapi/linux/bpf.h`).
//!
//! Takes nothing; gives `#[repr(C)]` structs for the members of `union bpf_attr` this crate
//! uses (`BPF_MAP_CREATE`, the `BPF_MAP_*_ELEM` commands, `BPF_MAP_FREEZE`, `BPF_PROG_LOAD`,
//! `BPF_PROG_TEST_RUN`, `BPF_OBJ_GET_INFO_BY_FD`) and the command and type numbers. Field
//! offsets are checked at compile time against the UAPI. The kernel accepts any attribute
//! size up to its own: a shorter struct is zero-extended, so newer kernel fields stay zero.
//!
//! Pointers are carried as `u64` (`__aligned_u64`); only this crate builds these structs,
//! from slices that outlive the syscall.

use std::mem::{offset_of, size_of};

/// `enum bpf_cmd`: `BPF_MAP_CREATE`.
pub const BPF_MAP_CREATE: u32 = 0;
/// `enum bpf_cmd`: `BPF_MAP_LOOKUP_ELEM`.
pub const BPF_MAP_LOOKUP_ELEM: u32 = 1;
/// `enum bpf_cmd`: `BPF_MAP_UPDATE_ELEM`.
pub const BPF_MAP_UPDATE_ELEM: u32 = 2;
/// `enum bpf_cmd`: `BPF_MAP_DELETE_ELEM`.
pub const BPF_MAP_DELETE_ELEM: u32 = 3;
/// `enum bpf_cmd`: `BPF_MAP_GET_NEXT_KEY`.
pub const BPF_MAP_GET_NEXT_KEY: u32 = 4;
/// `enum bpf_cmd`: `BPF_OBJ_GET_INFO_BY_FD`.
pub const BPF_OBJ_GET_INFO_BY_FD: u32 = 15;
/// `enum bpf_cmd`: `BPF_BTF_LOAD`.
pub const BPF_BTF_LOAD: u32 = 18;
/// `enum bpf_cmd`: `BPF_MAP_LOOKUP_AND_DELETE_ELEM`.
pub const BPF_MAP_LOOKUP_AND_DELETE_ELEM: u32 = 21;
/// `enum bpf_cmd`: `BPF_MAP_FREEZE`.
pub const BPF_MAP_FREEZE: u32 = 22;
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

/// The `BPF_MAP_CREATE` member of `union bpf_attr` (up to `map_token_fd`, Linux 6.9).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct MapCreateAttr {
    pub map_type: u32,
    pub key_size: u32,
    pub value_size: u32,
    pub max_entries: u32,
    pub map_flags: u32,
    pub inner_map_fd: u32,
    pub numa_node: u32,
    pub map_name: [u8; BPF_OBJ_NAME_LEN],
    pub map_ifindex: u32,
    pub btf_fd: u32,
    pub btf_key_type_id: u32,
    pub btf_value_type_id: u32,
    pub btf_vmlinux_value_type_id: u32,
    pub map_extra: u64,
    pub value_type_btf_obj_fd: i32,
    pub map_token_fd: i32,
}

/// The member of `union bpf_attr` shared by the `BPF_MAP_*_ELEM` commands,
/// `BPF_MAP_GET_NEXT_KEY` (`value` is `next_key`) and `BPF_MAP_FREEZE` (only `map_fd`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct MapElemAttr {
    pub map_fd: u32,
    /// Explicit padding before the 8-byte aligned `key`.
    pub _pad: u32,
    pub key: u64,
    /// Union with `next_key`.
    pub value: u64,
    pub flags: u64,
}

/// The `info` member of `union bpf_attr` (`BPF_OBJ_GET_INFO_BY_FD`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct ObjInfoAttr {
    pub bpf_fd: u32,
    /// Input: capacity of `info`; output: bytes written.
    pub info_len: u32,
    pub info: u64,
}

/// The first two fields shared by `struct bpf_map_info` and `struct bpf_prog_info`; the
/// kernel copies at most `info_len` bytes, so asking for these 8 is enough for the id.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct InfoHead {
    /// `type`: the map or program type.
    pub kind: u32,
    /// `id`: the object's global id.
    pub id: u32,
}

/// The `BPF_BTF_LOAD` member of `union bpf_attr` (up to `btf_token_fd`, Linux 6.9).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct BtfLoadAttr {
    pub btf: u64,
    pub btf_log_buf: u64,
    pub btf_size: u32,
    pub btf_log_size: u32,
    pub btf_log_level: u32,
    /// Output: the full size the log needed.
    pub btf_log_true_size: u32,
    pub btf_flags: u32,
    pub btf_token_fd: i32,
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

    assert!(offset_of!(MapCreateAttr, inner_map_fd) == 20);
    assert!(offset_of!(MapCreateAttr, numa_node) == 24);
    assert!(offset_of!(MapCreateAttr, map_name) == 28);
    assert!(offset_of!(MapCreateAttr, map_ifindex) == 44);
    assert!(offset_of!(MapCreateAttr, btf_fd) == 48);
    assert!(offset_of!(MapCreateAttr, btf_vmlinux_value_type_id) == 60);
    assert!(offset_of!(MapCreateAttr, map_extra) == 64);
    assert!(offset_of!(MapCreateAttr, value_type_btf_obj_fd) == 72);
    assert!(offset_of!(MapCreateAttr, map_token_fd) == 76);
    assert!(size_of::<MapCreateAttr>() == 80);

    assert!(offset_of!(MapElemAttr, key) == 8);
    assert!(offset_of!(MapElemAttr, value) == 16);
    assert!(offset_of!(MapElemAttr, flags) == 24);
    assert!(size_of::<MapElemAttr>() == 32);

    assert!(offset_of!(BtfLoadAttr, btf_log_buf) == 8);
    assert!(offset_of!(BtfLoadAttr, btf_size) == 16);
    assert!(offset_of!(BtfLoadAttr, btf_log_level) == 24);
    assert!(offset_of!(BtfLoadAttr, btf_log_true_size) == 28);
    assert!(offset_of!(BtfLoadAttr, btf_flags) == 32);
    assert!(offset_of!(BtfLoadAttr, btf_token_fd) == 36);
    assert!(size_of::<BtfLoadAttr>() == 40);

    assert!(offset_of!(ObjInfoAttr, info_len) == 4);
    assert!(offset_of!(ObjInfoAttr, info) == 8);
    assert!(size_of::<ObjInfoAttr>() == 16);
    assert!(offset_of!(InfoHead, id) == 4);

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
// SAFETY: repr(C), integers and a byte array; 80 bytes of fields, no implicit padding
// (checked above: map_extra sits at 64, right after five u32s from 44).
unsafe impl Attr for MapCreateAttr {}
// SAFETY: repr(C), only integers; `_pad` fills the gap before `key`.
unsafe impl Attr for MapElemAttr {}
// SAFETY: repr(C), only integers, no padding (16 bytes of fields).
unsafe impl Attr for ObjInfoAttr {}
// SAFETY: repr(C), only integers, no padding (40 bytes of fields).
unsafe impl Attr for BtfLoadAttr {}
