// SPDX-License-Identifier: GPL-2.0
/*
 * Running the VM for an event, in whatever context the probe fired (task,
 * softirq, hardirq, NMI), and the services the VM asks of its host there:
 * output, event strings, stacks, fault-safe string reads.
 *
 * Concurrency: the VM is single-threaded (one struct kp_vm per session,
 * mutable globals, one arena, one collector), so each invocation holds the
 * session's raw spinlock, taken with trylock and interrupts off. A handler
 * that finds the lock busy (the VM running on another CPU, or in the
 * context this one interrupted) is skipped and counted, never spun on: an
 * NMI or a scheduler tracepoint must not wait for a handler that may be
 * the one it interrupted. Interrupts stay off during the invocation so
 * that local interrupts do not pile up as contention drops.
 *
 * Re-entry: a handler can fire a probe itself (a tracepoint in a fault
 * handler, a kprobe on a function the VM calls). A per-CPU depth per
 * context level (task, softirq, hardirq, NMI), shared by all sessions,
 * skips such nested events and counts them; an NMI arriving during a
 * handler is a different level and gets as far as the trylock.
 *
 * Budgets: the VM counts instruction units per invocation and reads the
 * clock every KP_TIME_CHECK_UNITS of them against the session's time
 * budget; either error ends the session. Time is also measured around each
 * invocation, for what the VM does not charge (a long built-in call): one
 * that ran past the budget ends the session as well, after the fact.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cred.h>
#include <linux/kallsyms.h>
#include <linux/math64.h>
#include <linux/percpu.h>
#include <linux/preempt.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/sched/clock.h>
#include <linux/sched/task_stack.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <asm/unaligned.h>
#include <asm/unwind.h>

#include "ktapvm.h"
#include "opcodes.h"

/* Exit status of a session ended by a runtime error (as in ktapd). */
#define KTAPVM_EXIT_RUNTIME 3
/* stack()/ustack(): frames gathered at most (skip included). */
#define KTAPVM_MAX_FRAMES 48
/* read_string(): bytes copied at a time, never across a page. */
#define KTAPVM_READ_CHUNK 64

DEFINE_PER_CPU(struct ktapvm_nesting, ktapvm_nesting);

static void session_write(struct ktapvm_session *s, const char *buf,
			  size_t len)
{
	ktapvm_output_write(&s->out, buf, len);
	/* Not wake_up(): probes may hold scheduler locks. */
	irq_work_queue(&s->wake_irq);
}

/* A runtime error ends the session: say so in its output and in STATS. */
static void session_fail(struct ktapvm_session *s, const char *msg)
{
	char line[sizeof(s->error) + 8];
	int n;

	s->failed = true;
	s->status = KTAPVM_EXIT_RUNTIME;
	strscpy(s->error, msg, sizeof(s->error));
	n = scnprintf(line, sizeof(line), "error: %s\n", msg);
	session_write(s, line, n);
}

/* Account for a KP_ERROR or KP_EXITED result of any invocation. */
static void vm_stopped(struct ktapvm_session *s, int r)
{
	const char *msg;

	if (r == KP_ERROR) {
		msg = kp_vm_error(s->vm);
		/* The VM's own wording (shared/LANGUAGE.md, vm.c). */
		if (strstr(msg, " budget exceeded ("))
			s->drop_budget++;
		session_fail(s, msg);
	} else if (r == KP_EXITED) {
		s->status = kp_vm_exit_status(s->vm);
	}
}

/*
 * Whether current descends from process tgid. The parents are read under
 * RCU, as getppid() does: a task reached through real_parent, and its
 * signal struct, stay valid for the grace period. Bounded: a chain
 * longer than that is not followed to its end.
 */
bool ktapvm_descends_from(const struct pid *tgid)
{
	struct task_struct *t = current, *p;
	unsigned int depth;
	bool r = false;

	rcu_read_lock();
	for (depth = 0; depth < 64; depth++, t = p) {
		p = rcu_dereference(t->real_parent);
		if (p == t || !p->pid)
			break;
		if (task_tgid(p) == tgid) {
			r = true;
			break;
		}
	}
	rcu_read_unlock();
	return r;
}

/*
 * local_clock() is slow where the TSC is unstable (over 100 ns a read
 * under TCG, twice an event): one event in KTAPVM_CLOCK_EVERY is timed and
 * stands for the others in cpu_ns, and only it is checked against the time
 * budget after the fact. A handler that runs long is stopped by the VM's
 * own check anyway (every KP_TIME_CHECK_UNITS units); a slow short one is
 * still caught, within KTAPVM_CLOCK_EVERY events.
 */
#define KTAPVM_CLOCK_EVERY 16

/* The session ends from probe context: only the first queues the end. */
static void end_from_probe(struct ktapvm_session *s)
{
	if (atomic_cmpxchg(&s->state, KTAPVM_STATE_RUNNING,
			   KTAPVM_STATE_ENDING) == KTAPVM_STATE_RUNNING)
		ktapvm_session_end_async(s);
}

