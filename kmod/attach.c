// SPDX-License-Identifier: GPL-2.0
/*
 * Event sources of a session (ATTACH): tracepoints and cpu-clock samples
 * through kernel perf counters, syscall events through the module's own
 * probes on the sys_enter/sys_exit tracepoints, kprobes and kretprobes,
 * uprobes and uretprobes, and tick timers. Each turns its event into a kp_event
 * (arguments from the raw record or the registers) and runs the probe's
 * handler through run.c. Sources are created in the ATTACH ioctl, so the
 * kernel checks permissions against the caller; perf counters and timers
 * only start at START, kprobes and uprobes are live at once but do
 * nothing before the session runs.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/compat.h>
#include <linux/cpu.h>
#include <linux/ctype.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/kprobes.h>
#include <linux/perf_event.h>
#include <linux/sched/signal.h>
#include <linux/security.h>
#include <linux/slab.h>
#include <linux/smp.h>
#include <linux/string.h>
#include <linux/tracepoint.h>
#include <asm/irq_regs.h>
#include <asm/syscall.h>
#include <asm/unaligned.h>

#include "chunk.h"
#include "compat.h"
#include "kp_argprog.h"
#include "ktapvm.h"

/* Fields of struct ktapvm_attach an event kind uses (else: zero). */
#define USES_ID (1u << 0)
#define USES_PERIOD (1u << 1)
#define USES_SYMBOL (1u << 2)
#define USES_OFFSET (1u << 3)
#define USES_REF_CTR (1u << 4)
#define USES_FD (1u << 5)
#define USES_FIELDS (1u << 6)
#define USES_PID (1u << 7)
#define USES_NR (1u << 8)

struct ktapvm_source {
	struct list_head node;
	struct ktapvm_session *s;
	u32 kind, probe;
	int cpu; /* the only CPU whose events count, or -1 */
	struct pid *tgid; /* the only process whose events count, or NULL */
	bool children; /* ... and its descendants */
	char *name; /* probename, or NULL */
	u64 period_ns; /* TICK, PROFILE */
	u64 id; /* SYS_*: common_type of the records */
	/* A counter probe's source: hits per CPU, those applied, its place
	 * on the session's counters list (else count is NULL) */
	u64 __percpu *count;
	u64 counted;
	struct list_head cnode;
	union {
		struct {
			struct perf_event **events; /* [nr_cpu_ids] */
			u32 nfields;
			struct ktapvm_field *fields;
			/* SYS_*: the next source of the same number */
			struct ktapvm_source *sys_next;
			/* SYS_*: argstr (NULL: nil); its strings in sysnames */
			struct ktapvm_sysfmt *sysfmt;
			char *sysnames;
			/* TRACEPOINT: argstr's print program (ATTACH
			 * argfmt, kmod/vm/argprog.c), or NULL */
			char *tpprog;
			u32 tpprog_len;
		} perf; /* TRACEPOINT, PROFILE, SYS_ENTER, SYS_EXIT */
		struct {
			struct kprobe kp;
			char *symbol;
		} kp; /* KPROBE */
		struct {
			struct kretprobe rp;
			char *symbol;
		} rp; /* KRETPROBE */
		struct ktapvm_uprobe up; /* UPROBE, URETPROBE */
		struct hrtimer timer; /* TICK */
	};
};

/* Tracepoints and kprobes run in any context: a kprobe's regs are real. */
static void set_call_args(struct kp_event *kev, unsigned long addr,
			  const struct pt_regs *regs)
{
	/* x86-64 calling convention, kernel and user space alike. */
	kev->args[0] = addr;
	kev->args[1] = regs->di;
	kev->args[2] = regs->si;
	kev->args[3] = regs->dx;
	kev->args[4] = regs->cx;
	kev->args[5] = regs->r8;
	kev->args[6] = regs->r9;
	kev->nargs = 7;
}

static void set_retval(struct kp_event *kev, unsigned long func,
		       const struct pt_regs *regs)
{
	kev->args[0] = func;
	kev->nargs = 1;
	kev->retval = regs_return_value((struct pt_regs *)regs);
	kev->has_retval = 1;
}

/*
 * A hit of a counter probe's source: counted on this CPU, no VM, no lock
 * (ktapvm_attach_fold() applies the counts). True when src is one, to
 * the caller: nothing more to do. The source's count goes first, so a
 * fold that sees the session's total moved sees it too.
 */
static __always_inline bool src_counted(struct ktapvm_source *src)
{
	struct ktapvm_session *s = src->s;

	if (!src->count)
		return false;
	if (atomic_read(&s->state) != KTAPVM_STATE_RUNNING)
		return true;
	if (src->tgid && task_tgid(current) != src->tgid &&
	    !(src->children && ktapvm_descends_from(src->tgid)))
		return true;
	if (src->cpu >= 0 && raw_smp_processor_id() != src->cpu)
		return true;
	this_cpu_inc(*src->count);
	smp_wmb();
	this_cpu_inc(s->pcpu->counted);
	return true;
}

