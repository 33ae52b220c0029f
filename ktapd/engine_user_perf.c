// SPDX-License-Identifier: GPL-2.0
/*
 * The user engine's perf side: one perf event per tracepoint per CPU (per
 * CPU and thread of the target with -p), all of a CPU's events writing into
 * one mmapped ring (PERF_EVENT_IOC_SET_OUTPUT), rings drained in event-time
 * order (so an enter and its exit on two CPUs reach the script in order),
 * and each sample decoded and handed to the script's probes.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "engine_user.h"
#include "log.h"
#include "macro.h"
#include "syscalls.h"

/*
 * PERF_SAMPLE_PERIOD is not read, but it makes the kernel write one sample
 * per hit: tracepoints that pass a count to perf (sched_stat_runtime's
 * runtime, __perf_count) would otherwise write count samples, then get
 * throttled and silently drop real hits.
 */
#define EU_SAMPLE_TYPE                                                         \
	(PERF_SAMPLE_TID | PERF_SAMPLE_TIME | PERF_SAMPLE_PERIOD |             \
	 PERF_SAMPLE_RAW)

/*
 * A sample with EU_SAMPLE_TYPE: header, u32 pid, tid, u64 time, u64
 * period, [callchain,] u32 raw size, raw data. Other records end with
 * sample_id: u32 pid, tid, u64 time. No PERF_SAMPLE_CPU: every ring is one
 * CPU's, and each field costs the traced task time. A session that calls
 * stack() or ustack() has a callchain in every ring sample
 * (eu_stack_attr()); the raw size and data come that much later.
 */
#define SAMPLE_PID 8
#define SAMPLE_TIME 16
#define SAMPLE_CHAIN 32
#define SAMPLE_RAW_SIZE 32
#define SAMPLE_RAW 36
#define SAMPLE_ID_SIZE 16
#define SAMPLE_ID_TIME_FROM_END 8

static int parse_cpu_list(const char *s, int **out)
{
	int *cpus = NULL, n = 0, a, b, *nc;
	char *end;

	while (*s && !isspace((unsigned char)*s)) {
		a = b = (int)strtol(s, &end, 10);
		if (end == s)
			break;
		if (*end == '-')
			b = (int)strtol(end + 1, &end, 10);
		for (; a <= b; a++) {
			nc = realloc(cpus, (size_t)(n + 1) * sizeof(*cpus));
			if (!nc) {
				free(cpus);
				return -ENOMEM;
			}
			cpus = nc;
			cpus[n++] = a;
		}
		s = *end == ',' ? end + 1 : end;
	}
	*out = cpus;
	return n;
}

static int online_cpus(int **cpus)
{
	char buf[4096];
	ssize_t n;
	_cleanup_close_ int fd = -1;

	fd = open("/sys/devices/system/cpu/online", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return n < 0 ? -errno : -EIO;
	buf[n] = '\0';
	return parse_cpu_list(buf, cpus);
}

/* The threads of pid, or { -1 } (every task) when pid is 0. */
static int target_threads(pid_t pid, pid_t **out)
{
	pid_t *tids = NULL, *nt;
	struct dirent *d;
	char path[64];
	DIR *dir;
	int n = 0;

	if (pid <= 0) {
		tids = malloc(sizeof(*tids));
		if (!tids)
			return -ENOMEM;
		tids[0] = -1;
		*out = tids;
		return 1;
	}
	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	dir = opendir(path);
	if (!dir)
		return -ESRCH;
	while ((d = readdir(dir))) {
		if (!isdigit((unsigned char)d->d_name[0]))
			continue;
		nt = realloc(tids, (size_t)(n + 1) * sizeof(*tids));
		if (!nt) {
			free(tids);
			closedir(dir);
			return -ENOMEM;
		}
		tids = nt;
		tids[n++] = (pid_t)atoi(d->d_name);
	}
	closedir(dir);
	*out = tids;
	return n;
}

/* Make room for nfds more descriptors (the soft limit is often 1024). */
static void raise_fd_limit(size_t nfds)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < nfds + 256 &&
	    rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			log_debug_errno(-errno,
					"Failed to raise RLIMIT_NOFILE: %m");
	}
}

