// SPDX-License-Identifier: GPL-2.0
/*
 * The kmod engine: a session's VM runs inside the kernel (ktapvm.ko), in
 * the context where its probes fire; ktapd creates the session through
 * /dev/ktapvm, resolves the chunk's probe specs into kernel attachments
 * (tracefs ids and field layouts, kprobe symbols, uprobe files and
 * offsets, timers), and relays the session's output stream from the
 * session fd, watched on the loop. doc/ktapvm.md describes the ABI and
 * the module's side; doc/engines.md this engine.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "argprog.h"
#include "chunk.h"
#include "engine_kmod.h"
#include "engine_util.h"
#include "engines.h"
#include "log.h"
#include "macro.h"
#include "syscalls.h"
#include "tpevent.h"

/* After the target exits, its last events still arrive for a moment. */
#define EK_TARGET_GRACE_MS 50
/* Reads per loop turn before other sessions and clients get their turn. */
#define EK_READS_PER_TURN 16
#define EK_READ_MIN (64u << 10)

enum ek_state {
	EK_RUNNING,
	EK_ENDED, /* the stream was read to its end and the status known */
};

struct engine_session {
	struct engine_callbacks cb;
	void *owner;
	uv_loop_t *loop;
	int fd; /* the session fd */
	struct ktapvm_version ver;
	pid_t target_pid;
	int target_fd; /* pidfd, or -1 */
	int cpu;
	struct tep_handle *tep; /* formats, while probes are resolved */

	char *buf; /* read() buffer: whole records */
	size_t bufsize;

	uv_poll_t poll; /* the session fd */
	uv_poll_t target_poll;
	uv_timer_t end_timer;
	bool handles, poll_init, target_poll_init, polling;
	unsigned int open_handles;
	bool freeing;

	enum ek_state state;
	int status;
	bool failed;
	char error[sizeof(((struct ktapvm_stats *)0)->error)];
};

/* Probe specs -> ATTACH */

struct ek_resolve {
	struct engine_session *es;
	uint32_t probe;
	char *err;
	size_t errlen;
	uint64_t *ids; /* tracepoints this probe has: each runs it once */
	unsigned int nids;
};

/* -C, and -p with the processes the target forks, as the user engine. */
static void ek_target(const struct engine_session *es,
		      struct ktapvm_attach *a, bool pid)
{
	kmod_attach_target(a, es->cpu, pid ? es->target_pid : 0);
	if (a->flags & KTAPVM_ATTACH_PID &&
	    es->ver.features & KTAPVM_FEAT_CHILDREN)
		a->flags |= KTAPVM_ATTACH_CHILDREN;
}

static int ek_attach(struct engine_session *es, struct ktapvm_attach *a,
		     const char *what, char *err, size_t errlen)
{
	if (ioctl(es->fd, KTAPVM_IOC_ATTACH, a) == 0)
		return 0;
	switch (errno) {
	case ENOENT:
		snprintf(err, errlen, "event '%s' not found (no such kernel "
			 "function)", what);
		return -ENOENT;
	case ESRCH:
		snprintf(err, errlen, "process %d: %s", es->target_pid,
			 strerror(ESRCH));
		return -ESRCH;
	default:
		snprintf(err, errlen, "event '%s': cannot attach: %s", what,
			 strerror(errno));
		return -errno;
	}
}

static bool ek_has(const struct engine_session *es, int kind)
{
	return es->ver.features & (1ull << kind);
}

/*
 * syscalls:sys_enter_NAME / sys_exit_NAME of a known number go through the
 * module's own sys_enter/sys_exit probe (KTAPVM_EV_SYS_*) where it has one:
 * no perf counter per event and CPU. names (size bytes) receives the
 * argnames for argstr: the call's name, then the entry's argument fields
 * (those after __syscall_nr), NUL-separated.
 */