/* A KP_ERROR or KP_EXITED of an invocation in probe context ends it. */
static void probe_stopped(struct ktapvm_session *s, int r)
{
	vm_stopped(s, r);
	end_from_probe(s);
}

bool ktapvm_run_counted(struct ktapvm_session *s, unsigned int probe,
			const char *name, u64 runs)
{
	int r;

	/* Ended (exit, an error): reported once, when it happened. */
	if (kp_vm_exited(s->vm))
		return false;
	r = kp_vm_run_counted(s->vm, probe, name, name ? strlen(name) : 0,
			      runs);
	s->events += runs;
	if (r == KP_OK)
		return true;
	probe_stopped(s, r);
	return false;
}

/*
 * An invocation that ran past the time budget, as measured around it.
 * Out of line: its message buffer would be cleared on every event
 * (CONFIG_INIT_STACK_ALL_ZERO) if it lived in ktapvm_probe_run().
 */
static noinline void probe_overran(struct ktapvm_session *s)
{
	char msg[48];

	s->drop_budget++;
	snprintf(msg, sizeof(msg), "time budget exceeded (%llu us)",
		 div_u64(s->time_budget_ns, NSEC_PER_USEC));
	session_fail(s, msg);
	end_from_probe(s);
}

void ktapvm_probe_run(struct ktapvm_session *s, unsigned int probe,
		      struct ktapvm_event *ev)
{
	/* The VM lock serializes the events of a session. */
	bool timed = !(s->events++ & (KTAPVM_CLOCK_EVERY - 1));
	u64 t0, dt = 0;
	int r;

	/* Counted hits first: this handler may read what they add to. */
	if (!list_empty(&s->counters) && !ktapvm_attach_fold(s))
		return;
	t0 = timed ? local_clock() : 0;
	r = kp_vm_run_probe(s->vm, probe, &ev->kev);
	if (timed) {
		dt = local_clock() - t0;
		s->cpu_ns += dt * KTAPVM_CLOCK_EVERY;
	}
	if (r == KP_OK && dt > s->time_budget_ns)
		probe_overran(s);
	else if (r != KP_OK)
		probe_stopped(s, r);
}

int ktapvm_run_main(struct ktapvm_session *s)
{
	u64 t0 = local_clock();
	int r = kp_vm_run_main(s->vm);

	s->cpu_ns += local_clock() - t0;
	vm_stopped(s, r);
	return r;
}

int ktapvm_run_end(struct ktapvm_session *s)
{
	u64 t0 = local_clock();
	int r = kp_vm_run_end(s->vm);

	s->cpu_ns += local_clock() - t0;
	vm_stopped(s, r);
	return r;
}

/* The VM's host services */

/*
 * A syscall event's argstr, as the kernel's trace output has it
 * (print_syscall_enter/exit: small values in decimal, others in hex).
 * The record is the one attach.c built: arguments (or ret) at 16.
 */
static long sys_argstr(const struct ktapvm_event *ev, char *buf, size_t size)
{
	const struct ktapvm_sysfmt *f = ev->sysfmt;
	size_t len;
	u64 v;
	u32 i;

	if (f->exit)
		return scnprintf(buf, size, "sys_%s -> 0x%llx", f->name,
				 get_unaligned((const u64 *)(ev->raw + 16)));
	len = scnprintf(buf, size, "sys_%s(", f->name);
	for (i = 0; i < f->nargs; i++) {
		v = get_unaligned((const u64 *)(ev->raw + 16 + 8 * i));
		len += scnprintf(buf + len, size - len,
				 v < 10 ? "%s%s: %llu" : "%s%s: 0x%llx",
				 i ? ", " : "", f->args[i], v);
	}
	len += scnprintf(buf + len, size - len, ")");
	return len;
}

/*
 * sprint_symbol() needs KSYM_SYMBOL_LEN bytes, too many for a probe's
 * stack: one buffer per CPU, used with interrupts off (a VM run holds
 * vm_lock). Not in NMI, which could interrupt another session's use.
 */
static DEFINE_PER_CPU(char[KSYM_SYMBOL_LEN], ktapvm_ksym);

long ktapvm_symbol(void *ctx, kp_u64 addr, int off, char *buf, kp_size_t size)
{
	char *sym = *this_cpu_ptr(&ktapvm_ksym);
	size_t n;

	if (in_nmi())
		return -1;
	/* "name+0xoff/0xsize [module]", or the bare address: none. */
	sprint_symbol(sym, (unsigned long)addr);
	if (!strncmp(sym, "0x", 2))
		return -1;
	n = strcspn(sym, off ? "/ " : "+ ");
	n = min_t(size_t, n, size);
	memcpy(buf, sym, n);
	return n;
}

