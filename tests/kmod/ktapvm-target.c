// SPDX-License-Identifier: GPL-2.0
/*
 * The program the kmod tests trace: calls and opens whose arguments and
 * results the test scripts know.
 *
 *   ktapvm-target add N          ktap_target_add(40, 2) N times (uprobes)
 *   ktapvm-target open N PATH    open(PATH) N times; PATH need not exist
 *   ktapvm-target spin MS PATH   open(PATH) in a loop for MS milliseconds
 *   ktapvm-target ppid N         getppid() N times (a syscall nobody else
 *                                makes: a tracepoint all its own)
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* Not inlined, not folded: uprobes need the call and its arguments. */
__attribute__((noinline)) long ktap_target_add(long a, long b)
{
	__asm__ volatile("" : : : "memory");
	return a + b;
}

static void open_once(const char *path)
{
	int fd = open(path, O_RDONLY);

	if (fd >= 0)
		close(fd);
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ll + ts.tv_nsec / 1000000;
}

int main(int argc, char **argv)
{
	long long end;
	long i, n, sum = 0;

	if (argc >= 3 && strcmp(argv[1], "add") == 0) {
		n = atol(argv[2]);
		for (i = 0; i < n; i++)
			sum += ktap_target_add(40, 2);
		return sum == 42 * n ? 0 : 1;
	}
	if (argc == 4 && strcmp(argv[1], "open") == 0) {
		n = atol(argv[2]);
		for (i = 0; i < n; i++)
			open_once(argv[3]);
		return 0;
	}
	if (argc == 4 && strcmp(argv[1], "spin") == 0) {
		end = now_ms() + atol(argv[2]);
		while (now_ms() < end)
			open_once(argv[3]);
		return 0;
	}
	if (argc == 3 && strcmp(argv[1], "ppid") == 0) {
		n = atol(argv[2]);
		for (i = 0; i < n; i++)
			syscall(SYS_getppid);
		return 0;
	}
	fprintf(stderr, "usage: ktapvm-target add N | open N PATH | "
			"spin MS PATH | ppid N\n");
	return 2;
}
