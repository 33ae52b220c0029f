// SPDX-License-Identifier: GPL-2.0
/*
 * The program's memory and lookup tables. Allocations are chained to the
 * program so that a compile error (a longjmp out of any depth of the
 * parser) loses nothing: kpc_prog_free() releases them all.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "prog.h"

struct kpc_mblock {
	struct kpc_mblock *prev, *next;
	max_align_t data[];
};

struct kpc_prog *kpc_prog_new(const char *chunkname, FILE *errf)
{
	struct kpc_prog *P = calloc(1, sizeof(*P));

	if (!P)
		return NULL;
	P->chunkname = chunkname;
	P->errf = errf;
	return P;
}

void kpc_prog_free(struct kpc_prog *P)
{
	struct kpc_mblock *b, *next;

	if (!P)
		return;
	for (b = P->mem; b; b = next) {
		next = b->next;
		free(b);
	}
	free(P);
}

void kpc_prog_fail(struct kpc_prog *P, int status)
{
	P->status = status;
	longjmp(P->fail, 1);
}

static struct kpc_mblock *block_of(void *p)
{
	return (struct kpc_mblock *)((char *)p -
				     offsetof(struct kpc_mblock, data));
}

static void *link_block(struct kpc_prog *P, struct kpc_mblock *b)
{
	b->prev = NULL;
	b->next = P->mem;
	if (P->mem)
		P->mem->prev = b;
	P->mem = b;
	return b->data;
}

void *kpc_alloc(struct kpc_prog *P, size_t size)
{
	struct kpc_mblock *b;

	if (size > SIZE_MAX / 2)
		kpc_prog_fail(P, -ENOMEM);
	b = calloc(1, sizeof(*b) + size);
	if (!b)
		kpc_prog_fail(P, -ENOMEM);
	return link_block(P, b);
}

void *kpc_realloc(struct kpc_prog *P, void *p, size_t size)
{
	struct kpc_mblock *b, *nb;

	if (!p)
		return kpc_alloc(P, size);
	if (size > SIZE_MAX / 2)
		kpc_prog_fail(P, -ENOMEM);
	b = block_of(p);
	/* Unlink first: realloc may move the block. */
	if (b->prev)
		b->prev->next = b->next;
	else
		P->mem = b->next;
	if (b->next)
		b->next->prev = b->prev;
	nb = realloc(b, sizeof(*nb) + size);
	if (!nb) {
		link_block(P, b);
		kpc_prog_fail(P, -ENOMEM);
	}
	return link_block(P, nb);
}

char *kpc_strdup(struct kpc_prog *P, const char *s, size_t len)
{
	char *d = kpc_alloc(P, len + 1);

	memcpy(d, s, len);
	return d;
}

void *kpc_grow_array(struct kpc_prog *P, void *arr, int *cap, size_t elem)
{
	size_t n = *cap < 8 ? 8 : (size_t)*cap * 2;

	if (n > INT32_MAX / 2)
		kpc_prog_fail(P, -ENOMEM);
	arr = kpc_realloc(P, arr, n * elem);
	*cap = (int)n;
	return arr;
}

/* FNV-1a */
static uint32_t hash_bytes(const void *key, size_t len)
{
	const unsigned char *p = key;
	uint32_t h = 2166136261u;

	while (len--)
		h = (h ^ *p++) * 16777619u;
	return h;
}

static struct kpc_map_slot *find_slot(struct kpc_map_slot *slots,
				      uint32_t size, const void *key,
				      size_t len, uint32_t h)
{
	uint32_t i = h & (size - 1);

	for (;; i = (i + 1) & (size - 1)) {
		struct kpc_map_slot *s = &slots[i];

		if (!s->key || (s->hash == h && s->len == len &&
				!memcmp(s->key, key, len)))
			return s;
	}
}

int kpc_map_get(const struct kpc_map *m, const void *key, size_t len)
{
	struct kpc_map_slot *s;

	if (!m->size)
		return -1;
	s = find_slot(m->slots, m->size, key, len, hash_bytes(key, len));
	return s->key ? s->value : -1;
}

void kpc_map_put(struct kpc_prog *P, struct kpc_map *m, const void *key,
		 size_t len, int value)
{
	uint32_t h = hash_bytes(key, len);
	struct kpc_map_slot *s;

	/* Keep the load under one half. */
	if (2 * (m->count + 1) > m->size) {
		uint32_t size = m->size ? 2 * m->size : 16, i;
		struct kpc_map_slot *slots =
			kpc_alloc(P, size * sizeof(*slots));

		for (i = 0; i < m->size; i++) {
			struct kpc_map_slot *o = &m->slots[i];

			if (o->key)
				*find_slot(slots, size, o->key, o->len,
					   o->hash) = *o;
		}
		m->slots = slots;
		m->size = size;
	}
	s = find_slot(m->slots, m->size, key, len, h);
	s->key = key;
	s->len = len;
	s->hash = h;
	s->value = value;
	m->count++;
}
