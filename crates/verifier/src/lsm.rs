//! LSM hooks as the kernel's BPF LSM sees them (Linux 6.12, `lsm_hook_defs.h` and
//! `kernel/bpf/bpf_lsm.c`).
//!
//! Takes a hook name (the `NAME` of `lsm/NAME`); gives its [`LsmHook`] kind, which decides
//! the range r0 must lie in at exit (`bpf_lsm_get_retval_range`) or that programs may not
//! attach there at all. The kernel reads the kind from the hook's BTF prototype; without the
//! running kernel's BTF these tables stand in for it.

use crate::input::LsmHook;

/// Hooks returning `void`: any return value (it is ignored).
const VOID_HOOKS: &[&str] = &[
    "bprm_committing_creds",
    "bprm_committed_creds",
    "sb_delete",
    "sb_free_security",
    "sb_free_mnt_opts",
    "path_post_mknod",
    "inode_free_security",
    "inode_free_security_rcu",
    "inode_post_create_tmpfile",
    "inode_post_setattr",
    "inode_post_setxattr",
    "inode_post_removexattr",
    "inode_post_set_acl",
    "inode_post_remove_acl",
    "inode_getsecid",
    "file_release",
    "file_free_security",
    "backing_file_free",
    "file_set_fowner",
    "task_free",
    "cred_free",
    "cred_transfer",
    "cred_getsecid",
    "current_getsecid_subj",
    "task_getsecid_obj",
    "task_to_inode",
    "ipc_getsecid",
    "msg_msg_free_security",
    "msg_queue_free_security",
    "shm_free_security",
    "sem_free_security",
    "d_instantiate",
    "release_secctx",
    "inode_invalidate_secctx",
    "sk_free_security",
    "sk_clone_security",
    "sk_getsecid",
    "sock_graft",
    "inet_csk_clone",
    "inet_conn_established",
    "secmark_refcount_inc",
    "secmark_refcount_dec",
    "req_classify_flow",
    "sctp_sk_clone",
    "xfrm_policy_free_security",
    "xfrm_state_free_security",
    "key_post_create_or_update",
    "audit_rule_free",
    "bpf_map_free",
    "bpf_prog_free",
    "bpf_token_free",
    "initramfs_populated",
    "bdev_free_security",
];

/// Hooks returning 0 or 1 (the kernel's `bool_lsm_hooks`).
const BOOL_HOOKS: &[&str] = &[
    "xfrm_state_pol_flow_match",
    "audit_rule_known",
    "inode_xattr_skipcap",
];

/// Hooks BPF programs may not attach to (the kernel's `bpf_lsm_disabled_hooks`).
const DISABLED_HOOKS: &[&str] = &[
    "vm_enough_memory",
    "inode_need_killpriv",
    "inode_getsecurity",
    "inode_listsecurity",
    "inode_copy_up_xattr",
    "getselfattr",
    "getprocattr",
    "setprocattr",
    "key_getsecurity",
    "audit_rule_match",
    "xfrm_decode_session",
    "ismaclabel",
];

/// The kind of LSM hook `name`: every hook not listed as void, bool or disabled returns 0
/// or a negative errno.
pub fn hook_kind(name: &str) -> LsmHook {
    if DISABLED_HOOKS.contains(&name) {
        LsmHook::Disabled
    } else if VOID_HOOKS.contains(&name) {
        LsmHook::Void
    } else if BOOL_HOOKS.contains(&name) {
        LsmHook::Bool
    } else {
        LsmHook::Errno
    }
}

/// The LSM hook a section attaches to (`lsm/NAME`, `lsm.s/NAME`, `lsm_cgroup/NAME`), if any.
pub fn section_hook(section: &str) -> Option<LsmHook> {
    let s = section.strip_prefix('?').unwrap_or(section);
    ["lsm/", "lsm.s/", "lsm_cgroup/"]
        .iter()
        .find_map(|p| s.strip_prefix(p))
        .filter(|name| !name.is_empty())
        .map(hook_kind)
}
