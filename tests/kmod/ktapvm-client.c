// SPDX-License-Identifier: GPL-2.0
/*
 * ktapvm-client: drives /dev/ktapvm for the kmod tests, inside the qemu
 * guest (the tests/kmod fragments). It compiles nothing: it runs chunks ktapctl
 * compiled at build time, resolving their probe specs the way ktapd's kmod
 * engine will (tracefs ids and formats, ELF symbols for uprobes).
 *
 *   ktapvm-client run [OPTIONS] CHUNK [ARG...] [-- COMMAND [ARG...]]
 *       create, load, attach every probe, start; print the output stream;
 *       stop when COMMAND exits, after --duration, or never (--hold);
 *       exit with the session's status (0, exit(n), 3 runtime error,
 *       4 chunk refused; 70 for the client's own failures)
 *   ktapvm-client golden DIR
 *       every golden case of DIR/cases through the session fd
 *   ktapvm-client hostile CHUNK
 *       bad ioctls, bad pointers, malformed chunks (hostile.c)
 *   ktapvm-client lockdown CHUNK
 *       what a kernel locked down for confidentiality refuses
 *
 * run options: --arena N --ring N --budget N --depth N --time-budget NS
 * --cpu N --pid N (or --pid-cmd: COMMAND's pid) --duration MS --hold
 * --stats (counters to stderr) --dump (the globals' JSON after the end).
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "chunk.h"
#include "client.h"
#include "engine_kmod.h"

#define TRACEFS "/sys/kernel/tracing"
#define DEFAULT_ARENA (4u << 20)
#define READ_BUF (64u << 10)

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2),
						       noreturn));

static void fail(const char *fmt, ...)
{
	va_list ap;

	fputs("ktapvm-client: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(CLIENT_EXIT_FAIL);
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ll + ts.tv_nsec / 1000000;
}

void *read_file(const char *path, size_t *len)
{
	size_t size = 4096, n = 0;
	char *buf = NULL, *nb;
	ssize_t r;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return NULL;
	for (;;) {
		if (n + 1 >= size || !buf) {
			size *= 2;
			nb = realloc(buf, size);
			if (!nb)
				break;
			buf = nb;
		}
		r = read(fd, buf + n, size - n - 1);
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	if (buf)
		buf[n] = '\0';
	*len = n;
	return buf;
}

int dev_open(void)
{
	struct ktapvm_version v = { .size = sizeof(v) };
	int dev = open(KTAPVM_DEVICE, O_RDWR | O_CLOEXEC);

	if (dev < 0)
		fail("%s: %s", KTAPVM_DEVICE, strerror(errno));
	if (ioctl(dev, KTAPVM_IOC_VERSION, &v) < 0)
		fail("VERSION: %s", strerror(errno));
	if (v.abi_version != KTAPVM_ABI_VERSION)
		fail("module ABI %u, client ABI %u", v.abi_version,
		     KTAPVM_ABI_VERSION);
	return dev;
}

int session_create(int dev, const struct session_opts *o)
{
	struct ktapvm_create c = {
		.size = sizeof(c),
		.arena_size = o->arena ? o->arena : DEFAULT_ARENA,
		.ring_size = o->ring,
		.time_budget_ns = o->time_budget,
		.insn_budget = o->budget,
		.max_call_depth = o->depth,
	};
	int fd = ioctl(dev, KTAPVM_IOC_CREATE, &c);

	return fd < 0 ? -errno : fd;
}

int session_load(int fd, const void *chunk, size_t len, int argc,
		 char *const *argv, struct ktapvm_load *l)
{
	size_t args_len = 0, n;
	char *args = NULL;
	int i, r;

	for (i = 0; i < argc; i++)
		args_len += strlen(argv[i]) + 1;
	if (args_len) {
		args = malloc(args_len);
		if (!args)
			return -ENOMEM;
		for (i = 0, n = 0; i < argc; i++) {
			strcpy(args + n, argv[i]);
			n += strlen(argv[i]) + 1;
		}
	}
	*l = (struct ktapvm_load){
		.size = sizeof(*l),
		.chunk = (uintptr_t)chunk,
		.chunk_len = (__u32)len,
		.argc = (__u32)argc,
		.args = (uintptr_t)args,
		.args_len = (__u32)args_len,
	};
	r = ioctl(fd, KTAPVM_IOC_LOAD, l) < 0 ? -errno : 0;
	free(args);
	return r;
}

int session_cmd(int fd, unsigned long cmd)
{
	struct ktapvm_start s = { .size = sizeof(s) };

	/* START and STOP take the same two fields. */
	return ioctl(fd, cmd, &s) < 0 ? -errno : 0;
}

