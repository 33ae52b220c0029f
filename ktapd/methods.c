// SPDX-License-Identifier: GPL-2.0
/*
 * The io.ktap methods (proto/io.ktap.varlink): argument checks, access
 * control, and the mapping of failures to the interface's errors.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "attach.h"
#include "chunk.h"
#include "kp_base64.h"
#include "log.h"
#include "macro.h"
#include "methods.h"
#include "peer.h"
#include "session.h"
#include "vm.h"
#include "wire.h"

#define NAME_MAX_LEN 64

static int error_str(struct vl_call *call, const char *error, const char *key,
		     const char *value)
{
	json_object *p = json_object_new_object();

	json_object_object_add(p, key, json_object_new_string(value));
	return vl_error(call, error, p);
}

static int error_invalid_argument(struct vl_call *call, const char *parameter,
				  const char *reason)
{
	json_object *p = json_object_new_object();

	json_object_object_add(p, "parameter",
			       json_object_new_string(parameter));
	json_object_object_add(p, "reason", json_object_new_string(reason));
	return vl_error(call, "io.ktap.InvalidArgument", p);
}

static int error_permission(struct vl_call *call, const char *reason)
{
	return error_str(call, "io.ktap.PermissionDenied", "reason", reason);
}

static int error_quota(struct vl_call *call, const char *quota, uint64_t limit)
{
	json_object *p = json_object_new_object();

	json_object_object_add(p, "quota", json_object_new_string(quota));
	json_object_object_add(p, "limit",
			       json_object_new_int64((int64_t)limit));
	return vl_error(call, "io.ktap.QuotaExceeded", p);
}

static int error_shutting_down(struct vl_call *call)
{
	return vl_error(call, "io.ktap.ShuttingDown", NULL);
}

/* A member of params, or NULL when absent or null. */
static json_object *param(json_object *params, const char *name)
{
	return json_object_object_get(params, name);
}

/*
 * The session a call names, if the caller may use it; otherwise the error
 * reply is sent and NULL returned.
 */
static struct session *session_for_call(struct vl_call *call,
					json_object *params)
{
	const char *name = json_object_get_string(param(params, "session"));
	struct session *s = session_find(name);

	if (!s) {
		error_str(call, "io.ktap.SessionNotFound", "session", name);
		return NULL;
	}
	if (!peer_may_access(vl_call_peer(call), s->owner)) {
		char why[96];

		snprintf(why, sizeof(why),
			 "session %" PRIu64 " belongs to uid %u; only its "
			 "owner or root may use it",
			 s->id, (unsigned)s->owner);
		error_permission(call, why);
		return NULL;
	}
	return s;
}

/* An optional integer parameter within [min, max]; 1 if present. */
static int int_param(struct vl_call *call, json_object *params,
		     const char *name, const char *path, int64_t min,
		     int64_t max, int64_t *v)
{
	json_object *o = param(params, name);
	char reason[96];

	if (!o)
		return 0;
	*v = json_object_get_int64(o);
	if (*v >= min && *v <= max)
		return 1;
	if (max == INT64_MAX)
		snprintf(reason, sizeof(reason), "must be at least %" PRId64,
			 min);
	else
		snprintf(reason, sizeof(reason),
			 "must be between %" PRId64 " and %" PRId64, min, max);
	error_invalid_argument(call, path, reason);
	return -EINVAL;
}

/* ---- Submit ---- */

static bool name_valid(const char *name)
{
	size_t n = strlen(name);

	if (n < 1 || n > NAME_MAX_LEN)
		return false;
	if (strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			 "0123456789_.:@-") != n)
		return false;
	return strspn(name, "0123456789") != n;
}

static int submit_options(struct vl_call *call, json_object *opts,
			  struct session_params *p)
{
	int64_t v;
	int r;

	if (!opts)
		return 0;
	r = int_param(call, opts, "arena_size", "options.arena_size",
		      SESSION_ARENA_MIN, INT64_MAX, &v);
	if (r < 0)
		return r;
	if (r)
		p->arena_size = (size_t)v;
	r = int_param(call, opts, "insn_budget", "options.insn_budget", 1,
		      UINT32_MAX, &v);
	if (r < 0)
		return r;
	if (r)
		p->insn_budget = (uint32_t)v;
	r = int_param(call, opts, "target_pid", "options.target_pid", 0,
		      INT32_MAX, &v);
	if (r < 0)
		return r;
	if (r)
		p->target_pid = (pid_t)v;
	r = int_param(call, opts, "cpu", "options.cpu", -1,
		      sysconf(_SC_NPROCESSORS_CONF) - 1, &v);
	if (r < 0)
		return r;
	if (r)
		p->cpu = (int)v;
	r = int_param(call, opts, "backlog_size", "options.backlog_size",
		      SESSION_BACKLOG_MIN, INT64_MAX, &v);
	if (r < 0)
		return r;
	if (r)
		p->backlog_size = (size_t)v;
	r = int_param(call, opts, "ring_size", "options.ring_size", 1, 1 << 30,
		      &v);
	if (r < 0)
		return r;
	if (r)
		p->ring_size = (size_t)v;
	return 0;
}