static int build_by_id(struct engine_session *es, unsigned int *ndirect)
{
	unsigned int i, max = 0;

	*ndirect = 0;
	for (i = 0; i < es->nevents; i++)
		if (es->events[i]->direct) {
			(*ndirect)++;
			if ((unsigned int)es->events[i]->id > max)
				max = (unsigned int)es->events[i]->id;
		}
	if (!*ndirect)
		return 0;
	es->by_id = calloc(max + 1, sizeof(*es->by_id));
	if (!es->by_id)
		return -ENOMEM;
	es->nby_id = max + 1;
	for (i = 0; i < es->nevents; i++)
		if (es->events[i]->direct)
			es->by_id[es->events[i]->id] = es->events[i];
	return 0;
}

static void attr_init(struct perf_event_attr *a,
		      const struct engine_session *es, uint32_t type,
		      uint64_t config, size_t ring_bytes)
{
	*a = (struct perf_event_attr){ 0 };
	a->size = sizeof(*a);
	a->type = type;
	a->config = config;
	a->sample_type = EU_SAMPLE_TYPE;
	a->sample_id_all = 1;
	a->disabled = 1;
	/* read() tells how many records the full ring refused. */
	a->read_format = PERF_FORMAT_LOST;
	/* One clock for every CPU, so the rings merge in true order. */
	a->use_clockid = 1;
	a->clockid = CLOCK_MONOTONIC;
	/* Wake the loop per quarter ring; the flush timer does the rest. */
	a->watermark = 1;
	a->wakeup_watermark = (uint32_t)(ring_bytes / 4);
	/* -p: follow the threads and children the target creates. */
	a->inherit = es->target_pid > 0;
	eu_stack_attr(es, a, 0);
}

int eu_perf_keep_fd(struct engine_session *es, int fd)
{
	int *n = realloc(es->fds, (es->nfds + 1) * sizeof(*n));

	if (!n)
		return -ENOMEM;
	es->fds = n;
	es->fds[es->nfds++] = fd;
	return 0;
}

/* Side-band rings (-C: the other CPUs) carry only task records. */
#define EU_SIDEBAND_RING_MAX (256u << 10)
/* A profile ring gets a sample per period: small is plenty. */
#define EU_PROFILE_RING (64u << 10)

static size_t ring_bytes(const struct engine_session *es, unsigned int ri)
{
	size_t max = es->ring_profile[ri] >= 0 ? EU_PROFILE_RING :
		     es->cpu >= 0 && es->ring_cpus[ri] != es->cpu ?
						   EU_SIDEBAND_RING_MAX :
						   es->ring_size;

	return es->ring_size < max ? es->ring_size : max;
}

static const char *for_target(pid_t tid)
{
	return tid > 0 ? " for the target" : "";
}

/*
 * Open an event of ring ri (for thread tid): the first one maps the ring,
 * the others write into it (PERF_EVENT_IOC_SET_OUTPUT). what names the
 * event in messages.
 */
static int open_into_ring(struct engine_session *es, struct perf_event_attr *a,
			  pid_t tid, unsigned int ri, const char *what,
			  char *err, size_t errlen)
{
	int cpu = es->ring_cpus[ri], fd, r;

	fd = perf_event_open_fd(a, tid, cpu, -1);
	if (fd < 0) {
		snprintf(err, errlen,
			 "%sperf_event_open on CPU %d%s failed: %s", what, cpu,
			 for_target(tid), strerror(-fd));
		return fd;
	}
	r = eu_perf_keep_fd(es, fd);
	if (r < 0) {
		close(fd);
		return r;
	}
	if (es->rings[ri].meta) {
		r = ioctl(fd, PERF_EVENT_IOC_SET_OUTPUT, es->ring_fds[ri]);
		if (r < 0) {
			r = -errno;
			snprintf(err, errlen,
				 "%scannot share the ring of CPU %d: %s", what,
				 cpu, strerror(-r));
			return r;
		}
		return fd;
	}
	r = perf_ring_map(&es->rings[ri], fd, ring_bytes(es, ri));
	if (r < 0) {
		snprintf(err, errlen,
			 "cannot map a %zu-byte perf ring on CPU %d: %s",
			 ring_bytes(es, ri), cpu, strerror(-r));
		return r;
	}
	es->ring_fds[ri] = fd;
	return fd;
}

