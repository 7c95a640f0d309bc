//! # userbpf-hooks: attach points
//!
//! Takes an [`ObjectInstance`](userbpf_runtime::ObjectInstance) and the names of its
//! programs; gives hooks that turn real events into program contexts, run the programs
//! synchronously and apply their results:
//!
//! - [`tracer`]: the ptrace event loop over every thread and child of a spawned command or
//!   an attached process, stopping at each syscall entry and exit;
//! - [`syscall_hooks`]: programs on `tracepoint/syscalls/sys_{enter,exit}_NAME` and
//!   `raw_tracepoint/sys_{enter,exit}`, with the kernel's context layouts ([`record`]), the
//!   helpers acting for the traced task ([`env`]) and enforcement (`bpf_override_return`,
//!   `bpf_send_signal`);
//! - [`uprobes`]: `uprobe/PATH:FUNC` and `uretprobe/...` as int3 breakpoints in every
//!   mapping of the file, driven by the same tracer;
//! - [`syscalls`] and [`tracefs`]: syscall numbers and tracepoint formats;
//! - [`system`]: the system-wide mode, the syscall tracepoints of every process through
//!   perf events, each record run through the same programs;
//! - [`trace_engine`]: the engine of the tracing hooks' programs (the JIT over the
//!   verifier's result on x86-64, or the checked interpreter);
//! - [`custom`]: hooks an embedding application declares, with its own context layout
//!   (fields read-only or writable), fired by the application.
//!
//! ```no_run
//! use std::sync::Arc;
//! use userbpf_hooks::{env::TaskEnv, syscall_hooks::{Event, SyscallHooks}, tracer::Tracer};
//! use userbpf_runtime::instance::{LoadOptions, ObjectInstance};
//!
//! let object = userbpf_object::Object::parse(&std::fs::read("opensnoop.bpf.o").unwrap()).unwrap();
//! let env = Arc::new(TaskEnv::new());
//! let options = LoadOptions { helper_env: Some(env.clone()), ..Default::default() };
//! let instance = ObjectInstance::load(&object, &options).unwrap();
//! let mut hooks = SyscallHooks::new(&instance, env, |event| {
//!     if let Event::Ringbuf { data, .. } = event {
//!         println!("{data:02x?}");
//!     }
//! })
//! .unwrap();
//! for name in instance.program_names() {
//!     hooks.attach(&object, &instance, name).unwrap();
//! }
//! // Only the syscalls the programs need stop `ls` (a seccomp filter, see `tracer`).
//! let mut tracer = Tracer::spawn_for(&["ls".into()], &hooks).unwrap();
//! let outcome = tracer.run(&mut hooks).unwrap();
//! println!("{:?}", outcome.status);
//! ```

pub mod custom;
pub mod env;
pub mod error;
pub mod packet;
pub mod record;
mod run_memory;
mod sys;
pub mod syscall_hooks;
pub mod syscalls;
pub mod system;
pub mod trace_engine;
pub mod tracefs;
pub mod tracer;
pub mod uprobes;

pub use error::HookError;
pub use sys::Regs;
