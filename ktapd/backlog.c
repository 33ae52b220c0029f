// SPDX-License-Identifier: GPL-2.0
/* A session's output backlog: a ring of records bounded by memory. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "backlog.h"

void backlog_init(struct backlog *b, size_t limit)
{
	*b = (struct backlog){ .limit = limit };
}

static struct backlog_record *ring_at(const struct backlog *b, size_t i)
{
	return &b->ring[(b->head + i) % b->cap];
}

void backlog_done(struct backlog *b)
{
	size_t i;

	for (i = 0; i < b->count; i++)
		free(ring_at(b, i)->data);
	free(b->ring);
	backlog_init(b, b->limit);
}

static void backlog_drop_oldest(struct backlog *b)
{
	struct backlog_record *r = ring_at(b, 0);

	b->bytes -= r->len;
	b->cost -= r->len + BACKLOG_RECORD_COST;
	free(r->data);
	b->head = (b->head + 1) % b->cap;
	b->count--;
	b->first_seq++;
}

/* Double the ring, unrolling it so the oldest record is at index 0. */
static int backlog_grow(struct backlog *b)
{
	size_t cap = b->cap ? b->cap * 2 : 64, i;
	struct backlog_record *ring = malloc(cap * sizeof(*ring));

	if (!ring)
		return -ENOMEM;
	for (i = 0; i < b->count; i++)
		ring[i] = *ring_at(b, i);
	free(b->ring);
	b->ring = ring;
	b->cap = cap;
	b->head = 0;
	return 0;
}

int backlog_append(struct backlog *b, const char *data, size_t len)
{
	struct backlog_record *r;
	char *copy;
	int ret;

	copy = malloc(len ? len : 1);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, data, len);
	if (b->count == b->cap) {
		ret = backlog_grow(b);
		if (ret < 0) {
			free(copy);
			return ret;
		}
	}
	r = &b->ring[(b->head + b->count) % b->cap];
	*r = (struct backlog_record){
		.offset = b->next_offset,
		.len = (uint32_t)len,
		.data = copy,
	};
	b->count++;
	b->next_seq++;
	b->next_offset += len;
	b->bytes += len;
	b->cost += len + BACKLOG_RECORD_COST;
	while (b->cost > b->limit && b->count > 1)
		backlog_drop_oldest(b);
	return 0;
}

const struct backlog_record *backlog_get(const struct backlog *b, uint64_t seq)
{
	if (seq < b->first_seq || seq >= b->next_seq)
		return NULL;
	return ring_at(b, (size_t)(seq - b->first_seq));
}

bool backlog_offset(const struct backlog *b, uint64_t seq, uint64_t *offset)
{
	const struct backlog_record *r = backlog_get(b, seq);

	if (r)
		*offset = r->offset;
	else if (seq == b->next_seq)
		*offset = b->next_offset;
	else if (seq == 0)
		*offset = 0;
	else
		return false;
	return true;
}
