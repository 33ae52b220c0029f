// SPDX-License-Identifier: GPL-2.0
/*
 * The user engine's events: a probe's spec ("sched:*,syscalls:sys_enter_open")
 * resolved against tracefs into tracepoints with their formats, the layout
 * of arg0..arg9 in their raw records, and argstr, formatted on demand the way
 * the kernel's own trace output shows the event.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "argprog.h"
#include "engine_user.h"
#include "kp_argprog.h"
#include "log.h"
#include "macro.h"
#include "syscalls.h"
#include "tpevent.h"
#include "tracefs.h"

#define SYS_ENTER_PREFIX "sys_enter_"
#define SYS_EXIT_PREFIX "sys_exit_"
/* Fewer syscalls than this: let the kernel filter raw_syscalls by id. */
#define EU_FILTER_MAX_SYSCALLS 32

static void arg_add(struct eu_event *ev, uint32_t offset, uint32_t size,
		    bool is_signed)
{
	struct eu_arg *a = &ev->args[ev->nargs++];

	a->offset = (uint16_t)offset;
	a->size = (uint8_t)size;
	a->is_signed = is_signed;
	if (size && offset + size > ev->min_size)
		ev->min_size = offset + size;
}

/*
 * argN as tp_fields() lays them out: numbers, strings (__data_loc char[]
 * and char[N], made by eu_arg_string() when read); the rest read 0.
 */
static void layout_args(struct eu_event *ev)
{
	struct tp_field f[EU_MAX_ARGS];
	int i, n = tp_fields(ev->tep, f, EU_MAX_ARGS);
	struct eu_arg *a;
	int k;

	for (i = 0; i < n; i++) {
		k = ev->nargs;
		a = &ev->args[k];
		arg_add(ev, f[i].offset,
			f[i].kind == TP_FIELD_NUMBER ? f[i].size : 0,
			f[i].is_signed);
		if (f[i].kind != TP_FIELD_STRING &&
		    (f[i].kind != TP_FIELD_CHARS || f[i].size > UINT16_MAX))
			continue;
		a->chars = f[i].kind == TP_FIELD_CHARS ? (uint16_t)f[i].size :
							 0;
		ev->strargs |= 1u << k;
		if (f[i].offset + f[i].size > ev->min_size)
			ev->min_size = f[i].offset + f[i].size;
	}
}

long eu_arg_string(const struct eu_current *cur, unsigned int i, char *buf,
		   size_t size)
{
	const struct eu_arg *a = &cur->ev->args[i];
	const unsigned char *p;
	uint32_t loc, off, len;

	if (a->chars) {
		off = a->offset;
		len = a->chars;
	} else {
		/* __data_loc: offset in the record (low), length (high). */
		memcpy(&loc, cur->raw + a->offset, sizeof(loc));
		off = loc & 0xffff;
		len = loc >> 16;
	}
	if (off > cur->rawlen || len > cur->rawlen - off)
		return -1;
	p = memchr(cur->raw + off, '\0', len);
	if (p)
		len = (uint32_t)(p - (cur->raw + off));
	if (len > size)
		len = (uint32_t)size;
	memcpy(buf, cur->raw + off, len);
	return len;
}

/* Names of a syscall event's arguments (the fields after __syscall_nr). */
static void layout_syscall(struct eu_event *ev)
{
	struct tep_format_field *f = ev->tep->format.fields;
	int n = 0;

	for (f = f ? f->next : NULL; f && n < EU_MAX_SYSCALL_ARGS; f = f->next)
		ev->argnames[n++] = f->name;
	ev->nsysargs = n;
}

/* %ps, %pS, %pB, %pf, %pF: the kernel prints a symbol name. */
static bool fmt_needs_ksyms(const char *fmt)
{
	const char *p;

	for (p = fmt; p && (p = strstr(p, "%p")); p += 2)
		if (p[2] && strchr("sSBfF", p[2]))
			return true;
	return false;
}

