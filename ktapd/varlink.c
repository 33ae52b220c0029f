// SPDX-License-Identifier: GPL-2.0
/* The Varlink server: sockets, framing, call checks, replies, write queues. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "list.h"
#include "log.h"
#include "macro.h"
#include "varlink.h"

/* Nesting deeper than any call of ours needs is refused by the parser. */
#define VL_JSON_DEPTH 32
/* Connections beyond this are refused at accept. */
#define VL_CONN_MAX 256
/* Input is read in steps of this size. */
#define VL_READ_STEP (64u << 10)

#define VL_JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

struct vl_call {
	struct vl_conn *conn;
	char *method;
	bool more, oneway;
	bool active; /* dispatched, final reply not sent yet */
	bool want_drain;
	void (*drain)(struct vl_call *call, void *data);
	void (*cancel)(struct vl_call *call, void *data);
	void *hook_data;
};

struct vl_conn {
	struct vl_server *server;
	uv_pipe_t pipe;
	struct list_head link; /* server->conns */
	struct list_head resume_link; /* server->resume, when queued there */
	struct vl_peer peer;
	char *in; /* unparsed input */
	size_t in_len, in_cap;
	bool reading;
	bool dispatching; /* inside conn_process() */
	bool draining; /* closes once its writes are done */
	bool closing; /* uv_close() called */
	struct vl_call call;
	uv_shutdown_t shutdown_req;
};

struct vl_listener {
	struct vl_server *server;
	uv_pipe_t pipe;
	struct list_head link;
};

struct vl_server {
	uv_loop_t *loop;
	struct vl_server_config cfg;
	struct list_head listeners;
	struct list_head conns;
	unsigned nconns;
	/* Connections whose buffered calls wait for the next loop turn. */
	struct list_head resume;
	uv_idle_t resume_idle;
	bool stopping;
};

struct vl_write {
	uv_write_t req;
	char data[];
};

static const char service_description[] =
	"# The Varlink Service Interface is provided by every varlink service. It\n"
	"# describes the service and the interfaces it implements.\n"
	"interface org.varlink.service\n"
	"\n"
	"# Get a list of all the interfaces a service provides and information\n"
	"# about the implementation.\n"
	"method GetInfo() -> (\n"
	"  vendor: string,\n"
	"  product: string,\n"
	"  version: string,\n"
	"  url: string,\n"
	"  interfaces: []string\n"
	")\n"
	"\n"
	"# Get the description of an interface that is implemented by this service.\n"
	"method GetInterfaceDescription(interface: string) -> (description: string)\n"
	"\n"
	"# The requested interface was not found.\n"
	"error InterfaceNotFound (interface: string)\n"
	"\n"
	"# The requested method was not found\n"
	"error MethodNotFound (method: string)\n"
	"\n"
	"# The interface defines the requested method, but the service does not\n"
	"# implement it.\n"
	"error MethodNotImplemented (method: string)\n"
	"\n"
	"# One of the passed parameters is invalid.\n"
	"error InvalidParameter (parameter: string)\n"
	"\n"
	"# Client is denied access\n"
	"error PermissionDenied ()\n"
	"\n"
	"# Method is expected to be called with 'more' set to true, but wasn't\n"
	"error ExpectedMore ()\n";

static int service_get_info(struct vl_call *call, json_object *params,
			    void *userdata);
static int service_get_description(struct vl_call *call, json_object *params,
				   void *userdata);

static const struct vl_param get_description_params[] = {
	{ "interface", json_type_string, true },
	{ NULL },
};

static const struct vl_method service_methods[] = {
	{ "GetInfo", service_get_info, (const struct vl_param[]){ { NULL } } },
	{ "GetInterfaceDescription", service_get_description,
	  get_description_params },
	{ NULL },
};

static const struct vl_interface service_interface = {
	.name = "org.varlink.service",
	.description = service_description,
	.methods = service_methods,
};

static void conn_process(struct vl_conn *c);
static void resume_cb(uv_idle_t *idle);
static void conn_close(struct vl_conn *c);
static void conn_close_after_writes(struct vl_conn *c);

/* ---- replies ---- */

static size_t conn_queued(const struct vl_conn *c)
{
	return uv_stream_get_write_queue_size((const uv_stream_t *)&c->pipe);
}