bool ktapvm_attach_fold(struct ktapvm_session *s)
{
	struct ktapvm_source *src;
	u64 total = 0, sum, runs;
	int cpu;

	for_each_possible_cpu(cpu)
		total += READ_ONCE(per_cpu_ptr(s->pcpu, cpu)->counted);
	if (total == s->counted)
		return true;
	s->counted = total;
	smp_rmb();
	list_for_each_entry(src, &s->counters, cnode) {
		sum = 0;
		for_each_possible_cpu(cpu)
			sum += READ_ONCE(*per_cpu_ptr(src->count, cpu));
		runs = sum - src->counted;
		src->counted = sum;
		if (runs && !ktapvm_run_counted(s, src->probe, src->name, runs))
			return false;
	}
	return true;
}

/* Tracepoints */

static __always_inline s64 load_field(const u8 *p,
				       const struct ktapvm_field *f)
{
	bool sign = f->kind == KTAPVM_FIELD_SIGNED;

	switch (f->size) {
	case 1:
		return sign ? (s64)(s8)*p : (s64)*p;
	case 2:
		return sign ? (s64)(s16)get_unaligned((u16 *)p) :
			      (s64)get_unaligned((u16 *)p);
	case 4:
		return sign ? (s64)(s32)get_unaligned((u32 *)p) :
			      (s64)get_unaligned((u32 *)p);
	default:
		return (s64)get_unaligned((u64 *)p);
	}
}

/* A string argN for host_str_field(): where it lies in ev->raw. */
static void set_string(struct ktapvm_event *ev, u32 i, u32 offset, u32 len)
{
	ev->kev.args[i] = (s64)((u64)offset << 32 | len);
	ev->kev.strargs |= 1u << i;
}

/*
 * argN from the raw record, each checked against this record's size.
 * Inline in each probe path: a syscall record has a field or a few.
 */
static __always_inline void decode_fields(struct ktapvm_source *src,
					  const u8 *raw, u32 size,
					  struct ktapvm_event *ev)
{
	const struct ktapvm_field *f = src->perf.fields;
	struct kp_event *kev = &ev->kev;
	u32 i, loc;

	ev->raw = raw;
	ev->rawlen = size;
	for (i = 0; i < src->perf.nfields; i++, f++) {
		if ((u32)f->offset + f->size > size)
			break;
		switch (f->kind) {
		case KTAPVM_FIELD_UNSIGNED:
		case KTAPVM_FIELD_SIGNED:
			kev->args[i] = load_field(raw + f->offset, f);
			break;
		case KTAPVM_FIELD_STRING:
			/* __data_loc: offset in the low half, length above. */
			loc = get_unaligned((u32 *)(raw + f->offset));
			if ((loc & 0xffff) + (loc >> 16) > size)
				goto short_record;
			set_string(ev, i, loc & 0xffff, loc >> 16);
			break;
		case KTAPVM_FIELD_CHARS:
			set_string(ev, i, f->offset, f->size);
			break;
		default:
			kev->args[i] = 0;
			break;
		}
	}
	if (i == src->perf.nfields)
		goto out;
short_record:
	src->s->short_records++;
out:
	kev->nargs = i;
}

/* A tracepoint's argstr: its print program (ATTACH argfmt) on the record. */
long ktapvm_tp_argstr(const struct ktapvm_event *ev, char *buf, size_t size)
{
	const struct ktapvm_source *src = ev->src;
	struct kp_argprog_env env = {
		.raw = ev->raw,
		.rawlen = ev->rawlen,
		.symbol = ktapvm_symbol,
	};

	return kp_argprog_run(src->perf.tpprog, src->perf.tpprog_len, &env,
			      buf, size);
}

static void tracepoint_hit(struct perf_event *event,
			   struct perf_sample_data *data, struct pt_regs *regs)
{
	struct ktapvm_source *src = event->overflow_handler_context;
	struct ktapvm_probe_ctx pc;
	struct ktapvm_event ev __ktapvm_noinit;

	if (src_counted(src))
		return;
	/* The counter is per CPU already. */
	if (!ktapvm_probe_begin(src->s, -1, src->tgid, src->children,
				&pc))
		return;
	ktapvm_event_init(&ev, src->name, regs, true);
	if ((data->sample_flags & PERF_SAMPLE_RAW) && data->raw) {
		decode_fields(src, data->raw->frag.data, data->raw->frag.size,
			      &ev);
		if (src->perf.tpprog)
			ev.src = src;
	} else {
		src->s->short_records++;
	}
	ktapvm_probe_run(src->s, src->probe, &ev);
	ktapvm_probe_end(src->s, &pc);
}

static void profile_hit(struct perf_event *event,
			struct perf_sample_data *data, struct pt_regs *regs)
{
	struct ktapvm_source *src = event->overflow_handler_context;
	struct ktapvm_probe_ctx pc;
	struct ktapvm_event ev __ktapvm_noinit;

	if (!ktapvm_probe_begin(src->s, -1, src->tgid, src->children,
				&pc))
		return;
	ktapvm_event_init(&ev, src->name, regs, true);
	ktapvm_probe_run(src->s, src->probe, &ev);
	ktapvm_probe_end(src->s, &pc);
}

static void perf_release(struct ktapvm_source *src)
{
	int cpu;

	if (!src->perf.events)
		return;
	for_each_possible_cpu(cpu)
		if (src->perf.events[cpu])
			perf_event_release_kernel(src->perf.events[cpu]);
	kfree(src->perf.events);
	src->perf.events = NULL;
}

