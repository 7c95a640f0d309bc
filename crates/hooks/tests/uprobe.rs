//! uprobes and uretprobes end to end: examples/uprobe_args.bpf.o on add_numbers() of
//! examples/uprobe_target.c (built here with `cc`), single- and multi-threaded, with the
//! probed instruction emulated (`endbr64`) or executed out of line (`imul`, and a
//! RIP-relative load in a naked variant of add_numbers, relocated into the slot); every
//! call reported exactly once at entry (arguments) and at return (value). And a uprobe on
//! libc's getpid resolved to the mapped libc.

mod common;

use std::collections::HashMap;
use std::process::Command;
use std::sync::{Arc, Mutex};

use common::*;
use userbpf_hooks::env::TaskEnv;
use userbpf_hooks::syscall_hooks::{Event, SyscallHooks};
use userbpf_hooks::tracer::{TargetStatus, Tracer};
use userbpf_object::Object;
use userbpf_runtime::instance::{LoadOptions, ObjectInstance};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Rec {
    tid: u32,
    is_return: u32,
    a: i64,
    b: i64,
    ret: i64,
    func_ip: u64,
}

fn rec(d: &[u8]) -> Rec {
    let u32_at = |o: usize| u32::from_ne_bytes(d[o..o + 4].try_into().unwrap());
    let i64_at = |o: usize| i64::from_ne_bytes(d[o..o + 8].try_into().unwrap());
    Rec {
        tid: u32_at(4),
        is_return: u32_at(8),
        a: i64_at(16),
        b: i64_at(24),
        ret: i64_at(32),
        func_ip: i64_at(40) as u64,
    }
}

fn trace(object: &Object, argv: &[&str]) -> (Vec<Rec>, Option<TargetStatus>) {
    let env = Arc::new(TaskEnv::new());
    let instance = ObjectInstance::load(
        object,
        &LoadOptions {
            helper_env: Some(env.clone()),
            ..Default::default()
        },
    )
    .unwrap();
    let recs = Arc::new(Mutex::new(Vec::new()));
    let r = recs.clone();
    let mut hooks = SyscallHooks::new(&instance, env, move |e| match e {
        Event::Ringbuf { data, .. } => r.lock().unwrap().push(rec(data)),
        Event::Trap { program, error } => panic!("{program}: {error}"),
        _ => {}
    })
    .unwrap();
    for name in instance.program_names() {
        let attached = hooks.attach(object, &instance, name).unwrap();
        assert!(attached.note.is_none(), "{:?}", attached.note);
    }
    let argv: Vec<std::ffi::OsString> = argv.iter().map(Into::into).collect();
    let mut tracer = Tracer::spawn(&argv).unwrap();
    let outcome = tracer.run(&mut hooks).unwrap();
    drop(hooks);
    let out = recs.lock().unwrap().clone();
    (out, outcome.status)
}

fn check(recs: &[Rec], threads: i64, n: i64) {
    let entries: Vec<_> = recs.iter().filter(|r| r.is_return == 0).collect();
    let returns: Vec<_> = recs.iter().filter(|r| r.is_return == 1).collect();
    assert_eq!(entries.len() as i64, threads * n, "entries");
    assert_eq!(returns.len() as i64, threads * n, "returns");
    let mut seen = HashMap::new();
    for e in &entries {
        *seen.entry((e.a, e.b)).or_insert(0) += 1;
    }
    let mut rets = HashMap::new();
    for r in &returns {
        *rets.entry(r.ret).or_insert(0) += 1;
    }
    for t in 0..threads {
        for i in 0..n {
            assert_eq!(seen.get(&(t, i)), Some(&1), "call ({t}, {i})");
            assert_eq!(rets.get(&(t * 1000 + i)), Some(&1), "return of ({t}, {i})");
        }
    }
    // Per thread, entries and returns alternate; every record names add_numbers.
    let ip = entries[0].func_ip;
    assert!(recs.iter().all(|r| r.func_ip == ip));
    let mut open: HashMap<u32, i64> = HashMap::new();
    for r in recs {
        if r.is_return == 0 {
            assert!(open.insert(r.tid, r.a * 1000 + r.b).is_none());
        } else {
            assert_eq!(open.remove(&r.tid), Some(r.ret));
        }
    }
}

