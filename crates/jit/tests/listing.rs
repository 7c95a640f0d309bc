//! The JIT's output disassembled with iced-x86 and checked instruction by instruction, for a
//! few programs: register mapping, immediate forms, shifts through cl, division through
//! rdx:rax with its zero check, the fetch-or cmpxchg loop, helper calls, bpf-to-bpf calls
//! and the prologue. Branch targets are printed as `L` (their addresses vary).

use iced_x86::{Decoder, DecoderOptions, Formatter, IntelFormatter, MemorySizeOptions};
use userbpf_isa::asm::assemble;
use userbpf_isa::Program;
use userbpf_jit::{compile_unchecked, JitOptions, JitProgram};
use userbpf_runtime::Helpers;

fn compile(src: &str) -> JitProgram {
    let program = Program::from_insns(assemble(src).expect("assemble"));
    // SAFETY: these programs are only compiled and disassembled, never run.
    unsafe { compile_unchecked(&program, &Helpers::conformance(), &JitOptions::default()) }
        .expect("compile")
}

fn disasm(code: &[u8], from: usize, to: usize) -> Vec<String> {
    let mut f = IntelFormatter::new();
    let o = f.options_mut();
    o.set_space_after_operand_separator(true);
    o.set_hex_prefix("0x");
    o.set_hex_suffix("");
    o.set_uppercase_hex(false);
    o.set_small_hex_numbers_in_decimal(false);
    o.set_add_leading_zero_to_hex_numbers(false);
    o.set_signed_immediate_operands(true);
    o.set_memory_size_options(MemorySizeOptions::Always);
    o.set_show_branch_size(false);
    let mut d = Decoder::with_ip(64, &code[from..to], from as u64, DecoderOptions::NONE);
    let mut out = Vec::new();
    while d.can_decode() {
        let insn = d.decode();
        let mut s = String::new();
        f.format(&insn, &mut s);
        if let Some((m, rest)) = s.split_once(' ') {
            if (m.starts_with('j') || m == "call") && rest.starts_with("0x") {
                s = format!("{m} L");
            }
        }
        out.push(s);
    }
    out
}

/// The instructions of slots `from..to`.
fn slots(jit: &JitProgram, from: usize, to: usize) -> Vec<String> {
    let start = jit.slot_offset(from).unwrap();
    let end = jit.slot_offset(to).unwrap_or(jit.code().len());
    disasm(jit.code(), start, end)
}

#[test]
fn alu_shift_and_branch() {
    let jit = compile("mov r0, r1\nadd r0, 5\njgt r0, 10, +1\nlsh r0, r2\nmov32 r6, -1\nexit\n");
    assert_eq!(slots(&jit, 5, 6)[0], "ret");
    assert_eq!(
        slots(&jit, 0, 5),
        [
            // Copy and add: one lea.
            "lea rax, [rdi+0x5]",
            "cmp rax, 0xa",
            "ja L",
            // r4 (rcx) is dead after the shift: no save and restore.
            "mov rcx, rsi",
            "shl rax, cl",
            "mov ebx, -0x1",
        ]
    );
}

#[test]
fn prologue() {
    // Only the registers the program uses are saved and set up: here r0, r1 and r6.
    let jit = compile("mov r0, 0\nmov r6, r1\nexit\n");
    let all = disasm(jit.code(), 0, jit.slot_offset(0).unwrap());
    assert_eq!(
        &all[..7],
        [
            "push rbp",
            "push r12",
            "push rbx",
            "push r13",
            "mov r12, rdi",
            "mov qword ptr [r12+0x10], rsp",
            "mov rdi, qword ptr [r12+0x28]",
        ]
    );
    assert!(all.contains(&"call r11".to_string()));
    // The fast entry takes r1 in rsi (after the context in rdi).
    assert!(all.contains(&"mov rdi, rsi".to_string()));
    assert!(!all
        .iter()
        .any(|l| l.contains("r14") || l.starts_with("mov rsi")));
    assert_eq!(slots(&jit, 0, 1), ["xor eax, eax"]);
}

#[test]
fn division_checks_zero() {
    let jit = compile("div r3, r4\nexit\n");
    assert_eq!(
        slots(&jit, 0, 1),
        [
            "mov r11, rcx",
            "test r11, r11",
            "je L",
            "mov r10, rax",
            "mov rax, rdx",
            "xor edx, edx",
            "div r11",
            "mov rdx, rax",
            "mov rax, r10",
        ]
    );
    // Signed modulo by an immediate -1 is 0, signed division by it a negation.
    let jit = compile("smod32 r2, -1\nsdiv r3, -1\nexit\n");
    assert_eq!(slots(&jit, 0, 2), ["xor esi, esi", "neg rdx"]);
    // Unsigned modulo by a non-zero immediate needs no zero check.
    let jit = compile("mod32 r2, -1\nexit\n");
    assert_eq!(
        slots(&jit, 0, 1),
        [
            // r3 (rdx) is dead afterwards: not saved; r0 (rax) is returned: saved.
            "mov r11d, -0x1",
            "mov r10, rax",
            "mov rax, rsi",
            "xor edx, edx",
            "div r11d",
            "mov rsi, rdx",
            "mov rax, r10",
        ]
    );
}

