//! LSM programs: the range r0 must lie in at exit depends on the hook (0 or a negative errno,
//! 0/1 for the bool hooks, anything for void hooks, 1 for void hooks of `lsm_cgroup`), on
//! the low 32 bits as the kernel checks; disabled hooks are refused.

mod common;

use common::run;
use userbpf_verifier::input::attach_type;
use userbpf_verifier::lsm::section_hook;
use userbpf_verifier::{LsmHook, Options, ProgType};

const LSM: ProgType = ProgType::Other(29);

fn opts(section: &str) -> Options {
    Options {
        lsm_hook: section_hook(section),
        expected_attach_type: if section.starts_with("lsm_cgroup/") {
            attach_type::LSM_CGROUP
        } else {
            attach_type::LSM_MAC
        },
        ..Options::default()
    }
}

fn ret(section: &str, r0: i64) -> Result<u64, String> {
    run(&format!("r0 = {r0}\nexit"), LSM, &[], opts(section)).map_err(|e| e.message)
}

#[test]
fn hook_kinds_from_sections() {
    assert_eq!(section_hook("lsm/file_mprotect"), Some(LsmHook::Errno));
    assert_eq!(
        section_hook("lsm.s/bprm_committed_creds"),
        Some(LsmHook::Void)
    );
    assert_eq!(section_hook("lsm/audit_rule_known"), Some(LsmHook::Bool));
    assert_eq!(section_hook("lsm/getprocattr"), Some(LsmHook::Disabled));
    assert_eq!(section_hook("kprobe/getprocattr"), None);
    assert_eq!(section_hook("lsm/"), None);
}

#[test]
fn return_ranges() {
    for (section, ok, bad) in [
        ("lsm/file_mprotect", &[0, -4095][..], &[-4096, 1, 4096][..]),
        ("lsm/audit_rule_known", &[0, 1], &[-1, 2]),
        ("lsm/file_free_security", &[-4096, 4096], &[]),
        ("lsm_cgroup/file_free_security", &[1], &[0, 2]),
        ("lsm_cgroup/file_mprotect", &[0, 1], &[-1, 2]),
    ] {
        for &r0 in ok {
            assert!(ret(section, r0).is_ok(), "{section} r0={r0}");
        }
        for &r0 in bad {
            let e = ret(section, r0).unwrap_err();
            assert!(e.contains("should have been in"), "{section} r0={r0}: {e}");
        }
    }
    // The low 32 bits are checked: 0x1_0000_0000 is 0 there.
    let hi = "r0 = 1\nr0 <<= 32\nexit";
    run(hi, LSM, &[], opts("lsm/file_mprotect")).expect("low 32 bits are 0");
    // Without a known hook, nothing is checked.
    run("r0 = 7\nexit", LSM, &[], Options::default()).expect("no hook kind");
}

#[test]
fn disabled_hooks_are_refused() {
    let e = ret("lsm/setprocattr", 0).unwrap_err();
    assert_eq!(e, "attach_btf_id points to disabled hook");
}