/* One disabled counter per online CPU (or on src->cpu only). */
static int perf_create(struct ktapvm_source *src, struct perf_event_attr *attr,
		       perf_overflow_handler_t handler)
{
	struct perf_event *event;
	int cpu, r = 0;

	src->perf.events = kcalloc(nr_cpu_ids, sizeof(*src->perf.events),
				  GFP_KERNEL);
	if (!src->perf.events)
		return -ENOMEM;
	cpus_read_lock();
	for_each_online_cpu(cpu) {
		if (src->cpu >= 0 && cpu != src->cpu)
			continue;
		event = perf_event_create_kernel_counter(attr, cpu, NULL,
							 handler, src);
		if (IS_ERR(event)) {
			r = PTR_ERR(event);
			break;
		}
		src->perf.events[cpu] = event;
		src->s->narmed++;
	}
	cpus_read_unlock();
	return r;
}

/* The field table of a TRACEPOINT or SYS_* attach, checked. */
static int fields_attach(struct ktapvm_source *src,
			 const struct ktapvm_attach *a)
{
	const struct ktapvm_field *f;
	u32 i;

	if (a->nfields > KTAPVM_MAX_FIELDS)
		return -EINVAL;
	src->perf.nfields = a->nfields;
	if (a->nfields) {
		src->perf.fields = memdup_user(u64_to_user_ptr(a->fields),
					      a->nfields * sizeof(*f));
		if (IS_ERR(src->perf.fields)) {
			int r = PTR_ERR(src->perf.fields);

			src->perf.fields = NULL;
			return r;
		}
	}
	for (i = 0, f = src->perf.fields; i < a->nfields; i++, f++) {
		if (memchr_inv(f->reserved, 0, sizeof(f->reserved)))
			return -EINVAL;
		switch (f->kind) {
		case KTAPVM_FIELD_UNSIGNED:
		case KTAPVM_FIELD_SIGNED:
			if (f->size != 1 && f->size != 2 && f->size != 4 &&
			    f->size != 8)
				return -EINVAL;
			break;
		case KTAPVM_FIELD_STRING:
			if (f->size != 4)
				return -EINVAL;
			break;
		case KTAPVM_FIELD_CHARS:
			if (!f->size)
				return -EINVAL;
			break;
		case KTAPVM_FIELD_OPAQUE:
			break;
		default:
			return -EINVAL;
		}
	}
	return 0;
}

/*
 * ATTACH argfmt into *out: at most KTAPVM_MAX_ARGFMT bytes, NUL last (a
 * print program's END is 0 too).
 */
static int argfmt_copy(struct ktapvm_source *src,
		       const struct ktapvm_attach *a, char **out)
{
	char *p;

	if (!a->argfmt_len || a->argfmt_len > KTAPVM_MAX_ARGFMT)
		return -EINVAL;
	p = memdup_user(u64_to_user_ptr(a->argfmt), a->argfmt_len);
	if (IS_ERR(p))
		return PTR_ERR(p);
	*out = p;
	return p[a->argfmt_len - 1] ? -EINVAL : 0;
}

static int tracepoint_attach(struct ktapvm_source *src,
			     const struct ktapvm_attach *a)
{
	struct perf_event_attr attr = {
		.type = PERF_TYPE_TRACEPOINT,
		.size = sizeof(attr),
		.config = a->id,
		.sample_period = 1,
		/*
		 * PERIOD: a tracepoint that hands perf a count (the runtime
		 * of sched_stat_runtime) is one sample of that period, not
		 * one sample per unit of it.
		 */
		.sample_type = PERF_SAMPLE_RAW | PERF_SAMPLE_PERIOD,
		.disabled = 1,
	};
	int r = fields_attach(src, a);

	if (!r && (a->argfmt || a->argfmt_len)) {
		r = argfmt_copy(src, a, &src->perf.tpprog);
		src->perf.tpprog_len = a->argfmt_len;
		if (!r && kp_argprog_check(src->perf.tpprog, a->argfmt_len))
			r = -EINVAL;
	}
	return r ? r : perf_create(src, &attr, tracepoint_hit);
}

static int profile_attach(struct ktapvm_source *src)
{
	struct perf_event_attr attr = {
		.type = PERF_TYPE_SOFTWARE,
		.size = sizeof(attr),
		.config = PERF_COUNT_SW_CPU_CLOCK,
		.sample_period = src->period_ns,
		.disabled = 1,
	};

	return perf_create(src, &attr, profile_hit);
}

/*
 * Syscall events. The kernel's perf path for syscalls:sys_enter_NAME is a
 * probe on the sys_enter tracepoint that fills a record and hands it to
 * every perf counter of that syscall; this is the same with the counters
 * left out: one probe of the session's own per direction, the sources of
 * each syscall number on a list, the record built on the stack.
 */
struct ktapvm_sys_record {
	/* struct trace_entry */
	u16 type;
	u8 flags;
	u8 preempt_count;
	s32 pid;
	/* struct syscall_trace_enter / syscall_trace_exit */
	s32 nr;
	u32 pad;
	unsigned long args[6]; /* sys_exit: args[0] is ret */
};

#define SYS_ENTER_SIZE sizeof(struct ktapvm_sys_record)
#define SYS_EXIT_SIZE offsetof(struct ktapvm_sys_record, args[1])

struct ktapvm_syscalls {
	struct ktapvm_session *s;
	struct tracepoint *tp;
	struct ktapvm_source *by_nr[NR_syscalls];
};

