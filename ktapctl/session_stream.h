/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Following a session's output stream (Submit or Attach with "more"):
 * writing its records as they arrive, saying what was missed, and ending
 * it, or detaching from it, on Ctrl-C or SIGTERM.
 */
#ifndef KTAPCTL_SESSION_STREAM_H
#define KTAPCTL_SESSION_STREAM_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "client.h"

struct stream_out {
	FILE *f; /* where the records go; NULL: nowhere */
	bool json; /* each reply as one JSON line on stdout instead */
	bool timestamps; /* -T: the time before each line */
	bool at_line_start;
	int64_t cursor; /* the seq of the next record */
};

/* Write a Record's bytes; a negative errno (reported) if it is bad. */
int stream_write_record(struct stream_out *o, json_object *record);
/* Tell the user about a Missed reply (on stderr). */
void stream_report_missed(struct stream_out *o, json_object *missed);

struct follow {
	struct vlc *conn; /* the stream; its first reply already read */
	struct client_link *link; /* for calls beside the stream */
	const char *session; /* its id, for Stop */
	bool stop_on_signal; /* Ctrl-C stops the session (run), or detaches */
	int workload_pidfd; /* -- cmd: stop when it has exited; -1: none */
	bool stopping; /* stream_stop_session() was called already */
	bool reconnect; /* a broken stream is not an error: lost says so */
	bool lost;
	struct stream_out out;
};

/*
 * From here on, SIGINT and SIGTERM are noted for follow_stream() instead
 * of ending the process (call it before submitting, so that a Ctrl-C
 * during start-up still stops the session properly).
 */
int stream_catch_signals(void);

/* Wait ms milliseconds; true if SIGINT or SIGTERM came meanwhile. */
bool sleep_or_signal(int64_t ms);

/*
 * Stop the session from the link's control connection. A stream following
 * it then brings the rest of the output (trace_end's) and the end.
 */
void stream_stop_session(struct client_link *link, const char *session);

/*
 * Follow the stream to its end. Returns the exit status: the session's
 * (0, exit(n), 3 after a runtime error), 0 after detaching,
 * KTAPCTL_EXIT_INTERRUPTED after a second signal, or a failure (with
 * reconnect, a broken connection sets lost instead of reporting).
 */
int follow_stream(struct follow *f);

#endif /* KTAPCTL_SESSION_STREAM_H */
