// SPDX-License-Identifier: GPL-2.0
/*
 * hot: a known call stack for the stack tests. It spins for the given
 * milliseconds of CPU time in hot_spin(), called from hot_outer(), and
 * calls getppid() from hot_syscall() once per spin round. Built with frame
 * pointers (perf follows them up the user stack) and without inlining.
 *
 *   hot MS
 */
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static volatile unsigned long sink;

static unsigned long long cpu_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (unsigned long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Its own stack frame (the volatile local needs one), so that the frame
 * pointer chain leads out of it even where the compiler would omit the
 * frame of a leaf function. */
__attribute__((noinline)) void hot_spin(void)
{
	volatile unsigned long acc = 0;
	unsigned long i;

	for (i = 0; i < 1000000; i++)
		acc += i * i;
	sink += acc;
}

__attribute__((noinline)) void hot_syscall(void)
{
	sink += (unsigned long)getppid();
}

__attribute__((noinline)) void hot_outer(unsigned long long until)
{
	while (cpu_ms() < until) {
		hot_spin();
		hot_syscall();
	}
}

int main(int argc, char **argv)
{
	hot_outer(cpu_ms() + (argc > 1 ? strtoull(argv[1], NULL, 10) : 1000));
	return 0;
}
