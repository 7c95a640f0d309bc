//! Loader errors: objects damaged in one specific way give the matching [`ObjectError`],
//! naming section, instruction and symbol.

use std::path::Path;
use userbpf_object::{Object, ObjectError};

fn read(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/loader_src")
            .join(name),
    )
    .unwrap()
}

fn u16_at(b: &[u8], at: usize) -> usize {
    u16::from_le_bytes([b[at], b[at + 1]]) as usize
}

fn u64_at(b: &[u8], at: usize) -> usize {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap()) as usize
}

/// (name, sh_offset, sh_size) of every section, read straight from the ELF64 headers.
fn sections(b: &[u8]) -> Vec<(String, usize, usize)> {
    let (shoff, shnum, shstrndx) = (u64_at(b, 0x28), u16_at(b, 0x3c), u16_at(b, 0x3e));
    let hdr = |i: usize| shoff + i * 64;
    let strtab = u64_at(b, hdr(shstrndx) + 0x18);
    (0..shnum)
        .map(|i| {
            let name_off = u32::from_le_bytes(b[hdr(i)..hdr(i) + 4].try_into().unwrap()) as usize;
            let start = strtab + name_off;
            let end = start + b[start..].iter().position(|&c| c == 0).unwrap();
            let name = String::from_utf8_lossy(&b[start..end]).into_owned();
            (name, u64_at(b, hdr(i) + 0x18), u64_at(b, hdr(i) + 0x20))
        })
        .collect()
}

fn section(b: &[u8], name: &str) -> (usize, usize) {
    let s = sections(b).into_iter().find(|s| s.0 == name).unwrap();
    (s.1, s.2)
}

