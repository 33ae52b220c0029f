// SPDX-License-Identifier: GPL-2.0
/*
 * A session: one VM with its arena, its event sources and its output, and
 * the session fd that controls it (an anon inode file: it holds a module
 * reference, so rmmod waits for every session to be closed).
 *
 * Life: CREATED -> LOAD -> LOADED -> ATTACH... -> START (main, then the
 * sources are enabled) -> RUNNING -> ENDED. The end comes from STOP, from
 * closing the fd, or from a probe: exit() or a runtime error in a handler
 * only flips the state to ENDING (atomically: probes stop at once) and
 * queues an irq_work, which queues end_work, which finishes the session
 * in process context like STOP does: unregister every source, wait for
 * running handlers, run trace_end, wake readers (EPOLLHUP).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/anon_inodes.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/percpu.h>
#include <linux/security.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>

#include "chunk.h"
#include "ktapvm.h"

/* DUMP: largest buffer the module allocates for the text. */
#define KTAPVM_MAX_DUMP (256ull << 20)

struct dump_ctx {
	char *buf;
	size_t size, len;
	bool first;
};

static void session_free(struct ktapvm_session *s)
{
	ktapvm_output_free(&s->out);
	free_percpu(s->pcpu);
	vfree(s->arena);
	kfree(s);
}

/*
 * Finish the session (STOP, end_work, release): no handler runs after the
 * state leaves RUNNING, every source goes, then trace_end runs if due.
 */
static void session_finish(struct ktapvm_session *s, bool run_end)
{
	lockdep_assert_held(&s->lock);
	if (atomic_read(&s->state) == KTAPVM_STATE_ENDED)
		return;
	atomic_set(&s->state, KTAPVM_STATE_ENDING);
	s->missed += ktapvm_attach_missed(s);
	ktapvm_attach_release(s);
	if (run_end && s->started && !s->failed)
		ktapvm_run_end(s);
	/* After the last write: a reader seeing ENDED sees all the output. */
	atomic_set_release(&s->state, KTAPVM_STATE_ENDED);
	wake_up_interruptible_all(&s->wq);
}

static void session_end_work(struct work_struct *work)
{
	struct ktapvm_session *s = container_of(work, struct ktapvm_session,
						end_work);

	mutex_lock(&s->lock);
	session_finish(s, true);
	mutex_unlock(&s->lock);
}

static void session_end_irq(struct irq_work *work)
{
	struct ktapvm_session *s = container_of(work, struct ktapvm_session,
						end_irq);

	queue_work(system_unbound_wq, &s->end_work);
}

static void session_wake_irq(struct irq_work *work)
{
	struct ktapvm_session *s = container_of(work, struct ktapvm_session,
						wake_irq);

	wake_up_interruptible_all(&s->wq);
}

void ktapvm_session_end_async(struct ktapvm_session *s)
{
	irq_work_queue(&s->end_irq);
}

/**
 * session_load() - KTAPVM_IOC_LOAD: verify a chunk and load it in the VM.
 * @s: the session, in state CREATED
 * @u: struct ktapvm_load in user memory
 *
 * The chunk and the arguments are copied in; the VM is created in the
 * session's arena and the chunk goes through the kmod/vm verifier.
 *
 * Context: process context; takes the session lock.
 * Return: 0; -EINVAL for a bad struct, bad arguments or a chunk the
 * verifier refuses (where and why are written back to @u); -ENOMEM when
 * the arena cannot hold the VM or the chunk; -EBUSY when already loaded.
 */
