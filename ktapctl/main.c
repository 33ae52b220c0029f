// SPDX-License-Identifier: GPL-2.0
/*
 * ktapctl: the ktap client. Dispatches to one function per command; adding
 * a command is adding a row to the table below.
 */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ktapctl.h"

static const struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *usage;
} commands[] = {
	{ "compile", cmd_compile,
	  "compile [-b] [-o OUT] (script.kp | -e TEXT)\n"
	  "        check a script; -b lists its bytecode, -o writes the chunk" },
	{ "run", cmd_run,
	  "run [OPTIONS] (script.kp | -e TEXT) [ARGS...] [-- COMMAND...]\n"
	  "        run a script, print its output until it ends or Ctrl-C" },
	{ "submit", cmd_submit,
	  "submit [--name N] [--keep] (script.kp | -e TEXT) [ARGS...]\n"
	  "        start a session, print its id; --keep: it outlives us" },
	{ "list", cmd_list, "list\n        the sessions you may see" },
	{ "attach", cmd_attach,
	  "attach [--from CURSOR] SESSION\n"
	  "        follow a session's output; Ctrl-C detaches" },
	{ "dump", cmd_dump,
	  "dump [--json | --folded[=TABLE]] SESSION\n"
	  "        a session's globals; stack tables as folded stacks" },
	{ "stop", cmd_stop,
	  "stop SESSION\n        stop a session: trace_end's output, status" },
	{ "status", cmd_status,
	  "status [SESSION]\n"
	  "        the daemon (engine, totals), or a session's counters" },
	{ "list-funcs", cmd_list_funcs,
	  "list-funcs DSO [GLOB]\n"
	  "        a binary's or library's functions, as probe:DSO:FUNC" },
	{ "list-markers", cmd_list_markers,
	  "list-markers DSO [GLOB]\n"
	  "        its SDT markers, as sdt:DSO:PROVIDER:MARKER" },
	{ "bridge", cmd_bridge,
	  "bridge [--socket PATH]\n"
	  "        stdin/stdout to ktapd's socket (--host runs it over ssh)" },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void help(FILE *f)
{
	size_t i;

	fputs("usage: ktapctl COMMAND [ARGS...]\n"
	      "       ktapctl --help | --version\n\ncommands:\n",
	      f);
	for (i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  ktapctl %s\n", commands[i].usage);
}

int read_file(const char *path, char **data, size_t *len)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
	size_t cap = 0, n = 0;
	char *buf = NULL, *nbuf;
	int r = 0;

	if (!f)
		return -errno;
	for (;;) {
		size_t got;

		if (n == cap) {
			cap = cap ? 2 * cap : 65536;
			nbuf = realloc(buf, cap);
			if (!nbuf) {
				r = -ENOMEM;
				break;
			}
			buf = nbuf;
		}
		got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (got == 0) {
			if (ferror(f))
				r = -EIO;
			break;
		}
	}
	if (f != stdin)
		fclose(f);
	if (r < 0) {
		free(buf);
		return r;
	}
	*data = buf;
	*len = n;
	return 0;
}

int main(int argc, char **argv)
{
	size_t i;

	/* build/ktap and /usr/bin/ktap are links to ktapctl. */
	if (!strcmp(basename(argv[0]), "ktap"))
		return ktap_main(argc, argv);
	if (argc < 2) {
		help(stderr);
		return KTAPCTL_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		help(stdout);
		return KTAPCTL_EXIT_OK;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("ktapctl %s\n", KTAP_VERSION);
		return KTAPCTL_EXIT_OK;
	}
	for (i = 0; i < NCOMMANDS; i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "ktapctl: unknown command '%s'\n", argv[1]);
	help(stderr);
	return KTAPCTL_EXIT_USAGE;
}
