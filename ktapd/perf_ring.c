// SPDX-License-Identifier: GPL-2.0
/* perf_event fds and their ring buffers (see perf_ring.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "log.h"
#include "perf_ring.h"

int perf_event_open_fd(struct perf_event_attr *attr, pid_t pid, int cpu,
		       int group_fd)
{
	long fd = syscall(SYS_perf_event_open, attr, pid, cpu, group_fd,
			  PERF_FLAG_FD_CLOEXEC);

	return fd < 0 ? -errno : (int)fd;
}

int perf_ring_map(struct perf_ring *r, int fd, size_t data_size)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	void *p;

	*r = (struct perf_ring){ 0 };
	r->bounce = malloc(1u << 16); /* perf_event_header.size is a u16 */
	if (!r->bounce)
		return -ENOMEM;
	r->map_size = page + data_size;
	p = mmap(NULL, r->map_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		free(r->bounce);
		r->bounce = NULL;
		return -errno;
	}
	r->meta = p;
	r->data = (unsigned char *)p + page;
	r->mask = data_size - 1;
	return 0;
}

void perf_ring_unmap(struct perf_ring *r)
{
	if (r->meta)
		munmap(r->meta, r->map_size);
	free(r->bounce);
	*r = (struct perf_ring){ 0 };
}

static void perf_close_now(int *fds, size_t nfds, struct perf_ring *rings,
			   size_t nrings)
{
	size_t i;

	for (i = 0; i < nfds; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	for (i = 0; i < nrings; i++)
		perf_ring_unmap(&rings[i]);
	free(fds);
	free(rings);
}

struct perf_graveyard {
	int *fds;
	size_t nfds;
	struct perf_ring *rings;
	size_t nrings;
};

static void *perf_graveyard_run(void *arg)
{
	struct perf_graveyard *g = arg;

	perf_close_now(g->fds, g->nfds, g->rings, g->nrings);
	free(g);
	return NULL;
}

void perf_close_async(int *fds, size_t nfds, struct perf_ring *rings,
		      size_t nrings)
{
	struct perf_graveyard *g = malloc(sizeof(*g));
	pthread_attr_t attr;
	pthread_t t;
	int r = -ENOMEM;

	if (g) {
		*g = (struct perf_graveyard){ fds, nfds, rings, nrings };
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		r = -pthread_create(&t, &attr, perf_graveyard_run, g);
		pthread_attr_destroy(&attr);
		if (r == 0)
			return;
		free(g);
	}
	log_warning_errno(r, "Failed to start a thread to close perf events, "
			     "closing them on the loop: %m");
	perf_close_now(fds, nfds, rings, nrings);
}