int session_stats(int fd, struct ktapvm_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->size = sizeof(*st);
	return ioctl(fd, KTAPVM_IOC_STATS, st) < 0 ? -errno : 0;
}

int session_drain(int fd, FILE *out, bool block, __u64 *next_seq)
{
	static char buf[READ_BUF];
	const struct ktapvm_record *rec;
	int flags = fcntl(fd, F_GETFL);
	size_t off;
	ssize_t n;

	fcntl(fd, F_SETFL, block ? flags & ~O_NONBLOCK : flags | O_NONBLOCK);
	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n == 0)
			return 1;
		if (n < 0)
			return errno == EAGAIN ? 0 : -errno;
		for (off = 0; off < (size_t)n;) {
			rec = (const struct ktapvm_record *)(buf + off);
			if (rec->seq != *next_seq)
				fail("record %llu where %llu was due",
				     (unsigned long long)rec->seq,
				     (unsigned long long)*next_seq);
			fwrite(rec + 1, 1, rec->len, out);
			(*next_seq)++;
			off += (sizeof(*rec) + rec->len + KTAPVM_RECORD_ALIGN -
				1) & ~(size_t)(KTAPVM_RECORD_ALIGN - 1);
		}
	}
}

/* Probe specs */

/* The value after "key:" in a tracefs format line. */
static long format_value(const char *line, const char *key)
{
	const char *p = strstr(line, key);

	return p ? strtol(p + strlen(key), NULL, 10) : -1;
}

static bool number_size(long size)
{
	return size == 1 || size == 2 || size == 4 || size == 8;
}

static void field_add(struct ktapvm_field *f, __u32 *nf, long offset,
		      long size, __u8 kind)
{
	if (*nf >= CLIENT_MAX_FIELDS)
		return;
	f[*nf] = (struct ktapvm_field){ .offset = (__u16)offset,
					.size = (__u16)size, .kind = kind };
	(*nf)++;
}

/*
 * arg0.. as ktapd's user engine lays them out (engine_user_events.c): the
 * fields after the common_ ones, numeric arrays one arg per element,
 * strings and other arrays read as 0.
 */
