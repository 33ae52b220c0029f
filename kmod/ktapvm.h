/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ktapvm.ko's insides, shared by its files: main.c (device, VERSION,
 * CREATE), session.c (a session's life and its ioctls), attach.c (event
 * sources), run.c (running the VM in probe context, the VM's host
 * services) and output.c (per-CPU output rings, read, poll).
 */
#ifndef KTAPVM_H
#define KTAPVM_H

#include <linux/atomic.h>
#include <linux/cred.h>
#include <linux/hardirq.h>
#include <linux/irq_work.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/pid.h>
#include <linux/percpu.h>
#include <linux/poll.h>
#include <linux/sched.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include "ktapvm_abi.h"
#include "vm.h"

/* Limits (reported by VERSION). */
#define KTAPVM_MIN_ARENA 64ull
#define KTAPVM_MAX_ARENA (1ull << 30)
#define KTAPVM_MIN_RING (64ull << 10)
#define KTAPVM_MAX_RING (256ull << 20)
#define KTAPVM_DEFAULT_RING (1ull << 20)
#define KTAPVM_MAX_TIME_BUDGET_NS (1000ull * NSEC_PER_MSEC)
#define KTAPVM_DEFAULT_TIME_BUDGET_NS (50ull * NSEC_PER_MSEC)
#define KTAPVM_MAX_CALL_DEPTH 10000u
#define KTAPVM_MIN_PERIOD_NS 10000ull
#define KTAPVM_MAX_ATTACH 4096u
#define KTAPVM_MAX_ARGS (64u << 10)
#define KTAPVM_MAX_FIELDS 10u /* kp_event.args */
#define KTAPVM_MAX_NAME 256u /* probename, with its NUL */
/*
 * Header included; above the VM's flush size (4 KiB and a line): one flush
 * makes one record.
 */
#define KTAPVM_MAX_RECORD (16u << 10)

/* Set at load time (module parameter), read by VERSION and CREATE. */
extern unsigned int ktapvm_max_insn_budget;

/* The session output: one ring per possible CPU. */
struct ktapvm_ring;

struct ktapvm_output {
	struct ktapvm_ring *rings; /* [nr_cpu_ids] */
	u64 size; /* of each ring, a power of two */
	/* Writers: serialized by the session (see run.c). */
	u64 seq; /* of the next record written */
	u64 records, bytes, lost_records, lost_bytes;
	/* The reader. */
	struct mutex read_lock;
	u64 next_seq; /* of the next record read() hands out */
};

/* Counters bumped outside the VM lock: per CPU, summed by STATS. */
struct ktapvm_cpu_stats {
	u64 drop_recursion;
	u64 drop_contention;
	u64 drop_missed;
	u64 counted; /* hits of counter sources (attach.c), all of them */
};

struct ktapvm_session {
	/*
	 * Control: every ioctl, the end work and release, in process
	 * context. Held while main and trace_end run (no probe is armed
	 * then, so they need not take vm_lock).
	 */
	struct mutex lock;
	/*
	 * One VM invocation at a time while probes are armed (run.c). An
	 * arch lock, as the ftrace ring buffer's: probes only try it, with
	 * interrupts (hence preemption) off, inline; process context takes
	 * it with interrupts off too (ktapvm_vm_lock()). lockdep does not
	 * see it: nothing is taken under it.
	 */
	arch_spinlock_t vm_lock;
	atomic_t state; /* KTAPVM_STATE_*; probes run only in RUNNING */

	void *arena;
	size_t arena_size;
	u32 insn_budget, max_call_depth;
	u64 time_budget_ns;
	bool kernel_reads; /* kernel_string(): lockdown allows it */
	struct kp_vm *vm; /* set by a good LOAD */
	bool started; /* main ran: trace_end is due at the end */
	bool quiet; /* output dropped: main of a restored session */

	struct list_head attachments;
	/* SYS_ENTER, SYS_EXIT sources by syscall number (attach.c) */
	struct ktapvm_syscalls *sys[2];
	/*
	 * Sources of counter probes (kp_vm_probe_counter): their hits are
	 * per-CPU counts, applied by ktapvm_attach_fold() before the VM
	 * runs anything else. counted: the pcpu->counted sum applied.
	 */
	struct list_head counters;
	u64 counted;
	unsigned int nattach;
	unsigned int narmed; /* kernel objects in the attachments */