static void ek_syscall_kind(const struct engine_session *es,
			    struct ktapvm_attach *a, const char *sys,
			    const char *name, struct tep_event *tev,
			    char *names, size_t size)
{
	static const char enter[] = "sys_enter_", exit_[] = "sys_exit_";
	struct tep_format_field *f;
	const char *call;
	size_t len, n;
	int kind, nr, i;

	if (strcmp(sys, "syscalls"))
		return;
	if (!strncmp(name, enter, strlen(enter))) {
		kind = KTAPVM_EV_SYS_ENTER;
		call = name + strlen(enter);
	} else if (!strncmp(name, exit_, strlen(exit_))) {
		kind = KTAPVM_EV_SYS_EXIT;
		call = name + strlen(exit_);
	} else {
		return;
	}
	nr = syscalls_nr(call);
	if (nr < 0 || !ek_has(es, kind))
		return;
	a->kind = (uint32_t)kind;
	a->syscall_nr = (uint32_t)nr;
	len = strlen(call) + 1;
	if (len > size)
		return;
	memcpy(names, call, len);
	f = tev->format.fields;
	for (i = 0, f = f ? f->next : NULL;
	     kind == KTAPVM_EV_SYS_ENTER && f && i < 6; i++, f = f->next) {
		n = strlen(f->name) + 1;
		if (len + n > size)
			return;
		memcpy(names + len, f->name, n);
		len += n;
	}
	a->argfmt = (uintptr_t)names;
	a->argfmt_len = (uint32_t)len;
}

static int ek_attach_tracepoint(void *ctx, const char *sys, const char *name)
{
	struct ek_resolve *c = ctx;
	struct engine_session *es = c->es;
	struct ktapvm_field fields[TP_MAX_FIELDS];
	struct tp_field tf[TP_MAX_FIELDS];
	struct ktapvm_attach a = { .size = sizeof(a), .probe = c->probe,
				   .kind = KTAPVM_EV_TRACEPOINT };
	struct tep_event *tev;
	char what[256], names[KTAPVM_MAX_ARGFMT];
	struct argprog_info info;
	uint64_t *ids;
	long plen;
	int i, n, max, r;

	r = tp_event_get(es->tep, sys, name, &tev, c->err, c->errlen);
	if (r < 0)
		return r;
	for (i = 0; i < (int)c->nids; i++)
		if (c->ids[i] == (uint64_t)tev->id)
			return 0;
	ids = realloc(c->ids, (c->nids + 1) * sizeof(*ids));
	if (!ids)
		return -ENOMEM;
	c->ids = ids;
	c->ids[c->nids++] = (uint64_t)tev->id;

	max = es->ver.max_fields < TP_MAX_FIELDS ? (int)es->ver.max_fields :
						   TP_MAX_FIELDS;
	n = tp_fields(tev, tf, max);
	for (i = 0; i < n; i++) {
		fields[i] = (struct ktapvm_field){
			.offset = (uint16_t)tf[i].offset,
			.size = (uint16_t)tf[i].size,
		};
		switch (tf[i].kind) {
		case TP_FIELD_NUMBER:
			fields[i].kind = tf[i].is_signed ?
						 KTAPVM_FIELD_SIGNED :
						 KTAPVM_FIELD_UNSIGNED;
			break;
		case TP_FIELD_STRING:
			fields[i].kind = KTAPVM_FIELD_STRING;
			break;
		case TP_FIELD_CHARS:
			/* An older module refuses CHARS: opaque there. */
			fields[i].kind = es->ver.features &
							 KTAPVM_FEAT_STRINGS ?
						 KTAPVM_FIELD_CHARS :
						 KTAPVM_FIELD_OPAQUE;
			break;
		case TP_FIELD_OTHER:
			fields[i].kind = KTAPVM_FIELD_OPAQUE;
			break;
		}
	}
	a.id = (uint64_t)tev->id;
	a.nfields = (uint32_t)n;
	a.fields = (uintptr_t)fields;
	a.name = (uintptr_t)tev->name;
	ek_syscall_kind(es, &a, sys, name, tev, names, sizeof(names));
	if (a.kind == KTAPVM_EV_TRACEPOINT &&
	    es->ver.features & KTAPVM_FEAT_ARGPROG) {
		/* argstr's print program; without one, argstr stays nil. */
		plen = argprog_compile(tev, names, sizeof(names), &info);
		if (plen > 0) {
			a.argfmt = (uintptr_t)names;
			a.argfmt_len = (uint32_t)plen;
		} else {
			log_debug("%s:%s: argstr is nil on the kmod engine: %s",
				  sys, name, info.why);
		}
	}
	ek_target(es, &a, true);
	snprintf(what, sizeof(what), "%s:%s", sys, name);
	return ek_attach(es, &a, what, c->err, c->errlen);
}

