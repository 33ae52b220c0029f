// SPDX-License-Identifier: GPL-2.0
/*
 * The user engine: a session's VM runs in ktapd, on the loop thread, fed
 * with kernel events through perf_event rings (engine_user_perf.c) and with
 * tick-N timers. This file holds the session's life: start (load, resolve,
 * open, main, arm), the end (exit, runtime error, target exit, stop), the
 * VM's host services, and the event words a handler reads.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "chunk.h"
#include "engine_user.h"
#include "engine_util.h"
#include "engines.h"
#include "macro.h"
#include "opcodes.h"

/* Default rings: this much over all CPUs, within the bounds below. */
#define EU_RING_TOTAL_DEFAULT (16u << 20)
#define EU_RING_CPU_MIN_DEFAULT (512u << 10)
#define EU_RING_CPU_MAX_DEFAULT (4u << 20)
#define EU_RING_SIZE_MIN (1u << 12)
#define EU_RING_SIZE_MAX (1u << 30)
/* Records per drain before the loop gets a turn. */
#define EU_DRAIN_BUDGET 65536
/* Rings below their wakeup watermark are drained this often (ms). */
#define EU_FLUSH_MS 100
/* After the target exits, its last records still arrive for a moment. */
#define EU_TARGET_GRACE_MS 50
/* Overdue ticks run at most this many times in a row; the rest are lost. */
#define EU_TICK_CATCHUP_MAX 1000
#define EU_EXIT_RUNTIME_ERROR 3

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void eu_output(struct engine_session *es, const char *buf, size_t len)
{
	es->cb.output(es->owner, buf, len);
}

/* VM host services */

static void host_write(void *host, const char *buf, kp_size_t len)
{
	struct engine_session *es = host;

	/* main again for a restored session: it printed that the first time */
	if (!es->quiet)
		eu_output(es, buf, len);
}

/* user_string(): read the traced process's memory, bounded, fault-safe. */
static long host_read_string(void *host, const struct kp_event *ev, int user,
			     kp_u64 addr, char *buf, kp_size_t size)
{
	struct iovec local = { buf, size };
	struct iovec remote = { (void *)(uintptr_t)addr, size };
	ssize_t n;
	char *nul;

	if (!user || ev->pid <= 0 || !size)
		return -1; /* kernel memory is out of reach from user space */
	n = process_vm_readv((pid_t)ev->pid, &local, 1, &remote, 1, 0);
	if (n <= 0)
		return -1;
	nul = memchr(buf, '\0', (size_t)n);
	return nul ? nul - buf : n;
}

static const struct kp_host_ops eu_host_ops = {
	.write = host_write,
	.stack = eu_stack_host,
	.read_string = host_read_string,
};

/* execname, probename, argstr: made only when the handler reads them. */
static long eu_str_field(const struct kp_event *kev, int field, char *buf,
			 kp_size_t size)
{
	const struct eu_current *cur = kev->data;
	const char *s;
	long n;

	switch (field) {
	case KP_EV_EXECNAME:
		if (!cur->task)
			return -1;
		if (cur->task->tid == 0) {
			n = snprintf(buf, size, "swapper/%d", cur->cpu);
			return n < (long)size ? n : (long)size;
		}
		/* The kernel's trace output says <...> when it has no name. */
		s = cur->task->comm[0] ? cur->task->comm : "<...>";
		break;
	case KP_EV_PROBENAME:
		s = cur->ev ? cur->ev->name : cur->timer_name;
		break;
	case KP_EV_ARGSTR:
		if (cur->up) {
			n = eu_uprobe_argstr(cur, kev, buf, size);
			return n < (long)size ? n : (long)size;
		}
		if (!cur->ev)
			return -1;
		n = eu_argstr(cur->es, cur, buf, size);
		return n < (long)size ? n : (long)size;
	default:
		/* kev->strargs names only a tracepoint's string fields. */
		if (!cur->ev || field < KP_EV_ARG0 ||
		    !(kev->strargs & (1u << (field - KP_EV_ARG0))))
			return -1;
		return eu_arg_string(cur, (unsigned int)(field - KP_EV_ARG0),
				     buf, size);
	}
	n = (long)strlen(s);
	if (n > (long)size)
		n = (long)size;
	memcpy(buf, s, (size_t)n);
	return n;
}

/* The end */

static void on_end_timer(uv_timer_t *t);

