//! Robustness of the loader: corpus objects with random bytes flipped, or truncated, give
//! `Ok` or `Err`, never a panic (or a hang).

use proptest::prelude::*;
use std::path::{Path, PathBuf};
use userbpf_isa::{Insn, LdImm64Kind};
use userbpf_object::Object;

fn objects() -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("USERBPF_SHARED")).join("corpus/ebpf-samples");
    let mut out = Vec::new();
    let mut stack = vec![dir];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "o") {
                out.push(p);
            }
        }
    }
    let local = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/loader_src");
    if let Ok(entries) = std::fs::read_dir(local) {
        out.extend(
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "o")),
        );
    }
    out.sort();
    // Keep the test fast in debug builds: objects up to 1 MiB.
    out.into_iter()
        .filter_map(|p| {
            let b = std::fs::read(&p).ok()?;
            (b.len() <= 1024 * 1024).then_some((p, b))
        })
        .collect()
}

fn check(path: &Path, bytes: &[u8]) {
    if let Ok(obj) = Object::parse(bytes) {
        for p in &obj.programs {
            // What the loader hands on must hold its promises: every target checked,
            // unless the program carries the reason it is not.
            assert_eq!(
                p.insns.check_targets().is_ok(),
                p.target_error.is_none(),
                "{}: {}",
                path.display(),
                p.name
            );
            assert_eq!(p.code.len() % 8, 0);
            for (_, insn) in p.insns.iter() {
                if let Insn::LdImm64 {
                    kind: LdImm64Kind::MapIdx | LdImm64Kind::MapIdxValue,
                    imm,
                    ..
                } = *insn
                {
                    assert!((imm as usize) < obj.maps.len(), "{}", path.display());
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6000, ..ProptestConfig::default() })]

    #[test]
    fn flipped_bytes(pick in any::<prop::sample::Index>(),
                     flips in prop::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 1..8)) {
        let objs = objects_cached();
        prop_assume!(!objs.is_empty());
        let (path, orig) = &objs[pick.index(objs.len())];
        let mut bytes = orig.clone();
        for (at, x) in flips {
            let i = at.index(bytes.len());
            bytes[i] ^= x;
        }
        check(path, &bytes);
    }

    #[test]
    fn truncated(pick in any::<prop::sample::Index>(), cut in any::<prop::sample::Index>()) {
        let objs = objects_cached();
        prop_assume!(!objs.is_empty());
        let (path, orig) = &objs[pick.index(objs.len())];
        let len = cut.index(orig.len());
        check(path, &orig[..len]);
    }
}

/// Header-area flips: the ELF header and section headers are where most structure lives.
#[test]
fn every_header_byte_flipped() {
    let objs = objects_cached();
    let Some((path, orig)) = objs.iter().find(|(p, _)| p.ends_with("twomaps.o")) else {
        return;
    };
    for i in 0..64.min(orig.len()) {
        for x in [0x01u8, 0x80, 0xff] {
            let mut b = orig.clone();
            b[i] ^= x;
            check(path, &b);
        }
    }
}

fn objects_cached() -> &'static [(PathBuf, Vec<u8>)] {
    static OBJS: std::sync::OnceLock<Vec<(PathBuf, Vec<u8>)>> = std::sync::OnceLock::new();
    OBJS.get_or_init(objects)
}
