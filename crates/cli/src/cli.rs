//! Command-line grammar.
//!
//! Takes nothing; gives the clap definitions of every subcommand, following the forms of
//! DESIGN.md that outside tools rely on.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// userbpf: eBPF in user space.
#[derive(Debug, Parser)]
#[command(name = "userbpf", version, about)]
pub struct Cli {
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Execution engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Engine {
    /// The checked interpreter.
    Interp,
    /// The x86-64 JIT.
    Jit,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Assemble eBPF assembly (LLVM or bpf_conformance syntax) into bytecode.
    Asm {
        /// Assembly source file.
        file: PathBuf,
        /// Write raw bytecode here (default: print hex, one instruction per line).
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Disassemble bytecode (raw, or the programs of an ELF object) in LLVM syntax.
    Disasm {
        /// Raw bytecode or ELF object.
        file: PathBuf,
        /// Only this program (ELF function or section name).
        #[arg(long)]
        program: Option<String>,
        /// Interleave source lines (needs BTF line info).
        #[arg(long)]
        source: bool,
    },
    /// Verify the programs of an object (exit 1 if any is rejected).
    Verify {
        /// ELF object.
        object: PathBuf,
        /// Only this program (name or section).
        #[arg(long)]
        program: Option<String>,
        /// One JSON object per program per line.
        #[arg(long)]
        json: bool,
        /// 0: verdicts; 1: the instructions explored; 2: the state at every instruction.
        #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=2))]
        log_level: u32,
        /// Target BTF typing the contexts of fentry/fexit/fmod_ret, tp_btf and lsm programs
        /// (default: the host's /sys/kernel/btf/vmlinux).
        #[arg(long)]
        btf: Option<PathBuf>,
    },
    /// Show an object's programs, maps, BTF and license.
    Inspect {
        /// ELF object.
        object: PathBuf,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Read and change maps pinned by userbpf (`--pin-dir`).
    Map {
        /// The operation.
        #[command(subcommand)]
        command: MapCommand,
    },
    /// Run a program with BPF_PROG_TEST_RUN semantics.
    Run(RunArgs),
    /// Compile a libbpf-style C program (SRC.bpf.c) into an eBPF object with clang-19.
    Build {
        /// C source file.
        src: PathBuf,
        /// Output object (default: the source with `.o`).
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// Extra include directory.
        #[arg(short = 'I', long = "include")]
        includes: Vec<PathBuf>,
        /// Preprocessor definition NAME[=VALUE].
        #[arg(short = 'D', long = "define")]
        defines: Vec<String>,
    },
    /// Run a packet program (xdp, tc, socket filter) on every packet of a capture file.
    Xdp(XdpArgs),
    /// Attach programs to the syscalls of a traced process (`-p PID` or `-- CMD ARGS...`).
    Trace(crate::cmd::TraceArgs),
    /// The bpf_conformance plugin protocol: program hex on stdin, r0 hex on stdout.
    Plugin {
        /// Input memory as hex.
        memory: Option<String>,
        /// Execution engine (default: the JIT on x86-64, the interpreter elsewhere).
        #[arg(long, value_enum, default_value_t = Engine::native_default())]
        engine: Engine,
        /// Standard input holds an ELF object's hex instead of bytecode.
        #[arg(long)]
        elf: bool,
    },
}

/// Arguments of `userbpf run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// ELF object (or, with --raw, use --raw FILE instead).
    pub object: Option<PathBuf>,
    /// Program name within the object.
    #[arg(long)]
    pub program: Option<String>,
    /// Plain bytecode file to run: r1 = input, r2 = its length.
    #[arg(long, conflicts_with = "object")]
    pub raw: Option<PathBuf>,
    /// Input data from a file.
    #[arg(long, conflicts_with = "data_hex")]
    pub data_in: Option<PathBuf>,
    /// Input data as hex.
    #[arg(long)]
    pub data_hex: Option<String>,
    /// Context from a file.
    #[arg(long)]
    pub ctx_in: Option<PathBuf>,
    /// Number of runs (mean duration is reported).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100_000_000))]
    pub repeat: u32,
    /// Execution engine for the verified program (default: the JIT on x86-64).
    #[arg(long, value_enum)]
    pub engine: Option<Engine>,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Run without a verifier pass in the checked interpreter (trusted programs only; every
    /// memory access is checked at run time).
    #[arg(long)]
    pub unverified: bool,
    /// Stop after this many instructions per run.
    #[arg(long)]
    pub budget: Option<u64>,
    /// Pin every map of the object as DIR/<map name> (readable with `userbpf map dump`).
    #[arg(long)]
    pub pin_dir: Option<PathBuf>,
    /// Fill element 0 of array map NAME from FILE before the run (NAME=FILE).
    #[arg(long, value_name = "NAME=FILE")]
    pub map_in: Vec<String>,
    /// Target BTF for CO-RE relocations (default: /sys/kernel/btf/vmlinux).
    #[arg(long)]
    pub btf: Option<PathBuf>,
}

/// Arguments of `userbpf xdp`.
#[derive(Debug, clap::Args)]
pub struct XdpArgs {
    /// ELF object.
    pub object: PathBuf,
    /// Program name within the object (xdp, tc or socket section).
    #[arg(long)]
    pub program: Option<String>,
    /// Input capture (pcap or pcapng, Ethernet); without it and --iface, --pin-dir only
    /// creates and pins the maps.
    #[arg(long)]
    pub pcap: Option<PathBuf>,
    /// Write the packets that pass or are sent back here (pcapng if it ends in .pcapng).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// One JSON line per packet, then a summary line.
    #[arg(long)]
    pub json: bool,
    /// Pin every map of the object as DIR/<map name>.
    #[arg(long)]
    pub pin_dir: Option<PathBuf>,
    /// Live: receive packets on this interface.
    #[arg(long, conflicts_with = "pcap")]
    pub iface: Option<String>,
    /// Live bridge mode: forward passed packets between --iface and this interface.
    #[arg(long, requires = "iface")]
    pub peer: Option<String>,
    /// Live: stop after this many seconds (default: at SIGINT/SIGTERM).
    #[arg(long, requires = "iface")]
    pub duration: Option<f64>,
    /// Live: stop after this many packets.
    #[arg(long, requires = "iface")]
    pub count: Option<u64>,
    /// Execution engine for the verified program (default: the JIT on x86-64).
    #[arg(long, value_enum)]
    pub engine: Option<Engine>,
    /// Run the program without a verifier pass in the checked interpreter (trusted
    /// programs the verifier cannot prove yet; every memory access is checked at run time).
    #[arg(long, conflicts_with = "engine")]
    pub unverified: bool,
}

/// Update flags of `map update`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum UpdateFlag {
    /// Create or replace (BPF_ANY).
    Any,
    /// Create only (BPF_NOEXIST).
    Noexist,
    /// Replace only (BPF_EXIST).
    Exist,
}

/// `userbpf map` operations.
#[derive(Debug, Subcommand)]
pub enum MapCommand {
    /// Print every element.
    Dump {
        /// The pinned map file.
        pinned: PathBuf,
        /// One JSON array.
        #[arg(long)]
        json: bool,
    },
    /// Print one element.
    Lookup {
        /// The pinned map file.
        pinned: PathBuf,
        /// Key as hex bytes (omit for queue/stack peek).
        #[arg(long)]
        key: Option<String>,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Create or change one element (push for queue/stack with no key).
    Update {
        /// The pinned map file.
        pinned: PathBuf,
        /// Key as hex bytes.
        #[arg(long)]
        key: Option<String>,
        /// Value as hex bytes.
        #[arg(long)]
        value: String,
        /// any, noexist or exist.
        #[arg(long, value_enum, default_value = "any")]
        flag: UpdateFlag,
    },
    /// Delete one element.
    Delete {
        /// The pinned map file.
        pinned: PathBuf,
        /// Key as hex bytes.
        #[arg(long)]
        key: String,
    },
}
