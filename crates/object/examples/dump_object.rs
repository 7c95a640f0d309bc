//! Print what the loader makes of ELF objects: maps, programs (decoded, with line numbers).
//! `cargo run -p userbpf-object --example dump_object -- FILE.o...`

fn main() {
    for f in std::env::args().skip(1) {
        let b = std::fs::read(&f).unwrap();
        let o = userbpf_object::Object::parse(&b).unwrap();
        println!(
            "== {f} license={:?} version={:?}",
            o.license, o.kernel_version
        );
        for (i, m) in o.maps.iter().enumerate() {
            println!("map {i}: {} sec={} type={} k={} v={} max={} flags={:#x} extra={} pin={} inner={:?} init={:?} data={:?} relocs={:?}", m.name, m.section, m.map_type, m.key_size, m.value_size, m.max_entries, m.map_flags, m.map_extra, m.pinning, m.inner.as_ref().map(|i| (&i.name, i.map_type, i.key_size, i.value_size, i.max_entries)), m.initial_values, m.data, m.data_relocs.len());
        }
        for p in &o.programs {
            println!(
                "prog {} sec={} type={} target={:?} segs={:?}",
                p.name,
                p.section,
                p.prog_type,
                p.target,
                p.segments
                    .iter()
                    .map(|s| (&s.function, s.slot, s.slots))
                    .collect::<Vec<_>>()
            );
            for (slot, insn) in p.insns.iter() {
                let line = o.line_info(p, slot).map(|l| l.line).unwrap_or(0);
                println!("  {slot:3} L{line:<3} {insn:?}");
            }
        }
    }
}
