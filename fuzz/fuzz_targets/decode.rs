//! Fuzz the decoder: any bytes either decode (and then re-encode to the same bytes) or give
//! an error; never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use userbpf_isa::Program;

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = Program::decode_unchecked_targets(data) {
        assert_eq!(p.to_bytes(), data, "decode/encode must be lossless");
        let _ = p.check_targets();
        for insn in p.insns() {
            let _ = userbpf_isa::disasm::format_insn(insn);
        }
    }
});
