// SPDX-License-Identifier: GPL-2.0
/* Human forms of sizes, times and durations (see format.h). */
#include <stdio.h>
#include <time.h>

#include "format.h"

const char *format_size(uint64_t bytes, char buf[FORMAT_MAX])
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB" };
	uint64_t tenths;
	int u = -1;

	if (bytes < 1024) {
		snprintf(buf, FORMAT_MAX, "%llu B", (unsigned long long)bytes);
		return buf;
	}
	/* Tenths of the unit, rounded; the unit grows while it reads 1024. */
	do {
		u++;
		tenths = (bytes * 10 + (512ull << (10 * u))) >> (10 * (u + 1));
	} while (tenths >= 10240 && u < 3);
	snprintf(buf, FORMAT_MAX, "%llu.%llu %s",
		 (unsigned long long)(tenths / 10),
		 (unsigned long long)(tenths % 10), units[u]);
	return buf;
}

const char *format_time(int64_t usec, char buf[FORMAT_MAX])
{
	time_t t = (time_t)(usec / 1000000);
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(buf, FORMAT_MAX, "%Y-%m-%d %H:%M:%S", &tm);
	return buf;
}

const char *format_duration(int64_t usec, char buf[FORMAT_MAX])
{
	long long s = (long long)(usec / 1000000);

	if (usec < 0)
		usec = s = 0;
	if (s < 10)
		snprintf(buf, FORMAT_MAX, "%lld.%llds", s,
			 (long long)(usec / 100000 % 10));
	else if (s < 60)
		snprintf(buf, FORMAT_MAX, "%llds", s);
	else if (s < 3600)
		snprintf(buf, FORMAT_MAX, "%lldm%02llds", s / 60, s % 60);
	else if (s < 86400)
		snprintf(buf, FORMAT_MAX, "%lldh%02lldm", s / 3600,
			 s / 60 % 60);
	else
		snprintf(buf, FORMAT_MAX, "%lldd%02lldh", s / 86400,
			 s / 3600 % 24);
	return buf;
}

int64_t format_now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}
