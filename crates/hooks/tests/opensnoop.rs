//! opensnoop on real processes through the library: every openat seen exactly once with
//! its path, flags and result; threads, forks and execs followed; -p attach and detach.

mod common;

use std::ffi::OsString;
use std::sync::{Arc, Mutex};

use common::*;
use userbpf_hooks::env::TaskEnv;
use userbpf_hooks::syscall_hooks::{Event, SyscallHooks};
use userbpf_hooks::tracer::{Outcome, StopHandle, TargetStatus, Tracer};
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

/// Trace `argv` with opensnoop: the events and the target's status.
fn opensnoop(argv: &[OsString]) -> (Vec<OpenEvent>, Option<TargetStatus>) {
    let (events, outcome) = opensnoop_with(|| Tracer::spawn(argv).unwrap(), |_| {});
    (events, outcome.status)
}

/// Trace with opensnoop through the tracer `start` makes; `during` gets the tracer's stop
/// handle (before the trace runs, from the tracing thread).
fn opensnoop_with(
    start: impl FnOnce() -> Tracer,
    during: impl FnOnce(StopHandle),
) -> (Vec<OpenEvent>, Outcome) {
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
        hooks.attach(&object, &instance, name).unwrap();
    }
    let mut tracer = start();
    during(tracer.stop_handle());
    let outcome = tracer.run(&mut hooks).unwrap();
    drop(hooks);
    let v = events.lock().unwrap().clone();
    (v, outcome)
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

const THREADS: &str = r#"
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>
static const char *dir;
static void *worker(void *arg) {
    char path[512];
    snprintf(path, sizeof path, "%s/t%ld", dir, (long)arg);
    int fd = open(path, O_RDONLY);
    if (fd >= 0) close(fd);
    return 0;
}
int main(int argc, char **argv) {
    dir = argv[1];
    pthread_t t[4];
    for (long i = 0; i < 4; i++) pthread_create(&t[i], 0, worker, (void *)i);
    for (int i = 0; i < 4; i++) pthread_join(t[i], 0);
    char path[512];
    snprintf(path, sizeof path, "%s/main", dir);
    int fd = open(path, O_RDONLY);
    printf("target: main %d\n", fd >= 0);
    return 0;
}
"#;

#[test]
fn every_thread_is_traced() {
    let dir = temp_dir("threads");
    let exe = build_c(&dir, "threads", THREADS, &["-pthread"]);
    for name in ["t0", "t1", "t2", "t3", "main"] {
        std::fs::write(dir.join(name), name).unwrap();
    }
    let (events, status) = opensnoop(&[exe.into(), dir.clone().into()]);
    assert_eq!(status, Some(TargetStatus::Exited(0)));
    let d = dir.to_str().unwrap();
    let mine: Vec<&OpenEvent> = events.iter().filter(|e| e.path.starts_with(d)).collect();
    assert_eq!(mine.len(), 5, "{mine:#?}");
    let pid = mine[0].pid;
    let mut tids = std::collections::HashSet::new();
    for e in &mine {
        assert_eq!(e.pid, pid, "one process");
        assert!(e.ret >= 3, "{e:?}");
        tids.insert(e.tid);
    }
    assert_eq!(tids.len(), 5, "each open on its own thread: {mine:#?}");
    let main = mine.iter().find(|e| e.path.ends_with("/main")).unwrap();
    assert_eq!(main.tid, pid);
    for i in 0..4 {
        let t = mine
            .iter()
            .find(|e| e.path.ends_with(&format!("/t{i}")))
            .unwrap();
        assert_ne!(t.tid, pid);
        assert_eq!(t.comm, "threads");
    }
}

const FORKER: &str = r#"
#include <fcntl.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>
int main(int argc, char **argv) {
    /* argv: opener-path, file-for-child, file-for-parent */
    pid_t pid = fork();
    if (pid == 0) {
        execl(argv[1], "opener", argv[2], (char *)0);
        _exit(99);
    }
    int status;
    waitpid(pid, &status, 0);
    int fd = open(argv[3], O_RDONLY);
    printf("target: child %d parent %d\n", WEXITSTATUS(status), fd >= 0);
    return WEXITSTATUS(status) + 10;
}
"#;

#[test]
fn forks_and_execs_are_followed() {
    let dir = temp_dir("fork");
    let opener = build_c(&dir, "opener", OPENER, &[]);
    let forker = build_c(&dir, "forker", FORKER, &[]);
    let child_file = dir.join("child.txt");
    let parent_file = dir.join("parent.txt");
    std::fs::write(&child_file, "c").unwrap();
    std::fs::write(&parent_file, "p").unwrap();
    let (events, status) = opensnoop(&[
        forker.into(),
        opener.into(),
        child_file.clone().into(),
        parent_file.clone().into(),
    ]);
    // opener exits 3; forker adds 10.
    assert_eq!(status, Some(TargetStatus::Exited(13)));
    let d = dir.to_str().unwrap();
    let mine: Vec<&OpenEvent> = events.iter().filter(|e| e.path.starts_with(d)).collect();
    assert_eq!(mine.len(), 2, "{mine:#?}");
    let child = mine
        .iter()
        .find(|e| e.path == child_file.to_str().unwrap())
        .unwrap();
    let parent = mine
        .iter()
        .find(|e| e.path == parent_file.to_str().unwrap())
        .unwrap();
    assert_eq!(child.comm, "opener", "comm after exec");
    assert_eq!(parent.comm, "forker");
    assert_ne!(child.pid, parent.pid);
    assert!(child.ret >= 3 && parent.ret >= 3);
}

const LOOPER: &str = r#"
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
int main(int argc, char **argv) {
    /* Opens argv[1] every 10 ms until argv[2] exists, then exits 7. */
    for (;;) {
        int fd = open(argv[1], O_RDONLY);
        if (fd >= 0) close(fd);
        if (access(argv[2], F_OK) == 0) return 7;
        usleep(10000);
    }
}
"#;

#[test]
fn attach_to_a_running_process_and_detach() {
    let dir = temp_dir("attach");
    let exe = build_c(&dir, "looper", LOOPER, &[]);
    let tick = dir.join("tick");
    let done = dir.join("done");
    std::fs::write(&tick, "t").unwrap();
    let mut child = std::process::Command::new(&exe)
        .arg(&tick)
        .arg(&done)
        .spawn()
        .unwrap();
    let pid = child.id() as i32;
    std::thread::sleep(std::time::Duration::from_millis(100));
    let (events, outcome) = opensnoop_with(
        || Tracer::attach(pid).unwrap(),
        |stop| {
            std::thread::spawn(move || {
                std::thread::sleep(std::time::Duration::from_millis(300));
                stop.stop();
            });
        },
    );
    assert!(outcome.detached);
    assert_eq!(outcome.status, None, "still running");
    let ticks: Vec<&OpenEvent> = events
        .iter()
        .filter(|e| e.path == tick.to_str().unwrap())
        .collect();
    assert!(ticks.len() >= 5, "{} ticks", ticks.len());
    for e in &ticks {
        assert_eq!(
            (e.pid, e.ret >= 3, e.comm.as_str()),
            (pid as u32, true, "looper")
        );
    }
    // The process goes on after the detach, untraced, and ends normally.
    std::thread::sleep(std::time::Duration::from_millis(50));
    std::fs::write(&done, "d").unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(7));
}
