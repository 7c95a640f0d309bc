//! An application with a plugin hook (the custom hooks library API).
//!
//! The application declares the hook `request` with its context layout (the request fields
//! read-only, `verdict` and `reason` writable), loads the C plugin
//! examples/plugin_filter.bpf.o (built with `userbpf build examples/plugin_filter.bpf.c`),
//! fires the hook for a few requests and reads the verdicts back, then shows that a plugin
//! writing a read-only field is refused at load.
//!
//!     cargo run -p userbpf-hooks --example plugin

use userbpf_hooks::custom::{ContextLayout, FieldAccess, HookDecl};
use userbpf_runtime::instance::{LoadOptions, ObjectInstance};

/// The application's request, as the plugin sees it (`struct request` in the C source).
#[derive(Debug, Default, Clone, Copy)]
struct Request {
    src_ip: u32,
    port: u16,
    method: u16,
    body_len: u32,
    verdict: u32,
    reason: u32,
}

impl Request {
    fn to_bytes(self) -> [u8; 24] {
        let mut b = [0u8; 24];
        b[0..4].copy_from_slice(&self.src_ip.to_ne_bytes());
        b[4..6].copy_from_slice(&self.port.to_ne_bytes());
        b[6..8].copy_from_slice(&self.method.to_ne_bytes());
        b[8..12].copy_from_slice(&self.body_len.to_ne_bytes());
        b[12..16].copy_from_slice(&self.verdict.to_ne_bytes());
        b[16..20].copy_from_slice(&self.reason.to_ne_bytes());
        b
    }

    fn read_back(&mut self, b: &[u8; 24]) {
        self.verdict = u32::from_ne_bytes(b[12..16].try_into().unwrap());
        self.reason = u32::from_ne_bytes(b[16..20].try_into().unwrap());
    }
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

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/plugin_filter.bpf.o"
    );
    let object = userbpf_object::Object::parse(&std::fs::read(path)?)?;
    let instance = ObjectInstance::load(&object, &LoadOptions::default())?;

    let decl = HookDecl::new("request", layout())?;
    let hook = decl.load(&instance, &object, "filter")?;
    println!(
        "hook {}: program {} loaded, verified, running in the {:?} engine",
        hook.hook(),
        hook.program(),
        hook.engine()
    );

    let reasons = ["-", "port", "body too large", "method", "blocked network"];
    let requests = [
        (0xc0a8_0001, 443, 0, 0),
        (0xc0a8_0001, 22, 0, 0),
        (0xc0a8_0002, 8080, 1, 100_000),
        (0xc0a8_0002, 8080, 1, 512),
        (0x0a01_0203, 443, 0, 0),
        (0xc0a8_0003, 443, 2, 0),
    ];
    for (src_ip, port, method, body_len) in requests {
        let mut req = Request {
            src_ip,
            port,
            method,
            body_len,
            ..Default::default()
        };
        let mut ctx = req.to_bytes();
        let ret = hook.fire(&mut ctx)?;
        req.read_back(&ctx);
        println!(
            "{}.{}.{}.{} port {:5} method {} body {:6} -> {} ({}), returned {ret}",
            src_ip >> 24,
            (src_ip >> 16) & 0xff,
            (src_ip >> 8) & 0xff,
            src_ip & 0xff,
            port,
            method,
            body_len,
            if req.verdict == 0 { "allow" } else { "deny" },
            reasons.get(req.reason as usize).unwrap_or(&"?"),
        );
    }

    let counts = instance.map("verdicts")?;
    for (verdict, name) in [(0u32, "allowed"), (1, "denied")] {
        let value = counts.lookup(&verdict.to_ne_bytes())?;
        let n = u64::from_ne_bytes(value[..8].try_into()?);
        println!("{name}: {n}");
    }

    match decl.load(&instance, &object, "rewrite_src") {
        Ok(_) => println!("rewrite_src was loaded (unexpected)"),
        Err(e) => println!("refused: {e}"),
    }
    Ok(())
}
