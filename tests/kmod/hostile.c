// SPDX-License-Identifier: GPL-2.0
/*
 * ktapvm-client hostile CHUNK: what a careless or hostile caller can throw
 * at /dev/ktapvm must be refused with the documented errno and leave the
 * module working: wrong sizes, non-zero reserved and tail bytes, bad
 * pointers, commands in the wrong state, malformed and mutated chunks,
 * impossible attachments, reads too small. CHUNK has a sched:sched_switch
 * probe (0), a tick-10ms probe (1) and trace_end (2) printing
 * "hostile end\ttrue". Prints a line per failed check and a summary;
 * exits 1 when a check failed. ktapvm-client lockdown CHUNK checks what
 * lockdown=confidentiality takes away.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "client.h"

#define MUTATIONS 300
#define NOBODY 65534

static unsigned int passed, failed;
/* An address nothing is mapped at, hidden from the compiler's checks. */
static volatile uintptr_t unmapped = 8;

static void expect(int line, const char *what, long r, int want)
{
	int got = r < 0 ? errno : 0;

	if (got == want) {
		passed++;
		return;
	}
	failed++;
	printf("hostile: FAIL line %d: %s: got %s, expected %s\n", line, what,
	       got ? strerror(got) : "success",
	       want ? strerror(want) : "success");
}

/* session_*() return -errno: as a system call would. */
static long sys(int r)
{
	if (r >= 0)
		return r;
	errno = -r;
	return -1;
}

