// SPDX-License-Identifier: GPL-2.0
/*
 * ktapctl status [SESSION]: the daemon (engine and why, sessions, totals),
 * or one session and its counters.
 */
#include <stdio.h>
#include <string.h>

#include "client.h"
#include "format.h"
#include "ktapctl.h"

static const char status_usage[] =
	"usage: ktapctl status [--socket PATH] [--json] [SESSION]\n"
	"Show the daemon: its engine and why, sessions, clients, events,\n"
	"memory and CPU; or, for SESSION (id or name), that session and its\n"
	"counters: events handled and lost, memory, CPU, clients, output.\n\n"
	"      --socket PATH     ktapd's socket\n"
	"      --json            ktapd's reply as JSON\n"
	"      --host HOST       the ktapd of [ssh://][USER@]HOST[:PORT], over ssh\n"
	"  -h, --help            show this help\n";

#define ROW "  %-10s "

static const char *size_of(json_object *o, const char *key,
			   char buf[FORMAT_MAX])
{
	return format_size((uint64_t)json_int(o, key), buf);
}

static void print_cpu(json_object *o, const char *key)
{
	int64_t ns = json_int(o, key);

	printf(ROW "%lld.%03lld s\n", "cpu:", (long long)(ns / 1000000000),
	       (long long)(ns / 1000000 % 1000));
}

static void print_daemon(json_object *d)
{
	int64_t started = json_int(d, "started_usec");
	char a[FORMAT_MAX], b[FORMAT_MAX], c[FORMAT_MAX];

	printf("ktapd %s, %s since %s (%s)\n", json_str(d, "version"),
	       json_str(d, "state"), format_time(started, a),
	       format_duration(format_now_usec() - started, b));
	printf(ROW "%s (%s)\n", "engine:", json_str(d, "engine"),
	       json_str(d, "engine_reason"));
	printf(ROW "%lld, %lld running\n", "sessions:",
	       (long long)json_int(d, "sessions"),
	       (long long)json_int(d, "sessions_running"));
	printf(ROW "%lld\n", "clients:", (long long)json_int(d, "clients"));
	printf(ROW "%lld handled, %lld lost\n", "events:",
	       (long long)json_int(d, "events"),
	       (long long)json_int(d, "lost"));
	printf(ROW "%s used, %s in quotas, limit %s\n", "memory:",
	       size_of(d, "mem_used", a), size_of(d, "mem_quota", b),
	       size_of(d, "mem_limit", c));
	print_cpu(d, "cpu_nsec");
}

static void print_session(json_object *s, json_object *st)
{
	const char *name = json_str(s, "name");
	int64_t started = json_int(s, "started_usec");
	int64_t ended = json_int(s, "ended_usec");
	char a[FORMAT_MAX], b[FORMAT_MAX], c[FORMAT_MAX];

	printf("session %lld%s%s%s: %s, owner uid %lld, engine %s%s\n",
	       (long long)json_int(s, "id"), *name ? " (" : "", name,
	       *name ? ")" : "", json_str(s, "state"),
	       (long long)json_int(s, "owner_uid"), json_str(s, "engine"),
	       json_int(s, "keep") ? ", kept" : "");
	printf(ROW "%s\n", "script:", json_str(s, "script"));
	printf(ROW "%s (%s ago)\n", "started:", format_time(started, a),
	       format_duration(format_now_usec() - started, b));
	if (ended) {
		printf(ROW "%s (after %s), ", "ended:", format_time(ended, a),
		       format_duration(ended - started, b));
		if (*json_str(s, "error"))
			printf("error: %s\n", json_str(s, "error"));
		else
			printf("exit status %lld\n",
			       (long long)json_int(s, "exit_status"));
	}
	printf(ROW "%lld handled, %lld lost\n", "events:",
	       (long long)json_int(st, "events"),
	       (long long)json_int(st, "lost"));
	printf(ROW "%s used, %s peak, quota %s\n", "memory:",
	       size_of(st, "mem_used", a), size_of(st, "mem_peak", b),
	       size_of(st, "mem_quota", c));
	print_cpu(st, "cpu_nsec");
	printf(ROW "%lld\n", "probes:", (long long)json_int(st, "probes"));
	printf(ROW "%lld attached\n", "clients:",
	       (long long)json_int(s, "clients"));
	printf(ROW "%lld records, %s\n", "output:",
	       (long long)json_int(st, "output_records"),
	       size_of(st, "output_bytes", a));
	printf(ROW, "backlog:");
	if (json_int(s, "first_seq") < json_int(s, "next_seq"))
		printf("records %lld..%lld, ",
		       (long long)json_int(s, "first_seq"),
		       (long long)json_int(s, "next_seq") - 1);
	else
		printf("empty, ");
	printf("%s of %s\n", size_of(st, "backlog_bytes", a),
	       size_of(st, "backlog_size", b));
}

int cmd_status(int argc, char **argv)
{
	static const struct option options[] = { CLIENT_LONG_OPTIONS, {} };
	struct client_opts o = { 0 };
	struct vlc_reply reply;
	json_object *daemon, *session, *stats;
	const char *name = NULL;
	int c, r;

	while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
		r = client_option(c, &o, status_usage);
		if (r >= 0)
			return r;
	}
	if (optind < argc - 1)
		return client_usage_error(status_usage);
	if (optind == argc - 1)
		name = argv[optind];
	r = client_call_once(&o, "io.ktap.Status",
			     name ? client_session_params(name) : NULL, name,
			     &reply);
	if (r)
		return r;
	if (o.json)
		client_print_json(reply.parameters);
	else if (name &&
		 json_object_object_get_ex(reply.parameters, "session",
					   &session) &&
		 json_object_object_get_ex(reply.parameters, "stats", &stats))
		print_session(session, stats);
	else if (json_object_object_get_ex(reply.parameters, "daemon",
					   &daemon))
		print_daemon(daemon);
	vlc_reply_release(&reply);
	return KTAPCTL_EXIT_OK;
}
