//! userbpf's built-ins end to end: C programs compiled with clang-19 `-fno-builtin`, so
//! that `memset`, `memcpy`, `memmove` and `memcmp` stay calls of undefined functions (as in
//! Falco's `probe.o`), are verified and run in both engines with the right results; the
//! verifier rejects a size beyond the buffer, an unbounded size, an uninitialised source
//! (where uninitialised stack reads are refused) and a read-only map value as destination;
//! an object that defines its own `memset` keeps calling it. The kernel cannot load these
//! objects (libbpf has nothing to link `memset` to), so there is no kernel oracle here.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use userbpf::{Ebpf, EbpfError, EngineKind, TestRunInput};
use userbpf_isa::Program as Insns;
use userbpf_verifier::object_input::{map_infos, privileged_options};
use userbpf_verifier::{verify, ProgType, VerifierInput};

const PRELUDE: &str = r#"
typedef unsigned char u8;
typedef unsigned int u32;
typedef unsigned long long u64;
#define SEC(n) __attribute__((section(n), used))
struct xdp_md { u32 data, data_end, data_meta, ingress_ifindex, rx_queue_index, egress_ifindex; };
void *memset(void *d, int c, unsigned long n);
void *memcpy(void *d, const void *s, unsigned long n);
void *memmove(void *d, const void *s, unsigned long n);
int memcmp(const void *a, const void *b, unsigned long n);
static void *(*bpf_map_lookup_elem)(void *map, const void *key) = (void *)1;
#define PACKET(ctx) u8 *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end
"#;

const PROGRAMS: &str = r#"
struct val { u8 b[32]; };
struct {
	int (*type)[2];
	int (*max_entries)[1];
	u32 *key;
	struct val *value;
} vals SEC(".maps");

const volatile u8 ro[16] = {1};

SEC("xdp") int set_stack(struct xdp_md *ctx)
{
	u8 buf[64];
	u8 *p = memset(buf, 7, sizeof buf);
	memset(buf + 8, 0, 8);
	return p[0] + buf[63] + buf[31] + buf[9] + p[3];
}

SEC("xdp") int copy_map(struct xdp_md *ctx)
{
	PACKET(ctx);
	if (data + 1 > end)
		return 0;
	u32 k = 0;
	struct val *v = bpf_map_lookup_elem(&vals, &k);
	if (!v)
		return 1;
	v->b[5] = data[0];
	u8 buf[32];
	memcpy(buf, v->b, sizeof buf);
	return buf[5] * 2 + buf[6];
}

SEC("xdp") int cmp_packet(struct xdp_md *ctx)
{
	PACKET(ctx);
	if (data + 16 > end)
		return 0;
	u8 a[8];
	memcpy(a, data, 8);
	int c = memcmp(a, data + 8, 8);
	return c == 0 ? 100 : c < 0 ? 101 : 102;
}

SEC("xdp") int move_packet(struct xdp_md *ctx)
{
	PACKET(ctx);
	if (data + 16 > end)
		return 0;
	memmove(data + 1, data, 8);
	return data[1] * 256 + data[8];
}

SEC("xdp") int zero_index(struct xdp_md *ctx)
{
	PACKET(ctx);
	u8 buf[16];
	if (data + 1 > end)
		return 0;
	memset(buf, 0, sizeof buf);
	/* Known zero only if memset left the bytes zero, not merely written. */
	return data[buf[3]];
}

SEC("xdp") int too_long(struct xdp_md *ctx)
{
	u8 buf[16];
	memset(buf, 0, 32);
	return buf[1];
}

SEC("xdp") int unbounded(struct xdp_md *ctx)
{
	PACKET(ctx);
	if (data + 4 > end)
		return 0;
	u8 buf[64];
	memset(buf, 0, *(u32 *)data);
	return buf[0];
}

SEC("xdp") int ro_dst(struct xdp_md *ctx)
{
	memset((void *)ro, 0, 16);
	return ro[0];
}

