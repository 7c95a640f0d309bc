//! The socket-buffer context: UAPI `struct __sk_buff` and its runtime layout, for
//! socket_filter, sched_cls / sched_act (tc) and cgroup_skb programs.
//!
//! Takes nothing; gives the UAPI offsets (checked against the kernel's BTF in the tests),
//! the access rules of `bpf_skb_is_valid_access` with the per-type rules of
//! `sk_filter_is_valid_access`, `tc_cls_act_is_valid_access` and `cg_skb_is_valid_access`,
//! and [`SkbRuntime`], the typed view of a runtime context.
//!
//! Runtime layout (216 bytes): bytes 0..192 are an image of `__sk_buff` holding the values
//! the program reads (the role of the kernel's `sk_buff`), then the real pointers:
//! `data` at 192, `data_end` at 200, `data_meta` at 208. A 4-byte read of `__sk_buff.data`
//! becomes an 8-byte load at 192; every other field is read where the UAPI puts it. As in
//! the kernel, fields narrower in the kernel than in the UAPI (`protocol`, `tc_index`, ...)
//! read the whole kernel field when the access is at least as wide as it, and 4-byte stores
//! into 16-bit kernel fields store 2 bytes.

use userbpf_isa::MemSize;

use super::{get_u32, get_u64, put_u32, put_u64, Direction, FieldAccess, ProgType};

/// `offsetof(struct __sk_buff, len)`.
pub const LEN: i64 = 0;
/// `pkt_type`.
pub const PKT_TYPE: i64 = 4;
/// `mark`.
pub const MARK: i64 = 8;
/// `queue_mapping`.
pub const QUEUE_MAPPING: i64 = 12;
/// `protocol`.
pub const PROTOCOL: i64 = 16;
/// `vlan_present`.
pub const VLAN_PRESENT: i64 = 20;
/// `vlan_tci`.
pub const VLAN_TCI: i64 = 24;
/// `vlan_proto`.
pub const VLAN_PROTO: i64 = 28;
/// `priority`.
pub const PRIORITY: i64 = 32;
/// `ingress_ifindex`.
pub const INGRESS_IFINDEX: i64 = 36;
/// `ifindex`.
pub const IFINDEX: i64 = 40;
/// `tc_index`.
pub const TC_INDEX: i64 = 44;
/// `cb[0]` (five `u32`).
pub const CB: i64 = 48;
/// `hash`.
pub const HASH: i64 = 68;
/// `tc_classid`.
pub const TC_CLASSID: i64 = 72;
/// `data`.
pub const DATA: i64 = 76;
/// `data_end`.
pub const DATA_END: i64 = 80;
/// `napi_id`.
pub const NAPI_ID: i64 = 84;
/// `family`.
pub const FAMILY: i64 = 88;
/// `remote_ip4`.
pub const REMOTE_IP4: i64 = 92;
/// `local_ip4`.
pub const LOCAL_IP4: i64 = 96;
/// `remote_ip6[0]` (four `u32`).
pub const REMOTE_IP6: i64 = 100;
/// `local_ip6[0]` (four `u32`).
pub const LOCAL_IP6: i64 = 116;
/// `remote_port`.
pub const REMOTE_PORT: i64 = 132;
/// `local_port`.
pub const LOCAL_PORT: i64 = 136;
/// `data_meta`.
pub const DATA_META: i64 = 140;
/// `flow_keys` (pointer, 8 bytes).
pub const FLOW_KEYS: i64 = 144;
/// `tstamp` (u64).
pub const TSTAMP: i64 = 152;
/// `wire_len`.
pub const WIRE_LEN: i64 = 160;
/// `gso_segs`.
pub const GSO_SEGS: i64 = 164;
/// `sk` (pointer, 8 bytes).
pub const SK: i64 = 168;
/// `gso_size`.
pub const GSO_SIZE: i64 = 176;
/// `tstamp_type` (u8).
pub const TSTAMP_TYPE: i64 = 180;
/// `hwtstamp` (u64).
pub const HWTSTAMP: i64 = 184;
/// `sizeof(struct __sk_buff)`.
pub const SK_BUFF_SIZE: usize = 192;

/// Runtime offset of the `data` pointer.
pub const RT_DATA: usize = 192;
/// Runtime offset of the `data_end` pointer.
pub const RT_DATA_END: usize = 200;
/// Runtime offset of the `data_meta` pointer.
pub const RT_DATA_META: usize = 208;
/// Size of the runtime context.
pub const RUNTIME_SIZE: usize = 216;

