/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A private ktapd for one script, when no daemon socket is reachable: it
 * listens on a socket no other process can reach and goes away with the
 * script, leaving nothing behind.
 */
#ifndef KTAPCTL_PRIVATE_DAEMON_H
#define KTAPCTL_PRIVATE_DAEMON_H

#include <sys/types.h>

struct private_daemon {
	pid_t pid; /* 0: not running */
	int pidfd; /* to wait for it with a time limit */
	int log_fd; /* its stderr, shown only if it fails */
};

/*
 * Start ktapd on a listening socket whose path is removed at once, after
 * nconns connections to it are made: fds[0 .. nconns) are theirs.
 */
int private_daemon_start(struct private_daemon *pd, int *fds,
			 unsigned int nconns);
/* Ask ktapd to stop (SIGTERM), wait for it; its log if it failed. */
void private_daemon_stop(struct private_daemon *pd);
/* Print what ktapd logged (when a connection to it broke). */
void private_daemon_show_log(struct private_daemon *pd);

#endif /* KTAPCTL_PRIVATE_DAEMON_H */
