// SPDX-License-Identifier: GPL-2.0
/*
 * SDT markers for tests/uprobe, with semaphores: ktaptest:tick, and
 * ktaptest:mixed with operands of every kind the compiler writes
 * (registers, frame slots, a global, constants). Built with -O0 and -O2.
 *
 *   sdt_prog N [LINGER_MS]  fire tick and mixed N times, global once;
 *                           print "enabled K": how many ticks saw the
 *                           semaphore set; then live LINGER_MS more (the
 *                           tracer reads globals from the live process)
 */
#define _SDT_HAS_SEMAPHORES 1
#include <stdio.h>
#include <stdlib.h>
#include <sys/sdt.h>
#include <time.h>

__extension__ unsigned short ktaptest_tick_semaphore
	__attribute__((unused, section(".probes")));
__extension__ unsigned short ktaptest_mixed_semaphore
	__attribute__((unused, section(".probes")));
__extension__ unsigned short ktaptest_global_semaphore
	__attribute__((unused, section(".probes")));
#define KTAPTEST_TICK_ENABLED() __builtin_expect(ktaptest_tick_semaphore, 0)

int counter = 7;
long table[4] = { 11, 22, 33, 44 };
static volatile long sink;

/* Globals as operands: counter(%rip), (%rax,%rdi,8), 16(%rax) at -O2. */
__attribute__((noinline)) static void report(int k)
{
	STAP_PROBE3(ktaptest, global, counter, table[k & 3], table[2]);
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 3, enabled = 0, i;
	long big = -5000000000L;
	short neg = -3;
	unsigned char byte = 200;

	for (i = 0; i < n; i++) {
		if (KTAPTEST_TICK_ENABLED())
			enabled++;
		STAP_PROBE3(ktaptest, tick, i, (long)i * 1000, big);
		counter++;
		STAP_PROBE5(ktaptest, mixed, neg, byte, counter, 42, &sink);
	}
	report(n);
	printf("enabled %d\n", enabled);
	fflush(stdout);
	sleep_ms(argc > 2 ? atol(argv[2]) : 0);
	return 0;
}