/* The call's text names the check. */
#define EXPECT(want, call) expect(__LINE__, #call, (call), (want))
#define CHECK(cond)                                                        \
	expect(__LINE__, #cond, (cond) ? 0 : (errno = EPROTO, -1), 0)

static int new_session(int dev)
{
	struct session_opts o = { .arena = 1 << 20, .budget = 100000,
				  .cpu = -1 };
	int fd = session_create(dev, &o);

	if (fd < 0) {
		printf("hostile: FAIL CREATE: %s\n", strerror(-fd));
		exit(1);
	}
	return fd;
}

static int loaded_session(int dev, const void *chunk, size_t len)
{
	char *argv[] = { "hostile.kp" };
	struct ktapvm_load l;
	int fd = new_session(dev);

	if (session_load(fd, chunk, len, 1, argv, &l) < 0) {
		printf("hostile: FAIL LOAD of the good chunk: %s\n",
		       strerror(errno));
		exit(1);
	}
	return fd;
}

static int load(int fd, const void *chunk, size_t len)
{
	struct ktapvm_load l;
	int r = session_load(fd, chunk, len, 0, NULL, &l);

	if (r == -EINVAL && !l.err_reason[0] && len >= 4)
		printf("hostile: note: EINVAL without a reason\n");
	errno = -r;
	return r < 0 ? -1 : 0;
}

static void version_checks(int dev)
{
	struct {
		struct ktapvm_version v;
		char tail[16];
	} big;
	struct ktapvm_version v = { .size = sizeof(v) };

	EXPECT(0, ioctl(dev, KTAPVM_IOC_VERSION, &v));
	CHECK(v.abi_version == KTAPVM_ABI_VERSION && v.nr_cpus > 0 &&
	      (v.features & KTAPVM_FEAT_STRINGS) &&
	      v.max_record >= 64 && v.max_fields == CLIENT_MAX_FIELDS);
	EXPECT(EFAULT, ioctl(dev, KTAPVM_IOC_VERSION, NULL));
	EXPECT(EFAULT, ioctl(dev, KTAPVM_IOC_VERSION, (void *)1));
	v.size = 0;
	EXPECT(EINVAL, ioctl(dev, KTAPVM_IOC_VERSION, &v));
	v.size = 4;
	EXPECT(EINVAL, ioctl(dev, KTAPVM_IOC_VERSION, &v));
	memset(&big, 0, sizeof(big));
	big.v.size = sizeof(big);
	EXPECT(0, ioctl(dev, KTAPVM_IOC_VERSION, &big));
	big.tail[7] = 1;
	EXPECT(E2BIG, ioctl(dev, KTAPVM_IOC_VERSION, &big));
	big.v.size = 4097;
	EXPECT(E2BIG, ioctl(dev, KTAPVM_IOC_VERSION, &big));
	EXPECT(ENOTTY, ioctl(dev, _IO(KTAPVM_IOC_TYPE, 0x7f)));
	EXPECT(ENOTTY, ioctl(dev, KTAPVM_IOC_LOAD, &v));
}

static void create_checks(int dev)
{
	struct ktapvm_version v = { .size = sizeof(v) };
	struct ktapvm_create c;
	int fd;

	ioctl(dev, KTAPVM_IOC_VERSION, &v);
#define BAD_CREATE(field, value)                                           \
	do {                                                               \
		c = (struct ktapvm_create){ .size = sizeof(c),             \
					    .arena_size = 1 << 20 };       \
		c.field = (value);                                         \
		EXPECT(EINVAL, ioctl(dev, KTAPVM_IOC_CREATE, &c));         \
	} while (0)
	BAD_CREATE(flags, 1);
	BAD_CREATE(arena_size, 0);
	BAD_CREATE(arena_size, v.max_arena + 1);
	BAD_CREATE(ring_size, 12345);
	BAD_CREATE(ring_size, v.min_ring / 2);
	BAD_CREATE(ring_size, v.max_ring * 2);
	BAD_CREATE(insn_budget, v.max_insn_budget + 1);
	BAD_CREATE(time_budget_ns, v.max_time_budget_ns + 1);
	BAD_CREATE(max_call_depth, v.max_call_depth + 1);
	BAD_CREATE(size, 8);
#undef BAD_CREATE
	EXPECT(EFAULT, ioctl(dev, KTAPVM_IOC_CREATE, (void *)16));
	c = (struct ktapvm_create){ .size = sizeof(c), .arena_size = 1 << 20 };
	fd = ioctl(dev, KTAPVM_IOC_CREATE, &c);
	EXPECT(0, fd);
	CHECK(fd >= 0 && (fcntl(fd, F_GETFD) & FD_CLOEXEC));
	EXPECT(ENOTTY, ioctl(fd, KTAPVM_IOC_VERSION, &v));
	EXPECT(ENOTTY, ioctl(fd, KTAPVM_IOC_CREATE, &c));
	close(fd);
}

/* Mode 0600 keeps others out; the open itself wants CAP_SYS_ADMIN. */
static void permission_checks(void)
{
	int st, mode;
	pid_t pid;

	for (mode = 0600; mode <= 0666; mode += 0066) {
		if (chmod(KTAPVM_DEVICE, mode) < 0)
			break;
		pid = fork();
		if (pid == 0) {
			if (setgid(NOBODY) < 0 || setuid(NOBODY) < 0)
				_exit(100);
			_exit(open(KTAPVM_DEVICE, O_RDWR) < 0 ? errno : 0);
		}
		waitpid(pid, &st, 0);
		errno = WEXITSTATUS(st);
		if (mode == 0600)
			EXPECT(EACCES, errno ? -1 : 0);
		else
			EXPECT(EPERM, errno ? -1 : 0);
	}
	chmod(KTAPVM_DEVICE, 0600);
}

static void load_checks(int dev, const char *chunk, size_t len)
{
	char *argv[] = { "a", "b" }, *bad = malloc(len + 1);
	struct ktapvm_load l;
	struct ktapvm_attach a = { .size = sizeof(a),
				   .kind = KTAPVM_EV_TICK, .probe = 1 };
	struct ktapvm_dump d = { .size = sizeof(d) };
	int fd = new_session(dev), i;

	/* Nothing loaded yet. */
	EXPECT(EINVAL, ioctl(fd, KTAPVM_IOC_ATTACH, &a));
	EXPECT(EINVAL, sys(session_cmd(fd, KTAPVM_IOC_START)));
	EXPECT(EINVAL, ioctl(fd, KTAPVM_IOC_DUMP, &d));

#define BAD_LOAD(err, field, value)                                        \
	do {                                                               \
		l = (struct ktapvm_load){ .size = sizeof(l),               \
					  .chunk = (uintptr_t)chunk,       \
					  .chunk_len = (__u32)len };       \
		l.field = (value);                                         \
		EXPECT(err, ioctl(fd, KTAPVM_IOC_LOAD, &l));               \
	} while (0)
	BAD_LOAD(EFAULT, chunk, 0);
	BAD_LOAD(EFAULT, chunk, 1);
	BAD_LOAD(EINVAL, chunk_len, 0);
	BAD_LOAD(EINVAL, chunk_len, 17u << 20);
	BAD_LOAD(EINVAL, flags, 1);
	BAD_LOAD(EINVAL, err_pc, 5);
	BAD_LOAD(EINVAL, nprobes, 1);
	BAD_LOAD(EINVAL, argc, 1); /* and no args */
	BAD_LOAD(EINVAL, args_len, 70000);
#undef BAD_LOAD
	l = (struct ktapvm_load){ .size = sizeof(l), .chunk = (uintptr_t)chunk,
				  .chunk_len = (__u32)len, .argc = 1,
				  .args = (uintptr_t)"abc", .args_len = 3 };
	EXPECT(EINVAL, ioctl(fd, KTAPVM_IOC_LOAD, &l)); /* no final NUL */
	l.argc = 2;
	l.args_len = 4;
	EXPECT(EINVAL, ioctl(fd, KTAPVM_IOC_LOAD, &l)); /* one string */
	l.args = 8;
	EXPECT(EFAULT, ioctl(fd, KTAPVM_IOC_LOAD, &l));

	/* Malformed chunks: refused with a reason, the session reusable. */
	for (i = 0; i < 64; i++)
		bad[i] = (char)(i * 37 + 11);
	EXPECT(EINVAL, load(fd, bad, 64));
	EXPECT(EINVAL, load(fd, chunk, len / 2));
	memcpy(bad, chunk, len);
	bad[1] ^= 0x20;
	EXPECT(EINVAL, load(fd, bad, len));
	memcpy(bad, chunk, len);
	bad[len] = 0;
	EXPECT(EINVAL, load(fd, bad, len + 1));
	l = (struct ktapvm_load){ .size = sizeof(l) };
	EXPECT(EINVAL, sys(session_load(fd, bad, 64, 0, NULL, &l)));
	CHECK(l.err_reason[0] != '\0');

	/* The good one loads once. */
	EXPECT(0, sys(session_load(fd, chunk, len, 2, argv, &l)));
	CHECK(l.nprobes == 3);
	EXPECT(EBUSY, sys(session_load(fd, chunk, len, 0, NULL, &l)));
	close(fd);
	free(bad);
}

/* Random byte changes: each is refused, or loads and runs harmlessly. */
static void mutation_checks(int dev, const char *chunk, size_t len)
{
	unsigned int seed = 1, i, j, loaded = 0;
	char *m = malloc(len);
	int fd = -1, r;

	for (i = 0; i < MUTATIONS; i++) {
		memcpy(m, chunk, len);
		for (j = 0; j < 1 + i % 3; j++) {
			seed = seed * 1103515245u + 12345u;
			m[(seed >> 8) % len] = (char)(seed >> 20);
		}
		if (fd < 0)
			fd = new_session(dev);
		r = load(fd, m, len);
		if (r < 0 && errno != EINVAL && errno != ENOMEM)
			expect(__LINE__, "mutated chunk", r, EINVAL);
		if (r < 0)
			continue;
		loaded++;
		/* main and trace_end only: nothing is attached. */
		EXPECT(0, sys(session_cmd(fd, KTAPVM_IOC_START)));
		EXPECT(0, sys(session_cmd(fd, KTAPVM_IOC_STOP)));
		close(fd);
		fd = -1;
	}
	if (fd >= 0)
		close(fd);
	printf("hostile: %u mutated chunks, %u passed the verifier\n",
	       MUTATIONS, loaded);
	free(m);
}

static __u64 sched_switch_id(void)
{
	size_t len;
	char *t = read_file("/sys/kernel/tracing/events/sched/sched_switch/id",
			    &len);
	__u64 id = t ? strtoull(t, NULL, 10) : 0;

	free(t);
	return id;
}

static void probe_checks(int fd)
{
	char spec[64];
	struct ktapvm_probe p = { .size = sizeof(p), .index = 0,
				  .spec = (uintptr_t)spec,
				  .spec_size = sizeof(spec) };

	EXPECT(0, ioctl(fd, KTAPVM_IOC_PROBE, &p));
	CHECK(p.kind == 1 && strcmp(spec, "sched:sched_switch") == 0);
	p.index = 99;
	EXPECT(EINVAL, ioctl(fd, KTAPVM_IOC_PROBE, &p));
	p = (struct ktapvm_probe){ .size = sizeof(p), .index = 1,
				   .spec = 4, .spec_size = 8 };
	EXPECT(EFAULT, ioctl(fd, KTAPVM_IOC_PROBE, &p));
	p.spec_size = 0;
	EXPECT(EINVAL, ioctl(fd, KTAPVM_IOC_PROBE, &p));
	p = (struct ktapvm_probe){ .size = sizeof(p), .index = 1, .line = 3 };
	EXPECT(EINVAL, ioctl(fd, KTAPVM_IOC_PROBE, &p));
}

static void attach_checks(int fd)
{
	struct ktapvm_field fields[CLIENT_MAX_FIELDS + 1] = {
		{ .offset = 24, .size = 4, .kind = KTAPVM_FIELD_SIGNED },
	};
	struct ktapvm_attach a, good = { .size = sizeof(a),
					 .kind = KTAPVM_EV_TRACEPOINT,
					 .probe = 0, .id = sched_switch_id() };
	int dir = open("/", O_RDONLY | O_DIRECTORY), self;

#define BAD_ATTACH(err, field, value)                                      \
	do {                                                               \
		a = good;                                                  \
		a.field = (value);                                         \
		EXPECT(err, ioctl(fd, KTAPVM_IOC_ATTACH, &a));             \
	} while (0)
	CHECK(good.id != 0);
	BAD_ATTACH(EINVAL, probe, 99);
	BAD_ATTACH(EINVAL, probe, 2); /* trace_end */
	BAD_ATTACH(EINVAL, probe, 1); /* a tick, not a trace probe */
	BAD_ATTACH(EINVAL, kind, 0);
	BAD_ATTACH(EINVAL, kind, 99);
	BAD_ATTACH(EINVAL, flags, 0x80);
	BAD_ATTACH(EINVAL, flags, KTAPVM_ATTACH_CHILDREN); /* without PID */
	BAD_ATTACH(EINVAL, pid, 1); /* without KTAPVM_ATTACH_PID */
	BAD_ATTACH(EINVAL, cpu, 1); /* without KTAPVM_ATTACH_CPU */
	BAD_ATTACH(EINVAL, symbol, (uintptr_t)"schedule"); /* unused field */
	BAD_ATTACH(EINVAL, period_ns, 1000000);
	BAD_ATTACH(EINVAL, id, 0xfffffff0); /* perf's answer */
	BAD_ATTACH(EFAULT, name, 8);
	BAD_ATTACH(EINVAL, nfields, CLIENT_MAX_FIELDS + 1);
	a = good;
	a.nfields = 1;
	a.fields = 8;
	EXPECT(EFAULT, ioctl(fd, KTAPVM_IOC_ATTACH, &a));
	a.fields = (uintptr_t)fields;
	fields[0].kind = 9;
	EXPECT(EINVAL, ioctl(fd, KTAPVM_IOC_ATTACH, &a));
	fields[0].kind = KTAPVM_FIELD_CHARS; /* an empty array */
	fields[0].size = 0;
	EXPECT(EINVAL, ioctl(fd, KTAPVM_IOC_ATTACH, &a));
	fields[0].kind = KTAPVM_FIELD_STRING; /* not a location word */
	fields[0].size = 8;
	EXPECT(EINVAL, ioctl(fd, KTAPVM_IOC_ATTACH, &a));
	fields[0].kind = KTAPVM_FIELD_UNSIGNED;
	fields[0].size = 3;
	EXPECT(EINVAL, ioctl(fd, KTAPVM_IOC_ATTACH, &a));
	fields[0].size = 4;
	fields[0].reserved[1] = 1;
	EXPECT(EINVAL, ioctl(fd, KTAPVM_IOC_ATTACH, &a));
	fields[0].reserved[1] = 0;
	a.flags = KTAPVM_ATTACH_CPU;
	a.cpu = 4096;
	EXPECT(EINVAL, ioctl(fd, KTAPVM_IOC_ATTACH, &a));
	a.flags = KTAPVM_ATTACH_PID;
	a.cpu = 0;
	a.pid = 0x7ffffff0;
	EXPECT(ESRCH, ioctl(fd, KTAPVM_IOC_ATTACH, &a));
	BAD_ATTACH(EINVAL, syscall_nr, 39); /* not a syscall kind */
	/* argfmt: a print program (proto/ktapvm_abi.h) */
	BAD_ATTACH(EFAULT, argfmt_len, 4); /* at NULL */
	BAD_ATTACH(EINVAL, argfmt, (uintptr_t)"\0"); /* no length */
	{
#define P16(v) (v) & 0xff, (v) >> 8
#define CONV_D KTAPVM_AP_CONV, 'd', 0, KTAPVM_AP_NONE, KTAPVM_AP_NONE, 0
		static const unsigned char good_prog[] = {
			KTAPVM_AP_TEXT, P16(2), 'x', '=', CONV_D,
			KTAPVM_AP_FIELD, P16(24), 4, KTAPVM_AP_END
		};
		static const struct {
			unsigned char prog[24];
			unsigned int len;
		} bad[] = {
			/* an op that does not exist */
			{ { 99, KTAPVM_AP_END }, 2 },
			/* text longer than the program */
			{ { KTAPVM_AP_TEXT, P16(200), 'x', KTAPVM_AP_END }, 5 },
			/* a field of 3 bytes */
			{ { CONV_D, KTAPVM_AP_FIELD, P16(24), 3, KTAPVM_AP_END },
			  11 },
			/* a conversion the module does not take */
			{ { KTAPVM_AP_CONV, 'n', 0, KTAPVM_AP_NONE,
			    KTAPVM_AP_NONE, 0, KTAPVM_AP_CONST, 0, 0, 0, 0, 0,
			    0, 0, 0, KTAPVM_AP_END }, 16 },
			/* a string where a number goes */
			{ { CONV_D, KTAPVM_AP_SLIT, P16(0), KTAPVM_AP_END }, 10 },
			/* too wide */
			{ { KTAPVM_AP_CONV, 'd', 0, 200, KTAPVM_AP_NONE, 0,
			    KTAPVM_AP_FIELD, P16(24), 4, KTAPVM_AP_END }, 11 },
			/* deeper than KTAPVM_AP_MAX_DEPTH */
			{ { CONV_D, KTAPVM_AP_NOT, KTAPVM_AP_NOT, KTAPVM_AP_NOT,
			    KTAPVM_AP_NOT, KTAPVM_AP_NOT, KTAPVM_AP_NOT,
			    KTAPVM_AP_NOT, KTAPVM_AP_NOT, KTAPVM_AP_NOT,
			    KTAPVM_AP_NOT, KTAPVM_AP_NOT, KTAPVM_AP_NOT,
			    KTAPVM_AP_NOT, KTAPVM_AP_NOT, KTAPVM_AP_NOT,
			    KTAPVM_AP_NOT, KTAPVM_AP_NOT, KTAPVM_AP_END }, 24 },
			/* a value cut short */
			{ { CONV_D, KTAPVM_AP_END }, 7 },
			/* something after END */
			{ { KTAPVM_AP_END, KTAPVM_AP_END }, 2 },
			/* a '.*' precision on a number */
			{ { KTAPVM_AP_CONV, 'd', 0, KTAPVM_AP_NONE,
			    KTAPVM_AP_STAR, 0, KTAPVM_AP_FIELD, P16(24), 4,
			    KTAPVM_AP_END }, 11 },
		};
		unsigned int i;

		a = good;
		a.argfmt = (uintptr_t)good_prog;
		a.argfmt_len = sizeof(good_prog) - 1; /* END cut off */
		EXPECT(EINVAL, ioctl(fd, KTAPVM_IOC_ATTACH, &a));
		a.argfmt_len = KTAPVM_MAX_ARGFMT + 1; /* too long */
		EXPECT(EINVAL, ioctl(fd, KTAPVM_IOC_ATTACH, &a));
		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			a = good;
			a.argfmt = (uintptr_t)bad[i].prog;
			a.argfmt_len = bad[i].len;
			EXPECT(EINVAL, ioctl(fd, KTAPVM_IOC_ATTACH, &a));
		}
		/* (good_prog whole attaches: ktapd.sh's tp_argstr) */
#undef CONV_D
#undef P16
	}

	good = (struct ktapvm_attach){ .size = sizeof(a),
				       .kind = KTAPVM_EV_SYS_ENTER,
				       .probe = 0, .id = 1, .syscall_nr = 39 };
	BAD_ATTACH(EINVAL, syscall_nr, 100000);
	BAD_ATTACH(EINVAL, syscall_nr, 0xffffffff);
	BAD_ATTACH(EINVAL, id, 0x10000); /* not a common_type */
	BAD_ATTACH(EINVAL, symbol, (uintptr_t)"getpid");
	/* argfmt: "NAME\0ARG\0..." */
	BAD_ATTACH(EFAULT, argfmt_len, 4); /* at NULL */
	BAD_ATTACH(EINVAL, argfmt, (uintptr_t)"getpid"); /* no length */
	a = good;
	a.argfmt = (uintptr_t)"getpid\0";
	a.argfmt_len = KTAPVM_MAX_ARGFMT + 1; /* too long */
	EXPECT(EINVAL, ioctl(fd, KTAPVM_IOC_ATTACH, &a));
	a.argfmt_len = 3; /* no NUL at the end */
	EXPECT(EINVAL, ioctl(fd, KTAPVM_IOC_ATTACH, &a));
	a.argfmt = (uintptr_t)"get-pid";
	a.argfmt_len = 8; /* not a name */
	EXPECT(EINVAL, ioctl(fd, KTAPVM_IOC_ATTACH, &a));
	a.argfmt = (uintptr_t)"read\0\0count";
	a.argfmt_len = 12; /* an empty name */
	EXPECT(EINVAL, ioctl(fd, KTAPVM_IOC_ATTACH, &a));
	a.argfmt = (uintptr_t)"f\0a\0b\0c\0d\0e\0f\0g";
	a.argfmt_len = 16; /* seven arguments */
	EXPECT(EINVAL, ioctl(fd, KTAPVM_IOC_ATTACH, &a));
	a = good;
	a.nfields = 1;
	a.fields = 8;
	EXPECT(EFAULT, ioctl(fd, KTAPVM_IOC_ATTACH, &a));
	a = good;
	a.kind = KTAPVM_EV_SYS_EXIT;
	a.nfields = 1;
	a.fields = (uintptr_t)fields;
	fields[0].size = 3;
	EXPECT(EINVAL, ioctl(fd, KTAPVM_IOC_ATTACH, &a));
	fields[0].size = 4;

	good = (struct ktapvm_attach){ .size = sizeof(a),
				       .kind = KTAPVM_EV_KPROBE, .probe = 0,
				       .symbol = (uintptr_t)"schedule" };
	BAD_ATTACH(ENOENT, symbol, (uintptr_t)"ktap_no_such_function");
	BAD_ATTACH(EFAULT, symbol, 8);
	BAD_ATTACH(EINVAL, symbol, 0);
	BAD_ATTACH(EINVAL, id, 1);
	good = (struct ktapvm_attach){ .size = sizeof(a),
				       .kind = KTAPVM_EV_UPROBE, .probe = 0,
				       .fd = -1 };
	EXPECT(EBADF, ioctl(fd, KTAPVM_IOC_ATTACH, &good));
	BAD_ATTACH(EINVAL, fd, dir);
	self = open("/proc/self/exe", O_RDONLY);
	a = good;
	a.fd = self;
	a.offset = 1ull << 40;
	EXPECT(EINVAL, ioctl(fd, KTAPVM_IOC_ATTACH, &a));
	good = (struct ktapvm_attach){ .size = sizeof(a),
				       .kind = KTAPVM_EV_TICK, .probe = 1 };
	BAD_ATTACH(EINVAL, period_ns, 1);
	BAD_ATTACH(EINVAL, probe, 0);
	a = good;
	a.flags = KTAPVM_ATTACH_PID;
	a.pid = getpid();
	EXPECT(EINVAL, ioctl(fd, KTAPVM_IOC_ATTACH, &a));
#undef BAD_ATTACH
	close(self);
	close(dir);
}

