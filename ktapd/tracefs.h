/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel trace events as tracefs describes them: where tracefs is mounted,
 * which events/SYSTEM/EVENT directories match a glob, their format files.
 */
#ifndef KTAPD_TRACEFS_H
#define KTAPD_TRACEFS_H

#include <stdbool.h>
#include <stddef.h>

/* The tracefs mount ("/sys/kernel/tracing"), or NULL when there is none. */
const char *tracefs_root(void);

/*
 * Call fn for every event whose system matches sys_glob and whose name
 * matches ev_glob (fnmatch patterns), systems and events in name order.
 * Returns the number of matches, or the first negative value fn returned,
 * or a negative errno when tracefs cannot be read.
 */
int tracefs_for_each_event(const char *sys_glob, const char *ev_glob,
			   int (*fn)(void *ctx, const char *sys,
				     const char *ev),
			   void *ctx);

/*
 * Read tracefs file `path` (relative to the root: "events/sched/
 * sched_switch/format") into a malloc'ed, NUL-terminated buffer.
 */
int tracefs_read(const char *path, char **buf, size_t *len);

/* Whether tracefs has `path` (relative to the root), e.g. "kprobe_events". */
bool tracefs_exists(const char *path);

#endif /* KTAPD_TRACEFS_H */