static void format_fields(char *format, struct ktapvm_field *f, __u32 *nf)
{
	char *line, *save = NULL, decl[256], *name, *br, *end;
	long offset, size, elems, i;
	bool sign;

	for (line = strtok_r(format, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *p = strstr(line, "field:");

		if (!p)
			continue;
		p += 6;
		end = strchr(p, ';');
		if (!end || (size_t)(end - p) >= sizeof(decl))
			continue;
		memcpy(decl, p, (size_t)(end - p));
		decl[end - p] = '\0';
		offset = format_value(end, "offset:");
		size = format_value(end, "size:");
		sign = format_value(end, "signed:") == 1;
		br = strchr(decl, '[');
		name = br ? br : decl + strlen(decl);
		while (name > decl && !isspace((unsigned char)name[-1]))
			name--;
		if (strncmp(name, "common_", 7) == 0 || offset < 0 || size < 0)
			continue;
		if (strstr(decl, "__data_loc")) {
			field_add(f, nf, offset, 4, KTAPVM_FIELD_STRING);
		} else if (br && !strstr(decl, "char")) {
			elems = strtol(br + 1, NULL, 10);
			if (elems <= 0 || !number_size(size / elems)) {
				field_add(f, nf, offset, size,
					  KTAPVM_FIELD_OPAQUE);
				continue;
			}
			for (i = 0; i < elems; i++)
				field_add(f, nf, offset + i * (size / elems),
					  size / elems,
					  sign ? KTAPVM_FIELD_SIGNED :
						 KTAPVM_FIELD_UNSIGNED);
		} else if (br) {
			field_add(f, nf, offset, size, KTAPVM_FIELD_CHARS);
		} else if (!br && number_size(size)) {
			field_add(f, nf, offset, size,
				  sign ? KTAPVM_FIELD_SIGNED :
					 KTAPVM_FIELD_UNSIGNED);
		} else {
			field_add(f, nf, offset, size, KTAPVM_FIELD_OPAQUE);
		}
	}
}

static int tracepoint_layout(const char *sys, const char *name, __u64 *id,
			     struct ktapvm_field *f, __u32 *nf)
{
	char path[512], *text;
	size_t len;

	snprintf(path, sizeof(path), TRACEFS "/events/%s/%s/id", sys, name);
	text = read_file(path, &len);
	if (!text)
		return -errno;
	*id = strtoull(text, NULL, 10);
	free(text);
	snprintf(path, sizeof(path), TRACEFS "/events/%s/%s/format", sys,
		 name);
	text = read_file(path, &len);
	if (!text)
		return -errno;
	*nf = 0;
	format_fields(text, f, nf);
	free(text);
	return 0;
}

static void set_target(struct ktapvm_attach *a, const struct session_opts *o,
		       bool pid)
{
	kmod_attach_target(a, o->cpu, pid ? o->pid : 0);
}

static int attach(int fd, struct ktapvm_attach *a, const char *what,
		  char *err, size_t errlen)
{
	if (ioctl(fd, KTAPVM_IOC_ATTACH, a) == 0)
		return 0;
	snprintf(err, errlen, "attach '%s': %s", what, strerror(errno));
	return -errno;
}

/* probe:SYM[+OFF][%return] or probe:/PATH:(SYM|0xOFF)[%return] */
static int attach_probe(int fd, __u32 probe, char *what,
			const struct session_opts *o, char *err, size_t errlen)
{
	struct ktapvm_attach a = { .size = sizeof(a), .probe = probe };
	struct kmod_probe_spec p;
	uint64_t off;
	int efd, r;

	set_target(&a, o, true);
	r = kmod_probe_parse(what, &p, err, errlen);
	if (r < 0)
		return r;
	if (!p.path) {
		a.kind = p.ret ? KTAPVM_EV_KRETPROBE : KTAPVM_EV_KPROBE;
		a.symbol = (uintptr_t)p.symbol;
		a.offset = p.offset;
		a.name = (uintptr_t)p.symbol;
		return attach(fd, &a, p.symbol, err, errlen);
	}
	efd = open(p.path, O_RDONLY | O_CLOEXEC);
	if (efd < 0) {
		snprintf(err, errlen, "%s: %s", p.path, strerror(errno));
		return -errno;
	}
	off = p.offset;
	r = p.symbol ? kmod_elf_offset(p.path, p.symbol, &off, err, errlen) : 0;
	if (r == 0) {
		a.kind = p.ret ? KTAPVM_EV_URETPROBE : KTAPVM_EV_UPROBE;
		a.fd = efd;
		a.offset = off;
		a.name = (uintptr_t)(p.symbol ? p.symbol : p.path);
		r = attach(fd, &a, p.symbol ? p.symbol : p.path, err, errlen);
	}
	close(efd);
	return r;
}

static int attach_tracepoint(int fd, __u32 probe, char *item,
			     const struct session_opts *o, char *err,
			     size_t errlen)
{
	struct ktapvm_field fields[CLIENT_MAX_FIELDS];
	struct ktapvm_attach a = { .size = sizeof(a), .probe = probe,
				   .kind = KTAPVM_EV_TRACEPOINT };
	char *colon = strchr(item, ':');
	int r;

	if (!colon || strchr(item, '*')) {
		snprintf(err, errlen, "event '%s': SYSTEM:EVENT without globs",
			 item);
		return -EINVAL;
	}
	*colon = '\0';
	r = tracepoint_layout(item, colon + 1, &a.id, fields, &a.nfields);
	*colon = ':';
	if (r < 0) {
		snprintf(err, errlen, "event '%s': %s", item, strerror(-r));
		return r;
	}
	set_target(&a, o, true);
	a.fields = (uintptr_t)fields;
	a.name = (uintptr_t)(colon + 1);
	return attach(fd, &a, item, err, errlen);
}

static int attach_spec(int fd, __u32 probe, char *spec,
		       const struct session_opts *o, char *err, size_t errlen)
{
	char *item, *save = NULL;
	int r;

	for (item = strtok_r(spec, ",", &save); item;
	     item = strtok_r(NULL, ",", &save)) {
		while (isspace((unsigned char)*item))
			item++;
		if (strncmp(item, "probe:", 6) == 0)
			r = attach_probe(fd, probe, item + 6, o, err, errlen);
		else
			r = attach_tracepoint(fd, probe, item, o, err, errlen);
		if (r < 0)
			return r;
	}
	return 0;
}

int session_attach_all(int fd, __u32 nprobes, const struct session_opts *o,
		       char *err, size_t errlen)
{
	char spec[4096];
	__u32 i;
	int r;

	for (i = 0; i < nprobes; i++) {
		struct ktapvm_probe p = { .size = sizeof(p), .index = i,
					  .spec = (uintptr_t)spec,
					  .spec_size = sizeof(spec) };
		struct ktapvm_attach a = { .size = sizeof(a), .probe = i };

		if (ioctl(fd, KTAPVM_IOC_PROBE, &p) < 0) {
			snprintf(err, errlen, "probe %u: %s", i,
				 strerror(errno));
			return -errno;
		}
		switch (p.kind) {
		case KP_PROBE_TRACE:
			r = attach_spec(fd, i, spec, o, err, errlen);
			break;
		case KP_PROBE_TICK:
		case KP_PROBE_PROFILE:
			a.kind = p.kind == KP_PROBE_TICK ? KTAPVM_EV_TICK :
							   KTAPVM_EV_PROFILE;
			a.name = (uintptr_t)spec;
			set_target(&a, o, p.kind == KP_PROBE_PROFILE);
			r = attach(fd, &a, spec, err, errlen);
			break;
		default:
			r = 0;
			break;
		}
		if (r < 0)
			return r;
	}
	return 0;
}

/* run */

struct run_opts {
	struct session_opts s;
	long long duration_ms;
	bool hold, stats, dump, pid_cmd;
	const char *chunk;
	int argc; /* script arguments, argv[0] = the chunk's name */
	char **argv;
	char **cmd;
};

static __u64 size_arg(const char *s)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 0);

	switch (*end) {
	case 'k': case 'K':
		return v << 10;
	case 'm': case 'M':
		return v << 20;
	default:
		return v;
	}
}