void eu_perf_attr_init(struct perf_event_attr *a,
		       const struct engine_session *es, uint32_t type,
		       uint64_t config, unsigned int ri)
{
	attr_init(a, es, type, config, ring_bytes(es, ri));
}

int eu_perf_open_into_ring(struct engine_session *es,
			   struct perf_event_attr *a, pid_t tid,
			   unsigned int ri, const char *what, char *err,
			   size_t errlen)
{
	return open_into_ring(es, a, tid, ri, what, err, errlen);
}

/*
 * Each CPU's main ring starts with a dummy software event that reports
 * task records (exec, comm changes, fork, exit) for execname; every CPU
 * has one, even with -C, as tasks move between CPUs.
 */
static int open_sideband(struct engine_session *es, pid_t tid,
			 unsigned int ri, char *err, size_t errlen)
{
	struct perf_event_attr attr;

	attr_init(&attr, es, PERF_TYPE_SOFTWARE, PERF_COUNT_SW_DUMMY,
		  ring_bytes(es, ri));
	attr.comm = 1;
	attr.comm_exec = 1;
	attr.task = 1;
	/* ustack() names frames through the mappings (executable only). */
	attr.mmap2 = attr.mmap = !!(es->callchains & EU_STACK_USER);
	return open_into_ring(es, &attr, tid, ri, "", err, errlen);
}

static int open_tracepoint(struct engine_session *es,
			   const struct eu_event *ev, pid_t tid,
			   unsigned int ri, char *err, size_t errlen)
{
	struct perf_event_attr attr;
	char fbuf[1024], what[256];
	const char *filter;
	int fd;

	attr_init(&attr, es, PERF_TYPE_TRACEPOINT, (uint64_t)ev->id,
		  ring_bytes(es, ri));
	attr.sample_period = 1;
	eu_stack_attr(es, &attr, ev->stack);
	snprintf(what, sizeof(what), "event '%s:%s': ", ev->tep->system,
		 ev->name);
	fd = open_into_ring(es, &attr, tid, ri, what, err, errlen);
	if (fd < 0)
		return fd;
	filter = eu_event_filter(ev, fbuf, sizeof(fbuf));
	/* Only an optimization: the demux drops what a filter would have. */
	if (filter && ioctl(fd, PERF_EVENT_IOC_SET_FILTER, filter) < 0)
		log_debug_errno(-errno, "Failed to set filter '%s': %m",
				filter);
	return 0;
}

/* profile-N: cpu-clock, sampling whatever runs every N ns of CPU time. */
static int open_profile(struct engine_session *es, pid_t tid, unsigned int ri,
			char *err, size_t errlen)
{
	const struct eu_profile *pr = &es->profiles[es->ring_profile[ri]];
	struct perf_event_attr attr;
	char what[128];
	int fd;

	attr_init(&attr, es, PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CPU_CLOCK,
		  ring_bytes(es, ri));
	attr.sample_period = pr->period_ns;
	eu_stack_attr(es, &attr, pr->stack);
	snprintf(what, sizeof(what), "%s: ", pr->name);
	fd = open_into_ring(es, &attr, tid, ri, what, err, errlen);
	return fd < 0 ? fd : 0;
}

/*
 * The rings: one per online CPU, then one per profile probe and traced
 * CPU. Returns the number of traced CPUs among cpus[0..ncpus).
 */