static int ek_attach_uprobe(struct engine_session *es,
			    struct ktapvm_attach *a,
			    const struct kmod_probe_spec *p, const char *item,
			    char *err, size_t errlen)
{
	_cleanup_close_ int fd = open(p->path, O_RDONLY | O_CLOEXEC);
	uint64_t off = p->offset;
	int r;

	if (fd < 0) {
		snprintf(err, errlen, "event '%s': %s: %s", item, p->path,
			 strerror(errno));
		return -ENOENT;
	}
	if (p->symbol) {
		char why[512];

		r = kmod_elf_offset(p->path, p->symbol, &off, why, sizeof(why));
		if (r < 0) {
			snprintf(err, errlen, "event '%s': %s", item, why);
			return r;
		}
	}
	a->kind = p->ret ? KTAPVM_EV_URETPROBE : KTAPVM_EV_UPROBE;
	a->fd = fd;
	a->offset = off;
	a->name = (uintptr_t)(p->symbol ? p->symbol : item);
	return ek_attach(es, a, item, err, errlen);
}

/* probe:..., and the kinds this engine lacks; 0 for SYSTEM:EVENT. */
static int ek_attach_other(void *ctx, const char *item)
{
	struct ek_resolve *c = ctx;
	struct engine_session *es = c->es;
	struct ktapvm_attach a = { .size = sizeof(a), .probe = c->probe };
	_cleanup_free_ char *text = NULL;
	struct kmod_probe_spec p;
	int r, kind;

	if (strncmp(item, "sdt:", 4) == 0) {
		snprintf(c->err, c->errlen, "event '%s': sdt markers are not "
			 "supported by the kmod engine yet", item);
		return -ENOENT;
	}
	if (strncmp(item, "ftrace:", 7) == 0) {
		snprintf(c->err, c->errlen, "event '%s': the function tracer "
			 "is not supported by the kmod engine", item);
		return -ENOENT;
	}
	if (strncmp(item, "probe:", 6) != 0)
		return 0;
	text = strdup(item + 6);
	if (!text)
		return -ENOMEM;
	r = kmod_probe_parse(text, &p, c->err, c->errlen);
	if (r < 0)
		return r;
	if (p.path)
		kind = p.ret ? KTAPVM_EV_URETPROBE : KTAPVM_EV_UPROBE;
	else
		kind = p.ret ? KTAPVM_EV_KRETPROBE : KTAPVM_EV_KPROBE;
	if (!ek_has(es, kind)) {
		snprintf(c->err, c->errlen, "event '%s': %s are not available "
			 "from this module (kernel lockdown?)", item,
			 p.path ? "uprobes" : "kprobes");
		return -ENOENT;
	}
	ek_target(es, &a, true);
	if (p.path) {
		r = ek_attach_uprobe(es, &a, &p, item, c->err, c->errlen);
	} else {
		a.kind = (uint32_t)kind;
		a.symbol = (uintptr_t)p.symbol;
		a.offset = p.offset;
		a.name = (uintptr_t)p.symbol;
		r = ek_attach(es, &a, item, c->err, c->errlen);
	}
	return r < 0 ? r : 1;
}