	struct ktapvm_output out;
	wait_queue_head_t wq; /* readers, pollers */
	struct irq_work wake_irq; /* output written: wake readers */
	struct irq_work end_irq; /* a probe ended the session */
	struct work_struct end_work; /* ... finish it in process context */

	/* Written under vm_lock (or with no probe armed). */
	u64 events, cpu_ns, drop_budget, short_records;
	u64 missed; /* kprobe misses of sources already released */
	bool failed; /* a runtime error ended it: no trace_end */
	int status;
	char error[288];
	struct ktapvm_cpu_stats __percpu *pcpu;
};

/* Command numbers without their size bits (proto/ktapvm_abi.h). */
#define KTAPVM_CMD(cmd) ((cmd) & ~(_IOC_SIZEMASK << _IOC_SIZESHIFT))

/*
 * main.c: an ABI struct in, the ABI's way: returns the caller's size, or
 * -EINVAL (below min_size), -E2BIG (unknown non-zero tail), -EFAULT.
 */
int ktapvm_copy_in(void *dst, size_t ksize, size_t min_size,
		   const void __user *src);
/* ... and out again, within the caller's size. */
int ktapvm_copy_out(void __user *dst, const void *src, size_t ksize,
		    size_t usize);

/* session.c */
int ktapvm_session_create(const struct ktapvm_create *c);
/* The session ended by itself (probe context): finish it in process context. */
void ktapvm_session_end_async(struct ktapvm_session *s);

/* attach.c */
int ktapvm_attach(struct ktapvm_session *s, const struct ktapvm_attach *a);
void ktapvm_attach_enable(struct ktapvm_session *s);
/* Unregister everything and wait until no handler runs. */
void ktapvm_attach_release(struct ktapvm_session *s);
u64 ktapvm_attach_missed(struct ktapvm_session *s);
/*
 * Apply the hits counted since the last call (under vm_lock, or with no
 * probe armed); false once the VM said stop.
 */
bool ktapvm_attach_fold(struct ktapvm_session *s);

struct ktapvm_source; /* attach.c */

/* How a syscall event's argstr reads (ATTACH argfmt). */
struct ktapvm_sysfmt {
	const char *name; /* openat */
	const char *args[6]; /* dfd, filename... */
	u32 nargs;
	bool exit; /* "sys_NAME -> 0xRET" */
};

/*
 * run.c: the event a handler runs for. kev is what the VM reads; the rest
 * is what the host services (str_field, stack, read_string) need.
 */
struct ktapvm_event {
	struct kp_event kev;
	const char *name; /* probename, or NULL */
	struct pt_regs *regs; /* of the probed context, or NULL */
	bool task; /* kev's pid/tid/uid are current's (else a tick) */
	/*
	 * Tracepoint: the raw record. A string argN (kev.strargs) is
	 * args[N] = offset << 32 | length within it, checked against it.
	 */
	const u8 *raw;
	u32 rawlen; /* TRACEPOINT: raw's size */
	/* SYS_*: argstr from raw's arguments (see struct ktapvm_sysfmt) */
	const struct ktapvm_sysfmt *sysfmt;
	/* TRACEPOINT with a print program: its source (ktapvm_tp_argstr()) */
	const struct ktapvm_source *src;
};

/* attach.c: a tracepoint's argstr from ev->src's print program; -1: nil. */
long ktapvm_tp_argstr(const struct ktapvm_event *ev, char *buf, size_t size);
/* run.c: kp_argprog_env.symbol (sprint_symbol()) */
long ktapvm_symbol(void *ctx, kp_u64 addr, int off, char *buf, kp_size_t size);

extern const struct kp_host_ops ktapvm_host_ops;
/* kp_event.str_field of every event (run.c). */
long ktapvm_host_str_field(const struct kp_event *kev, int field, char *buf,
			   kp_size_t size);

/*
 * Fill ev's task words and host hooks (arguments are the caller's).
 * Inline, as ktapvm_probe_begin() and _end(): they run on every event.
 */
static __always_inline void
ktapvm_event_init(struct ktapvm_event *ev, const char *name,
		  struct pt_regs *regs, bool task)
{
	struct kp_event *kev = &ev->kev;

