// SPDX-License-Identifier: GPL-2.0
/* Sessions: start, output into the backlog, end, stop, reap. */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "macro.h"
#include "persist.h"
#include "session.h"

static struct {
	uv_loop_t *loop;
	struct session_limits limits;
	const struct engine_ops *engine;
	struct list_head list;
	unsigned count;
	uint64_t next_id;
	uv_timer_t reaper;
} sessions = {
	.list = LIST_HEAD_INIT(sessions.list),
	.next_id = 1,
};

static uint64_t now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

struct session *session_ref(struct session *s)
{
	s->refs++;
	return s;
}

void session_unref(struct session *s)
{
	if (!s || --s->refs)
		return;
	backlog_done(&s->backlog);
	free(s->name);
	free(s->script);
	free(s->error);
	free(s->chunk);
	while (s->argv && s->argc--)
		free(s->argv[s->argc]);
	free(s->argv);
	free(s);
}

void session_add_reader(struct session *s, struct session_reader *r)
{
	list_add_tail(&r->link, &s->readers);
	s->nreaders++;
}

void session_del_reader(struct session *s, struct session_reader *r)
{
	list_del(&r->link);
	s->nreaders--;
}

static void session_wake_readers(struct session *s)
{
	struct session_reader *r, *n;

	session_ref(s);
	list_for_each_entry_safe(r, n, &s->readers, link)
		r->wake(r);
	session_unref(s);
}

/* ---- engine callbacks ---- */

/* Cut records at SESSION_RECORD_MAX, not inside a UTF-8 character. */
static size_t record_cut(const char *buf, size_t len)
{
	size_t cut = SESSION_RECORD_MAX, back;

	if (len <= cut)
		return len;
	for (back = 0; back < 3; back++)
		if (((unsigned char)buf[cut - back] & 0xc0) != 0x80)
			return cut - back;
	return cut;
}

static void session_output(void *owner, const char *buf, size_t len)
{
	struct session *s = owner;

	while (len) {
		size_t n = record_cut(buf, len);

		if (backlog_append(&s->backlog, buf, n) < 0) {
			log_error("Session %" PRIu64
				  ": out of memory, %zu bytes of output lost",
				  s->id, len);
			return;
		}
		buf += n;
		len -= n;
	}
	session_wake_readers(s);
}

void session_write(struct session *s, const char *buf, size_t len)
{
	session_output(s, buf, len);
}

static void reaper_schedule(void);

static void session_mark_ended(struct session *s, int status, const char *error)
{
	if (s->state == SESSION_ENDED)
		return;
	s->state = SESSION_ENDED;
	s->exit_status = status;
	s->ended_usec = now_usec();
	/* Over: nothing to start again after a restart. */
	persist_forget(s);
	if (error && *error)
		s->error = strdup(error);
	log_info("Session %" PRIu64 "%s%s ended with status %d%s%s", s->id,
		 s->name ? " " : "", s->name ? s->name : "", status,
		 s->error ? ": " : "", s->error ? s->error : "");
	session_wake_readers(s);
	reaper_schedule();
}

static void session_ended(void *owner, int status, const char *error)
{
	session_mark_ended(owner, status, error);
}

static const struct engine_callbacks session_callbacks = {
	.output = session_output,
	.ended = session_ended,
};

/* ---- the table ---- */

int sessions_init(uv_loop_t *loop, const struct session_limits *limits,
		  const struct engine_ops *engine)
{
	sessions.loop = loop;
	sessions.limits = *limits;
	sessions.engine = engine;
	return uv_timer_init(loop, &sessions.reaper);
}

const struct session_limits *sessions_limits(void)
{
	return &sessions.limits;
}

const struct engine_ops *sessions_engine(void)
{
	return sessions.engine;
}

struct list_head *sessions_list(void)
{
	return &sessions.list;
}

unsigned sessions_count(void)
{
	return sessions.count;
}

size_t sessions_memory(void)
{
	struct session *s;
	size_t sum = 0;

	list_for_each_entry(s, &sessions.list, link)
		if (s->es)
			sum += s->arena_size;
	return sum;
}

struct session *session_find(const char *id_or_name)
{
	struct session *s;
	char *end;
	unsigned long long id;

