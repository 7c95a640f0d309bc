//! The tracer's seccomp fast path on real processes: a spawned command stops only at the
//! syscalls the handler lists (every one of them, entry and exit, in every thread and
//! child), overrides still skip the syscall, and a stop request leaves the command running
//! with working syscalls.

mod common;

use std::ffi::OsString;
use std::path::Path;
use std::time::Duration;

use common::*;
use userbpf_hooks::tracer::{Handler, Outcome, TargetStatus, Task, Tracer};
use userbpf_hooks::Regs;

const SYS_GETPPID: u64 = 110;
const SYS_GETUID: u64 = 102;

/// `fast N EXPECT PAUSE_US`: N rounds of getppid (checked against EXPECT: a number, or
/// "ppid" for the real parent) and getuid, in the main thread and a second thread, and one
/// fork whose child does a round too; sleeps PAUSE_US between rounds. Exits with the number
/// of getppid results that were not as expected (at most 100).
const WORKLOAD: &str = r#"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
static long n, expect, pause_us;
static int real_ppid;
static long rounds(void) {
    long bad = 0;
    for (long i = 0; i < n; i++) {
        long r = syscall(SYS_getppid);
        if (r != (expect < 0 ? real_ppid : expect)) bad++;
        syscall(SYS_getuid);
        if (pause_us) usleep(pause_us);
    }
    return bad;
}
static void *worker(void *arg) { (void)arg; return (void *)rounds(); }
int main(int argc, char **argv) {
    n = atol(argv[1]);
    expect = strcmp(argv[2], "ppid") == 0 ? -1 : atol(argv[2]);
    pause_us = atol(argv[3]);
    real_ppid = getppid();
    pthread_t t;
    void *r;
    pthread_create(&t, 0, worker, 0);
    long bad = rounds();
    pthread_join(t, &r);
    bad += (long)r;
    pid_t c = fork();
    if (c == 0) {
        real_ppid = getppid();
        _exit(rounds() > 0);
    }
    int st;
    waitpid(c, &st, 0);
    bad += WEXITSTATUS(st);
    return bad > 100 ? 100 : bad;
}
"#;

/// Records the syscall stops it is called for; overrides getppid with `fake` when set.
#[derive(Default)]
struct Recorder {
    traced: Option<Vec<u64>>,
    fake: Option<i64>,
    enters: Vec<(i32, u64)>,
    exits: Vec<(i32, u64, i64)>,
}

impl Handler for Recorder {
    fn traced_syscalls(&self) -> Option<Vec<u64>> {
        self.traced.clone()
    }

    fn syscall_enter(
        &mut self,
        task: Task,
        nr: u64,
        _: &[u64; 6],
        _: Option<&Regs>,
    ) -> Option<i64> {
        self.enters.push((task.tid, nr));
        if nr == SYS_GETPPID {
            self.fake
        } else {
            None
        }
    }

    fn syscall_exit(&mut self, task: Task, nr: u64, ret: i64, _: Option<&Regs>) -> Option<i64> {
        self.exits.push((task.tid, nr, ret));
        None
    }
}

fn argv(exe: &Path, n: u32, expect: &str, pause_us: u32) -> Vec<OsString> {
    vec![
        exe.into(),
        n.to_string().into(),
        expect.into(),
        pause_us.to_string().into(),
    ]
}

fn workload(test: &str) -> std::path::PathBuf {
    let dir = temp_dir(&format!("fast-path-{test}"));
    build_c(&dir, "fast", WORKLOAD, &["-pthread"])
}

#[test]
fn only_listed_syscalls_stop_entry_and_exit_in_every_task() {
    let exe = workload("listed");
    let n = 20;
    let mut rec = Recorder {
        traced: Some(vec![SYS_GETPPID]),
        ..Default::default()
    };
    let mut tracer = Tracer::spawn_for(&argv(&exe, n, "ppid", 0), &rec).unwrap();
    let outcome = tracer.run(&mut rec).unwrap();
    assert_eq!(outcome.status, Some(TargetStatus::Exited(0)));
    // Three tasks (main thread, second thread, forked child), each n rounds, plus the
    // two getppid calls that read the real parent.
    let want = 3 * n as usize + 2;
    assert!(
        rec.enters.iter().all(|&(_, nr)| nr == SYS_GETPPID),
        "only getppid stops: {:?}",
        rec.enters
    );
    assert_eq!(rec.enters.len(), want);
    assert_eq!(rec.exits.len(), want);
    assert!(rec
        .exits
        .iter()
        .all(|&(_, nr, ret)| nr == SYS_GETPPID && ret > 0));
    let tasks: std::collections::HashSet<i32> = rec.enters.iter().map(|&(t, _)| t).collect();
    assert_eq!(tasks.len(), 3, "main thread, second thread, forked child");

    // Without the filter, the same handler is called at every syscall.
    let mut all = Recorder::default();
    let mut tracer = Tracer::spawn_for(&argv(&exe, n, "ppid", 0), &all).unwrap();
    tracer.run(&mut all).unwrap();
    let getuids = all
        .enters
        .iter()
        .filter(|&&(_, nr)| nr == SYS_GETUID)
        .count();
    assert!(getuids >= 3 * n as usize, "{getuids} getuid stops");
}

#[test]
fn overrides_skip_the_syscall_under_the_filter() {
    let exe = workload("override");
    let mut rec = Recorder {
        traced: Some(vec![SYS_GETPPID]),
        fake: Some(4242),
        ..Default::default()
    };
    let mut tracer = Tracer::spawn_for(&argv(&exe, 10, "4242", 0), &rec).unwrap();
    let outcome = tracer.run(&mut rec).unwrap();
    // Every getppid returned the override (the real_ppid reads too, unchecked).
    assert_eq!(outcome.status, Some(TargetStatus::Exited(0)));
    assert!(rec.exits.iter().all(|&(_, _, ret)| ret == 4242));
}

#[test]
fn stop_request_leaves_the_filtered_command_running_normally() {
    let exe = workload("stop");
    let mut rec = Recorder {
        traced: Some(vec![SYS_GETPPID]),
        ..Default::default()
    };
    // About 100 rounds of 2 ms per task: the stop comes in the middle.
    let mut tracer = Tracer::spawn_for(&argv(&exe, 100, "ppid", 2000), &rec).unwrap();
    let stop = tracer.stop_handle();
    let stopper = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(100));
        stop.stop();
    });
    let outcome: Outcome = tracer.run(&mut rec).unwrap();
    stopper.join().unwrap();
    assert!(outcome.detached);
    // After the stop, getppid still works (a filter without its tracer would make it fail
    // with ENOSYS), and the command's status is passed through.
    assert_eq!(outcome.status, Some(TargetStatus::Exited(0)));
    let seen = rec.enters.len();
    assert!(
        seen > 0 && seen < 3 * 100,
        "{seen} stops before the request"
    );
}
