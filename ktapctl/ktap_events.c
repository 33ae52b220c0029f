// SPDX-License-Identifier: GPL-2.0
/*
 * ktap -le [GLOB]: the kernel's tracepoint events, "system:event" one a
 * line, sorted, from tracefs (where the user engine finds them too).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ktap_events.h"
#include "ktapctl.h"

static const char *const tracefs_events[] = {
	"/sys/kernel/tracing/events",
	"/sys/kernel/debug/tracing/events",
};

/* Systems and events are directories; the files beside them are not. */
static int is_subdir(const struct dirent *d)
{
	return d->d_type == DT_DIR && d->d_name[0] != '.';
}

static int scan(const char *path, struct dirent ***list)
{
	int n = scandir(path, list, is_subdir, alphasort);

	return n < 0 ? -errno : n;
}

static void free_list(struct dirent **list, int n)
{
	while (n-- > 0)
		free(list[n]);
	free(list);
}

/* A glob with a ':' is matched against "system:event", else the event. */
static int matches(const char *glob, const char *full, const char *event)
{
	if (!glob)
		return 1;
	return fnmatch(glob, strchr(glob, ':') ? full : event, 0) == 0;
}

static int list_system(const char *events, const char *system,
		       const char *glob)
{
	struct dirent **list;
	char path[4096], full[1024];
	int n, i, found = 0;

	snprintf(path, sizeof(path), "%s/%s", events, system);
	n = scan(path, &list);
	for (i = 0; i < n; i++) {
		snprintf(full, sizeof(full), "%s:%s", system, list[i]->d_name);
		if (matches(glob, full, list[i]->d_name)) {
			puts(full);
			found++;
		}
	}
	free_list(list, n);
	return found;
}

int ktap_list_events(const char *glob)
{
	const char *events = NULL;
	struct dirent **systems;
	struct stat st;
	size_t k;
	int n, i, found = 0;

	for (k = 0; k < sizeof(tracefs_events) / sizeof(*tracefs_events); k++)
		if (stat(tracefs_events[k], &st) == 0) {
			events = tracefs_events[k];
			break;
		}
	if (!events) {
		ctl_error(-ENOENT,
			  "no tracefs (mount it on /sys/kernel/tracing)");
		return KTAPCTL_EXIT_FAILURE;
	}
	n = scan(events, &systems);
	if (n < 0) {
		ctl_error(n, "cannot read %s: %m", events);
		return KTAPCTL_EXIT_FAILURE;
	}
	for (i = 0; i < n; i++)
		found += list_system(events, systems[i]->d_name, glob);
	free_list(systems, n);
	if (fflush(stdout) != 0) {
		ctl_error(-errno, "cannot write the list: %m");
		return KTAPCTL_EXIT_FAILURE;
	}
	if (!found && glob) {
		ctl_error(-ENOENT, "no event matches '%s'", glob);
		return KTAPCTL_EXIT_FAILURE;
	}
	return KTAPCTL_EXIT_OK;
}