static int rings_alloc(struct engine_session *es, const int *cpus, int ncpus)
{
	unsigned int ri, k;
	int c, ntraced = es->cpu >= 0 ? 1 : ncpus;

	es->nrings = (unsigned int)(ncpus + (int)es->nprofiles * ntraced);
	es->nsources = es->nrings;
	es->rings = calloc(es->nrings, sizeof(*es->rings));
	es->ring_cpus = calloc(es->nrings, sizeof(*es->ring_cpus));
	es->ring_profile = calloc(es->nrings, sizeof(*es->ring_profile));
	/* Per source: the rings and a BPF ring. */
	es->ring_fds = calloc(es->nrings + 1, sizeof(*es->ring_fds));
	es->polls = calloc(es->nrings + 1, sizeof(*es->polls));
	es->heap = calloc(es->nrings + 1, sizeof(*es->heap));
	es->heap_time = calloc(es->nrings + 1, sizeof(*es->heap_time));
	if (!es->rings || !es->ring_fds || !es->ring_cpus ||
	    !es->ring_profile || !es->polls || !es->heap || !es->heap_time)
		return -ENOMEM;
	ri = 0;
	for (c = 0; c < ncpus; c++, ri++) {
		es->ring_cpus[ri] = cpus[c];
		es->ring_profile[ri] = -1;
	}
	for (k = 0; k < es->nprofiles; k++)
		for (c = 0; c < ncpus; c++) {
			if (es->cpu >= 0 && cpus[c] != es->cpu)
				continue;
			es->ring_cpus[ri] = cpus[c];
			es->ring_profile[ri++] = (int)k;
		}
	return 0;
}

/* Everything ring ri carries, for thread tid (-1: all). */
static int open_ring(struct engine_session *es, unsigned int ri, pid_t tid,
		     char *err, size_t errlen)
{
	unsigned int i;
	int r;

	if (es->ring_profile[ri] >= 0)
		return open_profile(es, tid, ri, err, errlen);
	r = open_sideband(es, tid, ri, err, errlen);
	if (r < 0 || (es->cpu >= 0 && es->ring_cpus[ri] != es->cpu))
		return r;
	for (i = 0; i < es->nevents; i++) {
		if (!es->events[i]->direct || es->events[i]->bpf)
			continue;
		r = open_tracepoint(es, es->events[i], tid, ri, err, errlen);
		if (r < 0)
			return r;
	}
	return eu_uprobe_open(es, tid, ri, err, errlen);
}

int eu_perf_open(struct engine_session *es, char *err, size_t errlen)
{
	_cleanup_free_ int *cpus = NULL;
	_cleanup_free_ pid_t *tids = NULL;
	unsigned int ndirect, ri, i;
	int ncpus, ntids, t, r;

	r = build_by_id(es, &ndirect);
	if (r < 0 || (!ndirect && !es->nprofiles && !eu_uprobe_count(es)))
		return r;
	ncpus = online_cpus(&cpus);
	if (ncpus <= 0) {
		snprintf(err, errlen, "cannot list the online CPUs");
		return ncpus < 0 ? ncpus : -EIO;
	}
	for (i = 0; es->cpu >= 0 && i < (unsigned int)ncpus; i++)
		if (cpus[i] == es->cpu)
			break;
	if (i == (unsigned int)ncpus) {
		snprintf(err, errlen, "CPU %d is not online", es->cpu);
		return -EINVAL;
	}
	ntids = target_threads(es->target_pid, &tids);
	if (ntids <= 0) {
		snprintf(err, errlen, "process %d does not exist",
			 es->target_pid);
		return ntids < 0 ? ntids : -ESRCH;
	}
	raise_fd_limit((size_t)(ndirect + 1 + es->nprofiles +
			eu_uprobe_count(es)) *
		       (size_t)ncpus * (size_t)ntids);
	r = rings_alloc(es, cpus, ncpus);
	if (r < 0)
		return r;
	if (eu_bpf_wanted(es)) {
		char why[256];

		r = eu_bpf_open(es, ncpus, cpus[0], why, sizeof(why));
		if (r == -ENOMEM)
			return r;
		if (r < 0) {
			log_info("Tracepoints through perf samples: %s", why);
		} else {
			es->ring_fds[es->nrings] = eu_bpf_fd(es);
			es->nsources = es->nrings + 1;
		}
	}
	for (ri = 0; ri < es->nrings; ri++)
		for (t = 0; t < ntids; t++) {
			r = open_ring(es, ri, tids[t], err, errlen);
			/* A thread of the target that exited meanwhile. */
			if (r == -ESRCH && tids[t] != es->target_pid)
				continue;
			if (r < 0)
				return r;
		}
	return 0;
}

