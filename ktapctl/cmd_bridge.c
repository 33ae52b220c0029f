// SPDX-License-Identifier: GPL-2.0
/*
 * ktapctl bridge: connect standard input and output to ktapd's socket, for
 * a client on another machine (`ktapctl --host` runs it through ssh). It
 * passes bytes and half-closes; ktapd checks the credentials it sees, so
 * the remote user is the one ssh logged in.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "client.h"
#include "ktapctl.h"

static const char bridge_usage[] =
	"usage: ktapctl bridge [--socket PATH]\n"
	"Connect standard input and output to ktapd's socket (default:\n"
	"$KTAP_SOCKET, else " KTAPD_DEFAULT_SOCKET "): what `ktapctl --host`\n"
	"runs on the remote machine through ssh.\n";

static int write_all(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n) {
		w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Copy what from can give to to; 0 at its end, 1 on data, or -errno. */
static int pass(int from, int to)
{
	char buf[65536];
	ssize_t n = read(from, buf, sizeof(buf));

	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 1 : -errno;
	if (n == 0)
		return 0;
	return write_all(to, buf, (size_t)n) < 0 ? -errno : 1;
}

int cmd_bridge(int argc, char **argv)
{
	static const struct option options[] = { CLIENT_LONG_OPTIONS, {} };
	struct client_opts o = { 0 };
	struct client_link link;
	struct vlc *conn;
	struct pollfd p[2];
	int c, r, fd;

	while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
		r = client_option(c, &o, bridge_usage);
		if (r >= 0)
			return r;
	}
	if (optind != argc || o.host)
		return client_usage_error(bridge_usage);
	if (client_open(&o, false, &link, &conn) < 0)
		return KTAPCTL_EXIT_FAILURE;
	fd = vlc_fd(conn);
	p[0] = (struct pollfd){ .fd = STDIN_FILENO, .events = POLLIN };
	p[1] = (struct pollfd){ .fd = fd, .events = POLLIN };
	r = 1;
	while (r >= 0) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			break;
		}
		if (p[0].revents) {
			r = pass(STDIN_FILENO, fd);
			if (r == 0) {
				/* The client is done asking: ktapd finishes. */
				shutdown(fd, SHUT_WR);
				p[0].fd = -1;
			}
		}
		if (r >= 0 && p[1].revents) {
			r = pass(fd, STDOUT_FILENO);
			if (r == 0)
				break;
		}
	}
	vlc_free(conn);
	client_close(&link);
	if (r < 0)
		ctl_error(r, "bridge: %m");
	return r < 0 ? KTAPCTL_EXIT_FAILURE : KTAPCTL_EXIT_OK;
}
