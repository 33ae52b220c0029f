// SPDX-License-Identifier: GPL-2.0
/*
 * ktapctl attach SESSION: print a session's output from a cursor and
 * follow it; Ctrl-C detaches and says where to resume.
 */
#include <errno.h>
#include <stdio.h>

#include "client.h"
#include "ktapctl.h"
#include "session_stream.h"

static const char attach_usage[] =
	"usage: ktapctl attach [OPTIONS] SESSION\n"
	"Print a session's output and follow it until the session ends (the\n"
	"exit status is then its status). Ctrl-C detaches, leaving it\n"
	"running, and tells the cursor to resume from. Output that left the\n"
	"backlog before it was read is reported as missed. SESSION is an id\n"
	"or name.\n\n"
	"  -f, --from CURSOR     start at this record (default: the oldest "
	"kept)\n"
	"  -n, --no-follow       print what the backlog holds now, and return\n"
	"  -T                    begin each output line with the time\n"
	"      --socket PATH     ktapd's socket\n"
	"      --json            every reply of ktapd as a JSON line\n"
	"  -h, --help            show this help\n";

int cmd_attach(int argc, char **argv)
{
	static const struct option options[] = {
		CLIENT_LONG_OPTIONS,
		{ "from", required_argument, NULL, 'f' },
		{ "no-follow", no_argument, NULL, 'n' },
		{}
	};
	struct client_opts o = { 0 };
	struct client_link link;
	struct vlc_reply reply = { 0 };
	struct vlc *conn;
	json_object *params, *s;
	const char *session, *from = NULL;
	bool follow = true, timestamps = false;
	uint64_t cursor = 0;
	int c, r, status;

	while ((c = getopt_long(argc, argv, "f:nTh", options, NULL)) >= 0) {
		switch (c) {
		case 'f':
			from = optarg;
			break;
		case 'n':
			follow = false;
			break;
		case 'T':
			timestamps = true;
			break;
		default:
			r = client_option(c, &o, attach_usage);
			if (r >= 0)
				return r;
		}
	}
	if (optind != argc - 1)
		return client_usage_error(attach_usage);
	session = argv[optind];
	if (from && client_parse_uint(from, INT64_MAX, &cursor) < 0) {
		ctl_error(-EINVAL, "invalid cursor '%s'", from);
		return KTAPCTL_EXIT_USAGE;
	}
	params = client_session_params(session);
	if (from)
		json_object_object_add(params, "cursor",
				       json_object_new_int64((int64_t)cursor));
	if (!follow)
		json_object_object_add(params, "follow",
				       json_object_new_boolean(0));

	if (stream_catch_signals() < 0 ||
	    client_open(&o, false, &link, &conn) < 0) {
		json_object_put(params);
		return KTAPCTL_EXIT_FAILURE;
	}
	r = vlc_send(conn, "io.ktap.Attach", params, true);
	if (r >= 0)
		r = vlc_recv(conn, &reply);
	if (r < 0 || reply.error ||
	    !json_object_object_get_ex(reply.parameters, "session", &s)) {
		status = client_call_failed(&link, r, &reply, session);
		goto out;
	}
	if (o.json)
		client_print_json(reply.parameters);
	status = follow_stream(&(struct follow){
		.conn = conn,
		.link = &link,
		.session = session,
		.workload_pidfd = -1,
		.out = { .f = o.json ? NULL : stdout,
			 .json = o.json,
			 .timestamps = timestamps,
			 .at_line_start = true,
			 .cursor = from ? (int64_t)cursor :
					  json_int(s, "first_seq") },
	});
out:
	vlc_reply_release(&reply);
	vlc_free(conn);
	client_close(&link);
	return status;
}
