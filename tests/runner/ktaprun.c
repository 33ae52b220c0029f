// SPDX-License-Identifier: GPL-2.0
/*
 * ktaprun: compile a script and run it in this process, the way a session
 * would, with synthetic events for its probes. The stand-in for ktapd used
 * by the language golden tests and the VM benchmark.
 *
 * Output: the session output (print, printf, runtime error lines) goes to
 * stdout; compile and verifier errors, usage and --stats go to stderr.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chunk.h"
#include "lang.h"
#include "opcodes.h"
#include "vm.h"

#define RUN_DEFAULT_ARENA (4u << 20)

/* Exit statuses shared by the command-line tools. */
#define RUN_EXIT_COMPILE 1
#define RUN_EXIT_USAGE 2
#define RUN_EXIT_RUNTIME 3
#define RUN_EXIT_VERIFY 4

struct run_opts {
	/* Numbers, bounded by run_numeric_opts[]. */
	unsigned long long arena_size, budget, depth, events;
	int stats;
	const char *text; /* -e TEXT, or NULL: read the script file */
	int argc; /* script path (or "-e") and its arguments */
	const char *const *argv;
};

static const char usage[] =
	"usage: ktaprun [--arena SIZE] [--budget N] [--events N] [--depth N]\n"
	"               [--stats] (script.kp | -e TEXT) [args...]\n";

static void run_write(void *host, const char *buf, kp_size_t len)
{
	fwrite(buf, 1, len, stdout);
}

static const struct kp_host_ops run_ops = { .write = run_write };

/* Parse a decimal number with an optional K, M or G (binary) suffix. */
static int parse_size(const char *s, unsigned long long max,
		      unsigned long long *out)
{
	unsigned long long v, mul = 1;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *s == '-')
		return -EINVAL;
	switch (*end) {
	case 'K': case 'k': mul = 1ull << 10; end++; break;
	case 'M': case 'm': mul = 1ull << 20; end++; break;
	case 'G': case 'g': mul = 1ull << 30; end++; break;
	}
	if (*end || v > max / mul)
		return -EINVAL;
	*out = v * mul;
	return 0;
}

/* The options that take a number: K, M and G suffixes are accepted. */
static const struct {
	const char *name;
	unsigned long long max;
	size_t offset;
} run_numeric_opts[] = {
	{ "--arena", SIZE_MAX, offsetof(struct run_opts, arena_size) },
	{ "--budget", UINT32_MAX, offsetof(struct run_opts, budget) },
	{ "--depth", UINT32_MAX, offsetof(struct run_opts, depth) },
	{ "--events", ULONG_MAX, offsetof(struct run_opts, events) },
};

static int parse_numeric_opt(struct run_opts *o, const char *opt,
			     const char *val)
{
	size_t i;

	for (i = 0; i < sizeof(run_numeric_opts) / sizeof(run_numeric_opts[0]);
	     i++) {
		if (strcmp(opt, run_numeric_opts[i].name))
			continue;
		if (parse_size(val, run_numeric_opts[i].max,
			       (unsigned long long *)((char *)o +
						      run_numeric_opts[i].offset)) <
		    0) {
			fprintf(stderr, "ktaprun: bad value '%s' for %s\n", val,
				opt);
			return -EINVAL;
		}
		return 0;
	}
	fprintf(stderr, "ktaprun: unknown option %s\n", opt);
	return -EINVAL;
}

static int parse_args(int argc, char **argv, struct run_opts *o)
{
	int i;

	*o = (struct run_opts){ .arena_size = RUN_DEFAULT_ARENA };
	for (i = 1; i < argc; i++) {
		const char *opt = argv[i], *val = argv[i + 1];

		if (!strcmp(opt, "--stats")) {
			o->stats = 1;
			continue;
		}
		if (!strcmp(opt, "--")) {
			i++;
			break;
		}
		if (opt[0] != '-' || !opt[1])
			break;
		if (!val) {
			fprintf(stderr, "ktaprun: %s needs a value\n", opt);
			return -EINVAL;
		}
		if (!strcmp(opt, "-e")) {
			/* arg[0] is "-e"; the script's arguments follow TEXT. */
			o->text = val;
			i++;
			argv[i] = argv[i - 1];
			break;
		}
		if (parse_numeric_opt(o, opt, val) < 0)
			return -EINVAL;
		i++;
	}
	if (i >= argc) {
		fputs(usage, stderr);
		return -EINVAL;
	}
	o->argc = argc - i;
	o->argv = (const char *const *)argv + i;
	return 0;
}

static int read_file(const char *path, char **text, size_t *len)
{
	FILE *f = fopen(path, "rb");
	size_t cap = 4096, n = 0;
	char *buf = NULL, *p;

	if (!f)
		return -errno;
	for (;;) {
		p = realloc(buf, cap);
		if (!p) {
			free(buf);
			fclose(f);
			return -ENOMEM;
		}
		buf = p;
		n += fread(buf + n, 1, cap - n, f);
		if (n < cap)
			break;
		cap *= 2;
	}
	if (ferror(f)) {
		free(buf);
		fclose(f);
		return -EIO;
	}
	fclose(f);
	*text = buf;
	*len = n;
	return 0;
}

/* The synthetic event's text fields; data points at the event number. */
static long event_str(const struct kp_event *ev, int field, char *buf,
		      kp_size_t size)
{
	int n;

	switch (field) {
	case KP_EV_EXECNAME:
		n = snprintf(buf, size, "ktaprun");
		break;
	case KP_EV_PROBENAME:
		n = snprintf(buf, size, "ktaprun_event");
		break;
	case KP_EV_ARGSTR:
		n = snprintf(buf, size, "ktaprun_event: n=%lu",
			     *(const unsigned long *)ev->data);
		break;
	default:
		return -1;
	}
	return n < 0 ? -1 : (long)((kp_size_t)n < size ? (kp_size_t)n : size);
}

