// SPDX-License-Identifier: GPL-2.0
/* The JSON forms of io.ktap's types: sessions, counters, records, ends. */
#include <stdlib.h>

#include "kp_base64.h"
#include "wire.h"

static void add_int(json_object *o, const char *key, int64_t v)
{
	json_object_object_add(o, key, json_object_new_int64(v));
}

static void add_str(json_object *o, const char *key, const char *v)
{
	json_object_object_add(o, key, json_object_new_string(v));
}

json_object *wire_session(const struct session *s)
{
	json_object *o = json_object_new_object();

	add_int(o, "id", (int64_t)s->id);
	if (s->name)
		add_str(o, "name", s->name);
	add_int(o, "owner_uid", s->owner);
	add_str(o, "state", s->state == SESSION_RUNNING ? "running" : "ended");
	json_object_object_add(o, "keep", json_object_new_boolean(s->keep));
	add_str(o, "engine", s->engine->name);
	add_str(o, "script", s->script);
	add_int(o, "started_usec", (int64_t)s->started_usec);
	if (s->state == SESSION_RUNNING && s->es) {
		struct engine_stats st = { 0 };

		s->engine->stats(s->es, &st);
		add_int(o, "probes", st.nprobes);
	}
	if (s->state == SESSION_ENDED) {
		add_int(o, "ended_usec", (int64_t)s->ended_usec);
		add_int(o, "exit_status", s->exit_status);
		if (s->error)
			add_str(o, "error", s->error);
	}
	if (s->restores) {
		add_int(o, "restores", s->restores);
		add_int(o, "restored_usec", (int64_t)s->restored_usec);
	}
	add_int(o, "clients", s->nreaders);
	add_int(o, "first_seq", (int64_t)s->backlog.first_seq);
	add_int(o, "next_seq", (int64_t)s->backlog.next_seq);
	return o;
}

json_object *wire_session_stats(const struct session *s)
{
	json_object *o = json_object_new_object();
	struct engine_stats st = { 0 };

	if (s->es)
		s->engine->stats(s->es, &st);
	add_int(o, "events", (int64_t)st.events);
	add_int(o, "lost", (int64_t)st.lost);
	add_int(o, "mem_used", (int64_t)st.mem_used);
	add_int(o, "mem_peak", (int64_t)st.mem_peak);
	add_int(o, "mem_quota", (int64_t)st.mem_quota);
	add_int(o, "cpu_nsec", (int64_t)st.cpu_ns);
	add_int(o, "probes", st.nprobes);
	add_int(o, "output_records", (int64_t)s->backlog.next_seq);
	add_int(o, "output_bytes", (int64_t)s->backlog.next_offset);
	add_int(o, "backlog_records", (int64_t)s->backlog.count);
	add_int(o, "backlog_bytes", (int64_t)s->backlog.bytes);
	add_int(o, "backlog_size", (int64_t)s->backlog.limit);
	return o;
}

/* Strict UTF-8: no overlongs, no surrogates, nothing above U+10FFFF. */
static bool utf8_valid(const unsigned char *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned char c = p[i];
		size_t len, k;
		uint32_t cp;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			len = 2;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			len = 3;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			len = 4;
			cp = c & 0x07;
		} else {
			return false;
		}
		if (i + len > n)
			return false;
		for (k = 1; k < len; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (p[i + k] & 0x3f);
		}
		if (len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff)))
			return false;
		if (len == 4 && (cp < 0x10000 || cp > 0x10ffff))
			return false;
		i += len;
	}
	return true;
}

json_object *wire_record(uint64_t seq, const struct backlog_record *r)
{
	json_object *o = json_object_new_object();

	add_int(o, "seq", (int64_t)seq);
	if (utf8_valid((const unsigned char *)r->data, r->len)) {
		json_object_object_add(o, "text",
				       json_object_new_string_len(r->data,
								  (int)r->len));
	} else {
		char *b64 = malloc(kp_base64_encoded_len(r->len) + 1);

		if (b64) {
			kp_base64_encode(r->data, r->len, b64);
			add_str(o, "base64", b64);
			free(b64);
		}
	}
	return o;
}

json_object *wire_missed(const struct backlog *b, uint64_t cursor,
			 const uint64_t *offset)
{
	json_object *o = json_object_new_object();

	add_int(o, "records", (int64_t)(b->first_seq - cursor));
	if (offset)
		add_int(o, "bytes", (int64_t)(backlog_get(b, b->first_seq)->offset -
					      *offset));
	return o;
}

json_object *wire_end(const struct session *s)
{
	json_object *o = json_object_new_object();

	add_int(o, "exit_status", s->exit_status);
	if (s->error)
		add_str(o, "error", s->error);
	return o;
}

json_object *wire_wrap(const char *key, json_object *value)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, key, value);
	return o;
}
