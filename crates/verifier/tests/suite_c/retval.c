/* r0 at program exit: initialised always; within [0, 1] for cgroup_skb ingress (0-3 for
 * egress), cgroup socket and device programs, sockops, sysctl; 1 for recvmsg and
 * getpeername hooks; any value (even a pointer, when privileged) for xdp, tc, socket
 * filters and the tracing types. */
#include "suite.h"

CASE("cgroup_skb/ingress", __success, cg_skb_ingress_1, "r0 = 1; exit;")
CASE("cgroup_skb/ingress", __success, cg_skb_ingress_0, "r0 = 0; exit;")
CASE("cgroup_skb/ingress", __failure __msg("At program exit the register R0 has smin=2 smax=2 should have been in [0, 1]"),
     cg_skb_ingress_2, "r0 = 2; exit;")
CASE("cgroup_skb/ingress", __failure __msg("At program exit the register R0 has smin=-1 smax=-1 should have been in [0, 1]"),
     cg_skb_ingress_minus_1, "r0 = -1; exit;")
CASE("cgroup_skb/ingress", __failure __msg("At program exit the register R0 has unknown scalar value should have been in [0, 1]"),
     cg_skb_ingress_unknown, "call %[bpf_ktime_get_ns]; exit;", __imm(bpf_ktime_get_ns))
CASE("cgroup_skb/ingress", __success, cg_skb_ingress_masked, "call %[bpf_ktime_get_ns]; r0 &= 1; exit;", __imm(bpf_ktime_get_ns))
CASE("cgroup_skb/ingress", __failure __msg("should have been in [0, 1]"), cg_skb_ingress_masked_3,
     "call %[bpf_ktime_get_ns]; r0 &= 3; exit;", __imm(bpf_ktime_get_ns))
CASE("cgroup_skb/ingress", __failure __msg("At program exit the register R0 is not a known value (ctx)"),
     cg_skb_ingress_pointer, "r0 = r1; exit;")
CASE("cgroup_skb/ingress", __success, cg_skb_ingress_bounded_by_branch,
     "call %[bpf_ktime_get_ns]; if r0 > 1 goto l0_%=; exit; l0_%=: r0 = 0; exit;", __imm(bpf_ktime_get_ns))
CASE("cgroup_skb/egress", __success, cg_skb_egress_3, "r0 = 3; exit;")
CASE("cgroup_skb/egress", __failure __msg("should have been in [0, 3]"), cg_skb_egress_4, "r0 = 4; exit;")
CASE("cgroup/sock_create", __success, cg_sock_1, "r0 = 1; exit;")
CASE("cgroup/sock_create", __failure __msg("should have been in [0, 1]"), cg_sock_2, "r0 = 2; exit;")
CASE("cgroup/connect4", __success, cg_connect4_1, "r0 = 1; exit;")
CASE("cgroup/connect4", __failure __msg("should have been in [0, 1]"), cg_connect4_2, "r0 = 2; exit;")
CASE("cgroup/recvmsg4", __success, cg_recvmsg4_1, "r0 = 1; exit;")
CASE("cgroup/recvmsg4", __failure __msg("should have been in [1, 1]"), cg_recvmsg4_0, "r0 = 0; exit;")
CASE("cgroup/bind4", __success, cg_bind4_3, "r0 = 3; exit;")
CASE("cgroup/bind4", __failure __msg("should have been in [0, 3]"), cg_bind4_4, "r0 = 4; exit;")
CASE("sockops", __success, sockops_1, "r0 = 1; exit;")
CASE("sockops", __failure __msg("should have been in [0, 1]"), sockops_2, "r0 = 2; exit;")
CASE("cgroup/dev", __success, cg_dev_0, "r0 = 0; exit;")
CASE("cgroup/dev", __failure __msg("should have been in [0, 1]"), cg_dev_5, "r0 = 5; exit;")
CASE("cgroup/sysctl", __success, cg_sysctl_1, "r0 = 1; exit;")
CASE("cgroup/sysctl", __failure __msg("should have been in [0, 1]"), cg_sysctl_2, "r0 = 2; exit;")
CASE("xdp", __success, xdp_any_value, "r0 = 12345; exit;")
CASE("xdp", __success, xdp_unknown_value, "call %[bpf_ktime_get_ns]; exit;", __imm(bpf_ktime_get_ns))
CASE("tc", __success, tc_any_value, "r0 = -1; exit;")
CASE("socket", __success, socket_any_value, "r0 = 0xffff; exit;")
CASE("kprobe/do_sys_open", __success, kprobe_any_value, "r0 = 7; exit;")
CASE("tracepoint/syscalls/sys_enter_openat", __success, tracepoint_any_value, "r0 = 7; exit;")
CASE("raw_tracepoint/sys_enter", __success, raw_tp_any_value, "r0 = 7; exit;")
CASE("perf_event", __success, perf_event_any_value, "r0 = 7; exit;")
CASE("kprobe/do_sys_open", __failure __msg("R0 !read_ok"), kprobe_r0_uninit, "exit;")
CASE("cgroup_skb/ingress", __failure __msg("R0 !read_ok"), cg_skb_r0_uninit, "exit;")
CASE("tc", __success, tc_pointer_privileged, "r0 = r10; exit;")