/* The VM said stop (exit() or a runtime error): end after this event. */
static void vm_stopped(struct engine_session *es, int r)
{
	if (r == KP_ERROR) {
		es->failed = true;
		es->status = EU_EXIT_RUNTIME_ERROR;
		engine_printf(&es->cb, es->owner, "error: %s\n",
			      kp_vm_error(es->vm));
	} else {
		es->status = kp_vm_exit_status(es->vm);
	}
	es->state = EU_ENDING;
	/* Not from here: the daemon may free the session in ended(). */
	uv_timer_start(&es->end_timer, on_end_timer, 0, 0);
}

/* Hits counted in the kernel, before the VM does anything else. */
static void fold(struct engine_session *es)
{
	if (es->ncounted && es->bpf && es->state == EU_RUNNING)
		eu_bpf_fold(es);
}

bool eu_probes_counted(const struct engine_session *es,
		       const unsigned int *probes, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (!kp_vm_probe_counter(es->vm, probes[i]))
			return false;
	return n > 0;
}

bool eu_run_counted(struct engine_session *es, unsigned int probe,
		    const char *probename, uint64_t runs)
{
	int r;

	es->nevents_run += runs;
	r = kp_vm_run_counted(es->vm, probe, probename, strlen(probename),
			      runs);
	if (kp_likely(r == KP_OK))
		return true;
	vm_stopped(es, r);
	return false;
}

bool eu_run_probe(struct engine_session *es, unsigned int probe)
{
	int r;

	if (kp_unlikely(es->ncounted))
		fold(es);
	es->nevents_run++;
	/* The text eu_str_field() gives for probename (a stable pointer). */
	es->kev.name_key = es->cur.ev ? (const void *)es->cur.ev->name :
					(const void *)es->cur.timer_name;
	r = kp_vm_run_probe(es->vm, probe, &es->kev);
	if (kp_likely(r == KP_OK))
		return true;
	vm_stopped(es, r);
	return false;
}

void eu_run_probes(struct engine_session *es, const struct eu_event *ev)
{
	unsigned int i;

	for (i = 0; i < ev->nprobes; i++)
		if (!eu_run_probe(es, ev->probes[i]))
			return;
}

static void on_more(uv_idle_t *i);

static void drain(struct engine_session *es, size_t budget)
{
	uint64_t t0;
	bool more;

	if (es->state != EU_RUNNING || !es->nsources)
		return;
	t0 = thread_cpu_ns();
	more = eu_perf_drain(es, budget);
	es->cpu_ns += thread_cpu_ns() - t0;
	if (!es->armed)
		return;
	if (more)
		uv_idle_start(&es->more, on_more);
	else
		uv_idle_stop(&es->more);
}

static void on_handle_closed(uv_handle_t *h);

static void close_fd_handle(uv_poll_t *p, int *fd)
{
	/* uv_close drops the fd from epoll now, before the fd is closed. */
	uv_close((uv_handle_t *)p, on_handle_closed);
	if (fd && *fd >= 0)
		close(TAKE_FD(*fd));
}

/* Stop every event source; what the rings hold is drained if asked. */
static void disarm(struct engine_session *es, bool drain_rings)
{
	unsigned int i;

	if (es->armed) {
		eu_perf_disable(es);
		uv_timer_stop(&es->flush_timer);
		uv_idle_stop(&es->more);
		es->armed = false;
	}
	if (!es->fd_handles_closed) {
		for (i = 0; i < es->npolls_init; i++)
			close_fd_handle(&es->polls[i], NULL);
		for (i = 0; i < es->nticks_init; i++)
			close_fd_handle(&es->ticks[i].poll, &es->ticks[i].fd);
		if (es->target_poll_init)
			close_fd_handle(&es->target_poll, &es->target_fd);
		es->fd_handles_closed = true;
	}
	if (drain_rings)
		drain(es, SIZE_MAX);
	fold(es);
	if (es->nfds)
		eu_perf_release(es);
}

static void report_losses(struct engine_session *es)
{
	uint64_t n = es->lost + es->dropped;

	if (n)
		engine_printf(&es->cb, es->owner,
			      "ktap: %" PRIu64 " events lost\n", n);
}

/*
 * Disarm, drain (unless the VM is done), run trace_end (unless a runtime
 * error ended the session), report losses. Returns the exit status.
 */
