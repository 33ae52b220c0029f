// SPDX-License-Identifier: GPL-2.0
/*
 * The session output: one ring per CPU that the VM's writes append records
 * to (in probe context, any context up to NMI: no locks, no allocation),
 * and read() on the session fd, which hands them out merged in the order
 * they were written.
 *
 * Writers never race: every VM invocation holds the session's VM lock, or
 * runs while no probe is armed (run.c), so a session has one writer at a
 * time and each ring one producer. That is also what makes the merge
 * exact: each record gets the next number of the session-wide seq when it
 * is committed (a dropped record takes none), so the reader hands out
 * seq 0, 1, 2... looking for the next one at the tail of each ring.
 *
 * Rings exist for the CPUs online at CREATE (possible CPUs can be many more
 * than present ones); output of a handler on a CPU that came online later
 * is dropped and counted. A ring is a byte array of size 2^n with
 * free-running head (producer) and tail (consumer) counters. A record never wraps: when it does not fit
 * before the end, the rest of the ring is skipped (a pad record, or
 * nothing when less than a header is left).
 */
#include <linux/kernel.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/timekeeping.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>

#include "ktapvm.h"

#define REC_HDR sizeof(struct ktapvm_record)
#define REC_MAX_PAYLOAD (KTAPVM_MAX_RECORD - REC_HDR)
/* Never seen by readers: a skipped end of ring. */
#define REC_PAD 0x8000

struct ktapvm_ring {
	u64 head; /* producer; published with release */
	char *data;
	u64 tail ____cacheline_aligned_in_smp; /* consumer; release too */
};

static u64 rec_size(u32 len)
{
	return ALIGN(REC_HDR + len, KTAPVM_RECORD_ALIGN);
}

int ktapvm_output_init(struct ktapvm_output *out, u64 ring_size)
{
	int cpu;

	mutex_init(&out->read_lock);
	out->size = ring_size;
	out->rings = kcalloc(nr_cpu_ids, sizeof(*out->rings), GFP_KERNEL);
	if (!out->rings)
		return -ENOMEM;
	for_each_online_cpu(cpu) {
		out->rings[cpu].data = __vmalloc(ring_size, GFP_KERNEL_ACCOUNT |
							    __GFP_NOWARN);
		if (!out->rings[cpu].data)
			return -ENOMEM; /* the caller frees what was made */
	}
	return 0;
}

void ktapvm_output_free(struct ktapvm_output *out)
{
	int cpu;

	if (!out->rings)
		return;
	for_each_possible_cpu(cpu)
		vfree(out->rings[cpu].data);
	kfree(out->rings);
	out->rings = NULL;
}

/* Commit one record of len <= REC_MAX_PAYLOAD bytes, or drop it. */
static bool ring_put(struct ktapvm_output *out, struct ktapvm_ring *r,
		     int cpu, const char *buf, u32 len)
{
	u64 size = rec_size(len), mask = out->size - 1;
	u64 head = r->head, off = head & mask, pad = 0;
	/* Pairs with drain()'s release: the reader is done below tail. */
	u64 tail = smp_load_acquire(&r->tail);
	struct ktapvm_record *rec;

	if (!r->data)
		return false;
	if (off + size > out->size)
		pad = out->size - off;
	/* A tail ahead of head cannot happen; treat it as full all the same. */
	if (head + pad + size - tail > out->size || tail > head)
		return false;
	if (pad >= REC_HDR) {
		rec = (struct ktapvm_record *)(r->data + off);
		rec->flags = REC_PAD;
	}
	head += pad;
	rec = (struct ktapvm_record *)(r->data + (head & mask));
	rec->seq = out->seq++;
	rec->time_ns = ktime_get_mono_fast_ns();
	rec->len = len;
	rec->cpu = cpu;
	rec->flags = 0;
	memcpy(rec + 1, buf, len);
	/* Readers copy whole records out: no stale ring bytes in the padding. */
	memset((char *)(rec + 1) + len, 0, size - REC_HDR - len);
	/* Pairs with ring_peek(): the record is whole before head moves. */
	smp_store_release(&r->head, head + size);
	return true;
}