/* Decode and verify the chunk; on failure the error reply is sent. */
static int submit_chunk(struct vl_call *call, json_object *params, void **chunk,
			size_t *len)
{
	json_object *o = param(params, "chunk");
	size_t n = (size_t)json_object_get_string_len(o);
	const size_t scratch_size =
		KP_VERIFY_SCRATCH(KP_MAX_FUNCS, KP_MAX_PROBES,
				  KP_MAX_GLOBALS);
	_cleanup_free_ void *buf = malloc(n / 4 * 3 + 1);
	_cleanup_free_ void *scratch = malloc(scratch_size);
	struct kp_verify_error err = { .func = -1, .pc = -1 };
	json_object *p;
	long dlen;

	if (!buf || !scratch)
		return -ENOMEM;
	dlen = kp_base64_decode(json_object_get_string(o), n, buf);
	if (dlen < 0) {
		error_invalid_argument(call, "chunk", "not base64");
		return -EINVAL;
	}
	if (kp_verify_chunk(buf, (kp_size_t)dlen, scratch, scratch_size,
			    &err) == 0) {
		*chunk = TAKE_PTR(buf);
		*len = (size_t)dlen;
		return 0;
	}
	p = json_object_new_object();
	json_object_object_add(p, "function", json_object_new_int(err.func));
	json_object_object_add(p, "pc", json_object_new_int(err.pc));
	json_object_object_add(p, "reason", json_object_new_string(err.reason));
	vl_error(call, "io.ktap.InvalidBytecode", p);
	return -EINVAL;
}

/*
 * The engine's start failures. By engine.h's convention the message names
 * a missing event in single quotes ("event 'sched:nope' not found"); a
 * target process that does not exist is ESRCH.
 */
static int submit_engine_error(struct vl_call *call, int r, const char *msg)
{
	if (r == -ENOENT) {
		const char *a = strchr(msg, '\'');
		const char *b = a ? strchr(a + 1, '\'') : NULL;
		json_object *event = a && b ?
			json_object_new_string_len(a + 1, (int)(b - a - 1)) :
			json_object_new_string("");
		json_object *p = json_object_new_object();

		json_object_object_add(p, "event", event);
		json_object_object_add(p, "reason",
				       json_object_new_string(msg));
		return vl_error(call, "io.ktap.EventNotFound", p);
	}
	if (r == -ESRCH)
		return error_invalid_argument(call, "options.target_pid", msg);
	return error_str(call, "io.ktap.StartFailed", "reason", msg);
}

static int method_submit(struct vl_call *call, json_object *params,
			 void *userdata)
{
	struct daemon_state *d = userdata;
	const struct vl_peer *peer = vl_call_peer(call);
	json_object *name = param(params, "name");
	json_object *args = param(params, "args");
	json_object *keep = param(params, "keep");
	struct session_params p = { .cpu = -1 };
	_cleanup_free_ const char **argv = NULL;
	_cleanup_free_ void *chunk = NULL;
	static const char *const default_argv[] = { "-" };
	struct session_error err;
	struct session *s;
	size_t i;
	int r;

	if (!peer_may_submit(peer))
		return error_permission(call, "only root and members of group '"
					      KTAP_GROUP "' may submit");
	if (d->stopping)
		return error_shutting_down(call);
	if (name && !name_valid(json_object_get_string(name)))
		return error_invalid_argument(
			call, "name",
			"1 to 64 characters from [A-Za-z0-9_.:@-], not all digits");
	r = submit_options(call, param(params, "options"), &p);
	if (r < 0)
		return 0;
	r = submit_chunk(call, params, &chunk, &p.chunk_len);
	if (r == -EINVAL)
		return 0;
	if (r < 0)
		return r;

	if (args && json_object_array_length(args) > 0) {
		p.argc = (int)json_object_array_length(args);
		argv = calloc(p.argc, sizeof(*argv));
		if (!argv)
			return -ENOMEM;
		for (i = 0; i < (size_t)p.argc; i++)
			argv[i] = json_object_get_string(
				json_object_array_get_idx(args, i));
		p.argv = argv;
	} else {
		p.argc = 1;
		p.argv = default_argv;
	}
	p.chunk = chunk;
	p.name = name ? json_object_get_string(name) : NULL;
	p.keep = keep && json_object_get_boolean(keep);
	p.conn = vl_call_conn(call);
	p.owner = peer->uid;

	r = session_start(&p, &s, &err);
	switch (err.fault) {
	case SESSION_FAULT_NONE:
		break;
	case SESSION_FAULT_QUOTA:
		return error_quota(call, err.quota, err.limit);
	case SESSION_FAULT_NAME_IN_USE:
		return error_str(call, "io.ktap.NameInUse", "name", p.name);
	case SESSION_FAULT_ENGINE:
		log_info("Submit by uid %u refused by the engine: %s",
			 (unsigned)peer->uid, err.message);
		return submit_engine_error(call, r, err.message);
	}
	if (r < 0)
		return r;

	if (!vl_call_more(call))
		return vl_reply(call, wire_wrap("session", wire_session(s)));
	return attach_start(s, call, 0, true);
}