static void write_cb(uv_write_t *req, int status)
{
	struct vl_write *w = container_of(req, struct vl_write, req);
	struct vl_conn *c = req->handle->data;

	free(w);
	if (c->closing)
		return;
	if (status < 0) {
		log_debug_errno(status, "Client pid %d went away: %s",
				(int)c->peer.pid, uv_strerror(status));
		conn_close(c);
		return;
	}
	if (conn_queued(c) > VL_QUEUE_MAX / 2)
		return;
	if (c->call.active && c->call.want_drain) {
		c->call.want_drain = false;
		if (c->call.drain)
			c->call.drain(&c->call, c->call.hook_data);
	}
	if (!c->reading && !c->draining && !c->server->stopping) {
		/* Reading paused for the queue's sake: resume. */
		conn_process(c);
	}
}

/*
 * Queue one message. A failure closes the connection, but what the close
 * sets off (cancelling the call, the disconnected callback) runs later from
 * the loop, never under the caller, which may be walking a list it changes.
 */
static int conn_send(struct vl_conn *c, json_object *msg)
{
	struct vl_write *w;
	const char *s;
	size_t len;
	uv_buf_t buf;
	int r;

	if (c->closing || c->draining)
		return -ECONNRESET;
	s = json_object_to_json_string_length(msg, VL_JSON_FLAGS, &len);
	if (!s)
		return -ENOMEM;
	w = malloc(sizeof(*w) + len + 1);
	if (!w)
		return -ENOMEM;
	memcpy(w->data, s, len + 1); /* with the NUL that frames it */
	buf = uv_buf_init(w->data, len + 1);
	r = uv_write(&w->req, (uv_stream_t *)&c->pipe, &buf, 1, write_cb);
	if (r < 0) {
		free(w);
		log_debug("Write to client pid %d failed: %s", (int)c->peer.pid,
			  uv_strerror(r));
		conn_close(c);
		return r;
	}
	return 0;
}

static void conn_schedule(struct vl_conn *c)
{
	struct vl_server *s = c->server;

	if (c->closing || !list_empty(&c->resume_link))
		return;
	list_add_tail(&c->resume_link, &s->resume);
	uv_idle_start(&s->resume_idle, resume_cb);
}

static void call_finish(struct vl_call *call)
{
	struct vl_conn *c = call->conn;

	free(call->method);
	*call = (struct vl_call){ .conn = c };
	if (c->closing)
		return;
	if (c->server->stopping)
		conn_close_after_writes(c);
	else if (!c->dispatching)
		conn_schedule(c);
}

static int call_send(struct vl_call *call, const char *error,
		     json_object *params, bool continues)
{
	json_object *msg;
	int r = 0;

	if (!call->active) {
		json_object_put(params);
		return -EALREADY;
	}
	if (call->oneway) {
		json_object_put(params);
		goto out;
	}
	msg = json_object_new_object();
	if (!msg) {
		json_object_put(params);
		return -ENOMEM;
	}
	if (!params)
		params = json_object_new_object();
	if (error)
		json_object_object_add(msg, "error",
				       json_object_new_string(error));
	json_object_object_add(msg, "parameters", params);
	if (continues)
		json_object_object_add(msg, "continues",
				       json_object_new_boolean(1));
	r = conn_send(call->conn, msg);
	json_object_put(msg);
out:
	if (!continues)
		call_finish(call);
	return r;
}

int vl_reply(struct vl_call *call, json_object *params)
{
	return call_send(call, NULL, params, false);
}

int vl_notify(struct vl_call *call, json_object *params)
{
	if (!call->more) {
		json_object_put(params);
		return -EINVAL;
	}
	return call_send(call, NULL, params, true);
}

int vl_error(struct vl_call *call, const char *error, json_object *params)
{
	return call_send(call, error, params, false);
}

int vl_error_invalid_parameter(struct vl_call *call, const char *parameter)
{
	json_object *p = json_object_new_object();

	json_object_object_add(p, "parameter",
			       json_object_new_string(parameter));
	return vl_error(call, "org.varlink.service.InvalidParameter", p);
}

static void add_string(json_object *o, const char *key, const char *value)
{
	json_object_object_add(o, key, json_object_new_string(value));
}