static int finish(struct engine_session *es)
{
	uint64_t t0;
	int r;

	if (es->state == EU_ENDED)
		return es->status;
	disarm(es, es->state == EU_RUNNING);
	/* A pending end (even one the last drain asked for) is this one. */
	if (es->handles)
		uv_timer_stop(&es->end_timer);
	if (!es->failed) {
		t0 = thread_cpu_ns();
		r = kp_vm_run_end(es->vm);
		es->cpu_ns += thread_cpu_ns() - t0;
		if (r == KP_ERROR) {
			es->failed = true;
			es->status = EU_EXIT_RUNTIME_ERROR;
			engine_printf(&es->cb, es->owner, "error: %s\n",
				      kp_vm_error(es->vm));
		} else if (r == KP_EXITED) {
			es->status = kp_vm_exit_status(es->vm);
		}
	}
	report_losses(es);
	es->state = EU_ENDED;
	return es->status;
}

static void on_end_timer(uv_timer_t *t)
{
	struct engine_session *es = t->data;
	int status = finish(es);

	es->cb.ended(es->owner, status, es->failed ? kp_vm_error(es->vm) :
						     NULL);
}

/* Event sources on the loop */

static void on_ring(uv_poll_t *p, int status, int events)
{
	struct engine_session *es = p->data;

	/* HUP: the per-task event's task is gone; the flush timer goes on. */
	if (status < 0 || (events & UV_DISCONNECT))
		uv_poll_stop(p);
	drain(es, EU_DRAIN_BUDGET);
}

static void on_flush(uv_timer_t *t)
{
	drain(t->data, EU_DRAIN_BUDGET);
}

static void on_more(uv_idle_t *i)
{
	drain(i->data, EU_DRAIN_BUDGET);
}

static void on_tick(uv_poll_t *p, int status, int events)
{
	struct eu_tick *tk = container_of(p, struct eu_tick, poll);
	struct engine_session *es = p->data;
	struct kp_event *kev = &es->kev;
	uint64_t n, t0;

	if (read(tk->fd, &n, sizeof(n)) != sizeof(n))
		return;
	/* Events up to now first: a tick summing them sees them all. */
	drain(es, SIZE_MAX);
	if (n > EU_TICK_CATCHUP_MAX) {
		es->dropped += n - EU_TICK_CATCHUP_MAX;
		n = EU_TICK_CATCHUP_MAX;
	}
	t0 = thread_cpu_ns();
	/* No task was interrupted: the context is the idle task's. */
	kev->pid = kev->tid = kev->uid = 0;
	kev->cpu = kp_cpu_id();
	kev->nargs = 0;
	kev->strargs = 0;
	es->cur.ev = NULL;
	es->cur.task = NULL;
	es->cur.timer_name = tk->name;
	es->cur.chain = NULL;
	while (n-- && es->state == EU_RUNNING && eu_run_probe(es, tk->probe))
		;
	es->cpu_ns += thread_cpu_ns() - t0;
}

static void on_target_exit(uv_poll_t *p, int status, int events)
{
	struct engine_session *es = p->data;

	uv_poll_stop(p);
	if (es->state == EU_RUNNING)
		uv_timer_start(&es->end_timer, on_end_timer,
			       EU_TARGET_GRACE_MS, 0);
}

static void handle_init(struct engine_session *es, uv_handle_t *h)
{
	h->data = es;
	es->open_handles++;
}

/* Every libuv handle the session may use, before main runs. */
static int init_handles(struct engine_session *es)
{
	unsigned int i;
	int r;

	uv_timer_init(es->loop, &es->end_timer);
	handle_init(es, (uv_handle_t *)&es->end_timer);
	uv_timer_init(es->loop, &es->flush_timer);
	handle_init(es, (uv_handle_t *)&es->flush_timer);
	uv_idle_init(es->loop, &es->more);
	handle_init(es, (uv_handle_t *)&es->more);
	es->handles = true;
	for (i = 0; i < es->nsources; i++) {
		r = uv_poll_init(es->loop, &es->polls[i], es->ring_fds[i]);
		if (r < 0)
			return r;
		handle_init(es, (uv_handle_t *)&es->polls[i]);
		es->npolls_init++;
	}
	for (i = 0; i < es->nticks; i++) {
		r = uv_poll_init(es->loop, &es->ticks[i].poll, es->ticks[i].fd);
		if (r < 0)
			return r;
		handle_init(es, (uv_handle_t *)&es->ticks[i].poll);
		es->nticks_init++;
	}
	if (es->target_fd >= 0) {
		r = uv_poll_init(es->loop, &es->target_poll, es->target_fd);
		if (r < 0)
			return r;
		handle_init(es, (uv_handle_t *)&es->target_poll);
		es->target_poll_init = true;
	}
	return 0;
}

