//! userbpf-jit: x86-64 code generation (not yet built; see the JIT issue).
