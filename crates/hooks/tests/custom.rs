//! Custom hooks (library API): examples/plugin_filter.bpf.o on a declared `request` hook.

use std::sync::Arc;

use userbpf_hooks::custom::{ContextLayout, CustomHookError, EngineKind, FieldAccess, HookDecl};
use userbpf_object::Object;
use userbpf_runtime::instance::{LoadOptions, ObjectInstance};

fn object() -> Object {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/plugin_filter.bpf.o"
    );
    Object::parse(&std::fs::read(path).unwrap()).unwrap()
}

fn layout() -> ContextLayout {
    use FieldAccess::{ReadOnly, Writable};
    ContextLayout::new(24)
        .field("src_ip", 0, 4, ReadOnly)
        .field("port", 4, 2, ReadOnly)
        .field("method", 6, 2, ReadOnly)
        .field("body_len", 8, 4, ReadOnly)
        .field("verdict", 12, 4, Writable)
        .field("reason", 16, 4, Writable)
}

fn request(src_ip: u32, port: u16, method: u16, body_len: u32) -> [u8; 24] {
    let mut b = [0xeeu8; 24];
    b[0..4].copy_from_slice(&src_ip.to_ne_bytes());
    b[4..6].copy_from_slice(&port.to_ne_bytes());
    b[6..8].copy_from_slice(&method.to_ne_bytes());
    b[8..12].copy_from_slice(&body_len.to_ne_bytes());
    b
}

fn u32_at(b: &[u8], off: usize) -> u32 {
    u32::from_ne_bytes(b[off..off + 4].try_into().unwrap())
}

fn count(instance: &ObjectInstance, verdict: u32) -> u64 {
    let v = instance
        .map("verdicts")
        .unwrap()
        .lookup(&verdict.to_ne_bytes())
        .unwrap();
    u64::from_ne_bytes(v[..8].try_into().unwrap())
}

#[test]
fn accepts_and_runs_in_both_engines() {
    let object = object();
    let decl = HookDecl::new("request", layout()).unwrap();
    let cases = [
        ((0xc0a8_0001, 443, 0, 0), 0, 0),
        ((0xc0a8_0001, 22, 0, 0), 1, 1),
        ((0xc0a8_0002, 80, 1, 100_000), 1, 2),
        ((0xc0a8_0002, 80, 1, 10), 0, 0),
        ((0xc0a8_0003, 80, 2, 0), 1, 3),
        ((0x0a00_0001, 80, 0, 0), 1, 4),
    ];
    for engine in [EngineKind::Interp, EngineKind::native_default()] {
        let instance = ObjectInstance::load(&object, &LoadOptions::default()).unwrap();
        let hook = decl
            .load_with(&instance, &object, "filter", engine)
            .unwrap();
        assert_eq!(hook.engine(), engine);
        for ((ip, port, method, body), verdict, reason) in cases {
            let mut ctx = request(ip, port, method, body);
            let before = ctx;
            let ret = hook.fire(&mut ctx).unwrap();
            assert_eq!(ret, verdict as u64, "{engine:?} {ip:x} {port}");
            assert_eq!(u32_at(&ctx, 12), verdict);
            assert_eq!(u32_at(&ctx, 16), reason);
            assert_eq!(ctx[..12], before[..12], "read-only fields unchanged");
            assert_eq!(ctx[20..], before[20..], "bytes outside fields unchanged");
        }
        assert_eq!(count(&instance, 0), 2);
        assert_eq!(count(&instance, 1), 4);
        // A buffer of the wrong size is refused, not run.
        assert!(hook.fire(&mut [0u8; 16]).is_err());
    }
}

#[test]
fn refuses_write_to_read_only_field() {
    let object = object();
    let instance = ObjectInstance::load(&object, &LoadOptions::default()).unwrap();
    let decl = HookDecl::new("request", layout()).unwrap();
    let err = decl.load(&instance, &object, "rewrite_src").unwrap_err();
    assert!(
        matches!(err, CustomHookError::Access { .. }),
        "unexpected error {err:?}"
    );
    let msg = err.to_string();
    assert!(msg.contains("field src_ip (0..4) is read-only"), "{msg}");
    assert!(msg.contains("instruction"), "{msg}");
    assert!(msg.contains("rewrite_src"), "{msg}");
}

#[test]
fn refuses_access_outside_fields_and_bad_layouts() {
    let object = object();
    let instance = ObjectInstance::load(&object, &LoadOptions::default()).unwrap();
    // Without a `reason` field, filter's store at offset 16 touches no field.
    let mut l = layout();
    l.fields.retain(|f| f.name != "reason");
    let err = HookDecl::new("request", l)
        .unwrap()
        .load(&instance, &object, "filter")
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("context offset 16: no field is declared there"),
        "{msg}"
    );
    // A context too small for the program: the verifier refuses it.
    let small = ContextLayout::new(12).field("src_ip", 0, 4, FieldAccess::ReadOnly);
    let err = HookDecl::new("request", small)
        .unwrap()
        .load(&instance, &object, "filter")
        .unwrap_err();
    assert!(matches!(err, CustomHookError::Rejected { .. }), "{err:?}");
    // Inconsistent layouts.
    let overlap = layout().field("x", 2, 4, FieldAccess::Writable);
    assert!(HookDecl::new("h", overlap).is_err());
    let past = ContextLayout::new(8).field("x", 6, 4, FieldAccess::Writable);
    assert!(HookDecl::new("h", past).is_err());
    // No such program.
    let err = HookDecl::new("request", layout())
        .unwrap()
        .load(&instance, &object, "nope")
        .unwrap_err();
    assert!(matches!(err, CustomHookError::Program { .. }));
}

#[test]
fn fires_from_several_threads() {
    let object = object();
    let instance = ObjectInstance::load(&object, &LoadOptions::default()).unwrap();
    let decl = HookDecl::new("request", layout()).unwrap();
    let hook = Arc::new(decl.load(&instance, &object, "filter").unwrap());
    const THREADS: u32 = 8;
    const PER_THREAD: u32 = 2000;
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let hook = hook.clone();
            s.spawn(move || {
                for i in 0..PER_THREAD {
                    // Even i: allowed; odd i: denied by port.
                    let port = if i % 2 == 0 { 443 } else { 22 };
                    let mut ctx = request(0xc0a8_0000 + t, port, 0, i);
                    let ret = hook.fire(&mut ctx).unwrap();
                    assert_eq!(ret, (i % 2) as u64);
                    assert_eq!(u32_at(&ctx, 12), i % 2);
                    assert_eq!(u32_at(&ctx, 8), i);
                }
            });
        }
    });
    let total = (THREADS * PER_THREAD / 2) as u64;
    assert_eq!(count(&instance, 0), total);
    assert_eq!(count(&instance, 1), total);
}