static void ioctl_all(struct engine_session *es, unsigned long req)
{
	size_t i;

	/* Enabling and disabling are cheap: registration happened at open. */
	for (i = 0; i < es->nfds; i++)
		if (ioctl(es->fds[i], req, 0) < 0)
			log_debug_errno(-errno, "perf ioctl failed: %m");
}

void eu_perf_enable(struct engine_session *es)
{
	ioctl_all(es, PERF_EVENT_IOC_ENABLE);
	if (es->bpf)
		eu_bpf_gate(es, true);
}

void eu_perf_disable(struct engine_session *es)
{
	uint64_t v[2], lost = 0;
	size_t i;

	if (es->bpf) {
		eu_bpf_gate(es, false);
		eu_bpf_count_lost(es);
	}
	ioctl_all(es, PERF_EVENT_IOC_DISABLE);
	/*
	 * PERF_RECORD_LOST only comes with the next record that fits: losses
	 * just before the end are only in the events' own counts.
	 */
	for (i = 0; i < es->nfds; i++)
		if (read(es->fds[i], v, sizeof(v)) == sizeof(v))
			lost += v[1];
	if (lost > es->lost)
		es->lost = lost;
}

void eu_perf_release(struct engine_session *es)
{
	perf_close_async(TAKE_PTR(es->fds), es->nfds, TAKE_PTR(es->rings),
			 es->nrings);
	if (es->bpf)
		eu_bpf_release(es);
	es->nfds = 0;
	es->nrings = 0;
	es->nsources = 0;
}

static void fire(struct engine_session *es, const struct eu_event *ev,
		 const unsigned char *raw, uint32_t rawlen, int32_t pid,
		 int32_t tid, int32_t cpu)
{
	struct kp_event *kev = &es->kev;
	struct eu_task *task;

	if (rawlen < ev->min_size) {
		es->dropped++;
		return;
	}
	/* perf says -1 for a task already released (its last sched_switch):
	 * the record's common_pid still names it. */
	if (tid < 0)
		memcpy(&tid, raw + 4, 4);
	task = eu_tasks_get(&es->tasks, tid);
	if (pid < 0)
		pid = task ? task->pid : tid;
	kev->pid = pid;
	kev->tid = tid;
	kev->cpu = cpu;
	kev->uid = task ? task->uid : -1;
	eu_decode_args(ev, raw, kev);
	es->cur.ev = ev;
	es->cur.raw = raw;
	es->cur.rawlen = rawlen;
	es->cur.task = task;
	es->cur.cpu = cpu;
	eu_run_probes(es, ev);
}

/* A profile-N sample: whatever task the CPU was running. */
static void fire_profile(struct engine_session *es,
			 const struct eu_profile *pr, int32_t pid, int32_t tid,
			 int32_t cpu)
{
	struct kp_event *kev = &es->kev;
	struct eu_task *task = eu_tasks_get(&es->tasks, tid);

	kev->pid = pid;
	kev->tid = tid;
	kev->cpu = cpu;
	kev->uid = task ? task->uid : -1;
	kev->nargs = 0;
	kev->strargs = 0;
	es->cur.ev = NULL;
	es->cur.task = task;
	es->cur.timer_name = pr->name;
	es->cur.cpu = cpu;
	eu_run_probe(es, pr->probe);
}