static int is_event_probe(const struct kp_vm *vm, unsigned int probe)
{
	struct kp_probe_info info;

	if (kp_vm_probe_info(vm, probe, &info))
		return 0;
	return info.kind == KP_PROBE_TRACE || info.kind == KP_PROBE_TICK ||
	       info.kind == KP_PROBE_PROFILE;
}

/*
 * Round k (0 .. n-1) fires event k at every TRACE, TICK and PROFILE probe in
 * probe-table order. Stops at exit() or a runtime error.
 */
static int fire_events(struct kp_vm *vm, unsigned long n)
{
	unsigned int p, nprobes = kp_vm_nprobes(vm);
	unsigned long k;
	struct kp_event ev = {
		.pid = 4242,
		.tid = 4243,
		.uid = 1000,
		.cpu = 0,
		.nargs = 10,
		.str_field = event_str,
		.data = &k,
	};
	int i, r;

	for (k = 0; k < n; k++) {
		for (i = 0; i < 10; i++)
			ev.args[i] = (kp_s64)k * 10 + i;
		for (p = 0; p < nprobes; p++) {
			if (!is_event_probe(vm, p))
				continue;
			r = kp_vm_run_probe(vm, p, &ev);
			if (r != KP_OK || kp_vm_exited(vm))
				return r;
		}
	}
	return KP_OK;
}

/* The session's arena cannot hold what the script needs. */
static void out_of_memory(const struct run_opts *o)
{
	printf("error: out of memory (arena of %llu bytes)\n", o->arena_size);
}

static void runtime_error(const struct kp_vm *vm)
{
	printf("error: %s\n", kp_vm_error(vm));
}

/* "function F pc P: " names the place when the verifier knows it. */
static void verify_error(const struct kp_verify_error *err)
{
	fputs("error: verify: ", stderr);
	if (err->func >= 0)
		fprintf(stderr, err->pc >= 0 ? "function %d pc %d: " :
					       "function %d: ",
			err->func, err->pc);
	fprintf(stderr, "%s\n", err->reason);
}

static void print_stats(const struct kp_vm *vm)
{
	struct kp_mem_stats st;

	kp_vm_mem_stats(vm, &st);
	fprintf(stderr,
		"arena %zu in_use %zu peak %zu collections %" PRIu64 "\n",
		(size_t)st.arena_size, (size_t)st.in_use, (size_t)st.peak,
		(uint64_t)st.collections);
}

/* main, the events, trace_end: the exit status of the session. */
static int run_session(struct kp_vm *vm, const struct run_opts *o)
{
	int r;

	if (kp_vm_set_args(vm, o->argc, o->argv) < 0) {
		out_of_memory(o);
		return RUN_EXIT_RUNTIME;
	}
	r = kp_vm_run_main(vm);
	if (r == KP_OK && !kp_vm_exited(vm))
		r = fire_events(vm, o->events);
	if (r != KP_ERROR)
		r = kp_vm_run_end(vm);
	if (r == KP_ERROR) {
		runtime_error(vm);
		return RUN_EXIT_RUNTIME;
	}
	return kp_vm_exited(vm) ? kp_vm_exit_status(vm) : 0;
}

static int run_chunk(const void *chunk, size_t len, const struct run_opts *o)
{
	struct kp_verify_error err;
	struct kp_vm_config cfg = {
		.arena_size = o->arena_size,
		.insn_budget = o->budget,
		.max_call_depth = o->depth,
		.ops = &run_ops,
	};
	struct kp_vm *vm;
	int r, status;

	cfg.arena = malloc(o->arena_size ? o->arena_size : 1);
	if (!cfg.arena) {
		fprintf(stderr, "ktaprun: cannot allocate an arena of %llu bytes\n",
			o->arena_size);
		return RUN_EXIT_USAGE;
	}
	r = kp_vm_create(&vm, &cfg);
	if (r < 0) {
		out_of_memory(o);
		free(cfg.arena);
		return RUN_EXIT_RUNTIME;
	}
	r = kp_vm_load(vm, chunk, len, &err);
	if (r == -EINVAL) {
		verify_error(&err);
		status = RUN_EXIT_VERIFY;
	} else if (r < 0) {
		out_of_memory(o);
		status = RUN_EXIT_RUNTIME;
	} else {
		status = run_session(vm, o);
		if (o->stats)
			print_stats(vm);
	}
	fflush(stdout);
	free(cfg.arena);
	return status;
}

int main(int argc, char **argv)
{
	struct run_opts o;
	char *text = NULL;
	const char *name;
	void *chunk;
	size_t len = 0, chunk_len;
	int r;

	if (parse_args(argc, argv, &o) < 0)
		return RUN_EXIT_USAGE;
	name = o.argv[0];
	if (o.text) {
		len = strlen(o.text);
	} else {
		r = read_file(name, &text, &len);
		if (r < 0) {
			fprintf(stderr, "ktaprun: cannot read %s: %s\n", name,
				strerror(-r));
			return RUN_EXIT_USAGE;
		}
	}
	r = kpc_compile(o.text ? o.text : text, len, name, &chunk, &chunk_len,
			stderr);
	free(text);
	if (r < 0) {
		if (r == -ENOMEM)
			fprintf(stderr, "ktaprun: out of memory compiling %s\n",
				name);
		return RUN_EXIT_COMPILE;
	}
	r = run_chunk(chunk, chunk_len, &o);
	free(chunk);
	return r;
}