static int error_with_string(struct vl_call *call, const char *error,
			     const char *key, const char *value)
{
	json_object *p = json_object_new_object();

	add_string(p, key, value);
	return vl_error(call, error, p);
}

bool vl_call_more(const struct vl_call *call)
{
	return call->more;
}

struct vl_conn *vl_call_conn(const struct vl_call *call)
{
	return call->conn;
}

const struct vl_peer *vl_call_peer(const struct vl_call *call)
{
	return &call->conn->peer;
}

bool vl_call_congested(struct vl_call *call)
{
	if (conn_queued(call->conn) <= VL_QUEUE_MAX)
		return false;
	call->want_drain = true;
	return true;
}

void vl_call_hold(struct vl_call *call,
		  void (*drain)(struct vl_call *call, void *data),
		  void (*cancel)(struct vl_call *call, void *data), void *data)
{
	call->drain = drain;
	call->cancel = cancel;
	call->hook_data = data;
}

/* ---- org.varlink.service ---- */

static int service_get_info(struct vl_call *call, json_object *params,
			    void *userdata)
{
	const struct vl_server_config *cfg = &call->conn->server->cfg;
	json_object *p = json_object_new_object();
	json_object *ifaces = json_object_new_array();
	const struct vl_interface *const *i;

	json_object_array_add(ifaces,
			      json_object_new_string(service_interface.name));
	for (i = cfg->interfaces; *i; i++)
		json_object_array_add(ifaces,
				      json_object_new_string((*i)->name));
	add_string(p, "vendor", cfg->vendor);
	add_string(p, "product", cfg->product);
	add_string(p, "version", cfg->version);
	add_string(p, "url", cfg->url);
	json_object_object_add(p, "interfaces", ifaces);
	return vl_reply(call, p);
}

static const struct vl_interface *server_interface(const struct vl_server *s,
						   const char *name, size_t len)
{
	const struct vl_interface *const *i;

	if (strlen(service_interface.name) == len &&
	    !memcmp(service_interface.name, name, len))
		return &service_interface;
	for (i = s->cfg.interfaces; *i; i++)
		if (strlen((*i)->name) == len && !memcmp((*i)->name, name, len))
			return *i;
	return NULL;
}

static int service_get_description(struct vl_call *call, json_object *params,
				   void *userdata)
{
	const char *name = json_object_get_string(
		json_object_object_get(params, "interface"));
	const struct vl_interface *iface;
	json_object *p;

	iface = server_interface(call->conn->server, name, strlen(name));
	if (!iface)
		return error_with_string(
			call, "org.varlink.service.InterfaceNotFound",
			"interface", name);
	p = json_object_new_object();
	add_string(p, "description", iface->description);
	return vl_reply(call, p);
}

/* ---- calls ---- */

/*
 * Check obj against spec: known names, types, required members. JSON null
 * counts as absent, as the protocol has it for optional fields. On failure
 * bad holds the offending parameter's path ("options.cpu").
 */
static int params_check(json_object *obj, const struct vl_param *spec,
			const char *prefix, char *bad, size_t badlen)
{
	const struct vl_param *p;

	json_object_object_foreach(obj, key, val)
	{
		for (p = spec; p->name; p++)
			if (!strcmp(p->name, key))
				break;
		if (!p->name || (val && !json_object_is_type(val, p->type)))
			goto fail_key;
		if (!val)
			continue;
		if (p->type == json_type_object && p->fields) {
			char sub[256];

			snprintf(sub, sizeof(sub), "%s%s.", prefix, key);
			if (params_check(val, p->fields, sub, bad, badlen) < 0)
				return -EINVAL;
		}
		if (p->type == json_type_array) {
			size_t i, n = json_object_array_length(val);

			for (i = 0; i < n; i++)
				if (!json_object_is_type(
					    json_object_array_get_idx(val, i),
					    p->items))
					goto fail_key;
		}
		continue;
fail_key:
		snprintf(bad, badlen, "%s%s", prefix, key);
		return -EINVAL;
	}
	for (p = spec; p->name; p++)
		if (p->required && !json_object_object_get(obj, p->name)) {
			snprintf(bad, badlen, "%s%s", prefix, p->name);
			return -EINVAL;
		}
	return 0;
}

