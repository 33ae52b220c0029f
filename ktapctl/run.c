// SPDX-License-Identifier: GPL-2.0
/* Running a script as a session (see run.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "folded.h"
#include "kp_base64.h"
#include "ktapctl.h"
#include "lang.h"
#include "run.h"
#include "session_stream.h"
#include "workload.h"

int run_option(int c, const char *arg, struct run_request *rq)
{
	const char *opt;
	uint64_t v;
	int r;

	switch (c) {
	case RUN_OPT_ARENA_SIZE:
		opt = "--arena-size";
		r = client_parse_size(arg, &rq->arena_size);
		break;
	case RUN_OPT_BACKLOG_SIZE:
		opt = "--backlog-size";
		r = client_parse_size(arg, &rq->backlog_size);
		break;
	case RUN_OPT_INSN_BUDGET:
		opt = "--insn-budget";
		r = client_parse_uint(arg, UINT32_MAX, &rq->insn_budget);
		break;
	case 'p':
		opt = "-p";
		r = client_parse_uint(arg, INT32_MAX, &rq->target_pid);
		break;
	case 'C':
		opt = "-C";
		r = client_parse_uint(arg, INT32_MAX, &v);
		rq->cpu = (int64_t)v;
		break;
	default:
		return 0;
	}
	if (r < 0)
		return ctl_error(r, "invalid value '%s' for %s", arg, opt);
	return 1;
}

int run_take_script(struct run_request *rq, const char *text, int argc,
		    char **argv, int next)
{
	int i, r;

	if (text) {
		rq->path = "-e";
		rq->text = strdup(text);
		if (!rq->text) {
			ctl_error(-ENOMEM, "out of memory");
			return KTAPCTL_EXIT_FAILURE;
		}
		rq->len = strlen(text);
	} else {
		if (next >= argc || !strcmp(argv[next], "--"))
			return KTAPCTL_EXIT_USAGE;
		rq->path = argv[next++];
		r = read_file(rq->path, &rq->text, &rq->len);
		if (r < 0) {
			ctl_error(r, "cannot read %s: %m", rq->path);
			return KTAPCTL_EXIT_COMPILE;
		}
	}
	/* getopt() consumed a "--" right after the options: a command. */
	if (next > 1 && !strcmp(argv[next - 1], "--") && text) {
		i = next - 1;
	} else {
		rq->args = argv + next;
		for (i = next; i < argc && strcmp(argv[i], "--"); i++)
			;
		rq->nargs = i - next;
	}
	if (i < argc) {
		rq->command = argv + i + 1;
		/* "--" and nothing after it. */
		if (i + 1 == argc) {
			free(rq->text);
			rq->text = NULL;
			return KTAPCTL_EXIT_USAGE;
		}
	}
	return -1;
}

int run_compile(const struct run_request *rq, void **chunk, size_t *len)
{
	int r = kpc_compile(rq->text, rq->len, rq->path, chunk, len, stderr);

	if (r == -ENOMEM)
		ctl_error(r, "out of memory");
	return r < 0 ? KTAPCTL_EXIT_COMPILE : KTAPCTL_EXIT_OK;
}

static void add_int(json_object *o, const char *key, int64_t v)
{
	json_object_object_add(o, key, json_object_new_int64(v));
}

json_object *run_submit_params(const struct run_request *rq,
			       const void *chunk, size_t len)
{
	json_object *p = json_object_new_object();
	json_object *args = json_object_new_array();
	json_object *opts = json_object_new_object();
	char *b64 = malloc(kp_base64_encoded_len(len) + 1);
	size_t b64_len;
	int i;

	if (!p || !args || !opts || !b64) {
		json_object_put(p);
		json_object_put(args);
		json_object_put(opts);
		free(b64);
		return NULL;
	}
	b64_len = kp_base64_encode(chunk, len, b64);
	json_object_object_add(p, "chunk",
			       json_object_new_string_len(b64, (int)b64_len));
	free(b64);
	json_object_array_add(args, json_object_new_string(rq->path));
	for (i = 0; i < rq->nargs; i++)
		json_object_array_add(args,
				      json_object_new_string(rq->args[i]));
	json_object_object_add(p, "args", args);
	if (rq->name)
		json_object_object_add(p, "name",
				       json_object_new_string(rq->name));
	if (rq->keep)
		json_object_object_add(p, "keep", json_object_new_boolean(1));
	if (rq->arena_size)
		add_int(opts, "arena_size", (int64_t)rq->arena_size);
	if (rq->insn_budget)
		add_int(opts, "insn_budget", (int64_t)rq->insn_budget);
	if (rq->backlog_size)
		add_int(opts, "backlog_size", (int64_t)rq->backlog_size);
	if (rq->target_pid)
		add_int(opts, "target_pid", (int64_t)rq->target_pid);
	if (rq->cpu >= 0)
		add_int(opts, "cpu", rq->cpu);
	json_object_object_add(p, "options", opts);
	return p;
}

/* -v: where the session runs, from Status. */
static void say_where(struct client_link *link, const char *session)
{
	struct vlc *c = client_control(link);
	struct vlc_reply reply = { 0 };
	json_object *daemon, *stats;
	int r;

	if (!c)
		return;
	r = vlc_call(c, "io.ktap.Status", client_session_params(session),
		     &reply);
	if (r < 0 || reply.error ||
	    !json_object_object_get_ex(reply.parameters, "daemon", &daemon) ||
	    !json_object_object_get_ex(reply.parameters, "stats", &stats)) {
		/* Not found: it ended already (nothing armed). */
		if (!reply.error ||
		    strcmp(reply.error, "io.ktap.SessionNotFound"))
			client_call_failed(link, r, &reply, session);
		goto out;
	}
	fprintf(stderr,
		"%s: session %s on %s ktapd %s; engine %s: %s; "
		"probes armed: %lld\n",
		program_name, session, link->path ? "the" : "a private",
		link->path ? link->path : json_str(daemon, "version"),
		json_str(daemon, "engine"), json_str(daemon, "engine_reason"),
		(long long)json_int(stats, "probes"));
out:
	vlc_reply_release(&reply);
}