/* What the kernel's trace_get_syscall_nr() refuses: 32-bit calls. */
static bool sys_compat(void)
{
#ifdef CONFIG_COMPAT
	return in_32bit_syscall();
#else
	return false;
#endif
}

/*
 * The events of syscall nr, which has sources: counter sources are
 * counted; the record (the arguments from the syscall's registers, or
 * ret on exit) and the caller's registers are made once, for the first
 * source that runs a handler.
 */
static noinline void sys_run(struct ktapvm_source *src,
			     struct pt_regs *uregs, long nr, bool exit,
			     long ret)
{
	struct ktapvm_sys_record rec __ktapvm_noinit;
	struct ktapvm_probe_ctx pc;
	struct ktapvm_event ev __ktapvm_noinit;
	struct pt_regs regs __ktapvm_noinit;
	u32 size = exit ? SYS_EXIT_SIZE : SYS_ENTER_SIZE;
	bool made = false;

	for (; src; src = src->perf.sys_next) {
		if (src_counted(src))
			continue;
		if (!ktapvm_probe_begin(src->s, src->cpu, src->tgid,
					src->children, &pc))
			continue;
		if (!made) {
			/* Field by field: a compound literal would clear
			 * the whole record first, every event. */
			rec.flags = 0;
			rec.preempt_count = 0;
			rec.pid = current->pid;
			rec.nr = (s32)nr;
			rec.pad = 0;
			if (exit) {
				rec.args[0] = ret;
				memset(&rec.args[1], 0,
				       sizeof(rec.args) - sizeof(rec.args[0]));
			} else {
				syscall_get_arguments(current, uregs,
						      rec.args);
			}
			/* Where the tracepoint fired, for stack(), as
			 * perf's path passes. */
			perf_fetch_caller_regs(&regs);
			made = true;
		}
		rec.type = (u16)src->id;
		ktapvm_event_init(&ev, src->name, &regs, true);
		decode_fields(src, (const u8 *)&rec, size, &ev);
		ev.sysfmt = src->perf.sysfmt;
		ktapvm_probe_run(src->s, src->probe, &ev);
		ktapvm_probe_end(src->s, &pc);
	}
}

/*
 * The sources of syscall nr, or NULL: every syscall of every task comes
 * here while the session has a probe on the direction, so the common
 * case (nothing to do) stays small.
 */
static __always_inline struct ktapvm_source *
sys_sources(struct ktapvm_syscalls *sc, long nr)
{
	/* Sources only change before START: not while RUNNING. */
	if (atomic_read(&sc->s->state) != KTAPVM_STATE_RUNNING)
		return NULL;
	if (nr < 0 || nr >= NR_syscalls || sys_compat())
		return NULL;
	return READ_ONCE(sc->by_nr[nr]);
}

static void sys_enter_hit(void *data, struct pt_regs *regs, long id)
{
	struct ktapvm_source *src = sys_sources(data, id);

	if (src)
		sys_run(src, regs, id, false, 0);
}

static void sys_exit_hit(void *data, struct pt_regs *regs, long ret)
{
	long nr = syscall_get_nr(current, regs);
	struct ktapvm_source *src = sys_sources(data, nr);

	if (src)
		sys_run(src, regs, nr, true, ret);
}

struct sys_find {
	const char *name;
	struct tracepoint *tp;
};

static void sys_find(struct tracepoint *tp, void *priv)
{
	struct sys_find *f = priv;

	if (!f->tp && !strcmp(tp->name, f->name))
		f->tp = tp;
}

/* The session's probe on sys_enter (exit false) or sys_exit, made once. */
static struct ktapvm_syscalls *sys_table(struct ktapvm_session *s, bool exit)
{
	struct sys_find f = { .name = exit ? "sys_exit" : "sys_enter" };
	struct ktapvm_syscalls *sc = s->sys[exit];
	int r;

	if (sc)
		return sc;
	for_each_kernel_tracepoint(sys_find, &f);
	if (!f.tp)
		return ERR_PTR(-ENOENT);
	sc = kzalloc(sizeof(*sc), GFP_KERNEL);
	if (!sc)
		return ERR_PTR(-ENOMEM);
	sc->s = s;
	sc->tp = f.tp;
	r = tracepoint_probe_register(sc->tp, exit ? (void *)sys_exit_hit :
						     (void *)sys_enter_hit, sc);
	if (r) {
		kfree(sc);
		return ERR_PTR(r);
	}
	s->sys[exit] = sc;
	return sc;
}

/* argfmt: "NAME\0ARG1\0...": each non-empty, [A-Za-z0-9_], 6 args. */
static int sys_argnames(struct ktapvm_source *src,
			const struct ktapvm_attach *a)
{
	struct ktapvm_sysfmt *f;
	char *p, *end;
	u32 n = 0;

	int r;

	if (!a->argfmt_len && !a->argfmt)
		return 0;
	r = argfmt_copy(src, a, &src->perf.sysnames);
	if (r)
		return r;
	f = kzalloc(sizeof(*f), GFP_KERNEL);
	if (!f)
		return -ENOMEM;
	src->perf.sysfmt = f;
	f->exit = src->kind == KTAPVM_EV_SYS_EXIT;
	p = src->perf.sysnames;
	end = p + a->argfmt_len;
	while (p < end) {
		char *q = p;

		for (; *q; q++)
			if (!isalnum(*q) && *q != '_')
				return -EINVAL;
		if (q == p || n > ARRAY_SIZE(f->args))
			return -EINVAL;
		if (n++)
			f->args[f->nargs++] = p;
		else
			f->name = p;
		p = q + 1;
	}
	return 0;
}

