//! Fuzz the assembler: any text assembles or gives an error with a line and column.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = userbpf_isa::asm::assemble(text);
    }
});
