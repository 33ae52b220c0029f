/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A Varlink server (varlink.org) on libuv: NUL-terminated JSON calls over
 * Unix stream sockets, checked against method tables and dispatched to
 * handlers; replies are queued, never written blocking. Implements
 * org.varlink.service itself.
 *
 * A connection runs one call at a time, as the protocol orders replies: a
 * call whose handler returns without a final reply stays pending (a stream)
 * and later messages wait until it ends.
 */
#ifndef KTAPD_VARLINK_H
#define KTAPD_VARLINK_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <json-c/json.h>
#include <uv.h>

/*
 * The longest message accepted, NUL excluded: a chunk of the largest size
 * the loader accepts (KP_MAX_CHUNK, 16 MiB) grows to 21.4 MiB in base64;
 * the rest is room for the other parameters.
 */
#define VL_MESSAGE_MAX (24u << 20)

/*
 * Bytes a connection may have waiting to be written before it counts as
 * congested: its stream pauses (the session's backlog keeps the output) and
 * its further calls are not read until the queue is half empty again.
 */
#define VL_QUEUE_MAX (1u << 20)

static inline void json_object_putp(json_object **p)
{
	json_object_put(*p);
}

struct vl_server;
struct vl_conn;
struct vl_call;

/* Who is on the other end, from SO_PEERCRED and SO_PEERGROUPS. */
struct vl_peer {
	uid_t uid;
	gid_t gid;
	pid_t pid;
	int ngroups;
	gid_t *groups;
};

/* A parameter a method accepts; arrays of them end with a NULL name. */
struct vl_param {
	const char *name;
	json_type type;
	bool required;
	const struct vl_param *fields; /* json_type_object: its members */
	json_type items; /* json_type_array: the element type */
};

/*
 * A method handler. It answers with vl_reply()/vl_error(), or keeps the call
 * (vl_call_hold()) and answers later. A negative return without an answer
 * is an internal failure: it is logged and the connection closed.
 */
typedef int (*vl_method_fn)(struct vl_call *call, json_object *params,
			    void *userdata);

struct vl_method {
	const char *name; /* "Submit", without the interface */
	vl_method_fn fn;
	const struct vl_param *params;
};

struct vl_interface {
	const char *name; /* "io.ktap" */
	const char *description; /* the interface file's text */
	const struct vl_method *methods; /* ends with a NULL name */
};

struct vl_server_config {
	const char *vendor, *product, *version, *url; /* for GetInfo */
	const struct vl_interface *const *interfaces; /* NULL-terminated */
	/* Errors of the served interface for framing faults. */
	const char *error_too_large; /* parameters {"limit": n} */
	const char *error_malformed; /* parameters {"reason": s} */
	/* A connection is gone; its pending call was cancelled before. */
	void (*disconnected)(struct vl_conn *conn, void *userdata);
	/* vl_server_stop() finished: no connection is left. */
	void (*stopped)(void *userdata);
	void *userdata; /* for handlers and the callbacks above */
};

int vl_server_new(struct vl_server **ret, uv_loop_t *loop,
		  const struct vl_server_config *cfg);
/* Serve an already listening socket (socket activation). */
int vl_server_listen_fd(struct vl_server *s, int fd);
/* Bind and listen on path with the given mode; a stale socket is replaced. */
int vl_server_listen_path(struct vl_server *s, const char *path, mode_t mode);
unsigned vl_server_connections(const struct vl_server *s);
/*
 * Stop accepting and reading calls; each connection closes once its
 * pending call has ended and its replies are written.
 */
void vl_server_stop(struct vl_server *s);
/* Close everything now, written or not. */
void vl_server_close(struct vl_server *s);
/* After the loop has run the close callbacks of vl_server_close(). */
void vl_server_free(struct vl_server *s);

/* Final reply; takes params (NULL: empty). */
int vl_reply(struct vl_call *call, json_object *params);
/* A stream reply ("continues": true), for calls made with "more". */
int vl_notify(struct vl_call *call, json_object *params);
/* Final error reply; takes params (NULL: empty). */
int vl_error(struct vl_call *call, const char *error, json_object *params);
/* Shorthand for org.varlink.service.InvalidParameter. */
int vl_error_invalid_parameter(struct vl_call *call, const char *parameter);

bool vl_call_more(const struct vl_call *call);
struct vl_conn *vl_call_conn(const struct vl_call *call);
const struct vl_peer *vl_call_peer(const struct vl_call *call);
/*
 * Whether the connection's write queue is over VL_QUEUE_MAX. When it is,
 * the call's drain hook runs once the queue has shrunk to half of it.
 */
bool vl_call_congested(struct vl_call *call);
/*
 * Keep the call open after the handler returns. drain: see
 * vl_call_congested(); cancel: the connection closed before the final
 * reply (the call is gone afterwards).
 */
void vl_call_hold(struct vl_call *call,
		  void (*drain)(struct vl_call *call, void *data),
		  void (*cancel)(struct vl_call *call, void *data),
		  void *data);

#endif /* KTAPD_VARLINK_H */
