// SPDX-License-Identifier: GPL-2.0
/* Following a session's output stream (see session_stream.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kp_base64.h"
#include "ktapctl.h"
#include "session_stream.h"

/*
 * After the traced command exits, the daemon ends the session itself once
 * the command's last events are in; if it has not within this time (an
 * engine that does not watch the target), ktapctl stops it.
 */
#define WORKLOAD_END_GRACE_MS 2000

static int signal_pipe[2] = { -1, -1 };

static void on_signal(int sig)
{
	int saved_errno = errno;
	char c = (char)sig;
	/* A full pipe holds enough noted signals already. */
	ssize_t n = write(signal_pipe[1], &c, 1);

	(void)n;
	errno = saved_errno;
}

int stream_catch_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal,
				.sa_flags = SA_RESTART };

	if (signal_pipe[0] < 0 &&
	    pipe2(signal_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
		return ctl_error(-errno, "pipe: %m");
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	return 0;
}

/* Signals noted since the last call. */
static int signals_pending(void)
{
	char buf[16];
	ssize_t n;
	int count = 0;

	while ((n = read(signal_pipe[0], buf, sizeof(buf))) > 0)
		count += (int)n;
	return count;
}

static void write_timestamp(FILE *f)
{
	struct timespec ts;
	struct tm tm;
	char buf[16];

	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	strftime(buf, sizeof(buf), "%H:%M:%S", &tm);
	fprintf(f, "%s.%06ld ", buf, ts.tv_nsec / 1000);
}

static void write_output(struct stream_out *o, const char *p, size_t n)
{
	const char *nl;

	if (!o->timestamps) {
		fwrite(p, 1, n, o->f);
		return;
	}
	while (n) {
		if (o->at_line_start)
			write_timestamp(o->f);
		nl = memchr(p, '\n', n);
		if (!nl) {
			fwrite(p, 1, n, o->f);
			o->at_line_start = false;
			return;
		}
		fwrite(p, 1, (size_t)(nl + 1 - p), o->f);
		o->at_line_start = true;
		n -= (size_t)(nl + 1 - p);
		p = nl + 1;
	}
}

int stream_write_record(struct stream_out *o, json_object *rec)
{
	json_object *v;
	const char *s;
	size_t n;
	char *buf;
	long len;

	o->cursor = json_int(rec, "seq") + 1;
	if (!o->f)
		return 0;
	if (json_object_object_get_ex(rec, "text", &v)) {
		write_output(o, json_object_get_string(v),
			     (size_t)json_object_get_string_len(v));
		return 0;
	}
	if (!json_object_object_get_ex(rec, "base64", &v))
		return 0;
	s = json_object_get_string(v);
	n = (size_t)json_object_get_string_len(v);
	buf = malloc(n / 4 * 3 + 1);
	if (!buf)
		return ctl_error(-ENOMEM, "out of memory");
	len = kp_base64_decode(s, n, buf);
	if (len >= 0)
		write_output(o, buf, (size_t)len);
	free(buf);
	if (len < 0)
		return ctl_error(-EBADMSG, "ktapd sent a record that is not "
					   "base64");
	return 0;
}

void stream_report_missed(struct stream_out *o, json_object *missed)
{
	json_object *bytes;

	o->cursor += json_int(missed, "records");
	if (json_object_object_get_ex(missed, "bytes", &bytes))
		ctl_error(0, "missed %lld records (%lld bytes) of output",
			  (long long)json_int(missed, "records"),
			  (long long)json_object_get_int64(bytes));
	else
		ctl_error(0, "missed %lld records of output",
			  (long long)json_int(missed, "records"));
}

/*
 * One reply of the stream: 1 when it was the last (*status set), 0 when
 * more follow, a negative errno on failure (reported).
 */
static int stream_reply(struct follow *f, struct vlc_reply *reply,
			int *status)
{
	struct stream_out *o = &f->out;
	json_object *p = reply->parameters, *v;
	int r = 0;

	if (reply->error) {
		*status = client_call_failed(f->link, 0, reply, f->session);
		return 1;
	}
	if (o->json)
		client_print_json(p);
	else if (json_object_object_get_ex(p, "missed", &v))
		stream_report_missed(o, v);
	if (json_object_object_get_ex(p, "record", &v))
		r = stream_write_record(o, v);
	if (json_object_object_get_ex(p, "cursor", &v))
		o->cursor = json_object_get_int64(v);
	if (r < 0) {
		*status = KTAPCTL_EXIT_FAILURE;
		return r;
	}
	if (reply->continues)
		return 0;
	/* The last reply: with "end" the session's; else it goes on. */
	if (json_object_object_get_ex(p, "end", &v)) {
		*status = (int)json_int(v, "exit_status");
		return 1;
	}
	if (!o->json)
		ctl_error(0, "session %s goes on; resume with --from %lld",
			  f->session, (long long)o->cursor);
	*status = KTAPCTL_EXIT_OK;
	return 1;
}

/*
 * Stop's own copy of the output it produced is not needed: the stream
 * brings it.
 */
void stream_stop_session(struct client_link *link, const char *session)
{
	struct vlc *c = client_control(link);
	struct vlc_reply reply = { 0 };
	int r;

	if (!c)
		return;
	r = vlc_call(c, "io.ktap.Stop", client_session_params(session),
		     &reply);
	/* Not found: it ended and went while the call was on its way. */
	if (r < 0 || (reply.error &&
		      strcmp(reply.error, "io.ktap.SessionNotFound")))
		client_call_failed(link, r, &reply, session);
	vlc_reply_release(&reply);
	/*
	 * Signals that came while Stop was on its way ask for the same
	 * (timeout(1), for one, sends its signal twice).
	 */
	signals_pending();
}

bool sleep_or_signal(int64_t ms)
{
	struct pollfd p = { .fd = signal_pipe[0], .events = POLLIN };

	while (poll(&p, 1, (int)ms) < 0 && errno == EINTR)
		;
	return signals_pending() > 0;
}

static void flush_output(struct stream_out *o)
{
	if (o->f)
		fflush(o->f);
	if (o->json)
		fflush(stdout);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int stream_broken(struct follow *f, int r)
{
	flush_output(&f->out);
	if (f->reconnect) {
		f->lost = true;
		return KTAPCTL_EXIT_FAILURE;
	}
	return client_call_failed(f->link, r, NULL, f->session);
}

int follow_stream(struct follow *f)
{
	struct pollfd p[3] = {
		{ .fd = vlc_fd(f->conn), .events = POLLIN },
		{ .fd = signal_pipe[0], .events = POLLIN },
		{ .fd = f->workload_pidfd, .events = POLLIN },
	};
	struct vlc_reply reply;
	int64_t stop_at = -1;
	bool stopping = f->stopping;
	int r, status = KTAPCTL_EXIT_OK, timeout;

	for (;;) {
		while ((r = vlc_next(f->conn, &reply)) > 0) {
			r = stream_reply(f, &reply, &status);
			vlc_reply_release(&reply);
			if (r) {
				flush_output(&f->out);
				return status;
			}
		}
		if (r < 0)
			return stream_broken(f, r);
		flush_output(&f->out);

		timeout = stop_at < 0 ? -1 : (int)(stop_at - now_ms());
		if (stop_at >= 0 && timeout <= 0) {
			stop_at = -1;
			if (!stopping)
				stream_stop_session(f->link, f->session);
			stopping = true;
			continue;
		}
		/* A signal interrupts it; the pipe then tells which. */
		while (poll(p, 3, timeout) < 0) {
			if (errno != EINTR) {
				ctl_error(-errno, "poll: %m");
				return KTAPCTL_EXIT_FAILURE;
			}
			timeout = 0;
		}
		if (signals_pending()) {
			if (!f->stop_on_signal) {
				ctl_error(0, "detached from session %s at "
					     "cursor %lld",
					  f->session, (long long)f->out.cursor);
				return KTAPCTL_EXIT_OK;
			}
			if (stopping) {
				ctl_error(0, "interrupted; session %s may "
					     "still be ending",
					  f->session);
				return KTAPCTL_EXIT_INTERRUPTED;
			}
			stopping = true;
			stream_stop_session(f->link, f->session);
		}
		if (p[2].revents & POLLIN) {
			/* Poll it no more; the end is the daemon's to send. */
			p[2].fd = -1;
			if (!stopping)
				stop_at = now_ms() + WORKLOAD_END_GRACE_MS;
		}
		if (p[0].revents) {
			r = vlc_fill(f->conn);
			if (r <= 0)
				return stream_broken(f, r ? r : -ECONNRESET);
		}
	}
}
