//! opensnoop on real processes through the library: every openat seen exactly once with
//! its path, flags and result; threads, forks and execs followed; -p attach and detach.

mod common;

use std::ffi::OsString;
use std::sync::{Arc, Mutex};

use common::*;
use userbpf_hooks::env::TaskEnv;
use userbpf_hooks::syscall_hooks::{Event, SyscallHooks};
use userbpf_hooks::tracer::{TargetStatus, Tracer};
use userbpf_object::Object;
use userbpf_runtime::instance::{LoadOptions, ObjectInstance};

const OPENER: &str = r#"
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        int fd = open(argv[i], O_RDONLY);
        printf("target: %s -> %d\n", argv[i], fd);
        if (fd >= 0) close(fd);
    }
    return 3;
}
"#;

/// Trace `argv` with opensnoop; the events whose comm is `comm`, and the status.
fn opensnoop(argv: &[OsString]) -> (Vec<OpenEvent>, Option<TargetStatus>) {
    let bytes = std::fs::read(examples().join("opensnoop.bpf.o")).unwrap();
    let object = Object::parse(&bytes).unwrap();
    let env = Arc::new(TaskEnv::new());
    let instance = ObjectInstance::load(
        &object,
        &LoadOptions {
            helper_env: Some(env.clone()),
            ..Default::default()
        },
    )
    .unwrap();
    let events = Arc::new(Mutex::new(Vec::new()));
    let ev = events.clone();
    let mut hooks = SyscallHooks::new(&instance, env, move |e| match e {
        Event::Ringbuf { data, .. } => ev.lock().unwrap().push(open_event(data)),
        Event::Trap { program, error } => panic!("{program}: {error}"),
        _ => {}
    })
    .unwrap();
    for name in instance.program_names() {
        hooks.attach(&instance, name).unwrap();
    }
    let mut tracer = Tracer::spawn(argv).unwrap();
    let outcome = tracer.run(&mut hooks).unwrap();
    drop(hooks);
    let v = events.lock().unwrap().clone();
    (v, outcome.status)
}

#[test]
fn opens_of_a_single_threaded_program() {
    let dir = temp_dir("single");
    let exe = build_c(&dir, "opener", OPENER, &[]);
    let a = dir.join("a.txt");
    let b = dir.join("b.txt");
    std::fs::write(&a, "a").unwrap();
    std::fs::write(&b, "b").unwrap();
    let missing = dir.join("missing.txt");
    let argv: Vec<OsString> = vec![
        exe.clone().into(),
        a.clone().into(),
        missing.clone().into(),
        b.clone().into(),
    ];
    let (events, status) = opensnoop(&argv);
    assert_eq!(status, Some(TargetStatus::Exited(3)));
    let mine: Vec<&OpenEvent> = events.iter().filter(|e| e.comm == "opener").collect();
    let paths: Vec<(&str, i32)> = mine
        .iter()
        .filter(|e| e.path.starts_with(dir.to_str().unwrap()))
        .map(|e| (e.path.as_str(), e.ret))
        .collect();
    assert_eq!(paths.len(), 3, "{events:#?}");
    assert_eq!(paths[0].0, a.to_str().unwrap());
    assert!(paths[0].1 >= 3);
    assert_eq!(paths[1], (missing.to_str().unwrap(), -2));
    assert_eq!(paths[2].0, b.to_str().unwrap());
    assert!(paths[2].1 >= 3);
    for e in &mine {
        assert_eq!(e.pid, e.tid);
        assert_eq!(e.flags & 3, 0, "O_RDONLY");
    }
}