/*
 * argstr through the print program the kmod engine runs, where the print
 * fmt compiles (most do): the same text as libtraceevent's (the unit
 * tests hold them side by side), the same on both engines by
 * construction, and no SIGFPE for a divisor a record makes 0.
 */
static void event_argprog(struct eu_event *ev)
{
	unsigned char prog[KTAPVM_MAX_ARGFMT];
	struct argprog_info info;
	long n = argprog_compile(ev->tep, prog, sizeof(prog), &info);

	if (n < 0) {
		log_debug("%s:%s: argstr by libtraceevent: %s",
			  ev->tep->system, ev->name, info.why);
		return;
	}
	ev->argprog = malloc((size_t)n);
	if (ev->argprog) {
		memcpy(ev->argprog, prog, (size_t)n);
		ev->argprog_len = (size_t)n;
	}
}

static struct eu_event *event_find(struct engine_session *es,
				   const struct tep_event *tev)
{
	unsigned int i;

	for (i = 0; i < es->nevents; i++)
		if (es->events[i]->tep == tev)
			return es->events[i];
	return NULL;
}

static int events_append(struct engine_session *es, struct eu_event *ev)
{
	struct eu_event **n;

	n = realloc(es->events, (es->nevents + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	es->events = n;
	es->events[es->nevents++] = ev;
	return 0;
}

/* The event SYS:NAME, its format parsed and its args laid out once. */
static int event_get(struct engine_session *es, const char *sys,
		     const char *name, struct eu_event **out, char *err,
		     size_t errlen)
{
	struct tep_event *tev;
	struct eu_event *ev;
	int r;

	r = tp_event_get(es->tep, sys, name, &tev, err, errlen);
	if (r < 0)
		return r;
	ev = event_find(es, tev);
	if (ev) {
		*out = ev;
		return 0;
	}
	ev = calloc(1, sizeof(*ev));
	if (!ev || events_append(es, ev) < 0) {
		free(ev);
		return -ENOMEM;
	}
	ev->tep = tev;
	ev->name = tev->name;
	ev->id = tev->id;
	layout_args(ev);
	if (strcmp(sys, "syscalls") == 0) {
		if (strncmp(name, SYS_ENTER_PREFIX,
			    strlen(SYS_ENTER_PREFIX)) == 0)
			ev->kind = EU_EVENT_SYS_ENTER;
		else if (strncmp(name, SYS_EXIT_PREFIX,
				 strlen(SYS_EXIT_PREFIX)) == 0)
			ev->kind = EU_EVENT_SYS_EXIT;
		if (ev->kind != EU_EVENT_PLAIN)
			layout_syscall(ev);
	}
	ev->needs_ksyms = ev->kind == EU_EVENT_PLAIN &&
			  fmt_needs_ksyms(tev->print_fmt.format);
	if (ev->kind == EU_EVENT_PLAIN)
		event_argprog(ev);
	*out = ev;
	return 0;
}

/*
 * A per-syscall event whose number the build-time table knows is fed by
 * raw_syscalls (one tracepoint for all of them: arming hundreds of
 * tracepoints is slow, and closing each costs RCU grace periods); its
 * records have the same layout (number at 8, arguments or ret from 16).
 */
static int event_route_syscall(struct engine_session *es, struct eu_event *ev,
			       char *err, size_t errlen)
{
	bool enter = ev->kind == EU_EVENT_SYS_ENTER;
	const char *call = ev->name + strlen(enter ? SYS_ENTER_PREFIX :
						     SYS_EXIT_PREFIX);
	struct eu_event *raw;
	int nr = syscalls_nr(call), r;

	if (nr < 0) {
		ev->direct = true;
		return 0;
	}
	r = event_get(es, "raw_syscalls", enter ? "sys_enter" : "sys_exit",
		      &raw, err, errlen);
	if (r < 0) {
		ev->direct = true; /* no raw_syscalls: arm it by itself */
		return 0;
	}
	if (!raw->demux) {
		raw->demux = calloc(syscalls_count(), sizeof(*raw->demux));
		if (!raw->demux)
			return -ENOMEM;
	}
	if (!raw->demux[nr])
		raw->ndemux++;
	raw->demux[nr] = ev;
	raw->direct = true;
	return 0;
}

struct resolve_ctx {
	struct engine_session *es;
	unsigned int probe;
	char *err;
	size_t errlen;
};

int eu_probe_list_add(unsigned int **probes, unsigned int *n,
		      unsigned int probe)
{
	unsigned int *p;

	/* A probe naming an event twice ("sched:*,sched:sched_switch") runs
	 * once per event. */
	if (*n && (*probes)[*n - 1] == probe)
		return 0;
	p = realloc(*probes, (*n + 1) * sizeof(*p));
	if (!p)
		return -ENOMEM;
	*probes = p;
	p[(*n)++] = probe;
	return 0;
}

static int probe_add(struct eu_event *ev, unsigned int probe)
{
	return eu_probe_list_add(&ev->probes, &ev->nprobes, probe);
}

static int resolve_one(void *arg, const char *sys, const char *name)
{
	struct resolve_ctx *c = arg;
	struct eu_event *ev;
	int r;

	r = event_get(c->es, sys, name, &ev, c->err, c->errlen);
	if (r < 0)
		return r;
	r = probe_add(ev, c->probe);
	if (r < 0)
		return r;
	if (ev->kind != EU_EVENT_PLAIN && !ev->direct)
		return event_route_syscall(c->es, ev, c->err, c->errlen);
	ev->direct = true;
	return 0;
}

/*
 * Refuse, by name, what this engine cannot trace: to the daemon these are
 * events not found (-ENOENT) like any other.
 */
static int check_kind(const char *item, char *err, size_t errlen)
{
	if (strncmp(item, "probe:", 6) == 0) {
		if (!tracefs_exists("kprobe_events"))
			snprintf(err, errlen,
				 "event '%s': kprobes are not available on "
				 "this kernel",
				 item);
		else
			snprintf(err, errlen,
				 "event '%s': kprobes are not supported by "
				 "the user engine: they need the kmod engine "
				 "(ktapvm.ko)",
				 item);
		return -ENOENT;
	}
	if (strncmp(item, "ftrace:", 7) == 0) {
		snprintf(err, errlen,
			 "event '%s': the function tracer is not supported "
			 "by the user engine",
			 item);
		return -ENOENT;
	}
	return 0;
}

/*
 * A uprobe or SDT marker (resolved here: 1), a kind check_kind() refuses
 * (< 0), or a tracepoint (0).
 */
static int resolve_other(void *arg, const char *item)
{
	struct resolve_ctx *c = arg;
	int r;

	if (eu_uprobe_spec(item)) {
		r = eu_uprobe_resolve(c->es, c->probe, item, c->err, c->errlen);
		return r < 0 ? r : 1;
	}
	return check_kind(item, c->err, c->errlen);
}

int eu_events_resolve(struct engine_session *es, unsigned int probe,
		      const char *spec, char *err, size_t errlen)
{
	struct resolve_ctx c = { es, probe, err, errlen };

	return tp_spec_for_each(spec, resolve_other, resolve_one, &c, err,
				errlen);
}

/* Kernel filter for raw_syscalls when it only feeds a few syscalls. */
const char *eu_event_filter(const struct eu_event *ev, char *buf, size_t size)
{
	unsigned int nr;
	size_t len = 0;

	if (!ev->demux || ev->nprobes || ev->ndemux > EU_FILTER_MAX_SYSCALLS)
		return NULL;
	for (nr = 0; nr < syscalls_count(); nr++) {
		if (!ev->demux[nr])
			continue;
		len += (size_t)snprintf(buf + len, size - len, "%sid == %u",
					len ? " || " : "", nr);
		if (len >= size)
			return NULL;
	}
	return buf;
}

void eu_events_free(struct engine_session *es)
{
	unsigned int i;

	for (i = 0; i < es->nevents; i++) {
		free(es->events[i]->argprog);
		free(es->events[i]->probes);
		free(es->events[i]->demux);
		free(es->events[i]);
	}
	free(es->events);
	es->events = NULL;
	es->nevents = 0;
	free(es->by_id);
	es->by_id = NULL;
	if (es->tep)
		tep_free(es->tep);
	es->tep = NULL;
}

/* Kernel symbols for %pS and friends, read when an argstr first needs them. */
static void load_ksyms(struct engine_session *es)
{
	_cleanup_free_ char *buf = NULL;
	size_t size = 0, len = 0;
	FILE *f;

	es->ksyms_loaded = true;
	f = fopen("/proc/kallsyms", "re");
	if (!f)
		return;
	for (;;) {
		char *nb;
		size_t n;

		if (size - len < 65536) {
			size = size ? size * 2 : 1u << 22;
			nb = realloc(buf, size);
			if (!nb)
				break;
			buf = nb;
		}
		n = fread(buf + len, 1, size - len - 1, f);
		if (n == 0)
			break;
		len += n;
	}
	fclose(f);
	if (!buf)
		return;
	buf[len] = '\0';
	if (tep_parse_kallsyms(es->tep, buf) < 0)
		log_debug("Failed to parse /proc/kallsyms");
}

/*
 * Strings some events print through a pointer into the kernel's constant
 * strings (rcu_utilization's "%s", REC->s): tracefs maps them.
 */
static void load_printk_formats(struct engine_session *es)
{
	_cleanup_free_ char *buf = NULL;
	size_t len;

	es->printk_loaded = true;
	if (tracefs_read("printk_formats", &buf, &len) < 0)
		return;
	if (tep_parse_printk_formats(es->tep, buf) < 0)
		log_debug("Failed to parse printk_formats");
}

static uint64_t raw_u64(const unsigned char *raw, const struct eu_arg *a)
{
	uint64_t v;

	memcpy(&v, raw + a->offset, sizeof(v));
	return v;
}

static long symbol(void *ctx, kp_u64 addr, int off, char *buf,
		   kp_size_t size)
{
	struct engine_session *es = ctx;

	if (!es->ksyms_loaded)
		load_ksyms(es);
	return argprog_symbol(es->tep, addr, off, buf, size);
}

long eu_argstr(struct engine_session *es, const struct eu_current *cur,
	       char *buf, size_t size)
{
	struct kp_argprog_env env = { .symbol = symbol };
	const struct eu_event *ev = cur->ev;
	uint64_t vals[EU_MAX_SYSCALL_ARGS];
	struct tep_record rec = { 0 };
	int i;

	switch (ev->kind) {
	case EU_EVENT_SYS_ENTER:
		for (i = 0; i < ev->nsysargs; i++)
			vals[i] = raw_u64(cur->raw, &ev->args[i + 1]);
		return syscalls_print_enter(buf, size,
					    ev->name + strlen(SYS_ENTER_PREFIX),
					    ev->argnames, vals, ev->nsysargs);
	case EU_EVENT_SYS_EXIT:
		return syscalls_print_exit(buf, size,
					   ev->name + strlen(SYS_EXIT_PREFIX),
					   raw_u64(cur->raw, &ev->args[1]));
	case EU_EVENT_PLAIN:
		break;
	}
	if (ev->argprog) {
		env.raw = cur->raw;
		env.rawlen = (kp_u32)cur->rawlen;
		env.ctx = es;
		return kp_argprog_run(ev->argprog, ev->argprog_len, &env, buf,
				      size);
	}
	if (!es->printk_loaded)
		load_printk_formats(es);
	if (ev->needs_ksyms && !es->ksyms_loaded)
		load_ksyms(es);
	rec.data = (void *)cur->raw;
	rec.size = (int)cur->rawlen;
	rec.cpu = cur->cpu;
	trace_seq_reset(&es->seq);
	/* trace_raw_output_prep(): the event name, then its print fmt. */
	trace_seq_printf(&es->seq, "%s: ", ev->name);
	tep_print_event(es->tep, &es->seq, &rec, "%s", TEP_PRINT_INFO);
	trace_seq_terminate(&es->seq);
	memcpy(buf, es->seq.buffer,
	       es->seq.len < size ? es->seq.len : size);
	return es->seq.len;
}