/* The session that survived all that still runs, and reads are checked. */
static void run_checks(int fd)
{
	struct ktapvm_field fields[] = {
		{ .offset = 24, .size = 4, .kind = KTAPVM_FIELD_SIGNED },
	};
	struct ktapvm_attach a = { .size = sizeof(a),
				   .kind = KTAPVM_EV_TRACEPOINT, .probe = 0,
				   .id = sched_switch_id(), .nfields = 1,
				   .fields = (uintptr_t)fields };
	struct ktapvm_dump d = { .size = sizeof(d) };
	struct ktapvm_stats st;
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char buf[4096], small[8];
	ssize_t n;

	EXPECT(0, ioctl(fd, KTAPVM_IOC_ATTACH, &a));
	a = (struct ktapvm_attach){ .size = sizeof(a), .kind = KTAPVM_EV_TICK,
				    .probe = 1 };
	EXPECT(0, ioctl(fd, KTAPVM_IOC_ATTACH, &a));
	EXPECT(0, sys(session_cmd(fd, KTAPVM_IOC_START)));
	EXPECT(EINVAL, sys(session_cmd(fd, KTAPVM_IOC_START)));
	EXPECT(EINVAL, ioctl(fd, KTAPVM_IOC_ATTACH, &a));
	usleep(200000);
	EXPECT(0, sys(session_cmd(fd, KTAPVM_IOC_STOP)));
	EXPECT(0, sys(session_cmd(fd, KTAPVM_IOC_STOP)));

	EXPECT(EINVAL, read(fd, small, sizeof(small)));
	EXPECT(EFAULT, read(fd, (void *)unmapped, sizeof(buf)));
	n = read(fd, buf, sizeof(buf));
	CHECK(n > (ssize_t)sizeof(struct ktapvm_record) &&
	      memcmp(buf + sizeof(struct ktapvm_record), "hostile end\ttrue\n",
		     17) == 0);
	EXPECT(0, read(fd, buf, sizeof(buf)));
	CHECK(poll(&p, 1, 0) == 1 && (p.revents & POLLHUP));

	EXPECT(ENOSPC, ioctl(fd, KTAPVM_IOC_DUMP, &d));
	CHECK(d.len > 2);
	d = (struct ktapvm_dump){ .size = sizeof(d), .buf = 8,
				  .buf_size = 64 };
	EXPECT(EFAULT, ioctl(fd, KTAPVM_IOC_DUMP, &d));
	d = (struct ktapvm_dump){ .size = sizeof(d), .buf = (uintptr_t)buf,
				  .buf_size = sizeof(buf) };
	EXPECT(0, ioctl(fd, KTAPVM_IOC_DUMP, &d));
	CHECK(d.len > 2 && buf[0] == '{' && buf[d.len - 1] == '}');
	d.len = 1;
	EXPECT(EINVAL, ioctl(fd, KTAPVM_IOC_DUMP, &d));

	EXPECT(0, sys(session_stats(fd, &st)));
	CHECK(st.state == KTAPVM_STATE_ENDED && st.exit_status == 0 &&
	      st.events > 0 && st.out_records == 1 && st.nprobes == 0);
	st.size = 4;
	EXPECT(EINVAL, ioctl(fd, KTAPVM_IOC_STATS, &st));
}