static void arm(struct engine_session *es)
{
	struct itimerspec its;
	unsigned int i;

	eu_perf_enable(es);
	/* After enabling: any change from now on is in the rings. */
	if (es->nsources)
		eu_tasks_seed(&es->tasks, es->target_pid);
	for (i = 0; i < es->nsources; i++)
		uv_poll_start(&es->polls[i], UV_READABLE | UV_DISCONNECT,
			      on_ring);
	if (es->nsources)
		uv_timer_start(&es->flush_timer, on_flush, EU_FLUSH_MS,
			       EU_FLUSH_MS);
	for (i = 0; i < es->nticks; i++) {
		its.it_interval.tv_sec = (time_t)(es->ticks[i].period_ns /
						  1000000000ull);
		its.it_interval.tv_nsec = (long)(es->ticks[i].period_ns %
						 1000000000ull);
		its.it_value = its.it_interval;
		timerfd_settime(es->ticks[i].fd, 0, &its, NULL);
		uv_poll_start(&es->ticks[i].poll, UV_READABLE, on_tick);
	}
	if (es->target_fd >= 0)
		uv_poll_start(&es->target_poll, UV_READABLE, on_target_exit);
	es->narmed = (uint32_t)(es->nfds + es->nticks);
	es->armed = true;
}

/* Start */

static int add_tick(struct engine_session *es, unsigned int probe,
		    const struct kp_probe_info *info, char *err, size_t errlen)
{
	struct eu_tick *n, *tk;
	int fd;

	fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "%s: cannot create a timer: %s",
			 info->spec, strerror(errno));
		return -errno;
	}
	n = realloc(es->ticks, (es->nticks + 1) * sizeof(*n));
	if (!n) {
		close(fd);
		return -ENOMEM;
	}
	es->ticks = n;
	tk = &es->ticks[es->nticks++];
	*tk = (struct eu_tick){ .fd = fd, .probe = probe, .name = info->spec,
				.period_ns = info->period_ns };
	return 0;
}

