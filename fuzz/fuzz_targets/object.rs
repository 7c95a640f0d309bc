//! Fuzz the object loader: arbitrary bytes give `Ok` or `Err`, never a panic; what it
//! accepts keeps its promises (decoded programs with checked targets, map references in
//! range).
#![no_main]

use libfuzzer_sys::fuzz_target;
use userbpf_isa::{Insn, LdImm64Kind};
use userbpf_object::Object;

fuzz_target!(|data: &[u8]| {
    if let Ok(obj) = Object::parse(data) {
        for p in &obj.programs {
            assert!(p.insns.check_targets().is_ok());
            assert_eq!(p.insns.slot_count() * 8, p.code.len());
            for (_, insn) in p.insns.iter() {
                if let Insn::LdImm64 {
                    kind: LdImm64Kind::MapIdx | LdImm64Kind::MapIdxValue,
                    imm,
                    ..
                } = *insn
                {
                    assert!((imm as usize) < obj.maps.len());
                }
            }
        }
    }
});
