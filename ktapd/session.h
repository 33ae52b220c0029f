/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Sessions: the scripts ktapd runs. A session belongs to the daemon, not to
 * a connection: it has an owner, an engine session, an output backlog and
 * readers (clients receiving its output). Ended sessions stay listed until
 * stopped, until the connection they are tied to closes, or until they have
 * been ended for the linger time.
 */
#ifndef KTAPD_SESSION_H
#define KTAPD_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "backlog.h"
#include "engine.h"
#include "list.h"

struct vl_conn;

/* Limits and defaults, from the command line (ktapd(8)). */
struct session_limits {
	size_t arena_size, max_arena; /* per session */
	size_t mem_limit; /* sum of the arenas of live sessions */
	size_t backlog_size, max_backlog;
	unsigned max_sessions;
	uint64_t linger_usec; /* how long an ended session stays listed */
};

/* Output is cut into records of at most this many bytes. */
#define SESSION_RECORD_MAX (64u << 10)
/* The smallest backlog a session may ask for. */
#define SESSION_BACKLOG_MIN 1024u
/* The smallest arena a session may ask for. */
#define SESSION_ARENA_MIN (64u << 10)

enum session_state {
	SESSION_RUNNING,
	SESSION_ENDED,
};

/*
 * A reader of a session's output (an attached client). wake runs when
 * output arrives and when the session ends; it may detach its own reader,
 * no other.
 */
struct session_reader {
	struct list_head link;
	void (*wake)(struct session_reader *r);
};

struct session {
	unsigned refs;
	struct list_head link; /* in the session list while listed */
	bool listed;
	uint64_t id;
	char *name; /* NULL: none */
	uid_t owner;
	bool keep;
	struct vl_conn *bound; /* !keep: stops when this connection closes */
	const struct engine_ops *engine;
	struct engine_session *es; /* NULL once removed */
	size_t arena_size;
	char *script;
	enum session_state state;
	int exit_status;
	char *error; /* the runtime error that ended it, or NULL */
	uint64_t started_usec, ended_usec;
	uint64_t end_seq; /* the first record Stop produced */
	struct backlog backlog;
	struct list_head readers;
	unsigned nreaders;

	/* What starting it again needs (persist.c: ktapd restarts). */
	void *chunk;
	size_t chunk_len;
	char **argv;
	int argc;
	size_t ring_size;
	uint32_t insn_budget;
	pid_t target_pid;
	int cpu;
	unsigned restores; /* times it was restored */
	uint64_t restored_usec;
	bool saved; /* a state file exists for it */
};

/* What Submit asks for, checked against the limits by session_start(). */
struct session_params {
	const void *chunk;
	size_t chunk_len;
	const char *name;
	bool keep;
	struct vl_conn *conn; /* the submitter's connection */
	uid_t owner;
	int argc;
	const char *const *argv;
	size_t arena_size, backlog_size, ring_size; /* 0: default */
	uint32_t insn_budget;
	pid_t target_pid;
	int cpu;
	/* Restoring (persist.c): its id, its globals, where output goes on. */
	uint64_t id; /* 0: the next free one */
	const void *restore;
	size_t restore_len;
	uint64_t next_seq, next_offset;
	unsigned restores;
	uint64_t started_usec; /* 0: now */
};

/* Why session_start() failed; what tells the client. */
enum session_fault {
	SESSION_FAULT_NONE,
	SESSION_FAULT_QUOTA, /* quota: which limit, limit: its value */
	SESSION_FAULT_NAME_IN_USE,
	SESSION_FAULT_ENGINE, /* message: the engine's; errno in the return */
};

struct session_error {
	enum session_fault fault;
	const char *quota;
	uint64_t limit;
	char message[256];
};

int sessions_init(uv_loop_t *loop, const struct session_limits *limits,
		  const struct engine_ops *engine);
const struct session_limits *sessions_limits(void);
const struct engine_ops *sessions_engine(void);
/* The listed sessions, by id. */
struct list_head *sessions_list(void);
unsigned sessions_count(void);
/* Sum of the arenas of sessions holding an engine session. */
size_t sessions_memory(void);

/* The engine's start errors reach the caller as the negative errno. */
int session_start(const struct session_params *p, struct session **ret,
		  struct session_error *err);
/* By decimal id or by name. */
struct session *session_find(const char *id_or_name);
/* Stop a running session (trace_end runs); nothing for an ended one. */
void session_stop(struct session *s);
/* Stop if running, unlist, release the engine session and the listing ref. */
void session_remove(struct session *s);
struct session *session_ref(struct session *s);
void session_unref(struct session *s);

/* Output of ktapd's own into the session's stream (one record each). */
void session_write(struct session *s, const char *buf, size_t len);

void session_add_reader(struct session *s, struct session_reader *r);
void session_del_reader(struct session *s, struct session_reader *r);

/* The connection closed: remove the sessions tied to it. */
void sessions_conn_closed(struct vl_conn *conn);
/*
 * Daemon shutdown: sessions persist.c keeps are saved and dropped without
 * ending (no trace_end: they go on after the restart); every other one is
 * stopped and removed.
 */
void sessions_shutdown(void);

#endif /* KTAPD_SESSION_H */