/* ---- Attach ---- */

static int method_attach(struct vl_call *call, json_object *params,
			 void *userdata)
{
	struct daemon_state *d = userdata;
	json_object *follow = param(params, "follow");
	struct session *s;
	int64_t cursor;
	int r;

	if (!vl_call_more(call))
		return vl_error(call, "org.varlink.service.ExpectedMore", NULL);
	s = session_for_call(call, params);
	if (!s)
		return 0;
	if (d->stopping)
		return error_shutting_down(call);
	cursor = (int64_t)s->backlog.first_seq;
	r = int_param(call, params, "cursor", "cursor", 0,
		      (int64_t)s->backlog.next_seq, &cursor);
	if (r < 0)
		return 0;
	return attach_start(s, call, (uint64_t)cursor,
			    !follow || json_object_get_boolean(follow));
}

/* ---- List, Dump ---- */

static int method_list(struct vl_call *call, json_object *params,
		       void *userdata)
{
	const struct vl_peer *peer = vl_call_peer(call);
	json_object *list = json_object_new_array();
	struct session *s;

	list_for_each_entry(s, sessions_list(), link)
		if (peer_may_access(peer, s->owner))
			json_object_array_add(list, wire_session(s));
	return vl_reply(call, wire_wrap("sessions", list));
}

static int method_dump(struct vl_call *call, json_object *params,
		       void *userdata)
{
	struct session *s = session_for_call(call, params);
	_cleanup_free_ char *json = NULL;
	json_object *globals;
	size_t len;
	int r;

	if (!s)
		return 0;
	r = s->engine->dump_json(s->es, &json, &len);
	if (r < 0)
		return log_error_errno(r, "Session %" PRIu64
				       ": dump failed: %m", s->id);
	globals = json_tokener_parse(json);
	if (!json_object_is_type(globals, json_type_object)) {
		json_object_put(globals);
		return log_error_errno(EBADMSG, "Session %" PRIu64
				       ": the engine's dump is not an object",
				       s->id);
	}
	return vl_reply(call, wire_wrap("globals", globals));
}

/* ---- Stop ---- */

static int method_stop(struct vl_call *call, json_object *params,
		       void *userdata)
{
	struct session *s = session_for_call(call, params);
	const struct backlog *b;
	json_object *p, *records, *missed;
	int64_t cursor;
	uint64_t seq, offset;
	bool stopping_now, known;
	int r;

	if (!s)
		return 0;
	b = &s->backlog;
	if (int_param(call, params, "cursor", "cursor", 0, INT64_MAX,
		      &cursor) < 0)
		return 0;

	session_ref(s);
	stopping_now = s->state == SESSION_RUNNING;
	session_stop(s);
	if (!param(params, "cursor"))
		cursor = stopping_now ? (int64_t)s->end_seq :
					(int64_t)b->first_seq;
	else if ((uint64_t)cursor > b->next_seq)
		cursor = (int64_t)b->next_seq;

	p = json_object_new_object();
	records = json_object_new_array();
	seq = (uint64_t)cursor;
	if (seq < b->first_seq) {
		known = backlog_offset(b, seq, &offset);
		missed = wire_missed(b, seq, known ? &offset : NULL);
		json_object_object_add(p, "missed", missed);
		seq = b->first_seq;
	}
	for (; seq < b->next_seq; seq++)
		json_object_array_add(records,
				      wire_record(seq, backlog_get(b, seq)));
	json_object_object_add(p, "session", wire_session(s));
	json_object_object_add(p, "records", records);
	json_object_object_add(p, "end", wire_end(s));
	r = vl_reply(call, p);
	log_info("Session %" PRIu64 " stopped by uid %u", s->id,
		 (unsigned)vl_call_peer(call)->uid);
	session_remove(s);
	session_unref(s);
	return r < 0 ? 0 : r;
}