static void on_sample(struct engine_session *es, const unsigned char *p,
		      uint32_t size, unsigned int ri)
{
	bool bpf = ri == es->nrings;
	const struct eu_event *ev, *sev;
	uint32_t pid, tid, rawlen, chain = 0;
	const unsigned char *raw;
	uint16_t type;
	int32_t cpu;
	int64_t nr;

	es->cur.chain = NULL;
	/* The BPF ring's records never have a chain: see eu_bpf_wanted(). */
	if (!bpf && es->callchains)
		chain = eu_stack_sample(es, p, size, SAMPLE_CHAIN);
	if (chain == UINT32_MAX || size < SAMPLE_RAW + chain) {
		es->dropped++;
		return;
	}
	cpu = bpf ? eu_bpf_cpu((const void *)p) : es->ring_cpus[ri];
	memcpy(&pid, p + SAMPLE_PID, 4);
	memcpy(&tid, p + SAMPLE_PID + 4, 4);
	memcpy(&rawlen, p + SAMPLE_RAW_SIZE + chain, 4);
	raw = p + SAMPLE_RAW + chain;
	if (!bpf && es->ring_profile[ri] >= 0) {
		fire_profile(es, &es->profiles[es->ring_profile[ri]],
			     (int32_t)pid, (int32_t)tid, cpu);
		return;
	}
	if (rawlen < 8 || rawlen > size - SAMPLE_RAW - chain) {
		es->dropped++;
		return;
	}
	memcpy(&type, raw, 2);
	ev = type < es->nby_id ? es->by_id[type] : NULL;
	if (!ev) {
		/* uprobe records have no tracefs id (type 0) */
		if (!eu_uprobe_sample(es, p, size, cpu, chain))
			es->dropped++;
		return;
	}
	if (ev->nprobes)
		fire(es, ev, raw, rawlen, (int32_t)pid, (int32_t)tid, cpu);
	if (!ev->demux || es->state != EU_RUNNING || rawlen < 16)
		return;
	/* raw_syscalls: the syscall number is the long at offset 8. */
	memcpy(&nr, raw + 8, 8);
	if (nr >= 0 && nr < (int64_t)syscalls_count() &&
	    (sev = ev->demux[nr]))
		fire(es, sev, raw, rawlen, (int32_t)pid, (int32_t)tid, cpu);
}

static void on_record(struct engine_session *es, unsigned int ri,
		      const struct perf_event_header *h)
{
	const unsigned char *p = (const void *)h;
	uint32_t ids[4];
	uint64_t v[2];

	switch (h->type) {
	case PERF_RECORD_SAMPLE:
		on_sample(es, p, h->size, ri);
		break;
	case PERF_RECORD_COMM:
		/* u32 pid, tid, char comm[] (NUL-padded), sample_id */
		if (h->size < 16 + SAMPLE_ID_SIZE)
			break;
		memcpy(ids, p + 8, 8);
		eu_tasks_comm(&es->tasks, (int32_t)ids[0], (int32_t)ids[1],
			      (const char *)p + 16,
			      h->size - 16 - SAMPLE_ID_SIZE);
		if (h->misc & PERF_RECORD_MISC_COMM_EXEC)
			eu_stack_exec(es, (int32_t)ids[0]);
		break;
	case PERF_RECORD_FORK:
	case PERF_RECORD_EXIT:
		/* u32 pid, ppid, tid, ptid, u64 time, sample_id */
		if (h->size < 32)
			break;
		memcpy(ids, p + 8, 16);
		memcpy(v, p + 24, 8);
		if (h->type == PERF_RECORD_FORK) {
			eu_tasks_fork(&es->tasks, (int32_t)ids[0],
				      (int32_t)ids[2], (int32_t)ids[3]);
			eu_stack_fork(es, (int32_t)ids[0], (int32_t)ids[1]);
		} else {
			eu_tasks_exit(&es->tasks, (int32_t)ids[2], v[0]);
		}
		break;
	case PERF_RECORD_MMAP2:
		eu_stack_mmap(es, p, h->size);
		break;
	case PERF_RECORD_LOST:
		/* u64 id, lost, sample_id */
		if (h->size >= 24) {
			memcpy(v, p + 8, 16);
			es->lost += v[1];
		}
		break;
	default:
		break; /* THROTTLE and the like: nothing for the script */
	}
}

static uint64_t record_time(const struct perf_event_header *h)
{
	const unsigned char *p = (const void *)h;
	uint64_t t = 0;

	if (h->type == PERF_RECORD_SAMPLE) {
		if (h->size >= SAMPLE_TIME + 8)
			memcpy(&t, p + SAMPLE_TIME, 8);
	} else if (h->size >= sizeof(*h) + SAMPLE_ID_SIZE) {
		memcpy(&t, p + h->size - SAMPLE_ID_TIME_FROM_END, 8);
	}
	return t;
}