static int call_malformed(struct vl_call *call, const char *reason)
{
	return error_with_string(call, call->conn->server->cfg.error_malformed,
				 "reason", reason);
}

/* Check the message's call form; fills call, returns its parameters. */
static int call_parse(struct vl_call *call, json_object *msg,
		      json_object **params, char *why, size_t whylen)
{
	json_object *method = NULL;

	*params = NULL;
	if (!json_object_is_type(msg, json_type_object)) {
		snprintf(why, whylen, "message is not a JSON object");
		return -EBADMSG;
	}
	json_object_object_foreach(msg, key, val)
	{
		bool flag = !strcmp(key, "more") || !strcmp(key, "oneway") ||
			    !strcmp(key, "upgrade");

		json_type type = json_object_get_type(val);

		if (!strcmp(key, "method")) {
			if (type != json_type_string) {
				snprintf(why, whylen, "'method' is not a string");
				return -EBADMSG;
			}
			method = val;
		} else if (!strcmp(key, "parameters")) {
			if (val && type != json_type_object) {
				snprintf(why, whylen,
					 "'parameters' is not an object");
				return -EBADMSG;
			}
			*params = val;
		} else if (flag) {
			if (val && type != json_type_boolean) {
				snprintf(why, whylen, "'%s' is not a boolean",
					 key);
				return -EBADMSG;
			}
			if (!strcmp(key, "more"))
				call->more = json_object_get_boolean(val);
			else if (!strcmp(key, "oneway"))
				call->oneway = json_object_get_boolean(val);
			else if (json_object_get_boolean(val)) {
				snprintf(why, whylen,
					 "protocol upgrades are not supported");
				return -EBADMSG;
			}
		} else {
			snprintf(why, whylen,
				 "unknown member '%.64s' in the call", key);
			return -EBADMSG;
		}
	}
	if (!method) {
		snprintf(why, whylen, "'method' is missing");
		return -EBADMSG;
	}
	if (call->more && call->oneway) {
		snprintf(why, whylen, "'more' and 'oneway' exclude each other");
		return -EBADMSG;
	}
	call->method = strdup(json_object_get_string(method));
	return call->method ? 0 : -ENOMEM;
}

static const struct vl_method *call_lookup(const struct vl_server *s,
					   const char *name)
{
	const char *dot = strrchr(name, '.');
	const struct vl_interface *iface;
	const struct vl_method *m;

	if (!dot)
		return NULL;
	iface = server_interface(s, name, dot - name);
	if (!iface)
		return NULL;
	for (m = iface->methods; m->name; m++)
		if (!strcmp(m->name, dot + 1))
			return m;
	return NULL;
}

static int call_run(struct vl_call *call, json_object *msg)
{
	struct vl_server *s = call->conn->server;
	const struct vl_method *m;
	json_object *params;
	char bad[256];
	int r;

	r = call_parse(call, msg, &params, bad, sizeof(bad));
	if (r == -EBADMSG) {
		/* A call we cannot read gets its answer, oneway or not. */
		call->more = call->oneway = false;
		return call_malformed(call, bad);
	}
	if (r < 0)
		return r;
	m = call_lookup(s, call->method);
	if (!m)
		return error_with_string(call,
					 "org.varlink.service.MethodNotFound",
					 "method", call->method);
	if (params && params_check(params, m->params, "", bad, sizeof(bad)) < 0)
		return vl_error_invalid_parameter(call, bad);
	if (!params) {
		/* A call without parameters is a call with none. */
		_cleanup_(json_object_putp) json_object *empty =
			json_object_new_object();

		if (params_check(empty, m->params, "", bad, sizeof(bad)) < 0)
			return vl_error_invalid_parameter(call, bad);
		return m->fn(call, empty, s->cfg.userdata);
	}
	return m->fn(call, params, s->cfg.userdata);
}

