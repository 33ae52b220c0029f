/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ktapd's log: one line per message on stderr, with a <N> syslog level prefix
 * when stderr is the journal (under systemd). The *_errno variants format %m
 * from their error argument and return it negated, so a caller can write
 * `return log_error_errno(r, "Failed to bind %s: %m", path);`.
 */
#ifndef KTAPD_LOG_H
#define KTAPD_LOG_H

#include <syslog.h>

/* Detect the journal; messages above max_level (LOG_DEBUG...) are dropped. */
void log_setup(int max_level);

int log_internal(int level, int error, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define log_debug(...) log_internal(LOG_DEBUG, 0, __VA_ARGS__)
#define log_info(...) log_internal(LOG_INFO, 0, __VA_ARGS__)
#define log_notice(...) log_internal(LOG_NOTICE, 0, __VA_ARGS__)
#define log_warning(...) log_internal(LOG_WARNING, 0, __VA_ARGS__)
#define log_error(...) log_internal(LOG_ERR, 0, __VA_ARGS__)

#define log_debug_errno(e, ...) log_internal(LOG_DEBUG, (e), __VA_ARGS__)
#define log_info_errno(e, ...) log_internal(LOG_INFO, (e), __VA_ARGS__)
#define log_warning_errno(e, ...) log_internal(LOG_WARNING, (e), __VA_ARGS__)
#define log_error_errno(e, ...) log_internal(LOG_ERR, (e), __VA_ARGS__)

#endif /* KTAPD_LOG_H */