static void run_usage(void)
{
	fail("usage: run [--arena N] [--ring N] [--budget N] [--depth N] "
	     "[--time-budget NS] [--cpu N] [--pid N | --pid-cmd] "
	     "[--duration MS] [--hold] [--stats] [--dump] CHUNK [ARG...] "
	     "[-- COMMAND...]");
}

static void parse_run(int argc, char **argv, struct run_opts *o)
{
	int i;

	o->s.cpu = -1;
	for (i = 0; i < argc && argv[i][0] == '-' && argv[i][1] == '-'; i++) {
		const char *opt = argv[i] + 2;
		const char *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(opt, "hold") == 0)
			o->hold = true;
		else if (strcmp(opt, "stats") == 0)
			o->stats = true;
		else if (strcmp(opt, "dump") == 0)
			o->dump = true;
		else if (strcmp(opt, "pid-cmd") == 0)
			o->pid_cmd = true;
		else if (!val)
			run_usage();
		else if (strcmp(opt, "arena") == 0)
			o->s.arena = size_arg(argv[++i]);
		else if (strcmp(opt, "ring") == 0)
			o->s.ring = size_arg(argv[++i]);
		else if (strcmp(opt, "budget") == 0)
			o->s.budget = (__u32)size_arg(argv[++i]);
		else if (strcmp(opt, "depth") == 0)
			o->s.depth = (__u32)size_arg(argv[++i]);
		else if (strcmp(opt, "time-budget") == 0)
			o->s.time_budget = size_arg(argv[++i]);
		else if (strcmp(opt, "cpu") == 0)
			o->s.cpu = atoi(argv[++i]);
		else if (strcmp(opt, "pid") == 0)
			o->s.pid = atoi(argv[++i]);
		else if (strcmp(opt, "duration") == 0)
			o->duration_ms = atoll(argv[++i]);
		else
			run_usage();
	}
	if (i >= argc)
		run_usage();
	o->chunk = argv[i];
	o->argv = argv + i;
	for (o->argc = 0; i < argc && strcmp(argv[i], "--"); i++)
		o->argc++;
	if (i < argc && i + 1 < argc)
		o->cmd = argv + i + 1;
	if (o->pid_cmd && !o->cmd)
		run_usage();
}