#[test]
fn lddw_relocation_on_another_instruction() {
    let mut b = read("legacy.bpf.o");
    // The first relocation of kprobe/sys_execve points at the lddw of slot 4; move it to
    // slot 3 (`r2 += -4`).
    let (rel, _) = section(&b, ".relkprobe/sys_execve");
    assert_eq!(u64_at(&b, rel), 4 * 8);
    b[rel..rel + 8].copy_from_slice(&(3u64 * 8).to_le_bytes());
    match Object::parse(&b) {
        Err(ObjectError::Relocation {
            section,
            insn,
            symbol,
            message,
        }) => {
            assert_eq!(
                (section.as_str(), insn, symbol.as_str()),
                ("kprobe/sys_execve", 3, "arr")
            );
            assert!(message.contains("not lddw"), "{message}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn unknown_relocation_type() {
    let mut b = read("legacy.bpf.o");
    let (rel, _) = section(&b, ".relkprobe/sys_execve");
    b[rel + 8] = 77; // r_info low 32 bits: the type
    let e = Object::parse(&b).unwrap_err();
    assert!(matches!(e, ObjectError::Relocation { insn: 4, .. }), "{e}");
    assert!(e.to_string().contains("relocation type 77"), "{e}");
}

#[test]
fn relocation_out_of_the_section() {
    let mut b = read("legacy.bpf.o");
    let (rel, _) = section(&b, ".relkprobe/sys_execve");
    b[rel..rel + 8].copy_from_slice(&0x10000u64.to_le_bytes());
    let e = Object::parse(&b).unwrap_err();
    assert!(e.to_string().contains("outside the section"), "{e}");
}

#[test]
fn reference_to_an_undefined_symbol() {
    let mut b = read("globals.bpf.o");
    // Make the symbol of the first relocation (the variable `counter`) undefined.
    let (rel, _) = section(&b, ".reltracepoint/syscalls/sys_enter_openat");
    let sym = u32::from_le_bytes(b[rel + 12..rel + 16].try_into().unwrap()) as usize;
    let (symtab, _) = section(&b, ".symtab");
    let shndx = symtab + sym * 24 + 6;
    b[shndx..shndx + 2].copy_from_slice(&0u16.to_le_bytes());
    match Object::parse(&b) {
        Err(ObjectError::Relocation {
            section,
            symbol,
            insn,
            message,
        }) => {
            // `.text` comes first: global_helper reads `counter` at slot 9.
            assert_eq!(
                (section.as_str(), symbol.as_str(), insn),
                (".text", "counter", 9)
            );
            assert!(message.contains("undefined"), "{message}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn legacy_map_records_of_bad_size() {
    let mut b = read("legacy.bpf.o");
    // Three 28-byte records; claim the section is 80 bytes (not a multiple of 3 symbols).
    let (shoff, shnum) = (u64_at(&b, 0x28), u16_at(&b, 0x3c));
    let idx = sections(&b).iter().position(|s| s.0 == "maps").unwrap();
    assert!(idx < shnum);
    let size_at = shoff + idx * 64 + 0x20;
    b[size_at..size_at + 8].copy_from_slice(&80u64.to_le_bytes());
    match Object::parse(&b) {
        Err(ObjectError::Map {
            section, message, ..
        }) => {
            assert_eq!(section, "maps");
            assert!(message.contains("not a multiple"), "{message}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn bad_call_target() {
    let mut b = read("globals.bpf.o");
    // The call of `twice` from on_open is section-relative (.text + imm); point it far away.
    let (code, size) = section(&b, "tracepoint/syscalls/sys_enter_openat");
    let call = (0..size / 8)
        .map(|i| code + i * 8)
        .filter(|&at| b[at] == 0x85 && b[at + 1] >> 4 == 1)
        .find(|&at| i32::from_le_bytes(b[at + 4..at + 8].try_into().unwrap()) > 0)
        .unwrap();
    b[call + 4..call + 8].copy_from_slice(&5000i32.to_le_bytes());
    let e = Object::parse(&b).unwrap_err();
    assert!(
        matches!(e, ObjectError::Relocation { ref section, .. } if section == "tracepoint/syscalls/sys_enter_openat"),
        "{e}"
    );
    assert!(
        e.to_string()
            .contains("not an instruction of the target section"),
        "{e}"
    );
}

#[test]
fn not_elf_and_not_bpf() {
    assert!(matches!(
        Object::parse(b"hello"),
        Err(ObjectError::Malformed(_))
    ));
    let mut b = read("legacy.bpf.o");
    b[0x12] = 62; // e_machine = x86-64
    assert!(matches!(Object::parse(&b), Err(ObjectError::NotBpf(_))));
}

/// Found by the fuzz target: an `lddw` already carrying `BPF_PSEUDO_MAP_IDX` with an index
/// past the object's maps, and no relocation. Map references come only from relocations.
#[test]
fn map_reference_without_relocation() {
    let b = read("regressions/lddw-map-idx-without-relocation.o");
    match Object::parse(&b) {
        Err(ObjectError::Link { message, .. }) => {
            assert!(message.contains("no relocation"), "{message}")
        }
        other => panic!("{other:?}"),
    }
}

/// A jump out of the program does not fail the object (libbpf loads it; the kernel's
/// verifier rejects that program alone): the program is kept with its raw instructions
/// and the problem, for the verifier; the other programs are unaffected.
#[test]
fn jump_out_of_range_keeps_the_program() {
    let mut b = read("globals.bpf.o");
    let sec = "tracepoint/syscalls/sys_enter_openat";
    let (code, size) = section(&b, sec);
    // The first jump (class BPF_JMP or BPF_JMP32, not a call or exit): point it far away.
    let jump = (0..size / 8)
        .map(|i| code + i * 8)
        .find(|&at| matches!(b[at] & 7, 5 | 6) && !matches!(b[at] & 0xf0, 0x80 | 0x90))
        .unwrap();
    b[jump + 2..jump + 4].copy_from_slice(&3000i16.to_le_bytes());
    let obj = Object::parse(&b).unwrap();
    let bad: Vec<_> = obj
        .programs
        .iter()
        .filter(|p| p.target_error.is_some())
        .collect();
    assert_eq!(
        bad.len(),
        1,
        "{:?}",
        obj.programs.iter().map(|p| &p.name).collect::<Vec<_>>()
    );
    assert_eq!(bad[0].section, sec);
    let why = bad[0].target_error.as_deref().unwrap();
    assert!(why.contains("jump out of range"), "{why}");
    assert!(bad[0].insns.check_targets().is_err());
    assert!(obj
        .programs
        .iter()
        .filter(|p| p.target_error.is_none())
        .all(|p| p.insns.check_targets().is_ok()));
}
