/* SPDX-License-Identifier: GPL-2.0 */
/* Human forms of the numbers ktapd reports: sizes, times, durations. */
#ifndef KTAPCTL_FORMAT_H
#define KTAPCTL_FORMAT_H

#include <stdint.h>

#define FORMAT_MAX 32

/* "512 B", "20.4 KiB", "16.0 MiB". */
const char *format_size(uint64_t bytes, char buf[FORMAT_MAX]);
/* Local time of a CLOCK_REALTIME microsecond count: "2024-11-23 01:09:21". */
const char *format_time(int64_t usec, char buf[FORMAT_MAX]);
/* "0.2s", "42s", "3m12s", "5h03m", "2d04h". */
const char *format_duration(int64_t usec, char buf[FORMAT_MAX]);
/* CLOCK_REALTIME now, in microseconds. */
int64_t format_now_usec(void);

#endif /* KTAPCTL_FORMAT_H */
