// SPDX-License-Identifier: GPL-2.0
/*
 * argstr's cost: the print program (kmod/vm/argprog.c: what the kmod
 * engine runs in the probe, and the user engine in ktapd) against
 * libtraceevent's tep_print_event() (what the user engine ran before), on
 * the same records of a few tracepoints of this machine. Prints ns per
 * argstr for each and their ratio; asserts nothing (see README.md).
 *
 * usage: bench_argstr [ITERATIONS] [SYS:EVENT...]
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <traceevent/event-parse.h>
#include <traceevent/trace-seq.h>

#include "argprog.h"
#include "kp_argprog.h"

static const char *const default_events[] = {
	"sched:sched_switch", "sched:sched_process_exec",
	"sock:inet_sock_set_state", "kmem:kmalloc", "timer:hrtimer_start",
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static struct tep_event *load(struct tep_handle *tep, const char *spec)
{
	char sys[128], path[512], *name, *buf;
	size_t len;
	FILE *f;

	snprintf(sys, sizeof(sys), "%s", spec);
	name = strchr(sys, ':');
	if (!name)
		return NULL;
	*name++ = '\0';
	snprintf(path, sizeof(path), "/sys/kernel/tracing/events/%s/%s/format",
		 sys, name);
	f = fopen(path, "re");
	if (!f)
		return NULL;
	buf = malloc(1 << 16);
	len = buf ? fread(buf, 1, (1 << 16) - 1, f) : 0;
	fclose(f);
	if (!buf || tep_parse_event(tep, buf, len, sys)) {
		free(buf);
		return NULL;
	}
	free(buf);
	return tep_find_event_by_name(tep, sys, name);
}

/* A record of ev: printable text in strings, small numbers elsewhere. */
static int make_record(const struct tep_event *ev, unsigned char *rec,
		       size_t cap)
{
	const struct tep_format_field *f;
	size_t end = 0, tail;
	uint16_t id = (uint16_t)ev->id;
	uint32_t loc;

	for (f = ev->format.fields; f; f = f->next)
		if ((size_t)f->offset + f->size > end)
			end = (size_t)f->offset + f->size;
	if (end + 64 > cap)
		return -1;
	memset(rec, 0, cap);
	memcpy(rec, &id, 2);
	tail = end;
	for (f = ev->format.fields; f; f = f->next) {
		if (f->flags & TEP_FIELD_IS_DYNAMIC) {
			loc = (uint32_t)(16u << 16) | (uint32_t)tail;
			memcpy(rec + f->offset, &loc, 4);
			memcpy(rec + tail, "/usr/bin/true\0\0", 16);
			tail += 16;
		} else if (f->flags & TEP_FIELD_IS_STRING) {
			snprintf((char *)rec + f->offset, (size_t)f->size,
				 "bash");
		} else if (f->size <= 8) {
			rec[f->offset] = (unsigned char)(f->offset * 7 + 1);
		}
	}
	return (int)tail;
}

int main(int argc, char **argv)
{
	long iters = argc > 1 ? atol(argv[1]) : 200000;
	const char *const *events = argc > 2 ? (const char *const *)argv + 2 :
					       default_events;
	int nevents = argc > 2 ? argc - 2 :
				 (int)(sizeof(default_events) /
				       sizeof(default_events[0]));
	struct tep_handle *tep = tep_alloc();
	static unsigned char prog[KTAPVM_MAX_ARGFMT], rec[4096];
	static char out[4096];
	struct trace_seq seq;
	int i;

	tep_set_long_size(tep, 8);
	trace_seq_init(&seq);
	printf("%-28s %12s %12s %7s\n", "event", "program ns", "libtep ns",
	       "ratio");
	for (i = 0; i < nevents; i++) {
		struct tep_event *ev = load(tep, events[i]);
		struct kp_argprog_env env = {.raw = rec};
		struct tep_record r = {.data = rec};
		struct argprog_info info;
		double t0, tp, tt;
		long plen, k, n = 0;

		if (!ev || (r.size = make_record(ev, rec, sizeof(rec))) < 0) {
			printf("%-28s (not on this machine)\n", events[i]);
			continue;
		}
		plen = argprog_compile(ev, prog, sizeof(prog), &info);
		if (plen < 0) {
			printf("%-28s (no program: %s)\n", events[i], info.why);
			continue;
		}
		env.rawlen = (kp_u32)r.size;
		t0 = now();
		for (k = 0; k < iters; k++)
			n += kp_argprog_run(prog, (kp_size_t)plen, &env, out,
					    sizeof(out));
		tp = (now() - t0) / (double)iters;
		t0 = now();
		for (k = 0; k < iters; k++) {
			trace_seq_reset(&seq);
			trace_seq_printf(&seq, "%s: ", ev->name);
			tep_print_event(tep, &seq, &r, "%s", TEP_PRINT_INFO);
			n += seq.len;
		}
		tt = (now() - t0) / (double)iters;
		printf("%-28s %12.1f %12.1f %7.2f\n", events[i], tp, tt, tp / tt);
	}
	trace_seq_destroy(&seq);
	tep_free(tep);
	return 0;
}