/* Parse and run one message (NUL excluded). */
static void conn_dispatch(struct vl_conn *c, const char *data, size_t len)
{
	struct vl_call *call = &c->call;
	json_tokener *tok;
	json_object *msg;
	size_t end;
	int r;

	*call = (struct vl_call){ .conn = c, .active = true };

	tok = json_tokener_new_ex(VL_JSON_DEPTH);
	if (!tok) {
		conn_close(c);
		return;
	}
	msg = json_tokener_parse_ex(tok, data, (int)len);
	end = json_tokener_get_parse_end(tok);
	if (!msg || json_tokener_get_error(tok) != json_tokener_success ||
	    strspn(data + end, " \t\r\n") != len - end) {
		const char *why = json_tokener_get_error(tok) ==
						  json_tokener_continue ?
					  "incomplete JSON" :
				  msg ? "data after the JSON object" :
					json_tokener_error_desc(
						json_tokener_get_error(tok));
		char reason[128];

		snprintf(reason, sizeof(reason), "not a JSON message: %s", why);
		json_tokener_free(tok);
		json_object_put(msg);
		call_malformed(call, reason);
		return;
	}
	json_tokener_free(tok);

	r = call_run(call, msg);
	json_object_put(msg);
	if (r < 0 && call->active && !c->closing) {
		log_error_errno(r,
				"Method %s failed, closing the connection: %m",
				call->method ? call->method : "?");
		conn_close(c);
		return;
	}
	if (call->active && call->oneway)
		call_finish(call);
}

static void conn_too_large(struct vl_conn *c)
{
	json_object *p = json_object_new_object();

	c->call = (struct vl_call){ .conn = c, .active = true };
	json_object_object_add(p, "limit",
			       json_object_new_int64(VL_MESSAGE_MAX));
	vl_error(&c->call, c->server->cfg.error_too_large, p);
	log_debug("Message from pid %d over %u bytes, closing",
		  (int)c->peer.pid, VL_MESSAGE_MAX);
	conn_close_after_writes(c);
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf);
static void read_cb(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf);

static void conn_read_start(struct vl_conn *c)
{
	if (c->reading)
		return;
	if (uv_read_start((uv_stream_t *)&c->pipe, alloc_cb, read_cb) < 0) {
		conn_close(c);
		return;
	}
	c->reading = true;
}

static void conn_read_stop(struct vl_conn *c)
{
	if (!c->reading)
		return;
	uv_read_stop((uv_stream_t *)&c->pipe);
	c->reading = false;
}

/*
 * Run the complete messages in the input buffer, one call at a time, and
 * decide whether to read more. Input is not read while the write queue is
 * congested, nor beyond one message while a call is pending.
 */
static void conn_process(struct vl_conn *c)
{
	size_t off = 0;

	if (c->closing || c->draining || c->dispatching)
		return;
	c->dispatching = true;
	while (!c->closing && !c->draining && !c->call.active &&
	       !c->server->stopping && conn_queued(c) <= VL_QUEUE_MAX) {
		const char *nul = memchr(c->in + off, 0, c->in_len - off);
		size_t len;

		if (!nul) {
			if (c->in_len - off > VL_MESSAGE_MAX)
				conn_too_large(c);
			break;
		}
		len = nul - (c->in + off);
		if (len > VL_MESSAGE_MAX) {
			conn_too_large(c);
			break;
		}
		conn_dispatch(c, c->in + off, len);
		off += len + 1;
	}
	c->dispatching = false;
	if (c->closing)
		return;
	if (off) {
		memmove(c->in, c->in + off, c->in_len - off);
		c->in_len -= off;
	}
	if (!c->in_len && c->in_cap > 4 * VL_READ_STEP) {
		/* A big call (a chunk) is done: do not hold its buffer. */
		free(c->in);
		c->in = NULL;
		c->in_cap = 0;
	}
	if (c->draining || c->server->stopping)
		return;
	if (conn_queued(c) > VL_QUEUE_MAX || c->in_len > VL_MESSAGE_MAX)
		conn_read_stop(c);
	else
		conn_read_start(c);
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct vl_conn *c = h->data;

	if (c->in_cap - c->in_len < VL_READ_STEP) {
		size_t cap = c->in_cap ? c->in_cap * 2 : VL_READ_STEP;
		char *in;

		while (cap - c->in_len < VL_READ_STEP)
			cap *= 2;
		in = realloc(c->in, cap);
		if (!in) {
			/* read_cb gets UV_ENOBUFS and closes. */
			*buf = uv_buf_init(NULL, 0);
			return;
		}
		c->in = in;
		c->in_cap = cap;
	}
	*buf = uv_buf_init(c->in + c->in_len, c->in_cap - c->in_len);
}

