// SPDX-License-Identifier: GPL-2.0
// A request filter plugin for an application that embeds userbpf (custom hook, library
// API). The application declares the hook "request" with the context below: the request
// fields are read-only, `verdict` and `reason` are written by the plugin. See
// crates/hooks/examples/plugin.rs.
//
//   userbpf build examples/plugin_filter.bpf.c
//   cargo run -p userbpf-hooks --example plugin
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

/* The hook's context, as the application lays it out (24 bytes). */
struct request {
	__u32 src_ip;   /*  0: read-only, host byte order */
	__u16 port;     /*  4: read-only */
	__u16 method;   /*  6: read-only: 0 GET, 1 POST, 2 DELETE */
	__u32 body_len; /*  8: read-only */
	__u32 verdict;  /* 12: writable: 0 allow, 1 deny */
	__u32 reason;   /* 16: writable: why it was denied */
	__u32 _pad;     /* 20 */
};

enum { ALLOW = 0, DENY = 1 };
enum { R_NONE = 0, R_PORT = 1, R_BODY = 2, R_METHOD = 3, R_NET = 4 };

/* Configuration (.rodata), set before loading. */
const volatile __u32 max_body = 4096;
const volatile __u32 blocked_net = 0x0a000000; /* 10.0.0.0/8 */
const volatile __u32 blocked_mask = 0xff000000;

/* Requests seen, by verdict. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} verdicts SEC(".maps");

SEC("userbpf/request")
int filter(struct request *req)
{
	__u32 reason = R_NONE;

	if (req->port == 22 || req->port == 23)
		reason = R_PORT;
	else if (req->method == 1 && req->body_len > max_body)
		reason = R_BODY;
	else if (req->method == 2)
		reason = R_METHOD;
	else if ((req->src_ip & blocked_mask) == blocked_net)
		reason = R_NET;

	__u32 verdict = reason == R_NONE ? ALLOW : DENY;
	req->verdict = verdict;
	req->reason = reason;

	__u64 *count = bpf_map_lookup_elem(&verdicts, &verdict);
	if (count)
		__sync_fetch_and_add(count, 1);
	return verdict;
}

/* A plugin the hook refuses: it writes the read-only source address. */
SEC("userbpf/request")
int rewrite_src(struct request *req)
{
	req->src_ip = 0x7f000001;
	req->verdict = ALLOW;
	return ALLOW;
}

char LICENSE[] SEC("license") = "GPL";
