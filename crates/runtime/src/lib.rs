//! userbpf-runtime