/// Every `__sk_buff` field: name, offset, size.
pub const FIELDS: &[(&str, i64, usize)] = &[
    ("len", LEN, 4),
    ("pkt_type", PKT_TYPE, 4),
    ("mark", MARK, 4),
    ("queue_mapping", QUEUE_MAPPING, 4),
    ("protocol", PROTOCOL, 4),
    ("vlan_present", VLAN_PRESENT, 4),
    ("vlan_tci", VLAN_TCI, 4),
    ("vlan_proto", VLAN_PROTO, 4),
    ("priority", PRIORITY, 4),
    ("ingress_ifindex", INGRESS_IFINDEX, 4),
    ("ifindex", IFINDEX, 4),
    ("tc_index", TC_INDEX, 4),
    ("cb", CB, 20),
    ("hash", HASH, 4),
    ("tc_classid", TC_CLASSID, 4),
    ("data", DATA, 4),
    ("data_end", DATA_END, 4),
    ("napi_id", NAPI_ID, 4),
    ("family", FAMILY, 4),
    ("remote_ip4", REMOTE_IP4, 4),
    ("local_ip4", LOCAL_IP4, 4),
    ("remote_ip6", REMOTE_IP6, 16),
    ("local_ip6", LOCAL_IP6, 16),
    ("remote_port", REMOTE_PORT, 4),
    ("local_port", LOCAL_PORT, 4),
    ("data_meta", DATA_META, 4),
    ("flow_keys", FLOW_KEYS, 8),
    ("tstamp", TSTAMP, 8),
    ("wire_len", WIRE_LEN, 4),
    ("gso_segs", GSO_SEGS, 4),
    ("sk", SK, 8),
    ("gso_size", GSO_SIZE, 4),
    ("tstamp_type", TSTAMP_TYPE, 1),
    ("hwtstamp", HWTSTAMP, 8),
];

/// The field containing byte `off`: (name, start, size).
pub fn field_at(off: i64) -> Option<(&'static str, i64, usize)> {
    FIELDS
        .iter()
        .copied()
        .find(|&(_, start, size)| off >= start && off < start + size as i64)
}

/// Width of the kernel field behind a `u32` UAPI field, when narrower (`target_size`).
fn target_size(start: i64) -> usize {
    match start {
        PKT_TYPE | VLAN_PRESENT => 1,
        QUEUE_MAPPING | PROTOCOL | VLAN_TCI | VLAN_PROTO | TC_INDEX | TC_CLASSID | FAMILY
        | GSO_SEGS => 2,
        _ => 4,
    }
}

fn in_range(off: i64, start: i64, size: usize) -> bool {
    off >= start && off < start + size as i64
}

/// `bpf_skb_is_valid_access`.
fn common_valid(off: i64, size: usize, dir: Direction) -> bool {
    if !(0..SK_BUFF_SIZE as i64).contains(&off) || off % size as i64 != 0 {
        return false;
    }
    if in_range(off, CB, 20) {
        return off + size as i64 <= CB + 20;
    }
    if in_range(off, REMOTE_IP6, 16)
        || in_range(off, LOCAL_IP6, 16)
        || in_range(off, REMOTE_IP4, 4)
        || in_range(off, LOCAL_IP4, 4)
        || in_range(off, DATA, 4)
        || in_range(off, DATA_META, 4)
        || in_range(off, DATA_END, 4)
    {
        return size == 4;
    }
    if in_range(off, FLOW_KEYS, 8) {
        return false;
    }
    if in_range(off, HWTSTAMP, 8) {
        return dir == Direction::Read && size == 8;
    }
    if in_range(off, TSTAMP, 8) {
        return size == 8;
    }
    if in_range(off, SK, 8) {
        return off == SK && dir == Direction::Read && size == 8;
    }
    if off == TSTAMP_TYPE || (TSTAMP_TYPE + 1..HWTSTAMP).contains(&off) {
        return false;
    }
    match dir {
        Direction::Write => size == 4,
        // bpf_ctx_narrow_access_ok: a power of two no wider than the field.
        Direction::Read => size <= 4,
    }
}

/// The per-type rules (`sk_filter_`, `tc_cls_act_`, `cg_skb_is_valid_access`).
fn type_valid(t: ProgType, off: i64, size: usize, dir: Direction) -> bool {
    let r = |start: i64, len: usize| in_range(off, start, len);
    let family_to_local_port = (FAMILY..LOCAL_PORT + 4).contains(&off);
    match t {
        ProgType::SocketFilter => {
            if r(TC_CLASSID, 4)
                || r(DATA, 4)
                || r(DATA_META, 4)
                || r(DATA_END, 4)
                || family_to_local_port
                || r(TSTAMP, 8)
                || r(WIRE_LEN, 4)
                || r(HWTSTAMP, 8)
            {
                return false;
            }
            if dir == Direction::Write && !r(CB, 20) {
                return false;
            }
        }
        ProgType::CgroupSkb => {
            if r(TC_CLASSID, 4) || r(DATA_META, 4) || r(WIRE_LEN, 4) {
                return false;
            }
            if dir == Direction::Write
                && !(r(MARK, 4) || r(PRIORITY, 4) || r(CB, 20) || r(TSTAMP, 8))
            {
                return false;
            }
        }
        _ => {
            if dir == Direction::Write
                && !(r(MARK, 4)
                    || r(TC_INDEX, 4)
                    || r(PRIORITY, 4)
                    || r(TC_CLASSID, 4)
                    || r(CB, 20)
                    || r(TSTAMP, 8)
                    || r(QUEUE_MAPPING, 4))
            {
                return false;
            }
            if family_to_local_port {
                return false;
            }
            if off == TSTAMP_TYPE {
                return dir == Direction::Read && size == 1;
            }
        }
    }
    common_valid(off, size, dir)
}

