// SPDX-License-Identifier: GPL-2.0
/*
 * Kept sessions across ktapd restarts. A state file per running kept
 * session, DIR/session-ID.json:
 *
 *   {"version": 1, "id": 17, "name": "opensnoop", "owner_uid": 0,
 *    "engine": "user", "args": ["opensnoop.kp"],
 *    "options": {"arena_size": .., "backlog_size": .., "ring_size": ..,
 *                "insn_budget": .., "cpu": -1},
 *    "started_usec": .., "saved_usec": .., "restores": 0,
 *    "next_seq": .., "next_offset": .., "chunk": "<base64>",
 *    "globals": "<base64 of kp_vm_snapshot()>"}
 *
 * written to a temporary file, synced and renamed over the old one, so a
 * crash leaves the old or the new state, never half of one. Sessions with
 * a target process do not persist (the process does not outlive a
 * reboot, and its pid may be reused).
 *
 * A restored session runs main again without output, gets its globals
 * back, and its output goes on from the saved record number with one
 * line saying which stretch of time was not traced. A state file that
 * cannot be read or started again is renamed *.failed and logged.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "kp_base64.h"
#include "log.h"
#include "macro.h"
#include "persist.h"
#include "session.h"

#define PERSIST_VERSION 1
/* A state file holds at most an arena's snapshot and a chunk, in base64. */
#define PERSIST_FILE_MAX (1ull << 30)

static struct {
	char *dir;
	uv_timer_t timer;
	bool timer_on;
} persist;

static uint64_t now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void state_path(char *buf, size_t size, uint64_t id,
		       const char *suffix)
{
	snprintf(buf, size, "%s/session-%" PRIu64 ".json%s", persist.dir, id,
		 suffix);
}

bool persist_keeps(const struct session *s)
{
	return persist.dir && s->keep && s->state == SESSION_RUNNING &&
	       s->es && s->target_pid <= 0 && s->engine->snapshot;
}

static void checkpoint_cb(uv_timer_t *t)
{
	struct session *s;

	list_for_each_entry(s, sessions_list(), link)
		if (persist_keeps(s))
			persist_save(s);
}

int persist_init(uv_loop_t *loop, const char *dir, unsigned checkpoint_sec)
{
	if (!dir)
		return 0;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return log_error_errno(errno, "Failed to create %s: %m", dir);
	persist.dir = strdup(dir);
	if (!persist.dir)
		return -ENOMEM;
	if (checkpoint_sec) {
		uv_timer_init(loop, &persist.timer);
		persist.timer_on = true;
		uv_timer_start(&persist.timer, checkpoint_cb,
			       (uint64_t)checkpoint_sec * 1000,
			       (uint64_t)checkpoint_sec * 1000);
	}
	return 0;
}

void persist_shutdown(void)
{
	if (persist.timer_on)
		uv_close((uv_handle_t *)&persist.timer, NULL);
	persist.timer_on = false;
}

/* ---- saving ---- */

static json_object *base64_string(const void *p, size_t len)
{
	_cleanup_free_ char *b = malloc(kp_base64_encoded_len(len) + 1);
	json_object *o;
	size_t n;

	if (!b)
		return NULL;
	n = kp_base64_encode(p, len, b);
	o = json_object_new_string_len(b, (int)n);
	return o;
}

static void add_int(json_object *o, const char *key, int64_t v)
{
	json_object_object_add(o, key, json_object_new_int64(v));
}

