/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The user engine's insides, shared by its files: engine_user.c (session
 * life, the VM, timers), engine_user_events.c (event specs, fields, argstr),
 * engine_user_perf.c (perf events, rings, dispatch), engine_user_tasks.c
 * (pid -> execname/uid) and engine_user_stack.c (stack(), ustack()). All of it runs on the daemon's loop thread.
 */
#ifndef KTAPD_ENGINE_USER_H
#define KTAPD_ENGINE_USER_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <traceevent/event-parse.h>
#include <uv.h>

#include "engine.h"
#include "perf_ring.h"
#include "vm.h"

#define EU_MAX_ARGS 10
/* The halves of a callchain a probe may ask for: stack(), ustack(). */
#define EU_STACK_KERNEL 1
#define EU_STACK_USER 2
#define EU_STACK_MASK (EU_STACK_KERNEL | EU_STACK_USER)
/* Beside them in probe_stack: the probe reads arg1..arg9 (a uprobe's
 * registers; one that does not gets records without them). */
#define EU_READS_ARGS 4
#define EU_MAX_SYSCALL_ARGS 6

/* Where argN lives in an event's raw record. */
struct eu_arg {
	uint16_t offset;
	uint8_t size; /* 1, 2, 4 or 8; 0: not a number: a string or 0 */
	uint8_t is_signed;
	/* A string (the event's strargs bit): char[chars], or chars == 0
	 * for a __data_loc string whose 4-byte location word is at offset. */
	uint16_t chars;
};

enum eu_event_kind {
	EU_EVENT_PLAIN, /* argstr from the format's print fmt */
	EU_EVENT_SYS_ENTER, /* syscalls:sys_enter_NAME */
	EU_EVENT_SYS_EXIT, /* syscalls:sys_exit_NAME */
};

/*
 * A tracepoint the session listens to. Per-syscall events with a known
 * number arrive through raw_syscalls:sys_enter/sys_exit (demux), the others
 * have perf events of their own (direct).
 */
struct eu_event {
	struct tep_event *tep; /* format: fields and print fmt */
	const char *name; /* probename, e.g. "sys_enter_openat" */
	int id; /* tracefs id = common_type of its records */
	enum eu_event_kind kind;
	int nargs;
	struct eu_arg args[EU_MAX_ARGS];
	uint32_t strargs; /* bit i: argi is a string (kp_event.strargs) */
	uint32_t min_size; /* raw bytes the args need */
	const char *argnames[EU_MAX_SYSCALL_ARGS]; /* syscall events */
	int nsysargs;
	bool needs_ksyms; /* print fmt names kernel functions (%pS...) */
	/* PLAIN: argstr's print program (argprog.h), the kmod engine's
	 * too; NULL: libtraceevent prints it */
	void *argprog;
	size_t argprog_len;
	bool direct;
	bool bpf; /* written by a BPF program into the BPF ring */
	/* BPF counter probes (engine_user_bpf.c): its hits' counter, or 0;
	 * raw_syscalls: the first of one counter per syscall number */
	unsigned int counter;
	uint8_t stack; /* EU_STACK_*: the callchain its samples carry */
	unsigned int *probes; /* the script's probes for it, in order */
	unsigned int nprobes;
	/* raw_syscalls:sys_enter/sys_exit: number -> per-syscall event */
	struct eu_event **demux;
	unsigned int ndemux; /* entries set in demux */
};

/* A task as the session last knew it: for execname and uid. */
struct eu_task {
	struct eu_task *next; /* hash chain */
	struct eu_task *exited_next; /* FIFO of exited tasks */
	int32_t pid, tid;
	int64_t uid; /* -1: unknown */
	uint64_t exit_time; /* 0 while it runs */
	bool hashed;
	char comm[16]; /* "" when unknown */
};

struct eu_tasks {
	struct eu_task **buckets;
	uint32_t mask; /* number of buckets - 1 */
	uint32_t count;
	struct eu_task *last; /* the last lookup: events come in runs */
	struct eu_task *exited_head, *exited_tail;
};

int eu_tasks_init(struct eu_tasks *t);
void eu_tasks_free(struct eu_tasks *t);
/* Learn the tasks that exist now (only pid's threads if pid > 0). */
void eu_tasks_seed(struct eu_tasks *t, pid_t pid);
/* Never NULL unless out of memory; unknown fields stay unknown. */
struct eu_task *eu_tasks_get(struct eu_tasks *t, int32_t tid);
void eu_tasks_comm(struct eu_tasks *t, int32_t pid, int32_t tid,
		   const char *comm, size_t len);
void eu_tasks_fork(struct eu_tasks *t, int32_t pid, int32_t tid,
		   int32_t ptid);
void eu_tasks_exit(struct eu_tasks *t, int32_t tid, uint64_t time);

