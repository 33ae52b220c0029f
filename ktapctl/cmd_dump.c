// SPDX-License-Identifier: GPL-2.0
/*
 * ktapctl dump SESSION: a session's global variables, as a readable
 * listing (nested tables indented), with --json ktapd's reply, with
 * --folded stack tables as folded stacks for flame graphs.
 */
#include <stdio.h>

#include "client.h"
#include "folded.h"
#include "ktapctl.h"

static const char dump_usage[] =
	"usage: ktapctl dump [--socket PATH] [--json | --folded[=TABLE]] "
	"SESSION\n"
	"Print a session's global variables (running or ended). SESSION is\n"
	"its id or name.\n\n"
	"      --socket PATH     ktapd's socket\n"
	"      --json            ktapd's reply as JSON: {\"globals\": {...}}\n"
	"      --folded[=TABLE]  the table TABLE (default: every table) of\n"
	"                        counts keyed by stack() or ustack() as folded\n"
	"                        stacks, for flamegraph.pl or speedscope\n"
	"      --host HOST       the ktapd of [ssh://][USER@]HOST[:PORT], over ssh\n"
	"  -h, --help            show this help\n";

/* Bounds the indentation, not the data: deeper tables print flat. */
#define DUMP_INDENT_MAX 32

static void print_value(json_object *v, int depth);

static void print_table(json_object *t, int depth)
{
	int indent = (depth < DUMP_INDENT_MAX ? depth : DUMP_INDENT_MAX) * 4;

	if (json_object_object_length(t) == 0) {
		fputs("{}", stdout);
		return;
	}
	puts("{");
	json_object_object_foreach(t, key, val)
	{
		printf("%*s%s = ", indent + 4, "", key);
		print_value(val, depth + 1);
		putchar('\n');
	}
	printf("%*s}", indent, "");
}

static void print_value(json_object *v, int depth)
{
	switch (json_object_get_type(v)) {
	case json_type_object:
		print_table(v, depth);
		break;
	case json_type_string:
		/* Quoted and escaped, as JSON does it: "a\tb". */
		fputs(json_object_to_json_string_ext(
			      v, JSON_C_TO_STRING_PLAIN |
					 JSON_C_TO_STRING_NOSLASHESCAPE),
		      stdout);
		break;
	case json_type_null:
		fputs("nil", stdout);
		break;
	default:
		fputs(json_object_get_string(v), stdout);
	}
}

enum { DUMP_OPT_FOLDED = CLIENT_OPT_FIRST_FREE };

static int print_globals(json_object *globals)
{
	json_object_object_foreach(globals, key, val)
	{
		printf("%s = ", key);
		print_value(val, 0);
		putchar('\n');
	}
	return KTAPCTL_EXIT_OK;
}

int cmd_dump(int argc, char **argv)
{
	static const struct option options[] = {
		CLIENT_LONG_OPTIONS,
		{ "folded", optional_argument, NULL, DUMP_OPT_FOLDED },
		{}
	};
	struct client_opts o = { 0 };
	struct vlc_reply reply;
	json_object *globals;
	const char *session, *table = NULL;
	bool folded = false;
	int c, r, status = KTAPCTL_EXIT_OK;

	while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
		if (c == DUMP_OPT_FOLDED) {
			folded = true;
			table = optarg;
			continue;
		}
		r = client_option(c, &o, dump_usage);
		if (r >= 0)
			return r;
	}
	if (optind != argc - 1 || (folded && o.json))
		return client_usage_error(dump_usage);
	session = argv[optind];
	r = client_call_once(&o, "io.ktap.Dump",
			     client_session_params(session), session, &reply);
	if (r)
		return r;
	if (o.json)
		client_print_json(reply.parameters);
	else if (json_object_object_get_ex(reply.parameters, "globals",
					   &globals))
		status = folded ? folded_report(globals, table, stdout) :
				  print_globals(globals);
	vlc_reply_release(&reply);
	return status;
}
