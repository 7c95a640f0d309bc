//! Loading objects: refused helpers, pinning, errors naming the map or program.

#[path = "instance_src/support.rs"]
mod support;

use support::*;
use userbpf_runtime::instance::{LoadOptions, ObjectInstance};
use userbpf_runtime::maps::{Map, BPF_ANY};
use userbpf_runtime::RuntimeError;

#[test]
fn helpers_user_space_cannot_provide_are_refused_with_name_and_insn() {
    let Some(inst) = instance("unavailable") else {
        return;
    };
    let e = inst.program("task").unwrap_err();
    assert!(
        matches!(
            e,
            RuntimeError::HelperUnavailable {
                id: 35,
                insn: 0,
                ..
            }
        ),
        "{e:?}"
    );
    let msg = e.to_string();
    assert!(msg.contains("bpf_get_current_task (35)"), "{msg}");
    assert!(msg.contains("instruction 0"), "{msg}");
    assert!(msg.contains("'task'"), "{msg}");
    let e = inst.program("write_user").unwrap_err();
    assert!(e.to_string().contains("bpf_probe_write_user (36)"), "{e}");
    // Other programs of the object are unaffected.
    assert_eq!(inst.program("fine").unwrap().run_raw(&mut []).unwrap(), 0);
    assert!(matches!(
        inst.program("missing"),
        Err(RuntimeError::NoSuchProgram(_))
    ));
}

#[test]
fn helpers_not_registered_are_refused() {
    let Some(inst) = instance("unavailable") else {
        return;
    };
    // Without the kernel helpers, bpf_get_prandom_u32 is not provided.
    let e = inst
        .program_with("fine", &userbpf_runtime::Helpers::new())
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("helper bpf_get_prandom_u32 (7) is not provided"),
        "{e}"
    );
}

#[test]
fn pinned_maps_are_shared_and_reused_by_name() {
    let Some(mut obj) = object("maps_basic") else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("userbpf-instance-pin-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let options = LoadOptions {
        pin_dir: Some(dir.clone()),
        ..LoadOptions::default()
    };
    let inst = ObjectInstance::load(&obj, &options).unwrap();
    inst.program("count").unwrap().run_raw(&mut []).unwrap();
    // Another opener (another process would do the same) sees the program's update.
    let pinned = Map::open_pinned(&dir.join("counts")).unwrap();
    assert_eq!(u64_of(&pinned.lookup(&u32_key(0)).unwrap()), 1);
    pinned
        .update(&u32_key(0), &40u64.to_ne_bytes(), BPF_ANY)
        .unwrap();
    inst.program("count").unwrap().run_raw(&mut []).unwrap();
    assert_eq!(u64_of(&pinned.lookup(&u32_key(0)).unwrap()), 41);
    // Global data is pinned too, with its initial contents.
    let data = Map::open_pinned(&dir.join(".data")).unwrap();
    assert_eq!(u64_of(&data.lookup(&u32_key(0)).unwrap()), 100);

    // Loading again: maps without LIBBPF_PIN_BY_NAME find their pin taken.
    let e = ObjectInstance::load(&obj, &options).unwrap_err();
    assert!(e.to_string().contains("File exists"), "{e}");
    // With LIBBPF_PIN_BY_NAME the pin is reused with its contents.
    for m in obj.maps.iter_mut() {
        m.pinning = 1;
    }
    let again = ObjectInstance::load(&obj, &options).unwrap();
    again.program("count").unwrap().run_raw(&mut []).unwrap();
    assert_eq!(u64_of(&pinned.lookup(&u32_key(0)).unwrap()), 42);
    // An incompatible pin is an error naming the difference.
    obj.maps
        .iter_mut()
        .find(|m| m.name == "counts")
        .unwrap()
        .max_entries = 5;
    let e = ObjectInstance::load(&obj, &options).unwrap_err();
    assert!(
        matches!(e, RuntimeError::PinMismatch { .. }) && e.to_string().contains("max_entries"),
        "{e}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_map_definitions_name_the_map() {
    let Some(mut obj) = object("maps_basic") else {
        return;
    };
    let good = obj.clone();
    obj.maps
        .iter_mut()
        .find(|m| m.name == "hash")
        .unwrap()
        .key_size = 0;
    let e = ObjectInstance::load(&obj, &LoadOptions::default()).unwrap_err();
    assert!(e.to_string().starts_with("map 'hash':"), "{e}");

    let mut obj = good.clone();
    obj.maps
        .iter_mut()
        .find(|m| m.name == "hash")
        .unwrap()
        .map_type = 7; // stack trace
    let e = ObjectInstance::load(&obj, &LoadOptions::default()).unwrap_err();
    assert!(
        e.to_string()
            .contains("BPF_MAP_TYPE_STACK_TRACE is not supported"),
        "{e}"
    );

    let mut obj = good;
    obj.maps
        .iter_mut()
        .find(|m| m.name == "hash")
        .unwrap()
        .map_type = 999;
    let e = ObjectInstance::load(&obj, &LoadOptions::default()).unwrap_err();
    assert!(e.to_string().contains("unknown map type 999"), "{e}");
}