static int ek_attach_timer(struct engine_session *es, uint32_t probe,
			   uint32_t kind, const char *spec, char *err,
			   size_t errlen)
{
	struct ktapvm_attach a = { .size = sizeof(a), .probe = probe };
	bool tick = kind == KP_PROBE_TICK;

	a.kind = tick ? KTAPVM_EV_TICK : KTAPVM_EV_PROFILE;
	a.name = (uintptr_t)spec;
	/* A tick interrupts whatever runs: no process; the user engine's
	 * ticks ignore -C as well. */
	if (!tick)
		ek_target(es, &a, true);
	return ek_attach(es, &a, spec, err, errlen);
}

/* Every probe of the chunk, resolved and attached before anything runs. */
static int ek_resolve_probes(struct engine_session *es, uint32_t nprobes,
			     char *err, size_t errlen)
{
	_cleanup_free_ char *spec = NULL;
	struct ek_resolve c = { .es = es, .err = err, .errlen = errlen };
	uint32_t size = 256, i;
	int r = 0;

	es->tep = tep_alloc();
	if (!es->tep)
		return -ENOMEM;
	tep_set_long_size(es->tep, sizeof(long));
	tep_set_page_size(es->tep, (int)sysconf(_SC_PAGESIZE));
	for (i = 0; i < nprobes && r >= 0; i++) {
		struct ktapvm_probe p;

		for (;;) {
			char *n = realloc(spec, size);

			if (!n)
				return -ENOMEM;
			spec = n;
			p = (struct ktapvm_probe){ .size = sizeof(p),
						   .index = i,
						   .spec = (uintptr_t)spec,
						   .spec_size = size };
			if (ioctl(es->fd, KTAPVM_IOC_PROBE, &p) < 0) {
				snprintf(err, errlen, "probe %u: %s", i,
					 strerror(errno));
				return -errno;
			}
			if (p.spec_len < size)
				break;
			size = p.spec_len + 1;
		}
		c.probe = i;
		c.nids = 0;
		switch (p.kind) {
		case KP_PROBE_TRACE:
			r = tp_spec_for_each(spec, ek_attach_other,
					     ek_attach_tracepoint, &c, err,
					     errlen);
			break;
		case KP_PROBE_TICK:
		case KP_PROBE_PROFILE:
			r = ek_attach_timer(es, i, p.kind, spec, err, errlen);
			break;
		default: /* trace_end: the module runs it at the end */
			break;
		}
	}
	free(c.ids);
	return r;
}

/* Output */

/*
 * Hand the records available to the output callback, at most reads
 * read() calls. Returns 1 once the stream ended (read() gave 0), 0 when
 * more may come, a negative errno.
 */
static int ek_read(struct engine_session *es, unsigned int reads)
{
	const struct ktapvm_record *rec;
	size_t off, step;
	ssize_t n;

	while (reads--) {
		n = read(es->fd, es->buf, es->bufsize);
		if (n == 0)
			return 1;
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -errno;
		for (off = 0; off + sizeof(*rec) <= (size_t)n; off += step) {
			rec = (const struct ktapvm_record *)(es->buf + off);
			step = (sizeof(*rec) + rec->len +
				KTAPVM_RECORD_ALIGN - 1) &
			       ~(size_t)(KTAPVM_RECORD_ALIGN - 1);
			if (step > (size_t)n - off)
				return -EPROTO;
			if (rec->len)
				es->cb.output(es->owner,
					      (const char *)(rec + 1),
					      rec->len);
		}
	}
	return 0;
}

static int ek_stats_raw(struct engine_session *es, struct ktapvm_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->size = sizeof(*st);
	return ioctl(es->fd, KTAPVM_IOC_STATS, st) < 0 ? -errno : 0;
}

/* Events that did not run their handler, but the budget's (an error). */
static uint64_t ek_dropped(const struct ktapvm_stats *st)
{
	return st->drop_recursion + st->drop_contention + st->drop_missed +
	       st->short_records;
}

