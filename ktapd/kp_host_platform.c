// SPDX-License-Identifier: GPL-2.0
/* User-space implementation of the VM core's platform services. */
#define _GNU_SOURCE
#include <sched.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "kp_host_platform.h"

static struct utsname uts;
static int uts_loaded;

static const struct utsname *host_uts(void)
{
	if (!uts_loaded) {
		if (uname(&uts) < 0)
			memset(&uts, 0, sizeof(uts));
		uts_loaded = 1;
	}
	return &uts;
}

kp_u64 kp_wall_time_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (kp_u64)ts.tv_sec * 1000000000ull + (kp_u64)ts.tv_nsec;
}

kp_u64 kp_clock_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (kp_u64)ts.tv_sec * 1000000000ull + (kp_u64)ts.tv_nsec;
}

int kp_cpu_id(void)
{
	int cpu = sched_getcpu();

	return cpu < 0 ? 0 : cpu;
}

int kp_num_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : (int)n;
}

const char *kp_arch(void)
{
	return host_uts()->machine;
}

const char *kp_kernel_release(void)
{
	return host_uts()->release;
}
