// CO-RE relocations of every family, against the host kernel's BTF.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

struct task_struct___mine {
	int pid;
	int tgid;
	int no_such_field_here;
} __attribute__((preserve_access_index));

enum bpf_func_id___mine {
	BPF_FUNC_map_lookup_elem___mine = 99,
	BPF_FUNC_no_such_helper___mine = 98,
};

struct xdp_md___mine {
	__u32 data;
	__u32 data_end;
} __attribute__((preserve_access_index));

SEC("xdp") int tgid_offset(struct xdp_md *ctx)
{
	return bpf_core_field_offset(struct task_struct___mine, tgid);
}

SEC("xdp") int pid_size(struct xdp_md *ctx)
{
	return bpf_core_field_size(struct task_struct___mine, pid);
}

SEC("xdp") int missing_exists(struct xdp_md *ctx)
{
	return bpf_core_field_exists(struct task_struct___mine, no_such_field_here);
}

SEC("xdp") int present_exists(struct xdp_md *ctx)
{
	return bpf_core_field_exists(struct task_struct___mine, pid);
}

SEC("xdp") int enum_value(struct xdp_md *ctx)
{
	return bpf_core_enum_value(enum bpf_func_id___mine, BPF_FUNC_map_lookup_elem___mine);
}

SEC("xdp") int enum_missing(struct xdp_md *ctx)
{
	return bpf_core_enum_value_exists(enum bpf_func_id___mine, BPF_FUNC_no_such_helper___mine);
}

SEC("xdp") int type_size(struct xdp_md *ctx)
{
	return bpf_core_type_size(struct xdp_md___mine);
}

SEC("xdp") int read_data_end(struct xdp_md___mine *ctx)
{
	return ctx->data_end;
}

SEC("xdp") int missing_field_offset(struct xdp_md *ctx)
{
	return bpf_core_field_offset(struct task_struct___mine, no_such_field_here);
}

char LICENSE[] SEC("license") = "GPL";