	ev->name = name;
	ev->regs = regs;
	ev->task = task;
	ev->raw = NULL;
	ev->sysfmt = NULL;
	ev->src = NULL;
	/* Global ids, as the kernel's own trace output shows them. */
	kev->pid = task ? current->tgid : 0;
	kev->tid = task ? current->pid : 0;
	kev->uid = task ? __kuid_val(current_uid()) : 0;
	kev->cpu = smp_processor_id();
	kev->nargs = 0;
	kev->strargs = 0;
	kev->has_retval = 0;
	kev->str_field = ktapvm_host_str_field;
	kev->data = NULL;
	kev->name_key = name; /* the source's own copy: one per source */
}

/*
 * Probe context. begin: false when the event is not for this session now
 * (state, pid, cpu) or must be dropped (recursion, contention: counted);
 * true with interrupts off and the VM lock held. run: the probe's handler.
 * end: after a true begin. See run.c for the scheme.
 */
struct ktapvm_probe_ctx {
	unsigned long flags;
	int level;
};

/* Handlers running on this CPU, per context level, all sessions. */
struct ktapvm_nesting {
	unsigned int depth[4]; /* by interrupt_context_level() */
};

DECLARE_PER_CPU(struct ktapvm_nesting, ktapvm_nesting);

/* Whether current descends from process tgid (run.c). */
bool ktapvm_descends_from(const struct pid *tgid);

static __always_inline bool
ktapvm_probe_begin(struct ktapvm_session *s, int cpu, const struct pid *tgid,
		   bool children, struct ktapvm_probe_ctx *pc)
{
	struct ktapvm_nesting *nest;

	if (atomic_read(&s->state) != KTAPVM_STATE_RUNNING)
		return false;
	if (tgid && task_tgid(current) != tgid &&
	    !(children && ktapvm_descends_from(tgid)))
		return false;
	local_irq_save(pc->flags);
	if (cpu >= 0 && smp_processor_id() != cpu)
		goto out_irq;
	pc->level = interrupt_context_level();
	nest = this_cpu_ptr(&ktapvm_nesting);
	if (nest->depth[pc->level]++) {
		this_cpu_inc(s->pcpu->drop_recursion);
		goto out_nest;
	}
	if (!arch_spin_trylock(&s->vm_lock)) {
		this_cpu_inc(s->pcpu->drop_contention);
		goto out_nest;
	}
	/* It may have ended while this CPU waited for nothing. */
	if (atomic_read(&s->state) == KTAPVM_STATE_RUNNING)
		return true;
	arch_spin_unlock(&s->vm_lock);
out_nest:
	nest->depth[pc->level]--;
out_irq:
	local_irq_restore(pc->flags);
	return false;
}

void ktapvm_probe_run(struct ktapvm_session *s, unsigned int probe,
		      struct ktapvm_event *ev);

/* vm_lock from process context (STATS, DUMP, SNAPSHOT). */
static inline unsigned long ktapvm_vm_lock(struct ktapvm_session *s)
{
	unsigned long flags;

	local_irq_save(flags);
	arch_spin_lock(&s->vm_lock);
	return flags;
}

static inline void ktapvm_vm_unlock(struct ktapvm_session *s,
				    unsigned long flags)
{
	arch_spin_unlock(&s->vm_lock);
	local_irq_restore(flags);
}

static __always_inline void
ktapvm_probe_end(struct ktapvm_session *s, struct ktapvm_probe_ctx *pc)
{
	arch_spin_unlock(&s->vm_lock);
	this_cpu_ptr(&ktapvm_nesting)->depth[pc->level]--;
	local_irq_restore(pc->flags);
}

/*
 * Process context, no probe armed (START, STOP): run main or trace_end
 * and account for its result. Returns the VM's KP_* result.
 */
int ktapvm_run_main(struct ktapvm_session *s);
/* As `runs` runs of a counter probe (kp_vm_run_counted), accounted. */
bool ktapvm_run_counted(struct ktapvm_session *s, unsigned int probe,
			const char *name, u64 runs);
int ktapvm_run_end(struct ktapvm_session *s);

/* output.c */
int ktapvm_output_init(struct ktapvm_output *out, u64 ring_size);
void ktapvm_output_free(struct ktapvm_output *out);
/* Append (as records) to the current CPU's ring. Writers are serialized. */
void ktapvm_output_write(struct ktapvm_output *out, const char *buf,
			 size_t len);
bool ktapvm_output_pending(struct ktapvm_output *out);
ssize_t ktapvm_output_read(struct ktapvm_session *s, char __user *buf,
			   size_t count, bool nonblock);

#endif /* KTAPVM_H */
