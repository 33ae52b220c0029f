/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the commands that talk to ktapd share: their common options, the
 * way to the daemon (its socket, or a private ktapd started for one
 * script), and turning ktapd's errors into sentences and exit statuses.
 */
#ifndef KTAPCTL_CLIENT_H
#define KTAPCTL_CLIENT_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>

#include "private_daemon.h"
#include "varlink_client.h"

#define KTAPD_DEFAULT_SOCKET "/run/ktapd/ktapd.sock"

/* Options every command talking to ktapd takes. */
struct client_opts {
	const char *socket; /* --socket PATH, or NULL */
	const char *host; /* --host [ssh://][USER@]HOST[:PORT], or NULL */
	bool json; /* --json: machine-readable output */
	bool private_daemon; /* --private: always start a private ktapd */
};

enum {
	CLIENT_OPT_SOCKET = 0x100,
	CLIENT_OPT_JSON,
	CLIENT_OPT_HOST,
	CLIENT_OPT_FIRST_FREE, /* where a command's own long options start */
};

/* For the getopt_long() table of a command. */
#define CLIENT_LONG_OPTIONS                                                    \
	{ "socket", required_argument, NULL, CLIENT_OPT_SOCKET },              \
		{ "host", required_argument, NULL, CLIENT_OPT_HOST },          \
		{ "json", no_argument, NULL, CLIENT_OPT_JSON },                \
		{ "help", no_argument, NULL, 'h' }

/*
 * Handle option c if it is one of CLIENT_LONG_OPTIONS (or '?'): returns -1
 * when the command goes on, otherwise the exit status to return at once
 * (--help printed usage, or a usage error).
 */
int client_option(int c, struct client_opts *o, const char *usage);

/* A usage error: the usage to stderr, and the exit status for it. */
int client_usage_error(const char *usage);

/*
 * The daemon a command talks to, and a second connection to it for calls
 * beside a stream (Stop, Status). For a private ktapd that connection is
 * made before its socket disappears: there is no path to connect to later.
 */
struct client_link {
	const char *path; /* NULL for a private daemon */
	const char *host; /* through ssh to this host's socket at path */
	struct private_daemon pd;
	struct vlc *control;
};

/*
 * Connect to ktapd: --socket, $KTAP_SOCKET or the default socket; with
 * --host or $KTAP_HOST, that host's (--socket or the default) through
 * `ssh HOST ktapctl bridge` ($KTAP_SSH: the ssh command and options,
 * $KTAP_REMOTE_KTAPCTL: ktapctl's path there). With
 * allow_private, when the default socket is not there (and neither
 * --socket nor $KTAP_SOCKET named one), or with --private, start a private
 * ktapd instead. Prints why on failure.
 */
int client_open(const struct client_opts *o, bool allow_private,
		struct client_link *link, struct vlc **conn);
/* The remote host the commands go to (--host, $KTAP_HOST), or NULL. */
const char *client_host(const struct client_opts *o);
/* The link's second connection (made on first use); NULL on failure. */
struct vlc *client_control(struct client_link *link);
/* Close what client_open() made; stops a private ktapd. */
void client_close(struct client_link *link);

/*
 * Report a failed call: a transport error (r < 0) or an error reply.
 * `session` names the session the call was about, if any. Returns the
 * exit status it means (KTAPCTL_EXIT_VERIFY for rejected bytecode).
 */
int client_call_failed(struct client_link *link, int r,
		       const struct vlc_reply *reply, const char *session);

/*
 * Connect to ktapd (no private one), make one call and hang up. Returns 0
 * with the reply in *reply (release it), or the exit status of the
 * failure, reported; `session` is the session the call is about, if any.
 */
int client_call_once(const struct client_opts *o, const char *method,
		     json_object *params, const char *session,
		     struct vlc_reply *reply);

/* {"session": session}, the parameters of the calls about one session. */
json_object *client_session_params(const char *session);

/* One JSON value on its own line on stdout, for --json. */
void client_print_json(json_object *o);

/* Sizes with a K, M or G suffix ("64M"); -EINVAL for anything else. */
int client_parse_size(const char *s, uint64_t *ret);
/* A non-negative decimal number that fits in max; -EINVAL otherwise. */
int client_parse_uint(const char *s, uint64_t max, uint64_t *ret);

/* A member of a JSON object as an integer (0 when absent), or string. */
int64_t json_int(json_object *o, const char *key);
const char *json_str(json_object *o, const char *key);

#endif /* KTAPCTL_CLIENT_H */