/* The stream ended: learn the status, report losses. */
static void ek_ended(struct engine_session *es)
{
	struct ktapvm_stats st;

	es->state = EK_ENDED;
	if (ek_stats_raw(es, &st) < 0) {
		es->status = 3;
		es->failed = true;
		snprintf(es->error, sizeof(es->error), "the session's status "
			 "is unknown: %s", strerror(errno));
		return;
	}
	es->status = st.exit_status;
	es->failed = st.flags & KTAPVM_STATS_FAILED;
	memcpy(es->error, st.error, sizeof(es->error));
	es->error[sizeof(es->error) - 1] = '\0';
	if (ek_dropped(&st))
		engine_printf(&es->cb, es->owner,
			      "ktap: %" PRIu64 " events lost\n",
			      ek_dropped(&st));
	if (st.lost_records)
		engine_printf(&es->cb, es->owner,
			      "ktap: %" PRIu64 " output records lost "
			      "(%" PRIu64 " bytes)\n",
			      (uint64_t)st.lost_records,
			      (uint64_t)st.lost_bytes);
}

static void ek_poll_stop(struct engine_session *es)
{
	if (es->polling)
		uv_poll_stop(&es->poll);
	es->polling = false;
	if (es->target_poll_init)
		uv_poll_stop(&es->target_poll);
	if (es->handles)
		uv_timer_stop(&es->end_timer);
}

/* STOP (trace_end runs in the kernel), the rest of the stream, status. */
static int ek_finish(struct engine_session *es)
{
	struct ktapvm_stop stop = { .size = sizeof(stop) };
	int r;

	if (es->state == EK_ENDED)
		return es->status;
	ek_poll_stop(es);
	if (ioctl(es->fd, KTAPVM_IOC_STOP, &stop) < 0) {
		engine_printf(&es->cb, es->owner,
			      "ktap: cannot stop the kernel session: %s\n",
			      strerror(errno));
		/* Not ended: its stream does not end. Take what is there. */
		ek_read(es, UINT32_MAX);
	} else {
		/* Ended: read() gives everything, then 0, never EAGAIN. */
		do
			r = ek_read(es, UINT32_MAX);
		while (r == 0);
		if (r < 0)
			engine_printf(&es->cb, es->owner,
				      "ktap: reading the kernel session: %s\n",
				      strerror(-r));
	}
	ek_ended(es);
	return es->status;
}

static void ek_report_end(struct engine_session *es)
{
	es->cb.ended(es->owner, es->status, es->failed ? es->error : NULL);
}

static void on_end_timer(uv_timer_t *t)
{
	struct engine_session *es = t->data;

	ek_finish(es);
	ek_report_end(es);
}

static void on_session_fd(uv_poll_t *p, int status, int events)
{
	struct engine_session *es = p->data;
	int r = ek_read(es, EK_READS_PER_TURN);

	if (r == 0 && status == 0)
		return;
	/* The module ended it (exit(), an error) and all was read. */
	ek_poll_stop(es);
	if (r < 0)
		engine_printf(&es->cb, es->owner,
			      "ktap: reading the kernel session: %s\n",
			      strerror(-r));
	if (r == 1)
		ek_ended(es);
	else
		ek_finish(es);
	ek_report_end(es); /* may free es: nothing after it */
}

static void on_target_exit(uv_poll_t *p, int status, int events)
{
	struct engine_session *es = p->data;

	uv_poll_stop(p);
	if (es->state == EK_RUNNING)
		uv_timer_start(&es->end_timer, on_end_timer,
			       EK_TARGET_GRACE_MS, 0);
}

/* Start */

static void destroy(struct engine_session *es)
{
	if (es->fd >= 0)
		close(es->fd); /* the module stops and frees what is left */
	if (es->target_fd >= 0)
		close(es->target_fd);
	if (es->tep)
		tep_free(es->tep);
	free(es->buf);
	free(es);
}

static void on_handle_closed(uv_handle_t *h)
{
	struct engine_session *es = h->data;

	if (--es->open_handles == 0 && es->freeing)
		destroy(es);
}

static void handle_init(struct engine_session *es, uv_handle_t *h)
{
	h->data = es;
	es->open_handles++;
}

