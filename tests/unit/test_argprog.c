// SPDX-License-Identifier: GPL-2.0
/*
 * The kmod engine's argstr against the user engine's, on every tracepoint
 * of this machine's kernel: each event's format is parsed by
 * libtraceevent, its print fmt compiled by ktapd (ktapd/argprog.c) and the
 * program checked and run by the VM core (kmod/vm/argprog.c, the module's
 * code), on records of made-up field values, and the text compared with
 * tep_print_event()'s on the same record (what eu_argstr() prints).
 * Values lean to what print fmts test: 0, small numbers, single and mixed
 * bits, kernel text addresses; strings are short, empty or unterminated.
 * Prints how many events compile and why the others do not; fails on any
 * difference, or when fewer than half of the events compile. Print fmts
 * naming kernel variables (vmemmap_base) are run, not compared: the
 * program reads them as 0, libtraceevent as their address if it knows it.
 * Every program cut short, and mutated ones, go through the check too:
 * refused, or run without harm (the sanitizer build watches).
 *
 * usage: test_argprog [EVENTS_DIR [RECORDS_PER_EVENT]]
 * ARGPROG_VERBOSE=1 in the environment: each event that does not compile.
 */
#define _GNU_SOURCE
#include <glob.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <traceevent/event-parse.h>
#include <traceevent/trace-seq.h>

#include "argprog.h"
#include "kp_argprog.h"
#include "unit.h"

#define REC_MAX 8192

/*
 * LeakSanitizer (the sanitizer build): libtraceevent's parser leaks a few
 * bytes on some of the thousands of formats read here; not ours to mend.
 */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
	return "leak:libtraceevent.so\n";
}

static struct tep_handle *tep;
static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t text_addrs[4096];
static unsigned int ntext;

/*
 * libtraceevent divides by whatever a record holds: a divisor read from a
 * field (6.1's devfreq:devfreq_frequency) that is 0 raises SIGFPE in
 * tep_print_event(). Such a record is counted and skipped; the program
 * prints (its / gives 0).
 */
static sigjmp_buf fpe_jmp;

static void on_fpe(int sig)
{
	(void)sig;
	siglongjmp(fpe_jmp, 1);
}

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t cap = 0, n = 0, r;

	if (!f)
		return NULL;
	for (;;) {
		if (cap - n < 65536) {
			cap = cap ? cap * 2 : 65536;
			buf = realloc(buf, cap + 1);
			if (!buf)
				abort();
		}
		r = fread(buf + n, 1, cap - n, f);
		if (!r)
			break;
		n += r;
	}
	fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
}

/* Kernel symbols, as the user engine loads them, and some text addresses. */
static void load_kallsyms(void)
{
	size_t len;
	char *buf = slurp("/proc/kallsyms", &len), *line, *save = NULL;
	unsigned long long a;
	char type;

	if (!buf)
		return;
	tep_parse_kallsyms(tep, buf);
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		if (sscanf(line, "%llx %c", &a, &type) == 2 && a &&
		    (type == 't' || type == 'T') &&
		    (ntext < 64 || !(rnd() % 64)) &&
		    ntext < sizeof(text_addrs) / sizeof(text_addrs[0]))
			text_addrs[ntext++] = a;
	free(buf);
}

/* The symbol callback: the user engine's (the module's: sprint_symbol()). */
static long symbol(void *ctx, kp_u64 addr, int off, char *buf, kp_size_t size)
{
	(void)ctx;
	return argprog_symbol(tep, addr, off, buf, size);
}

static uint64_t number(void)
{
	switch (rnd() % 8) {
	case 0:
		return 0;
	case 1:
		return rnd() % 16;
	case 2:
		return 1ull << (rnd() % 32);
	case 3:
		return rnd() & 0xffff;
	case 4:
		return ntext ? text_addrs[rnd() % ntext] + rnd() % 64 : 0;
	case 5:
		return (rnd() & 0xff) | (1ull << (rnd() % 32));
	default:
		return rnd();
	}
}

static void fill_chars(unsigned char *p, size_t n);

/* 16 bytes as IPv6 addresses come: zero runs, v4-mapped, ISATAP. */
static void fill_ip6(unsigned char *p)
{
	int i;

	for (i = 0; i < 16; i += 2) {
		p[i] = rnd() % 3 ? 0 : (unsigned char)rnd();
		p[i + 1] = rnd() % 3 ? 0 : (unsigned char)rnd();
	}
	switch (rnd() % 4) {
	case 0:
		memset(p, 0, 10);
		p[10] = p[11] = 0xff;
		break;
	case 1:
		p[8] = rnd() % 2 ? 2 : 0;
		p[9] = 0;
		p[10] = 0x5e;
		p[11] = 0xfe;
		break;
	}
}

