// SPDX-License-Identifier: GPL-2.0
/* A small blocking Varlink client (see varlink_client.h). */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "varlink_client.h"

/* Larger than any reply ktapd sends (its own limit is 24 MiB a message). */
#define VLC_MESSAGE_MAX (256u << 20)
/* Dumped globals nest as deep as the script's tables do. */
#define VLC_JSON_DEPTH 1024
#define VLC_READ_SIZE 65536

struct vlc {
	int fd;
	pid_t child; /* the program at the other end (vlc_spawn), or 0 */
	char *buf;
	size_t start, end, cap; /* unparsed bytes are buf[start .. end) */
	size_t scanned; /* buf[start .. scanned) holds no NUL */
	json_tokener *tok;
};

int vlc_adopt(int fd, struct vlc **ret)
{
	struct vlc *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	c->tok = json_tokener_new_ex(VLC_JSON_DEPTH);
	if (!c->tok) {
		free(c);
		return -ENOMEM;
	}
	c->fd = fd;
	*ret = c;
	return 0;
}

int vlc_connect(const char *path, struct vlc **ret)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, r;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	r = vlc_adopt(fd, ret);
	if (r < 0)
		close(fd);
	return r;
}

int vlc_spawn(char *const argv[], struct vlc **ret)
{
	int sv[2], r;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		r = -errno;
		close(sv[0]);
		close(sv[1]);
		return r;
	}
	if (pid == 0) {
		/* dup2() clears close-on-exec on the copies. */
		if (dup2(sv[1], STDIN_FILENO) < 0 ||
		    dup2(sv[1], STDOUT_FILENO) < 0)
			_exit(127);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(sv[1]);
	r = vlc_adopt(sv[0], ret);
	if (r < 0) {
		close(sv[0]);
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
		return r;
	}
	(*ret)->child = pid;
	return 0;
}

void vlc_free(struct vlc *c)
{
	if (!c)
		return;
	close(c->fd);
	if (c->child > 0) {
		/* Every call was answered: nothing is left for it to carry. */
		kill(c->child, SIGTERM);
		while (waitpid(c->child, NULL, 0) < 0 && errno == EINTR)
			;
	}
	json_tokener_free(c->tok);
	free(c->buf);
	free(c);
}

void vlc_freep(struct vlc **c)
{
	vlc_free(*c);
}

int vlc_fd(const struct vlc *c)
{
	return c->fd;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int vlc_send(struct vlc *c, const char *method, json_object *params,
	     bool more)
{
	json_object *msg = json_object_new_object();
	const char *text;
	size_t len;
	int r;

	if (!msg) {
		json_object_put(params);
		return -ENOMEM;
	}
	json_object_object_add(msg, "method", json_object_new_string(method));
	if (params)
		json_object_object_add(msg, "parameters", params);
	if (more)
		json_object_object_add(msg, "more", json_object_new_boolean(1));
	text = json_object_to_json_string_length(msg, JSON_C_TO_STRING_PLAIN,
						 &len);
	/* The terminating NUL of the string is the message's end. */
	r = text ? write_all(c->fd, text, len + 1) : -ENOMEM;
	json_object_put(msg);
	return r;
}

int vlc_fill(struct vlc *c)
{
	ssize_t n;

	if (c->start > 0 && c->start == c->end) {
		c->start = c->end = c->scanned = 0;
	} else if (c->start > c->cap / 2) {
		/* Make room at the end by moving the unparsed rest down. */
		memmove(c->buf, c->buf + c->start, c->end - c->start);
		c->end -= c->start;
		c->scanned -= c->start;
		c->start = 0;
	}
	if (c->cap - c->end < VLC_READ_SIZE) {
		size_t cap = c->cap ? 2 * c->cap : 4 * VLC_READ_SIZE;
		char *p;

		if (c->end - c->start > VLC_MESSAGE_MAX)
			return -EMSGSIZE;
		p = realloc(c->buf, cap);
		if (!p)
			return -ENOMEM;
		c->buf = p;
		c->cap = cap;
	}
	do
		n = read(c->fd, c->buf + c->end, c->cap - c->end);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	c->end += (size_t)n;
	return (int)n;
}

static int parse_message(struct vlc *c, const char *text, size_t len,
			 struct vlc_reply *reply)
{
	json_object *msg, *o;

	json_tokener_reset(c->tok);
	msg = json_tokener_parse_ex(c->tok, text, (int)len);
	if (!msg || !json_object_is_type(msg, json_type_object)) {
		json_object_put(msg);
		return -EBADMSG;
	}
	*reply = (struct vlc_reply){ .msg = msg };
	if (json_object_object_get_ex(msg, "error", &o))
		reply->error = json_object_get_string(o);
	if (json_object_object_get_ex(msg, "continues", &o))
		reply->continues = json_object_get_boolean(o);
	if (!json_object_object_get_ex(msg, "parameters", &o) ||
	    !json_object_is_type(o, json_type_object)) {
		o = json_object_new_object();
		json_object_object_add(msg, "parameters", o);
	}
	reply->parameters = o;
	return 0;
}

int vlc_next(struct vlc *c, struct vlc_reply *reply)
{
	char *nul;
	size_t len;
	int r;

	if (c->scanned == c->end)
		return 0;
	nul = memchr(c->buf + c->scanned, '\0', c->end - c->scanned);
	if (!nul) {
		c->scanned = c->end;
		return 0;
	}
	len = (size_t)(nul - (c->buf + c->start));
	r = parse_message(c, c->buf + c->start, len, reply);
	c->start += len + 1;
	c->scanned = c->start;
	return r < 0 ? r : 1;
}

int vlc_recv(struct vlc *c, struct vlc_reply *reply)
{
	int r;

	for (;;) {
		r = vlc_next(c, reply);
		if (r)
			return r < 0 ? r : 0;
		r = vlc_fill(c);
		if (r == 0)
			return -ECONNRESET;
		if (r < 0)
			return r;
	}
}

int vlc_call(struct vlc *c, const char *method, json_object *params,
	     struct vlc_reply *reply)
{
	int r = vlc_send(c, method, params, false);

	return r < 0 ? r : vlc_recv(c, reply);
}

void vlc_reply_release(struct vlc_reply *reply)
{
	json_object_put(reply->msg);
	*reply = (struct vlc_reply){ 0 };
}