/// Check and map one access for an skb program type.
pub(super) fn access(t: ProgType, off: i64, size: MemSize, dir: Direction) -> Option<FieldAccess> {
    let n = size.bytes();
    if !type_valid(t, off, n, dir) {
        return None;
    }
    let (_, start, _) = field_at(off)?;
    Some(match (start, dir) {
        // No socket in user space: NULL (8-byte reads only, `common_valid`).
        (SK, _) => FieldAccess::Null,
        (DATA, _) => FieldAccess::Pointer {
            off: RT_DATA as i16,
        },
        (DATA_END, _) => FieldAccess::Pointer {
            off: RT_DATA_END as i16,
        },
        (DATA_META, _) => FieldAccess::Pointer {
            off: RT_DATA_META as i16,
        },
        (QUEUE_MAPPING, Direction::Write) => FieldAccess::QueueMapping {
            off: QUEUE_MAPPING as i16,
        },
        (TC_INDEX | TC_CLASSID, Direction::Write) => FieldAccess::Store16 { off: start as i16 },
        (_, Direction::Read) if target_size(start) < 4 && n >= target_size(start) => {
            // The kernel loads the whole (narrower) kernel field at its start.
            FieldAccess::Same { off: start as i16 }
        }
        _ => FieldAccess::Same { off: off as i16 },
    })
}

/// The values of a runtime `__sk_buff` context: the UAPI image and the pointers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SkbRuntime {
    /// The `__sk_buff` image the program reads (pointer fields zero).
    pub image: [u8; SK_BUFF_SIZE],
    /// Packet start.
    pub data: u64,
    /// End of the linear packet data.
    pub data_end: u64,
    /// Metadata start (`== data`: test runs have none).
    pub data_meta: u64,
}

impl Default for SkbRuntime {
    fn default() -> Self {
        SkbRuntime {
            image: [0; SK_BUFF_SIZE],
            data: 0,
            data_end: 0,
            data_meta: 0,
        }
    }
}

impl SkbRuntime {
    /// A `u32` field of the image.
    pub fn get(&self, off: i64) -> u32 {
        get_u32(&self.image, off as usize)
    }

    /// Set a `u32` field of the image.
    pub fn set(&mut self, off: i64, v: u32) {
        put_u32(&mut self.image, off as usize, v);
    }

    /// A `u64` field of the image.
    pub fn get64(&self, off: i64) -> u64 {
        get_u64(&self.image, off as usize)
    }

    /// Set a `u64` field of the image.
    pub fn set64(&mut self, off: i64, v: u64) {
        put_u64(&mut self.image, off as usize, v);
    }

    /// Encode as the runtime layout.
    pub fn to_bytes(&self) -> [u8; RUNTIME_SIZE] {
        let mut b = [0u8; RUNTIME_SIZE];
        b[..SK_BUFF_SIZE].copy_from_slice(&self.image);
        put_u64(&mut b, RT_DATA, self.data);
        put_u64(&mut b, RT_DATA_END, self.data_end);
        put_u64(&mut b, RT_DATA_META, self.data_meta);
        b
    }

    /// Decode the runtime layout (`b` must hold at least [`RUNTIME_SIZE`] bytes).
    pub fn from_bytes(b: &[u8]) -> SkbRuntime {
        let mut image = [0u8; SK_BUFF_SIZE];
        image.copy_from_slice(&b[..SK_BUFF_SIZE]);
        SkbRuntime {
            image,
            data: get_u64(b, RT_DATA),
            data_end: get_u64(b, RT_DATA_END),
            data_meta: get_u64(b, RT_DATA_META),
        }
    }
}

/// Which bytes of the runtime context `t` may store to (by the access rules), for the
/// memory regions of a run.
pub fn writable_bytes(t: ProgType) -> [bool; RUNTIME_SIZE] {
    let mut w = [false; RUNTIME_SIZE];
    for (i, byte) in w.iter_mut().enumerate().take(SK_BUFF_SIZE) {
        let off = i as i64;
        let start = off - off % 4;
        *byte = type_valid(t, start, 4, Direction::Write)
            || type_valid(t, off - off % 8, 8, Direction::Write);
    }
    w
}