/* A tick-N probe: a timerfd on the loop. */
struct eu_tick {
	uv_poll_t poll;
	int fd;
	unsigned int probe;
	const char *name; /* "tick-1s" */
	uint64_t period_ns;
};

/* A profile-N probe: a cpu-clock perf event per CPU, in rings of its own. */
struct eu_profile {
	unsigned int probe;
	const char *name; /* "profile-1ms" */
	uint64_t period_ns;
	uint8_t stack; /* EU_STACK_* */
};

struct eu_uprobe;
struct eu_uprobes;
struct sym_procs;

/* What str_field needs about the event being handled. */
struct eu_current {
	struct engine_session *es;
	const struct eu_event *ev; /* NULL for a tick or a profile sample */
	const struct eu_uprobe *up; /* a uprobe's or marker's sample */
	const unsigned char *raw;
	uint32_t rawlen;
	struct eu_task *task; /* NULL for a tick */
	const char *timer_name; /* the tick, profile or uprobe's name */
	int cpu;
	/* The sample's PERF_SAMPLE_CALLCHAIN entries (u64, maybe unaligned),
	 * or NULL: stack() and ustack() are nil. */
	const unsigned char *chain;
	uint32_t nchain;
};

enum eu_state {
	EU_RUNNING,
	EU_ENDING, /* the VM is done (exit, error); the end is deferred */
	EU_ENDED, /* trace_end ran, reports written */
};

struct engine_session {
	struct engine_callbacks cb;
	void *owner;
	uv_loop_t *loop;
	pid_t target_pid;
	int target_fd; /* pidfd of target_pid, -1 */
	int cpu; /* -C, or -1 */
	size_t ring_size;

	void *arena;
	struct kp_vm *vm;

	/* Events (engine_user_events.c) */
	struct tep_handle *tep;
	struct eu_event **events; /* every event, owned */
	unsigned int nevents;
	struct eu_event **by_id; /* armed events by tracefs id */
	unsigned int nby_id;
	bool ksyms_loaded, printk_loaded; /* for argstr, when first needed */
	struct trace_seq seq;
	struct eu_uprobes *uprobes; /* engine_user_uprobe.c, or NULL */
	/* stack(), ustack() (engine_user_stack.c) */
	uint8_t *probe_stack; /* per probe: EU_STACK_* it may call, EU_READS_ARGS */
	/* EU_STACK_* some probe needs; ring samples then have
	 * PERF_SAMPLE_CALLCHAIN */
	uint8_t callchains;
	struct sym_procs *sym; /* ustack() names, when some probe needs them */

	/* perf (engine_user_perf.c) */
	int *fds;
	size_t nfds;
	/* One per online CPU (task records, tracepoints), then one per
	 * profile probe and CPU traced. */
	struct perf_ring *rings;
	int *ring_fds; /* the fd each ring is mapped from */
	int *ring_cpus;
	int *ring_profile; /* index in profiles, or -1 */
	uv_poll_t *polls;
	unsigned int nrings;
	unsigned int *heap; /* rings ordered by their next record's time */
	uint64_t *heap_time; /* per ring */
	/* The BPF ring (engine_user_bpf.c), if any, is source nrings. */
	struct eu_bpf *bpf;
	unsigned int nsources; /* nrings, + 1 with a BPF ring */
	struct eu_tasks tasks;

	struct eu_tick *ticks;
	unsigned int nticks;
	struct eu_profile *profiles;
	unsigned int nprofiles;

	struct kp_event kev; /* the event handed to the VM, reused */
	struct eu_current cur;

	enum eu_state state;
	bool handles; /* the timers below are initialized */
	/* fd-watching handles initialized: closed before their fds */
	unsigned int npolls_init, nticks_init;
	bool target_poll_init, fd_handles_closed;
	bool armed; /* perf events enabled, handles started */
	bool failed; /* a runtime error ended it: no trace_end */
	bool quiet; /* output dropped: main of a restored session */
	int status;
	uv_timer_t flush_timer; /* drains rings below their watermark */
	uv_timer_t end_timer; /* deferred end, or grace after the target exit */
	uv_idle_t more; /* a drain stopped at its budget: go on next turn */
	uv_poll_t target_poll;
	unsigned int open_handles; /* closed ones call back before free */
	bool freeing;

	uint64_t nevents_run, lost, dropped, cpu_ns;
	/* uprobes whose hits BPF counts (eu_uprobe_fold() applies them) */
	unsigned int ncounted;
	uint32_t narmed; /* perf events and timers armed */
};

/* engine_user_events.c */
/* Append probe to a probe list unless it is the last one already (a
 * probe naming one event twice runs once per event). 0 or -ENOMEM. */
int eu_probe_list_add(unsigned int **probes, unsigned int *n,
		      unsigned int probe);