/* START with a restore of size/len: what it returns. */
static int start_restore(int fd, __u64 ptr, __u64 len)
{
	struct ktapvm_start st = { .size = sizeof(st), .restore = ptr,
				   .restore_len = len };

	return ioctl(fd, KTAPVM_IOC_START, &st);
}

/*
 * SNAPSHOT of fd (ended: its n > 0) and START of new sessions with bad
 * and good restores; the good one's trace_end sees the restored n.
 */
static void snapshot_checks(int dev, int fd, const char *chunk, size_t len)
{
	struct ktapvm_dump d = { .size = sizeof(d) };
	char snap[4096], buf[4096], junk[64];
	ssize_t n;
	int s;

	s = new_session(dev);
	EXPECT(EINVAL, ioctl(s, KTAPVM_IOC_SNAPSHOT, &d));
	close(s);

	EXPECT(ENOSPC, ioctl(fd, KTAPVM_IOC_SNAPSHOT, &d));
	CHECK(d.len > 0 && d.len < sizeof(snap));
	d = (struct ktapvm_dump){ .size = sizeof(d), .buf = (uintptr_t)snap,
				  .buf_size = sizeof(snap) };
	EXPECT(0, ioctl(fd, KTAPVM_IOC_SNAPSHOT, &d));

	memset(junk, 0x5a, sizeof(junk));
	s = loaded_session(dev, chunk, len);
	EXPECT(EINVAL, start_restore(s, 0, 16));
	EXPECT(EINVAL, start_restore(s, (uintptr_t)snap, 0));
	EXPECT(EINVAL, start_restore(s, (uintptr_t)snap, 1ull << 40));
	EXPECT(EFAULT, start_restore(s, unmapped, 16));
	EXPECT(EINVAL, start_restore(s, (uintptr_t)junk, sizeof(junk)));
	close(s);

	s = loaded_session(dev, chunk, len);
	EXPECT(0, start_restore(s, (uintptr_t)snap, d.len));
	EXPECT(0, sys(session_cmd(s, KTAPVM_IOC_STOP)));
	n = read(s, buf, sizeof(buf));
	CHECK(n > (ssize_t)sizeof(struct ktapvm_record) &&
	      memcmp(buf + sizeof(struct ktapvm_record), "hostile end\ttrue\n",
		     17) == 0);
	close(s);
}