/* ---- Status ---- */

static uint64_t process_cpu_nsec(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) < 0)
		return 0;
	return ((uint64_t)ru.ru_utime.tv_sec + (uint64_t)ru.ru_stime.tv_sec) *
		       1000000000 +
	       ((uint64_t)ru.ru_utime.tv_usec + (uint64_t)ru.ru_stime.tv_usec) *
		       1000;
}

static json_object *daemon_json(const struct daemon_state *d)
{
	const struct engine_ops *engine = sessions_engine();
	json_object *o = json_object_new_object();
	uint64_t events = 0, lost = 0, mem_used = 0;
	unsigned running = 0;
	struct session *s;

	list_for_each_entry(s, sessions_list(), link) {
		struct engine_stats st = { 0 };

		engine->stats(s->es, &st);
		events += st.events;
		lost += st.lost;
		mem_used += st.mem_used;
		running += s->state == SESSION_RUNNING;
	}
#define ADD_INT(k, v)                                                          \
	json_object_object_add(o, k, json_object_new_int64((int64_t)(v)))
#define ADD_STR(k, v) json_object_object_add(o, k, json_object_new_string(v))
	ADD_STR("version", KTAP_VERSION);
	ADD_STR("engine", engine->name);
	ADD_STR("engine_reason", d->engine_reason);
	ADD_STR("state", d->stopping ? "stopping" : "running");
	ADD_INT("started_usec", d->started_usec);
	ADD_INT("sessions", sessions_count());
	ADD_INT("sessions_running", running);
	ADD_INT("clients", vl_server_connections(d->server));
	ADD_INT("events", events);
	ADD_INT("lost", lost);
	ADD_INT("mem_used", mem_used);
	ADD_INT("mem_quota", sessions_memory());
	ADD_INT("mem_limit", sessions_limits()->mem_limit);
	ADD_INT("cpu_nsec", process_cpu_nsec());
#undef ADD_INT
#undef ADD_STR
	return o;
}

static int method_status(struct vl_call *call, json_object *params,
			 void *userdata)
{
	struct session *s = NULL;
	json_object *p;

	if (param(params, "session")) {
		s = session_for_call(call, params);
		if (!s)
			return 0;
	}
	p = wire_wrap("daemon", daemon_json(userdata));
	if (s) {
		json_object_object_add(p, "session", wire_session(s));
		json_object_object_add(p, "stats", wire_session_stats(s));
	}
	return vl_reply(call, p);
}

/* ---- the interface ---- */

static const struct vl_param option_fields[] = {
	{ "arena_size", json_type_int },
	{ "insn_budget", json_type_int },
	{ "target_pid", json_type_int },
	{ "cpu", json_type_int },
	{ "backlog_size", json_type_int },
	{ "ring_size", json_type_int },
	{ NULL },
};

static const struct vl_param submit_params[] = {
	{ "chunk", json_type_string, true },
	{ "name", json_type_string },
	{ "args", json_type_array, .items = json_type_string },
	{ "keep", json_type_boolean },
	{ "options", json_type_object, .fields = option_fields },
	{ NULL },
};

static const struct vl_param attach_params[] = {
	{ "session", json_type_string, true },
	{ "cursor", json_type_int },
	{ "follow", json_type_boolean },
	{ NULL },
};

static const struct vl_param session_params[] = {
	{ "session", json_type_string, true },
	{ NULL },
};

static const struct vl_param stop_params[] = {
	{ "session", json_type_string, true },
	{ "cursor", json_type_int },
	{ NULL },
};

static const struct vl_param status_params[] = {
	{ "session", json_type_string },
	{ NULL },
};

static const struct vl_method io_ktap_methods[] = {
	{ "Submit", method_submit, submit_params },
	{ "Attach", method_attach, attach_params },
	{ "List", method_list, (const struct vl_param[]){ { NULL } } },
	{ "Dump", method_dump, session_params },
	{ "Stop", method_stop, stop_params },
	{ "Status", method_status, status_params },
	{ NULL },
};

const struct vl_interface io_ktap_interface = {
	.name = "io.ktap",
	.description = io_ktap_description,
	.methods = io_ktap_methods,
};
