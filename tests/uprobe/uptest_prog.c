// SPDX-License-Identifier: GPL-2.0
/*
 * The traced program of tests/uprobe, built as a PIE and as a fixed
 * executable:
 *
 *   uptest_prog N [LINGER_MS]   N rounds of: add3(i, 10, 100),
 *                               uptest_lib_mul(i, 3), malloc(1234),
 *                               malloc(56789), malloc(777 + i); then live
 *                               LINGER_MS more
 *   uptest_prog -t N            N calls of add3 timed: "ns N" (the
 *                               uprobe benchmark's loop)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "uptest_lib.h"

__attribute__((noinline)) long add3(long a, long b, long c)
{
	__asm__ volatile("" ::: "memory");
	return a + b + c;
}

/* Never called: a second match for the glob add*. */
__attribute__((noinline)) long add_never(long a)
{
	__asm__ volatile("" ::: "memory");
	return a + 1;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

static long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	long n, i, sum = 0, t0;
	void *volatile p;

	if (argc > 2 && !strcmp(argv[1], "-t")) {
		n = atol(argv[2]);
		t0 = now_ns();
		for (i = 0; i < n; i++)
			sum += add3(i, 1, 2);
		printf("ns %ld\n", now_ns() - t0);
		return sum == 0;
	}
	n = argc > 1 ? atol(argv[1]) : 3;
	for (i = 0; i < n; i++) {
		sum += add3(i, 10, 100) + uptest_lib_mul(i, 3);
		p = malloc(1234);
		free(p);
		p = malloc(56789);
		free(p);
		p = malloc(777 + i);
		free(p);
	}
	if (argc > 3)
		add_never(0);
	printf("sum %ld\n", sum);
	fflush(stdout);
	sleep_ms(argc > 2 ? atol(argv[2]) : 0);
	return 0;
}
