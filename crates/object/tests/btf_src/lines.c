/* Line info and CO-RE relocations. Lines marked LINE:<name> are checked by the test. */
#define SEC(name) __attribute__((section(name), used))

struct task {
	int pid;
	int tgid;
	struct { unsigned int flags : 3; unsigned int state : 5; } bits;
	char comm[16];
} __attribute__((preserve_access_index));

enum mode { MODE_A = 1, MODE_B = 2 };

static __attribute__((noinline)) int sub(int x)
{
	int y = x * 3; /* LINE:sub_body */
	return y ^ 0x55; /* LINE:sub_ret */
}

SEC("kprobe/do_thing")
int probe(struct task *t)
{
	int pid = t->pid; /* LINE:probe_pid */
	int tgid = t->tgid; /* LINE:probe_tgid */
	int exists = __builtin_preserve_field_info(t->comm, 2); /* LINE:probe_exists */
	int bits = __builtin_preserve_field_info(t->bits.state, 4) +
		   __builtin_preserve_field_info(t->bits.state, 5) +
		   __builtin_preserve_field_info(t->bits.state, 3) +
		   __builtin_preserve_field_info(t->bits.state, 1);
	int tsize = __builtin_preserve_type_info(*t, 1);
	int texists = __builtin_preserve_type_info(*t, 0);
	int local_id = __builtin_btf_type_id(*t, 0);
	int target_id = __builtin_btf_type_id(*t, 1);
	int ev = __builtin_preserve_enum_value(*(enum mode *)MODE_B, 0);
	int evv = __builtin_preserve_enum_value(*(enum mode *)MODE_B, 1);
	return sub(pid + tgid + exists + bits + tsize + texists + local_id + target_id + ev + evv); /* LINE:probe_ret */
}

SEC("xdp")
int second(void *ctx)
{
	return sub(7); /* LINE:second_ret */
}

char _license[] SEC("license") = "GPL";
