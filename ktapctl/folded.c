// SPDX-License-Identifier: GPL-2.0
/* Stack tables as folded stacks for flame graphs (see folded.h). */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "folded.h"
#include "ktapctl.h"

struct folded_line {
	char *stack;
	int64_t count;
};

struct folded {
	struct folded_line *lines;
	size_t n, cap;
};

/* The length of frame f[0..len) without a trailing "+0x<hex>". */
static size_t frame_len(const char *f, size_t len)
{
	size_t i = len;

	while (i > 0 && isxdigit((unsigned char)f[i - 1]))
		i--;
	if (i < len && i > 3 && !memcmp(f + i - 3, "+0x", 3))
		return i - 3;
	return len;
}

/* key's frames, the outermost first, joined by ';'. */
static char *fold_key(const char *key)
{
	size_t klen = strlen(key), len = 0, n, i;
	const char *end = key + klen, *start;
	char *out = malloc(klen + sizeof("[unknown]")), c;

	if (!out)
		return NULL;
	/* Frames from the last line (the outermost) back to the first. */
	while (end > key) {
		start = end;
		while (start > key && start[-1] != '\n')
			start--;
		n = frame_len(start, (size_t)(end - start));
		if (n) {
			if (len)
				out[len++] = ';';
			/* flamegraph.pl splits at ';' and the last ' ' */
			for (i = 0; i < n; i++) {
				c = start[i];
				out[len++] = c == ' ' || c == ';' ? '_' : c;
			}
		}
		end = start > key ? start - 1 : key;
	}
	if (!len) {
		strcpy(out, "[unknown]");
		return out;
	}
	out[len] = '\0';
	return out;
}

static int add_table(struct folded *f, json_object *t)
{
	struct folded_line *nl;
	int64_t count;

	json_object_object_foreach(t, key, val)
	{
		if (!json_object_is_type(val, json_type_int))
			continue;
		count = json_object_get_int64(val);
		if (count <= 0)
			continue;
		if (f->n == f->cap) {
			f->cap = f->cap ? f->cap * 2 : 256;
			nl = realloc(f->lines, f->cap * sizeof(*nl));
			if (!nl)
				return -ENOMEM;
			f->lines = nl;
		}
		f->lines[f->n].stack = fold_key(key);
		if (!f->lines[f->n].stack)
			return -ENOMEM;
		f->lines[f->n++].count = count;
	}
	return 0;
}

static int line_cmp(const void *a, const void *b)
{
	return strcmp(((const struct folded_line *)a)->stack,
		      ((const struct folded_line *)b)->stack);
}

static int add_tables(struct folded *f, json_object *globals,
		      const char *table)
{
	json_object *t;
	int r;

	if (table) {
		if (!json_object_object_get_ex(globals, table, &t) ||
		    !json_object_is_type(t, json_type_object))
			return -ENOENT;
		return add_table(f, t);
	}
	json_object_object_foreach(globals, name, val)
	{
		(void)name;
		if (!json_object_is_type(val, json_type_object))
			continue;
		r = add_table(f, val);
		if (r < 0)
			return r;
	}
	return 0;
}

int folded_print(json_object *globals, const char *table, FILE *out)
{
	struct folded f = { 0 };
	size_t i, j;
	int64_t sum;
	int r;

	r = add_tables(&f, globals, table);
	if (r == 0 && f.n) {
		qsort(f.lines, f.n, sizeof(*f.lines), line_cmp);
		for (i = 0; i < f.n; i = j) {
			sum = 0;
			for (j = i; j < f.n && !strcmp(f.lines[j].stack,
						       f.lines[i].stack);
			     j++)
				sum += f.lines[j].count;
			fprintf(out, "%s %" PRId64 "\n", f.lines[i].stack, sum);
		}
	}
	for (i = 0; i < f.n; i++)
		free(f.lines[i].stack);
	free(f.lines);
	return r;
}

int folded_report(json_object *globals, const char *table, FILE *out)
{
	int r = folded_print(globals, table, out);

	if (r == -ENOENT)
		ctl_error(r, "there is no global table '%s'", table);
	else if (r < 0)
		ctl_error(r, "out of memory");
	return r < 0 ? KTAPCTL_EXIT_FAILURE : KTAPCTL_EXIT_OK;
}
