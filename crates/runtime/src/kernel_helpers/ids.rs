//! Kernel helper ids and names (`enum bpf_func_id` in `linux/bpf.h`).
//!
//! Takes nothing; gives the numeric ids userbpf knows and [`name`], the kernel's name of an id,
//! for messages such as "helper bpf_get_current_task (35) is not available in user space".
//! Past the kernel's last id (212 on) come userbpf's built-ins (`memset`, ...,
//! [`userbpf_object::BUILTINS`]), which the loader makes of calls clang left un-inlined.

macro_rules! helper_ids {
    ($($name:ident = $id:expr, $text:literal;)*) => {
        $(
            #[doc = concat!("`", $text, "`")]
            #[doc(alias = $text)]
            pub const $name: u32 = $id;
        )*
        /// The kernel's name of helper `id`, when userbpf knows it.
        pub fn name(id: u32) -> Option<&'static str> {
            match id {
                $($id => Some($text),)*
                _ => None,
            }
        }
    };
}

helper_ids! {
    MAP_LOOKUP_ELEM = 1, "bpf_map_lookup_elem";
    MAP_UPDATE_ELEM = 2, "bpf_map_update_elem";
    MAP_DELETE_ELEM = 3, "bpf_map_delete_elem";
    PROBE_READ = 4, "bpf_probe_read";
    KTIME_GET_NS = 5, "bpf_ktime_get_ns";
    TRACE_PRINTK = 6, "bpf_trace_printk";
    GET_PRANDOM_U32 = 7, "bpf_get_prandom_u32";
    GET_SMP_PROCESSOR_ID = 8, "bpf_get_smp_processor_id";
    SKB_STORE_BYTES = 9, "bpf_skb_store_bytes";
    L3_CSUM_REPLACE = 10, "bpf_l3_csum_replace";
    L4_CSUM_REPLACE = 11, "bpf_l4_csum_replace";
    TAIL_CALL = 12, "bpf_tail_call";
    CLONE_REDIRECT = 13, "bpf_clone_redirect";
    GET_CURRENT_PID_TGID = 14, "bpf_get_current_pid_tgid";
    GET_CURRENT_UID_GID = 15, "bpf_get_current_uid_gid";
    GET_CURRENT_COMM = 16, "bpf_get_current_comm";
    GET_CGROUP_CLASSID = 17, "bpf_get_cgroup_classid";
    SKB_VLAN_PUSH = 18, "bpf_skb_vlan_push";
    SKB_VLAN_POP = 19, "bpf_skb_vlan_pop";
    SKB_GET_TUNNEL_KEY = 20, "bpf_skb_get_tunnel_key";
    SKB_SET_TUNNEL_KEY = 21, "bpf_skb_set_tunnel_key";
    PERF_EVENT_READ = 22, "bpf_perf_event_read";
    REDIRECT = 23, "bpf_redirect";
    GET_ROUTE_REALM = 24, "bpf_get_route_realm";
    PERF_EVENT_OUTPUT = 25, "bpf_perf_event_output";
    SKB_LOAD_BYTES = 26, "bpf_skb_load_bytes";
    GET_STACKID = 27, "bpf_get_stackid";
    CSUM_DIFF = 28, "bpf_csum_diff";
    SKB_CHANGE_PROTO = 31, "bpf_skb_change_proto";
    SKB_CHANGE_TYPE = 32, "bpf_skb_change_type";
    GET_CURRENT_TASK = 35, "bpf_get_current_task";
    PROBE_WRITE_USER = 36, "bpf_probe_write_user";
    GET_NUMA_NODE_ID = 42, "bpf_get_numa_node_id";
    SKB_CHANGE_HEAD = 43, "bpf_skb_change_head";
    XDP_ADJUST_HEAD = 44, "bpf_xdp_adjust_head";
    PROBE_READ_STR = 45, "bpf_probe_read_str";
    GET_SOCKET_COOKIE = 46, "bpf_get_socket_cookie";
    GET_SOCKET_UID = 47, "bpf_get_socket_uid";
    SET_HASH = 48, "bpf_set_hash";
    SKB_ADJUST_ROOM = 50, "bpf_skb_adjust_room";
    REDIRECT_MAP = 51, "bpf_redirect_map";
    XDP_ADJUST_META = 54, "bpf_xdp_adjust_meta";
    OVERRIDE_RETURN = 58, "bpf_override_return";
    XDP_ADJUST_TAIL = 65, "bpf_xdp_adjust_tail";
    FIB_LOOKUP = 69, "bpf_fib_lookup";
    GET_CURRENT_CGROUP_ID = 80, "bpf_get_current_cgroup_id";
    MAP_PUSH_ELEM = 87, "bpf_map_push_elem";
    MAP_POP_ELEM = 88, "bpf_map_pop_elem";
    MAP_PEEK_ELEM = 89, "bpf_map_peek_elem";
    SPIN_LOCK = 93, "bpf_spin_lock";
    SPIN_UNLOCK = 94, "bpf_spin_unlock";
    SEND_SIGNAL = 109, "bpf_send_signal";
    PROBE_READ_USER = 112, "bpf_probe_read_user";
    PROBE_READ_KERNEL = 113, "bpf_probe_read_kernel";
    PROBE_READ_USER_STR = 114, "bpf_probe_read_user_str";
    PROBE_READ_KERNEL_STR = 115, "bpf_probe_read_kernel_str";
    SEND_SIGNAL_THREAD = 117, "bpf_send_signal_thread";
    JIFFIES64 = 118, "bpf_jiffies64";
    GET_NS_CURRENT_PID_TGID = 120, "bpf_get_ns_current_pid_tgid";
    KTIME_GET_BOOT_NS = 125, "bpf_ktime_get_boot_ns";
    RINGBUF_OUTPUT = 130, "bpf_ringbuf_output";
    RINGBUF_RESERVE = 131, "bpf_ringbuf_reserve";
    RINGBUF_SUBMIT = 132, "bpf_ringbuf_submit";
    RINGBUF_DISCARD = 133, "bpf_ringbuf_discard";
    RINGBUF_QUERY = 134, "bpf_ringbuf_query";
    GET_TASK_STACK = 141, "bpf_get_task_stack";
    GET_CURRENT_TASK_BTF = 158, "bpf_get_current_task_btf";
    KTIME_GET_COARSE_NS = 160, "bpf_ktime_get_coarse_ns";
    FOR_EACH_MAP_ELEM = 164, "bpf_for_each_map_elem";
    SNPRINTF = 165, "bpf_snprintf";
    GET_FUNC_IP = 173, "bpf_get_func_ip";
    TRACE_VPRINTK = 177, "bpf_trace_vprintk";
    LOOP = 181, "bpf_loop";
    STRNCMP = 182, "bpf_strncmp";
    KTIME_GET_TAI_NS = 208, "bpf_ktime_get_tai_ns";
    MEMSET = 212, "memset";
    MEMCPY = 213, "memcpy";
    MEMMOVE = 214, "memmove";
    MEMCMP = 215, "memcmp";
}
