/* Global variables in .data, .rodata and .bss (DATASEC), and BTF-defined maps in .maps. */
#define SEC(name) __attribute__((section(name), used))
#define __uint(name, val) int (*name)[val]
#define __type(name, val) typeof(val) *name
#define __array(name, val) typeof(val) *name[]

enum { MAP_HASH = 1, MAP_ARRAY = 2, MAP_ARRAY_OF_MAPS = 12, MAP_RINGBUF = 27 };

struct key { unsigned int src, dst; };
struct value { unsigned long long packets, bytes; };

struct {
	__uint(type, MAP_HASH);
	__uint(max_entries, 1024);
	__type(key, struct key);
	__type(value, struct value);
	__uint(map_flags, 1);
	__uint(pinning, 1);
} flows SEC(".maps");

struct {
	__uint(type, MAP_ARRAY);
	__uint(key_size, 4);
	__uint(value_size, 16);
	__uint(max_entries, 8);
} sized SEC(".maps");

struct inner {
	__uint(type, MAP_ARRAY);
	__uint(max_entries, 1);
	__type(key, int);
	__type(value, long);
};

struct inner inner_a SEC(".maps");

struct {
	__uint(type, MAP_ARRAY_OF_MAPS);
	__uint(max_entries, 4);
	__type(key, int);
	__array(values, struct inner);
} outer SEC(".maps") = {
	.values = { [0] = &inner_a },
};

struct {
	__uint(type, MAP_RINGBUF);
	__uint(max_entries, 4096);
} events SEC(".maps");

int counter = 7;
static long static_counter = 3;
const char greeting[] = "hello";
const volatile unsigned int config_value = 42;
unsigned char scratch[64];
struct value totals;
static float ratio = 1.5f;
double weights[4] = { 0.5, 1.0, 2.0, 4.0 };
int custom_var SEC(".data.custom") = 9;
extern int some_extern __attribute__((weak));

static void *(*lookup)(void *map, const void *key) = (void *)1;

SEC("xdp")
int prog(void *ctx)
{
	struct key k = { 1, 2 };
	struct value *v = lookup(&flows, &k);
	counter++;
	static_counter++;
	scratch[0] = greeting[1] + config_value;
	totals.packets += custom_var + *(int *)&ratio + ((int *)weights)[2];
	if (&some_extern)
		totals.bytes += some_extern;
	lookup(&sized, &k);
	lookup(&outer, &k);
	lookup(&events, &k);
	return v ? 1 : 2;
}

char _license[] SEC("license") = "GPL";
