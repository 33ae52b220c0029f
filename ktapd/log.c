// SPDX-License-Identifier: GPL-2.0
/* ktapd's log: stderr, with level prefixes when stderr is the journal. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

static int log_max_level = LOG_INFO;
static int log_to_journal;

/*
 * systemd sets JOURNAL_STREAM=DEV:INODE for a service whose stderr is a
 * journal stream; anything else (a terminal, a pipe, a file) gets plain lines.
 */
static int stderr_is_journal(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2)
		return 0;
	if (fstat(STDERR_FILENO, &st) < 0)
		return 0;
	return st.st_dev == dev && st.st_ino == ino;
}

void log_setup(int max_level)
{
	log_max_level = max_level;
	log_to_journal = stderr_is_journal();
}

int log_internal(int level, int error, const char *fmt, ...)
{
	int saved_errno = errno;
	char buf[1024];
	va_list ap;

	if (error < 0)
		error = -error;
	if (level > log_max_level)
		goto out;

	/* %m prints strerror(errno): make it the caller's error. */
	errno = error;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);

	if (log_to_journal)
		fprintf(stderr, "<%d>%s\n", level, buf);
	else
		fprintf(stderr, "ktapd: %s\n", buf);
out:
	errno = saved_errno;
	return -error;
}