static int session_load(struct ktapvm_session *s, struct ktapvm_load __user *u)
{
	struct kp_vm_config cfg = {
		.arena = s->arena,
		.arena_size = s->arena_size,
		.insn_budget = s->insn_budget,
		.max_call_depth = s->max_call_depth,
		.ops = &ktapvm_host_ops,
		.host = s,
		.time_budget_ns = s->time_budget_ns,
	};
	struct kp_verify_error err = { .func = -1, .pc = -1 };
	const char **argv = NULL;
	struct ktapvm_load l;
	char *args = NULL, *p;
	struct kp_vm *vm;
	void *chunk;
	u32 i;
	int r, usize;

	usize = ktapvm_copy_in(&l, sizeof(l), KTAPVM_LOAD_SIZE_VER0, u);
	if (usize < 0)
		return usize;
	if (l.flags || !l.chunk_len || l.chunk_len > KP_MAX_CHUNK ||
	    l.args_len > KTAPVM_MAX_ARGS || !l.argc != !l.args_len ||
	    l.nprobes || l.err_func || l.err_pc ||
	    memchr_inv(l.err_reason, 0, sizeof(l.err_reason)))
		return -EINVAL;

	chunk = vmemdup_user(u64_to_user_ptr(l.chunk), l.chunk_len);
	if (IS_ERR(chunk))
		return PTR_ERR(chunk);
	if (l.argc) {
		r = -EINVAL;
		args = memdup_user(u64_to_user_ptr(l.args), l.args_len);
		if (IS_ERR(args)) {
			r = PTR_ERR(args);
			args = NULL;
			goto out;
		}
		/* argc strings, the last one ending the buffer. */
		if (l.argc > l.args_len || args[l.args_len - 1])
			goto out;
		argv = kmalloc_array(l.argc, sizeof(*argv), GFP_KERNEL);
		if (!argv) {
			r = -ENOMEM;
			goto out;
		}
		for (i = 0, p = args; i < l.argc && p < args + l.args_len; i++) {
			argv[i] = p;
			p += strlen(p) + 1;
		}
		if (i != l.argc || p != args + l.args_len)
			goto out;
	}

	mutex_lock(&s->lock);
	r = -EBUSY;
	if (atomic_read(&s->state) != KTAPVM_STATE_CREATED)
		goto out_unlock;
	/* Each attempt starts from a fresh VM in the same arena. */
	r = kp_vm_create(&vm, &cfg);
	if (r)
		goto out_unlock;
	r = kp_vm_load(vm, chunk, l.chunk_len, &err);
	if (!r && l.argc)
		r = kp_vm_set_args(vm, l.argc, argv);
	if (!r) {
		s->vm = vm;
		l.nprobes = kp_vm_nprobes(vm);
		atomic_set(&s->state, KTAPVM_STATE_LOADED);
	} else if (r == -EINVAL) {
		l.err_func = err.func;
		l.err_pc = err.pc;
		strscpy(l.err_reason, err.reason, sizeof(l.err_reason));
	}
out_unlock:
	mutex_unlock(&s->lock);
	if ((!r || r == -EINVAL) && ktapvm_copy_out(u, &l, sizeof(l), usize))
		r = -EFAULT;
out:
	kfree(argv);
	kfree(args);
	kvfree(chunk);
	return r;
}

/**
 * session_probe() - KTAPVM_IOC_PROBE: an entry of the chunk's probe table.
 * @s: the session, loaded
 * @u: struct ktapvm_probe in user memory
 *
 * Context: process context; takes the session lock.
 * Return: 0; -EINVAL for a bad struct, an index out of range or no chunk
 * loaded; -EFAULT.
 */
static int session_probe(struct ktapvm_session *s,
			 struct ktapvm_probe __user *u)
{
	struct kp_probe_info info;
	struct ktapvm_probe p;
	size_t n;
	int r, usize;

	usize = ktapvm_copy_in(&p, sizeof(p), KTAPVM_PROBE_SIZE_VER0, u);
	if (usize < 0)
		return usize;
	if (!p.spec != !p.spec_size || p.spec_len || p.kind || p.line ||
	    p.period_ns)
		return -EINVAL;
	mutex_lock(&s->lock);
	r = -EINVAL;
	if (!s->vm || p.index >= kp_vm_nprobes(s->vm) ||
	    kp_vm_probe_info(s->vm, p.index, &info) < 0)
		goto out;
	p.kind = info.kind;
	p.line = info.line;
	p.period_ns = info.period_ns;
	p.spec_len = strlen(info.spec);
	r = 0;
	if (p.spec_size) {
		n = min_t(size_t, p.spec_len, p.spec_size - 1);
		if (copy_to_user(u64_to_user_ptr(p.spec), info.spec, n) ||
		    put_user('\0', (char __user *)u64_to_user_ptr(p.spec) + n))
			r = -EFAULT;
	}
out:
	mutex_unlock(&s->lock);
	if (!r)
		r = ktapvm_copy_out(u, &p, sizeof(p), usize);
	return r;
}