/* COMMAND, forked now and waiting on a pipe until the session runs. */
static pid_t spawn_held(char **cmd, int *go)
{
	int p[2];
	pid_t pid;
	char c;

	if (pipe2(p, O_CLOEXEC) < 0)
		fail("pipe: %s", strerror(errno));
	pid = fork();
	if (pid < 0)
		fail("fork: %s", strerror(errno));
	if (pid == 0) {
		close(p[1]);
		if (read(p[0], &c, 1) != 1)
			_exit(127);
		execvp(cmd[0], cmd);
		fprintf(stderr, "ktapvm-client: %s: %s\n", cmd[0],
			strerror(errno));
		_exit(127);
	}
	close(p[0]);
	*go = p[1];
	return pid;
}

static void print_stats(const struct ktapvm_stats *st)
{
	fprintf(stderr,
		"stats: state=%u status=%d failed=%u events=%llu "
		"drop_recursion=%llu drop_contention=%llu drop_missed=%llu "
		"drop_budget=%llu short_records=%llu out_records=%llu "
		"out_bytes=%llu lost_records=%llu lost_bytes=%llu "
		"mem_in_use=%llu mem_peak=%llu mem_quota=%llu cpu_ns=%llu "
		"nprobes=%u error=%s\n",
		st->state, st->exit_status,
		!!(st->flags & KTAPVM_STATS_FAILED),
		(unsigned long long)st->events,
		(unsigned long long)st->drop_recursion,
		(unsigned long long)st->drop_contention,
		(unsigned long long)st->drop_missed,
		(unsigned long long)st->drop_budget,
		(unsigned long long)st->short_records,
		(unsigned long long)st->out_records,
		(unsigned long long)st->out_bytes,
		(unsigned long long)st->lost_records,
		(unsigned long long)st->lost_bytes,
		(unsigned long long)st->mem_in_use,
		(unsigned long long)st->mem_peak,
		(unsigned long long)st->mem_quota,
		(unsigned long long)st->cpu_ns, st->nprobes, st->error);
}

static void print_dump(int fd)
{
	struct ktapvm_dump d = { .size = sizeof(d) };
	char *buf = NULL;
	int r;

	/* Ask for the length first, then the text. */
	r = ioctl(fd, KTAPVM_IOC_DUMP, &d);
	if (r == 0 || errno != ENOSPC)
		fail("DUMP without a buffer: %d %s", r, strerror(errno));
	buf = malloc(d.len);
	if (!buf)
		fail("out of memory");
	d = (struct ktapvm_dump){ .size = sizeof(d), .buf = (uintptr_t)buf,
				  .buf_size = d.len ? d.len : 1 };
	if (ioctl(fd, KTAPVM_IOC_DUMP, &d) < 0)
		fail("DUMP: %s", strerror(errno));
	fwrite(buf, 1, d.len, stdout);
	fputc('\n', stdout);
	free(buf);
}

