// SPDX-License-Identifier: GPL-2.0
/*
 * The user engine's view of tasks: tid -> pid, uid, comm, for execname and
 * uid, which perf samples do not carry. Seeded from /proc when a session
 * starts, then kept current by the PERF_RECORD_COMM/FORK/EXIT records of the
 * session's rings, handled in time order with the samples, so a process
 * that runs for a millisecond still has its name. An exited task stays a
 * little while: records of its last moments (its final sched_switch...)
 * may come after its EXIT record.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine_user.h"
#include "macro.h"

#define EU_TASKS_MIN_BUCKETS 256u
/* How long an exited task is kept, in event time (ns). */
#define EU_TASK_EXIT_GRACE 2000000000ull

static uint32_t task_hash(const struct eu_tasks *t, int32_t tid)
{
	return ((uint32_t)tid * 2654435761u) & t->mask;
}

int eu_tasks_init(struct eu_tasks *t)
{
	*t = (struct eu_tasks){ 0 };
	t->buckets = calloc(EU_TASKS_MIN_BUCKETS, sizeof(*t->buckets));
	if (!t->buckets)
		return -ENOMEM;
	t->mask = EU_TASKS_MIN_BUCKETS - 1;
	return 0;
}

void eu_tasks_free(struct eu_tasks *t)
{
	struct eu_task *e, *next;
	uint32_t i;

	/* Exited tasks may have left the hash (tid reused): free them here. */
	for (e = t->exited_head; e; e = next) {
		next = e->exited_next;
		if (!e->hashed)
			free(e);
	}
	if (t->buckets)
		for (i = 0; i <= t->mask; i++)
			for (e = t->buckets[i]; e; e = next) {
				next = e->next;
				free(e);
			}
	free(t->buckets);
	*t = (struct eu_tasks){ 0 };
}

static struct eu_task *task_find(const struct eu_tasks *t, int32_t tid)
{
	struct eu_task *e;

	for (e = t->buckets[task_hash(t, tid)]; e; e = e->next)
		if (e->tid == tid)
			return e;
	return NULL;
}

static void task_unhash(struct eu_tasks *t, struct eu_task *e)
{
	struct eu_task **p;

	for (p = &t->buckets[task_hash(t, e->tid)]; *p; p = &(*p)->next)
		if (*p == e) {
			*p = e->next;
			e->hashed = false;
			t->count--;
			break;
		}
	if (t->last == e)
		t->last = NULL;
}

static void tasks_grow(struct eu_tasks *t)
{
	uint32_t nb = (t->mask + 1) * 2, i, old = t->mask + 1;
	struct eu_task **b = calloc(nb, sizeof(*b)), **ob = t->buckets;
	struct eu_task *e, *next;

	if (!b)
		return; /* longer chains, still correct */
	t->buckets = b;
	t->mask = nb - 1;
	for (i = 0; i < old; i++)
		for (e = ob[i]; e; e = next) {
			next = e->next;
			e->next = b[task_hash(t, e->tid)];
			b[task_hash(t, e->tid)] = e;
		}
	free(ob);
}

/* A fresh entry for tid, replacing any older task that had the number. */
static struct eu_task *task_new(struct eu_tasks *t, int32_t pid, int32_t tid)
{
	struct eu_task *e = task_find(t, tid), *n;
	uint32_t h;

	if (e) {
		if (!e->exit_time) {
			/* Same task seen again (seeded, then forked): reuse. */
			e->pid = pid;
			return e;
		}
		task_unhash(t, e); /* the exited FIFO frees it later */
	}
	n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	n->pid = pid;
	n->tid = tid;
	n->uid = -1;
	n->hashed = true;
	if (t->count >= 2 * (t->mask + 1))
		tasks_grow(t);
	h = task_hash(t, tid);
	n->next = t->buckets[h];
	t->buckets[h] = n;
	t->count++;
	return n;
}

/* Read a small /proc file into buf (NUL-terminated); length or -errno. */
static ssize_t read_small(int dirfd, const char *path, char *buf, size_t size)
{
	_cleanup_close_ int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return n;
}

/* A number field ("\nUid:", the real uid) of a /proc status text, or -1. */
static int64_t status_field(const char *status, const char *key)
{
	const char *u = strstr(status, key);

	return u ? strtoll(u + strlen(key), NULL, 10) : -1;
}

static void task_set_comm(struct eu_task *e, const char *comm, size_t len)
{
	if (len >= sizeof(e->comm))
		len = sizeof(e->comm) - 1;
	memcpy(e->comm, comm, len);
	e->comm[len] = '\0';
}

