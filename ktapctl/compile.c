// SPDX-License-Identifier: GPL-2.0
/*
 * ktapctl compile [-b] [-o OUT] (script.kp | -e TEXT): compile a script;
 * -b prints the bytecode listing, -o writes the chunk ("-": stdout).
 * With neither, only checks that the script compiles.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ktapctl.h"
#include "lang.h"

static const char compile_usage[] =
	"usage: ktapctl compile [-b] [-o OUT] (script.kp | -e TEXT)\n";

static int write_chunk_file(const char *path, const void *chunk, size_t len)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "wb") : stdout;
	int r = 0;

	if (!f)
		return -errno;
	if (fwrite(chunk, 1, len, f) != len)
		r = -EIO;
	if (f == stdout ? fflush(f) : fclose(f))
		r = r ? r : -errno;
	return r;
}

static int compile_failed(int r)
{
	if (r == -ENOMEM)
		fprintf(stderr, "ktapctl: out of memory\n");
	return KTAPCTL_EXIT_COMPILE;
}

int cmd_compile(int argc, char **argv)
{
	const char *out = NULL, *text = NULL, *path;
	char *source = NULL;
	size_t len, chunk_len;
	void *chunk;
	int list = 0, c, r, status = KTAPCTL_EXIT_OK;

	while ((c = getopt(argc, argv, "bo:e:h")) != -1) {
		switch (c) {
		case 'b':
			list = 1;
			break;
		case 'o':
			out = optarg;
			break;
		case 'e':
			text = optarg;
			break;
		case 'h':
			fputs(compile_usage, stdout);
			return KTAPCTL_EXIT_OK;
		default:
			fputs(compile_usage, stderr);
			return KTAPCTL_EXIT_USAGE;
		}
	}
	if (optind != argc - (text ? 0 : 1)) {
		fputs(compile_usage, stderr);
		return KTAPCTL_EXIT_USAGE;
	}
	if (text) {
		path = "-e";
		len = strlen(text);
	} else {
		path = argv[optind];
		r = read_file(path, &source, &len);
		if (r < 0) {
			fprintf(stderr, "ktapctl: cannot read %s: %s\n", path,
				strerror(-r));
			return KTAPCTL_EXIT_COMPILE;
		}
		text = source;
	}
	if (list) {
		r = kpc_listing(text, len, path, stdout, stderr);
		if (r < 0)
			status = compile_failed(r);
	}
	if (status == KTAPCTL_EXIT_OK && (out || !list)) {
		r = kpc_compile(text, len, path, &chunk, &chunk_len, stderr);
		if (r < 0) {
			status = compile_failed(r);
		} else {
			if (out) {
				r = write_chunk_file(out, chunk, chunk_len);
				if (r < 0) {
					fprintf(stderr,
						"ktapctl: cannot write %s: %s\n",
						out, strerror(-r));
					status = KTAPCTL_EXIT_COMPILE;
				}
			}
			free(chunk);
		}
	}
	free(source);
	return status;
}
