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

#define RECONNECT_MAX_MS 60000

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
	"  -r, --reconnect       when ktapd goes away (a restart), attach again\n"
	"                        from where the output stopped, for up to 60 s\n"
	"  -T                    begin each output line with the time\n"
	"      --socket PATH     ktapd's socket\n"
	"      --json            every reply of ktapd as a JSON line\n"
	"      --host HOST       the ktapd of [ssh://][USER@]HOST[:PORT], over ssh\n"
	"  -h, --help            show this help\n";

struct attach {
	struct client_opts o;
	const char *session;
	bool from; /* a cursor was given, or reached */
	uint64_t cursor;
	bool follow, timestamps, reconnect;
	bool lost; /* the stream broke: ktapd went away */
};

/* Attach once; the exit status. */
static int attach_once(struct attach *a)
{
	struct client_link link;
	struct vlc_reply reply = { 0 };
	struct vlc *conn;
	json_object *params, *s;
	struct follow f;
	int r, status;

	params = client_session_params(a->session);
	if (a->from)
		json_object_object_add(params, "cursor",
				       json_object_new_int64((int64_t)a->cursor));
	if (!a->follow)
		json_object_object_add(params, "follow",
				       json_object_new_boolean(0));
	if (client_open(&a->o, false, &link, &conn) < 0) {
		json_object_put(params);
		a->lost = a->reconnect;
		return KTAPCTL_EXIT_FAILURE;
	}
	r = vlc_send(conn, "io.ktap.Attach", params, true);
	if (r >= 0)
		r = vlc_recv(conn, &reply);
	if (r < 0 && a->reconnect) {
		a->lost = true;
		status = KTAPCTL_EXIT_FAILURE;
		goto out;
	}
	if (r < 0 || reply.error ||
	    !json_object_object_get_ex(reply.parameters, "session", &s)) {
		status = client_call_failed(&link, r, &reply, a->session);
		goto out;
	}
	if (a->o.json)
		client_print_json(reply.parameters);
	f = (struct follow){
		.conn = conn,
		.link = &link,
		.session = a->session,
		.workload_pidfd = -1,
		.reconnect = a->reconnect,
		.out = { .f = a->o.json ? NULL : stdout,
			 .json = a->o.json,
			 .timestamps = a->timestamps,
			 .at_line_start = true,
			 .cursor = a->from ? (int64_t)a->cursor :
					     json_int(s, "first_seq") },
	};
	status = follow_stream(&f);
	a->lost = f.lost;
	a->from = true;
	a->cursor = (uint64_t)f.out.cursor;
out:
	vlc_reply_release(&reply);
	vlc_free(conn);
	client_close(&link);
	return status;
}

int cmd_attach(int argc, char **argv)
{
	static const struct option options[] = {
		CLIENT_LONG_OPTIONS,
		{ "from", required_argument, NULL, 'f' },
		{ "no-follow", no_argument, NULL, 'n' },
		{ "reconnect", no_argument, NULL, 'r' },
		{}
	};
	struct attach a = { .follow = true };
	const char *from = NULL;
	int64_t waited = 0, delay;
	int c, r, status;

	while ((c = getopt_long(argc, argv, "f:nrTh", options, NULL)) >= 0) {
		switch (c) {
		case 'f':
			from = optarg;
			break;
		case 'n':
			a.follow = false;
			break;
		case 'r':
			a.reconnect = true;
			break;
		case 'T':
			a.timestamps = true;
			break;
		default:
			r = client_option(c, &a.o, attach_usage);
			if (r >= 0)
				return r;
		}
	}
	if (optind != argc - 1)
		return client_usage_error(attach_usage);
	a.session = argv[optind];
	if (from && client_parse_uint(from, INT64_MAX, &a.cursor) < 0) {
		ctl_error(-EINVAL, "invalid cursor '%s'", from);
		return KTAPCTL_EXIT_USAGE;
	}
	a.from = from != NULL;
	if (stream_catch_signals() < 0)
		return KTAPCTL_EXIT_FAILURE;
	for (;;) {
		a.lost = false;
		status = attach_once(&a);
		if (!a.lost)
			return status;
		/* ktapd restarts: try again, a little later each time. */
		if (waited >= RECONNECT_MAX_MS) {
			ctl_error(0, "ktapd did not come back within %d s",
				  RECONNECT_MAX_MS / 1000);
			return KTAPCTL_EXIT_FAILURE;
		}
		delay = waited < 1000 ? 100 : 1000;
		if (sleep_or_signal(delay))
			return KTAPCTL_EXIT_OK;
		waited += delay;
		if (waited == delay)
			ctl_error(0, "ktapd went away; reattaching to %s at "
				     "cursor %lld",
				  a.session, (long long)a.cursor);
	}
}
