// SPDX-License-Identifier: GPL-2.0
/* What both engines do the same way (see engine_util.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "engine_util.h"

void engine_printf(const struct engine_callbacks *cb, void *owner,
		   const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > 0)
		cb->output(owner, buf,
			   (size_t)n < sizeof(buf) ? (size_t)n
						   : sizeof(buf) - 1);
}

int engine_target_open(pid_t pid, char *err, size_t errlen)
{
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);

	if (fd < 0) {
		snprintf(err, errlen, "process %d: %s", pid, strerror(errno));
		return -errno;
	}
	return fd;
}