int eu_events_resolve(struct engine_session *es, unsigned int probe,
		      const char *spec, char *err, size_t errlen);
void eu_events_free(struct engine_session *es);
/* The kernel-side filter to set on ev's perf events, or NULL. */
const char *eu_event_filter(const struct eu_event *ev, char *buf,
			    size_t size);
/* String argument i of the current tracepoint record (strargs), cut to
 * size; -1 when the record does not hold it. */
long eu_arg_string(const struct eu_current *cur, unsigned int i, char *buf,
		   size_t size);
long eu_argstr(struct engine_session *es, const struct eu_current *cur,
	       char *buf, size_t size);

/* arg0..argN of an event from its raw record (at least min_size bytes). */
static inline void eu_decode_args(const struct eu_event *ev,
				  const unsigned char *raw,
				  struct kp_event *kev)
{
	const struct eu_arg *a = ev->args;
	int i;

	for (i = 0; i < ev->nargs; i++, a++) {
		union {
			uint8_t u8;
			uint16_t u16;
			uint32_t u32;
			uint64_t u64;
		} v;

		memcpy(&v, raw + a->offset, a->size);
		switch (a->size) {
		case 1:
			kev->args[i] = a->is_signed ? (int64_t)(int8_t)v.u8 :
						     (int64_t)v.u8;
			break;
		case 2:
			kev->args[i] = a->is_signed ? (int64_t)(int16_t)v.u16 :
						     (int64_t)v.u16;
			break;
		case 4:
			kev->args[i] = a->is_signed ? (int64_t)(int32_t)v.u32 :
						     (int64_t)v.u32;
			break;
		case 8:
			kev->args[i] = (int64_t)v.u64;
			break;
		default:
			kev->args[i] = 0;
			break;
		}
	}
	kev->nargs = ev->nargs;
	kev->strargs = ev->strargs;
}

/* engine_user_perf.c */
int eu_perf_open(struct engine_session *es, char *err, size_t errlen);
/* Keep a perf event fd with the session's, for enable and release. */
int eu_perf_keep_fd(struct engine_session *es, int fd);
void eu_perf_enable(struct engine_session *es);
void eu_perf_disable(struct engine_session *es);
void eu_perf_release(struct engine_session *es);
/* Handle up to budget records in time order; true if more are waiting. */
bool eu_perf_drain(struct engine_session *es, size_t budget);

/* For engine_user_uprobe.c: an event of ring ri's kind, opened into it. */
void eu_perf_attr_init(struct perf_event_attr *a,
		       const struct engine_session *es, uint32_t type,
		       uint64_t config, unsigned int ri);
int eu_perf_open_into_ring(struct engine_session *es,
			   struct perf_event_attr *a, pid_t tid,
			   unsigned int ri, const char *what, char *err,
			   size_t errlen);

/*
 * engine_user_uprobe.c: probe:/path:sym[%return], probe:/path:0xOFF and
 * sdt:/path:[provider:]marker, as perf uprobe events in the CPU rings.
 */
bool eu_uprobe_spec(const char *item);
int eu_uprobe_resolve(struct engine_session *es, unsigned int probe,
		      const char *item, char *err, size_t errlen);
unsigned int eu_uprobe_count(const struct engine_session *es);
/* The uprobes of ring ri, for thread tid (-1: all). */
int eu_uprobe_open(struct engine_session *es, pid_t tid, unsigned int ri,
		   char *err, size_t errlen);
/* A sample of one of the session's uprobes: run its probes; false if it
 * is none of them. Its fields from the raw size on are chain_bytes
 * further (a callchain comes before them: eu_stack_sample). */
bool eu_uprobe_sample(struct engine_session *es, const unsigned char *p,
		      uint32_t size, int32_t cpu, uint32_t chain_bytes);
/* Uprobes the BPF path takes (not the return probes: the function's
 * address they report is the kernel's alone; not those whose handlers
 * take stacks: its records carry none), attached once es->bpf is made;
 * reset puts them back on perf samples. */
unsigned int eu_uprobe_bpf_count(const struct engine_session *es);
/*
 * Pick the BPF-path uprobes whose every probe is a counter
 * (kp_vm_probe_counter): their programs count hits instead of writing
 * records. Returns how many (the counters the BPF map needs).
 */
unsigned int eu_uprobe_bpf_counters(struct engine_session *es);
/* Apply the uprobe hits counted since the last call (eu_bpf_fold). */
void eu_uprobe_fold(struct engine_session *es);
int eu_uprobe_bpf_open(struct engine_session *es, int cpu, char *err,
		       size_t errlen);
void eu_uprobe_bpf_reset(struct engine_session *es);
long eu_uprobe_argstr(const struct eu_current *cur,
		      const struct kp_event *kev, char *buf, size_t size);
