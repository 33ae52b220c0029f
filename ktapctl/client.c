// SPDX-License-Identifier: GPL-2.0
/*
 * The way to ktapd and back: options shared by the commands, connecting
 * (or starting a private daemon), and ktapd's declared errors as sentences.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "ktapctl.h"

const char *program_name = "ktapctl";

int ctl_error(int r, const char *fmt, ...)
{
	va_list ap;

	/* %m reads errno. */
	errno = r < 0 ? -r : r;
	fprintf(stderr, "%s: ", program_name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return r;
}

int client_usage_error(const char *usage)
{
	fputs(usage, stderr);
	return KTAPCTL_EXIT_USAGE;
}

int client_option(int c, struct client_opts *o, const char *usage)
{
	switch (c) {
	case CLIENT_OPT_SOCKET:
		o->socket = optarg;
		return -1;
	case CLIENT_OPT_JSON:
		o->json = true;
		return -1;
	case CLIENT_OPT_HOST:
		o->host = optarg;
		return -1;
	case 'h':
		fputs(usage, stdout);
		return KTAPCTL_EXIT_OK;
	default:
		return client_usage_error(usage);
	}
}

/* Errors that mean "nothing listens there", where a private ktapd helps. */
static bool no_daemon_there(int r)
{
	return r == -ENOENT || r == -ECONNREFUSED || r == -ENOTDIR;
}

static int open_private(struct client_link *link, struct vlc **conn)
{
	int fds[2], r;

	r = private_daemon_start(&link->pd, fds, 2);
	if (r < 0)
		return r;
	link->path = NULL;
	r = vlc_adopt(fds[0], conn);
	if (r < 0) {
		close(fds[0]);
		close(fds[1]);
	} else {
		r = vlc_adopt(fds[1], &link->control);
		if (r < 0) {
			close(fds[1]);
			vlc_free(*conn);
			*conn = NULL;
		}
	}
	if (r < 0) {
		client_close(link);
		return ctl_error(r, "%m");
	}
	return 0;
}

/* Append the shell-quoted word w to cmd (size bytes); false if too long. */
static bool shell_word(char *cmd, size_t size, const char *w)
{
	size_t n = strlen(cmd);

	if (n && n + 1 < size)
		cmd[n++] = ' ';
	if (n + 1 >= size)
		return false;
	cmd[n++] = '\'';
	for (; *w; w++) {
		if (n + 5 >= size)
			return false;
		if (*w == '\'') {
			memcpy(cmd + n, "'\\''", 4);
			n += 4;
		} else {
			cmd[n++] = *w;
		}
	}
	cmd[n++] = '\'';
	cmd[n] = '\0';
	return true;
}

/*
 * `$KTAP_SSH [-p PORT] -- [USER@]HOST 'ktapctl' 'bridge' '--socket' 'PATH'`
 * for a host given as [ssh://][USER@]HOST[:PORT].
 */
static int connect_ssh(const char *host, const char *path, struct vlc **conn)
{
	const char *ssh = getenv("KTAP_SSH"), *remote;
	char spec[256], cmd[1024] = "", *argv[64], *words, *w, *port;
	size_t n = 0;
	int r;

	if (!strncmp(host, "ssh://", 6))
		host += 6;
	if (snprintf(spec, sizeof(spec), "%s", host) >= (int)sizeof(spec) ||
	    !*spec)
		return -EINVAL;
	port = strrchr(spec, ':');
	if (port && port[1] && strspn(port + 1, "0123456789") ==
				       strlen(port + 1))
		*port++ = '\0';
	else
		port = NULL;
	remote = getenv("KTAP_REMOTE_KTAPCTL");
	if (!shell_word(cmd, sizeof(cmd), remote && *remote ? remote :
							      "ktapctl") ||
	    !shell_word(cmd, sizeof(cmd), "bridge") ||
	    !shell_word(cmd, sizeof(cmd), "--socket") ||
	    !shell_word(cmd, sizeof(cmd), path))
		return -ENAMETOOLONG;
	words = strdup(ssh && *ssh ? ssh : "ssh");
	if (!words)
		return -ENOMEM;
	for (w = strtok(words, " \t"); w && n < 50; w = strtok(NULL, " \t"))
		argv[n++] = w;
	/* No terminal, no X11, no escape character: a byte stream. */
	argv[n++] = "-T";
	argv[n++] = "-x";
	argv[n++] = "-e";
	argv[n++] = "none";
	if (port) {
		argv[n++] = "-p";
		argv[n++] = port;
	}
	argv[n++] = "--";
	argv[n++] = spec;
	argv[n++] = cmd;
	argv[n] = NULL;
	r = vlc_spawn(argv, conn);
	free(words);
	return r;
}

