// SPDX-License-Identifier: GPL-2.0
/*
 * The probe points of an ELF file, as event specs a script can name:
 * `ktapctl list-funcs DSO [GLOB]` (ktap -lf) prints probe:DSO:FUNCTION,
 * `ktapctl list-markers DSO [GLOB]` (ktap -lm) prints
 * sdt:DSO:PROVIDER:MARKER, each once, sorted. Read here, with the
 * daemon's own elfsym, so the names are the ones ktapd resolves.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "elfsym.h"
#include "ktapctl.h"

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Print the lines sorted, each once; they are freed. */
static void print_unique(char **lines, size_t n)
{
	size_t i;

	qsort(lines, n, sizeof(*lines), cmp_str);
	for (i = 0; i < n; i++) {
		if (!i || strcmp(lines[i], lines[i - 1]))
			puts(lines[i]);
	}
	for (i = 0; i < n; i++)
		free(lines[i]);
}

int list_dso(const char *path, const char *glob, bool markers)
{
	const struct elfsym_note *notes;
	const struct elfsym_sym *syms;
	struct elfsym *e;
	char err[512], **lines;
	size_t n, i, nl = 0;
	int r;

	r = elfsym_open(path, &e, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "%s: %s\n", program_name, err);
		return KTAPCTL_EXIT_FAILURE;
	}
	n = markers ? elfsym_notes(e, &notes) : elfsym_symbols(e, &syms);
	if (!n) {
		ctl_error(-ENOENT, "%s: %s", path,
			  markers ? "no SDT markers" :
				    "no symbols (stripped)");
		elfsym_close(e);
		return KTAPCTL_EXIT_FAILURE;
	}
	lines = calloc(n, sizeof(*lines));
	for (i = 0; lines && i < n; i++) {
		/* a glob with ':' names provider:marker, as sdt: does */
		const char *what = !markers ? syms[i].name :
				   glob && strchr(glob, ':') ?
						 NULL :
						 notes[i].name;
		char full[1024];

		if (markers)
			snprintf(full, sizeof(full), "%s:%s",
				 notes[i].provider, notes[i].name);
		if (glob && fnmatch(glob, what ? what : full, 0))
			continue;
		if (markers)
			r = asprintf(&lines[nl], "sdt:%s:%s", path, full);
		else
			r = asprintf(&lines[nl], "probe:%s:%s", path, what);
		if (r < 0)
			break;
		nl++;
	}
	elfsym_close(e);
	if (!lines || i < n) {
		while (lines && nl)
			free(lines[--nl]);
		free(lines);
		ctl_error(-ENOMEM, "out of memory");
		return KTAPCTL_EXIT_FAILURE;
	}
	print_unique(lines, nl);
	free(lines);
	if (fflush(stdout) != 0) {
		ctl_error(-errno, "cannot write the list: %m");
		return KTAPCTL_EXIT_FAILURE;
	}
	if (!nl) {
		ctl_error(-ENOENT, "nothing in %s matches '%s'", path, glob);
		return KTAPCTL_EXIT_FAILURE;
	}
	return KTAPCTL_EXIT_OK;
}

static int cmd_list_dso(int argc, char **argv, bool markers)
{
	const char *what = markers ? "markers" : "funcs";

	if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		printf("usage: ktapctl list-%s DSO [GLOB]\n", what);
		return KTAPCTL_EXIT_OK;
	}
	if (argc < 2 || argc > 3 || argv[1][0] == '-') {
		fprintf(stderr, "usage: ktapctl list-%s DSO [GLOB]\n", what);
		return KTAPCTL_EXIT_USAGE;
	}
	return list_dso(argv[1], argc == 3 ? argv[2] : NULL, markers);
}

int cmd_list_funcs(int argc, char **argv)
{
	return cmd_list_dso(argc, argv, false);
}

int cmd_list_markers(int argc, char **argv)
{
	return cmd_list_dso(argc, argv, true);
}