void eu_uprobes_free(struct engine_session *es);

/*
 * engine_user_stack.c. Before probes resolve: which ones call stack() or
 * ustack() (-errno if the chunk does not parse).
 */
int eu_stack_scan(struct engine_session *es, const void *chunk, size_t len);
/* EU_STACK_* the probes may ask for. */
unsigned int eu_stack_need(const struct engine_session *es,
			   const unsigned int *probes, unsigned int n);
/* Whether one of the probes may read arg1..arg9. */
bool eu_probes_read_args(const struct engine_session *es,
			 const unsigned int *probes, unsigned int n);
/* After they resolve: what each event's and profile's samples carry. */
void eu_stack_events(struct engine_session *es);
/* Ask for the halves need names (every ring event: see there). */
void eu_stack_attr(const struct engine_session *es, struct perf_event_attr *a,
		   unsigned int need);
/*
 * The callchain field at offset at of a ring sample becomes es->cur's
 * chain; returns its bytes, or UINT32_MAX if the sample is truncated.
 */
uint32_t eu_stack_sample(struct engine_session *es, const unsigned char *p,
			 uint32_t size, uint32_t at);
long eu_stack_host(void *host, const struct kp_event *ev, int user, int depth,
		   int skip, char *buf, kp_size_t size);
/* The processes' execs, forks and file mappings, for ustack()'s names. */
void eu_stack_exec(struct engine_session *es, int32_t pid);
void eu_stack_fork(struct engine_session *es, int32_t pid, int32_t ppid);
void eu_stack_mmap(struct engine_session *es, const unsigned char *p,
		   uint32_t size);
void eu_stack_free(struct engine_session *es);

/* engine_user_bpf.c: the BPF fast path for fixed-size tracepoints. */
bool eu_bpf_wanted(const struct engine_session *es);
/* Load and attach the programs; on failure nothing stays and the events
 * go to perf. */
int eu_bpf_open(struct engine_session *es, int ncpus, int first_cpu,
		char *err, size_t errlen);
int eu_bpf_fd(const struct engine_session *es);
void eu_bpf_gate(struct engine_session *es, bool on);
void eu_bpf_count_lost(struct engine_session *es);
void eu_bpf_release(struct engine_session *es);
bool eu_bpf_begin(struct engine_session *es);
const struct perf_event_header *eu_bpf_peek(struct engine_session *es);
void eu_bpf_consume(struct engine_session *es);
void eu_bpf_publish(struct engine_session *es);
bool eu_bpf_half_read(const struct engine_session *es);
int32_t eu_bpf_cpu(const struct perf_event_header *h);
/*
 * A uprobe's program (engine_user_uprobe.c's sample layout, written from
 * its registers; the ID slot holds id | CPU << 32); its fd stays with
 * the BPF ring's.
 */
struct eu_bpf_uprobe {
	uint64_t id;
	uint64_t regs; /* perf register mask, copied from struct pt_regs */
	uint32_t stack; /* bytes of user stack (PERF_SAMPLE_STACK_USER's form) */
};
int eu_bpf_uprobe_prog(struct engine_session *es,
		       const struct eu_bpf_uprobe *u, const char *name,
		       char *err, size_t errlen);
/*
 * A counted uprobe's program: it adds 1 to counter k (per CPU, in the
 * control map) and writes no record; eu_bpf_counter_read() sums k.
 */
int eu_bpf_counter_prog(struct engine_session *es, unsigned int k,
			const char *name, char *err, size_t errlen);
uint64_t eu_bpf_counter_read(const struct engine_session *es,
			     unsigned int k);
/*
 * Apply every hit BPF programs counted since the last call (uprobes and
 * tracepoints whose probes are all counters): engine_user.c calls it
 * before the VM runs anything else.
 */
void eu_bpf_fold(struct engine_session *es);
/*
 * Open the event attr describes (type and config set) on cpu, kept with
 * the session's, and attach prog to it; what names it in messages.
 */
int eu_bpf_attach(struct engine_session *es, struct perf_event_attr *attr,
		  int cpu, int prog, const char *what, char *err,
		  size_t errlen);

/*
 * engine_user.c: run a probe (or ev's probes) for the event in es->kev and
 * es->cur; false once the VM said stop.
 */
bool eu_run_probe(struct engine_session *es, unsigned int probe);
/* Whether probes[0..n) are all counter probes (and n > 0). */
bool eu_probes_counted(const struct engine_session *es,
		       const unsigned int *probes, unsigned int n);
/* As `runs` runs of counter probe `probe` (kp_vm_run_counted). */
bool eu_run_counted(struct engine_session *es, unsigned int probe,
		    const char *probename, uint64_t runs);
void eu_run_probes(struct engine_session *es, const struct eu_event *ev);

#endif /* KTAPD_ENGINE_USER_H */
