//! Property test: real BTF and BTF.ext (from the prebuilt clang-19 objects) with bytes
//! flipped, overwritten or cut off never make the parser or the queries panic or hang.

use object::{Object, ObjectSection};
use proptest::prelude::*;
use userbpf_object::btf::{parse_elf, Btf, BtfExt};

const OBJECTS: [&[u8]; 4] = [
    include_bytes!("btf_src/prebuilt/globals.o"),
    include_bytes!("btf_src/prebuilt/lines.o"),
    include_bytes!("btf_src/prebuilt/types.o"),
    include_bytes!("btf_src/prebuilt/tags.o"),
];

fn section(obj: &[u8], name: &str) -> Vec<u8> {
    let file = object::File::parse(obj).unwrap();
    file.section_by_name(name).unwrap().data().unwrap().to_vec()
}

/// Runs every query on parsed BTF; only termination and absence of panics matter.
fn exercise(btf: &Btf) {
    let _ = btf.dump_raw();
    let _ = btf.maps();
    for (id, t) in btf.iter() {
        let _ = btf.resolve(id);
        let _ = btf.size_of(id);
        let _ = btf.type_name(id);
        for m in t.members() {
            let _ = btf.member(id, &m.name);
        }
        let _ = btf.member(id, "nonexistent");
        let _ = btf.uint_field(id);
        let _ = btf.pointee(id);
        let _ = btf.map_def(&t.name, id);
    }
}

fn mutate(mut bytes: Vec<u8>, edits: &[(usize, u8)], cut: Option<usize>) -> Vec<u8> {
    if bytes.is_empty() {
        return bytes;
    }
    for (pos, x) in edits {
        let len = bytes.len();
        bytes[pos % len] ^= x;
    }
    if let Some(c) = cut {
        bytes.truncate(c % (bytes.len() + 1));
    }
    bytes
}

fn edits() -> impl Strategy<Value = Vec<(usize, u8)>> {
    prop::collection::vec((any::<usize>(), 1..=255u8), 1..8)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn mutated_btf_never_panics(
        which in 0..OBJECTS.len(),
        edits in edits(),
        cut in prop::option::of(any::<usize>()),
    ) {
        let obj = OBJECTS[which];
        let btf_bytes = mutate(section(obj, ".BTF"), &edits, cut);
        if let Ok(btf) = Btf::parse(&btf_bytes) {
            exercise(&btf);
            let _ = BtfExt::parse(&section(obj, ".BTF.ext"), &btf);
        }
    }

    #[test]
    fn mutated_btf_ext_never_panics(
        which in 0..OBJECTS.len(),
        edits in edits(),
        cut in prop::option::of(any::<usize>()),
    ) {
        let obj = OBJECTS[which];
        let btf = Btf::parse(&section(obj, ".BTF")).unwrap();
        let ext_bytes = mutate(section(obj, ".BTF.ext"), &edits, cut);
        if let Ok(ext) = BtfExt::parse(&ext_bytes, &btf) {
            for s in &ext.sections {
                for r in &s.core_relos {
                    let _ = userbpf_object::btf::parse_access_str(&r.access);
                }
                let _ = s.line_at(usize::MAX);
            }
        }
    }

    /// Small header words (offsets, lengths, counts) set to extreme values.
    #[test]
    fn extreme_words_never_panic(
        which in 0..OBJECTS.len(),
        pos in any::<usize>(),
        word in prop_oneof![Just(0u32), Just(1), Just(0xffff), Just(0x00ff_ffff), Just(0x7fff_ffff), Just(u32::MAX), any::<u32>()],
        ext in any::<bool>(),
    ) {
        let obj = OBJECTS[which];
        let mut bytes = section(obj, if ext { ".BTF.ext" } else { ".BTF" });
        let at = (pos % (bytes.len() / 4)) * 4;
        bytes[at..at + 4].copy_from_slice(&word.to_le_bytes());
        if ext {
            let btf = Btf::parse(&section(obj, ".BTF")).unwrap();
            let _ = BtfExt::parse(&bytes, &btf);
        } else if let Ok(btf) = Btf::parse(&bytes) {
            exercise(&btf);
        }
    }

    #[test]
    fn mutated_elf_never_panics(which in 0..OBJECTS.len(), edits in edits()) {
        let bytes = mutate(OBJECTS[which].to_vec(), &edits, None);
        if let Ok(Some(parsed)) = parse_elf(&bytes) {
            exercise(&parsed.btf);
        }
    }
}