/* One thread from /proc/PID/task/TID/comm. */
static void seed_thread(struct eu_tasks *t, int taskfd, int32_t pid,
			int32_t tid, int64_t uid)
{
	char path[32], comm[32];
	struct eu_task *e;
	ssize_t n;

	snprintf(path, sizeof(path), "%d/comm", tid);
	n = read_small(taskfd, path, comm, sizeof(comm));
	if (n < 0)
		return; /* gone meanwhile */
	if (n > 0 && comm[n - 1] == '\n')
		n--;
	e = task_new(t, pid, tid);
	if (!e)
		return;
	task_set_comm(e, comm, (size_t)n);
	e->uid = uid;
}

static void seed_process(struct eu_tasks *t, int procfd, int32_t pid)
{
	char path[32], status[4096];
	struct dirent *d;
	int64_t uid;
	DIR *dir;
	int fd;

	snprintf(path, sizeof(path), "%d/status", pid);
	if (read_small(procfd, path, status, sizeof(status)) < 0)
		return;
	uid = status_field(status, "\nUid:");
	snprintf(path, sizeof(path), "%d/task", pid);
	fd = openat(procfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return;
	dir = fdopendir(fd);
	if (!dir) {
		close(fd);
		return;
	}
	while ((d = readdir(dir)))
		if (isdigit((unsigned char)d->d_name[0]))
			seed_thread(t, fd, pid, (int32_t)atoi(d->d_name), uid);
	closedir(dir);
}

void eu_tasks_seed(struct eu_tasks *t, pid_t pid)
{
	struct dirent *d;
	DIR *dir;

	dir = opendir("/proc");
	if (!dir)
		return;
	if (pid > 0) {
		seed_process(t, dirfd(dir), pid);
	} else {
		while ((d = readdir(dir)))
			if (isdigit((unsigned char)d->d_name[0]))
				seed_process(t, dirfd(dir),
					     (int32_t)atoi(d->d_name));
	}
	closedir(dir);
}

/*
 * A task no record told about (raced with seeding): ask /proc once, even
 * if it is gone (the entry then stays without a name, not asked again).
 */
static struct eu_task *task_from_proc(struct eu_tasks *t, int32_t tid)
{
	char path[64], buf[4096];
	struct eu_task *e = task_new(t, tid, tid);
	ssize_t n;

	if (!e)
		return NULL;
	if (tid == 0) {
		e->uid = 0; /* the idle tasks; execname says swapper/CPU */
		return e;
	}
	/* /proc/TID works for any thread, listed or not. */
	snprintf(path, sizeof(path), "/proc/%d/comm", tid);
	n = read_small(AT_FDCWD, path, buf, sizeof(buf));
	if (n > 0) {
		if (buf[n - 1] == '\n')
			n--;
		task_set_comm(e, buf, (size_t)n);
	}
	snprintf(path, sizeof(path), "/proc/%d/status", tid);
	if (read_small(AT_FDCWD, path, buf, sizeof(buf)) > 0) {
		e->uid = status_field(buf, "\nUid:");
		e->pid = (int32_t)status_field(buf, "\nTgid:");
		if (e->pid < 0)
			e->pid = tid;
	}
	return e;
}

struct eu_task *eu_tasks_get(struct eu_tasks *t, int32_t tid)
{
	struct eu_task *e = t->last;

	if (e && e->tid == tid)
		return e;
	e = task_find(t, tid);
	if (!e)
		e = task_from_proc(t, tid);
	t->last = e;
	return e;
}

void eu_tasks_comm(struct eu_tasks *t, int32_t pid, int32_t tid,
		   const char *comm, size_t len)
{
	struct eu_task *e = task_find(t, tid);

	if (!e || e->exit_time)
		e = task_new(t, pid, tid);
	if (e)
		task_set_comm(e, comm, strnlen(comm, len));
}

void eu_tasks_fork(struct eu_tasks *t, int32_t pid, int32_t tid,
		   int32_t ptid)
{
	struct eu_task *parent = task_find(t, ptid), *e;
	struct eu_task copy = { .uid = -1 };

	/* task_new may replace an old task with this tid: copy first. */
	if (parent)
		copy = *parent;
	e = task_new(t, pid, tid);
	if (!e)
		return;
	memcpy(e->comm, copy.comm, sizeof(e->comm));
	e->uid = copy.uid;
}

/* Free exited tasks whose grace time has passed. */
static void tasks_reap(struct eu_tasks *t, uint64_t now)
{
	struct eu_task *e;

	while ((e = t->exited_head) &&
	       e->exit_time + EU_TASK_EXIT_GRACE < now) {
		t->exited_head = e->exited_next;
		if (!t->exited_head)
			t->exited_tail = NULL;
		if (e->hashed)
			task_unhash(t, e);
		free(e);
	}
}

void eu_tasks_exit(struct eu_tasks *t, int32_t tid, uint64_t time)
{
	struct eu_task *e = task_find(t, tid);

	tasks_reap(t, time);
	if (!e || e->exit_time)
		return;
	e->exit_time = time ? time : 1;
	e->exited_next = NULL;
	if (t->exited_tail)
		t->exited_tail->exited_next = e;
	else
		t->exited_head = e;
	t->exited_tail = e;
}