static int sys_attach(struct ktapvm_source *src, const struct ktapvm_attach *a)
{
	struct ktapvm_syscalls *sc;
	struct ktapvm_source **p;
	int r;

	if (a->syscall_nr >= NR_syscalls || a->id > U16_MAX)
		return -EINVAL;
	r = fields_attach(src, a);
	if (r)
		return r;
	r = sys_argnames(src, a);
	if (r)
		return r;
	sc = sys_table(src->s, src->kind == KTAPVM_EV_SYS_EXIT);
	if (IS_ERR(sc))
		return PTR_ERR(sc);
	src->id = a->id;
	/* In ATTACH order: the script's order, as on one perf counter. */
	for (p = &sc->by_nr[a->syscall_nr]; *p; p = &(*p)->perf.sys_next)
		;
	WRITE_ONCE(*p, src);
	src->s->narmed++;
	return 0;
}

static void sys_release(struct ktapvm_session *s)
{
	int exit;

	for (exit = 0; exit < 2; exit++)
		if (s->sys[exit])
			tracepoint_probe_unregister(s->sys[exit]->tp,
				exit ? (void *)sys_exit_hit :
				       (void *)sys_enter_hit, s->sys[exit]);
}

static void sys_free(struct ktapvm_session *s)
{
	kfree(s->sys[0]);
	kfree(s->sys[1]);
	s->sys[0] = NULL;
	s->sys[1] = NULL;
}

/* kprobes */

static int kprobe_hit(struct kprobe *kp, struct pt_regs *regs)
{
	struct ktapvm_source *src = container_of(kp, struct ktapvm_source,
						kp.kp);
	struct ktapvm_probe_ctx pc;
	struct ktapvm_event ev __ktapvm_noinit;

	if (src_counted(src))
		return 0;
	if (!ktapvm_probe_begin(src->s, src->cpu, src->tgid, src->children,
				&pc))
		return 0;
	ktapvm_event_init(&ev, src->name, regs, true);
	set_call_args(&ev.kev, (unsigned long)kp->addr, regs);
	ktapvm_probe_run(src->s, src->probe, &ev);
	ktapvm_probe_end(src->s, &pc);
	return 0;
}

static int kretprobe_hit(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct kretprobe *rp = get_kretprobe(ri);
	struct ktapvm_probe_ctx pc;
	struct ktapvm_source *src;
	struct ktapvm_event ev __ktapvm_noinit;

	if (!rp) /* being unregistered */
		return 0;
	src = container_of(rp, struct ktapvm_source, rp.rp);
	if (src_counted(src))
		return 0;
	if (!ktapvm_probe_begin(src->s, src->cpu, src->tgid, src->children,
				&pc))
		return 0;
	ktapvm_event_init(&ev, src->name, regs, true);
	set_retval(&ev.kev, (unsigned long)rp->kp.addr, regs);
	ktapvm_probe_run(src->s, src->probe, &ev);
	ktapvm_probe_end(src->s, &pc);
	return 0;
}

static char *symbol_dup(const struct ktapvm_attach *a)
{
	if (!a->symbol)
		return ERR_PTR(-EINVAL);
	return strndup_user(u64_to_user_ptr(a->symbol), KSYM_NAME_LEN);
}

static int kprobe_attach(struct ktapvm_source *src,
			 const struct ktapvm_attach *a)
{
	int r = security_locked_down(LOCKDOWN_KPROBES);

	if (r)
		return r;
	src->kp.symbol = symbol_dup(a);
	if (IS_ERR(src->kp.symbol)) {
		r = PTR_ERR(src->kp.symbol);
		src->kp.symbol = NULL;
		return r;
	}
	if (a->offset > UINT_MAX)
		return -EINVAL;
	src->kp.kp.symbol_name = src->kp.symbol;
	src->kp.kp.offset = a->offset;
	src->kp.kp.pre_handler = kprobe_hit;
	r = register_kprobe(&src->kp.kp);
	if (r < 0) {
		src->kp.kp.symbol_name = NULL; /* nothing to unregister */
		return r;
	}
	src->s->narmed++;
	return 0;
}

static int kretprobe_attach(struct ktapvm_source *src,
			    const struct ktapvm_attach *a)
{
	int r = security_locked_down(LOCKDOWN_KPROBES);

	if (r)
		return r;
	src->rp.symbol = symbol_dup(a);
	if (IS_ERR(src->rp.symbol)) {
		r = PTR_ERR(src->rp.symbol);
		src->rp.symbol = NULL;
		return r;
	}
	src->rp.rp.kp.symbol_name = src->rp.symbol;
	src->rp.rp.handler = kretprobe_hit;
	r = register_kretprobe(&src->rp.rp);
	if (r < 0) {
		src->rp.rp.kp.symbol_name = NULL;
		return r;
	}
	src->s->narmed++;
	return 0;
}

/* uprobes */

