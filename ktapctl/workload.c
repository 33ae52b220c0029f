// SPDX-License-Identifier: GPL-2.0
/* The held command of `-- cmd args` (see workload.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ktapctl.h"
#include "workload.h"

int workload_spawn(struct workload *w, char **argv)
{
	int go[2];
	char c;

	*w = (struct workload){ .go_fd = -1, .pidfd = -1 };
	if (pipe2(go, O_CLOEXEC) < 0)
		return ctl_error(-errno, "pipe: %m");
	w->pid = fork();
	if (w->pid < 0) {
		w->pid = 0;
		close(go[0]);
		close(go[1]);
		return ctl_error(-errno, "fork: %m");
	}
	if (w->pid == 0) {
		/* Ours until exec: Ctrl-C must simply end the command. */
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		close(go[1]);
		if (read(go[0], &c, 1) != 1)
			_exit(127);
		execvp(argv[0], argv);
		fprintf(stderr, "%s: cannot run %s: %s\n", program_name,
			argv[0], strerror(errno));
		_exit(127);
	}
	close(go[0]);
	w->go_fd = go[1];
	w->pidfd = (int)syscall(SYS_pidfd_open, w->pid, 0);
	if (w->pidfd < 0) {
		int r = -errno;

		workload_finish(w);
		return ctl_error(r, "pidfd_open: %m");
	}
	return 0;
}

void workload_release(struct workload *w)
{
	ssize_t n = write(w->go_fd, "g", 1);

	(void)n;
	close(w->go_fd);
	w->go_fd = -1;
}

void workload_finish(struct workload *w)
{
	if (w->pid <= 0)
		return;
	if (w->go_fd >= 0) {
		/* Never released: the child exits without running anything. */
		close(w->go_fd);
		w->go_fd = -1;
	} else if (waitpid(w->pid, NULL, WNOHANG) == 0) {
		/* The tracing is over (exit(), Ctrl-C): so is the command. */
		kill(w->pid, SIGTERM);
	}
	/* ECHILD if reaped just above. */
	while (waitpid(w->pid, NULL, 0) < 0 && errno == EINTR)
		;
	if (w->pidfd >= 0)
		close(w->pidfd);
	*w = (struct workload){ .go_fd = -1, .pidfd = -1 };
}