static json_object *state_json(const struct session *s, const void *snap,
			       size_t snap_len)
{
	json_object *o = json_object_new_object();
	json_object *args = json_object_new_array();
	json_object *opts = json_object_new_object();
	int i;

	add_int(o, "version", PERSIST_VERSION);
	add_int(o, "id", (int64_t)s->id);
	if (s->name)
		json_object_object_add(o, "name",
				       json_object_new_string(s->name));
	add_int(o, "owner_uid", s->owner);
	json_object_object_add(o, "engine",
			       json_object_new_string(s->engine->name));
	for (i = 0; i < s->argc; i++)
		json_object_array_add(args, json_object_new_string(s->argv[i]));
	json_object_object_add(o, "args", args);
	add_int(opts, "arena_size", (int64_t)s->arena_size);
	add_int(opts, "backlog_size", (int64_t)s->backlog.limit);
	add_int(opts, "ring_size", (int64_t)s->ring_size);
	add_int(opts, "insn_budget", s->insn_budget);
	add_int(opts, "cpu", s->cpu);
	json_object_object_add(o, "options", opts);
	add_int(o, "started_usec", (int64_t)s->started_usec);
	add_int(o, "saved_usec", (int64_t)now_usec());
	add_int(o, "restores", s->restores);
	add_int(o, "next_seq", (int64_t)s->backlog.next_seq);
	add_int(o, "next_offset", (int64_t)s->backlog.next_offset);
	json_object_object_add(o, "chunk", base64_string(s->chunk, s->chunk_len));
	json_object_object_add(o, "globals", base64_string(snap, snap_len));
	if (!json_object_object_get(o, "chunk") ||
	    !json_object_object_get(o, "globals")) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static int write_all(int fd, const char *p, size_t len)
{
	ssize_t n;

	while (len) {
		n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Write path atomically: a temporary file, synced, renamed, dir synced. */
static int replace_file(const char *path, const char *text, size_t len)
{
	char tmp[PATH_MAX + 8];
	_cleanup_close_ int dfd = -1;
	int fd, r;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	r = write_all(fd, text, len);
	if (!r && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && !r)
		r = -errno;
	if (!r && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0) {
		unlink(tmp);
		return r;
	}
	dfd = open(persist.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0)
		(void)fsync(dfd);
	return 0;
}

int persist_save(struct session *s)
{
	_cleanup_free_ void *snap = NULL;
	char path[PATH_MAX];
	const char *text;
	size_t snap_len, len;
	json_object *o;
	int r;

	if (!persist_keeps(s))
		return -EINVAL;
	r = s->engine->snapshot(s->es, &snap, &snap_len);
	if (r < 0)
		return log_error_errno(r, "Session %" PRIu64
				       ": cannot take a snapshot: %s",
				       s->id, strerror(-r));
	o = state_json(s, snap, snap_len);
	if (!o)
		return log_error_errno(ENOMEM, "Session %" PRIu64
				       ": out of memory for its state",
				       s->id);
	text = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN,
						 &len);
	state_path(path, sizeof(path), s->id, "");
	r = text ? replace_file(path, text, len) : -ENOMEM;
	json_object_put(o);
	if (r < 0)
		return log_error_errno(r, "Failed to write %s: %m", path);
	s->saved = true;
	log_debug("Session %" PRIu64 " saved: %zu bytes of globals", s->id,
		  snap_len);
	return 0;
}

void persist_forget(struct session *s)
{
	char path[PATH_MAX];

	if (!s->saved)
		return;
	s->saved = false;
	state_path(path, sizeof(path), s->id, "");
	if (unlink(path) < 0 && errno != ENOENT)
		log_warning_errno(errno, "Failed to remove %s: %m", path);
}

/* ---- restoring ---- */

/* A member of o of type t, or NULL. */
static json_object *member(json_object *o, const char *key, json_type t)
{
	json_object *m;

	if (!json_object_object_get_ex(o, key, &m) || !json_object_is_type(m, t))
		return NULL;
	return m;
}

static bool int_member(json_object *o, const char *key, int64_t min,
		       int64_t max, int64_t *v)
{
	json_object *m = member(o, key, json_type_int);

	if (!m)
		return false;
	*v = json_object_get_int64(m);
	return *v >= min && *v <= max;
}

/* Decoded base64 member, malloc'ed. */
static void *base64_member(json_object *o, const char *key, size_t *len)
{
	json_object *m = member(o, key, json_type_string);
	size_t n;
	void *buf;
	long d;

	if (!m)
		return NULL;
	n = (size_t)json_object_get_string_len(m);
	buf = malloc(n / 4 * 3 + 1);
	if (!buf)
		return NULL;
	d = kp_base64_decode(json_object_get_string(m), n, buf);
	if (d < 0) {
		free(buf);
		return NULL;
	}
	*len = (size_t)d;
	return buf;
}

static json_object *read_state(const char *path, char *why, size_t size)
{
	_cleanup_free_ char *text = NULL;
	json_object *o;
	size_t len = 0;
	FILE *f;
	struct stat st;

	f = fopen(path, "re");
	if (!f || fstat(fileno(f), &st) < 0 ||
	    (uint64_t)st.st_size > PERSIST_FILE_MAX) {
		snprintf(why, size, "%s", f ? "too large" : strerror(errno));
		if (f)
			fclose(f);
		return NULL;
	}
	text = malloc((size_t)st.st_size + 1);
	if (text)
		len = fread(text, 1, (size_t)st.st_size, f);
	fclose(f);
	if (!text) {
		snprintf(why, size, "out of memory");
		return NULL;
	}
	text[len] = '\0';
	o = json_tokener_parse(text);
	if (!o || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		snprintf(why, size, "not a JSON object");
		return NULL;
	}
	return o;
}

static void time_text(uint64_t usec, char *buf, size_t size)
{
	time_t t = (time_t)(usec / 1000000);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm);
}

/* Start the session a state file describes; false with why if not. */
static bool restore_one(json_object *o, uint64_t file_id, char *why,
			size_t size)
{
	struct session_params p = { .keep = true };
	_cleanup_free_ void *chunk = NULL, *snap = NULL;
	_cleanup_free_ const char **argv = NULL;
	json_object *args, *opts, *name;
	int64_t v[13];
	char from[32], to[32], note[160];
	struct session_error err;
	struct session *s;
	size_t i;
	int r;

	opts = member(o, "options", json_type_object);
	args = member(o, "args", json_type_array);
	if (!int_member(o, "version", PERSIST_VERSION, PERSIST_VERSION, &v[0]) ||
	    !int_member(o, "id", 1, INT64_MAX, &v[1]) ||
	    (uint64_t)v[1] != file_id ||
	    !int_member(o, "owner_uid", 0, UINT32_MAX - 1, &v[2]) ||
	    !int_member(o, "saved_usec", 0, INT64_MAX, &v[3]) ||
	    !int_member(o, "started_usec", 0, INT64_MAX, &v[12]) ||
	    !int_member(o, "restores", 0, UINT32_MAX, &v[4]) ||
	    !int_member(o, "next_seq", 0, INT64_MAX, &v[5]) ||
	    !int_member(o, "next_offset", 0, INT64_MAX, &v[6]) || !opts ||
	    !int_member(opts, "arena_size", 0, INT64_MAX, &v[7]) ||
	    !int_member(opts, "backlog_size", 0, INT64_MAX, &v[8]) ||
	    !int_member(opts, "ring_size", 0, INT64_MAX, &v[9]) ||
	    !int_member(opts, "insn_budget", 0, UINT32_MAX, &v[10]) ||
	    !int_member(opts, "cpu", -1, INT32_MAX, &v[11]) || !args ||
	    json_object_array_length(args) < 1) {
		snprintf(why, size, "missing or invalid fields");
		return false;
	}
	name = member(o, "name", json_type_string);
	chunk = base64_member(o, "chunk", &p.chunk_len);
	snap = base64_member(o, "globals", &p.restore_len);
	p.argc = (int)json_object_array_length(args);
	argv = calloc((size_t)p.argc, sizeof(*argv));
	if (!chunk || !snap || !argv) {
		snprintf(why, size, "bad chunk or globals");
		return false;
	}
	for (i = 0; i < (size_t)p.argc; i++) {
		json_object *a = json_object_array_get_idx(args, i);

		if (!json_object_is_type(a, json_type_string)) {
			snprintf(why, size, "bad args");
			return false;
		}
		argv[i] = json_object_get_string(a);
	}
	p.argv = argv;
	p.chunk = chunk;
	p.restore = snap;
	p.name = name ? json_object_get_string(name) : NULL;
	p.id = (uint64_t)v[1];
	p.owner = (uid_t)v[2];
	p.restores = (unsigned)v[4] + 1;
	p.next_seq = (uint64_t)v[5];
	p.next_offset = (uint64_t)v[6];
	p.arena_size = (size_t)v[7];
	p.backlog_size = (size_t)v[8];
	p.ring_size = (size_t)v[9];
	p.insn_budget = (uint32_t)v[10];
	p.cpu = (int)v[11];
	p.started_usec = (uint64_t)v[12];

	r = session_start(&p, &s, &err);
	if (r < 0) {
		snprintf(why, size, "%s",
			 err.fault == SESSION_FAULT_ENGINE ? err.message :
			 err.fault == SESSION_FAULT_QUOTA  ? err.quota :
							     strerror(-r));
		return false;
	}
	time_text((uint64_t)v[3], from, sizeof(from));
	time_text(s->restored_usec, to, sizeof(to));
	snprintf(note, sizeof(note),
		 "ktap: ktapd restarted: events between %s and %s UTC were "
		 "not traced\n",
		 from, to);
	session_write(s, note, strlen(note));
	log_info("Session %" PRIu64 "%s%s restored (saved %s UTC)", s->id,
		 s->name ? " " : "", s->name ? s->name : "", from);
	/* Its state now: the restore count, the note's record. */
	if (persist_keeps(s))
		persist_save(s);
	return true;
}

static int by_id(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

void persist_restore_all(void)
{
	_cleanup_free_ uint64_t *ids = NULL;
	char path[PATH_MAX], failed[PATH_MAX], why[300];
	size_t n = 0, cap = 0, i;
	struct dirent *d;
	unsigned long long id;
	json_object *o;
	uint64_t *ni;
	DIR *dir;
	int end;

	if (!persist.dir || !(dir = opendir(persist.dir)))
		return;
	while ((d = readdir(dir))) {
		end = 0;
		if (sscanf(d->d_name, "session-%llu.json%n", &id, &end) != 1 ||
		    d->d_name[end] || !id)
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			ni = realloc(ids, cap * sizeof(*ids));
			if (!ni)
				break;
			ids = ni;
		}
		ids[n++] = id;
	}
	closedir(dir);
	if (n)
		qsort(ids, n, sizeof(*ids), by_id);
	for (i = 0; i < n; i++) {
		state_path(path, sizeof(path), ids[i], "");
		o = read_state(path, why, sizeof(why));
		if (o && restore_one(o, ids[i], why, sizeof(why))) {
			json_object_put(o);
			continue;
		}
		json_object_put(o);
		state_path(failed, sizeof(failed), ids[i], ".failed");
		log_error("Session %" PRIu64 " could not be restored from %s: "
			  "%s; the file is now %s",
			  ids[i], path, why, failed);
		if (rename(path, failed) < 0)
			log_warning_errno(errno, "Failed to rename %s: %m",
					  path);
	}
}