/**
 * session_attach() - KTAPVM_IOC_ATTACH: add an event source.
 * @s: the session, loaded and not started
 * @u: struct ktapvm_attach in user memory
 *
 * Context: process context; takes the session lock. Permission checks of
 * the kernel (perf, kprobes, lockdown) apply to the caller.
 * Return: 0; -EINVAL for a bad struct, a probe index out of range or of
 * the wrong kind, or the wrong state, and for a tracepoint id perf does
 * not know; -ENOENT for an unknown kprobe symbol; -EBADF for a bad fd;
 * -ESRCH for no such pid; -ENOSPC past max_attach; -EPERM under lockdown.
 */
static int session_attach(struct ktapvm_session *s,
			  struct ktapvm_attach __user *u)
{
	struct ktapvm_attach a;
	int r;

	r = ktapvm_copy_in(&a, sizeof(a), KTAPVM_ATTACH_SIZE_VER0, u);
	if (r < 0)
		return r;
	mutex_lock(&s->lock);
	if (atomic_read(&s->state) == KTAPVM_STATE_LOADED)
		r = ktapvm_attach(s, &a);
	else
		r = -EINVAL;
	mutex_unlock(&s->lock);
	return r;
}

/**
 * session_start() - KTAPVM_IOC_START: run main, then enable the sources.
 * @s: the session, loaded
 * @u: struct ktapvm_start in user memory
 *
 * main runs here, in the caller's context, before anything can fire. If
 * it ends the session (exit() or an error), nothing is enabled and the
 * session is finished at once (trace_end after exit()).
 *
 * Context: process context; takes the session lock.
 * Return: 0 (whatever main did: see STATS), -EINVAL for a bad struct or
 * state.
 */
static int session_start(struct ktapvm_session *s,
			 struct ktapvm_start __user *u)
{
	struct ktapvm_start st;
	void *snap = NULL;
	int r;

	r = ktapvm_copy_in(&st, sizeof(st), KTAPVM_START_SIZE_VER0, u);
	if (r < 0)
		return r;
	if (st.flags || !st.restore != !st.restore_len ||
	    st.restore_len > KTAPVM_MAX_DUMP)
		return -EINVAL;
	if (st.restore) {
		snap = vmemdup_user(u64_to_user_ptr(st.restore),
				    st.restore_len);
		if (IS_ERR(snap))
			return PTR_ERR(snap);
	}
	mutex_lock(&s->lock);
	r = -EINVAL;
	if (atomic_read(&s->state) != KTAPVM_STATE_LOADED)
		goto out;
	r = 0;
	s->started = true;
	/* No source is enabled and none fires before RUNNING: no vm_lock. */
	s->quiet = snap != NULL;
	r = ktapvm_run_main(s);
	s->quiet = false;
	if (r == KP_OK && snap) {
		r = kp_vm_restore(s->vm, snap, st.restore_len);
		if (r < 0)
			goto out; /* LOADED: nothing ever runs; close it */
	}
	if (r == KP_OK) {
		atomic_set(&s->state, KTAPVM_STATE_RUNNING);
		ktapvm_attach_enable(s);
	} else {
		session_finish(s, true);
	}
	r = 0;
out:
	mutex_unlock(&s->lock);
	kvfree(snap);
	return r;
}

