//! iproute2's legacy map records (`struct bpf_elf_map`, 36 bytes, as Cilium's older objects
//! use): a map of maps names its inner template by `inner_id`, the `id` of another record.
//! Cilium's Maglev lookup reads the 4078-byte inner value, which only the right template
//! allows. Skipped when the corpus is absent.

use std::path::Path;

use userbpf_object::Object;
use userbpf_verifier::{object_input, verify, ProgType};

#[test]
fn maglev_inner_template_by_id() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/corpus/ebpf-samples/cilium/bpf_xdp_dsr_linux.o");
    let Ok(bytes) = std::fs::read(&path) else {
        eprintln!("skipped: {} not found", path.display());
        return;
    };
    let object = Object::parse(&bytes).expect("parse bpf_xdp_dsr_linux.o");
    for (outer, inner) in [
        ("cilium_lb4_maglev", "cilium_lb4_maglev_inner"),
        ("cilium_lb6_maglev", "cilium_lb6_maglev_inner"),
    ] {
        let m = object.maps.iter().find(|m| m.name == outer).expect(outer);
        let template = m.inner.as_deref().expect("inner template");
        let named = object.maps.iter().find(|m| m.name == inner).expect(inner);
        assert_eq!(template.value_size, named.value_size, "{outer}");
        assert_eq!(template.value_size, 4078, "{outer}");
    }
    let maps = object_input::map_infos(&object);
    for section in ["2/7", "2/10"] {
        let p = object
            .programs
            .iter()
            .find(|p| p.section == section)
            .expect(section);
        let mut input = object_input::input_for(p, &maps);
        input.prog_type = ProgType::Xdp;
        if let Err(e) = verify(&input) {
            panic!("{section} rejected at {}: {}", e.insn, e.message);
        }
    }
}