	errno = 0;
	id = strtoull(id_or_name, &end, 10);
	if (*id_or_name >= '0' && *id_or_name <= '9' && !*end && !errno) {
		list_for_each_entry(s, &sessions.list, link)
			if (s->id == id)
				return s;
		return NULL;
	}
	list_for_each_entry(s, &sessions.list, link)
		if (s->name && !strcmp(s->name, id_or_name))
			return s;
	return NULL;
}

static int quota_fail(struct session_error *err, const char *quota,
		      uint64_t limit)
{
	err->fault = SESSION_FAULT_QUOTA;
	err->quota = quota;
	err->limit = limit;
	return -EDQUOT;
}

static int session_check_limits(const struct session_params *p,
				size_t arena_size, size_t backlog_size,
				struct session_error *err)
{
	const struct session_limits *l = &sessions.limits;

	if (arena_size > l->max_arena)
		return quota_fail(err, "arena_size", l->max_arena);
	if (backlog_size > l->max_backlog)
		return quota_fail(err, "backlog_size", l->max_backlog);
	if (sessions.count >= l->max_sessions)
		return quota_fail(err, "sessions", l->max_sessions);
	if (sessions_memory() + arena_size > l->mem_limit)
		return quota_fail(err, "memory", l->mem_limit);
	if (p->name && session_find(p->name)) {
		err->fault = SESSION_FAULT_NAME_IN_USE;
		return -EEXIST;
	}
	if (p->id) {
		char id[24];

		snprintf(id, sizeof(id), "%" PRIu64, p->id);
		if (session_find(id))
			return -EEXIST;
	}
	return 0;
}

int session_start(const struct session_params *p, struct session **ret,
		  struct session_error *err)
{
	const struct session_limits *l = &sessions.limits;
	size_t arena_size = p->arena_size ? p->arena_size : l->arena_size;
	size_t backlog_size = p->backlog_size ? p->backlog_size :
						l->backlog_size;
	struct engine_session_config cfg = {
		.chunk = p->chunk,
		.chunk_len = p->chunk_len,
		.argc = p->argc,
		.argv = p->argv,
		.arena_size = arena_size,
		.insn_budget = p->insn_budget,
		.target_pid = p->target_pid,
		.cpu = p->cpu,
		.loop = sessions.loop,
		.ring_size = p->ring_size,
		.restore = p->restore,
		.restore_len = p->restore_len,
	};
	struct session *s;
	int i, r;

	*err = (struct session_error){ .fault = SESSION_FAULT_NONE };
	r = session_check_limits(p, arena_size, backlog_size, err);
	if (r < 0)
		return r;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->refs = 1;
	list_init(&s->link);
	list_init(&s->readers);
	backlog_init(&s->backlog, backlog_size);
	/* Restored: record numbers and offsets go on from the saved ones. */
	s->backlog.first_seq = s->backlog.next_seq = p->next_seq;
	s->backlog.next_offset = p->next_offset;
	s->owner = p->owner;
	s->keep = p->keep;
	s->bound = p->keep ? NULL : p->conn;
	s->engine = sessions.engine;
	s->arena_size = arena_size;
	s->state = SESSION_RUNNING;
	s->started_usec = p->started_usec ? p->started_usec : now_usec();
	s->name = p->name ? strdup(p->name) : NULL;
	s->script = strdup(p->argc > 0 ? p->argv[0] : "-");
	s->ring_size = p->ring_size;
	s->insn_budget = p->insn_budget;
	s->target_pid = p->target_pid;
	s->cpu = p->cpu;
	s->restores = p->restores;
	s->chunk = malloc(p->chunk_len);
	s->argv = calloc((size_t)p->argc + 1, sizeof(*s->argv));
	if ((p->name && !s->name) || !s->script || !s->chunk || !s->argv) {
		session_unref(s);
		return -ENOMEM;
	}
	memcpy(s->chunk, p->chunk, p->chunk_len);
	s->chunk_len = p->chunk_len;
	for (i = 0; i < p->argc; i++, s->argc++) {
		s->argv[i] = strdup(p->argv[i]);
		if (!s->argv[i]) {
			session_unref(s);
			return -ENOMEM;
		}
	}
	if (p->restore)
		s->restored_usec = now_usec();