static KTAPVM_UPROBE_HANDLER(uprobe_hit)
{
	struct ktapvm_source *src = container_of(uc, struct ktapvm_source,
						up.uc);
	struct ktapvm_probe_ctx pc;
	struct ktapvm_event ev __ktapvm_noinit;

	if (src_counted(src))
		return 0;
	if (!ktapvm_probe_begin(src->s, src->cpu, src->tgid, src->children,
				&pc))
		return 0;
	ktapvm_event_init(&ev, src->name, regs, true);
	/* The breakpoint's address: uprobes rewinds ip for handlers. */
	set_call_args(&ev.kev, instruction_pointer(regs), regs);
	ktapvm_probe_run(src->s, src->probe, &ev);
	ktapvm_probe_end(src->s, &pc);
	return 0;
}

static KTAPVM_URETPROBE_HANDLER(uretprobe_hit)
{
	struct ktapvm_source *src = container_of(uc, struct ktapvm_source,
						up.uc);
	struct ktapvm_probe_ctx pc;
	struct ktapvm_event ev __ktapvm_noinit;

	if (src_counted(src))
		return 0;
	if (!ktapvm_probe_begin(src->s, src->cpu, src->tgid, src->children,
				&pc))
		return 0;
	ktapvm_event_init(&ev, src->name, regs, true);
	set_retval(&ev.kev, func, regs);
	ktapvm_probe_run(src->s, src->probe, &ev);
	ktapvm_probe_end(src->s, &pc);
	return 0;
}

static int uprobe_attach(struct ktapvm_source *src,
			 const struct ktapvm_attach *a)
{
	struct inode *inode;
	struct file *file;
	int r;

	if (a->offset > LLONG_MAX || a->ref_ctr_offset > LLONG_MAX)
		return -EINVAL;
	file = fget(a->fd);
	if (!file)
		return -EBADF;
	inode = file_inode(file);
	if (!S_ISREG(inode->i_mode)) {
		fput(file);
		return -EINVAL;
	}
	src->up.inode = igrab(inode);
	fput(file);
	if (!src->up.inode)
		return -ENOENT;
	src->up.offset = a->offset;
	if (src->kind == KTAPVM_EV_UPROBE)
		src->up.uc.handler = uprobe_hit;
	else
		src->up.uc.ret_handler = uretprobe_hit;
	r = ktapvm_uprobe_register(&src->up, a->ref_ctr_offset);
	if (r < 0) {
		iput(src->up.inode);
		src->up.inode = NULL;
		return r;
	}
	src->s->narmed++;
	return 0;
}

/* Ticks */

static enum hrtimer_restart tick_fire(struct hrtimer *t)
{
	struct ktapvm_source *src = container_of(t, struct ktapvm_source,
						timer);
	struct ktapvm_session *s = src->s;
	struct ktapvm_probe_ctx pc;
	struct ktapvm_event ev __ktapvm_noinit;
	u64 overruns;

	if (atomic_read(&s->state) != KTAPVM_STATE_RUNNING)
		return HRTIMER_NORESTART;
	if (ktapvm_probe_begin(s, -1, NULL, false, &pc)) {
		/* No task of its own: pid 0, no execname (as ktapd's). */
		ktapvm_event_init(&ev, src->name, get_irq_regs(), false);
		ktapvm_probe_run(s, src->probe, &ev);
		ktapvm_probe_end(s, &pc);
	}
	overruns = hrtimer_forward_now(t, ns_to_ktime(src->period_ns));
	if (overruns > 1)
		this_cpu_add(s->pcpu->drop_missed, overruns - 1);
	return HRTIMER_RESTART;
}

static void tick_start(void *arg)
{
	struct ktapvm_source *src = arg;

	hrtimer_start(&src->timer, ns_to_ktime(src->period_ns),
		      src->cpu >= 0 ? HRTIMER_MODE_REL_PINNED :
				     HRTIMER_MODE_REL);
}

static int tick_attach(struct ktapvm_source *src)
{
	ktapvm_hrtimer_setup(&src->timer, tick_fire, CLOCK_MONOTONIC,
			     HRTIMER_MODE_REL);
	src->s->narmed++;
	return 0;
}

/* Attach, enable, release */

static unsigned int kind_uses(u32 kind)
{
	switch (kind) {
	case KTAPVM_EV_TRACEPOINT:
		return USES_ID | USES_FIELDS | USES_PID;
	case KTAPVM_EV_KPROBE:
		return USES_SYMBOL | USES_OFFSET | USES_PID;
	case KTAPVM_EV_KRETPROBE:
		return USES_SYMBOL | USES_PID;
	case KTAPVM_EV_UPROBE:
	case KTAPVM_EV_URETPROBE:
		return USES_FD | USES_OFFSET | USES_REF_CTR | USES_PID;
	case KTAPVM_EV_TICK:
		return USES_PERIOD;
	case KTAPVM_EV_PROFILE:
		return USES_PERIOD | USES_PID;
	case KTAPVM_EV_SYS_ENTER:
	case KTAPVM_EV_SYS_EXIT:
		return USES_ID | USES_FIELDS | USES_PID | USES_NR;
	default:
		return 0;
	}
}

