// SPDX-License-Identifier: GPL-2.0
/*
 * ktap, the classic command line: ktapctl started under the name "ktap".
 * The options are ktap's own; the script runs like `ktapctl run` does, on
 * ktapd or on a private ktapd when none is reachable.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "chunk.h"
#include "ktap_events.h"
#include "ktapctl.h"
#include "lang.h"
#include "run.h"
#include "vm.h"

static const char ktap_usage[] =
	"Usage: ktap [options] file [script args] -- cmd [args]\n"
	"   or: ktap [options] -e one-liner [script args] -- cmd [args]\n"
	"\n"
	"Options and arguments:\n"
	"  -o file        : send script output to file, instead of stdout\n"
	"  -p pid         : trace only this process (and its threads)\n"
	"  -C cpu         : trace only this cpu\n"
	"  -T             : show a timestamp before each output line\n"
	"  -V             : show version\n"
	"  -v             : verbose: engine, session, events armed\n"
	"  -q             : suppress the start tracing message\n"
	"  -d             : dry run: compile and verify, do not run\n"
	"  -b             : list byte codes\n"
	"  -le [glob]     : list tracepoint events (system:event)\n"
	"  -lf DSO [glob] : list the functions of DSO (probe:DSO:func)\n"
	"  -lm DSO [glob] : list the SDT markers of DSO (sdt:DSO:prov:marker)\n"
	"  file           : program read from script file\n"
	"  -- cmd [args]  : workload to trace; the session ends with it\n"
	"\n"
	"Exit status: 0, the n of exit(n), 1 compile error, 2 usage error,\n"
	"3 runtime error, 4 bytecode rejected by the verifier.\n"
	"ktapd's socket: $KTAP_SOCKET, else " KTAPD_DEFAULT_SOCKET ";\n"
	"without a daemon there, a private ktapd runs the script.\n";

/* -d: what ktapd's verifier would say, here (the same code). */
static int dry_run(const struct run_request *rq)
{
	const size_t scratch_size = KP_VERIFY_SCRATCH(
		KP_MAX_FUNCS, KP_MAX_PROBES, KP_MAX_GLOBALS);
	struct kp_verify_error err = { .func = -1, .pc = -1 };
	void *chunk, *scratch;
	size_t len;
	int status;

	status = run_compile(rq, &chunk, &len);
	if (status)
		return status;
	scratch = malloc(scratch_size);
	if (!scratch) {
		free(chunk);
		ctl_error(-ENOMEM, "out of memory");
		return KTAPCTL_EXIT_FAILURE;
	}
	if (kp_verify_chunk(chunk, (kp_size_t)len, scratch,
			    (kp_size_t)scratch_size, &err) < 0) {
		if (err.func < 0)
			ctl_error(-EINVAL, "bytecode rejected: %s", err.reason);
		else
			ctl_error(-EINVAL,
				  "bytecode rejected: function %d, pc %d: %s",
				  err.func, err.pc, err.reason);
		status = KTAPCTL_EXIT_VERIFY;
	} else if (rq->verbose) {
		fprintf(stderr, "%s: %s: %zu bytes of bytecode, verified\n",
			program_name, rq->path, len);
	}
	free(scratch);
	free(chunk);
	return status;
}

static int listing(const struct run_request *rq)
{
	int r = kpc_listing(rq->text, rq->len, rq->path, stdout, stderr);

	if (r == -ENOMEM)
		ctl_error(r, "out of memory");
	return r < 0 ? KTAPCTL_EXIT_COMPILE : KTAPCTL_EXIT_OK;
}

/* -le [glob], -lf DSO [glob], -lm DSO [glob]: the words after it. */
static int list(const char *what, int argc, char **argv)
{
	const char *a = optind < argc ? argv[optind] : NULL;
	const char *b = optind + 1 < argc ? argv[optind + 1] : NULL;

	if (!strcmp(what, "e"))
		return ktap_list_events(a);
	if (strcmp(what, "f") && strcmp(what, "m")) {
		ctl_error(-EINVAL, "-l%s is not supported (-le, -lf, -lm)",
			  what);
		return KTAPCTL_EXIT_USAGE;
	}
	if (!a) {
		ctl_error(-EINVAL, "-l%s needs a binary or library", what);
		return KTAPCTL_EXIT_USAGE;
	}
	return list_dso(a, b, what[0] == 'm');
}

int ktap_main(int argc, char **argv)
{
	struct run_request rq = { .cpu = -1, .out = stdout, .banner = true };
	const char *text = NULL, *out = NULL;
	bool list_bytecode = false, dry = false;
	int c, r;

	program_name = "ktap";
	if (argc < 2)
		return client_usage_error(ktap_usage);
	while ((c = getopt(argc, argv, "+e:o:p:C:TVvqdbl:h")) >= 0) {
		r = run_option(c, optarg, &rq);
		if (r < 0)
			return KTAPCTL_EXIT_USAGE;
		if (r > 0)
			continue;
		switch (c) {
		case 'e':
			text = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		case 'T':
			rq.timestamps = true;
			break;
		case 'V':
			printf("ktap %s\n", KTAP_VERSION);
			return KTAPCTL_EXIT_OK;
		case 'v':
			rq.verbose = true;
			break;
		case 'q':
			rq.banner = false;
			break;
		case 'd':
			dry = true;
			break;
		case 'b':
			list_bytecode = true;
			break;
		case 'l':
			return list(optarg, argc, argv);
		case 'h':
			fputs(ktap_usage, stdout);
			return KTAPCTL_EXIT_OK;
		default:
			return client_usage_error(ktap_usage);
		}
	}
	r = run_take_script(&rq, text, argc, argv, optind);
	if (r == KTAPCTL_EXIT_USAGE)
		return client_usage_error(ktap_usage);
	if (r >= 0)
		return r;
	if (list_bytecode || dry) {
		r = list_bytecode ? listing(&rq) : KTAPCTL_EXIT_OK;
		if (dry && r == KTAPCTL_EXIT_OK)
			r = dry_run(&rq);
		free(rq.text);
		return r;
	}
	return run_to_file(&rq, out);
}
