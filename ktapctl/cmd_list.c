// SPDX-License-Identifier: GPL-2.0
/* ktapctl list: the sessions the caller may see, one line each. */
#include <stdio.h>
#include <string.h>

#include "client.h"
#include "format.h"
#include "ktapctl.h"

static const char list_usage[] =
	"usage: ktapctl list [--socket PATH] [--json]\n"
	"List the sessions you own (root: all of them).\n\n"
	"      --socket PATH     ktapd's socket\n"
	"      --json            ktapd's reply as JSON\n"
	"      --host HOST       the ktapd of [ssh://][USER@]HOST[:PORT], over ssh\n"
	"  -h, --help            show this help\n";

/* How a session ended, or "" while it runs. */
static const char *outcome(json_object *s, char *buf, size_t size)
{
	if (!strcmp(json_str(s, "state"), "running"))
		return "";
	if (*json_str(s, "error"))
		snprintf(buf, size, "error: %s", json_str(s, "error"));
	else
		snprintf(buf, size, "exit %lld",
			 (long long)json_int(s, "exit_status"));
	return buf;
}

static void print_sessions(json_object *sessions)
{
	size_t i, n = json_object_array_length(sessions);
	int name_w = 4, script_w = 6, w;
	char started[FORMAT_MAX], end[256];

	if (!n) {
		puts("no sessions");
		return;
	}
	for (i = 0; i < n; i++) {
		json_object *s = json_object_array_get_idx(sessions, i);

		w = (int)strlen(json_str(s, "name"));
		name_w = w > name_w ? w : name_w;
		w = (int)strlen(json_str(s, "script"));
		script_w = w > script_w ? w : script_w;
	}
	printf("%5s  %-*s  %-7s  %5s  %4s  %7s  %-19s  %-*s  %s\n", "ID",
	       name_w, "NAME", "STATE", "OWNER", "KEEP", "CLIENTS", "STARTED",
	       script_w, "SCRIPT", "END");
	for (i = 0; i < n; i++) {
		json_object *s = json_object_array_get_idx(sessions, i);
		const char *name = json_str(s, "name");

		printf("%5lld  %-*s  %-7s  %5lld  %4s  %7lld  %-19s  %-*s  "
		       "%s\n",
		       (long long)json_int(s, "id"), name_w, *name ? name : "-",
		       json_str(s, "state"),
		       (long long)json_int(s, "owner_uid"),
		       json_int(s, "keep") ? "yes" : "no",
		       (long long)json_int(s, "clients"),
		       format_time(json_int(s, "started_usec"), started),
		       script_w, json_str(s, "script"),
		       outcome(s, end, sizeof(end)));
	}
}

int cmd_list(int argc, char **argv)
{
	static const struct option options[] = { CLIENT_LONG_OPTIONS, {} };
	struct client_opts o = { 0 };
	struct vlc_reply reply;
	json_object *sessions;
	int c, r;

	while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
		r = client_option(c, &o, list_usage);
		if (r >= 0)
			return r;
	}
	if (optind != argc)
		return client_usage_error(list_usage);
	r = client_call_once(&o, "io.ktap.List", NULL, NULL, &reply);
	if (r)
		return r;
	if (o.json)
		client_print_json(reply.parameters);
	else if (json_object_object_get_ex(reply.parameters, "sessions",
					   &sessions))
		print_sessions(sessions);
	vlc_reply_release(&reply);
	return KTAPCTL_EXIT_OK;
}