/* The fields of a that its kind does not use must be zero. */
static int check_unused(const struct ktapvm_attach *a, unsigned int uses)
{
	if (!uses || (a->flags & ~(KTAPVM_ATTACH_PID | KTAPVM_ATTACH_CPU |
				   KTAPVM_ATTACH_CHILDREN)) ||
	    ((a->flags & KTAPVM_ATTACH_CHILDREN) &&
	     !(a->flags & KTAPVM_ATTACH_PID)))
		return -EINVAL;
	if ((!(uses & USES_ID) && a->id) ||
	    (!(uses & USES_PERIOD) && a->period_ns) ||
	    (!(uses & USES_SYMBOL) && a->symbol) ||
	    (!(uses & USES_OFFSET) && a->offset) ||
	    (!(uses & USES_REF_CTR) && a->ref_ctr_offset) ||
	    (!(uses & USES_FD) && a->fd) ||
	    (!(uses & USES_FIELDS) && (a->nfields || a->fields)) ||
	    (!(uses & USES_NR) && a->syscall_nr) ||
	    (!(uses & USES_FIELDS) && (a->argfmt || a->argfmt_len)) ||
	    (!(uses & USES_PID) && (a->flags & KTAPVM_ATTACH_PID)) ||
	    (!(a->flags & KTAPVM_ATTACH_PID) && a->pid) ||
	    (!(a->flags & KTAPVM_ATTACH_CPU) && a->cpu))
		return -EINVAL;
	return 0;
}

/* The probe must be of the kind the event feeds. */
static int check_probe(struct ktapvm_session *s, const struct ktapvm_attach *a,
		       struct kp_probe_info *info)
{
	int want;

	if (a->probe >= kp_vm_nprobes(s->vm) ||
	    kp_vm_probe_info(s->vm, a->probe, info) < 0)
		return -EINVAL;
	switch (a->kind) {
	case KTAPVM_EV_TICK:
		want = KP_PROBE_TICK;
		break;
	case KTAPVM_EV_PROFILE:
		want = KP_PROBE_PROFILE;
		break;
	default:
		want = KP_PROBE_TRACE;
		break;
	}
	return info->kind == want ? 0 : -EINVAL;
}

/* Who and where: -p (a process in the caller's pid namespace), -C. */
static int attach_target(struct ktapvm_source *src,
			 const struct ktapvm_attach *a)
{
	struct task_struct *task;

	src->cpu = -1;
	if (a->flags & KTAPVM_ATTACH_CPU) {
		if (a->cpu < 0 || a->cpu >= nr_cpu_ids || !cpu_online(a->cpu))
			return -EINVAL;
		src->cpu = a->cpu;
	}
	if (!(a->flags & KTAPVM_ATTACH_PID))
		return 0;
	if (a->pid <= 0)
		return -EINVAL;
	src->children = a->flags & KTAPVM_ATTACH_CHILDREN;
	src->tgid = find_get_pid(a->pid);
	task = src->tgid ? get_pid_task(src->tgid, PIDTYPE_TGID) : NULL;
	if (!task)
		return -ESRCH;
	put_task_struct(task);
	return 0;
}

static void attach_free(struct ktapvm_source *src)
{
	switch (src->kind) {
	case KTAPVM_EV_TRACEPOINT:
	case KTAPVM_EV_PROFILE:
	case KTAPVM_EV_SYS_ENTER:
	case KTAPVM_EV_SYS_EXIT:
		perf_release(src);
		kfree(src->perf.fields);
		kfree(src->perf.sysfmt);
		kfree(src->perf.sysnames);
		kfree(src->perf.tpprog);
		break;
	case KTAPVM_EV_KPROBE:
		kfree(src->kp.symbol);
		break;
	case KTAPVM_EV_KRETPROBE:
		kfree(src->rp.symbol);
		break;
	case KTAPVM_EV_UPROBE:
	case KTAPVM_EV_URETPROBE:
		iput(src->up.inode);
		break;
	}
	free_percpu(src->count);
	put_pid(src->tgid);
	kfree(src->name);
	kfree(src);
}

int ktapvm_attach(struct ktapvm_session *s, const struct ktapvm_attach *a)
{
	struct kp_probe_info info;
	struct ktapvm_source *src;
	u64 period;
	int r;

	r = check_unused(a, kind_uses(a->kind));
	if (r)
		return r;
	r = check_probe(s, a, &info);
	if (r)
		return r;
	if (s->nattach >= KTAPVM_MAX_ATTACH)
		return -ENOSPC;
	/* TICK, PROFILE: 0 means the period written in the script. */
	period = a->period_ns ?: info.period_ns;
	if ((a->kind == KTAPVM_EV_TICK || a->kind == KTAPVM_EV_PROFILE) &&
	    period < KTAPVM_MIN_PERIOD_NS)
		return -EINVAL;

	src = kzalloc(sizeof(*src), GFP_KERNEL);
	if (!src)
		return -ENOMEM;
	src->s = s;
	src->kind = a->kind;
	src->probe = a->probe;
	src->period_ns = period;
	INIT_LIST_HEAD(&src->cnode);
	if (info.kind == KP_PROBE_TRACE &&
	    kp_vm_probe_counter(s->vm, a->probe)) {
		src->count = alloc_percpu(u64);
		if (!src->count) {
			r = -ENOMEM;
			goto fail;
		}
	}
	r = attach_target(src, a);
	if (r)
		goto fail;
	if (a->name) {
		src->name = strndup_user(u64_to_user_ptr(a->name),
					KTAPVM_MAX_NAME);
		if (IS_ERR(src->name)) {
			r = PTR_ERR(src->name);
			src->name = NULL;
			goto fail;
		}
	}

	switch (a->kind) {
	case KTAPVM_EV_TRACEPOINT:
		r = tracepoint_attach(src, a);
		break;
	case KTAPVM_EV_PROFILE:
		r = profile_attach(src);
		break;
	case KTAPVM_EV_KPROBE:
		r = kprobe_attach(src, a);
		break;
	case KTAPVM_EV_KRETPROBE:
		r = kretprobe_attach(src, a);
		break;
	case KTAPVM_EV_UPROBE:
	case KTAPVM_EV_URETPROBE:
		r = uprobe_attach(src, a);
		break;
	case KTAPVM_EV_TICK:
		r = tick_attach(src);
		break;
	case KTAPVM_EV_SYS_ENTER:
	case KTAPVM_EV_SYS_EXIT:
		r = sys_attach(src, a);
		break;
	}
	if (r)
		goto fail;
	list_add_tail(&src->node, &s->attachments);
	if (src->count)
		list_add_tail(&src->cnode, &s->counters);
	s->nattach++;
	return 0;

fail:
	/* Only perf counters can be half made; the rest failed as a whole. */
	attach_free(src);
	return r;
}