	s->id = p->id ? p->id : sessions.next_id++;
	if (s->id >= sessions.next_id)
		sessions.next_id = s->id + 1;

	/* Output and even the end may arrive before start returns. */
	r = s->engine->start(&cfg, &session_callbacks, s, &s->es, err->message,
			     sizeof(err->message));
	if (r < 0) {
		if (!p->id)
			sessions.next_id--; /* nothing else started meanwhile */
		err->fault = SESSION_FAULT_ENGINE;
		if (!err->message[0])
			snprintf(err->message, sizeof(err->message), "%s",
				 strerror(-r));
		session_unref(s);
		return r;
	}

	s->listed = true;
	list_add_tail(&s->link, &sessions.list);
	sessions.count++;
	log_info("Session %" PRIu64 "%s%s started by uid %u: %s", s->id,
		 s->name ? " " : "", s->name ? s->name : "", (unsigned)s->owner,
		 s->script);
	if (s->state == SESSION_ENDED)
		reaper_schedule();
	*ret = s;
	return 0;
}

void session_stop(struct session *s)
{
	int status;

	if (s->state != SESSION_RUNNING)
		return;
	s->end_seq = s->backlog.next_seq;
	status = s->engine->stop(s->es);
	session_mark_ended(s, status, NULL);
}

void session_remove(struct session *s)
{
	if (!s->listed)
		return;
	session_ref(s);
	session_stop(s);
	persist_forget(s);
	s->listed = false;
	list_del(&s->link);
	sessions.count--;
	s->engine->free(s->es);
	s->es = NULL;
	log_debug("Session %" PRIu64 " removed", s->id);
	session_unref(s); /* the list's */
	session_unref(s);
}

void sessions_conn_closed(struct vl_conn *conn)
{
	struct session *s, *n;

	list_for_each_entry_safe(s, n, &sessions.list, link)
		if (s->bound == conn) {
			log_info("Session %" PRIu64 ": its client went away",
				 s->id);
			session_remove(s);
		}
}

/* Unlist and free a session that goes on after the restart. */
static void session_drop(struct session *s)
{
	s->listed = false;
	list_del(&s->link);
	sessions.count--;
	/* Freed while running: disarmed, nothing more runs or prints. */
	s->engine->free(s->es);
	s->es = NULL;
	log_info("Session %" PRIu64 " saved for the next start", s->id);
	session_unref(s);
}

void sessions_shutdown(void)
{
	struct session *s;

	while (!list_empty(&sessions.list)) {
		s = list_entry(sessions.list.next, struct session, link);
		if (persist_keeps(s) && persist_save(s) == 0)
			session_drop(s);
		else
			session_remove(s);
	}
	persist_shutdown();
	uv_close((uv_handle_t *)&sessions.reaper, NULL);
}

/* ---- reaping ---- */

static void reaper_cb(uv_timer_t *t)
{
	uint64_t now = now_usec();
	struct session *s, *n;

	list_for_each_entry_safe(s, n, &sessions.list, link)
		if (s->state == SESSION_ENDED &&
		    s->ended_usec + sessions.limits.linger_usec <= now) {
			log_info("Session %" PRIu64 " reaped, ended %" PRIu64
				 " s ago",
				 s->id, (now - s->ended_usec) / 1000000);
			session_remove(s);
		}
	reaper_schedule();
}

/* Arm the reaper for the ended session that expires first. */
static void reaper_schedule(void)
{
	uint64_t now = now_usec(), due = UINT64_MAX;
	struct session *s;

	if (uv_is_closing((uv_handle_t *)&sessions.reaper))
		return;
	list_for_each_entry(s, &sessions.list, link)
		if (s->state == SESSION_ENDED &&
		    s->ended_usec + sessions.limits.linger_usec < due)
			due = s->ended_usec + sessions.limits.linger_usec;
	if (due == UINT64_MAX) {
		uv_timer_stop(&sessions.reaper);
		return;
	}
	/* Milliseconds, rounded up so the session is due when it fires. */
	uv_timer_start(&sessions.reaper, reaper_cb,
		       due > now ? (due - now + 999) / 1000 : 0, 0);
}