/* A char array; 16 and 28 bytes may be addresses (%pI6c, %pISpc). */
static void fill_bytes(unsigned char *p, size_t n)
{
	uint16_t family = rnd() % 2 ? 2 : 10;

	if (n == 16 && rnd() % 2) {
		fill_ip6(p);
	} else if (n == 28 && rnd() % 4) {
		memset(p, 0, n);
		memcpy(p, &family, 2);
		p[2] = (unsigned char)rnd();
		p[3] = (unsigned char)rnd();
		if (family == 2)
			memcpy(p + 4, &(uint32_t){(uint32_t)rnd()}, 4);
		else
			fill_ip6(p + 8);
	} else {
		fill_chars(p, n);
	}
}

static void fill_chars(unsigned char *p, size_t n)
{
	size_t i, end = rnd() % 4 ? rnd() % (n + 1) : n; /* n: no NUL */

	for (i = 0; i < n; i++)
		p[i] = i < end ? (unsigned char)('a' + rnd() % 26) : 0;
}

/* A record with made-up values for each field; its length. */
static size_t make_record(const struct tep_event *ev, unsigned char *rec)
{
	struct tep_format_field *f;
	size_t len = 0, tail, n;
	uint64_t v;
	uint32_t loc;
	int i;

	for (f = ev->format.common_fields; f; f = f->next)
		if ((size_t)f->offset + f->size > len)
			len = (size_t)f->offset + f->size;
	for (f = ev->format.fields; f; f = f->next)
		if ((size_t)f->offset + f->size > len)
			len = (size_t)f->offset + f->size;
	if (len > REC_MAX / 2)
		return 0;
	memset(rec, 0, REC_MAX);
	/* common_type: the event tep_print_event() looks up */
	f = tep_find_common_field((struct tep_event *)ev, "common_type");
	if (!f || f->size != 2)
		return 0;
	memcpy(rec + f->offset, &(uint16_t){(uint16_t)ev->id}, 2);
	tail = len;
	for (i = 0, f = ev->format.fields; f; f = f->next, i++) {
		if (f->flags & TEP_FIELD_IS_DYNAMIC) {
			n = rnd() % 5 ? rnd() % 24 + 1 : 0;
			if (tail + n > REC_MAX)
				n = 0;
			if (n) {
				fill_chars(rec + tail, n - 1);
				rec[tail + n - 1] = 0;
			}
			loc = (uint32_t)(n << 16) |
			      (uint32_t)(f->flags & TEP_FIELD_IS_RELATIVE
					     ? tail - f->offset - f->size
					     : tail);
			memcpy(rec + f->offset, &loc, 4);
			tail += n;
		} else if (f->flags & TEP_FIELD_IS_STRING ||
			   (f->flags & TEP_FIELD_IS_ARRAY &&
			    f->elementsize == 1)) {
			fill_bytes(rec + f->offset, (size_t)f->size);
		} else if (f->size <= 8) {
			v = number();
			memcpy(rec + f->offset, &v, (size_t)f->size);
		} else {
			for (n = 0; n < (size_t)f->size; n++)
				rec[f->offset + n] = (unsigned char)rnd();
		}
	}
	return tail;
}

struct why {
	const char *why;
	unsigned int n;
	char example[128];
};

static struct why whys[64];

static void count_why(const char *why, const struct tep_event *ev)
{
	unsigned int i;

	for (i = 0; i < 64 && whys[i].why; i++)
		if (!strcmp(whys[i].why, why))
			break;
	if (i == 64)
		return;
	if (!whys[i].why) {
		whys[i].why = why;
		snprintf(whys[i].example, sizeof(whys[i].example), "%s:%s",
			 ev->system, ev->name);
	}
	whys[i].n++;
}

static struct {
	unsigned int events, compiled, kvars, records, diff, fpe;
} n;
static struct trace_seq seq;

/* eu_argstr()'s libtraceevent text of r into seq; -1 on its SIGFPE. */
static int tep_text(const struct tep_event *ev, struct tep_record *r)
{
	trace_seq_reset(&seq);
	if (sigsetjmp(fpe_jmp, 1))
		return -1;
	trace_seq_printf(&seq, "%s: ", ev->name);
	tep_print_event(tep, &seq, r, "%s", TEP_PRINT_INFO);
	trace_seq_terminate(&seq);
	return 0;
}

/* Programs ATTACH could be handed: cut short, or bytes changed. */
static void hostile(const struct tep_event *ev, const unsigned char *prog,
		    size_t len)
{
	static unsigned char bad[KTAPVM_MAX_ARGFMT], rec[REC_MAX];
	struct kp_argprog_env env = {.symbol = symbol, .raw = rec};
	char out[256];
	size_t cut;
	int k;

	for (cut = 0; cut < len; cut++)
		if (!kp_argprog_check(prog, cut)) {
			fprintf(stderr, "%s:%s: a program cut at %zu passes\n",
				ev->system, ev->name, cut);
			unit_failures++;
			return;
		}
	env.rawlen = (kp_u32)make_record(ev, rec);
	for (k = 0; k < 8; k++) {
		memcpy(bad, prog, len);
		bad[rnd() % len] = (unsigned char)rnd();
		if (!kp_argprog_check(bad, len))
			kp_argprog_run(bad, len, &env, out, sizeof(out));
	}
}