static void read_cb(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
	struct vl_conn *c = stream->data;

	if (nread < 0) {
		/*
		 * EOF is a hang-up: a client waiting for a stream keeps its
		 * side open, so a session tied to it can stop when it goes.
		 */
		if (nread != UV_EOF)
			log_debug("Read from client pid %d failed: %s",
				  (int)c->peer.pid, uv_strerror((int)nread));
		conn_close(c);
		return;
	}
	c->in_len += nread;
	conn_process(c);
}

/* ---- connections ---- */

static void conn_free(struct vl_conn *c)
{
	free(c->peer.groups);
	free(c->in);
	free(c->call.method);
	free(c);
}

static void conn_close_cb(uv_handle_t *h)
{
	struct vl_conn *c = h->data;
	struct vl_server *s = c->server;

	if (c->call.active && c->call.cancel)
		c->call.cancel(&c->call, c->call.hook_data);
	if (s->cfg.disconnected)
		s->cfg.disconnected(c, s->cfg.userdata);
	list_del(&c->link);
	s->nconns--;
	conn_free(c);
	if (s->stopping && !s->nconns && s->cfg.stopped)
		s->cfg.stopped(s->cfg.userdata);
}

static void conn_close(struct vl_conn *c)
{
	if (c->closing)
		return;
	c->closing = true;
	list_del(&c->resume_link);
	uv_close((uv_handle_t *)&c->pipe, conn_close_cb);
}

static void shutdown_cb(uv_shutdown_t *req, int status)
{
	conn_close(req->data);
}

static void conn_close_after_writes(struct vl_conn *c)
{
	if (c->closing || c->draining)
		return;
	c->draining = true;
	conn_read_stop(c);
	c->shutdown_req.data = c;
	if (uv_shutdown(&c->shutdown_req, (uv_stream_t *)&c->pipe,
			shutdown_cb) < 0)
		conn_close(c);
}

static int peer_read(int fd, struct vl_peer *peer)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	gid_t *groups = NULL;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return -errno;
	peer->uid = cred.uid;
	peer->gid = cred.gid;
	peer->pid = cred.pid;

	/* Supplementary groups as of connect(); ERANGE tells the size. */
	len = 16 * sizeof(gid_t);
	for (;;) {
		gid_t *g = realloc(groups, len);

		if (!g) {
			free(groups);
			return -ENOMEM;
		}
		groups = g;
		if (!getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len))
			break;
		if (errno == ENOPROTOOPT) {
			/* Before Linux 4.13: the primary group only. */
			len = 0;
			break;
		}
		if (errno != ERANGE) {
			free(groups);
			return -errno;
		}
	}
	peer->groups = groups;
	peer->ngroups = len / sizeof(gid_t);
	return 0;
}

static void connection_cb(uv_stream_t *server_stream, int status)
{
	struct vl_listener *l = server_stream->data;
	struct vl_server *s = l->server;
	struct vl_conn *c;
	uv_os_fd_t fd;
	int r;

	if (status < 0) {
		log_warning("Failed to accept a connection: %s",
			    uv_strerror(status));
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		log_error("Out of memory accepting a connection");
		return;
	}
	c->server = s;
	c->call.conn = c;
	list_init(&c->resume_link);
	uv_pipe_init(s->loop, &c->pipe, 0);
	c->pipe.data = c;
	list_add_tail(&c->link, &s->conns);
	s->nconns++;

	r = uv_accept(server_stream, (uv_stream_t *)&c->pipe);
	if (r < 0) {
		log_warning("Failed to accept a connection: %s",
			    uv_strerror(r));
		conn_close(c);
		return;
	}
	if (s->nconns > VL_CONN_MAX) {
		log_warning("Refusing a connection: %u connections open",
			    s->nconns - 1);
		conn_close(c);
		return;
	}
	r = uv_fileno((uv_handle_t *)&c->pipe, &fd);
	if (r == 0)
		r = peer_read(fd, &c->peer);
	if (r < 0) {
		log_warning_errno(r,
				  "Failed to read the peer's credentials: %m");
		conn_close(c);
		return;
	}
	log_debug("Client connected: pid %d uid %u", (int)c->peer.pid,
		  (unsigned)c->peer.uid);
	conn_read_start(c);
}