/* The stream until the session ends, stopping it when it is time. */
static void follow(int fd, const struct run_opts *o, pid_t child, bool stop)
{
	long long start = now_ms();
	struct pollfd p = { .fd = fd, .events = POLLIN };
	__u64 seq = 0;
	int r, status;

	for (;;) {
		poll(&p, 1, 50);
		r = session_drain(fd, stdout, false, &seq);
		fflush(stdout);
		if (r < 0)
			fail("read: %s", strerror(-r));
		if (r == 1)
			return;
		if (child > 0 && waitpid(child, &status, WNOHANG) == child)
			stop = true;
		if (o->duration_ms && now_ms() - start >= o->duration_ms)
			stop = true;
		if (stop && !o->hold)
			break;
	}
	r = session_cmd(fd, KTAPVM_IOC_STOP);
	if (r < 0)
		fail("STOP: %s", strerror(-r));
	r = session_drain(fd, stdout, true, &seq);
	fflush(stdout);
	if (r < 0)
		fail("read: %s", strerror(-r));
}

static int cmd_run(int argc, char **argv)
{
	struct run_opts o = { 0 };
	struct ktapvm_stats st;
	struct ktapvm_load l;
	pid_t child = 0;
	char err[512];
	int dev, fd, go = -1, r, status;
	void *chunk;
	size_t len;

	parse_run(argc, argv, &o);
	chunk = read_file(o.chunk, &len);
	if (!chunk)
		fail("%s: %s", o.chunk, strerror(errno));
	dev = dev_open();
	fd = session_create(dev, &o.s);
	if (fd < 0)
		fail("CREATE: %s", strerror(-fd));
	r = session_load(fd, chunk, len, o.argc, o.argv, &l);
	if (r == -EINVAL && l.err_reason[0]) {
		fprintf(stderr, "error: verify: function %d pc %d: %s\n",
			l.err_func, l.err_pc, l.err_reason);
		return CLIENT_EXIT_VERIFY;
	}
	if (r == -ENOMEM) {
		printf("error: out of memory (arena of %llu bytes)\n",
		       (unsigned long long)(o.s.arena ? o.s.arena :
							DEFAULT_ARENA));
		return CLIENT_EXIT_RUNTIME;
	}
	if (r < 0)
		fail("LOAD: %s", strerror(-r));
	if (o.cmd) {
		child = spawn_held(o.cmd, &go);
		if (o.pid_cmd)
			o.s.pid = child;
	}
	if (session_attach_all(fd, l.nprobes, &o.s, err, sizeof(err)) < 0)
		fail("%s", err);
	r = session_cmd(fd, KTAPVM_IOC_START);
	if (r < 0)
		fail("START: %s", strerror(-r));
	if (o.hold)
		fprintf(stderr, "ktapvm-client: started\n");
	if (go >= 0 && (write(go, "g", 1) != 1 || close(go) < 0))
		fail("cannot start %s", o.cmd[0]);
	/*
	 * Nothing armed and no command: only main ran, it is over (as ktapctl
	 * run does, and ktap did).
	 */
	if (session_stats(fd, &st) < 0)
		fail("STATS: %s", strerror(errno));
	follow(fd, &o, child, !st.nprobes && !o.cmd);
	if (child > 0)
		waitpid(child, &status, 0);
	if (session_stats(fd, &st) < 0)
		fail("STATS: %s", strerror(errno));
	if (o.stats)
		print_stats(&st);
	if (o.dump)
		print_dump(fd);
	if (st.state != KTAPVM_STATE_ENDED)
		fail("the session did not end (state %u)", st.state);
	fflush(stdout);
	close(fd);
	close(dev);
	free(chunk);
	return st.exit_status;
}

/* golden */

struct golden_case {
	char name[128];
	int status;
	unsigned long long arena, budget, depth;
};

