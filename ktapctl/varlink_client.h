/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A small Varlink client: NUL-terminated JSON messages over a stream
 * socket, calls with "more" answered by a stream of replies. Blocking, for
 * a command-line tool; vlc_fill() and vlc_next() let an event loop read a
 * connection only when poll() says it is readable.
 */
#ifndef KTAPCTL_VARLINK_CLIENT_H
#define KTAPCTL_VARLINK_CLIENT_H

#include <stdbool.h>

#include <json-c/json.h>

struct vlc;

/* A reply, or an error reply (error is its name). */
struct vlc_reply {
	json_object *msg; /* the whole message, owned */
	json_object *parameters; /* within msg; an empty object when absent */
	const char *error; /* within msg; NULL for a reply */
	bool continues;
};

/* Connect to the Unix socket at path. */
int vlc_connect(const char *path, struct vlc **ret);
/*
 * Start argv with a socket as its standard input and output, and talk
 * Varlink over it (ssh to a remote ktapctl bridge); vlc_free() ends it.
 */
int vlc_spawn(char *const argv[], struct vlc **ret);
/* Take over a connected stream socket (closed by vlc_free()). */
int vlc_adopt(int fd, struct vlc **ret);
void vlc_free(struct vlc *c);
void vlc_freep(struct vlc **c);
int vlc_fd(const struct vlc *c);

/* Send a call; takes ownership of params (NULL: none). */
int vlc_send(struct vlc *c, const char *method, json_object *params,
	     bool more);

/*
 * The next reply, waiting for it. -ECONNRESET when the peer closed the
 * connection, -EBADMSG for a message that is not a JSON object.
 */
int vlc_recv(struct vlc *c, struct vlc_reply *reply);

/* vlc_send() and vlc_recv() of a call with one reply. */
int vlc_call(struct vlc *c, const char *method, json_object *params,
	     struct vlc_reply *reply);

/*
 * Read what the socket holds now (one read(), which may wait if nothing is
 * there): bytes read, 0 at end of file, or a negative errno.
 */
int vlc_fill(struct vlc *c);
/* A reply already read: 1 and *reply, 0 when none is complete yet. */
int vlc_next(struct vlc *c, struct vlc_reply *reply);

void vlc_reply_release(struct vlc_reply *reply);

#endif /* KTAPCTL_VARLINK_CLIENT_H */
