// SPDX-License-Identifier: GPL-2.0
/*
 * ktapctl submit: start a session and print its id. With --keep the
 * session belongs to the daemon alone; without, it lasts as long as this
 * command, which waits for its end without showing its output.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ktapctl.h"
#include "run.h"

static const char submit_usage[] =
	"usage: ktapctl submit [OPTIONS] (script.kp | -e TEXT) [ARGS...]\n"
	"Start a session and print its id. With --keep it outlives this\n"
	"command and every client: attach to it, dump it, stop it later.\n"
	"Without, it lasts until it ends or this command is interrupted,\n"
	"showing no output, and the command exits with its status.\n\n"
	"  -n, --name NAME       name the session (unique among the listed)\n"
	"  -k, --keep            keep the session after this command\n"
	"      --unless-running  with --keep and --name: if a session of that\n"
	"                        name runs already (ktapd restored it after a\n"
	"                        restart), leave it; one that ended is removed\n"
	"                        and the script submitted again\n"
	"  -e TEXT               run TEXT instead of a file\n"
	"  -p, --pid PID         trace only this process and its threads\n"
	"  -C, --cpu CPU         trace only this CPU\n"
	"      --arena-size SIZE    the session's memory quota (K, M, G)\n"
	"      --insn-budget N      instructions per handler invocation\n"
	"      --backlog-size SIZE  output kept for clients (K, M, G)\n"
	"      --socket PATH     ktapd's socket (default: $KTAP_SOCKET, "
	"else\n"
	"                        " KTAPD_DEFAULT_SOCKET ")\n"
	"      --json            the session as JSON\n"
	"      --host HOST       the ktapd of [ssh://][USER@]HOST[:PORT], over ssh\n"
	"  -h, --help            show this help\n";

/*
 * --unless-running: 1 if the named session runs (said), 0 if there is
 * none now (an ended one is removed), or an exit status.
 */
static int already_running(struct client_link *link, struct vlc *conn,
			   const char *name)
{
	struct vlc_reply reply = { 0 };
	json_object *s;
	int r, ret;

	r = vlc_call(conn, "io.ktap.Status", client_session_params(name),
		     &reply);
	if (r >= 0 && reply.error &&
	    !strcmp(reply.error, "io.ktap.SessionNotFound")) {
		ret = 0;
	} else if (r < 0 || reply.error ||
		   !json_object_object_get_ex(reply.parameters, "session",
					      &s)) {
		ret = client_call_failed(link, r, &reply, name);
	} else if (!strcmp(json_str(s, "state"), "running")) {
		printf("session %lld (%s) is running already\n",
		       (long long)json_int(s, "id"), name);
		ret = 1;
	} else {
		vlc_reply_release(&reply);
		r = vlc_call(conn, "io.ktap.Stop", client_session_params(name),
			     &reply);
		ret = r < 0 || (reply.error &&
				strcmp(reply.error, "io.ktap.SessionNotFound")) ?
			      client_call_failed(link, r, &reply, name) :
			      0;
	}
	vlc_reply_release(&reply);
	return ret;
}

/* --keep: one Submit without a stream. */
static int submit_kept(struct run_request *rq, bool unless_running)
{
	struct client_link link;
	struct vlc_reply reply = { 0 };
	struct vlc *conn = NULL;
	json_object *params, *s;
	void *chunk;
	size_t len;
	int r, status;

	status = run_compile(rq, &chunk, &len);
	if (status)
		return status;
	params = run_submit_params(rq, chunk, len);
	free(chunk);
	if (!params) {
		ctl_error(-ENOMEM, "out of memory");
		return KTAPCTL_EXIT_FAILURE;
	}
	if (client_open(&rq->client, false, &link, &conn) < 0) {
		json_object_put(params);
		return KTAPCTL_EXIT_FAILURE;
	}
	if (unless_running) {
		r = already_running(&link, conn, rq->name);
		if (r) {
			json_object_put(params);
			status = r > 0 ? KTAPCTL_EXIT_OK : r;
			goto out;
		}
	}
	r = vlc_call(conn, "io.ktap.Submit", params, &reply);
	if (r < 0 || reply.error ||
	    !json_object_object_get_ex(reply.parameters, "session", &s)) {
		status = client_call_failed(&link, r, &reply, NULL);
	} else if (rq->client.json) {
		client_print_json(reply.parameters);
	} else if (*json_str(s, "name")) {
		printf("session %lld (%s)\n", (long long)json_int(s, "id"),
		       json_str(s, "name"));
	} else {
		printf("session %lld\n", (long long)json_int(s, "id"));
	}
out:
	vlc_reply_release(&reply);
	vlc_free(conn);
	client_close(&link);
	return status;
}

int cmd_submit(int argc, char **argv)
{
	static const struct option options[] = {
		CLIENT_LONG_OPTIONS,
		RUN_LONG_OPTIONS,
		{ "name", required_argument, NULL, 'n' },
		{ "keep", no_argument, NULL, 'k' },
		{ "unless-running", no_argument, NULL, 'u' },
		{}
	};
	bool unless_running = false;
	/* A private ktapd would end with this command: no use for submit. */
	struct run_request rq = { .cpu = -1, .announce = true,
				  .daemon_only = true };
	const char *text = NULL;
	int c, r;

	while ((c = getopt_long(argc, argv, "+n:ke:p:C:h", options,
				NULL)) >= 0) {
		r = run_option(c, optarg, &rq);
		if (r < 0)
			return KTAPCTL_EXIT_USAGE;
		if (r > 0)
			continue;
		switch (c) {
		case 'n':
			rq.name = optarg;
			break;
		case 'k':
			rq.keep = true;
			break;
		case 'u':
			unless_running = true;
			break;
		case 'e':
			text = optarg;
			break;
		default:
			r = client_option(c, &rq.client, submit_usage);
			if (r >= 0)
				return r;
		}
	}
	r = run_take_script(&rq, text, argc, argv, optind);
	if (r == KTAPCTL_EXIT_USAGE || rq.command ||
	    (unless_running && (!rq.keep || !rq.name))) {
		free(rq.text);
		return client_usage_error(submit_usage);
	}
	if (r >= 0)
		return r;
	r = rq.keep ? submit_kept(&rq, unless_running) : run_session(&rq);
	free(rq.text);
	return r;
}