long ktapvm_host_str_field(const struct kp_event *kev, int field, char *buf,
			   kp_size_t size)
{
	const struct ktapvm_event *ev =
		container_of(kev, struct ktapvm_event, kev);
	const char *str;
	size_t n;
	u64 loc;

	switch (field) {
	case KP_EV_EXECNAME:
		if (!ev->task)
			return -1;
		str = current->comm;
		n = strnlen(str, sizeof(current->comm));
		break;
	case KP_EV_PROBENAME:
		if (!ev->name)
			return -1;
		str = ev->name;
		n = strlen(str);
		break;
	case KP_EV_ARGSTR:
		/* Syscall events only: the others' print fmt is ktapd's. */
		if (ev->sysfmt)
			return sys_argstr(ev, buf, size);
		return ev->src ? ktapvm_tp_argstr(ev, buf, size) : -1;
	default:
		/* A string argN (decode_fields() of attach.c checked it). */
		loc = (u64)kev->args[field - KP_EV_ARG0];
		str = (const char *)ev->raw + (loc >> 32);
		n = strnlen(str, (u32)loc);
		break;
	}
	n = min_t(size_t, n, size);
	memcpy(buf, str, n);
	return n;
}

static void host_write(void *host, const char *buf, kp_size_t len)
{
	struct ktapvm_session *s = host;

	/* main again for a restored session: it printed that the first time */
	if (!s->quiet)
		session_write(s, buf, len);
}

/*
 * The kernel stack at the event, the way perf unwinds its callchains:
 * from the probed context's registers when they are real ones, else from
 * the frame the tracepoint's caller left (perf_fetch_caller_regs).
 */
static int kernel_frames(struct pt_regs *regs, unsigned long *ips, int max)
{
	struct unwind_state state;
	unsigned long addr;
	int n = 0;

	if (!regs || user_mode(regs))
		return -1;
	ips[n++] = instruction_pointer(regs);
	if (regs->flags & X86_EFLAGS_FIXED)
		unwind_start(&state, current, regs, NULL);
	else
		unwind_start(&state, current, NULL, (unsigned long *)regs->sp);
	for (; n < max && !unwind_done(&state); unwind_next_frame(&state)) {
		addr = unwind_get_return_address(&state);
		if (!addr)
			break;
		/* The caller's frame of a tracepoint holds its ip again. */
		if (n == 1 && addr == ips[0])
			continue;
		ips[n++] = addr;
	}
	return n;
}

/* The user stack of the current task, by its frame pointers. */
static int user_frames(const struct ktapvm_event *ev, unsigned long *ips,
		       int max)
{
	struct pt_regs *regs = ev->regs;
	struct {
		unsigned long next, ret;
	} frame;
	unsigned long fp;
	int n = 0;

	if (!ev->task)
		return -1;
	if (!regs || !user_mode(regs)) {
		if ((current->flags & PF_KTHREAD) || !current->mm)
			return -1;
		regs = task_pt_regs(current);
	}
	if (!user_64bit_mode(regs))
		return -1;
	ips[n++] = instruction_pointer(regs);
	for (fp = regs->bp; n < max && fp && !(fp & 7); fp = frame.next) {
		if (copy_from_user_nofault(&frame, (void __user *)fp,
					   sizeof(frame)) || !frame.ret)
			break;
		ips[n++] = frame.ret;
		if (frame.next <= fp) /* stacks grow down: stop on a loop */
			break;
	}
	return n;
}

static long host_stack(void *host, const struct kp_event *kev, int user,
		       int depth, int skip, char *buf, kp_size_t size)
{
	const struct ktapvm_event *ev;
	unsigned long ips[KTAPVM_MAX_FRAMES];
	size_t len = 0;
	int n, i;

	if (!kev || depth <= 0 || skip < 0 || skip >= KTAPVM_MAX_FRAMES)
		return -1;
	ev = container_of(kev, struct ktapvm_event, kev);
	n = min(depth, KTAPVM_MAX_FRAMES - skip) + skip;
	n = user ? user_frames(ev, ips, n) : kernel_frames(ev->regs, ips, n);
	if (n < 0)
		return -1;
	for (i = skip; i < n; i++) {
		const char *sep = i > skip ? "\n" : "";

		if (user)
			len += scnprintf(buf + len, size - len, "%s0x%lx", sep,
					 ips[i]);
		else
			len += scnprintf(buf + len, size - len, "%s%pS", sep,
					 (void *)ips[i]);
	}
	return len;
}

static long host_read_string(void *host, const struct kp_event *ev, int user,
			     kp_u64 addr, char *buf, kp_size_t size)
{
	struct ktapvm_session *s = host;
	size_t done = 0, n;
	char *nul;
	long r;

	/* Outside a handler there is no traced context to read from. */
	if (!ev || (!user && !s->kernel_reads))
		return -1;
	while (done < size) {
		n = min_t(size_t, size - done, KTAPVM_READ_CHUNK);
		n = min_t(size_t, n, PAGE_SIZE - ((addr + done) & ~PAGE_MASK));
		if (user)
			r = copy_from_user_nofault(buf + done,
				(const void __user *)(unsigned long)(addr + done), n);
		else
			r = copy_from_kernel_nofault(buf + done,
				(const void *)(unsigned long)(addr + done), n);
		if (r)
			return done ? (long)done : -1;
		nul = memchr(buf + done, '\0', n);
		if (nul)
			return nul - buf;
		done += n;
	}
	return done;
}

const struct kp_host_ops ktapvm_host_ops = {
	.write = host_write,
	.stack = host_stack,
	.read_string = host_read_string,
};
