// SPDX-License-Identifier: GPL-2.0
/* Kernel trace events as tracefs describes them (see tracefs.h). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macro.h"
#include "tracefs.h"

const char *tracefs_root(void)
{
	static const char *const roots[] = { "/sys/kernel/tracing",
					     "/sys/kernel/debug/tracing" };
	static const char *root;
	char path[64];
	size_t i;

	if (root)
		return root;
	for (i = 0; i < ELEMENTSOF(roots); i++) {
		snprintf(path, sizeof(path), "%s/events", roots[i]);
		if (access(path, R_OK) == 0)
			return root = roots[i];
	}
	return NULL;
}

/* Names in a tracefs directory that are directories (systems, events). */
static int is_subdir(int dirfd, const struct dirent *d)
{
	struct stat st;

	if (d->d_type == DT_DIR)
		return 1;
	if (d->d_type != DT_UNKNOWN)
		return 0;
	return fstatat(dirfd, d->d_name, &st, 0) == 0 && S_ISDIR(st.st_mode);
}

static void free_namelist(struct dirent **names, int n)
{
	while (n > 0)
		free(names[--n]);
	free(names);
}

/* Sorted subdirectories of `path` whose names match glob. */
static int list_subdirs(const char *path, const char *glob,
			struct dirent ***out)
{
	struct dirent **names;
	int n, i, kept = 0;
	_cleanup_close_ int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	n = scandir(path, &names, NULL, alphasort);
	if (n < 0)
		return -errno;
	for (i = 0; i < n; i++) {
		if (names[i]->d_name[0] != '.' &&
		    fnmatch(glob, names[i]->d_name, 0) == 0 &&
		    is_subdir(fd, names[i]))
			names[kept++] = names[i];
		else
			free(names[i]);
	}
	*out = names;
	return kept;
}

int tracefs_for_each_event(const char *sys_glob, const char *ev_glob,
			   int (*fn)(void *ctx, const char *sys,
				     const char *ev),
			   void *ctx)
{
	const char *root = tracefs_root();
	struct dirent **systems, **events;
	int nsys, nev, i, j, r, matches = 0;
	char path[PATH_MAX];

	if (!root)
		return -ENOENT;
	snprintf(path, sizeof(path), "%s/events", root);
	nsys = list_subdirs(path, sys_glob, &systems);
	if (nsys < 0)
		return nsys;
	for (i = 0; i < nsys; i++) {
		snprintf(path, sizeof(path), "%s/events/%s", root,
			 systems[i]->d_name);
		nev = list_subdirs(path, ev_glob, &events);
		if (nev < 0)
			continue; /* a system that vanished meanwhile */
		for (j = 0; j < nev; j++) {
			r = fn(ctx, systems[i]->d_name, events[j]->d_name);
			if (r < 0) {
				free_namelist(events, nev);
				free_namelist(systems, nsys);
				return r;
			}
			matches++;
		}
		free_namelist(events, nev);
	}
	free_namelist(systems, nsys);
	return matches;
}

int tracefs_read(const char *path, char **buf, size_t *len)
{
	const char *root = tracefs_root();
	char full[PATH_MAX];
	_cleanup_free_ char *b = NULL;
	_cleanup_close_ int fd = -1;
	size_t size = 0, n = 0;
	ssize_t k;

	if (!root)
		return -ENOENT;
	snprintf(full, sizeof(full), "%s/%s", root, path);
	fd = open(full, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* tracefs files report size 0: read until EOF. */
	for (;;) {
		char *nb;

		if (n + 1 >= size) {
			size = size ? size * 2 : 4096;
			nb = realloc(b, size);
			if (!nb)
				return -ENOMEM;
			b = nb;
		}
		k = read(fd, b + n, size - n - 1);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (k == 0)
			break;
		n += (size_t)k;
	}
	b[n] = '\0';
	*buf = TAKE_PTR(b);
	*len = n;
	return 0;
}

bool tracefs_exists(const char *path)
{
	const char *root = tracefs_root();
	char full[PATH_MAX];

	if (!root)
		return false;
	snprintf(full, sizeof(full), "%s/%s", root, path);
	return access(full, F_OK) == 0;
}
