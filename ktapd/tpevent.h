/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Tracepoints as both engines resolve them: a probe's spec split into
 * items, SYSTEM:EVENT globs matched against tracefs, formats parsed by
 * libtraceevent, and where arg0..arg9 live in a raw record. Shared so that
 * a spec names the same events, and argN the same field, whichever engine
 * runs the script (doc/engines.md).
 */
#ifndef KTAPD_TPEVENT_H
#define KTAPD_TPEVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <traceevent/event-parse.h>

#define TP_MAX_FIELDS 10

/*
 * For every item of spec (comma-separated, blanks trimmed): other(ctx,
 * item) first, which returns 1 when it took the item (a kprobe...), 0 to
 * treat it as SYSTEM:EVENT, or a negative errno with err set. SYSTEM:EVENT
 * items (fnmatch globs on both sides) call event(ctx, sys, name) per
 * matching tracefs event. Returns 0 or a negative errno with a one-line
 * message in err: "event 'sched:nope' not found" (-ENOENT), ...
 */
int tp_spec_for_each(const char *spec,
		     int (*other)(void *ctx, const char *item),
		     int (*event)(void *ctx, const char *sys, const char *name),
		     void *ctx, char *err, size_t errlen);

/* The event SYS:NAME in tep, its format read from tracefs if not yet. */
int tp_event_get(struct tep_handle *tep, const char *sys, const char *name,
		 struct tep_event **out, char *err, size_t errlen);

enum tp_field_kind {
	TP_FIELD_NUMBER, /* size 1, 2, 4 or 8 */
	TP_FIELD_STRING, /* __data_loc char[]: the 4-byte location word */
	TP_FIELD_CHARS, /* char name[size]: a string up to its NUL */
	TP_FIELD_OTHER, /* structs...: reads 0 */
};

struct tp_field {
	uint32_t offset, size;
	bool is_signed;
	enum tp_field_kind kind;
};

/*
 * argN is the Nth field after the common_ ones, in format-file order.
 * Numeric arrays count one field per element (raw_syscalls:sys_enter's
 * args[6] so become arg1..arg6, as for the per-syscall events). Fills at
 * most max entries of f; returns how many.
 */
int tp_fields(const struct tep_event *tev, struct tp_field *f, int max);

#endif /* KTAPD_TPEVENT_H */
