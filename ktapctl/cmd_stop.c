// SPDX-License-Identifier: GPL-2.0
/*
 * ktapctl stop SESSION: stop a session and remove it. Prints the output
 * its ending produced (trace_end's) and how it ended; exits with its
 * status.
 */
#include <errno.h>
#include <stdio.h>

#include "client.h"
#include "ktapctl.h"
#include "session_stream.h"

static const char stop_usage[] =
	"usage: ktapctl stop [OPTIONS] SESSION\n"
	"Stop a session (trace_end runs) and remove it. Prints the output of\n"
	"its end, then how it ended; exits with its status. SESSION is its id\n"
	"or name.\n\n"
	"  -f, --from CURSOR     print its output from this record on instead\n"
	"      --socket PATH     ktapd's socket\n"
	"      --json            ktapd's reply as JSON\n"
	"      --host HOST       the ktapd of [ssh://][USER@]HOST[:PORT], over ssh\n"
	"  -h, --help            show this help\n";

static void print_end(json_object *session, json_object *end)
{
	const char *name = json_str(session, "name");
	const char *error = json_str(end, "error");

	fprintf(stderr, "%s: session %lld%s%s%s ", program_name,
		(long long)json_int(session, "id"), *name ? " (" : "", name,
		*name ? ")" : "");
	if (*error)
		fprintf(stderr, "ended with an error: %s (exit status %lld)\n",
			error, (long long)json_int(end, "exit_status"));
	else
		fprintf(stderr, "stopped, exit status %lld\n",
			(long long)json_int(end, "exit_status"));
}

int cmd_stop(int argc, char **argv)
{
	static const struct option options[] = {
		CLIENT_LONG_OPTIONS,
		{ "from", required_argument, NULL, 'f' },
		{}
	};
	struct stream_out out = { .f = stdout, .at_line_start = true };
	struct client_opts o = { 0 };
	struct vlc_reply reply;
	json_object *params, *records, *v, *session, *end;
	const char *from = NULL;
	uint64_t cursor;
	size_t i;
	int c, r;

	while ((c = getopt_long(argc, argv, "f:h", options, NULL)) >= 0) {
		if (c == 'f') {
			from = optarg;
			continue;
		}
		r = client_option(c, &o, stop_usage);
		if (r >= 0)
			return r;
	}
	if (optind != argc - 1)
		return client_usage_error(stop_usage);
	params = client_session_params(argv[optind]);
	if (from) {
		if (client_parse_uint(from, INT64_MAX, &cursor) < 0) {
			json_object_put(params);
			ctl_error(-EINVAL, "invalid cursor '%s'", from);
			return KTAPCTL_EXIT_USAGE;
		}
		json_object_object_add(params, "cursor",
				       json_object_new_int64((int64_t)cursor));
	}
	r = client_call_once(&o, "io.ktap.Stop", params, argv[optind],
			     &reply);
	if (r)
		return r;
	json_object_object_get_ex(reply.parameters, "session", &session);
	json_object_object_get_ex(reply.parameters, "end", &end);
	if (o.json) {
		client_print_json(reply.parameters);
	} else {
		if (json_object_object_get_ex(reply.parameters, "missed", &v))
			stream_report_missed(&out, v);
		if (json_object_object_get_ex(reply.parameters, "records",
					      &records))
			for (i = 0; i < json_object_array_length(records); i++)
				stream_write_record(
					&out,
					json_object_array_get_idx(records, i));
		fflush(stdout);
		print_end(session, end);
	}
	r = (int)json_int(end, "exit_status");
	vlc_reply_release(&reply);
	return r;
}
