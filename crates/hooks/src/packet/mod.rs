//! Packet hooks: XDP, tc and socket-filter programs on recorded traffic.
//!
//! Takes a prepared packet program ([`userbpf_runtime::PreparedProgram`]) and a source of
//! Ethernet frames (a pcap or pcapng file, [`CaptureReader`]); gives each packet's verdict
//! and the packet as the program left it ([`PacketHook`]), and writes the packets that go on
//! to a capture file ([`CaptureWriter`]).
//!
//! ```no_run
//! use userbpf_hooks::packet::{CaptureReader, CaptureWriter, Format, PacketHook};
//! use userbpf_runtime::{LoadOptions, ObjectInstance};
//!
//! let object = userbpf_object::Object::parse(&std::fs::read("fw.bpf.o")?)?;
//! let instance = ObjectInstance::load(&object, &LoadOptions::default())?;
//! let mut hook = PacketHook::new(instance.program("xdp_fw")?)?;
//! let input = CaptureReader::new(std::fs::File::open("in.pcap")?)?;
//! let mut out = CaptureWriter::new(std::fs::File::create("out.pcap")?, input.format())?;
//! let summary = hook.run_pcap(input, Some(&mut out))?;
//! println!("{:?}", summary.verdicts);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod capture;
pub mod engine;
pub mod hook;
pub mod live;
pub mod pcap;
pub mod pcapng;
pub mod traffic;

pub use capture::{
    read_all, CaptureError, CaptureErrorKind, CaptureReader, CaptureWriter, Format, Packet,
    Timestamp, LINKTYPE_ETHERNET,
};
pub use engine::{EngineKind, Runner, Selection};
pub use hook::{Fate, HookError, PacketHook, PacketProgKind, PacketResult, Summary, Verdict};
