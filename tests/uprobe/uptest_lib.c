// SPDX-License-Identifier: GPL-2.0
/* A shared library for tests/uprobe: a function and an SDT marker
 * without a semaphore, both reached through the library's own path. */
#include <sys/sdt.h>

#include "uptest_lib.h"

__attribute__((noinline)) long uptest_lib_mul(long a, long b)
{
	long r = a * b;

	STAP_PROBE2(uptestlib, mul, a, r);
	return r;
}