/* ---- server ---- */

static void resume_cb(uv_idle_t *idle)
{
	struct vl_server *s = idle->data;

	while (!list_empty(&s->resume)) {
		struct vl_conn *c =
			list_entry(s->resume.next, struct vl_conn, resume_link);

		list_del(&c->resume_link);
		conn_process(c);
	}
	uv_idle_stop(idle);
}

int vl_server_new(struct vl_server **ret, uv_loop_t *loop,
		  const struct vl_server_config *cfg)
{
	struct vl_server *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	s->loop = loop;
	s->cfg = *cfg;
	list_init(&s->listeners);
	list_init(&s->conns);
	list_init(&s->resume);
	uv_idle_init(loop, &s->resume_idle);
	s->resume_idle.data = s;
	*ret = s;
	return 0;
}

static int listener_add(struct vl_server *s, struct vl_listener **ret)
{
	struct vl_listener *l = calloc(1, sizeof(*l));

	if (!l)
		return -ENOMEM;
	l->server = s;
	uv_pipe_init(s->loop, &l->pipe, 0);
	l->pipe.data = l;
	list_add_tail(&l->link, &s->listeners);
	*ret = l;
	return 0;
}

int vl_server_listen_fd(struct vl_server *s, int fd)
{
	struct vl_listener *l;
	int r;

	r = listener_add(s, &l);
	if (r < 0)
		return r;
	r = uv_pipe_open(&l->pipe, fd);
	if (r < 0)
		return r;
	return uv_listen((uv_stream_t *)&l->pipe, SOMAXCONN, connection_cb);
}

/* Whether a daemon answers on path; a refused connect means a stale file. */
static bool socket_alive(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	_cleanup_close_ int fd = -1;

	if (strlen(path) >= sizeof(sa.sun_path))
		return false;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	return connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
}

int vl_server_listen_path(struct vl_server *s, const char *path, mode_t mode)
{
	struct vl_listener *l;
	int r;

	r = listener_add(s, &l);
	if (r < 0)
		return r;
	r = uv_pipe_bind(&l->pipe, path);
	if (r == UV_EADDRINUSE && !socket_alive(path)) {
		log_info("Replacing stale socket %s", path);
		if (unlink(path) < 0)
			return -errno;
		r = uv_pipe_bind(&l->pipe, path);
	}
	if (r < 0)
		return r;
	/* Who may do what is decided per call, from the peer's credentials. */
	if (chmod(path, mode) < 0)
		return -errno;
	return uv_listen((uv_stream_t *)&l->pipe, SOMAXCONN, connection_cb);
}

unsigned vl_server_connections(const struct vl_server *s)
{
	return s->nconns;
}

static void listener_close_cb(uv_handle_t *h)
{
	free(h->data);
}

static void server_close_listeners(struct vl_server *s)
{
	struct vl_listener *l, *n;

	list_for_each_entry_safe(l, n, &s->listeners, link) {
		list_del(&l->link);
		uv_close((uv_handle_t *)&l->pipe, listener_close_cb);
	}
}

void vl_server_stop(struct vl_server *s)
{
	struct vl_conn *c, *n;

	if (s->stopping)
		return;
	s->stopping = true;
	server_close_listeners(s);
	list_for_each_entry_safe(c, n, &s->conns, link) {
		if (c->call.active)
			conn_read_stop(c);
		else
			conn_close_after_writes(c);
	}
	if (!s->nconns && s->cfg.stopped)
		s->cfg.stopped(s->cfg.userdata);
}

void vl_server_close(struct vl_server *s)
{
	struct vl_conn *c, *n;

	s->stopping = true;
	server_close_listeners(s);
	list_for_each_entry_safe(c, n, &s->conns, link)
		conn_close(c);
	if (!uv_is_closing((uv_handle_t *)&s->resume_idle))
		uv_close((uv_handle_t *)&s->resume_idle, NULL);
}

void vl_server_free(struct vl_server *s)
{
	free(s);
}