void ktapvm_output_write(struct ktapvm_output *out, const char *buf,
			 size_t len)
{
	int cpu = raw_smp_processor_id();
	struct ktapvm_ring *r = &out->rings[cpu];
	u32 n;

	while (len) {
		n = min_t(size_t, len, REC_MAX_PAYLOAD);
		if (ring_put(out, r, cpu, buf, n)) {
			out->records++;
			out->bytes += n;
		} else {
			out->lost_records++;
			out->lost_bytes += n;
		}
		buf += n;
		len -= n;
	}
}

/* The first record at r's tail, past a skipped end; NULL when none. */
static struct ktapvm_record *ring_peek(const struct ktapvm_output *out,
				       struct ktapvm_ring *r, u64 *tailp)
{
	struct ktapvm_record *rec;
	u64 tail = r->tail, room;
	/* Pairs with ring_put(): what is below head is written. */
	u64 head = smp_load_acquire(&r->head);

	if (!r->data)
		return NULL;
	while (tail != head) {
		room = out->size - (tail & (out->size - 1));
		rec = (struct ktapvm_record *)(r->data +
					       (tail & (out->size - 1)));
		if (room >= REC_HDR && !(rec->flags & REC_PAD)) {
			*tailp = tail;
			return rec;
		}
		tail += room;
	}
	return NULL;
}

/*
 * The ring holding the record numbered next_seq. Rings are scanned one
 * after the other, so a scan may see record n+1 in one ring and not yet
 * record n, committed just before it in another: a second scan (after the
 * acquire that saw n+1) sees n. Should the numbers ever disagree, the
 * smallest one wins rather than stalling the stream.
 */
static struct ktapvm_record *next_record(struct ktapvm_output *out,
					 struct ktapvm_ring **rp, u64 *tailp)
{
	struct ktapvm_record *rec, *best = NULL;
	struct ktapvm_ring *r;
	int pass, cpu;
	u64 tail;

	for (pass = 0; pass < 2; pass++) {
		best = NULL;
		for_each_possible_cpu(cpu) {
			r = &out->rings[cpu];
			rec = ring_peek(out, r, &tail);
			if (!rec || (best && rec->seq >= best->seq))
				continue;
			best = rec;
			*rp = r;
			*tailp = tail;
		}
		if (!best || best->seq == out->next_seq)
			break;
	}
	if (best)
		out->next_seq = best->seq;
	return best;
}

bool ktapvm_output_pending(struct ktapvm_output *out)
{
	int cpu;

	for_each_possible_cpu(cpu) {
		struct ktapvm_ring *r = &out->rings[cpu];

		/* Pairs with ring_put(): a caller that saw it reads them. */
		if (smp_load_acquire(&r->head) != READ_ONCE(r->tail))
			return true;
	}
	return false;
}

/* Copy out whole records; -EINVAL when the first one does not fit. */
static ssize_t drain(struct ktapvm_output *out, char __user *buf,
		     size_t count)
{
	struct ktapvm_record *rec;
	struct ktapvm_ring *r;
	size_t done = 0;
	u64 tail, size;

	while ((rec = next_record(out, &r, &tail))) {
		size = rec_size(rec->len);
		if (size > count - done)
			return done ? done : -EINVAL;
		if (copy_to_user(buf + done, rec, size))
			return done ? done : -EFAULT;
		/* Pairs with ring_put(): the copy is done, reuse the room. */
		smp_store_release(&r->tail, tail + size);
		out->next_seq++;
		done += size;
	}
	return done;
}

ssize_t ktapvm_output_read(struct ktapvm_session *s, char __user *buf,
			   size_t count, bool nonblock)
{
	struct ktapvm_output *out = &s->out;
	ssize_t n;
	int r;

	for (;;) {
		if (mutex_lock_interruptible(&out->read_lock))
			return -ERESTARTSYS;
		n = drain(out, buf, count);
		mutex_unlock(&out->read_lock);
		if (n)
			return n;
		/* Ended (after its last write): nothing more comes. */
		if (atomic_read_acquire(&s->state) == KTAPVM_STATE_ENDED &&
		    !ktapvm_output_pending(out))
			return 0;
		if (nonblock)
			return -EAGAIN;
		r = wait_event_interruptible(s->wq,
			ktapvm_output_pending(out) ||
			atomic_read(&s->state) == KTAPVM_STATE_ENDED);
		if (r)
			return r;
	}
}