static int init_handles(struct engine_session *es)
{
	int r;

	uv_timer_init(es->loop, &es->end_timer);
	handle_init(es, (uv_handle_t *)&es->end_timer);
	es->handles = true;
	r = uv_poll_init(es->loop, &es->poll, es->fd);
	if (r < 0)
		return r;
	handle_init(es, (uv_handle_t *)&es->poll);
	es->poll_init = true;
	if (es->target_fd >= 0) {
		r = uv_poll_init(es->loop, &es->target_poll, es->target_fd);
		if (r < 0)
			return r;
		handle_init(es, (uv_handle_t *)&es->target_poll);
		es->target_poll_init = true;
	}
	return 0;
}

/* Output ring per CPU: the session's wish within the module's limits. */
static uint64_t ek_ring_size(const struct ktapvm_version *v, size_t want)
{
	uint64_t size = v->min_ring;

	if (!want)
		return 0;
	while (size < want && size < v->max_ring)
		size *= 2;
	return size;
}

int kmod_device_check(char *buf, size_t size)
{
	struct ktapvm_version v = { .size = sizeof(v) };
	_cleanup_close_ int fd = open(KTAPVM_DEVICE, O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		snprintf(buf, size, "%s: %s", KTAPVM_DEVICE, strerror(errno));
		return -errno;
	}
	if (ioctl(fd, KTAPVM_IOC_VERSION, &v) < 0) {
		snprintf(buf, size, "%s: VERSION: %s", KTAPVM_DEVICE,
			 strerror(errno));
		return -errno;
	}
	if (v.abi_version != KTAPVM_ABI_VERSION) {
		snprintf(buf, size, "module ABI %u, ktapd ABI %u",
			 v.abi_version, KTAPVM_ABI_VERSION);
		return -EPROTO;
	}
	return 0;
}

/* /dev/ktapvm: VERSION, then CREATE within its limits. */
static int ek_create(struct engine_session *es,
		     const struct engine_session_config *cfg, char *err,
		     size_t errlen)
{
	struct ktapvm_create c = { .size = sizeof(c) };
	_cleanup_close_ int dev = open(KTAPVM_DEVICE, O_RDWR | O_CLOEXEC);
	int fd;

	es->ver = (struct ktapvm_version){ .size = sizeof(es->ver) };
	if (dev < 0 || ioctl(dev, KTAPVM_IOC_VERSION, &es->ver) < 0) {
		snprintf(err, errlen, "%s: %s", KTAPVM_DEVICE,
			 strerror(errno));
		return -errno;
	}
	if (cfg->insn_budget > es->ver.max_insn_budget) {
		snprintf(err, errlen, "an instruction budget of %u is above "
			 "the module's limit (%u, its max_insn_budget "
			 "parameter)", cfg->insn_budget,
			 es->ver.max_insn_budget);
		return -EINVAL;
	}
	if (cfg->arena_size > es->ver.max_arena) {
		snprintf(err, errlen, "an arena of %zu bytes is above the "
			 "module's limit (%" PRIu64 ")", cfg->arena_size,
			 (uint64_t)es->ver.max_arena);
		return -EINVAL;
	}
	c.arena_size = cfg->arena_size;
	c.ring_size = ek_ring_size(&es->ver, cfg->ring_size);
	c.insn_budget = cfg->insn_budget;
	c.time_budget_ns = engine_options.time_budget_ns;
	if (c.time_budget_ns > es->ver.max_time_budget_ns)
		c.time_budget_ns = es->ver.max_time_budget_ns;
	fd = ioctl(dev, KTAPVM_IOC_CREATE, &c);
	if (fd < 0) {
		snprintf(err, errlen, "%s: cannot create a session: %s",
			 KTAPVM_DEVICE, strerror(errno));
		return -errno;
	}
	es->fd = fd;
	es->bufsize = es->ver.max_record > EK_READ_MIN ? es->ver.max_record :
							 EK_READ_MIN;
	es->buf = malloc(es->bufsize);
	return es->buf ? 0 : -ENOMEM;
}

