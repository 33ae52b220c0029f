// SPDX-License-Identifier: GPL-2.0
/* Tracepoints as both engines resolve them (see tpevent.h). */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "tpevent.h"
#include "tracefs.h"

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

static int for_each_event(char *item,
			  int (*event)(void *ctx, const char *sys,
				       const char *name),
			  void *ctx, char *err, size_t errlen)
{
	char *colon = strchr(item, ':');
	int r;

	if (!colon || !colon[1] || colon == item) {
		snprintf(err, errlen, "event '%s': expected SYSTEM:EVENT",
			 item);
		return -EINVAL;
	}
	if (!tracefs_root()) {
		snprintf(err, errlen,
			 "event '%s': tracefs is not mounted (mount -t "
			 "tracefs nodev /sys/kernel/tracing)",
			 item);
		return -ENOENT;
	}
	*colon = '\0';
	err[0] = '\0';
	r = tracefs_for_each_event(item, colon + 1, event, ctx);
	*colon = ':';
	if (r == 0) {
		snprintf(err, errlen, "event '%s' not found", item);
		return -ENOENT;
	}
	if (r < 0 && !err[0])
		snprintf(err, errlen, "event '%s': %s", item, strerror(-r));
	return r < 0 ? r : 0;
}

int tp_spec_for_each(const char *spec,
		     int (*other)(void *ctx, const char *item),
		     int (*event)(void *ctx, const char *sys, const char *name),
		     void *ctx, char *err, size_t errlen)
{
	_cleanup_free_ char *copy = strdup(spec);
	char *item, *save = NULL;
	int r;

	if (!copy)
		return -ENOMEM;
	for (item = strtok_r(copy, ",", &save); item;
	     item = strtok_r(NULL, ",", &save)) {
		item = trim(item);
		r = other(ctx, item);
		if (r == 0)
			r = for_each_event(item, event, ctx, err, errlen);
		if (r < 0)
			return r;
	}
	return 0;
}

int tp_event_get(struct tep_handle *tep, const char *sys, const char *name,
		 struct tep_event **out, char *err, size_t errlen)
{
	struct tep_event *tev = tep_find_event_by_name(tep, sys, name);
	_cleanup_free_ char *fmt = NULL;
	char path[512];
	size_t len;
	int r;

	if (tev) {
		*out = tev;
		return 0;
	}
	snprintf(path, sizeof(path), "events/%s/%s/format", sys, name);
	r = tracefs_read(path, &fmt, &len);
	if (r < 0) {
		snprintf(err, errlen, "event '%s:%s': cannot read %s: %s", sys,
			 name, path, strerror(-r));
		return r;
	}
	if (tep_parse_event(tep, fmt, len, sys) != 0 ||
	    !(tev = tep_find_event_by_name(tep, sys, name))) {
		snprintf(err, errlen, "event '%s:%s': cannot parse its format",
			 sys, name);
		return -EINVAL;
	}
	*out = tev;
	return 0;
}

static bool is_number_size(unsigned int size)
{
	return size == 1 || size == 2 || size == 4 || size == 8;
}

int tp_fields(const struct tep_event *tev, struct tp_field *f, int max)
{
	const struct tep_format_field *ff;
	unsigned int i;
	int n = 0;

	for (ff = tev->format.fields; ff && n < max; ff = ff->next) {
		bool is_signed = ff->flags & TEP_FIELD_IS_SIGNED;

		if (ff->flags & TEP_FIELD_IS_DYNAMIC) {
			f[n++] = (struct tp_field){
				.offset = (uint32_t)ff->offset, .size = 4,
				/* __rel_loc counts from the field's end */
				.kind = (ff->flags & (TEP_FIELD_IS_STRING |
						      TEP_FIELD_IS_RELATIVE)) ==
							TEP_FIELD_IS_STRING ?
						TP_FIELD_STRING : TP_FIELD_OTHER
			};
		} else if (ff->flags & TEP_FIELD_IS_ARRAY &&
			   !(ff->flags & TEP_FIELD_IS_STRING) &&
			   is_number_size(ff->elementsize)) {
			for (i = 0; i < ff->arraylen && n < max; i++)
				f[n++] = (struct tp_field){
					.offset = ff->offset +
						  i * ff->elementsize,
					.size = ff->elementsize,
					.is_signed = is_signed,
					.kind = TP_FIELD_NUMBER
				};
		} else {
			bool num = !(ff->flags & (TEP_FIELD_IS_ARRAY |
						  TEP_FIELD_IS_STRING)) &&
				   is_number_size((unsigned int)ff->size);
			bool chars = (ff->flags & (TEP_FIELD_IS_ARRAY |
						   TEP_FIELD_IS_STRING)) ==
					     (TEP_FIELD_IS_ARRAY |
					      TEP_FIELD_IS_STRING) &&
				     ff->elementsize == 1;

			f[n++] = (struct tp_field){
				.offset = (uint32_t)ff->offset,
				.size = (uint32_t)ff->size,
				.is_signed = is_signed,
				.kind = num ? TP_FIELD_NUMBER :
				       chars ? TP_FIELD_CHARS : TP_FIELD_OTHER
			};
		}
	}
	return n;
}