SEC("xdp") int uninit_src(struct xdp_md *ctx)
{
	u8 a[16], b[16];
	memcpy(b, a, 16);
	return b[0];
}

SEC("xdp") int uninit_self(struct xdp_md *ctx)
{
	u8 a[16];
	memcpy(a, a, 16);
	return a[0];
}

char LICENSE[] SEC("license") = "GPL";
"#;

/// An object that defines `memset` itself: its programs call it, not the built-in.
const OWN_MEMSET: &str = r#"
__attribute__((noinline)) void *memset(void *d, int c, unsigned long n)
{
	u8 *p = d;
	for (unsigned long i = 0; i < n && i < 16; i++)
		p[i] = c + 1;
	return d;
}

SEC("xdp") int own(struct xdp_md *ctx)
{
	u8 buf[16];
	memset(buf, 7, 16);
	return buf[3];
}

char LICENSE[] SEC("license") = "GPL";
"#;

/// Compile `body` after the prelude with `-fno-builtin`; None (and a "skipped" line) when
/// clang-19 is absent.
fn compile(name: &str, body: &str) -> Option<Vec<u8>> {
    if Command::new("clang-19").arg("--version").output().is_err() {
        println!("skipped: clang-19 not found");
        return None;
    }
    let dir = std::env::temp_dir().join(format!("userbpf-builtins-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src: PathBuf = dir.join(format!("{name}.bpf.c"));
    let obj = dir.join(format!("{name}.bpf.o"));
    std::fs::write(&src, format!("{PRELUDE}{body}")).unwrap();
    let out = Command::new("clang-19")
        .args(["-O2", "-g", "-target", "bpf", "-fno-builtin", "-c"])
        .arg(&src)
        .arg("-o")
        .arg(&obj)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(std::fs::read(&obj).unwrap())
}

fn programs() -> Option<&'static [u8]> {
    static OBJECT: OnceLock<Option<Vec<u8>>> = OnceLock::new();
    OBJECT
        .get_or_init(|| compile("programs", PROGRAMS))
        .as_deref()
}

/// r0 of `name` run on `packet` in both engines (they must agree).
fn run(ebpf: &Ebpf, name: &str, packet: &[u8]) -> u32 {
    let input = TestRunInput {
        data_in: packet,
        ctx_in: None,
        repeat: 1,
    };
    let mut results = Vec::new();
    for engine in [EngineKind::Interp, EngineKind::native_default()] {
        let program = ebpf
            .program_in(name, Some(engine))
            .unwrap_or_else(|e| panic!("{name} in {engine:?}: {e}"));
        let out = program
            .test_run(&input)
            .unwrap_or_else(|e| panic!("{name} in {engine:?}: {e}"));
        results.push(out.retval);
    }
    assert_eq!(results[0], results[1], "{name}: interpreter and JIT differ");
    results[0]
}

fn rejection(ebpf: &Ebpf, name: &str) -> String {
    match ebpf.program_in(name, Some(EngineKind::Interp)) {
        Err(EbpfError::Rejected(m)) => m,
        Err(e) => panic!("{name}: unexpected error {e}"),
        Ok(_) => panic!("{name}: accepted"),
    }
}

#[test]
fn calls_are_builtin_helper_calls_and_run_in_both_engines() {
    let Some(bytes) = programs() else {
        return;
    };
    let ebpf = Ebpf::load(bytes).unwrap();
    // The calls clang left are listed as extern calls and became built-in helper calls.
    let spec = ebpf
        .object()
        .programs
        .iter()
        .find(|p| p.name == "set_stack")
        .unwrap();
    assert_eq!(spec.extern_calls.len(), 2);
    for x in &spec.extern_calls {
        assert_eq!(x.name, "memset");
        let insn = spec.insns.iter().find(|(s, _)| *s == x.slot).unwrap().1;
        assert_eq!(
            *insn,
            userbpf_isa::Insn::Call(userbpf_isa::CallTarget::Helper(
                userbpf_object::builtin_id("memset").unwrap()
            ))
        );
    }
    // 7 + 7 + 7 + 0 + 7 through the pointer memset returned.
    assert_eq!(run(&ebpf, "set_stack", &[0u8; 16]), 28);
    assert_eq!(run(&ebpf, "copy_map", &[21u8; 16]), 42);
    let same: Vec<u8> = (1..=8).chain(1..=8).collect();
    assert_eq!(run(&ebpf, "cmp_packet", &same), 100);
    let mut greater = same.clone();
    greater[12] = 200;
    assert_eq!(run(&ebpf, "cmp_packet", &greater), 101);
    let mut less = same.clone();
    less[12] = 0;
    assert_eq!(run(&ebpf, "cmp_packet", &less), 102);
    assert_eq!(run(&ebpf, "zero_index", &[33u8; 16]), 33);
    let packet: Vec<u8> = (10..26).collect();
    // data[1] = 10 (old data[0]), data[8] = 17 (old data[7]).
    assert_eq!(run(&ebpf, "move_packet", &packet), 10 * 256 + 17);
}

#[test]
fn unsafe_calls_are_rejected() {
    let Some(bytes) = programs() else {
        return;
    };
    let ebpf = Ebpf::load(bytes).unwrap();
    let m = rejection(&ebpf, "too_long");
    assert!(m.contains("invalid write to stack R1"), "{m}");
    let m = rejection(&ebpf, "unbounded");
    assert!(m.contains("R3 unbounded memory access"), "{m}");
    let m = rejection(&ebpf, "ro_dst");
    assert!(m.contains("write into map forbidden"), "{m}");
}

#[test]
fn sources_must_be_initialised_where_uninitialised_stack_is_refused() {
    let Some(bytes) = programs() else {
        return;
    };
    let ebpf = Ebpf::load(bytes).unwrap();
    let object = ebpf.object();
    let maps = map_infos(object);
    for name in ["uninit_src", "uninit_self"] {
        let spec = object.programs.iter().find(|p| p.name == name).unwrap();
        let program: &Insns = &spec.insns;
        let mut input = VerifierInput::new(program, ProgType::Xdp);
        input.maps = &maps;
        input.options = privileged_options(spec);
        // CAP_PERFMON: reading uninitialised stack is allowed, as the kernel allows it.
        assert!(verify(&input).is_ok(), "{name}");
        input.options.allow_uninit_stack = false;
        let e = verify(&input).unwrap_err();
        assert!(
            e.message.contains("invalid indirect read from stack R2"),
            "{name}: {}",
            e.message
        );
    }
}

#[test]
fn an_object_defining_memset_calls_its_own() {
    let Some(bytes) = compile("own_memset", OWN_MEMSET) else {
        return;
    };
    let ebpf = Ebpf::load(&bytes).unwrap();
    assert!(ebpf.object().programs[0].extern_calls.is_empty());
    assert_eq!(run(&ebpf, "own", &[0u8; 16]), 8);
}

#[test]
fn inspect_and_verify_say_the_kernel_cannot_load_it() {
    let Some(bytes) = programs() else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("userbpf-builtins-{}", std::process::id()));
    let obj = dir.join("notes.bpf.o");
    std::fs::write(&obj, bytes).unwrap();
    let note = "memset linked as a userbpf built-in (the kernel cannot load this object)";
    let userbpf = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_userbpf"))
            .args(args)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let path = obj.to_str().unwrap();
    let inspect = userbpf(&["inspect", path]);
    assert!(inspect.contains(note), "{inspect}");
    let verify = userbpf(&["verify", path, "--program", "set_stack", "--log-level", "1"]);
    assert!(
        verify.contains(&format!("set_stack: note: {note}")),
        "{verify}"
    );
    let quiet = userbpf(&["verify", path, "--program", "copy_map", "--log-level", "1"]);
    assert!(!quiet.contains("memset linked"), "{quiet}");
}
