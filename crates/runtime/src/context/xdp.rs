//! The XDP context: UAPI `struct xdp_md` and its runtime layout.
//!
//! Takes nothing; gives the UAPI offsets, the runtime layout (the role of the kernel's
//! `struct xdp_buff`), the access rules of `xdp_is_valid_access` and [`XdpRuntime`], the
//! typed view of a runtime context the test runner and the `bpf_xdp_adjust_*` helpers use.
//!
//! Runtime layout (64 bytes):
//!
//! | offset | field                                   |
//! |--------|-----------------------------------------|
//! | 0..24  | image of `xdp_md` (ifindex, queue read here) |
//! | 24     | `data` (u64 pointer)                    |
//! | 32     | `data_end` (u64 pointer)                |
//! | 40     | `data_meta` (u64 pointer)               |
//! | 48     | `data_hard_start` (u64 pointer)         |
//! | 56     | `frame_sz` (u64)                        |
//!
//! All `xdp_md` accesses are 4-byte reads; `data`, `data_end` and `data_meta` become 8-byte
//! loads of the pointers; `egress_ifindex` is only for devmap programs and refused here.

use userbpf_isa::MemSize;

use super::{get_u64, put_u32, put_u64, Direction, FieldAccess};

/// `offsetof(struct xdp_md, data)`.
pub const MD_DATA: i64 = 0;
/// `offsetof(struct xdp_md, data_end)`.
pub const MD_DATA_END: i64 = 4;
/// `offsetof(struct xdp_md, data_meta)`.
pub const MD_DATA_META: i64 = 8;
/// `offsetof(struct xdp_md, ingress_ifindex)`.
pub const MD_INGRESS_IFINDEX: i64 = 12;
/// `offsetof(struct xdp_md, rx_queue_index)`.
pub const MD_RX_QUEUE_INDEX: i64 = 16;
/// `offsetof(struct xdp_md, egress_ifindex)`.
pub const MD_EGRESS_IFINDEX: i64 = 20;
/// `sizeof(struct xdp_md)`.
pub const MD_SIZE: usize = 24;

/// Runtime offset of the `data` pointer.
pub const RT_DATA: usize = 24;
/// Runtime offset of the `data_end` pointer.
pub const RT_DATA_END: usize = 32;
/// Runtime offset of the `data_meta` pointer.
pub const RT_DATA_META: usize = 40;
/// Runtime offset of `data_hard_start`.
pub const RT_HARD_START: usize = 48;
/// Runtime offset of `frame_sz`.
pub const RT_FRAME_SZ: usize = 56;
/// Size of the runtime context.
pub const RUNTIME_SIZE: usize = 64;

/// `XDP_PACKET_HEADROOM`.
pub const XDP_PACKET_HEADROOM: usize = 256;
/// `sizeof(struct xdp_frame)` on x86-64, kept free at the start of the headroom.
pub const XDP_FRAME_SIZE: usize = 40;
/// `SKB_DATA_ALIGN(sizeof(struct skb_shared_info))` on x86-64: the tailroom.
pub const SHARED_INFO_SIZE: usize = 320;
/// `PAGE_SIZE`: the frame size of test runs.
pub const PAGE_SIZE: usize = 4096;
/// Largest metadata the kernel accepts (`type_max(skb_shared_info.meta_len)`).
pub const MAX_META_LEN: u64 = 255;

/// `XDP_ABORTED`.
pub const XDP_ABORTED: u64 = 0;
/// `XDP_REDIRECT`.
pub const XDP_REDIRECT: u64 = 4;

/// The access rules of the kernel's `xdp_is_valid_access` for a non-devmap program.
pub(super) fn access(off: i64, size: MemSize, dir: Direction) -> Option<FieldAccess> {
    if dir == Direction::Write || off == MD_EGRESS_IFINDEX {
        return None;
    }
    if !(0..MD_SIZE as i64).contains(&off) || off % 4 != 0 || size != MemSize::W {
        return None;
    }
    Some(match off {
        MD_DATA => FieldAccess::Pointer {
            off: RT_DATA as i16,
        },
        MD_DATA_END => FieldAccess::Pointer {
            off: RT_DATA_END as i16,
        },
        MD_DATA_META => FieldAccess::Pointer {
            off: RT_DATA_META as i16,
        },
        _ => FieldAccess::Same { off: off as i16 },
    })
}

/// The values of a runtime XDP context.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct XdpRuntime {
    /// Start of the packet.
    pub data: u64,
    /// End of the packet.
    pub data_end: u64,
    /// Start of the metadata (`== data` when there is none).
    pub data_meta: u64,
    /// Start of the frame (headroom included).
    pub data_hard_start: u64,
    /// Frame size (headroom, packet and tailroom).
    pub frame_sz: u64,
    /// `xdp_md.ingress_ifindex`.
    pub ingress_ifindex: u32,
    /// `xdp_md.rx_queue_index`.
    pub rx_queue_index: u32,
}

impl XdpRuntime {
    /// Encode as the runtime layout.
    pub fn to_bytes(&self) -> [u8; RUNTIME_SIZE] {
        let mut b = [0u8; RUNTIME_SIZE];
        put_u32(&mut b, MD_INGRESS_IFINDEX as usize, self.ingress_ifindex);
        put_u32(&mut b, MD_RX_QUEUE_INDEX as usize, self.rx_queue_index);
        put_u64(&mut b, RT_DATA, self.data);
        put_u64(&mut b, RT_DATA_END, self.data_end);
        put_u64(&mut b, RT_DATA_META, self.data_meta);
        put_u64(&mut b, RT_HARD_START, self.data_hard_start);
        put_u64(&mut b, RT_FRAME_SZ, self.frame_sz);
        b
    }

    /// Decode the runtime layout (`bytes` must hold at least [`RUNTIME_SIZE`] bytes).
    pub fn from_bytes(b: &[u8]) -> XdpRuntime {
        XdpRuntime {
            data: get_u64(b, RT_DATA),
            data_end: get_u64(b, RT_DATA_END),
            data_meta: get_u64(b, RT_DATA_META),
            data_hard_start: get_u64(b, RT_HARD_START),
            frame_sz: get_u64(b, RT_FRAME_SZ),
            ingress_ifindex: super::get_u32(b, MD_INGRESS_IFINDEX as usize),
            rx_queue_index: super::get_u32(b, MD_RX_QUEUE_INDEX as usize),
        }
    }

    /// `xdp_data_hard_end()`: the end of the area the packet may grow into.
    pub fn hard_end(&self) -> u64 {
        self.data_hard_start + self.frame_sz - SHARED_INFO_SIZE as u64
    }
}
