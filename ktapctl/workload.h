/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The command of `-- cmd args`: forked first and held before exec, so that
 * its pid can be the session's target and nothing it does escapes the
 * probes; released once the session is armed.
 */
#ifndef KTAPCTL_WORKLOAD_H
#define KTAPCTL_WORKLOAD_H

#include <sys/types.h>

struct workload {
	pid_t pid; /* 0: none */
	int go_fd; /* closing it without a byte: the child exits unrun */
	int pidfd; /* readable once the command has exited */
};

/* Fork the child that will run argv[0] with argv, held. */
int workload_spawn(struct workload *w, char **argv);
/* Let it exec the command. */
void workload_release(struct workload *w);
/*
 * Reap it: a child never released exits unrun; a command still running
 * when the tracing is over gets SIGTERM.
 */
void workload_finish(struct workload *w);

#endif /* KTAPCTL_WORKLOAD_H */
