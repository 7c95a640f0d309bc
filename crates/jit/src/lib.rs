//! userbpf-jit
pub mod x86;