/* The program against libtraceevent on made-up records of ev. */
static void check_event(struct tep_event *ev, unsigned int records)
{
	static unsigned char prog[KTAPVM_MAX_ARGFMT], rec[REC_MAX];
	static char got[4096];
	struct kp_argprog_env env = {.symbol = symbol, .raw = rec};
	struct tep_record r = {.data = rec};
	struct argprog_info info;
	long plen, len;
	unsigned int k;

	n.events++;
	plen = argprog_compile(ev, prog, sizeof(prog), &info);
	if (plen < 0) {
		count_why(info.why, ev);
		if (getenv("ARGPROG_VERBOSE"))
			printf("%s:%s: %s\n", ev->system, ev->name, info.why);
		return;
	}
	if (kp_argprog_check(prog, (kp_size_t)plen)) {
		fprintf(stderr, "%s:%s: compiled, but the check refuses it\n",
			ev->system, ev->name);
		unit_failures++;
		return;
	}
	n.compiled++;
	hostile(ev, prog, (size_t)plen);
	/* Kernel variables: libtraceevent's figures are no reference. */
	n.kvars += info.kvars;
	for (k = 0; k < records; k++) {
		r.size = (int)make_record(ev, rec);
		if (!r.size)
			break;
		env.rawlen = (kp_u32)r.size;
		len = kp_argprog_run(prog, (kp_size_t)plen, &env, got,
				     sizeof(got));
		n.records++;
		CHECK(len >= 0);
		if (tep_text(ev, &r) < 0) {
			if (!n.fpe++)
				printf("%s:%s: libtraceevent divides by 0\n",
				       ev->system, ev->name);
			continue;
		}
		if (info.kvars || ((size_t)len == seq.len &&
				   !memcmp(got, seq.buffer, seq.len)))
			continue;
		if (n.diff++ < 20)
			fprintf(stderr,
				"%s:%s:\n  print fmt: %s\n  libtraceevent: "
				"%.*s\n  program:       %.*s\n",
				ev->system, ev->name, ev->print_fmt.format,
				(int)seq.len, seq.buffer, (int)len, got);
		return; /* one difference per event is enough */
	}
}

/* The event whose format file is path (DIR/SYS/NAME/format), or NULL. */
static struct tep_event *parse_event(const char *dir, const char *path)
{
	struct tep_event *ev = NULL;
	char sys[256], *fmt, *name, *slash;
	size_t flen;

	fmt = slurp(path, &flen);
	if (!fmt)
		return NULL;
	snprintf(sys, sizeof(sys), "%s", path + strlen(dir) + 1);
	slash = strchr(sys, '/');
	name = slash ? slash + 1 : NULL;
	slash = name ? strchr(name, '/') : NULL;
	if (slash) {
		name[-1] = '\0';
		*slash = '\0';
		if (!tep_parse_event(tep, fmt, flen, sys))
			ev = tep_find_event_by_name(tep, sys, name);
	}
	free(fmt);
	return ev;
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "/sys/kernel/tracing/events";
	unsigned int records = argc > 2 ? (unsigned int)atoi(argv[2]) : 200;
	struct tep_event *ev;
	char pattern[512];
	glob_t g;
	size_t i;

	snprintf(pattern, sizeof(pattern), "%s/*/*/format", dir);
	if (glob(pattern, 0, NULL, &g)) {
		mount("nodev", "/sys/kernel/tracing", "tracefs", 0, NULL);
		if (glob(pattern, 0, NULL, &g)) {
			printf("SKIP: no tracepoint formats at %s\n", dir);
			return 77;
		}
	}
	signal(SIGFPE, on_fpe);
	tep = tep_alloc();
	tep_set_long_size(tep, 8);
	tep_set_page_size(tep, 4096);
	load_kallsyms();
	trace_seq_init(&seq);
	for (i = 0; i < g.gl_pathc; i++) {
		ev = parse_event(dir, g.gl_pathv[i]);
		if (ev)
			check_event(ev, records);
	}
	printf("%u of %u events compile (%u name kernel variables); %u "
	       "records compared, %u differ, %u libtraceevent could not "
	       "print\n",
	       n.compiled, n.events, n.kvars, n.records, n.diff, n.fpe);
	for (i = 0; i < 64 && whys[i].why; i++)
		printf("  %5u not: %s (e.g. %s)\n", whys[i].n, whys[i].why,
		       whys[i].example);
	if (n.diff)
		unit_failures++;
	CHECK(n.compiled * 2 >= n.events);
	trace_seq_destroy(&seq);
	tep_free(tep);
	globfree(&g);
	return unit_done("argprog");
}