/* LOAD: the kernel verifies the chunk again. */
static int ek_load(struct engine_session *es,
		   const struct engine_session_config *cfg, uint32_t *nprobes,
		   char *err, size_t errlen)
{
	_cleanup_free_ char *args = NULL;
	struct ktapvm_load l;
	size_t len = 0, n;
	int i;

	for (i = 0; i < cfg->argc; i++)
		len += strlen(cfg->argv[i]) + 1;
	args = malloc(len ? len : 1);
	if (!args)
		return -ENOMEM;
	for (i = 0, n = 0; i < cfg->argc; i++) {
		memcpy(args + n, cfg->argv[i], strlen(cfg->argv[i]) + 1);
		n += strlen(cfg->argv[i]) + 1;
	}
	l = (struct ktapvm_load){
		.size = sizeof(l),
		.chunk = (uintptr_t)cfg->chunk,
		.chunk_len = (uint32_t)cfg->chunk_len,
		.argc = (uint32_t)cfg->argc,
		.args = (uintptr_t)args,
		.args_len = (uint32_t)len,
	};
	if (cfg->chunk_len > es->ver.max_chunk) {
		snprintf(err, errlen, "a chunk of %zu bytes is above the "
			 "module's limit (%u)", cfg->chunk_len,
			 es->ver.max_chunk);
		return -EINVAL;
	}
	if (ioctl(es->fd, KTAPVM_IOC_LOAD, &l) == 0) {
		*nprobes = l.nprobes;
		return 0;
	}
	if (errno == EINVAL && l.err_reason[0])
		snprintf(err, errlen, "bytecode rejected: function %d, pc %d: "
			 "%s", l.err_func, l.err_pc, l.err_reason);
	else if (errno == ENOMEM)
		snprintf(err, errlen, "the chunk does not fit in an arena of "
			 "%zu bytes", cfg->arena_size);
	else
		snprintf(err, errlen, "%s: LOAD: %s", KTAPVM_DEVICE,
			 strerror(errno));
	return -errno;
}

static int ek_start(const struct engine_session_config *cfg,
		    const struct engine_callbacks *cb, void *owner,
		    struct engine_session **out, char *err, size_t errlen)
{
	struct engine_session *es = calloc(1, sizeof(*es));
	struct ktapvm_start start = { .size = sizeof(start) };
	struct ktapvm_stats st;
	uint32_t nprobes = 0;
	int r;

	err[0] = '\0';
	if (!es)
		return -ENOMEM;
	es->cb = *cb;
	es->owner = owner;
	es->loop = cfg->loop;
	es->fd = -1;
	es->target_fd = -1;
	es->target_pid = cfg->target_pid;
	es->cpu = cfg->cpu;
	r = ek_create(es, cfg, err, errlen);
	if (r < 0)
		goto fail;
	if (cfg->restore && !(es->ver.features & KTAPVM_FEAT_SNAPSHOT)) {
		snprintf(err, errlen, "this ktapvm.ko cannot restore a "
			 "session's globals");
		r = -EOPNOTSUPP;
		goto fail;
	}
	r = ek_load(es, cfg, &nprobes, err, errlen);
	if (r < 0)
		goto fail;
	r = ek_resolve_probes(es, nprobes, err, errlen);
	if (r < 0)
		goto fail;
	tep_free(TAKE_PTR(es->tep));
	if (es->target_pid > 0) {
		r = engine_target_open(es->target_pid, err, errlen);
		if (r < 0)
			goto fail;
		es->target_fd = r;
	}
	if (fcntl(es->fd, F_SETFL, O_NONBLOCK) < 0) {
		r = -errno;
		goto fail;
	}
	r = init_handles(es);
	if (r < 0) {
		snprintf(err, errlen, "cannot watch the session: %s",
			 uv_strerror(r));
		engine_kmod.free(es);
		return -EIO;
	}
	/*
	 * main runs here, in the kernel; exit() or an error ends it. A
	 * restored session's main runs without output, then gets its globals.
	 */
	start.restore = (uintptr_t)cfg->restore;
	start.restore_len = cfg->restore ? cfg->restore_len : 0;
	if (ioctl(es->fd, KTAPVM_IOC_START, &start) < 0) {
		r = -errno;
		if (cfg->restore)
			snprintf(err, errlen, "cannot restore the globals: %s",
				 r == -ENOMEM ? "out of memory" :
						"malformed snapshot");
		else
			snprintf(err, errlen, "%s: START: %s", KTAPVM_DEVICE,
				 strerror(errno));
		engine_kmod.free(es);
		return r;
	}
	uv_poll_start(&es->poll, UV_READABLE | UV_DISCONNECT, on_session_fd);
	es->polling = true;
	if (es->target_fd >= 0)
		uv_poll_start(&es->target_poll, UV_READABLE, on_target_exit);
	else if (ek_stats_raw(es, &st) == 0 && !st.nprobes &&
		 st.state == KTAPVM_STATE_RUNNING)
		/* Nothing armed: the script was its top-level code. */
		uv_timer_start(&es->end_timer, on_end_timer, 0, 0);
	*out = es;
	return 0;

fail:
	if (!err[0])
		snprintf(err, errlen, "%s", strerror(-r));
	destroy(es);
	return r;
}