static int client_connect(struct client_link *link, struct vlc **conn)
{
	return link->host ? connect_ssh(link->host, link->path, conn) :
			    vlc_connect(link->path, conn);
}

const char *client_host(const struct client_opts *o)
{
	const char *host = o->host ? o->host : getenv("KTAP_HOST");

	return host && *host ? host : NULL;
}

int client_open(const struct client_opts *o, bool allow_private,
		struct client_link *link, struct vlc **conn)
{
	const char *path = o->socket, *host = client_host(o);
	bool chosen = true;
	int r;

	*link = (struct client_link){ .pd = { .pidfd = -1, .log_fd = -1 } };
	*conn = NULL;
	if (allow_private && o->private_daemon)
		return open_private(link, conn);
	if (host) {
		link->host = host;
		link->path = path ? path : KTAPD_DEFAULT_SOCKET;
		r = client_connect(link, conn);
		if (r < 0)
			return ctl_error(r, "cannot reach ktapd on %s: %m",
					 host);
		return 0;
	}
	if (!path)
		path = getenv("KTAP_SOCKET");
	if (!path || !*path) {
		path = KTAPD_DEFAULT_SOCKET;
		chosen = false;
	}
	r = vlc_connect(path, conn);
	if (r >= 0) {
		link->path = path;
		return 0;
	}
	if (allow_private && !chosen && no_daemon_there(r))
		return open_private(link, conn);
	return ctl_error(r, "cannot connect to ktapd at %s: %m%s", path,
			 no_daemon_there(r) ? " (is ktapd running?)" : "");
}

struct vlc *client_control(struct client_link *link)
{
	int r;

	if (link->control || !link->path)
		return link->control;
	r = client_connect(link, &link->control);
	if (r < 0)
		ctl_error(r, "cannot connect to ktapd at %s%s%s: %m",
			  link->host ? link->host : "", link->host ? ":" : "",
			  link->path);
	return link->control;
}

void client_close(struct client_link *link)
{
	vlc_free(link->control);
	link->control = NULL;
	private_daemon_stop(&link->pd);
}

/* A declared error as the sentence a user reads. */
static int report_error(const struct vlc_reply *reply, const char *session)
{
	json_object *p = reply->parameters;
	const char *e = reply->error;
	const char *reason = json_str(p, "reason");

	if (!strcmp(e, "io.ktap.SessionNotFound"))
		return ctl_error(-ENOENT, "session '%s' not found",
				 json_str(p, "session"));
	if (!strcmp(e, "io.ktap.PermissionDenied")) {
		if (session)
			return ctl_error(-EPERM,
					 "permission denied: session '%s': %s",
					 session, reason);
		return ctl_error(-EPERM, "permission denied: %s", reason);
	}
	if (!strcmp(e, "io.ktap.InvalidBytecode")) {
		if (json_int(p, "function") < 0)
			ctl_error(-EINVAL, "bytecode rejected: %s", reason);
		else
			ctl_error(-EINVAL,
				  "bytecode rejected: function %lld, pc %lld: "
				  "%s",
				  (long long)json_int(p, "function"),
				  (long long)json_int(p, "pc"), reason);
		return KTAPCTL_EXIT_VERIFY;
	}
	if (!strcmp(e, "io.ktap.EventNotFound")) {
		/* ktapd's reason already names the event. */
		if (*reason)
			return ctl_error(-ENOENT, "%s", reason);
		return ctl_error(-ENOENT, "event '%s' not found",
				 json_str(p, "event"));
	}
	if (!strcmp(e, "io.ktap.StartFailed"))
		return ctl_error(-EIO, "cannot start the session: %s", reason);
	if (!strcmp(e, "io.ktap.QuotaExceeded"))
		return ctl_error(-E2BIG, "over ktapd's limit of %s (%lld)",
				 json_str(p, "quota"),
				 (long long)json_int(p, "limit"));
	if (!strcmp(e, "io.ktap.InvalidArgument"))
		return ctl_error(-EINVAL, "invalid %s: %s",
				 json_str(p, "parameter"), reason);
	if (!strcmp(e, "io.ktap.NameInUse"))
		return ctl_error(-EEXIST, "the name '%s' is in use",
				 json_str(p, "name"));
	if (!strcmp(e, "io.ktap.ShuttingDown"))
		return ctl_error(-ESHUTDOWN, "ktapd is shutting down");
	if (!strcmp(e, "io.ktap.MessageTooLarge"))
		return ctl_error(-EMSGSIZE,
				 "the request is over ktapd's limit of %lld "
				 "bytes",
				 (long long)json_int(p, "limit"));
	/* The rest means ktapctl and ktapd disagree on the protocol. */
	return ctl_error(-EPROTO, "ktapd answered %s %s", e,
			 json_object_to_json_string_ext(
				 p, JSON_C_TO_STRING_PLAIN));
}