/**
 * session_stop() - KTAPVM_IOC_STOP: end the session.
 * @s: the session, any state
 * @u: struct ktapvm_stop in user memory
 *
 * Unregisters every source and waits for running handlers, runs trace_end
 * (if main ran and no runtime error ended it), and wakes readers: the
 * output stream then ends after the last record.
 *
 * Context: process context; takes the session lock; sleeps (RCU grace
 * periods).
 * Return: 0, or -EINVAL for a bad struct.
 */
static int session_stop(struct ktapvm_session *s, struct ktapvm_stop __user *u)
{
	struct ktapvm_stop st;
	int r;

	r = ktapvm_copy_in(&st, sizeof(st), KTAPVM_STOP_SIZE_VER0, u);
	if (r < 0)
		return r;
	if (st.flags)
		return -EINVAL;
	mutex_lock(&s->lock);
	session_finish(s, true);
	mutex_unlock(&s->lock);
	return 0;
}

/**
 * session_stats() - KTAPVM_IOC_STATS: state, exit status and counters.
 * @s: the session, any state
 * @u: struct ktapvm_stats in user memory
 *
 * Context: process context; takes the session lock, and the VM lock for
 * the arena figures.
 * Return: 0, or -EINVAL/-E2BIG/-EFAULT for a bad struct.
 */
static int session_stats(struct ktapvm_session *s,
			 struct ktapvm_stats __user *u)
{
	struct kp_mem_stats ms = { .arena_size = s->arena_size };
	const struct ktapvm_cpu_stats *c;
	struct ktapvm_stats st;
	unsigned long flags;
	int cpu, usize;

	usize = ktapvm_copy_in(&st, sizeof(st), KTAPVM_STATS_SIZE_VER0, u);
	if (usize < 0)
		return usize;
	memset(&st, 0, sizeof(st));
	st.size = usize;
	mutex_lock(&s->lock);
	st.state = atomic_read(&s->state);
	st.exit_status = s->status;
	st.flags = s->failed ? KTAPVM_STATS_FAILED : 0;
	st.drop_missed = s->missed + ktapvm_attach_missed(s);
	for_each_possible_cpu(cpu) {
		c = per_cpu_ptr(s->pcpu, cpu);
		st.drop_recursion += READ_ONCE(c->drop_recursion);
		st.drop_contention += READ_ONCE(c->drop_contention);
		st.drop_missed += READ_ONCE(c->drop_missed);
	}
	flags = ktapvm_vm_lock(s);
	ktapvm_attach_fold(s); /* events counts the counted hits */
	if (s->vm)
		kp_vm_mem_stats(s->vm, &ms);
	st.events = s->events;
	st.drop_budget = s->drop_budget;
	st.short_records = s->short_records;
	st.out_records = s->out.records;
	st.out_bytes = s->out.bytes;
	st.lost_records = s->out.lost_records;
	st.lost_bytes = s->out.lost_bytes;
	st.cpu_ns = s->cpu_ns;
	ktapvm_vm_unlock(s, flags);
	st.mem_in_use = ms.in_use;
	st.mem_peak = ms.peak;
	st.mem_quota = ms.arena_size;
	st.collections = ms.collections;
	st.nprobes = s->narmed;
	strscpy(st.error, s->error, sizeof(st.error));
	mutex_unlock(&s->lock);
	return ktapvm_copy_out(u, &st, sizeof(st), usize);
}

static void dump_put(struct dump_ctx *d, const char *s, size_t len)
{
	if (d->len < d->size)
		memcpy(d->buf + d->len, s, min(len, d->size - d->len));
	d->len += len;
}

/* One global: JSON object members as ktapd's user engine writes them. */
static void dump_emit(void *ctx, const char *name, const char *json,
		      kp_size_t len)
{
	struct dump_ctx *d = ctx;

	if (!d->first)
		dump_put(d, ", ", 2);
	d->first = false;
	/* Global names are identifiers: nothing to escape. */
	dump_put(d, "\"", 1);
	dump_put(d, name, strlen(name));
	dump_put(d, "\": ", 3);
	dump_put(d, json, len);
}

static void snapshot_emit(void *ctx, const void *p, kp_size_t len)
{
	dump_put(ctx, p, len);
}

