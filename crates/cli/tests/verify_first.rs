//! Nothing runs unverified unless asked for: the library API ([`userbpf::Ebpf`]) and the
//! commands (`run`, `xdp`) verify first and refuse what the verifier rejects; the checked
//! interpreter is the one explicit opt-out (`program_unverified`, `--unverified`), and it
//! still stops an out-of-bounds access at run time.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use userbpf::{Ebpf, EbpfError, EngineKind, TestRunInput};

/// Reads a packet byte at an offset the packet gives, without comparing with data_end: the
/// kernel's verifier rejects it.
const UNCHECKED: &str = r#"
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int unchecked(struct xdp_md *ctx)
{
	unsigned char *data = (void *)(long)ctx->data;
	unsigned int off = data[0] * 64;
	return data[off] & 1 ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
"#;

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

/// The unchecked program, built once with `userbpf build` (None when clang-19 is absent).
fn unchecked_object() -> Option<PathBuf> {
    static OBJECT: OnceLock<Option<PathBuf>> = OnceLock::new();
    OBJECT
        .get_or_init(|| {
            if Command::new("clang-19").arg("--version").output().is_err() {
                println!("skipped: clang-19 not found");
                return None;
            }
            let dir =
                std::env::temp_dir().join(format!("userbpf-verify-first-{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            let src = dir.join("unchecked.bpf.c");
            let obj = dir.join("unchecked.bpf.o");
            std::fs::write(&src, UNCHECKED).unwrap();
            let out = userbpf(&["build", src.to_str().unwrap(), "-o", obj.to_str().unwrap()]);
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            Some(obj)
        })
        .clone()
}

fn userbpf(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_userbpf"))
        .args(args)
        .output()
        .unwrap()
}

/// An Ethernet + IPv4 + UDP packet to port 53 from 192.0.2.1 (dropped by xdp_filter).
fn dns_packet() -> Vec<u8> {
    let mut p = vec![0u8; 64];
    p[12..14].copy_from_slice(&[0x08, 0x00]);
    p[14] = 0x45;
    p[23] = 17;
    p[26..30].copy_from_slice(&[192, 0, 2, 1]);
    p[36..38].copy_from_slice(&53u16.to_be_bytes());
    p
}

#[test]
fn library_verifies_and_runs_in_the_default_engine() {
    let bytes = std::fs::read(examples().join("xdp_filter.bpf.o")).unwrap();
    let ebpf = Ebpf::load(&bytes).unwrap();
    assert_eq!(ebpf.program_names(), vec!["xdp_filter"]);
    let program = ebpf.program("xdp_filter").unwrap();
    assert_eq!(program.kind(), EngineKind::native_default());
    let packet = dns_packet();
    let input = TestRunInput {
        data_in: &packet,
        ctx_in: None,
        repeat: 1,
    };
    assert_eq!(program.test_run(&input).unwrap().retval, 1); // XDP_DROP
    let interp = ebpf
        .program_in("xdp_filter", Some(EngineKind::Interp))
        .unwrap();
    assert_eq!(interp.kind(), EngineKind::Interp);
    assert_eq!(interp.test_run(&input).unwrap().retval, 1);
    // Both runs counted in the same map.
    let drops = ebpf
        .map("verdicts")
        .unwrap()
        .lookup(&1u32.to_ne_bytes())
        .unwrap();
    assert_eq!(u64::from_ne_bytes(drops[..8].try_into().unwrap()), 2);
}

#[test]
fn library_refuses_a_rejected_program_and_offers_the_checked_interpreter() {
    let Some(obj) = unchecked_object() else {
        return;
    };
    let ebpf = Ebpf::load(&std::fs::read(&obj).unwrap()).unwrap();
    match ebpf.program("unchecked") {
        Err(EbpfError::Rejected(m)) => {
            assert!(m.contains("invalid access to packet"), "{m}");
            assert!(m.contains("--unverified"), "{m}");
        }
        Err(e) => panic!("unexpected error {e}"),
        Ok(_) => panic!("the verifier accepted a read without a bounds check"),
    }
    let program = ebpf.program_unverified("unchecked").unwrap();
    assert_eq!(program.kind(), EngineKind::Interp);
    let long = vec![1u8; 128];
    let run = |data: &[u8]| {
        program.test_run(&TestRunInput {
            data_in: data,
            ctx_in: None,
            repeat: 1,
        })
    };
    assert_eq!(run(&long).unwrap().retval, 1);
    // Byte 0 = 255: the read at 16,320 leaves the packet's frame; the checked interpreter
    // stops it.
    let mut far = vec![0u8; 64];
    far[0] = 255;
    let err = run(&far).unwrap_err().to_string();
    assert!(err.contains("invalid read"), "{err}");
}

#[test]
fn commands_refuse_a_rejected_program_unless_unverified() {
    let Some(obj) = unchecked_object() else {
        return;
    };
    let obj = obj.to_str().unwrap();
    let hex = "01".repeat(128);
    let out = userbpf(&["run", obj, "--data-hex", &hex, "--json"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("invalid access to packet"), "{stderr}");
    assert!(out.stdout.is_empty());

    let out = userbpf(&["run", obj, "--data-hex", &hex, "--json", "--unverified"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("without verification"), "{stderr}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["retval"], 1);

    // The JIT never runs unverified programs.
    let out = userbpf(&["run", obj, "--unverified", "--engine", "jit"]);
    assert_eq!(out.status.code(), Some(2));

    let pcap = examples().join("xdp_filter.pcap");
    let pcap = if pcap.exists() {
        pcap
    } else {
        examples().join("xdp_counter.pcap")
    };
    let out = userbpf(&["xdp", obj, "--pcap", pcap.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("invalid access to packet"), "{stderr}");
}

/// A program array holding a program the verifier accepts (`good`) and one it rejects
/// (`bad`, the unchecked read above), and two callers that tail-call each slot and return
/// 100 when the tail call falls through.
const TAIL_CALLS: &str = r#"
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int good(struct xdp_md *ctx)
{
	return 7;
}

SEC("xdp")
int bad(struct xdp_md *ctx)
{
	unsigned char *data = (void *)(long)ctx->data;
	unsigned int off = data[0] * 64;
	return data[off] & 1 ? XDP_DROP : XDP_PASS;
}

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 2);
	__uint(key_size, sizeof(__u32));
	__array(values, int (void *));
} jmp SEC(".maps") = {
	.values = { [0] = (void *)&good, [1] = (void *)&bad },
};

SEC("xdp")
int call_good(struct xdp_md *ctx)
{
	bpf_tail_call(ctx, &jmp, 0);
	return 100;
}

SEC("xdp")
int call_bad(struct xdp_md *ctx)
{
	bpf_tail_call(ctx, &jmp, 1);
	return 100;
}

char LICENSE[] SEC("license") = "GPL";
"#;

#[test]
fn a_rejected_program_is_no_tail_call_target_and_blocks_no_other_program() {
    if Command::new("clang-19").arg("--version").output().is_err() {
        println!("skipped: clang-19 not found");
        return;
    }
    let dir = std::env::temp_dir().join(format!("userbpf-tail-targets-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("tail.bpf.c");
    let obj = dir.join("tail.bpf.o");
    std::fs::write(&src, TAIL_CALLS).unwrap();
    let out = userbpf(&["build", src.to_str().unwrap(), "-o", obj.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ebpf = Ebpf::load(&std::fs::read(&obj).unwrap()).unwrap();
    // The rejected program itself is still refused.
    assert!(matches!(ebpf.program("bad"), Err(EbpfError::Rejected(_))));
    let packet = vec![0u8; 64];
    let input = TestRunInput {
        data_in: &packet,
        ctx_in: None,
        repeat: 1,
    };
    for engine in [EngineKind::Interp, EngineKind::native_default()] {
        let retval = |name: &str| {
            let program = ebpf.program_in(name, Some(engine)).unwrap();
            assert_eq!(program.kind(), engine);
            program.test_run(&input).unwrap().retval
        };
        // A tail call into a verified program runs it.
        assert_eq!(retval("call_good"), 7, "{engine:?}");
        // The slot naming the rejected program behaves as an empty slot: the call falls
        // through.
        assert_eq!(retval("call_bad"), 100, "{engine:?}");
        // Verified programs of the object still run on their own.
        assert_eq!(retval("good"), 7, "{engine:?}");
    }
    // Without verification (the opt-out), the checked interpreter reaches every program.
    let unverified = ebpf.program_unverified("call_bad").unwrap();
    assert_eq!(unverified.test_run(&input).unwrap().retval, 2); // XDP_PASS from `bad`
    let _ = std::fs::remove_dir_all(&dir);
}

/// An fentry program: its context is a kernel function's arguments.
const FENTRY: &str = r#"
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("fentry/do_unlinkat")
int on_unlink(void *ctx)
{
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
"#;

#[test]
fn run_refuses_kernel_attached_program_types_plainly() {
    if Command::new("clang-19").arg("--version").output().is_err() {
        println!("skipped: clang-19 not found");
        return;
    }
    let dir = std::env::temp_dir().join(format!("userbpf-fentry-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("fentry.bpf.c");
    let obj = dir.join("fentry.bpf.o");
    std::fs::write(&src, FENTRY).unwrap();
    let out = userbpf(&["build", src.to_str().unwrap(), "-o", obj.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = userbpf(&["run", obj.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("attaches to a kernel function or object"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