#[test]
fn atomics() {
    let jit = compile("lock *(u64 *)(r10 - 8) += r1\nexit\n");
    assert_eq!(slots(&jit, 0, 1), ["lock add qword ptr [rbp-0x8], rdi"]);
    let jit = compile("r2 = atomic_fetch_or((u64 *)(r1 + 16), r2)\nexit\n");
    let got = slots(&jit, 0, 1);
    assert_eq!(
        got,
        [
            "lea r9, [rdi+0x10]",
            "mov r10, rax",
            "mov rax, qword ptr [r9]",
            "mov r11, rax",
            "or r11, rsi",
            "lock cmpxchg qword ptr [r9], r11",
            "jne L",
            "mov rsi, rax",
            "mov rax, r10",
        ]
    );
}

#[test]
fn calls() {
    let jit = compile("call 5\ncall local +1\nexit\nexit\n");
    let helper = slots(&jit, 0, 1);
    // The site's address goes to the context, then the trampoline is called.
    assert!(helper[0].starts_with("mov r11, "));
    assert_eq!(helper[1], "mov qword ptr [r12+0x18], r11");
    assert_eq!(helper[2], "mov r9, r12");
    assert!(helper[3].starts_with("mov r11, "));
    assert_eq!(&helper[4..], ["call r11", "test edx, edx", "jne L"]);
    assert_eq!(
        slots(&jit, 1, 2),
        [
            "cmp rbp, qword ptr [r12]",
            "jbe L",
            "push rbx",
            "push r13",
            "push r14",
            "push r15",
            "push rbp",
            "sub rbp, 0x200",
            "call L",
            "pop rbp",
            "pop r15",
            "pop r14",
            "pop r13",
            "pop rbx",
        ]
    );
}

#[test]
fn may_goto_counts_down_and_stays_spent() {
    // Count the iterations the budget allows, then two more may_goto that must both jump.
    let jit = compile(
        "r0 = 0\n\
         may_goto +2\n\
         r0 += 1\n\
         goto -3\n\
         r1 = 0\n\
         may_goto +1\n\
         r1 = 1\n\
         may_goto +1\n\
         r1 = 2\n\
         r0 += r1\n\
         exit\n",
    );
    let code = disasm(
        jit.code(),
        jit.slot_offset(1).unwrap(),
        jit.slot_offset(2).unwrap(),
    );
    // The program calls nothing: the budget lives in r9.
    assert_eq!(code, ["sub r9, 0x1", "jb L"]);
    let r0 = jit.run_raw(&mut []).unwrap();
    assert_eq!(r0, userbpf_runtime::interp::MAY_GOTO_BUDGET);
}

#[test]
fn runs_on_many_threads() {
    // Each thread sets up its own run state on its first run and frees it when it exits.
    let jit = std::sync::Arc::new(compile("r0 = *(u8 *)(r1 + 0)\nr0 += 1\nexit\n"));
    let threads: Vec<_> = (0..4u8)
        .map(|t| {
            let jit = jit.clone();
            std::thread::spawn(move || {
                for _ in 0..100 {
                    assert_eq!(jit.run_raw(&mut [t]).unwrap(), t as u64 + 1);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

#[test]
fn smp_processor_id_is_inlined() {
    let program = Program::from_insns(assemble("call 8\nexit\n").expect("assemble"));
    // SAFETY: these programs are only compiled and disassembled, never run.
    let jit = unsafe {
        compile_unchecked(
            &program,
            &userbpf_runtime::kernel_helpers::local_helpers(),
            &JitOptions::default(),
        )
    }
    .expect("compile");
    // The runtime's own helper 8: two loads from the context's CPU slot, no call.
    let body = slots(&jit, 0, 1);
    assert_eq!(body.len(), 2, "{body:?}");
    assert!(body[0].starts_with("mov rax, qword ptr [r12+"), "{body:?}");
    assert_eq!(body[1], "mov eax, dword ptr [rax]");
    assert!(!slots(&jit, 0, 2).iter().any(|i| i.starts_with("call")));

    // A helper 8 of someone else's (a hook's own) is called, not inlined.
    let mut helpers = userbpf_runtime::kernel_helpers::local_helpers();
    helpers.register(8, "bpf_get_smp_processor_id", |_, _| Ok(77));
    // SAFETY: as above.
    let jit =
        unsafe { compile_unchecked(&program, &helpers, &JitOptions::default()) }.expect("compile");
    assert!(slots(&jit, 0, 1).iter().any(|i| i == "call r11"));
}
