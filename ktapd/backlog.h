/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A session's output backlog: the newest records of its output, numbered
 * from 0 in order (seq), within a memory limit. Old records leave as new
 * ones arrive; readers keep their own cursor (the seq they want next).
 */
#ifndef KTAPD_BACKLOG_H
#define KTAPD_BACKLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A record costs its bytes plus this, so tiny records are bounded too. */
#define BACKLOG_RECORD_COST 64

struct backlog_record {
	uint64_t offset; /* bytes of output before this record */
	uint32_t len;
	char *data;
};

struct backlog {
	struct backlog_record *ring;
	size_t cap, head, count; /* ring[head] holds first_seq */
	uint64_t first_seq, next_seq;
	uint64_t next_offset; /* bytes of output so far */
	size_t bytes; /* data bytes held */
	size_t cost; /* bytes + BACKLOG_RECORD_COST per record */
	size_t limit; /* of cost; the newest record always stays */
};

void backlog_init(struct backlog *b, size_t limit);
void backlog_done(struct backlog *b);
/* Append one record (a copy of data); evicts the oldest beyond the limit. */
int backlog_append(struct backlog *b, const char *data, size_t len);
/* The record seq, or NULL when it is not (or no longer) held. */
const struct backlog_record *backlog_get(const struct backlog *b,
					 uint64_t seq);
/*
 * The output offset where record seq starts, when known: for held records
 * and next_seq, and seq 0 (offset 0).
 */
bool backlog_offset(const struct backlog *b, uint64_t seq, uint64_t *offset);

#endif /* KTAPD_BACKLOG_H */