/*
 * The session has started: tell the user what they asked to be told.
 * Nothing armed means only its top-level code ran and the daemon ends it
 * at once (as with ktap, `-e 'print("hi")'` prints and ends), unless a
 * command is being traced, whose exit ends it: no banner then.
 */
static void session_started(const struct run_request *rq,
			    struct client_link *link, json_object *params,
			    const char *id)
{
	bool running, idle;
	json_object *s;

	if (rq->client.json)
		client_print_json(params);
	json_object_object_get_ex(params, "session", &s);
	if (rq->announce && !rq->client.json) {
		if (*json_str(s, "name"))
			printf("session %s (%s)\n", id, json_str(s, "name"));
		else
			printf("session %s\n", id);
		fflush(stdout);
	}
	running = !strcmp(json_str(s, "state"), "running");
	if (rq->verbose)
		say_where(link, id);
	idle = json_int(s, "probes") == 0 && !rq->command;
	if (rq->banner && running && !idle)
		fputs("Tracing... Hit Ctrl-C to end.\n", stderr);
}

/*
 * --folded: the ended session's stack tables as folded stacks on stdout.
 * It is still listed: our stream, which it is tied to, is open. Returns
 * the session's status, or a failure if that was 0.
 */
static int print_folded(struct client_link *link, const char *session,
			const char *table, int status)
{
	struct vlc *c = client_control(link);
	struct vlc_reply reply = { 0 };
	json_object *globals;
	int r;

	if (!c)
		return status ? status : KTAPCTL_EXIT_FAILURE;
	r = vlc_call(c, "io.ktap.Dump", client_session_params(session),
		     &reply);
	if (r < 0 || reply.error ||
	    !json_object_object_get_ex(reply.parameters, "globals", &globals))
		r = client_call_failed(link, r, &reply, session);
	else
		r = folded_report(globals, table, stdout);
	vlc_reply_release(&reply);
	if (fflush(stdout) != 0 && !r) {
		ctl_error(-errno, "cannot write the folded stacks: %m");
		r = KTAPCTL_EXIT_FAILURE;
	}
	return status ? status : r;
}

int run_session(const struct run_request *rq)
{
	struct workload w = { .go_fd = -1, .pidfd = -1 };
	struct run_request req = *rq;
	struct client_link link;
	struct vlc_reply reply = { 0 };
	struct vlc *conn = NULL;
	json_object *params, *s;
	void *chunk;
	size_t len;
	char id[24];
	int r, status;

	if (rq->command && client_host(&rq->client)) {
		ctl_error(-EINVAL, "-- COMMAND runs here: it cannot be the "
				   "target of a session on %s",
			  client_host(&rq->client));
		return KTAPCTL_EXIT_USAGE;
	}
	status = run_compile(rq, &chunk, &len);
	if (status)
		return status;
	status = KTAPCTL_EXIT_FAILURE;
	if (stream_catch_signals() < 0)
		goto out_chunk;
	if (rq->command) {
		if (workload_spawn(&w, rq->command) < 0)
			goto out_chunk;
		req.target_pid = (uint64_t)w.pid;
	}
	params = run_submit_params(&req, chunk, len);
	if (!params) {
		ctl_error(-ENOMEM, "out of memory");
		goto out_workload;
	}
	if (client_open(&rq->client, !rq->daemon_only, &link, &conn) < 0) {
		json_object_put(params);
		goto out_workload;
	}

	r = vlc_send(conn, "io.ktap.Submit", params, true);
	if (r >= 0)
		r = vlc_recv(conn, &reply);
	if (r < 0 || reply.error ||
	    !json_object_object_get_ex(reply.parameters, "session", &s)) {
		status = client_call_failed(&link, r, &reply, NULL);
		goto out_link;
	}
	snprintf(id, sizeof(id), "%lld", (long long)json_int(s, "id"));
	session_started(rq, &link, reply.parameters, id);
	if (rq->command)
		workload_release(&w);

	status = follow_stream(&(struct follow){
		.conn = conn,
		.link = &link,
		.session = id,
		.stop_on_signal = true,
		.workload_pidfd = w.pidfd,
		.out = { .f = rq->client.json ? NULL : rq->out,
			 .json = rq->client.json,
			 .timestamps = rq->timestamps,
			 .at_line_start = true },
	});
	if (rq->folded && status != KTAPCTL_EXIT_INTERRUPTED)
		status = print_folded(&link, id, rq->folded_table, status);
out_link:
	vlc_reply_release(&reply);
	/* Closing the stream ends the session if it still runs. */
	vlc_free(conn);
	client_close(&link);
out_workload:
	workload_finish(&w);
out_chunk:
	free(chunk);
	return status;
}

int run_to_file(struct run_request *rq, const char *out)
{
	int status;

	if (out) {
		rq->out = fopen(out, "w");
		if (!rq->out) {
			ctl_error(-errno, "cannot open %s: %m", out);
			free(rq->text);
			return KTAPCTL_EXIT_FAILURE;
		}
	}
	status = run_session(rq);
	/* run --folded writes the output on stderr, needed open after. */
	if ((rq->out == stderr ? fflush(rq->out) : fclose(rq->out)) != 0 &&
	    status == KTAPCTL_EXIT_OK) {
		ctl_error(-errno, "cannot write the output: %m");
		status = KTAPCTL_EXIT_FAILURE;
	}
	free(rq->text);
	return status;
}
