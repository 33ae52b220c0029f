/* SPDX-License-Identifier: GPL-2.0 */
/* The JSON forms of io.ktap's types (proto/io.ktap.varlink). */
#ifndef KTAPD_WIRE_H
#define KTAPD_WIRE_H

#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>

#include "session.h"

json_object *wire_session(const struct session *s);
json_object *wire_session_stats(const struct session *s);
json_object *wire_record(uint64_t seq, const struct backlog_record *r);
/*
 * What a reader at cursor (before first_seq) lost: offset is the output
 * offset at its cursor, or NULL when not known (then no byte count).
 */
json_object *wire_missed(const struct backlog *b, uint64_t cursor,
			 const uint64_t *offset);
json_object *wire_end(const struct session *s);
/* {"key": value}: the form of every stream reply. */
json_object *wire_wrap(const char *key, json_object *value);

#endif /* KTAPD_WIRE_H */
