/* SPDX-License-Identifier: GPL-2.0 */
/*
 * perf_event file descriptors and their mmapped ring buffers, read in place
 * without a system call per record (perf_event_open(2), "MMAP layout").
 */
#ifndef KTAPD_PERF_RING_H
#define KTAPD_PERF_RING_H

#include <linux/perf_event.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

/* perf_event_open(2); returns the fd (close-on-exec) or a negative errno. */
int perf_event_open_fd(struct perf_event_attr *attr, pid_t pid, int cpu,
		       int group_fd);

/*
 * A ring: the control page and 2^n data pages the kernel writes records
 * into. Mapped writable, so the kernel never overwrites what data_tail
 * has not released; when it is full it drops records and says how many
 * in a PERF_RECORD_LOST.
 */
struct perf_ring {
	struct perf_event_mmap_page *meta;
	unsigned char *data;
	uint64_t mask; /* data size - 1 */
	uint64_t tail; /* next record to read */
	uint64_t head; /* end of the data perf_ring_begin() saw */
	uint64_t published; /* tail as the kernel knows it */
	unsigned char *bounce; /* a record that wraps, made contiguous */
	size_t map_size;
};

/* Map the ring of perf event fd with data_size bytes (a power of two). */
int perf_ring_map(struct perf_ring *r, int fd, size_t data_size);
void perf_ring_unmap(struct perf_ring *r);

/* Look at what the kernel has written so far; false when nothing. */
static inline bool perf_ring_begin(struct perf_ring *r)
{
	r->head = __atomic_load_n(&r->meta->data_head, __ATOMIC_ACQUIRE);
	return r->head != r->tail;
}

/* The next record (contiguous), or NULL at the end of what begin() saw. */
static inline const struct perf_event_header *
perf_ring_peek(struct perf_ring *r)
{
	const struct perf_event_header *h;
	uint64_t off, size;

	if (r->tail == r->head)
		return NULL;
	off = r->tail & r->mask;
	h = (const void *)(r->data + off);
	size = h->size;
	if (size < sizeof(*h)) {
		/* Never written by the kernel; do not spin on it. */
		r->tail = r->head;
		return NULL;
	}
	if (off + size > r->mask + 1) {
		uint64_t first = r->mask + 1 - off;

		/* The header itself never wraps: records are 8-aligned. */
		memcpy(r->bounce, h, first);
		memcpy(r->bounce + first, r->data, size - first);
		h = (const void *)r->bounce;
	}
	return h;
}

static inline void perf_ring_consume(struct perf_ring *r,
				     const struct perf_event_header *h)
{
	r->tail += h->size;
}

/* Hand the space read so far back to the kernel. */
static inline void perf_ring_publish(struct perf_ring *r)
{
	if (r->published == r->tail)
		return;
	__atomic_store_n(&r->meta->data_tail, r->tail, __ATOMIC_RELEASE);
	r->published = r->tail;
}

/*
 * Close perf event fds and unmap rings on a thread of their own, then free
 * both arrays: closing the last perf event of a tracepoint waits for RCU
 * grace periods under the kernel's event_mutex (tens of milliseconds per
 * tracepoint), which a caller on an event loop must not wait for.
 */
void perf_close_async(int *fds, size_t nfds, struct perf_ring *rings,
		      size_t nrings);

#endif /* KTAPD_PERF_RING_H */
