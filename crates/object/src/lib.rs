//! userbpf-object: ELF + BTF loader (not yet built; see the object-loader issue).
