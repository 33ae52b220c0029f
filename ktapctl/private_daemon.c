// SPDX-License-Identifier: GPL-2.0
/*
 * The private ktapd of `ktapctl run` and `ktap` when no daemon socket is
 * reachable. ktapd gets its listening socket the way systemd passes one
 * (LISTEN_FDS), so it needs no mode of its own; the socket's path lives in
 * a private directory only until our connections are made, then both go.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ktapctl.h"
#include "macro.h"
#include "private_daemon.h"

/* sd_listen_fds(3): passed sockets start at fd 3. */
#define LISTEN_FD 3
/* ktapd stops its one session and exits at once; this is the patience. */
#define STOP_TIMEOUT_MS 5000

/*
 * Where ktapd is: beside ktapctl in the build tree (build/ktapd/ktapd for
 * build/ktapctl/ktapctl), in the same directory once installed, on $PATH,
 * or where meson installs it.
 */
static int find_ktapd(char *path, size_t size)
{
	static const char *const beside[] = { "/../ktapd/ktapd", "/ktapd" };
	char self[PATH_MAX];
	const char *env_path = getenv("PATH"), *dir;
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	size_t i;

	if (n > 0) {
		self[n] = '\0';
		dir = dirname(self);
		for (i = 0; i < ELEMENTSOF(beside); i++) {
			snprintf(path, size, "%s%s", dir, beside[i]);
			if (access(path, X_OK) == 0)
				return 0;
		}
	}
	while (env_path && *env_path) {
		size_t len = strcspn(env_path, ":");

		snprintf(path, size, "%.*s/ktapd", (int)len, env_path);
		if (len && access(path, X_OK) == 0)
			return 0;
		env_path += len + (env_path[len] == ':');
	}
	snprintf(path, size, "%s", KTAPD_INSTALL_PATH);
	return access(path, X_OK) == 0 ? 0 : -ENOENT;
}

/* In the child: become ktapd with the listening socket as fd 3. */
static void __attribute__((noreturn))
exec_ktapd(const char *ktapd, int listen_fd, int log_fd, pid_t parent)
{
	char pid[32];
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);

	/* Ctrl-C at the terminal is for ktapctl, which stops the session. */
	setpgid(0, 0);
	/* If ktapctl dies, nothing must stay behind. */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != parent)
		_exit(127);
	if (null < 0 || dup2(null, STDIN_FILENO) < 0 ||
	    dup2(null, STDOUT_FILENO) < 0)
		_exit(127);
	if (dup2(log_fd, STDERR_FILENO) < 0)
		_exit(127);
	if (listen_fd == LISTEN_FD)
		fcntl(LISTEN_FD, F_SETFD, 0);
	else if (dup2(listen_fd, LISTEN_FD) < 0)
		_exit(127);
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	setenv("LISTEN_FDS", "1", 1);
	setenv("LISTEN_PID", pid, 1);
	unsetenv("LISTEN_FDNAMES");
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_PID");
	unsetenv("WATCHDOG_USEC");
	execl(ktapd, "ktapd", (char *)NULL);
	fprintf(stderr, "%s: cannot run %s: %s\n", program_name, ktapd,
		strerror(errno));
	_exit(127);
}

/*
 * A listening socket in a fresh private directory, nconns connections to
 * it, then the path and directory removed: only these connections (and
 * ones passed on from them) ever reach the daemon.
 */
static int listen_private(int *listen_fd, int *fds, unsigned int nconns)
{
	const char *tmp = getenv("TMPDIR");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char dir[sizeof(sa.sun_path) - 8];
	_cleanup_close_ int lfd = -1;
	unsigned int i;
	int r = 0;

	if (!tmp || !*tmp || strlen(tmp) + 16 > sizeof(dir))
		tmp = "/tmp";
	snprintf(dir, sizeof(dir), "%s/ktapctl-XXXXXX", tmp);
	if (!mkdtemp(dir))
		return ctl_error(-errno, "cannot create a directory in %s: %m",
				 tmp);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/sock", dir);

	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(lfd, (int)nconns) < 0)
		r = ctl_error(-errno, "cannot listen on %s: %m", sa.sun_path);
	for (i = 0; r == 0 && i < nconns; i++) {
		fds[i] = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fds[i] < 0 ||
		    connect(fds[i], (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			r = ctl_error(-errno, "cannot connect to %s: %m",
				      sa.sun_path);
			if (fds[i] >= 0)
				close(fds[i]);
			while (i--)
				close(fds[i]);
		}
	}
	unlink(sa.sun_path);
	rmdir(dir);
	if (r == 0)
		*listen_fd = TAKE_FD(lfd);
	return r;
}

int private_daemon_start(struct private_daemon *pd, int *fds,
			 unsigned int nconns)
{
	_cleanup_close_ int lfd = -1;
	char ktapd[PATH_MAX];
	pid_t parent = getpid();
	unsigned int i;
	int r;

	*pd = (struct private_daemon){ .pidfd = -1, .log_fd = -1 };
	if (find_ktapd(ktapd, sizeof(ktapd)) < 0)
		return ctl_error(-ENOENT,
				 "no ktapd to start: none beside %s, on $PATH "
				 "or at %s",
				 program_name, KTAPD_INSTALL_PATH);
	pd->log_fd = memfd_create("ktapd-log", MFD_CLOEXEC);
	if (pd->log_fd < 0)
		return ctl_error(-errno, "memfd_create: %m");
	r = listen_private(&lfd, fds, nconns);
	if (r < 0)
		goto fail;

	pd->pid = fork();
	if (pd->pid < 0) {
		r = ctl_error(-errno, "fork: %m");
		goto fail_conns;
	}
	if (pd->pid == 0)
		exec_ktapd(ktapd, lfd, pd->log_fd, parent);
	pd->pidfd = (int)syscall(SYS_pidfd_open, pd->pid, 0);
	return 0;

fail_conns:
	for (i = 0; i < nconns; i++)
		close(fds[i]);
fail:
	if (pd->log_fd >= 0)
		close(pd->log_fd);
	pd->pid = 0;
	pd->log_fd = -1;
	return r;
}

void private_daemon_show_log(struct private_daemon *pd)
{
	char buf[4096];
	ssize_t n;
	off_t off = 0;

	if (pd->log_fd < 0)
		return;
	while ((n = pread(pd->log_fd, buf, sizeof(buf), off)) > 0) {
		fwrite(buf, 1, (size_t)n, stderr);
		off += n;
	}
	/* Shown once. */
	close(pd->log_fd);
	pd->log_fd = -1;
}

void private_daemon_stop(struct private_daemon *pd)
{
	struct pollfd p = { .fd = pd->pidfd, .events = POLLIN };
	int status = 0;

	if (pd->pid <= 0)
		return;
	kill(pd->pid, SIGTERM);
	if (pd->pidfd >= 0 && poll(&p, 1, STOP_TIMEOUT_MS) == 0) {
		ctl_error(-ETIMEDOUT,
			  "the private ktapd did not stop, killing it");
		kill(pd->pid, SIGKILL);
	}
	while (waitpid(pd->pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		private_daemon_show_log(pd);
		if (WIFSIGNALED(status))
			ctl_error(-EIO, "the private ktapd died of signal %d",
				  WTERMSIG(status));
		else
			ctl_error(-EIO,
				  "the private ktapd exited with status %d",
				  WEXITSTATUS(status));
	}
	if (pd->pidfd >= 0)
		close(pd->pidfd);
	if (pd->log_fd >= 0)
		close(pd->log_fd);
	*pd = (struct private_daemon){ .pidfd = -1, .log_fd = -1 };
}
