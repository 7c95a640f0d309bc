#!/usr/bin/env bash
# Runs every userbpf test. Installs what the tests need when it is missing:
# clang-19, llvm-19 (llvm-objdump-19 is the disassembler's reference), libbpf-dev, bpftool, and
# iproute2 (the live packet test makes network namespaces).
set -euo pipefail
cd "$(dirname "$0")"

missing=()
for pkg in clang-19 llvm-19 libbpf-dev bpftool iproute2; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}"
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
fi

# The shared references (conformance suite, corpus) live beside the repository; a clone
# elsewhere finds them through USERBPF_SHARED.
if [ -z "${USERBPF_SHARED:-}" ] && [ ! -d ../shared ] && [ -d /work/shared ]; then
    export USERBPF_SHARED=/work/shared
fi

cargo fmt --all --check
cargo clippy --workspace --all-targets --quiet -- -D warnings
# --show-output prints what passing tests report (counts compared, skips).
cargo test --workspace -- --show-output