/**
 * session_dump() - KTAPVM_IOC_DUMP: the globals as a JSON object, or
 * KTAPVM_IOC_SNAPSHOT: their data for a later START with restore.
 * @s: the session, loaded
 * @u: struct ktapvm_dump in user memory
 * @snapshot: SNAPSHOT rather than DUMP
 *
 * The VM is read under the VM lock with interrupts off, so probes on other
 * CPUs are dropped (as contention) while it lasts: its cost grows with the
 * globals' size.
 *
 * Context: process context; takes the session lock and the VM lock.
 * Return: 0; -ENOSPC when the text is longer than the buffer (len says
 * how long); -EINVAL for a bad struct or no chunk loaded; -ENOMEM.
 */
static int session_dump(struct ktapvm_session *s, struct ktapvm_dump __user *u,
			bool snapshot)
{
	struct dump_ctx d = { .first = true };
	struct ktapvm_dump dm;
	unsigned long flags;
	int r, usize;

	usize = ktapvm_copy_in(&dm, sizeof(dm), KTAPVM_DUMP_SIZE_VER0, u);
	if (usize < 0)
		return usize;
	if (dm.flags || dm.len || !dm.buf != !dm.buf_size ||
	    dm.buf_size > KTAPVM_MAX_DUMP)
		return -EINVAL;
	d.size = dm.buf_size;
	if (d.size) {
		d.buf = kvmalloc(d.size, GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
		if (!d.buf)
			return -ENOMEM;
	}
	mutex_lock(&s->lock);
	r = -EINVAL;
	if (s->vm && snapshot) {
		flags = ktapvm_vm_lock(s);
		ktapvm_attach_fold(s);
		r = kp_vm_snapshot(s->vm, snapshot_emit, &d);
		ktapvm_vm_unlock(s, flags);
	} else if (s->vm) {
		dump_put(&d, "{", 1);
		flags = ktapvm_vm_lock(s);
		ktapvm_attach_fold(s);
		r = kp_vm_dump_json(s->vm, dump_emit, &d);
		ktapvm_vm_unlock(s, flags);
		dump_put(&d, "}", 1);
	}
	mutex_unlock(&s->lock);
	if (r)
		goto out;
	dm.len = d.len;
	if (copy_to_user(u64_to_user_ptr(dm.buf), d.buf,
			 min(d.len, d.size)) ||
	    ktapvm_copy_out(u, &dm, sizeof(dm), usize))
		r = -EFAULT;
	else if (d.len > d.size)
		r = -ENOSPC;
out:
	kvfree(d.buf);
	return r;
}

static long session_ioctl(struct file *file, unsigned int cmd,
			  unsigned long arg)
{
	struct ktapvm_session *s = file->private_data;
	void __user *u = (void __user *)arg;

	switch (KTAPVM_CMD(cmd)) {
	case KTAPVM_CMD(KTAPVM_IOC_LOAD):
		return session_load(s, u);
	case KTAPVM_CMD(KTAPVM_IOC_PROBE):
		return session_probe(s, u);
	case KTAPVM_CMD(KTAPVM_IOC_ATTACH):
		return session_attach(s, u);
	case KTAPVM_CMD(KTAPVM_IOC_START):
		return session_start(s, u);
	case KTAPVM_CMD(KTAPVM_IOC_STOP):
		return session_stop(s, u);
	case KTAPVM_CMD(KTAPVM_IOC_STATS):
		return session_stats(s, u);
	case KTAPVM_CMD(KTAPVM_IOC_DUMP):
		return session_dump(s, u, false);
	case KTAPVM_CMD(KTAPVM_IOC_SNAPSHOT):
		return session_dump(s, u, true);
	default:
		return -ENOTTY;
	}
}

static ssize_t session_read(struct file *file, char __user *buf,
			    size_t count, loff_t *pos)
{
	return ktapvm_output_read(file->private_data, buf, count,
				  file->f_flags & O_NONBLOCK);
}

static __poll_t session_poll(struct file *file, poll_table *wait)
{
	struct ktapvm_session *s = file->private_data;
	__poll_t mask = 0;

	poll_wait(file, &s->wq, wait);
	if (atomic_read_acquire(&s->state) == KTAPVM_STATE_ENDED)
		mask |= EPOLLHUP;
	if (ktapvm_output_pending(&s->out))
		mask |= EPOLLIN | EPOLLRDNORM;
	return mask;
}

/*
 * The last close (ktapd's exit, even by SIGKILL): finish without
 * trace_end, since nobody can read its output any more, then wait for the
 * deferred works before freeing.
 */
static int session_release(struct inode *inode, struct file *file)
{
	struct ktapvm_session *s = file->private_data;

	mutex_lock(&s->lock);
	session_finish(s, false);
	mutex_unlock(&s->lock);
	irq_work_sync(&s->end_irq);
	cancel_work_sync(&s->end_work);
	irq_work_sync(&s->wake_irq);
	session_free(s);
	return 0;
}

static const struct file_operations session_fops = {
	.owner = THIS_MODULE,
	.release = session_release,
	.read = session_read,
	.poll = session_poll,
	.unlocked_ioctl = session_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

/* CREATE's numbers, checked against the limits VERSION reports. */
static int check_create(const struct ktapvm_create *c)
{
	if (c->flags || c->arena_size < KTAPVM_MIN_ARENA ||
	    c->arena_size > KTAPVM_MAX_ARENA ||
	    c->time_budget_ns > KTAPVM_MAX_TIME_BUDGET_NS ||
	    c->insn_budget > ktapvm_max_insn_budget ||
	    c->max_call_depth > KTAPVM_MAX_CALL_DEPTH)
		return -EINVAL;
	if (c->ring_size && (c->ring_size < KTAPVM_MIN_RING ||
			     c->ring_size > KTAPVM_MAX_RING ||
			     !is_power_of_2(c->ring_size)))
		return -EINVAL;
	return 0;
}

int ktapvm_session_create(const struct ktapvm_create *c)
{
	struct ktapvm_session *s;
	int r;

	r = check_create(c);
	if (r)
		return r;
	s = kzalloc(sizeof(*s), GFP_KERNEL);
	if (!s)
		return -ENOMEM;
	mutex_init(&s->lock);
	s->vm_lock = (arch_spinlock_t)__ARCH_SPIN_LOCK_UNLOCKED;
	atomic_set(&s->state, KTAPVM_STATE_CREATED);
	INIT_LIST_HEAD(&s->attachments);
	INIT_LIST_HEAD(&s->counters);
	init_waitqueue_head(&s->wq);
	/* Lazy: a reader woken a tick later costs no interrupt per event. */
	s->wake_irq = IRQ_WORK_INIT_LAZY(session_wake_irq);
	s->end_irq = IRQ_WORK_INIT(session_end_irq);
	INIT_WORK(&s->end_work, session_end_work);
	s->arena_size = c->arena_size;
	s->insn_budget = c->insn_budget ?:
		min_t(u32, KP_DEFAULT_INSN_BUDGET, ktapvm_max_insn_budget);
	s->max_call_depth = c->max_call_depth;
	s->time_budget_ns = c->time_budget_ns ?: KTAPVM_DEFAULT_TIME_BUDGET_NS;
	s->kernel_reads = !security_locked_down(LOCKDOWN_BPF_READ_KERNEL);

	r = -ENOMEM;
	s->pcpu = alloc_percpu(struct ktapvm_cpu_stats);
	if (!s->pcpu)
		goto fail;
	s->arena = __vmalloc(s->arena_size, GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
	if (!s->arena)
		goto fail;
	r = ktapvm_output_init(&s->out, c->ring_size ?: KTAPVM_DEFAULT_RING);
	if (r)
		goto fail;
	r = anon_inode_getfd("[ktapvm]", &session_fops, s, O_RDONLY | O_CLOEXEC);
	if (r < 0)
		goto fail;
	return r;

fail:
	session_free(s);
	return r;
}