int client_call_failed(struct client_link *link, int r,
		       const struct vlc_reply *reply, const char *session)
{
	if (r >= 0 && !reply->error) {
		ctl_error(-EPROTO, "ktapd's reply lacks what was asked for: %s",
			  json_object_to_json_string_ext(
				  reply->parameters, JSON_C_TO_STRING_PLAIN));
		return KTAPCTL_EXIT_FAILURE;
	}
	if (r >= 0) {
		r = report_error(reply, session);
		return r == KTAPCTL_EXIT_VERIFY ? r : KTAPCTL_EXIT_FAILURE;
	}
	if (r == -ECONNRESET && link && !link->path) {
		ctl_error(r, "the private ktapd went away; its log:");
		private_daemon_show_log(&link->pd);
	} else if (r == -ECONNRESET && link && link->host) {
		ctl_error(r, "the connection to ktapd on %s closed (ssh's "
			     "messages, if any, are above)",
			  link->host);
	} else if (r == -ECONNRESET) {
		ctl_error(r, "ktapd closed the connection");
	} else if (r == -EBADMSG) {
		ctl_error(r, "ktapd sent a message that is not a JSON object");
	} else {
		ctl_error(r, "talking to ktapd: %m");
	}
	return KTAPCTL_EXIT_FAILURE;
}

int client_call_once(const struct client_opts *o, const char *method,
		     json_object *params, const char *session,
		     struct vlc_reply *reply)
{
	struct client_link link;
	struct vlc *conn;
	int r, status = 0;

	*reply = (struct vlc_reply){ 0 };
	if (client_open(o, false, &link, &conn) < 0) {
		json_object_put(params);
		return KTAPCTL_EXIT_FAILURE;
	}
	r = vlc_call(conn, method, params, reply);
	if (r < 0 || reply->error) {
		status = client_call_failed(&link, r, reply, session);
		vlc_reply_release(reply);
	}
	vlc_free(conn);
	client_close(&link);
	return status;
}

json_object *client_session_params(const char *session)
{
	json_object *p = json_object_new_object();

	json_object_object_add(p, "session", json_object_new_string(session));
	return p;
}

void client_print_json(json_object *o)
{
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
}

int client_parse_uint(const char *s, uint64_t max, uint64_t *ret)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || v > max)
		return -EINVAL;
	*ret = v;
	return 0;
}

int client_parse_size(const char *s, uint64_t *ret)
{
	static const char units[] = "KMG";
	unsigned long long v;
	const char *u;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *s == '-')
		return -EINVAL;
	if (*end) {
		if (end[1] || !(u = strchr(units, *end)))
			return -EINVAL;
		for (; u >= units; u--) {
			if (v > UINT64_MAX >> 10)
				return -EINVAL;
			v <<= 10;
		}
	}
	*ret = v;
	return 0;
}

int64_t json_int(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_int64(v)
						     : 0;
}

const char *json_str(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !v)
		return "";
	return json_object_get_string(v);
}
