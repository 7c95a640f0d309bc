//! Table-driven verifier suite: each case is a program in LLVM assembly with the expected
//! verdict (and message substring), checked on our verifier and, where bpf() works, against
//! the running kernel's verdict (privileged BPF_PROG_LOAD).
//!
//! Known differences from the kernel, by reason (cases marked `Diff`):
//! - uninit-stack: the kernel lets programs with CAP_PERFMON read uninitialised stack
//!   (`allow_uninit_stack`); userbpf rejects such reads by default (`Options::allow_uninit_stack`
//!   restores the kernel's behaviour; the case is re-checked with it set).
//! - maps (`Skip`): cases using maps run with our own `MapInfo` and are not loaded into the
//!   kernel until the loader creates real maps.
//! - raw: the `Raw` program type has no kernel counterpart.

mod common;

use common::{kernel, run};
use userbpf_verifier::{map_type, MapInfo, Options, ProgType};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum K {
    Same,
    Skip,
    Diff(&'static str),
}

struct Case {
    name: &'static str,
    pt: ProgType,
    expect: Option<&'static str>,
    kernel: K,
    code: &'static str,
}

const XDP: ProgType = ProgType::Xdp;
const SK: ProgType = ProgType::SocketFilter;
const TC: ProgType = ProgType::SchedCls;
const RAW: ProgType = ProgType::Raw { size: 64 };

macro_rules! ok {
    ($n:expr, $pt:expr, $c:expr) => {
        Case {
            name: $n,
            pt: $pt,
            expect: None,
            kernel: K::Same,
            code: $c,
        }
    };
    ($n:expr, $pt:expr, $c:expr, $k:expr) => {
        Case {
            name: $n,
            pt: $pt,
            expect: None,
            kernel: $k,
            code: $c,
        }
    };
}
macro_rules! err {
    ($n:expr, $pt:expr, $m:expr, $c:expr) => {
        Case {
            name: $n,
            pt: $pt,
            expect: Some($m),
            kernel: K::Same,
            code: $c,
        }
    };
    ($n:expr, $pt:expr, $m:expr, $c:expr, $k:expr) => {
        Case {
            name: $n,
            pt: $pt,
            expect: Some($m),
            kernel: $k,
            code: $c,
        }
    };
}

const MAPS: &[MapInfo] = &[
    MapInfo {
        map_type: map_type::HASH,
        key_size: 4,
        value_size: 8,
        max_entries: 16,
        flags: 0,
        fd: Some(1),
        inner_map: None,
        frozen: None,
    },
    MapInfo {
        map_type: map_type::ARRAY,
        key_size: 4,
        value_size: 16,
        max_entries: 4,
        flags: 0,
        fd: Some(2),
        inner_map: None,
        frozen: None,
    },
    MapInfo {
        map_type: map_type::RINGBUF,
        key_size: 0,
        value_size: 0,
        max_entries: 4096,
        flags: 0,
        fd: Some(3),
        inner_map: None,
        frozen: None,
    },
    MapInfo {
        map_type: map_type::ARRAY,
        key_size: 4,
        value_size: 8,
        max_entries: 1,
        flags: userbpf_verifier::input::BPF_F_RDONLY_PROG,
        fd: Some(4),
        inner_map: None,
        frozen: None,
    },
    MapInfo {
        map_type: map_type::PROG_ARRAY,
        key_size: 4,
        value_size: 4,
        max_entries: 4,
        flags: 0,
        fd: Some(5),
        inner_map: None,
        frozen: None,
    },
    MapInfo {
        map_type: map_type::ARRAY,
        key_size: 4,
        value_size: 8,
        max_entries: 1,
        flags: userbpf_verifier::input::BPF_F_WRONLY_PROG,
        fd: Some(6),
        inner_map: None,
        frozen: None,
    },
];

fn cases() -> Vec<Case> {
    vec![
        // ---- basics, registers, CFG ----
        ok!("return constant", XDP, "r0 = 2\nexit"),
        err!("r0 uninitialised at exit", XDP, "R0 !read_ok", "exit"),
        err!("read uninitialised register", XDP, "R2 !read_ok", "r0 = r2\nexit"),
        err!("uninit src in add", XDP, "R3 !read_ok", "r0 = 1\nr0 += r3\nexit"),
        err!("uninit dst in add", XDP, "R4 !read_ok", "r4 += 1\nr0 = 0\nexit"),
        err!("write r10", XDP, "frame pointer is read only", "r10 = 0\nr0 = 0\nexit"),
        err!("add to r10", XDP, "frame pointer is read only", "r10 += 8\nr0 = 0\nexit"),
        err!("load into r10", XDP, "frame pointer is read only", "*(u64 *)(r10 - 8) = 1\nr10 = *(u64 *)(r10 - 8)\nr0 = 0\nexit"),
        ok!("copy r10 and adjust", XDP, "r1 = r10\nr1 += -8\nr0 = 0\nexit"),
        err!("unreachable insn", XDP, "unreachable insn 2", "r0 = 0\nexit\nr0 = 1\nexit"),
        err!("jump out of range", XDP, "jump out of range from insn 1 to 7", "r0 = 0\nif r0 == 0 goto +5\nexit"),
        err!("jump backwards out of range", XDP, "jump out of range from insn 0 to -1", "goto -2\nr0 = 0\nexit"),
        err!("fall off the end", XDP, "last insn is not an exit or jmp", "r0 = 0"),
        ok!("lddw constant", XDP, "r0 = 0x100000000 ll\nr0 >>= 32\nexit"),
        err!("jump into lddw", XDP, "jump into the middle of ldimm64 insn 2", "r0 = 0\nif r0 == 0 goto +1\nr0 = 1 ll\nr0 = 0\nexit"),
        err!("jump into an unreached lddw", XDP, "unreachable insn 1", "goto +1\nr0 = 1 ll\nr0 = 0\nexit"),
        err!("infinite loop", XDP, "infinite loop detected", "r0 = 0\nl: goto l"),
        ok!("bounded loop", XDP, "r0 = 0\nl: r0 += 1\nif r0 < 10 goto l\nexit"),
        ok!("bounded loop 1000", XDP, "r0 = 0\nl: r0 += 1\nif r0 < 1000 goto l\nexit"),
        err!("loop too large", XDP, "BPF program is too large. Processed 1000001 insn", "r0 = 0\nr1 = 0\nl: r0 += 1\nr1 += 2\nif r0 < 600000 goto l\nexit"),
        ok!("may_goto loop", XDP, "r0 = 0\nl: may_goto +2\nr0 += 1\ngoto l\nr0 = 0\nexit"),
        ok!("dead branch not explored", XDP, "r0 = 0\nif r0 == 1 goto +1\nexit\nr0 = *(u8 *)(r5 + 0)\nexit"),
        ok!("jmp32 conditions", XDP, "r0 = 5\nif w0 > 3 goto +1\nexit\nif w0 s< 10 goto +1\nexit\nr0 = 1\nexit"),
        ok!("many branches prune", XDP, "call 7\nr1 = 0\nif r0 > 1 goto +1\nr1 = 1\nif r0 > 2 goto +1\nr1 = 2\nif r0 > 3 goto +1\nr1 = 3\nif r0 > 4 goto +1\nr1 = 4\nif r0 > 5 goto +1\nr1 = 5\nif r0 > 6 goto +1\nr1 = 6\nr0 = 0\nexit"),
        err!("scalar deref", XDP, "R1 invalid mem access 'scalar'", "r1 = 0\nr0 = *(u8 *)(r1 + 0)\nexit"),
        err!("scalar store", XDP, "R1 invalid mem access 'scalar'", "r1 = 8\n*(u8 *)(r1 + 0) = 1\nr0 = 0\nexit"),
        ok!("alu ops on scalars", XDP, "r0 = 7\nr0 *= 3\nr0 -= 1\nr0 /= 2\nr0 %= 7\nr0 |= 8\nr0 &= 12\nr0 ^= 1\nr0 <<= 2\nr0 >>= 1\nr0 s>>= 1\nr0 = -r0\nexit"),
        ok!("alu32 ops", XDP, "w0 = 7\nw0 *= 3\nw0 -= 1\nw0 /= 2\nw0 %= 7\nw0 |= 8\nw0 &= 12\nw0 ^= 1\nw0 <<= 2\nw0 >>= 1\nw0 s>>= 1\nw0 = -w0\nexit"),
        ok!("division by zero register", XDP, "r0 = 5\nr1 = 0\nr0 /= r1\nexit"),
        ok!("modulo by zero 32", XDP, "w0 = 5\nw1 = 0\nw0 %= w1\nexit"),
        ok!("byte swap", XDP, "r0 = 0x1234\nr0 = be16 r0\nr0 = le32 r0\nr0 = bswap64 r0\nexit"),
        ok!("sign extension move", XDP, "r0 = 0xff\nr0 = (s8)r0\nw0 = (s16)w0\nexit"),
        ok!("signed division", XDP, "r0 = -8\nr1 = 2\nr0 s/= r1\nr0 s%= r1\nexit"),
        // ---- stack ----
        ok!("stack write then read", XDP, "*(u64 *)(r10 - 8) = 1\nr0 = *(u64 *)(r10 - 8)\nexit"),
        ok!("stack byte writes then read", XDP, "*(u32 *)(r10 - 8) = 1\n*(u32 *)(r10 - 4) = 2\nr0 = *(u64 *)(r10 - 8)\nexit"),
        err!("uninit stack read", XDP, "invalid read from stack off -8+0 size 8", "r0 = *(u64 *)(r10 - 8)\nexit", K::Diff("uninit-stack")),
        err!("partially init stack read", XDP, "invalid read from stack off -8+4 size 8", "*(u32 *)(r10 - 8) = 1\nr0 = *(u64 *)(r10 - 8)\nexit", K::Diff("uninit-stack")),
        err!("stack below frame", XDP, "stack R10 off=-520 size=8", "*(u64 *)(r10 - 520) = 1\nr0 = 0\nexit"),
        err!("stack above fp", XDP, "stack R10 off=0 size=8", "*(u64 *)(r10 + 0) = 1\nr0 = 0\nexit"),
        err!("stack read above fp", XDP, "invalid read from stack R10 off=0 size=8", "r0 = *(u64 *)(r10 + 0)\nexit"),
        err!("misaligned stack read across fp", XDP, "misaligned stack access off 0+0+-4 size 8", "r0 = *(u64 *)(r10 - 4)\nexit"),
        err!("misaligned stack", XDP, "misaligned stack access", "*(u64 *)(r10 - 12) = 1\nr0 = 0\nexit"),
        ok!("stack at -512", XDP, "*(u64 *)(r10 - 512) = 1\nr0 = *(u64 *)(r10 - 512)\nexit"),
        ok!("spill and fill pointer", XDP, "*(u64 *)(r10 - 8) = r1\nr2 = *(u64 *)(r10 - 8)\nr0 = *(u32 *)(r2 + 12)\nexit"),
        err!("partial fill of spilled pointer", XDP, "invalid size of register fill", "*(u64 *)(r10 - 8) = r1\nr2 = *(u32 *)(r10 - 8)\nr0 = 0\nexit"),
        err!("narrow spill of pointer", XDP, "invalid size of register spill", "*(u32 *)(r10 - 8) = r1\nr0 = 0\nexit"),
        err!("subtraction from fp", XDP, "R4 subtraction from stack pointer prohibited", "r2 = 16\n*(u64 *)(r10 - 8) = r2\nr3 = *(u64 *)(r10 - 8)\nr4 = r10\nr4 -= r3\n*(u64 *)(r4 + 0) = 1\nr0 = 0\nexit"),
        err!("spilled constant out of bounds", XDP, "stack R4 off=-520", "r2 = -520\n*(u64 *)(r10 - 8) = r2\nr3 = *(u64 *)(r10 - 8)\nr4 = r10\nr4 += r3\n*(u64 *)(r4 + 0) = 1\nr0 = 0\nexit"),
        ok!("variable stack read in bounds", XDP, "r2 = *(u32 *)(r1 + 12)\nr2 &= 8\n*(u64 *)(r10 - 8) = 0\n*(u64 *)(r10 - 16) = 0\nr3 = r10\nr3 += -16\nr3 += r2\nr0 = *(u64 *)(r3 + 0)\nexit"),
        err!("variable stack write unbounded", XDP, "stack R3", "r2 = *(u32 *)(r1 + 12)\nr3 = r10\nr3 += -16\nr3 += r2\n*(u8 *)(r3 + 0) = 1\nr0 = 0\nexit"),
        ok!("stack pointer passed around", XDP, "r2 = r10\nr2 += -8\n*(u64 *)(r2 + 0) = 5\nr0 = *(u64 *)(r10 - 8)\nexit"),
        ok!("zero bytes read back", XDP, "*(u8 *)(r10 - 1) = 0\nr0 = *(u8 *)(r10 - 1)\nexit"),
        // ---- xdp context ----
        ok!("xdp read data", XDP, "r0 = *(u32 *)(r1 + 0)\nr0 = 0\nexit"),
        ok!("xdp read ifindex", XDP, "r0 = *(u32 *)(r1 + 12)\nexit"),
        ok!("xdp read rx queue", XDP, "r0 = *(u32 *)(r1 + 16)\nexit"),
        err!("xdp ctx out of range", XDP, "invalid bpf_context access off=24 size=4", "r0 = *(u32 *)(r1 + 24)\nexit"),
        err!("xdp ctx 8-byte load", XDP, "invalid bpf_context access off=0 size=8", "r0 = *(u64 *)(r1 + 0)\nexit"),
        err!("xdp ctx narrow load", XDP, "invalid bpf_context access off=12 size=2", "r0 = *(u16 *)(r1 + 12)\nexit"),
        err!("xdp ctx misaligned", XDP, "invalid bpf_context access off=2 size=4", "r0 = *(u32 *)(r1 + 2)\nexit"),
        err!("xdp ctx write", XDP, "invalid bpf_context access off=12 size=4", "r2 = 0\n*(u32 *)(r1 + 12) = r2\nr0 = 0\nexit"),
        err!("ctx BPF_ST", XDP, "invalid bpf_context access off=12 size=4", "*(u32 *)(r1 + 12) = 1\nr0 = 0\nexit"),
        err!("modified ctx deref", XDP, "dereference of modified ctx ptr R1 off=4 disallowed", "r1 += 4\nr0 = *(u32 *)(r1 + 0)\nexit"),
        err!("negative ctx offset", XDP, "invalid bpf_context access off=-4 size=4", "r0 = *(u32 *)(r1 - 4)\nexit"),
        // ---- __sk_buff ----
        ok!("skb read len", SK, "r0 = *(u32 *)(r1 + 0)\nexit"),
        ok!("skb narrow read", SK, "r0 = *(u8 *)(r1 + 0)\nr0 = *(u16 *)(r1 + 2)\nexit"),
        ok!("skb read protocol", SK, "r0 = *(u32 *)(r1 + 16)\nexit"),
        ok!("skb write cb", SK, "r2 = 0\n*(u32 *)(r1 + 48) = r2\nr0 = 0\nexit"),
        ok!("skb 8-byte cb read", SK, "r0 = *(u64 *)(r1 + 48)\nexit"),
        err!("skb write mark in socket filter", SK, "invalid bpf_context access off=8 size=4", "r2 = 0\n*(u32 *)(r1 + 8) = r2\nr0 = 0\nexit"),
        err!("skb data in socket filter", SK, "invalid bpf_context access off=76 size=4", "r0 = *(u32 *)(r1 + 76)\nexit"),
        err!("skb misaligned narrow", SK, "invalid bpf_context access off=1 size=2", "r0 = *(u16 *)(r1 + 1)\nexit"),
        err!("skb 8-byte len", SK, "invalid bpf_context access off=0 size=8", "r0 = *(u64 *)(r1 + 0)\nexit"),
        err!("skb past end", SK, "invalid bpf_context access off=192 size=4", "r0 = *(u32 *)(r1 + 192)\nexit"),
        err!("skb cb overflow", SK, "invalid bpf_context access off=64 size=8", "r0 = *(u64 *)(r1 + 64)\nexit"),
        err!("skb family in socket filter", SK, "invalid bpf_context access off=88 size=4", "r0 = *(u32 *)(r1 + 88)\nexit"),
        ok!("tc write mark", TC, "r2 = 1\n*(u32 *)(r1 + 8) = r2\nr0 = 0\nexit"),
        ok!("tc write priority", TC, "r2 = 1\n*(u32 *)(r1 + 32) = r2\nr0 = 0\nexit"),
        err!("tc write len", TC, "invalid bpf_context access off=0 size=4", "r2 = 1\n*(u32 *)(r1 + 0) = r2\nr0 = 0\nexit"),
        err!("tc read family", TC, "invalid bpf_context access off=88 size=4", "r0 = *(u32 *)(r1 + 88)\nexit"),
        ok!("tc packet access", TC, "r2 = *(u32 *)(r1 + 76)\nr3 = *(u32 *)(r1 + 80)\nr4 = r2\nr4 += 14\nif r4 > r3 goto +1\nr0 = *(u8 *)(r2 + 13)\nr0 = 0\nexit"),
        err!("tc packet unchecked", TC, "invalid access to packet, off=0 size=1, R2(id=0,off=0,r=0)", "r2 = *(u32 *)(r1 + 76)\nr0 = *(u8 *)(r2 + 0)\nr0 = 0\nexit"),
        err!("tc data narrow", TC, "invalid bpf_context access off=76 size=2", "r2 = *(u16 *)(r1 + 76)\nr0 = 0\nexit"),
        // ---- packets (xdp) ----
        err!("unchecked packet read", XDP, "invalid access to packet, off=0 size=1, R2(id=0,off=0,r=0)", "r2 = *(u32 *)(r1 + 0)\nr0 = *(u8 *)(r2 + 0)\nr0 = 0\nexit"),
        ok!("checked packet read", XDP, "r2 = *(u32 *)(r1 + 0)\nr3 = *(u32 *)(r1 + 4)\nr4 = r2\nr4 += 14\nif r4 > r3 goto +1\nr0 = *(u8 *)(r2 + 13)\nr0 = 0\nexit"),
        err!("read just past checked range", XDP, "invalid access to packet, off=14 size=1, R2(id=0,off=14,r=14)", "r2 = *(u32 *)(r1 + 0)\nr3 = *(u32 *)(r1 + 4)\nr4 = r2\nr4 += 14\nif r4 > r3 goto +1\nr0 = *(u8 *)(r2 + 14)\nr0 = 0\nexit"),
        err!("wide read past range", XDP, "invalid access to packet, off=12 size=4", "r2 = *(u32 *)(r1 + 0)\nr3 = *(u32 *)(r1 + 4)\nr4 = r2\nr4 += 14\nif r4 > r3 goto +1\nr0 = *(u32 *)(r2 + 12)\nr0 = 0\nexit"),
        ok!("check via r4 read via r4", XDP, "r2 = *(u32 *)(r1 + 0)\nr3 = *(u32 *)(r1 + 4)\nr4 = r2\nr4 += 14\nif r4 > r3 goto +1\nr0 = *(u8 *)(r4 - 1)\nr0 = 0\nexit"),
        err!("access on the wrong branch", XDP, "invalid access to packet", "r2 = *(u32 *)(r1 + 0)\nr3 = *(u32 *)(r1 + 4)\nr4 = r2\nr4 += 14\nif r4 <= r3 goto +1\nr0 = *(u8 *)(r2 + 0)\nr0 = 0\nexit"),
        ok!("reversed comparison le", XDP, "r2 = *(u32 *)(r1 + 0)\nr3 = *(u32 *)(r1 + 4)\nr4 = r2\nr4 += 8\nif r4 <= r3 goto +2\nr0 = 0\nexit\nr0 = *(u64 *)(r2 + 0)\nr0 = 0\nexit"),
        ok!("end greater than pointer", XDP, "r2 = *(u32 *)(r1 + 0)\nr3 = *(u32 *)(r1 + 4)\nr4 = r2\nr4 += 8\nif r3 >= r4 goto +2\nr0 = 0\nexit\nr0 = *(u64 *)(r2 + 0)\nr0 = 0\nexit"),
        ok!("end less than pointer", XDP, "r2 = *(u32 *)(r1 + 0)\nr3 = *(u32 *)(r1 + 4)\nr4 = r2\nr4 += 8\nif r3 < r4 goto +1\nr0 = *(u64 *)(r2 + 0)\nr0 = 0\nexit"),
        ok!("packet write after check", XDP, "r2 = *(u32 *)(r1 + 0)\nr3 = *(u32 *)(r1 + 4)\nr4 = r2\nr4 += 2\nif r4 > r3 goto +1\n*(u16 *)(r2 + 0) = 7\nr0 = 0\nexit"),
        ok!("copies share range", XDP, "r2 = *(u32 *)(r1 + 0)\nr3 = *(u32 *)(r1 + 4)\nr5 = r2\nr4 = r2\nr4 += 4\nif r4 > r3 goto +1\nr0 = *(u32 *)(r5 + 0)\nr0 = 0\nexit"),
        err!("pkt_end arithmetic", XDP, "R3 pointer arithmetic on pkt_end prohibited", "r3 = *(u32 *)(r1 + 4)\nr3 += 1\nr0 = 0\nexit"),
        err!("pkt_end deref", XDP, "R3 invalid mem access 'pkt_end'", "r3 = *(u32 *)(r1 + 4)\nr0 = *(u8 *)(r3 + 0)\nexit"),
        ok!("variable offset with recheck", XDP, "r2 = *(u32 *)(r1 + 0)\nr3 = *(u32 *)(r1 + 4)\nr4 = r2\nr4 += 1\nif r4 > r3 goto +7\nr5 = *(u8 *)(r2 + 0)\nr5 &= 15\nr2 += r5\nr4 = r2\nr4 += 1\nif r4 > r3 goto +1\nr0 = *(u8 *)(r2 + 0)\nr0 = 0\nexit"),
        err!("variable offset without recheck", XDP, "invalid access to packet", "r2 = *(u32 *)(r1 + 0)\nr3 = *(u32 *)(r1 + 4)\nr4 = r2\nr4 += 2\nif r4 > r3 goto +4\nr5 = *(u8 *)(r2 + 0)\nr5 &= 15\nr2 += r5\nr0 = *(u8 *)(r2 + 0)\nr0 = 0\nexit"),
        ok!("unbounded packet offset arithmetic", XDP, "r2 = *(u32 *)(r1 + 0)\nr5 = *(u32 *)(r1 + 12)\nr2 += r5\nr0 = 0\nexit"),
        err!("unbounded packet offset access", XDP, "invalid access to packet", "r2 = *(u32 *)(r1 + 0)\nr3 = *(u32 *)(r1 + 4)\nr5 = *(u32 *)(r1 + 12)\nr2 += r5\nr4 = r2\nr4 += 1\nif r4 > r3 goto +1\nr0 = *(u8 *)(r2 + 0)\nr0 = 0\nexit"),
        ok!("data_meta check", XDP, "r2 = *(u32 *)(r1 + 8)\nr3 = *(u32 *)(r1 + 0)\nr4 = r2\nr4 += 4\nif r4 > r3 goto +1\nr0 = *(u32 *)(r2 + 0)\nr0 = 0\nexit"),
        err!("data_meta unchecked", XDP, "invalid access to packet", "r2 = *(u32 *)(r1 + 8)\nr0 = *(u32 *)(r2 + 0)\nr0 = 0\nexit"),
        err!("packet pointer after adjust_head", XDP, "R7 invalid mem access 'scalar'", "r6 = r1\nr2 = *(u32 *)(r1 + 0)\nr3 = *(u32 *)(r1 + 4)\nr4 = r2\nr4 += 4\nif r4 > r3 goto +6\nr7 = r2\nr1 = r6\nr2 = 0\ncall 44\nr0 = *(u8 *)(r7 + 0)\nr0 = 0\nexit"),
        err!("packet pointer in 32-bit add", XDP, "R2 32-bit pointer arithmetic prohibited", "r2 = *(u32 *)(r1 + 0)\nw2 += 1\nr0 = 0\nexit"),
        err!("negative packet offset read", XDP, "invalid access to packet", "r2 = *(u32 *)(r1 + 0)\nr3 = *(u32 *)(r1 + 4)\nr4 = r2\nr4 += 4\nif r4 > r3 goto +1\nr0 = *(u8 *)(r2 - 1)\nr0 = 0\nexit"),
        // ---- pointer arithmetic ----
        err!("and on pointer", XDP, "R1 bitwise operator &= on pointer prohibited", "r1 &= 1\nr0 = 0\nexit"),
        err!("or on pointer", XDP, "R1 bitwise operator |= on pointer prohibited", "r1 |= 1\nr0 = 0\nexit"),
        err!("mul on pointer", XDP, "R1 pointer arithmetic with *= operator prohibited", "r1 *= 2\nr0 = 0\nexit"),
        err!("shift on pointer", XDP, "R1 pointer arithmetic with <<= operator prohibited", "r1 <<= 2\nr0 = 0\nexit"),
        err!("32-bit add on pointer", XDP, "R1 32-bit pointer arithmetic prohibited", "w1 += 1\nr0 = 0\nexit"),
        ok!("pointer minus pointer", XDP, "r2 = r1\nr2 -= r1\nr0 = r2\nexit"),
        err!("pointer plus pointer", XDP, "R2 pointer += pointer prohibited", "r2 = r1\nr2 += r1\nr0 = 0\nexit"),
        err!("scalar minus pointer", XDP, "R0 tried to subtract pointer from scalar", "r0 = 0\nr0 -= r1\nexit"),
        ok!("scalar plus pointer", XDP, "r0 = -8\nr0 += r10\n*(u64 *)(r0 + 0) = 1\nr0 = 0\nexit"),
        err!("fp plus unbounded", XDP, "math between fp pointer and register with unbounded min value is not allowed", "call 5\nr3 = r10\nr3 += r0\nr0 = 0\nexit"),
        err!("fp plus huge constant", XDP, "math between fp pointer and 536870912 is not allowed", "r3 = r10\nr3 += 0x20000000\nr0 = 0\nexit"),
        ok!("pointer compare", XDP, "r2 = r10\nif r2 == r1 goto +0\nr0 = 0\nexit"),
        ok!("32-bit copy of pointer", XDP, "w0 = w1\nexit"),
        // ---- bounds on stack buffers ----
        ok!("masked index", XDP, "*(u64 *)(r10 - 16) = 0\n*(u64 *)(r10 - 8) = 0\ncall 7\nr0 &= 15\nr3 = r10\nr3 += -16\nr3 += r0\nr0 = *(u8 *)(r3 + 0)\nexit"),
        err!("mask too wide", XDP, "stack", "*(u64 *)(r10 - 16) = 0\n*(u64 *)(r10 - 8) = 0\ncall 7\nr0 &= 16\nr3 = r10\nr3 += -16\nr3 += r0\nr0 = *(u8 *)(r3 + 0)\nexit"),
        ok!("compared index", XDP, "*(u64 *)(r10 - 16) = 0\n*(u64 *)(r10 - 8) = 0\ncall 7\nif r0 > 15 goto +4\nr3 = r10\nr3 += -16\nr3 += r0\nr0 = *(u8 *)(r3 + 0)\nexit"),
        err!("off by one bound", XDP, "stack", "*(u64 *)(r10 - 16) = 0\n*(u64 *)(r10 - 8) = 0\ncall 7\nif r0 > 16 goto +4\nr3 = r10\nr3 += -16\nr3 += r0\nr0 = *(u8 *)(r3 + 0)\nexit"),
        ok!("signed bounds both sides", XDP, "*(u64 *)(r10 - 16) = 0\n*(u64 *)(r10 - 8) = 0\ncall 5\nif r0 s> 15 goto +5\nif r0 s< 0 goto +4\nr3 = r10\nr3 += -16\nr3 += r0\nr0 = *(u8 *)(r3 + 0)\nexit"),
        err!("signed upper bound only", XDP, "", "*(u64 *)(r10 - 16) = 0\n*(u64 *)(r10 - 8) = 0\ncall 5\nif r0 s> 15 goto +4\nr3 = r10\nr3 += -16\nr3 += r0\nr0 = *(u8 *)(r3 + 0)\nexit"),
        err!("32-bit check leaves upper bits", XDP, "", "*(u64 *)(r10 - 16) = 0\n*(u64 *)(r10 - 8) = 0\ncall 5\nif w0 > 15 goto +4\nr3 = r10\nr3 += -16\nr3 += r0\nr0 = *(u8 *)(r3 + 0)\nexit"),
        ok!("32-bit check then zext", XDP, "*(u64 *)(r10 - 16) = 0\n*(u64 *)(r10 - 8) = 0\ncall 5\nif w0 > 15 goto +5\nw0 = w0\nr3 = r10\nr3 += -16\nr3 += r0\nr0 = *(u8 *)(r3 + 0)\nexit"),
        ok!("copy refinement reaches original", XDP, "*(u64 *)(r10 - 16) = 0\n*(u64 *)(r10 - 8) = 0\ncall 7\nr1 = r0\nif r1 > 15 goto +4\nr3 = r10\nr3 += -16\nr3 += r0\nr0 = *(u8 *)(r3 + 0)\nexit"),
        ok!("shift bounds", XDP, "*(u64 *)(r10 - 16) = 0\n*(u64 *)(r10 - 8) = 0\ncall 7\nr0 >>= 60\nr3 = r10\nr3 += -16\nr3 += r0\nr0 = *(u8 *)(r3 + 0)\nexit"),
        err!("shift bounds too wide", XDP, "stack", "*(u64 *)(r10 - 16) = 0\n*(u64 *)(r10 - 8) = 0\ncall 7\nr0 >>= 59\nr3 = r10\nr3 += -16\nr3 += r0\nr0 = *(u8 *)(r3 + 0)\nexit"),
        ok!("mod bound", XDP, "*(u64 *)(r10 - 16) = 0\n*(u64 *)(r10 - 8) = 0\ncall 7\nr0 %= 16\nr3 = r10\nr3 += -16\nr3 += r0\nr0 = *(u8 *)(r3 + 0)\nexit", K::Diff("precision: the kernel does not bound BPF_MOD results")),
        ok!("ne refinement at bound", XDP, "*(u64 *)(r10 - 16) = 0\n*(u64 *)(r10 - 8) = 0\ncall 7\nr0 &= 16\nif r0 == 16 goto +4\nr3 = r10\nr3 += -16\nr3 += r0\nr0 = *(u8 *)(r3 + 0)\nexit"),
        ok!("jset clears bits", XDP, "*(u64 *)(r10 - 16) = 0\n*(u64 *)(r10 - 8) = 0\ncall 7\nr0 &= 31\nif r0 & 16 goto +4\nr3 = r10\nr3 += -16\nr3 += r0\nr0 = *(u8 *)(r3 + 0)\nexit"),
        // ---- bpf-to-bpf calls ----
        ok!("local call", XDP, "r1 = 1\ncall f\nexit\nf: r0 = r1\nexit"),
        ok!("callee may leave r0 unset", XDP, "call f\nr0 = 0\nexit\nf: exit"),
        err!("caller reads unset r0 of callee", XDP, "R0 !read_ok", "call f\nexit\nf: exit"),
        ok!("callee-saved preserved", XDP, "r6 = 5\ncall f\nr0 = r6\nexit\nf: r0 = 0\nexit"),
        err!("r1 clobbered after local call", XDP, "R1 !read_ok", "r1 = 1\ncall f\nr0 = r1\nexit\nf: r0 = 0\nexit"),
        err!("callee cannot read caller r6", XDP, "R6 !read_ok", "r6 = 1\ncall f\nexit\nf: r0 = r6\nexit"),
        ok!("callee writes caller stack", XDP, "r1 = r10\nr1 += -8\ncall f\nr0 = *(u64 *)(r10 - 8)\nexit\nf: *(u64 *)(r1 + 0) = 3\nr0 = 0\nexit"),
        err!("callee writes beyond caller stack", XDP, "stack R1 off=0 size=8", "r1 = r10\nr1 += -8\ncall f\nr0 = 0\nexit\nf: *(u64 *)(r1 + 8) = 3\nr0 = 0\nexit"),
        ok!("callee has own stack", XDP, "*(u64 *)(r10 - 8) = 1\ncall f\nr0 = *(u64 *)(r10 - 8)\nexit\nf: *(u64 *)(r10 - 8) = 2\nr0 = 0\nexit"),
        err!("call stack too deep", XDP, "the call stack of 9 frames is too deep", "call f1\nexit\nf1: call f2\nexit\nf2: call f3\nexit\nf3: call f4\nexit\nf4: call f5\nexit\nf5: call f6\nexit\nf6: call f7\nexit\nf7: call f8\nexit\nf8: call f9\nexit\nf9: r0 = 0\nexit"),
        ok!("eight frames", XDP, "call f1\nexit\nf1: call f2\nexit\nf2: call f3\nexit\nf3: call f4\nexit\nf4: call f5\nexit\nf5: call f6\nexit\nf6: call f7\nexit\nf7: r0 = 0\nexit"),
        err!("combined stack too large", XDP, "combined stack size of 2 calls is", "*(u64 *)(r10 - 304) = 1\ncall f\nr0 = 0\nexit\nf: *(u64 *)(r10 - 304) = 1\nr0 = 0\nexit"),
        ok!("combined stack fits", XDP, "*(u64 *)(r10 - 200) = 1\ncall f\nr0 = 0\nexit\nf: *(u64 *)(r10 - 200) = 1\nr0 = 0\nexit"),
        err!("recursion", XDP, "", "call f\nexit\nf: call f\nr0 = 0\nexit"),
        err!("jump across subprograms", XDP, "jump out of range", "r0 = 0\ngoto f\nexit\nf: r0 = 1\nexit\ncall f\nexit"),
        // ---- helpers ----
        ok!("ktime", XDP, "call 5\nexit"),
        err!("r1 clobbered by helper", XDP, "R1 !read_ok", "call 5\nr0 = r1\nexit"),
        err!("r5 clobbered by helper", XDP, "R5 !read_ok", "r5 = 1\ncall 7\nr0 = r5\nexit"),
        ok!("r6 kept across helper", XDP, "r6 = 3\ncall 7\nr0 = r6\nexit"),
        err!("unknown helper", XDP, "func", "call 999\nexit"),
        err!("xdp helper in socket filter", SK, "program of this type cannot use helper bpf_xdp_adjust_head#44", "r2 = 0\ncall 44\nr0 = 0\nexit"),
        ok!("xdp_adjust_head", XDP, "r2 = 0\ncall 44\nr0 = 2\nexit"),
        ok!("trace_printk", XDP, "r1 = 0x0a6968 ll\n*(u64 *)(r10 - 8) = r1\nr1 = r10\nr1 += -8\nr2 = 8\ncall 6\nr0 = 0\nexit"),
        err!("trace_printk uninit fmt", XDP, "invalid indirect read from stack", "r1 = r10\nr1 += -8\nr2 = 8\ncall 6\nr0 = 0\nexit", K::Diff("uninit-stack")),
        err!("trace_printk zero size", XDP, "R2 invalid zero-sized read", "*(u64 *)(r10 - 8) = 0\nr1 = r10\nr1 += -8\nr2 = 0\ncall 6\nr0 = 0\nexit"),
        err!("trace_printk scalar pointer", XDP, "R1 type=scalar", "r1 = 0\nr2 = 8\ncall 6\nr0 = 0\nexit"),
        err!("trace_printk size beyond stack", XDP, "stack", "*(u64 *)(r10 - 8) = 0\nr1 = r10\nr1 += -8\nr2 = 16\ncall 6\nr0 = 0\nexit"),
        ok!("probe_read_kernel into stack", XDP, "r1 = r10\nr1 += -8\nr2 = 8\nr3 = 0\ncall 113\nr0 = *(u64 *)(r10 - 8)\nexit"),
        err!("probe_read_kernel unbounded size", XDP, "R2 min value is negative", "r1 = r10\nr1 += -8\ncall 5\nr2 = r0\nr1 = r10\nr1 += -8\nr3 = 0\ncall 113\nr0 = 0\nexit"),
        err!("probe_read_kernel negative size", XDP, "R2 min value is negative", "call 5\nr2 = r0\nif r2 s> 8 goto +4\nr1 = r10\nr1 += -8\nr3 = 0\ncall 113\nr0 = 0\nexit"),
        ok!("probe_read_kernel bounded size", XDP, "call 7\nr2 = r0\nr2 &= 7\nr1 = r10\nr1 += -8\nr3 = 0\ncall 113\nr0 = 0\nexit"),
        ok!("csum_diff with null", XDP, "*(u64 *)(r10 - 8) = 0\nr1 = 0\nr2 = 0\nr3 = r10\nr3 += -8\nr4 = 8\nr5 = 0\ncall 28\nexit"),
        ok!("skb_load_bytes", SK, "r2 = 0\nr3 = r10\nr3 += -8\nr4 = 8\ncall 26\nr0 = *(u64 *)(r10 - 8)\nexit"),
        err!("skb_load_bytes in xdp", XDP, "program of this type cannot use helper bpf_skb_load_bytes#26", "r2 = 0\nr3 = r10\nr3 += -8\nr4 = 8\ncall 26\nr0 = 0\nexit"),
        err!("helper wants ctx", XDP, "R1 type=scalar expected=ctx", "r1 = 0\nr2 = 0\ncall 44\nr0 = 0\nexit"),
        err!("helper with modified ctx", XDP, "dereference of modified ctx ptr R1 off=4 disallowed", "r1 += 4\nr2 = 0\ncall 44\nr0 = 0\nexit"),
        ok!("get_smp_processor_id", SK, "call 8\nexit"),
        ok!("pid_tgid in xdp", XDP, "call 14\nexit"),
        err!("tracing helper in xdp", XDP, "program of this type cannot use helper bpf_probe_read#4", "r1 = r10\nr1 += -8\nr2 = 8\nr3 = 0\ncall 4\nr0 = 0\nexit"),
        // ---- legacy packet loads ----
        ok!("ld_abs", SK, "r6 = r1\nr0 = *(u8 *)skb[0]\nexit"),
        ok!("ld_ind", SK, "r6 = r1\nr2 = 3\nr0 = *(u16 *)skb[r2]\nexit"),
        err!("ld_abs in xdp", XDP, "BPF_LD_[ABS|IND] instructions not allowed for this program type", "r6 = r1\nr0 = *(u8 *)skb[0]\nexit"),
        err!("ld_abs without r6", SK, "R6 !read_ok", "r0 = *(u8 *)skb[0]\nexit"),
        err!("ld_abs with scalar r6", SK, "at the time of BPF_LD_ABS|IND R6 != pointer to skb", "r6 = 0\nr0 = *(u8 *)skb[0]\nexit"),
        err!("ld_abs clobbers r2", SK, "R2 !read_ok", "r6 = r1\nr2 = 1\nr0 = *(u8 *)skb[0]\nr0 = r2\nexit"),
        // ---- maps (own map infos) ----
        ok!("lookup with null check", XDP, "*(u32 *)(r10 - 4) = 0\nr2 = r10\nr2 += -4\nld_pseudo r1, 1, 1\ncall 1\nif r0 == 0 goto +1\nr0 = *(u64 *)(r0 + 0)\nr0 = 0\nexit", K::Skip),
        err!("lookup without null check", XDP, "R0 invalid mem access 'map_value_or_null'", "*(u32 *)(r10 - 4) = 0\nr2 = r10\nr2 += -4\nld_pseudo r1, 1, 1\ncall 1\nr0 = *(u64 *)(r0 + 0)\nr0 = 0\nexit", K::Skip),
        err!("arithmetic before null check", XDP, "R0 pointer arithmetic on map_value_or_null prohibited, null-check it first", "*(u32 *)(r10 - 4) = 0\nr2 = r10\nr2 += -4\nld_pseudo r1, 1, 1\ncall 1\nr0 += 8\nr0 = 0\nexit", K::Skip),
        ok!("null check reaches copy", XDP, "*(u32 *)(r10 - 4) = 0\nr2 = r10\nr2 += -4\nld_pseudo r1, 1, 1\ncall 1\nr6 = r0\nif r0 == 0 goto +1\nr0 = *(u64 *)(r6 + 0)\nr0 = 0\nexit", K::Skip),
        ok!("null check ne form", XDP, "*(u32 *)(r10 - 4) = 0\nr2 = r10\nr2 += -4\nld_pseudo r1, 1, 1\ncall 1\nif r0 != 0 goto +2\nr0 = 0\nexit\n*(u64 *)(r0 + 0) = 1\nr0 = 0\nexit", K::Skip),
        err!("value read past end", XDP, "invalid access to map value, value_size=8 off=8 size=1", "*(u32 *)(r10 - 4) = 0\nr2 = r10\nr2 += -4\nld_pseudo r1, 1, 1\ncall 1\nif r0 == 0 goto +1\nr0 = *(u8 *)(r0 + 8)\nr0 = 0\nexit", K::Skip),
        ok!("bounded value index", XDP, "*(u32 *)(r10 - 4) = 0\nr2 = r10\nr2 += -4\nld_pseudo r1, 1, 2\ncall 1\nif r0 == 0 goto +5\nr6 = r0\ncall 7\nr0 &= 15\nr6 += r0\nr0 = *(u8 *)(r6 + 0)\nr0 = 0\nexit", K::Skip),
        err!("unbounded value index", XDP, "unbounded", "*(u32 *)(r10 - 4) = 0\nr2 = r10\nr2 += -4\nld_pseudo r1, 1, 2\ncall 1\nif r0 == 0 goto +5\nr6 = r0\ncall 7\nr0 <<= 32\nr6 += r0\nr0 = *(u8 *)(r6 + 0)\nr0 = 0\nexit", K::Skip),
        err!("value index too large", XDP, "invalid access to map value, value_size=16 off=16 size=1", "*(u32 *)(r10 - 4) = 0\nr2 = r10\nr2 += -4\nld_pseudo r1, 1, 2\ncall 1\nif r0 == 0 goto +5\nr6 = r0\ncall 7\nr0 &= 16\nr6 += r0\nr0 = *(u8 *)(r6 + 0)\nr0 = 0\nexit", K::Skip),
        err!("uninit key", XDP, "invalid indirect read from stack", "r2 = r10\nr2 += -4\nld_pseudo r1, 1, 1\ncall 1\nr0 = 0\nexit", K::Skip),
        err!("scalar key", XDP, "R2 type=scalar", "r2 = 0\nld_pseudo r1, 1, 1\ncall 1\nr0 = 0\nexit", K::Skip),
        err!("map pointer arithmetic", XDP, "R1 pointer arithmetic on map_ptr prohibited", "ld_pseudo r1, 1, 1\nr1 += 8\nr0 = 0\nexit", K::Skip),
        err!("map pointer deref", XDP, "R1 invalid mem access 'map_ptr'", "ld_pseudo r1, 1, 1\nr0 = *(u64 *)(r1 + 0)\nexit", K::Skip),
        err!("not a map", XDP, "fd 9 is not pointing to valid bpf_map", "ld_pseudo r1, 1, 9\nr0 = 0\nexit", K::Skip),
        err!("lookup needs map", XDP, "R1 type=ctx expected=map_ptr", "*(u32 *)(r10 - 4) = 0\nr2 = r10\nr2 += -4\ncall 1\nr0 = 0\nexit", K::Skip),
        ok!("update elem", XDP, "*(u32 *)(r10 - 4) = 0\n*(u64 *)(r10 - 16) = 0\nr2 = r10\nr2 += -4\nr3 = r10\nr3 += -16\nr4 = 0\nld_pseudo r1, 1, 1\ncall 2\nexit", K::Skip),
        err!("update value too small", XDP, "invalid indirect read from stack", "*(u32 *)(r10 - 4) = 0\n*(u64 *)(r10 - 16) = 0\nr2 = r10\nr2 += -4\nr3 = r10\nr3 += -16\nr4 = 0\nld_pseudo r1, 1, 2\ncall 2\nexit", K::Skip),
        err!("read-only map write", XDP, "write into map forbidden", "*(u32 *)(r10 - 4) = 0\nr2 = r10\nr2 += -4\nld_pseudo r1, 1, 4\ncall 1\nif r0 == 0 goto +1\n*(u64 *)(r0 + 0) = 1\nr0 = 0\nexit", K::Skip),
        ok!("direct value access", XDP, "ld_pseudo r1, 2, 2, 8\nr0 = *(u64 *)(r1 + 0)\nexit", K::Skip),
        err!("direct value access out of bounds", XDP, "invalid access to map value, value_size=16 off=16 size=1", "ld_pseudo r1, 2, 2, 8\nr0 = *(u8 *)(r1 + 8)\nexit", K::Skip),
        ok!("jeq infers not null", XDP, "*(u32 *)(r10 - 4) = 0\nr2 = r10\nr2 += -4\nld_pseudo r1, 1, 1\ncall 1\nr6 = r0\nr2 = r10\nr2 += -4\nld_pseudo r1, 1, 1\ncall 1\nif r6 == 0 goto +2\nif r6 != r0 goto +1\nr0 = *(u64 *)(r0 + 0)\nr0 = 0\nexit", K::Skip),
        err!("jne side stays maybe null", XDP, "R0 invalid mem access 'map_value_or_null'", "*(u32 *)(r10 - 4) = 0\nr2 = r10\nr2 += -4\nld_pseudo r1, 1, 1\ncall 1\nr6 = r0\nr2 = r10\nr2 += -4\nld_pseudo r1, 1, 1\ncall 1\nif r6 == 0 goto +2\nif r6 == r0 goto +1\nr0 = *(u64 *)(r0 + 0)\nr0 = 0\nexit", K::Skip),
        err!("meta bounded by a moved packet pointer", XDP, "invalid access to packet", "r2 = *(u32 *)(r1 + 8)\nr3 = *(u32 *)(r1 + 0)\nr0 = r3\nr0 += 8\nr4 = r2\nr4 += 8\nif r4 > r0 goto +1\nr0 = *(u8 *)(r2 + 0)\nr0 = 0\nexit"),
        err!("bounded recursion", XDP, "the call stack of 8 frames is too deep !", "r1 = 0\ncall f\nexit\nf: r1 += 1\nr0 = r1\nif r1 < 4 goto +1\nexit\ncall f\nexit"),
        ok!("pointer stored into the packet (privileged)", XDP, "r2 = *(u32 *)(r1 + 0)\nr3 = *(u32 *)(r1 + 4)\nr0 = r2\nr0 += 8\nif r0 > r3 goto +1\n*(u64 *)(r2 + 0) = r2\nr0 = 0\nexit"),
        err!("shift by the width is unknown", XDP, "", "r2 = 32\nr1 = 1\nw1 <<= w2\nr1 &= 0xffff\nr3 = r10\nr3 += -8\nr3 += r1\n*(u8 *)(r3 + 0) = 0\nr0 = 0\nexit"),
        ok!("write-only map write", XDP, "*(u32 *)(r10 - 4) = 0\nr2 = r10\nr2 += -4\nld_pseudo r1, 1, 6\ncall 1\nif r0 == 0 goto +1\n*(u64 *)(r0 + 0) = 1\nr0 = 0\nexit", K::Skip),
        err!("write-only map read", XDP, "read from map forbidden", "*(u32 *)(r10 - 4) = 0\nr2 = r10\nr2 += -4\nld_pseudo r1, 1, 6\ncall 1\nif r0 == 0 goto +1\nr0 = *(u64 *)(r0 + 0)\nr0 = 0\nexit", K::Skip),
        err!("lookup on ringbuf", XDP, "invalid zero-sized read", "*(u32 *)(r10 - 4) = 0\nr2 = r10\nr2 += -4\nld_pseudo r1, 1, 3\ncall 1\nr0 = 0\nexit", K::Skip),
        ok!("tail call", XDP, "r6 = r1\nld_pseudo r2, 1, 5\nr3 = 0\ncall 12\nr0 = 0\nexit", K::Skip),
        // ---- ringbuf references ----
        ok!("reserve and submit", XDP, "ld_pseudo r1, 1, 3\nr2 = 8\nr3 = 0\ncall 131\nif r0 == 0 goto +4\n*(u64 *)(r0 + 0) = 1\nr1 = r0\nr2 = 0\ncall 132\nr0 = 0\nexit", K::Skip),
        ok!("reserve and discard", XDP, "ld_pseudo r1, 1, 3\nr2 = 8\nr3 = 0\ncall 131\nif r0 == 0 goto +3\nr1 = r0\nr2 = 0\ncall 133\nr0 = 0\nexit", K::Skip),
        err!("reserve without release", XDP, "Unreleased reference id=1 alloc_insn=4", "ld_pseudo r1, 1, 3\nr2 = 8\nr3 = 0\ncall 131\nif r0 == 0 goto +1\n*(u64 *)(r0 + 0) = 1\nr0 = 0\nexit", K::Skip),
        err!("release on one path only", XDP, "Unreleased reference", "ld_pseudo r1, 1, 3\nr2 = 8\nr3 = 0\ncall 131\nif r0 == 0 goto +7\nr6 = r0\ncall 7\nif r0 > 5 goto +3\nr1 = r6\nr2 = 0\ncall 132\nr0 = 0\nexit", K::Skip),
        err!("submit without null check", XDP, "R1 type=ringbuf_mem_or_null expected=ringbuf_mem", "ld_pseudo r1, 1, 3\nr2 = 8\nr3 = 0\ncall 131\nr1 = r0\nr2 = 0\ncall 132\nr0 = 0\nexit", K::Skip),
        err!("reserve variable size", XDP, "is not a known constant", "call 7\nr2 = r0\nld_pseudo r1, 1, 3\nr3 = 0\ncall 131\nr0 = 0\nexit", K::Skip),
        err!("write past record", XDP, "invalid access to memory, mem_size=8 off=8 size=8", "ld_pseudo r1, 1, 3\nr2 = 8\nr3 = 0\ncall 131\nif r0 == 0 goto +4\n*(u64 *)(r0 + 8) = 1\nr1 = r0\nr2 = 0\ncall 132\nr0 = 0\nexit", K::Skip),
        err!("submit twice", XDP, "R1 type=scalar expected=ringbuf_mem", "ld_pseudo r1, 1, 3\nr2 = 8\nr3 = 0\ncall 131\nif r0 == 0 goto +7\nr6 = r0\nr1 = r0\nr2 = 0\ncall 132\nr1 = r6\nr2 = 0\ncall 132\nr0 = 0\nexit", K::Skip),
        err!("submit with offset", XDP, "R1 must have zero offset when passed to release func", "ld_pseudo r1, 1, 3\nr2 = 8\nr3 = 0\ncall 131\nif r0 == 0 goto +4\nr1 = r0\nr1 += 4\nr2 = 0\ncall 132\nr0 = 0\nexit", K::Skip),
        ok!("ringbuf output", XDP, "*(u64 *)(r10 - 8) = 0\nld_pseudo r1, 1, 3\nr2 = r10\nr2 += -8\nr3 = 8\nr4 = 0\ncall 130\nexit", K::Skip),
        // ---- raw context ----
        ok!("raw read in bounds", RAW, "r0 = *(u64 *)(r1 + 56)\nexit", K::Skip),
        err!("raw read past end", RAW, "invalid access to memory, mem_size=64 off=60 size=8", "r0 = *(u64 *)(r1 + 60)\nexit", K::Skip),
        ok!("raw write", RAW, "*(u32 *)(r1 + 0) = 1\nr0 = r2\nexit", K::Skip),
        ok!("raw loop over input", RAW, "r0 = 0\nr3 = 0\nl: r4 = r1\nr4 += r3\nr5 = *(u8 *)(r4 + 0)\nr0 += r5\nr3 += 1\nif r3 < 64 goto l\nexit", K::Skip),
        err!("raw loop one too far", RAW, "invalid access to memory", "r0 = 0\nr3 = 0\nl: r4 = r1\nr4 += r3\nr5 = *(u8 *)(r4 + 0)\nr0 += r5\nr3 += 1\nif r3 <= 64 goto l\nexit", K::Skip),
        err!("raw negative index", RAW, "min value is negative", "r6 = r1\ncall 5\nif r0 s> 10 goto +4\nif r0 s< -10 goto +3\nr6 += r0\nr0 = *(u8 *)(r6 + 0)\nexit\nr0 = 0\nexit", K::Skip),
    ]
}

#[test]
fn suite() {
    let cases = cases();
    let mut failures = Vec::new();
    let (mut agree, mut differ_listed, mut skipped) = (0, 0, 0);
    let mut kernel_unavailable = false;
    for c in &cases {
        let ours = run(c.code, c.pt, MAPS, Options::default());
        match (&ours, c.expect) {
            (Ok(_), None) => {}
            (Err(e), Some(m)) if e.message.contains(m) => {}
            (Ok(_), Some(m)) => {
                failures.push(format!("{}: accepted, expected rejection '{m}'", c.name))
            }
            (Err(e), None) => {
                failures.push(format!("{}: rejected at {}: {}", c.name, e.insn, e.message))
            }
            (Err(e), Some(m)) => {
                failures.push(format!("{}: message '{}' lacks '{m}'", c.name, e.message))
            }
        }
        if c.kernel == K::Skip {
            skipped += 1;
            continue;
        }
        let Some(k) = kernel(c.code, c.pt) else {
            kernel_unavailable = true;
            continue;
        };
        let ours_ok = ours.is_ok();
        match c.kernel {
            K::Diff(reason) => {
                // Re-check with the kernel's privileged settings where the option exists.
                if reason == "uninit-stack" {
                    let opts = Options {
                        allow_uninit_stack: true,
                        ..Options::default()
                    };
                    let relaxed = run(c.code, c.pt, MAPS, opts).is_ok();
                    if relaxed != k.is_ok() {
                        failures.push(format!(
                            "{}: with allow_uninit_stack ours={relaxed} kernel={:?}",
                            c.name, k
                        ));
                    }
                }
                differ_listed += 1;
            }
            _ => {
                if ours_ok == k.is_ok() {
                    agree += 1;
                } else {
                    failures.push(format!(
                        "{}: kernel disagrees: ours={:?} kernel={}",
                        c.name,
                        ours.as_ref().map_err(|e| &e.message),
                        match &k {
                            Ok(()) => "accepted".to_string(),
                            Err(log) => format!(
                                "rejected: {}",
                                log.lines()
                                    .rev()
                                    .find(|l| !l.starts_with("processed") && !l.trim().is_empty())
                                    .unwrap_or("")
                            ),
                        }
                    ));
                }
            }
        }
    }
    if kernel_unavailable {
        println!("skipped: bpf() unavailable (kernel comparison)");
    }
    println!(
        "{} cases; kernel: {agree} agree, {differ_listed} listed differences, {skipped} not loadable there",
        cases.len()
    );
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
