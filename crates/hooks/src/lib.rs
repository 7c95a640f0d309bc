//! userbpf-hooks: attach points (not yet built; see the tracing issue).
pub mod packet;
