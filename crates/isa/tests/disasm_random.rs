//! The disassembler against `llvm-objdump-19` on random encodings.
//!
//! Takes a few thousand random instruction slots (a fixed seed; mostly valid encodings of
//! every opcode, some invalid ones), assembles them into an object with `clang-19` (`.quad`
//! directives) and lists it with `llvm-objdump-19 -d --no-show-raw-insn`, with and without
//! `--mcpu=v3`. Gives a check that every slot we decode prints as objdump prints it, and that
//! objdump's `<unknown>` slots are ones we reject too (except the 32-bit atomics objdump's
//! default cpu cannot decode). Prints "skipped: ..." when the tools are missing.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;

use userbpf_isa::disasm::{self, Options};
use userbpf_isa::{decode_insn, Insn, RawInsn};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }
}

fn random_slot(rng: &mut Rng) -> RawInsn {
    let off = match rng.below(4) {
        0 => rng.pick(&[0i16, 1, 8, 16, 32, -1, i16::MIN, i16::MAX]),
        _ => rng.next() as i16,
    };
    let imm = match rng.below(4) {
        0 => rng.pick(&[0i32, 1, 16, 32, 64, -1, i32::MIN, i32::MAX]),
        1 => rng.pick(&[0x00, 0x01, 0x40, 0x41, 0x50, 0x51, 0xa0, 0xa1, 0xe1, 0xf1]),
        _ => rng.next() as i32,
    };
    let reg = |rng: &mut Rng| {
        if rng.below(20) == 0 {
            rng.below(16) as u8
        } else {
            rng.below(11) as u8
        }
    };
    let small = |rng: &mut Rng, v: i32| if rng.below(2) == 0 { 0 } else { v };
    let (dst, src) = (reg(rng), reg(rng));
    let opcode = rng.below(256) as u8;
    // Zero fields often, so that most slots are valid.
    RawInsn::new(
        opcode,
        small(rng, dst as i32) as u8,
        small(rng, src as i32) as u8,
        small(rng, off as i32) as i16,
        if rng.below(3) == 0 { 0 } else { imm },
    )
}

/// Random slots: about 90% decode; `lddw` always with a valid second slot.
fn random_program(rng: &mut Rng, count: usize) -> Vec<RawInsn> {
    let mut slots = Vec::new();
    while slots.len() < count {
        let want_valid = rng.below(10) != 0;
        let r = loop {
            let r = random_slot(rng);
            if r.opcode == 0x18 {
                if r.off == 0 && r.src == 0 {
                    break r;
                }
                continue;
            }
            if r.opcode == 0 && r.dst == 0 && r.src == 0 && r.off == 0 && r.imm == 0 {
                continue; // objdump skips runs of zero bytes
            }
            if decode_insn(&[r]).is_ok() == want_valid {
                break r;
            }
        };
        slots.push(r);
        if r.opcode == 0x18 {
            slots.push(RawInsn::new(0, 0, 0, 0, rng.next() as i32));
        }
    }
    slots
}

fn tool(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

fn objdump_lines(objdump: &PathBuf, obj: &PathBuf, alu32: bool) -> HashMap<usize, String> {
    let mut cmd = Command::new(objdump);
    cmd.args(["-d", "--no-show-raw-insn"]);
    if alu32 {
        cmd.arg("--mcpu=v3");
    }
    let out = cmd.arg(obj).output().expect("run llvm-objdump-19");
    assert!(out.status.success(), "llvm-objdump-19 failed");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| {
            let (addr, text) = line.split_once(":\t")?;
            let slot = addr.trim().parse().ok()?;
            let mut text = text.split_whitespace().collect::<Vec<_>>().join(" ");
            if text.ends_with('>') && text != "<unknown>" {
                if let Some(open) = text.rfind(" <") {
                    text.truncate(open);
                }
            }
            Some((slot, text))
        })
        .collect()
}

fn is_32bit_atomic(insn: &Insn) -> bool {
    matches!(
        insn,
        Insn::Atomic {
            size: userbpf_isa::AtomicSize::W,
            ..
        }
    )
}

#[test]
fn random_encodings_match_llvm_objdump() {
    let (Some(clang), Some(objdump)) = (tool("clang-19"), tool("llvm-objdump-19")) else {
        println!("skipped: clang-19 or llvm-objdump-19 not found");
        return;
    };
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let slots = random_program(&mut rng, 6000);
    let dir = std::env::temp_dir().join(format!("userbpf-disasm-random-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let (src, obj) = (dir.join("r.s"), dir.join("r.o"));
    let mut asm = String::from("\t.text\n\t.globl f\nf:\n");
    for s in &slots {
        asm.push_str(&format!("\t.quad 0x{:016x}\n", s.to_u64()));
    }
    std::fs::write(&src, asm).expect("write asm");
    let status = Command::new(&clang)
        .args(["-target", "bpf", "-c"])
        .arg(&src)
        .arg("-o")
        .arg(&obj)
        .status()
        .expect("run clang-19");
    assert!(status.success(), "clang-19 failed");

    let bytes: Vec<u8> = slots.iter().flat_map(|s| s.to_bytes()).collect();
    let ours = disasm::disassemble(&bytes);
    let (mut compared, mut lenient) = (0, 0);
    let mut mismatches = Vec::new();
    for alu32 in [false, true] {
        let opts = Options {
            alu32,
            ..Options::default()
        };
        let theirs = objdump_lines(&objdump, &obj, alu32);
        for line in &ours {
            let Some(expected) = theirs.get(&line.slot) else {
                mismatches.push(format!("slot {}: not listed by objdump", line.slot));
                continue;
            };
            let raw = slots[line.slot];
            match &line.insn {
                Err(e) if expected != "<unknown>" => {
                    lenient += 1;
                    if std::env::var_os("DISASM_SHOW_LENIENT").is_some() {
                        println!(
                            "lenient {:016x}: objdump `{expected}`, ours: {e}",
                            raw.to_u64()
                        );
                    }
                }
                Err(_) => {}
                Ok(insn) if !alu32 && is_32bit_atomic(insn) => {}
                Ok(_) => {
                    compared += 1;
                    let got = line.text(&opts);
                    let got = got.split_whitespace().collect::<Vec<_>>().join(" ");
                    if &got != expected {
                        mismatches.push(format!(
                            "{:016x} (alu32 {alu32}): objdump `{expected}`, ours `{got}`",
                            raw.to_u64()
                        ));
                    }
                }
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    println!(
        "{compared} random instructions compared with llvm-objdump-19; {lenient} slots objdump \
         prints although they do not decode (reserved fields objdump ignores)"
    );
    assert!(compared > 5000, "too few instructions compared");
    assert!(
        mismatches.is_empty(),
        "{} mismatches:\n{}",
        mismatches.len(),
        mismatches[..mismatches.len().min(40)].join("\n")
    );
}