/*
 * ktapvm-client lockdown CHUNK, once the kernel is locked down for
 * confidentiality: no kprobes, no kernel memory reads.
 */
int lockdown_main(int argc, char **argv)
{
	struct ktapvm_version v = { .size = sizeof(v) };
	struct ktapvm_attach a = { .size = sizeof(a),
				   .kind = KTAPVM_EV_KPROBE, .probe = 0,
				   .symbol = (uintptr_t)"schedule" };
	size_t len;
	char *chunk;
	int dev, fd;

	if (argc != 1 || !(chunk = read_file(argv[0], &len)))
		return CLIENT_EXIT_FAIL;
	dev = dev_open();
	EXPECT(0, ioctl(dev, KTAPVM_IOC_VERSION, &v));
	CHECK(!(v.features & (1ull << KTAPVM_EV_KPROBE)) &&
	      !(v.features & KTAPVM_FEAT_KERNEL_READ) &&
	      (v.features & (1ull << KTAPVM_EV_TRACEPOINT)));
	fd = loaded_session(dev, chunk, len);
	EXPECT(EPERM, ioctl(fd, KTAPVM_IOC_ATTACH, &a));
	a.kind = KTAPVM_EV_KRETPROBE;
	EXPECT(EPERM, ioctl(fd, KTAPVM_IOC_ATTACH, &a));
	close(fd);
	close(dev);
	free(chunk);
	printf("lockdown: %u passed, %u failed\n", passed, failed);
	return failed ? 1 : 0;
}

int hostile_main(int argc, char **argv)
{
	size_t len;
	char *chunk;
	int dev, fd;

	if (argc != 1)
		return CLIENT_EXIT_FAIL;
	chunk = read_file(argv[0], &len);
	if (!chunk)
		return CLIENT_EXIT_FAIL;
	dev = dev_open();
	version_checks(dev);
	create_checks(dev);
	permission_checks();
	load_checks(dev, chunk, len);
	mutation_checks(dev, chunk, len);
	fd = loaded_session(dev, chunk, len);
	probe_checks(fd);
	attach_checks(fd);
	run_checks(fd);
	snapshot_checks(dev, fd, chunk, len);
	close(fd);
	close(dev);
	free(chunk);
	printf("hostile: %u passed, %u failed\n", passed, failed);
	return failed ? 1 : 0;
}
