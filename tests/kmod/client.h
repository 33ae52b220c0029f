/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ktapvm-client's pieces, shared by its commands: ktapvm-client.c (run a
 * chunk, the golden suite) and hostile.c (bad ioctls). The client drives
 * /dev/ktapvm the way ktapd's kmod engine is meant to (doc/ktapvm.md):
 * it compiles nothing, it takes chunks ktapctl compiled at build time.
 */
#ifndef KTAPVM_CLIENT_H
#define KTAPVM_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#include "ktapvm_abi.h"

/* Exit status for the client's own failures (not the session's). */
#define CLIENT_EXIT_FAIL 70
#define CLIENT_EXIT_RUNTIME 3
#define CLIENT_EXIT_VERIFY 4
/* Tracepoint fields per event: ktapvm_version.max_fields of today. */
#define CLIENT_MAX_FIELDS 10

struct session_opts {
	__u64 arena; /* 0: 4 MiB, as ktaprun */
	__u64 ring;
	__u64 time_budget;
	__u32 budget;
	__u32 depth;
	int cpu; /* -1: every CPU */
	pid_t pid; /* 0: every process */
};

void *read_file(const char *path, size_t *len);
int dev_open(void);
/* CREATE: the session fd, or -errno. */
int session_create(int dev, const struct session_opts *o);
/* LOAD with args; 0 or -errno (l filled: nprobes, verifier error). */
int session_load(int fd, const void *chunk, size_t len, int argc,
		 char *const *argv, struct ktapvm_load *l);
/* ATTACH a source for every probe of the chunk (specs resolved here). */
int session_attach_all(int fd, __u32 nprobes, const struct session_opts *o,
		       char *err, size_t errlen);
int session_cmd(int fd, unsigned long cmd); /* START, STOP: 0 or -errno */
int session_stats(int fd, struct ktapvm_stats *st);

/*
 * Read every record now available (all of them until the end when block),
 * write their text to out, check that seq numbers follow each other.
 * Returns 1 when the stream ended, 0 when more may come, -errno.
 */
int session_drain(int fd, FILE *out, bool block, __u64 *next_seq);

int hostile_main(int argc, char **argv);
int lockdown_main(int argc, char **argv);

#endif /* KTAPVM_CLIENT_H */