void ktapvm_attach_enable(struct ktapvm_session *s)
{
	struct ktapvm_source *src;
	int cpu;

	list_for_each_entry(src, &s->attachments, node) {
		switch (src->kind) {
		case KTAPVM_EV_TRACEPOINT:
		case KTAPVM_EV_PROFILE:
			for_each_possible_cpu(cpu)
				if (src->perf.events[cpu])
					perf_event_enable(src->perf.events[cpu]);
			break;
		case KTAPVM_EV_TICK:
			if (src->cpu >= 0)
				smp_call_function_single(src->cpu, tick_start,
							 src, 1);
			else
				tick_start(src);
			break;
		}
	}
}

u64 ktapvm_attach_missed(struct ktapvm_session *s)
{
	struct ktapvm_source *src;
	u64 n = 0;

	list_for_each_entry(src, &s->attachments, node) {
		if (src->kind == KTAPVM_EV_KPROBE)
			n += src->kp.kp.nmissed;
		else if (src->kind == KTAPVM_EV_KRETPROBE)
			n += src->rp.rp.nmissed + src->rp.rp.kp.nmissed;
	}
	return n;
}

/*
 * Unregister in batches where the kernel waits per call (kprobes: one
 * RCU grace period per batch; uprobes from 6.12: one sync), then wait for
 * handlers still running anywhere before anything is freed.
 */
static void unregister_kprobes_all(struct ktapvm_session *s)
{
	struct ktapvm_source *src;
	struct kprobe **kps;
	struct kretprobe **rps;
	int nk = 0, nr = 0;

	list_for_each_entry(src, &s->attachments, node) {
		nk += src->kind == KTAPVM_EV_KPROBE;
		nr += src->kind == KTAPVM_EV_KRETPROBE;
	}
	kps = kmalloc_array(nk + 1, sizeof(*kps), GFP_KERNEL);
	rps = kmalloc_array(nr + 1, sizeof(*rps), GFP_KERNEL);
	nk = 0;
	nr = 0;
	list_for_each_entry(src, &s->attachments, node) {
		if (src->kind == KTAPVM_EV_KPROBE) {
			if (kps)
				kps[nk++] = &src->kp.kp;
			else
				unregister_kprobe(&src->kp.kp);
		} else if (src->kind == KTAPVM_EV_KRETPROBE) {
			if (rps)
				rps[nr++] = &src->rp.rp;
			else
				unregister_kretprobe(&src->rp.rp);
		}
	}
	if (nk)
		unregister_kprobes(kps, nk);
	if (nr)
		unregister_kretprobes(rps, nr);
	kfree(kps);
	kfree(rps);
}

void ktapvm_attach_release(struct ktapvm_session *s)
{
	struct ktapvm_source *src, *tmp;
	bool uprobes = false;

	/* Nothing to wait for (a session that never attached anything). */
	if (list_empty(&s->attachments) && !s->sys[0] && !s->sys[1])
		return;
	sys_release(s);
	list_for_each_entry(src, &s->attachments, node) {
		switch (src->kind) {
		case KTAPVM_EV_TRACEPOINT:
		case KTAPVM_EV_PROFILE:
			perf_release(src);
			break;
		case KTAPVM_EV_UPROBE:
		case KTAPVM_EV_URETPROBE:
			ktapvm_uprobe_unregister(&src->up);
			uprobes = true;
			break;
		case KTAPVM_EV_TICK:
			hrtimer_cancel(&src->timer);
			break;
		}
	}
	unregister_kprobes_all(s);
	if (uprobes)
		ktapvm_uprobe_sync();
	/* Tracepoint handlers that found a counter before it went. */
	tracepoint_synchronize_unregister();
	sys_free(s);
	/* The last counted hits, no handler running now (trace_end next). */
	if (!list_empty(&s->counters))
		ktapvm_attach_fold(s);
	INIT_LIST_HEAD(&s->counters);
	list_for_each_entry_safe(src, tmp, &s->attachments, node) {
		list_del(&src->node);
		attach_free(src);
	}
	s->nattach = 0;
	s->narmed = 0;
}
