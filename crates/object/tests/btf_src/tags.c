/* BTF_KIND_DECL_TAG and BTF_KIND_TYPE_TAG from btf_decl_tag / btf_type_tag attributes. */
#define __tag(x) __attribute__((btf_decl_tag(x)))
#define __ttag(x) __attribute__((btf_type_tag(x)))

struct tagged {
	int a __tag("member_tag");
	int __ttag("user") *uptr;
	int __ttag("rcu") __ttag("percpu") *pp;
} __tag("struct_tag");

typedef int tagged_int __tag("typedef_tag");

int global_tagged __tag("var_tag") = 1;

static __attribute__((noinline)) __tag("func_tag") int
tagged_fn(struct tagged *t __tag("param_tag"), tagged_int x)
{
	return t->a + *t->uptr + x;
}

__attribute__((section("tc"), used))
int prog(struct tagged *t)
{
	return tagged_fn(t, global_tagged);
}

char _license[] __attribute__((section("license"), used)) = "GPL";
