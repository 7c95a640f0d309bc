/* Structs, unions, bitfields, enums (32- and 64-bit, signed and unsigned), typedef chains,
 * const/volatile/restrict, arrays, function prototypes and floats. */
typedef unsigned int u32;
typedef unsigned long long u64;
typedef u32 my_u32;
typedef my_u32 my_my_u32;
typedef signed char s8;
typedef _Bool flag_t;

enum color { RED, GREEN = 5, BLUE = 0xffffffff };
enum sign { NEG = -3, ZERO = 0, POS = 3 };
enum wide { SMALL = 1, HUGE = 0x123456789abcdefULL };
enum swide { SNEG = -0x100000000LL, SPOS = 1 };

struct bits {
	unsigned int a : 3;
	unsigned int b : 5;
	int c : 7;
	unsigned long long d : 40;
	char tail;
};

union number {
	int i;
	float f;
	double d;
	unsigned char bytes[8];
};

struct point {
	int x, y;
};

struct nested {
	struct point corners[2][3];
	const volatile int *cvp;
	char *restrict rp;
	struct {
		int anon_a;
		union {
			short anon_b;
			long anon_c;
		};
	};
	union number num;
	enum color color;
	enum wide wide;
	my_my_u32 chained;
	flag_t flag;
	s8 tiny;
	long double ld;
	struct fwd_only *fwd;
	union fwd_union *fwdu;
	int (*callback)(struct point *p, u64 n, ...);
	void (*noargs)(void);
	int flex[];
};

struct ctx { u32 data; u32 data_end; };

static __attribute__((noinline)) int helper(struct nested *n, const struct bits *b, enum sign s)
{
	return n->chained + b->c + s;
}

__attribute__((section("xdp"), used))
int prog(struct ctx *ctx)
{
	struct nested n = {};
	struct bits b = {};
	volatile enum swide w = SPOS;
	n.chained = ctx->data;
	b.c = (int)ctx->data_end;
	return helper(&n, &b, NEG) + (int)w;
}

char _license[] __attribute__((section("license"), used)) = "GPL";
