/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Running a script as a session: compile, submit, follow its output until
 * it ends. Shared by `ktapctl run`, `ktapctl submit` and `ktap`.
 */
#ifndef KTAPCTL_RUN_H
#define KTAPCTL_RUN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "client.h"

struct run_request {
	/* The script: arg[0] and chunk name (its path, or "-e"), its text. */
	const char *path;
	char *text;
	size_t len;
	char **args; /* arg[1] .. arg[nargs] */
	int nargs;
	char **command; /* -- cmd args: traced, and the session's end */
	/* The session. */
	const char *name;
	bool keep;
	uint64_t arena_size, insn_budget, backlog_size; /* 0: ktapd's */
	uint64_t target_pid; /* 0: every process */
	int64_t cpu; /* -1: every CPU */
	struct client_opts client;
	bool daemon_only; /* never a private ktapd */
	/* What the user sees. */
	FILE *out; /* the session's output; NULL: not shown */
	bool timestamps; /* -T */
	bool banner; /* "Tracing... Hit Ctrl-C to end." */
	bool verbose; /* engine, session, probes armed */
	bool announce; /* the session's id, once it started */
	bool folded; /* at the end, folded stacks on stdout (run --folded) */
	const char *folded_table; /* their table; NULL: every table */
};

/* Long options of run and submit for the session's limits and targeting. */
enum {
	RUN_OPT_ARENA_SIZE = CLIENT_OPT_FIRST_FREE,
	RUN_OPT_INSN_BUDGET,
	RUN_OPT_BACKLOG_SIZE,
	RUN_OPT_PRIVATE,
	RUN_OPT_FIRST_FREE,
};

#define RUN_LONG_OPTIONS                                                       \
	{ "arena-size", required_argument, NULL, RUN_OPT_ARENA_SIZE },         \
		{ "insn-budget", required_argument, NULL,                      \
		  RUN_OPT_INSN_BUDGET },                                       \
		{ "backlog-size", required_argument, NULL,                     \
		  RUN_OPT_BACKLOG_SIZE },                                      \
		{ "pid", required_argument, NULL, 'p' },                       \
		{ "cpu", required_argument, NULL, 'C' }

/*
 * Handle option c if it is one of RUN_LONG_OPTIONS: 1 if it was, 0 if it
 * is not one of them, a negative errno for a bad value (reported).
 */
int run_option(int c, const char *arg, struct run_request *rq);

/*
 * The script from argv[next] (a path; "-" reads stdin) or from text
 * (-e), with the rest of argv (until "--", which starts the command) as
 * its arguments. Returns an exit status if this failed (rq->text is then
 * NULL), else -1.
 */
int run_take_script(struct run_request *rq, const char *text, int argc,
		    char **argv, int next);

/* Compile rq's script; the exit status on failure (reported), else 0. */
int run_compile(const struct run_request *rq, void **chunk, size_t *len);

/* The parameters of io.ktap.Submit for rq and its compiled chunk. */
json_object *run_submit_params(const struct run_request *rq,
			       const void *chunk, size_t len);

/* Compile, submit, follow until the end; returns the exit status. */
int run_session(const struct run_request *rq);

/*
 * run_session() with the output to the file out (NULL: rq->out), which is
 * closed after; frees the script's text.
 */
int run_to_file(struct run_request *rq, const char *out);

#endif /* KTAPCTL_RUN_H */
