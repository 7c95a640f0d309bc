/* Target of examples/uprobe_args.bpf.c: THREADS threads (argv[2], default 1) each call
 * add_numbers(thread, i) for i in 0..N (argv[1], default 3), then getpid() once. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

__attribute__((noinline)) long add_numbers(long a, long b)
{
	__asm__ volatile("" ::: "memory");
	return a * 1000 + b;
}

static long n = 3;

static void *worker(void *arg)
{
	long t = (long)arg, sum = 0;
	for (long i = 0; i < n; i++)
		sum += add_numbers(t, i);
	return (void *)sum;
}

int main(int argc, char **argv)
{
	long threads = argc > 2 ? atol(argv[2]) : 1, total = 0;
	pthread_t tid[64];
	if (argc > 1)
		n = atol(argv[1]);
	if (threads < 1 || threads > 64)
		return 2;
	for (long t = 1; t < threads; t++)
		pthread_create(&tid[t], NULL, worker, (void *)t);
	total += (long)worker((void *)0);
	for (long t = 1; t < threads; t++) {
		void *r;
		pthread_join(tid[t], &r);
		total += (long)r;
	}
	printf("total %ld pid %d\n", total, (int)getpid());
	return 0;
}