#[test]
fn uprobe_and_uretprobe_report_every_call_once() {
    let dir = temp_dir("uprobe");
    let src = std::fs::read_to_string(examples().join("uprobe_target.c")).unwrap();
    // "uprobe/uprobe_target:add_numbers": found in PATH, as libbpf does.
    let path = format!(
        "{}:{}",
        dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    std::env::set_var("PATH", path);
    let object =
        Object::parse(&std::fs::read(examples().join("uprobe_args.bpf.o")).unwrap()).unwrap();
    let rip_relative = src.replace(
        "__attribute__((noinline)) long add_numbers(long a, long b)\n{\n\t__asm__ volatile(\"\" ::: \"memory\");\n\treturn a * 1000 + b;\n}",
        "__attribute__((used)) long scale = 1000;\n\
         __attribute__((naked, noinline)) long add_numbers(long a, long b)\n{\n\
         \t__asm__(\"mov scale(%rip), %rax\\n\\timul %rdi, %rax\\n\\tadd %rsi, %rax\\n\\tret\");\n}",
    );
    assert_ne!(
        rip_relative, src,
        "add_numbers not found in uprobe_target.c"
    );
    for (source, flags, how) in [
        (&src, "-fcf-protection=full", "emulated endbr64"),
        (&src, "-fcf-protection=none", "imul out of line"),
        (
            &rip_relative,
            "-fcf-protection=none",
            "RIP-relative load out of line",
        ),
    ] {
        build_c(&dir, "uprobe_target", source, &["-pthread", flags]);
        for (threads, n) in [(1i64, 20i64), (4, 50), (8, 40)] {
            let (recs, status) = trace(
                &object,
                &["uprobe_target", &n.to_string(), &threads.to_string()],
            );
            assert_eq!(status, Some(TargetStatus::Exited(0)), "{how}");
            check(&recs, threads, n);
        }
    }
}

const GETPID_PROG: &str = r#"
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, __u32);
         __type(value, __u64); } calls SEC(".maps");
SEC("uprobe/libc.so.6:getpid")
int on_getpid(void *ctx)
{
	__u32 k = 0;
	__u64 *v = bpf_map_lookup_elem(&calls, &k);
	if (v)
		__sync_fetch_and_add(v, 1);
	return 0;
}
char LICENSE[] SEC("license") = "GPL";
"#;

#[test]
fn uprobe_on_libc_getpid() {
    if Command::new("clang-19").arg("--version").output().is_err() {
        eprintln!("skipped: clang-19 is not installed");
        return;
    }
    let dir = temp_dir("uprobe-libc");
    let src = dir.join("getpid.bpf.c");
    std::fs::write(&src, GETPID_PROG).unwrap();
    let obj = dir.join("getpid.bpf.o");
    let st = Command::new("clang-19")
        .args([
            "-target",
            "bpf",
            "-O2",
            "-g",
            "-c",
            "-I/usr/include/x86_64-linux-gnu",
        ])
        .arg(&src)
        .arg("-o")
        .arg(&obj)
        .status()
        .unwrap();
    assert!(st.success());
    let exe = build_c(
        &dir,
        "pids",
        "#include <unistd.h>\n#include <stdio.h>\nint main(void){long s=0;for(int i=0;i<7;i++)s+=getpid();printf(\"%ld\\n\",s);return 0;}\n",
        &[],
    );
    let object = Object::parse(&std::fs::read(&obj).unwrap()).unwrap();
    let env = Arc::new(TaskEnv::new());
    let instance = ObjectInstance::load(
        &object,
        &LoadOptions {
            helper_env: Some(env.clone()),
            ..Default::default()
        },
    )
    .unwrap();
    let mut hooks = SyscallHooks::new(&instance, env, |_| {}).unwrap();
    hooks.attach(&object, &instance, "on_getpid").unwrap();
    let mut tracer = Tracer::spawn(&[exe.into()]).unwrap();
    let outcome = tracer.run(&mut hooks).unwrap();
    drop(hooks);
    assert_eq!(outcome.status, Some(TargetStatus::Exited(0)));
    let map = instance.map("calls").unwrap();
    let v = map.lookup(&0u32.to_ne_bytes()).unwrap();
    assert_eq!(u64::from_ne_bytes(v[..8].try_into().unwrap()), 7);
}
