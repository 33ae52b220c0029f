// SPDX-License-Identifier: GPL-2.0
/*
 * ktapctl run: compile a script, run it as a session tied to this command
 * and print its output as it arrives; Ctrl-C or SIGTERM stops it.
 */
#include "ktapctl.h"
#include "run.h"

static const char run_usage[] =
	"usage: ktapctl run [OPTIONS] (script.kp | -e TEXT) [ARGS...] "
	"[-- COMMAND [ARGS...]]\n"
	"Compile a script, run it and print its output as it arrives. Ctrl-C\n"
	"stops it (trace_end runs). Exits with the script's status: 0, the n\n"
	"of exit(n), 1 compile error, 3 runtime error, 4 bytecode rejected.\n"
	"Without a reachable ktapd, a private one runs the script.\n\n"
	"  -e TEXT               run TEXT instead of a file\n"
	"  -o FILE               write the output to FILE\n"
	"  -T                    begin each output line with the time\n"
	"  -p, --pid PID         trace only this process and its threads\n"
	"  -C, --cpu CPU         trace only this CPU\n"
	"  -v                    say where the session runs, what it armed\n"
	"      --folded[=TABLE]  at the end, print the table TABLE (default:\n"
	"                        every table) of counts keyed by stack() or\n"
	"                        ustack() as folded stacks for flamegraph.pl;\n"
	"                        the script's output goes to stderr then\n"
	"  -- COMMAND [ARGS]     run COMMAND, trace it, end when it exits\n"
	"      --arena-size SIZE    the session's memory quota (K, M, G)\n"
	"      --insn-budget N      instructions per handler invocation\n"
	"      --backlog-size SIZE  output kept for clients falling behind\n"
	"      --private         start a private ktapd even if one runs\n"
	"      --socket PATH     ktapd's socket (default: $KTAP_SOCKET, "
	"else\n"
	"                        " KTAPD_DEFAULT_SOCKET ")\n"
	"      --json            every reply of ktapd as a JSON line\n"
	"      --host HOST       the ktapd of [ssh://][USER@]HOST[:PORT], over ssh\n"
	"  -h, --help            show this help\n";

enum { RUN_OPT_FOLDED = RUN_OPT_FIRST_FREE };

int cmd_run(int argc, char **argv)
{
	static const struct option options[] = {
		CLIENT_LONG_OPTIONS,
		RUN_LONG_OPTIONS,
		{ "private", no_argument, NULL, RUN_OPT_PRIVATE },
		{ "folded", optional_argument, NULL, RUN_OPT_FOLDED },
		{}
	};
	struct run_request rq = { .cpu = -1, .out = stdout };
	const char *text = NULL, *out = NULL;
	int c, r;

	while ((c = getopt_long(argc, argv, "+e:o:Tp:C:vh", options,
				NULL)) >= 0) {
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
		case 'v':
			rq.verbose = true;
			break;
		case RUN_OPT_PRIVATE:
			rq.client.private_daemon = true;
			break;
		case RUN_OPT_FOLDED:
			/* stdout is the folded stacks', whole. */
			rq.folded = true;
			rq.folded_table = optarg;
			rq.out = stderr;
			break;
		default:
			r = client_option(c, &rq.client, run_usage);
			if (r >= 0)
				return r;
		}
	}
	if (rq.folded && rq.client.json)
		return client_usage_error(run_usage);
	r = run_take_script(&rq, text, argc, argv, optind);
	if (r == KTAPCTL_EXIT_USAGE)
		return client_usage_error(run_usage);
	if (r >= 0)
		return r;
	return run_to_file(&rq, out);
}
