// SPDX-License-Identifier: GPL-2.0
/* The output mux: one reader per streaming call, each with its cursor. */
#include <errno.h>
#include <stdlib.h>

#include "attach.h"
#include "wire.h"

struct attachment {
	struct session_reader reader;
	struct session *session; /* a reference */
	struct vl_call *call;
	uint64_t cursor; /* the next record to send */
	uint64_t offset; /* output bytes before cursor, if offset_known */
	bool offset_known;
	bool follow;
	uint64_t until; /* !follow: the end of the stream */
	bool pumping;
};

static void attachment_free(struct attachment *a)
{
	session_del_reader(a->session, &a->reader);
	session_unref(a->session);
	free(a);
}

static int attachment_finish(struct attachment *a)
{
	struct session *s = a->session;
	json_object *p = json_object_new_object();
	struct vl_call *call = a->call;

	if (s->state == SESSION_ENDED)
		json_object_object_add(p, "end", wire_end(s));
	json_object_object_add(p, "cursor",
			       json_object_new_int64((int64_t)a->cursor));
	attachment_free(a);
	return vl_reply(call, p);
}

/*
 * Send what the client may take now. Stops at a congested queue (the drain
 * hook resumes) or at a failed send (the connection's close cancels us).
 */
static void attachment_pump(struct attachment *a)
{
	const struct backlog *b = &a->session->backlog;
	uint64_t end;
	int r = 0;

	if (a->pumping)
		return;
	a->pumping = true;
	for (;;) {
		end = a->follow || a->until > b->next_seq ? b->next_seq :
							     a->until;
		if (a->cursor >= end || r < 0 || vl_call_congested(a->call))
			break;
		if (a->cursor < b->first_seq) {
			const uint64_t *offset =
				a->offset_known ? &a->offset : NULL;
			json_object *missed = wire_missed(b, a->cursor, offset);

			r = vl_notify(a->call, wire_wrap("missed", missed));
			a->cursor = b->first_seq;
			a->offset = backlog_get(b, a->cursor)->offset;
			a->offset_known = true;
		} else {
			const struct backlog_record *rec =
				backlog_get(b, a->cursor);

			r = vl_notify(a->call,
				      wire_wrap("record",
						wire_record(a->cursor, rec)));
			a->cursor++;
			a->offset += rec->len;
		}
	}
	a->pumping = false;
	if (r >= 0 && a->cursor >= end &&
	    (!a->follow || a->session->state == SESSION_ENDED))
		attachment_finish(a);
}

static void attachment_wake(struct session_reader *r)
{
	attachment_pump(container_of(r, struct attachment, reader));
}

static void attachment_drain(struct vl_call *call, void *data)
{
	attachment_pump(data);
}

static void attachment_cancel(struct vl_call *call, void *data)
{
	attachment_free(data);
}

int attach_start(struct session *s, struct vl_call *call, uint64_t cursor,
		 bool follow)
{
	struct attachment *a = calloc(1, sizeof(*a));

	if (!a)
		return -ENOMEM;
	a->reader.wake = attachment_wake;
	a->session = session_ref(s);
	a->call = call;
	a->cursor = cursor;
	a->offset_known = backlog_offset(&s->backlog, cursor, &a->offset);
	a->follow = follow;
	a->until = s->backlog.next_seq;
	session_add_reader(s, &a->reader);
	vl_call_hold(call, attachment_drain, attachment_cancel, a);
	/* Counted among the session's clients in its own first reply. */
	if (vl_notify(call, wire_wrap("session", wire_session(s))) < 0)
		return 0; /* the connection's close cancels the attachment */
	attachment_pump(a);
	return 0;
}