/* The output and status of one case, as ktaprun would give them. */
static int golden_run(int dev, const char *dir, const struct golden_case *c,
		      char **out, size_t *outlen)
{
	struct session_opts so = { .arena = c->arena, .budget = c->budget,
				   .depth = c->depth, .cpu = -1 };
	char path[512], *argv[64], *args, *p;
	struct ktapvm_stats st;
	struct ktapvm_load l;
	size_t len, args_len;
	FILE *f = open_memstream(out, outlen);
	__u64 seq = 0;
	void *chunk;
	int fd, argc = 0, status;

	snprintf(path, sizeof(path), "%s/%s.args", dir, c->name);
	args = read_file(path, &args_len);
	snprintf(path, sizeof(path), "%s/%s.kpc", dir, c->name);
	chunk = read_file(path, &len);
	if (!f || !args || !chunk)
		fail("%s: cannot read its files", c->name);
	for (p = args; p < args + args_len && argc < 64; p += strlen(p) + 1)
		argv[argc++] = p;
	fd = session_create(dev, &so);
	if (fd < 0)
		fail("%s: CREATE: %s", c->name, strerror(-fd));
	status = session_load(fd, chunk, len, argc, argv, &l);
	if (status == -EINVAL) {
		status = CLIENT_EXIT_VERIFY;
	} else if (status == -ENOMEM) {
		fprintf(f, "error: out of memory (arena of %llu bytes)\n",
			c->arena);
		status = CLIENT_EXIT_RUNTIME;
	} else if (status < 0) {
		fail("%s: LOAD: %s", c->name, strerror(-status));
	} else {
		if (session_cmd(fd, KTAPVM_IOC_START) < 0 ||
		    session_cmd(fd, KTAPVM_IOC_STOP) < 0 ||
		    session_drain(fd, f, true, &seq) != 1 ||
		    session_stats(fd, &st) < 0)
			fail("%s: session: %s", c->name, strerror(errno));
		status = st.exit_status;
	}
	fclose(f);
	close(fd);
	free(args);
	free(chunk);
	return status;
}

static int cmd_golden(const char *dir)
{
	struct golden_case c;
	unsigned int passed = 0, failed = 0;
	char path[512], *out, *want;
	size_t outlen, wantlen;
	int dev = dev_open(), status;
	FILE *cases;

	snprintf(path, sizeof(path), "%s/cases", dir);
	cases = fopen(path, "re");
	if (!cases)
		fail("%s: %s", path, strerror(errno));
	while (fscanf(cases, "%127s %d %llu %llu %llu", c.name, &c.status,
		      &c.arena, &c.budget, &c.depth) == 5) {
		status = golden_run(dev, dir, &c, &out, &outlen);
		snprintf(path, sizeof(path), "%s/%s.out", dir, c.name);
		want = read_file(path, &wantlen);
		if (!want)
			fail("%s: %s", path, strerror(errno));
		if (outlen != wantlen || memcmp(out, want, outlen)) {
			printf("golden: %s: FAILED: output differs:\n%.*s",
			       c.name, (int)outlen, out);
			failed++;
		} else if (status != c.status) {
			printf("golden: %s: FAILED: status %d, expected %d\n",
			       c.name, status, c.status);
			failed++;
		} else {
			passed++;
		}
		free(out);
		free(want);
	}
	fclose(cases);
	printf("golden: %u passed, %u failed\n", passed, failed);
	return failed || !passed ? 1 : 0;
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	if (argc >= 2 && strcmp(argv[1], "run") == 0)
		return cmd_run(argc - 2, argv + 2);
	if (argc == 3 && strcmp(argv[1], "golden") == 0)
		return cmd_golden(argv[2]);
	if (argc >= 2 && strcmp(argv[1], "hostile") == 0)
		return hostile_main(argc - 2, argv + 2);
	if (argc >= 2 && strcmp(argv[1], "lockdown") == 0)
		return lockdown_main(argc - 2, argv + 2);
	fail("usage: ktapvm-client run|golden|hostile|lockdown ...");
}
