//! Register types and abstract register states.
//!
//! Takes nothing; gives [`RegType`] and [`RegState`]. A register is uninitialised, a scalar
//! (its value in [`RegState::var`]), or a pointer: `base(type, id, map, frame) + off + var`,
//! a constant part `off` and a variable part `var` (a scalar).
//!
//! Invariants: for scalars `off == 0`; `id` links copies (null checks and packet ranges reach
//! every register and spilled slot with the same id); `ref_id` names an acquired reference
//! (ringbuf records) that must be released; `range` (packets) counts the bytes known
//! readable from `base + var`.

use std::fmt;

use crate::scalar::Scalar;

/// The kind of value a register holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RegType {
    /// Never written (reading it is "R%d !read_ok").
    NotInit,
    /// A number.
    Scalar,
    /// The context (`PTR_TO_CTX`).
    Ctx,
    /// The stack of frame [`RegState::frame`] (`PTR_TO_STACK`).
    Stack,
    /// Packet metadata start (`PTR_TO_PACKET_META`).
    PacketMeta,
    /// Packet data (`PTR_TO_PACKET`).
    Packet,
    /// Packet end (`PTR_TO_PACKET_END`): compared with, never dereferenced.
    PacketEnd,
    /// A map (`CONST_PTR_TO_MAP`).
    MapPtr,
    /// A map value (`PTR_TO_MAP_VALUE`).
    MapValue,
    /// A map value or NULL (`PTR_TO_MAP_VALUE_OR_NULL`).
    MapValueOrNull,
    /// Memory of [`RegState::mem_size`] bytes (`PTR_TO_MEM`; the raw context).
    Mem,
    /// A ringbuf record (`PTR_TO_MEM | MEM_RINGBUF`), a reference.
    RingbufMem,
    /// A ringbuf record or NULL.
    RingbufMemOrNull,
    /// A subprogram address (`PTR_TO_FUNC`).
    Func,
    /// A key of map [`RegState::map`], read only (`PTR_TO_MAP_KEY`, callback argument).
    MapKey,
    /// A full socket, `struct bpf_sock` read only (`PTR_TO_SOCKET`).
    Sock,
    /// A full socket or NULL (`PTR_TO_SOCKET_OR_NULL`).
    SockOrNull,
    /// A socket's common part, `struct bpf_sock` up to `dst_ip6` read only
    /// (`PTR_TO_SOCK_COMMON`).
    SockCommon,
    /// A socket's common part or NULL (`PTR_TO_SOCK_COMMON_OR_NULL`).
    SockCommonOrNull,
    /// A TCP socket, `struct bpf_tcp_sock` read only (`PTR_TO_TCP_SOCK`).
    TcpSock,
    /// A TCP socket or NULL (`PTR_TO_TCP_SOCK_OR_NULL`).
    TcpSockOrNull,
    /// A pointer to the kernel struct whose BTF id is [`RegState::map`] in the target BTF
    /// (`PTR_TO_BTF_ID`, untrusted: loads through it are probe loads, so it may be NULL
    /// and needs no check); read only. See [`crate::btf_ctx`].
    BtfPtr,
}

impl RegType {
    /// The kernel's name (`reg_type_str`).
    pub fn name(self) -> &'static str {
        match self {
            RegType::NotInit => "?",
            RegType::Scalar => "scalar",
            RegType::Ctx => "ctx",
            RegType::Stack => "fp",
            RegType::PacketMeta => "pkt_meta",
            RegType::Packet => "pkt",
            RegType::PacketEnd => "pkt_end",
            RegType::MapPtr => "map_ptr",
            RegType::MapValue => "map_value",
            RegType::MapValueOrNull => "map_value_or_null",
            RegType::Mem => "mem",
            RegType::RingbufMem => "ringbuf_mem",
            RegType::RingbufMemOrNull => "ringbuf_mem_or_null",
            RegType::Func => "func",
            RegType::MapKey => "map_key",
            RegType::Sock => "sock",
            RegType::SockOrNull => "sock_or_null",
            RegType::SockCommon => "sock_common",
            RegType::SockCommonOrNull => "sock_common_or_null",
            RegType::TcpSock => "tcp_sock",
            RegType::TcpSockOrNull => "tcp_sock_or_null",
            RegType::BtfPtr => "ptr_",
        }
    }

    /// Whether the register may be NULL.
    pub fn maybe_null(self) -> bool {
        matches!(
            self,
            RegType::MapValueOrNull
                | RegType::RingbufMemOrNull
                | RegType::SockOrNull
                | RegType::SockCommonOrNull
                | RegType::TcpSockOrNull
        )
    }

    /// Whether it points to a socket (`struct bpf_sock` or `struct bpf_tcp_sock`), never NULL.
    pub fn is_sock(self) -> bool {
        matches!(self, RegType::Sock | RegType::SockCommon | RegType::TcpSock)
    }

    /// Whether it is a pointer (neither scalar nor uninitialised).
    pub fn is_pointer(self) -> bool {
        !matches!(self, RegType::NotInit | RegType::Scalar)
    }

    /// The non-null type a successful null check gives.
    pub fn non_null(self) -> RegType {
        match self {
            RegType::MapValueOrNull => RegType::MapValue,
            RegType::RingbufMemOrNull => RegType::RingbufMem,
            RegType::SockOrNull => RegType::Sock,
            RegType::SockCommonOrNull => RegType::SockCommon,
            RegType::TcpSockOrNull => RegType::TcpSock,
            t => t,
        }
    }
}

