//! userbpf-verifier: static analysis (not yet built; see the verifier issue).