static int ek_stop(struct engine_session *es)
{
	return ek_finish(es);
}

static void ek_free(struct engine_session *es)
{
	if (!es)
		return;
	ek_poll_stop(es);
	es->state = EK_ENDED;
	es->freeing = true;
	if (!es->handles) {
		destroy(es);
		return;
	}
	uv_close((uv_handle_t *)&es->end_timer, on_handle_closed);
	if (es->poll_init)
		uv_close((uv_handle_t *)&es->poll, on_handle_closed);
	if (es->target_poll_init)
		uv_close((uv_handle_t *)&es->target_poll, on_handle_closed);
}

static void ek_stats(struct engine_session *es, struct engine_stats *s)
{
	struct ktapvm_stats st;

	*s = (struct engine_stats){ 0 };
	if (ek_stats_raw(es, &st) < 0)
		return;
	*s = (struct engine_stats){
		.events = st.events,
		.lost = ek_dropped(&st) + st.lost_records,
		.mem_used = st.mem_in_use,
		.mem_peak = st.mem_peak,
		.mem_quota = st.mem_quota,
		.cpu_ns = st.cpu_ns,
		.nprobes = st.nprobes,
	};
}

/* DUMP or SNAPSHOT into a malloc'ed buffer, NUL-terminated. */
static int ek_dump(struct engine_session *es, unsigned long cmd, char **out,
		   size_t *len)
{
	struct ktapvm_dump d = { .size = sizeof(d) };
	char *buf = NULL;

	/* The length first (ENOSPC), then the data; it may grow between. */
	for (;;) {
		if (ioctl(es->fd, cmd, &d) == 0)
			break;
		if (errno != ENOSPC) {
			free(buf);
			return -errno;
		}
		free(buf);
		buf = malloc(d.len + 1);
		if (!buf)
			return -ENOMEM;
		d = (struct ktapvm_dump){ .size = sizeof(d),
					  .buf = (uintptr_t)buf,
					  .buf_size = d.len + 1 };
	}
	if (!buf) /* nothing at all: fits in no buffer */
		buf = malloc(1);
	if (!buf)
		return -ENOMEM;
	buf[d.len] = '\0';
	*out = buf;
	*len = d.len;
	return 0;
}

static int ek_dump_json(struct engine_session *es, char **json, size_t *len)
{
	return ek_dump(es, KTAPVM_IOC_DUMP, json, len);
}

static int ek_snapshot(struct engine_session *es, void **buf, size_t *len)
{
	char *p;
	int r = ek_dump(es, KTAPVM_IOC_SNAPSHOT, &p, len);

	if (r == 0)
		*buf = p;
	return r;
}

const struct engine_ops engine_kmod = {
	.name = "kmod",
	.start = ek_start,
	.stop = ek_stop,
	.free = ek_free,
	.stats = ek_stats,
	.dump_json = ek_dump_json,
	.snapshot = ek_snapshot,
};