static int add_profile(struct engine_session *es, unsigned int probe,
		       const struct kp_probe_info *info)
{
	struct eu_profile *n;

	n = realloc(es->profiles, (es->nprofiles + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	es->profiles = n;
	es->profiles[es->nprofiles++] = (struct eu_profile){
		.probe = probe, .name = info->spec, .period_ns = info->period_ns
	};
	return 0;
}

/* Every probe of the chunk, checked and resolved before anything runs. */
static int resolve_probes(struct engine_session *es, char *err, size_t errlen)
{
	unsigned int i, n = kp_vm_nprobes(es->vm);
	struct kp_probe_info info;
	int r;

	for (i = 0; i < n; i++) {
		r = kp_vm_probe_info(es->vm, i, &info);
		if (r < 0)
			return r;
		switch (info.kind) {
		case KP_PROBE_TRACE:
			r = eu_events_resolve(es, i, info.spec, err, errlen);
			break;
		case KP_PROBE_TICK:
			r = add_tick(es, i, &info, err, errlen);
			break;
		case KP_PROBE_PROFILE:
			r = add_profile(es, i, &info);
			break;
		default: /* trace_end runs from finish() */
			r = 0;
			break;
		}
		if (r < 0)
			return r;
	}
	return 0;
}

/* Bytes per CPU ring: a power of two, at least a page. */
static size_t ring_size(size_t want)
{
	size_t size = (size_t)sysconf(_SC_PAGESIZE);

	if (!want) {
		/* Room for bursts while the loop is busy, not 4 MiB × 256. */
		want = EU_RING_TOTAL_DEFAULT / (size_t)kp_num_cpus();
		if (want < EU_RING_CPU_MIN_DEFAULT)
			want = EU_RING_CPU_MIN_DEFAULT;
		if (want > EU_RING_CPU_MAX_DEFAULT)
			want = EU_RING_CPU_MAX_DEFAULT;
		while (size * 2 <= want)
			size *= 2;
		return size;
	}
	if (want > EU_RING_SIZE_MAX)
		want = EU_RING_SIZE_MAX;
	while (size < want || size < EU_RING_SIZE_MIN)
		size *= 2;
	return size;
}

static void destroy(struct engine_session *es)
{
	unsigned int i;

	for (i = 0; i < es->nticks; i++)
		if (es->ticks[i].fd >= 0)
			close(es->ticks[i].fd);
	free(es->ticks);
	free(es->profiles);
	free(es->ring_profile);
	if (es->target_fd >= 0)
		close(es->target_fd);
	if (es->nfds || es->rings)
		eu_perf_release(es);
	free(es->ring_fds);
	free(es->ring_cpus);
	free(es->polls);
	free(es->heap);
	free(es->heap_time);
	eu_events_free(es);
	eu_uprobes_free(es);
	eu_stack_free(es);
	eu_tasks_free(&es->tasks);
	trace_seq_destroy(&es->seq);
	free(es->arena);
	free(es);
}

static void on_handle_closed(uv_handle_t *h)
{
	struct engine_session *es = h->data;

	if (--es->open_handles == 0 && es->freeing)
		destroy(es);
}

static int load_chunk(struct engine_session *es,
		      const struct engine_session_config *cfg, char *err,
		      size_t errlen)
{
	struct kp_vm_config vc = {
		.arena_size = cfg->arena_size,
		.insn_budget = cfg->insn_budget,
		.ops = &eu_host_ops,
		.host = es,
		.time_budget_ns = engine_options.time_budget_ns,
	};
	struct kp_verify_error verr = { .func = -1, .pc = -1 };
	int r;

	es->arena = malloc(cfg->arena_size);
	if (!es->arena)
		return -ENOMEM;
	vc.arena = es->arena;
	r = kp_vm_create(&es->vm, &vc);
	if (r < 0) {
		snprintf(err, errlen, "an arena of %zu bytes cannot hold a VM",
			 cfg->arena_size);
		return r;
	}
	r = kp_vm_load(es->vm, cfg->chunk, cfg->chunk_len, &verr);
	if (r == -EINVAL)
		snprintf(err, errlen,
			 "bytecode rejected: function %d, pc %d: %s",
			 verr.func, verr.pc, verr.reason);
	else if (r == -ENOMEM)
		snprintf(err, errlen, "the chunk does not fit in an arena of "
			 "%zu bytes", cfg->arena_size);
	if (r < 0)
		return r;
	return kp_vm_set_args(es->vm, cfg->argc, cfg->argv);
}

static int eu_start(const struct engine_session_config *cfg,
		    const struct engine_callbacks *cb, void *owner,
		    struct engine_session **out, char *err, size_t errlen)
{
	struct engine_session *es = calloc(1, sizeof(*es));
	uint64_t t0;
	int r;

	err[0] = '\0';
	if (!es)
		return -ENOMEM;
	es->cb = *cb;
	es->owner = owner;
	es->loop = cfg->loop;
	es->target_pid = cfg->target_pid;
	es->target_fd = -1;
	es->cpu = cfg->cpu;
	es->ring_size = ring_size(cfg->ring_size);
	es->kev.str_field = eu_str_field;
	es->kev.data = &es->cur;
	es->cur.es = es;
	trace_seq_init(&es->seq);
	r = eu_tasks_init(&es->tasks);
	if (r < 0)
		goto fail;
	es->tep = tep_alloc();
	if (!es->tep) {
		r = -ENOMEM;
		goto fail;
	}
	tep_set_long_size(es->tep, sizeof(long));
	tep_set_page_size(es->tep, (int)sysconf(_SC_PAGESIZE));

	r = load_chunk(es, cfg, err, errlen);
	if (r < 0)
		goto fail;
	r = eu_stack_scan(es, cfg->chunk, cfg->chunk_len);
	if (r < 0)
		goto fail;
	r = resolve_probes(es, err, errlen);
	if (r < 0)
		goto fail;
	eu_stack_events(es);
	r = eu_perf_open(es, err, errlen);
	if (r < 0)
		goto fail;
	if (es->target_pid > 0) {
		r = engine_target_open(es->target_pid, err, errlen);
		if (r < 0)
			goto fail;
		es->target_fd = r;
	}
	r = init_handles(es);
	if (r < 0) {
		snprintf(err, errlen, "cannot watch the event rings: %s",
			 uv_strerror(r));
		r = -EIO;
		goto fail_handles;
	}

	t0 = thread_cpu_ns();
	es->quiet = cfg->restore != NULL;
	r = kp_vm_run_main(es->vm);
	es->quiet = false;
	es->cpu_ns += thread_cpu_ns() - t0;
	if (r == KP_OK && cfg->restore) {
		r = kp_vm_restore(es->vm, cfg->restore, cfg->restore_len);
		if (r < 0) {
			snprintf(err, errlen, "cannot restore the globals: %s",
				 r == -KP_ENOMEM ? "out of memory" :
						   "malformed snapshot");
			goto fail_handles;
		}
	}
	if (r == KP_OK) {
		arm(es);
		/* Nothing to wait for: the script was its top-level code. */
		if (!es->narmed && es->target_fd < 0) {
			es->state = EU_ENDING;
			uv_timer_start(&es->end_timer, on_end_timer, 0, 0);
		}
	} else {
		vm_stopped(es, r); /* no probe runs; the end is deferred */
	}
	*out = es;
	return 0;

fail_handles:
	engine_user.free(es);
	return r;
fail:
	if (!err[0])
		snprintf(err, errlen, "%s", strerror(-r));
	destroy(es);
	return r;
}

static int eu_stop(struct engine_session *es)
{
	return finish(es);
}

static void eu_free(struct engine_session *es)
{
	if (!es)
		return;
	if (es->state != EU_ENDED) {
		/* Dropped without a stop: nothing more runs, nothing prints. */
		disarm(es, false);
		es->state = EU_ENDED;
	}
	es->freeing = true;
	if (!es->handles) {
		destroy(es);
		return;
	}
	uv_close((uv_handle_t *)&es->end_timer, on_handle_closed);
	uv_close((uv_handle_t *)&es->flush_timer, on_handle_closed);
	uv_close((uv_handle_t *)&es->more, on_handle_closed);
}

static void eu_stats(struct engine_session *es, struct engine_stats *st)
{
	struct kp_mem_stats ms;

	fold(es);
	kp_vm_mem_stats(es->vm, &ms);
	*st = (struct engine_stats){
		.events = es->nevents_run,
		.lost = es->lost + es->dropped,
		.mem_used = ms.in_use,
		.mem_peak = ms.peak,
		.mem_quota = ms.arena_size,
		.cpu_ns = es->cpu_ns,
		.nprobes = es->narmed,
	};
}

struct dump_ctx {
	FILE *f;
	bool first;
};

static void dump_emit(void *ctx, const char *name, const char *json,
		      kp_size_t len)
{
	struct dump_ctx *d = ctx;

	/* Global names are identifiers: nothing to escape. */
	fprintf(d->f, "%s\"%s\": ", d->first ? "" : ", ", name);
	fwrite(json, 1, len, d->f);
	d->first = false;
}

static int eu_dump_json(struct engine_session *es, char **json, size_t *len)
{
	struct dump_ctx d = { .first = true };
	int r;

	fold(es);
	d.f = open_memstream(json, len);
	if (!d.f)
		return -ENOMEM;
	fputc('{', d.f);
	r = kp_vm_dump_json(es->vm, dump_emit, &d);
	fputc('}', d.f);
	if (fclose(d.f) != 0) {
		free(*json);
		*json = NULL;
		return -ENOMEM;
	}
	if (r < 0) {
		free(*json);
		*json = NULL;
	}
	return r < 0 ? r : 0;
}

static void snapshot_emit(void *ctx, const void *p, kp_size_t len)
{
	fwrite(p, 1, len, ctx);
}

static int eu_snapshot(struct engine_session *es, void **buf, size_t *len)
{
	char *p = NULL;
	FILE *f = open_memstream(&p, len);
	int r;

	fold(es);
	if (!f)
		return -ENOMEM;
	r = kp_vm_snapshot(es->vm, snapshot_emit, f);
	if (fclose(f) != 0 && !r)
		r = -ENOMEM;
	if (r < 0) {
		free(p);
		return r;
	}
	*buf = p;
	return 0;
}

const struct engine_ops engine_user = {
	.name = "user",
	.start = eu_start,
	.stop = eu_stop,
	.free = eu_free,
	.stats = eu_stats,
	.dump_json = eu_dump_json,
	.snapshot = eu_snapshot,
};
