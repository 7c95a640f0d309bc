//! BTF-typed contexts: fentry/fexit programs on the host's vmlinux functions, accepted and
//! rejected with the kernel's messages, and the same programs loaded into the kernel
//! (BPF_PROG_LOAD with the function's `attach_btf_id`) to compare verdicts.

mod common;

use std::sync::Arc;

use userbpf_object::btf::{Btf, Kind};
use userbpf_verifier::btf_ctx::BtfCtx;
use userbpf_verifier::input::attach_type;
use userbpf_verifier::{verify_with_btf, Options, ProgType, VerifierInput};

/// errno EPERM: bpf() refused.
const EPERM: i32 = 1;

/// BPF_PROG_TYPE_TRACING.
const TRACING: u32 = 26;

/// (section, program, expected: None accepted / Some(message our verifier gives)).
const CASES: &[(&str, &str, Option<&str>)] = &[
    (
        "fentry/tcp_connect",
        "r2 = *(u64 *)(r1 + 0)\nr0 = *(u16 *)(r2 + 16)\nr0 = 0\nexit",
        None,
    ),
    (
        "fentry/tcp_connect",
        "r2 = *(u64 *)(r1 + 8)\nr0 = 0\nexit",
        Some("func 'tcp_connect' doesn't have 2-th argument"),
    ),
    (
        "fexit/tcp_connect",
        "r2 = *(u64 *)(r1 + 8)\nr0 = 0\nexit",
        None,
    ),
    (
        "fexit/tcp_connect",
        "r2 = *(u64 *)(r1 + 16)\nr0 = 0\nexit",
        Some("func 'tcp_connect' doesn't have 3-th argument"),
    ),
    (
        "fentry/tcp_connect",
        "r2 = 0\n*(u64 *)(r1 + 0) = r2\nr0 = 0\nexit",
        Some("invalid bpf_context access off=0 size=8"),
    ),
    (
        "fentry/tcp_connect",
        "r2 = *(u64 *)(r1 + 0)\nr0 = *(u64 *)(r2 - 8)\nr0 = 0\nexit",
        Some("R2 is ptr_sock invalid negative access: off=-8"),
    ),
    (
        "fentry/tcp_connect",
        "r2 = *(u64 *)(r1 + 0)\nr0 = 0\n*(u32 *)(r2 + 0) = r0\nexit",
        Some("only read is supported"),
    ),
    (
        "fentry/tcp_connect",
        "r2 = *(u64 *)(r1 + 0)\nr0 = *(u64 *)(r2 + 32000)\nr0 = 0\nexit",
        Some("access beyond struct sock at off 32000 size 8"),
    ),
    (
        "fentry/tcp_connect",
        "r2 = *(u64 *)(r1 + 0)\nr2 += 16\nr0 = *(u16 *)(r2 + 0)\nr0 = 0\nexit",
        None,
    ),
    (
        "fentry/tcp_connect",
        "r2 = *(u64 *)(r1 + 0)\nr2 *= 2\nr0 = 0\nexit",
        Some("R2 pointer arithmetic with *= operator prohibited"),
    ),
    (
        "fentry/tcp_connect",
        "r1 = *(u64 *)(r1 + 0)\nr2 = 8\nr3 = 0\ncall 113\nr0 = 0\nexit",
        Some("R1 type=ptr_sock expected=fp, pkt, pkt_meta, map_value, mem"),
    ),
    (
        "fentry/tcp_connect",
        "r2 = *(u64 *)(r1 + 0)\nif r2 == 0 goto +1\nr0 = *(u8 *)(r2 + 16)\nr0 = 0\nexit",
        None,
    ),
    (
        "fentry/do_unlinkat",
        "r2 = *(u64 *)(r1 + 0)\nr0 = *(u32 *)(r2 + 0)\nr0 = 0\nexit",
        Some("R2 invalid mem access 'scalar'"),
    ),
];

fn host() -> Option<Arc<Btf>> {
    match userbpf_object::core_relo::host_btf() {
        Ok(b) => Some(Arc::new(b)),
        Err(e) => {
            println!("skipped: {e}");
            None
        }
    }
}

fn ours(btf: &Arc<Btf>, section: &str, text: &str) -> Result<(), String> {
    let ctx = BtfCtx::for_section(btf.clone(), section)
        .expect("a tracing section")
        .map_err(|e| e.to_string())?;
    let p = common::program(text);
    let input = VerifierInput {
        program: &p,
        prog_type: ProgType::Other(TRACING),
        maps: &[],
        options: Options {
            allow_uninit_stack: true,
            expected_attach_type: attach(section),
            ..Options::default()
        },
    };
    verify_with_btf(&input, Some(&ctx))
        .map(|_| ())
        .map_err(|e| e.message)
}

fn attach(section: &str) -> u32 {
    if section.starts_with("fexit/") {
        attach_type::TRACE_FEXIT
    } else {
        attach_type::TRACE_FENTRY
    }
}

#[test]
fn cases_match_expectations() {
    let Some(btf) = host() else { return };
    for (section, text, want) in CASES {
        let got = ours(&btf, section, text);
        match want {
            None => assert_eq!(got, Ok(()), "{section}:\n{text}"),
            Some(m) => assert_eq!(got, Err(m.to_string()), "{section}:\n{text}"),
        }
    }
}

#[test]
fn cases_match_the_kernel() {
    let Some(btf) = host() else { return };
    if let Err(e) = userbpf_kernel::available() {
        println!("skipped: {e}");
        return;
    }
    let mut differ = Vec::new();
    for (section, text, _) in CASES {
        let func = section.split_once('/').map_or("", |(_, f)| f);
        let Some(id) = btf.find_by_name(Kind::Func, func) else {
            println!("skipped {section}: not in vmlinux");
            continue;
        };
        let opts = userbpf_kernel::LoadOptions {
            expected_attach_type: attach(section),
            attach_btf_id: id,
            name: "btf_ctx".into(),
            ..Default::default()
        };
        let bytes = common::program(text).to_bytes();
        let kernel = userbpf_kernel::prog_load_with(TRACING, &bytes, "GPL", &opts);
        if let Err(k) = &kernel {
            if k.errno == EPERM {
                println!("skipped: bpf() refused {section}: {}", k.log);
                return;
            }
        }
        let got = ours(&btf, section, text);
        match (&kernel, &got) {
            (Ok(_), Ok(())) => {}
            (Err(k), Err(m)) if k.log.contains(m.as_str()) => {}
            // Known wording difference: the kernel's list of expected types is longer.
            (Err(k), Err(m))
                if m.starts_with("R1 type=ptr_sock ") && k.log.contains("R1 type=ptr_sock ") => {}
            _ => differ.push(format!(
                "{section}:\n{text}\n  kernel: {:?}\n  ours: {got:?}",
                kernel.as_ref().map(|_| ()).map_err(|e| e.log.clone())
            )),
        }
    }
    assert!(differ.is_empty(), "{}", differ.join("\n"));
}
