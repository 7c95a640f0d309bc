//! `userbpf build SRC.bpf.c [-o OUT]`: compile a libbpf-style C program with clang-19.
//!
//! Takes a C source; gives an eBPF ELF object built with the target, flags and include paths
//! such programs expect (`-target bpf -g -O2 -mcpu=v3 -D__TARGET_ARCH_x86`, the multiarch
//! include directory, libbpf's headers), and a `vmlinux.h` generated once from the host's BTF
//! (`bpftool btf dump file /sys/kernel/btf/vmlinux format c`) and cached.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{anyhow, bail, Context, Result};

use crate::{CmdResult, Failure};

const HOST_BTF: &str = "/sys/kernel/btf/vmlinux";

/// Find the first of `names` on PATH.
fn find_tool(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    names.iter().find_map(|name| {
        std::env::split_paths(&path)
            .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")])
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    })
}

fn cache_dir() -> PathBuf {
    std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir)
        .join("userbpf")
}

/// The directory of a `vmlinux.h` for the host kernel, generating it when needed.
fn vmlinux_dir() -> Result<Option<PathBuf>> {
    let btf = Path::new(HOST_BTF);
    let Ok(meta) = btf.metadata() else {
        return Ok(None);
    };
    let Some(bpftool) = find_tool(&["bpftool"]) else {
        return Ok(None);
    };
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let dir = cache_dir()
        .join("vmlinux")
        .join(format!("{}-{}", release.trim(), meta.len()));
    let header = dir.join("vmlinux.h");
    if header.is_file() {
        return Ok(Some(dir));
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let out = Command::new(&bpftool)
        .args(["btf", "dump", "file", HOST_BTF, "format", "c"])
        .output()
        .with_context(|| format!("running {}", bpftool.display()))?;
    if !out.status.success() {
        bail!(
            "bpftool could not dump {HOST_BTF}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let tmp = dir.join(format!("vmlinux.h.{}", std::process::id()));
    std::fs::write(&tmp, &out.stdout).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, &header).with_context(|| format!("writing {}", header.display()))?;
    Ok(Some(dir))
}

/// The default output path: `x.bpf.c` → `x.bpf.o`, `x.c` → `x.o`.
fn default_output(src: &Path) -> PathBuf {
    src.with_extension("o")
}

fn uses_vmlinux_h(src: &Path) -> bool {
    std::fs::read_to_string(src)
        .map(|s| s.contains("vmlinux.h"))
        .unwrap_or(false)
}

pub fn run(
    src: &Path,
    output: Option<&Path>,
    includes: &[PathBuf],
    defines: &[String],
) -> CmdResult {
    if !src.is_file() {
        return Err(Failure::input(anyhow!("cannot read {}", src.display())));
    }
    let clang = find_tool(&["clang-19", "clang"]).ok_or_else(|| {
        Failure::input(anyhow!(
            "clang-19 not found on PATH; install it (apt-get install clang-19)"
        ))
    })?;
    let out = output.map_or_else(|| default_output(src), Path::to_path_buf);
    let mut cmd = Command::new(&clang);
    cmd.args([
        "-g",
        "-O2",
        "-target",
        "bpf",
        "-mcpu=v3",
        "-D__TARGET_ARCH_x86",
    ]);
    match vmlinux_dir().map_err(Failure::input)? {
        Some(dir) => {
            cmd.arg("-I").arg(dir);
        }
        None if uses_vmlinux_h(src) => {
            return Err(Failure::input(anyhow!(
                "{} includes vmlinux.h, which needs {HOST_BTF} and bpftool to generate",
                src.display()
            )));
        }
        None => {}
    }
    for dir in includes {
        cmd.arg("-I").arg(dir);
    }
    if let Some(parent) = src.parent().filter(|p| !p.as_os_str().is_empty()) {
        cmd.arg("-I").arg(parent);
    }
    cmd.args(["-I", "/usr/include/x86_64-linux-gnu"]);
    for d in defines {
        cmd.arg(format!("-D{d}"));
    }
    cmd.arg("-c").arg(src).arg("-o").arg(&out);
    let status = cmd
        .status()
        .with_context(|| format!("running {}", clang.display()))
        .map_err(Failure::input)?;
    if !status.success() {
        return Err(Failure::input(anyhow!(
            "{} failed to compile {} (its messages are above)",
            clang.display(),
            src.display()
        )));
    }
    eprintln!("wrote {}", out.display());
    Ok(())
}