/* A min-heap of ring indices keyed by heap_time (their next record). */
static void heap_sift_down(struct engine_session *es, unsigned int n,
			   unsigned int i)
{
	unsigned int *h = es->heap, c, tmp;

	for (;;) {
		c = 2 * i + 1;
		if (c >= n)
			return;
		if (c + 1 < n && es->heap_time[h[c + 1]] < es->heap_time[h[c]])
			c++;
		if (es->heap_time[h[i]] <= es->heap_time[h[c]])
			return;
		tmp = h[i], h[i] = h[c], h[c] = tmp;
		i = c;
	}
}

static void heap_push(struct engine_session *es, unsigned int *n,
		      unsigned int ri)
{
	unsigned int *h = es->heap, i = (*n)++, parent, tmp;

	h[i] = ri;
	while (i > 0) {
		parent = (i - 1) / 2;
		if (es->heap_time[h[parent]] <= es->heap_time[h[i]])
			break;
		tmp = h[i], h[i] = h[parent], h[parent] = tmp;
		i = parent;
	}
}

/* Time of the second earliest ring: how far the earliest may run alone. */
static uint64_t heap_limit(const struct engine_session *es, unsigned int n)
{
	uint64_t a, b;

	if (n < 2)
		return UINT64_MAX;
	a = es->heap_time[es->heap[1]];
	if (n < 3)
		return a;
	b = es->heap_time[es->heap[2]];
	return a < b ? a : b;
}

/* A source is a perf ring, or (index nrings) the BPF ring. */
static bool src_begin(struct engine_session *es, unsigned int ri)
{
	return ri < es->nrings ? perf_ring_begin(&es->rings[ri]) :
				 eu_bpf_begin(es);
}

static const struct perf_event_header *src_peek(struct engine_session *es,
						unsigned int ri)
{
	return ri < es->nrings ? perf_ring_peek(&es->rings[ri]) :
				 eu_bpf_peek(es);
}

static void src_consume(struct engine_session *es, unsigned int ri,
			const struct perf_event_header *h)
{
	struct perf_ring *r;

	if (ri == es->nrings) {
		eu_bpf_consume(es);
		/* Give space back early when a run is long. */
		if (eu_bpf_half_read(es))
			eu_bpf_publish(es);
		return;
	}
	r = &es->rings[ri];
	perf_ring_consume(r, h);
	if (r->tail - r->published > r->mask / 4)
		perf_ring_publish(r);
}

static void src_publish(struct engine_session *es, unsigned int ri)
{
	if (ri < es->nrings)
		perf_ring_publish(&es->rings[ri]);
	else
		eu_bpf_publish(es);
}

bool eu_perf_drain(struct engine_session *es, size_t budget)
{
	const struct perf_event_header *h;
	unsigned int n = 0, ri;
	size_t done = 0;
	uint64_t limit, t;

	for (ri = 0; ri < es->nsources; ri++) {
		if (!src_begin(es, ri) || !(h = src_peek(es, ri)))
			continue;
		es->heap_time[ri] = record_time(h);
		heap_push(es, &n, ri);
	}
	while (n && es->state == EU_RUNNING && done < budget) {
		ri = es->heap[0];
		limit = heap_limit(es, n);
		h = src_peek(es, ri);
		for (;;) {
			on_record(es, ri, h);
			src_consume(es, ri, h);
			done++;
			if (es->state != EU_RUNNING || done >= budget)
				break;
			h = src_peek(es, ri);
			if (!h) {
				es->heap[0] = es->heap[--n];
				heap_sift_down(es, n, 0);
				break;
			}
			t = record_time(h);
			if (t > limit) {
				es->heap_time[ri] = t;
				heap_sift_down(es, n, 0);
				break;
			}
		}
	}
	for (ri = 0; ri < es->nsources; ri++)
		src_publish(es, ri);
	if (es->bpf)
		eu_bpf_count_lost(es);
	return n && es->state == EU_RUNNING;
}
