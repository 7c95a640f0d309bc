//! Shared by the instance tests: compile a C source of this directory with clang-19 and load
//! it into an instance.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use userbpf_object::Object;
use userbpf_runtime::instance::{LoadOptions, ObjectInstance};

/// Compile `instance_src/NAME.bpf.c`; `None` (after printing "skipped: clang-19 not found")
/// when clang-19 is missing.
pub fn compile(name: &str) -> Option<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/instance_src");
    let src = dir.join(format!("{name}.bpf.c"));
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("instance-{name}.bpf.o"));
    let status = Command::new("clang-19")
        .args(["-g", "-O2", "-target", "bpf", "-mcpu=v3", "-c"])
        .arg("-I/usr/include/x86_64-linux-gnu")
        .arg("-I")
        .arg(&dir)
        .arg(&src)
        .arg("-o")
        .arg(&out)
        .status();
    match status {
        Err(_) => {
            println!("skipped: clang-19 not found");
            None
        }
        Ok(s) => {
            assert!(s.success(), "clang-19 failed on {}", src.display());
            Some(std::fs::read(&out).expect("object written"))
        }
    }
}

/// Compile and parse `NAME.bpf.c`.
pub fn object(name: &str) -> Option<Object> {
    let bytes = compile(name)?;
    Some(Object::parse(&bytes).expect("object parses"))
}

/// Compile, parse and load `NAME.bpf.c` with default options.
pub fn instance(name: &str) -> Option<ObjectInstance> {
    let obj = object(name)?;
    Some(ObjectInstance::load(&obj, &LoadOptions::default()).expect("instance loads"))
}

pub fn u32_key(k: u32) -> [u8; 4] {
    k.to_ne_bytes()
}

pub fn u64_of(v: &[u8]) -> u64 {
    u64::from_ne_bytes(v[..8].try_into().unwrap())
}

pub fn u32_of(v: &[u8]) -> u32 {
    u32::from_ne_bytes(v[..4].try_into().unwrap())
}