/// The abstract state of one register.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct RegState {
    /// Kind.
    pub ty: RegType,
    /// Constant offset of a pointer.
    pub off: i64,
    /// Value of a scalar; variable offset of a pointer.
    pub var: Scalar,
    /// Identity shared by copies (0: none).
    pub id: u32,
    /// Reference this pointer holds (0: none).
    pub ref_id: u32,
    /// Map index for map pointers and values; the BTF type id for [`RegType::BtfPtr`].
    pub map: u32,
    /// Readable bytes from `base + var` for packet pointers.
    pub range: i64,
    /// Size of `Mem` and ringbuf memory.
    pub mem_size: u64,
    /// Frame of a stack pointer.
    pub frame: u8,
    /// For a scalar linked to others by `id`: its value is the linked base value plus this
    /// constant (the kernel's `BPF_ADD_CONST` links, from `rX += const` on a copy).
    pub delta: i64,
}

impl RegState {
    /// An uninitialised register.
    pub fn not_init() -> RegState {
        RegState {
            ty: RegType::NotInit,
            off: 0,
            var: Scalar::konst(0),
            id: 0,
            ref_id: 0,
            map: 0,
            range: 0,
            mem_size: 0,
            frame: 0,
            delta: 0,
        }
    }

    /// A scalar with abstract value `var`.
    pub fn scalar(var: Scalar) -> RegState {
        RegState {
            ty: RegType::Scalar,
            var,
            ..RegState::not_init()
        }
    }

    /// An unknown scalar.
    pub fn unknown() -> RegState {
        RegState::scalar(Scalar::unknown())
    }

    /// A pointer of type `ty` with offset 0.
    pub fn pointer(ty: RegType) -> RegState {
        RegState {
            ty,
            ..RegState::not_init()
        }
    }

    /// Whether it is a scalar.
    pub fn is_scalar(&self) -> bool {
        self.ty == RegType::Scalar
    }

    /// The constant value of a scalar.
    pub fn konst(&self) -> Option<u64> {
        if self.is_scalar() {
            self.var.as_const()
        } else {
            None
        }
    }
}

impl fmt::Debug for RegState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for RegState {
    /// In the kernel's log style: `scalar(umax=255,var_off=(0x0; 0xff))`, `fp-8`,
    /// `pkt(off=14,r=14)`, `map_value(map=0,off=0)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.ty {
            RegType::NotInit => write!(f, "?"),
            RegType::Scalar => match self.var.as_const() {
                Some(_) => write!(f, "{}", self.var),
                None => write!(f, "scalar({})", self.var),
            },
            RegType::Stack if self.var.as_const() == Some(0) => {
                write!(f, "fp{}", self.off)
            }
            ty => {
                let mut parts = Vec::new();
                if self.id != 0 {
                    parts.push(format!("id={}", self.id));
                }
                if self.ref_id != 0 {
                    parts.push(format!("ref_obj_id={}", self.ref_id));
                }
                if matches!(
                    ty,
                    RegType::MapPtr | RegType::MapValue | RegType::MapValueOrNull | RegType::MapKey
                ) {
                    parts.push(format!("map={}", self.map));
                }
                if self.off != 0 || matches!(ty, RegType::Packet | RegType::PacketMeta) {
                    parts.push(format!("off={}", self.off));
                }
                if matches!(ty, RegType::Packet | RegType::PacketMeta) {
                    parts.push(format!("r={}", self.range));
                }
                if matches!(
                    ty,
                    RegType::Mem | RegType::RingbufMem | RegType::RingbufMemOrNull
                ) {
                    parts.push(format!("sz={}", self.mem_size));
                }
                if self.var.as_const() != Some(0) {
                    parts.push(format!("{}", self.var));
                }
                if ty == RegType::Stack {
                    write!(f, "fp[{}]({})", self.frame, parts.join(","))
                } else {
                    write!(f, "{}({})", ty.name(), parts.join(","))
                }
            }
        }
    }
}
