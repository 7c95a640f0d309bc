//! userbpf-verifier (in progress).
pub mod scalar;
pub mod tnum;
