/* Register types and initialisation: reads of registers never written, what r1 holds at
 * entry, scratch registers after a call, and the read-only frame pointer r10. */
#include "suite.h"

SEC("xdp") __success __naked void return_constant(void)
{
	asm volatile ("r0 = 2; exit;" ::: __clobber_all);
}

SEC("xdp") __failure __msg("R0 !read_ok") __naked void r0_uninit_at_exit(void)
{
	asm volatile ("exit;" ::: __clobber_all);
}

SEC("xdp") __failure __msg("R2 !read_ok") __naked void read_uninit_r2(void)
{
	asm volatile ("r0 = r2; exit;" ::: __clobber_all);
}

SEC("xdp") __success __naked void read_r1_ctx(void)
{
	asm volatile ("r0 = r1; r0 = 0; exit;" ::: __clobber_all);
}

SEC("xdp") __failure __msg("R3 !read_ok") __naked void uninit_src_in_add(void)
{
	asm volatile ("r0 = 1; r0 += r3; exit;" ::: __clobber_all);
}

SEC("xdp") __failure __msg("R4 !read_ok") __naked void uninit_dst_in_add(void)
{
	asm volatile ("r4 += 1; r0 = 0; exit;" ::: __clobber_all);
}

SEC("xdp") __success __naked void init_dst_in_add(void)
{
	asm volatile ("r4 = 0; r4 += 1; r0 = r4; exit;" ::: __clobber_all);
}

SEC("xdp") __failure __msg("R1 !read_ok") __naked void r1_clobbered_by_call(void)
{
	asm volatile ("call %[bpf_get_prandom_u32]; r0 = r1; exit;"
		      :: __imm(bpf_get_prandom_u32) : __clobber_all);
}

SEC("xdp") __failure __msg("R5 !read_ok") __naked void r5_clobbered_by_call(void)
{
	asm volatile ("r5 = 1; call %[bpf_get_prandom_u32]; r0 = r5; exit;"
		      :: __imm(bpf_get_prandom_u32) : __clobber_all);
}

SEC("xdp") __success __naked void r6_kept_across_call(void)
{
	asm volatile ("r6 = 1; call %[bpf_get_prandom_u32]; r0 = r6; exit;"
		      :: __imm(bpf_get_prandom_u32) : __clobber_all);
}

SEC("xdp") __success __naked void r9_kept_across_call(void)
{
	asm volatile ("r9 = 3; call %[bpf_get_prandom_u32]; r0 = r9; exit;"
		      :: __imm(bpf_get_prandom_u32) : __clobber_all);
}

SEC("xdp") __failure __msg("R2 !read_ok") __naked void uninit_on_one_path(void)
{
	asm volatile ("call %[bpf_get_prandom_u32];"
		      "if r0 > 5 goto l0_%=;"
		      "r2 = 1;"
		      "l0_%=: r0 = r2;"
		      "exit;"
		      :: __imm(bpf_get_prandom_u32) : __clobber_all);
}

SEC("xdp") __success __naked void init_on_both_paths(void)
{
	asm volatile ("call %[bpf_get_prandom_u32];"
		      "r2 = 0;"
		      "if r0 > 5 goto l0_%=;"
		      "r2 = 1;"
		      "l0_%=: r0 = r2;"
		      "exit;"
		      :: __imm(bpf_get_prandom_u32) : __clobber_all);
}

SEC("xdp") __failure __msg("R7 !read_ok") __naked void uninit_in_compare(void)
{
	asm volatile ("r0 = 0; if r7 > 1 goto l0_%=; l0_%=: exit;" ::: __clobber_all);
}

SEC("xdp") __failure __msg("R6 !read_ok") __naked void uninit_store_source(void)
{
	asm volatile ("*(u64 *)(r10 - 8) = r6; r0 = 0; exit;" ::: __clobber_all);
}

SEC("xdp") __failure __msg("R8 !read_ok") __naked void uninit_base_of_load(void)
{
	asm volatile ("r0 = *(u64 *)(r8 + 0); exit;" ::: __clobber_all);
}

SEC("xdp") __failure __msg("frame pointer is read only") __naked void write_r10(void)
{
	asm volatile ("r10 = 0; r0 = 0; exit;" ::: __clobber_all);
}

SEC("xdp") __failure __msg("frame pointer is read only") __naked void add_to_r10(void)
{
	asm volatile ("r10 += 8; r0 = 0; exit;" ::: __clobber_all);
}

SEC("xdp") __failure __msg("frame pointer is read only") __naked void load_into_r10(void)
{
	asm volatile ("*(u64 *)(r10 - 8) = 1; r10 = *(u64 *)(r10 - 8); r0 = 0; exit;" ::: __clobber_all);
}

SEC("xdp") __failure __msg("frame pointer is read only") __naked void w10_write(void)
{
	asm volatile ("w10 = 1; r0 = 0; exit;" ::: __clobber_all);
}

SEC("xdp") __success __naked void copy_r10_and_adjust(void)
{
	asm volatile ("r1 = r10; r1 += -8; r0 = 0; exit;" ::: __clobber_all);
}

SEC("xdp") __success __naked void read_r10(void)
{
	asm volatile ("r0 = r10; r0 = 0; exit;" ::: __clobber_all);
}

/* Privileged: a pointer may be returned (unprivileged loads get "R0 leaks addr"). */
SEC("xdp") __success __naked void return_pointer(void)
{
	asm volatile ("r0 = r10; exit;" ::: __clobber_all);
}
