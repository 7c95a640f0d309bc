//! Fuzz the interpreter: any decodable program runs on any input under an instruction budget
//! and ends with r0 or a trap; never a crash, never an access outside its memory.
#![no_main]

use libfuzzer_sys::fuzz_target;
use userbpf_isa::Program;
use userbpf_runtime::{Helpers, Interpreter};

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let split = (data[0] as usize % 64).min(data.len() - 1);
    let (mem, code) = data[1..].split_at(split);
    let code = &code[..code.len() / 8 * 8];
    let Ok(program) = Program::decode(code) else {
        return;
    };
    let Ok(mut vm) = Interpreter::new(&program, &Helpers::conformance()) else {
        return;
    };
    vm.set_budget(Some(10_000));
    let mut mem = mem.to_vec();
    let _ = vm.run_raw(&mut mem);
});
