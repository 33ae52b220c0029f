// SPDX-License-Identifier: GPL-2.0
/*
 * The session arena: a two-level segregated fit allocator (TLSF, Masmano et
 * al.) over the memory the host reserved for a session. Allocation and
 * free are O(1): free blocks sit in lists by size class, two bitmaps find
 * the first non-empty class that fits, and a freed block merges at once
 * with free neighbours (boundary tags), so fragmentation stays bounded and
 * freed memory serves any later size.
 *
 * Block layout (every block address is 16-byte aligned):
 *
 *   b + 0    prev_size   size of the previous block, valid only while that
 *                        block is free (it is its last word: its footer)
 *   b + 8    size        this block's span | KA_FREE | KA_PREV_FREE
 *   b + 16   payload     (free blocks: next_free, prev_free)
 *
 * A block's span runs from its size word to the next block's size word,
 * so a used block's payload also covers the next block's prev_size word:
 * the overhead of a used block is 8 bytes.
 */
#include "kp_arena.h"

#define KA_ALIGN 16u
#define KA_SL_LOG 4 /* 16 second-level classes per power of two */
#define KA_SL_COUNT (1u << KA_SL_LOG)
#define KA_FL_SHIFT 8 /* below 256 bytes, classes are 16 bytes apart */
#define KA_SMALL ((kp_size_t)1 << KA_FL_SHIFT)
#define KA_FL_MAX 40 /* largest block: below 2^40 bytes */
#define KA_FL_COUNT (KA_FL_MAX - KA_FL_SHIFT + 1)
#define KA_MIN_BLOCK 32u /* size word, two links, footer */
#define KA_MAX_BLOCK (((kp_size_t)1 << KA_FL_MAX) - KA_ALIGN)

#define KA_FREE ((kp_size_t)1)
#define KA_PREV_FREE ((kp_size_t)2)
#define KA_FLAGS (KA_FREE | KA_PREV_FREE)

struct ka_block {
	kp_size_t prev_size;
	kp_size_t size;
	struct ka_block *next_free, *prev_free;
};

struct kp_arena {
	kp_size_t quota, in_use, peak;
	kp_u32 fl_bitmap;
	kp_u32 sl_bitmap[KA_FL_COUNT];
	struct ka_block *heads[KA_FL_COUNT][KA_SL_COUNT];
};

static inline kp_uintptr_t ka_align(kp_uintptr_t p)
{
	return (p + KA_ALIGN - 1) & ~(kp_uintptr_t)(KA_ALIGN - 1);
}

static inline kp_size_t ka_size(const struct ka_block *b)
{
	return b->size & ~KA_FLAGS;
}

static inline struct ka_block *ka_next(const struct ka_block *b)
{
	return (struct ka_block *)((char *)b + ka_size(b));
}

static inline int ka_fls(kp_size_t x)
{
	return 63 - __builtin_clzll((unsigned long long)x);
}

/* The class (fl, sl) whose blocks all have sizes in [s, next class). */
static void ka_mapping(kp_size_t s, unsigned int *fl, unsigned int *sl)
{
	int f;

	if (s < KA_SMALL) {
		*fl = 0;
		*sl = (unsigned int)(s / KA_ALIGN);
		return;
	}
	f = ka_fls(s);
	*sl = (unsigned int)(s >> (f - KA_SL_LOG)) ^ KA_SL_COUNT;
	*fl = (unsigned int)(f - KA_FL_SHIFT + 1);
}

static void ka_insert(struct kp_arena *a, struct ka_block *b)
{
	unsigned int fl, sl;
	struct ka_block *head;

	ka_mapping(ka_size(b), &fl, &sl);
	head = a->heads[fl][sl];
	b->prev_free = NULL;
	b->next_free = head;
	if (head)
		head->prev_free = b;
	a->heads[fl][sl] = b;
	a->fl_bitmap |= 1u << fl;
	a->sl_bitmap[fl] |= 1u << sl;
}

static void ka_remove(struct kp_arena *a, struct ka_block *b)
{
	unsigned int fl, sl;

	ka_mapping(ka_size(b), &fl, &sl);
	if (b->next_free)
		b->next_free->prev_free = b->prev_free;
	if (b->prev_free) {
		b->prev_free->next_free = b->next_free;
		return;
	}
	a->heads[fl][sl] = b->next_free;
	if (!b->next_free) {
		a->sl_bitmap[fl] &= ~(1u << sl);
		if (!a->sl_bitmap[fl])
			a->fl_bitmap &= ~(1u << fl);
	}
}

/* The first block in the first non-empty class at or above s's class. */
static struct ka_block *ka_find_class(struct kp_arena *a, kp_size_t s)
{
	unsigned int fl, sl, map;

	ka_mapping(s, &fl, &sl);
	if (fl >= KA_FL_COUNT)
		return NULL;
	map = a->sl_bitmap[fl] & (~0u << sl);
	if (!map) {
		map = fl + 1 < 32 ? a->fl_bitmap & (~0u << (fl + 1)) : 0;
		if (!map)
			return NULL;
		fl = (unsigned int)__builtin_ctz(map);
		map = a->sl_bitmap[fl];
	}
	sl = (unsigned int)__builtin_ctz(map);
	return a->heads[fl][sl];
}

/*
 * A free block of at least s bytes. The request is rounded up to the next
 * class boundary first, so that any block of the class found fits; when
 * nothing is found that way, the blocks of s's own class may still hold
 * one that fits (the last big block of a nearly full arena).
 */
static struct ka_block *ka_find(struct kp_arena *a, kp_size_t s)
{
	struct ka_block *b;
	unsigned int fl, sl;

	if (s < KA_SMALL)
		return ka_find_class(a, s);
	b = ka_find_class(a, s + ((kp_size_t)1 << (ka_fls(s) - KA_SL_LOG)) - 1);
	if (b)
		return b;
	ka_mapping(s, &fl, &sl);
	if (fl >= KA_FL_COUNT)
		return NULL;
	for (b = a->heads[fl][sl]; b && ka_size(b) < s; b = b->next_free)
		;
	return b;
}

struct kp_arena *kp_arena_init(void *mem, kp_size_t size)
{
	kp_uintptr_t start = (kp_uintptr_t)mem, end = start + size;
	kp_uintptr_t first, last;
	struct kp_arena *a;
	struct ka_block *b, *sentinel;

	if (end < start)
		return NULL;
	a = (struct kp_arena *)ka_align(start);
	first = ka_align((kp_uintptr_t)(a + 1));
	/* The sentinel needs its prev_size and size words. */
	if (end < first + KA_MIN_BLOCK + 16)
		return NULL;
	last = (end - 16) & ~(kp_uintptr_t)(KA_ALIGN - 1);
	if (last - first > KA_MAX_BLOCK)
		last = first + KA_MAX_BLOCK;
	kp_memset(a, 0, sizeof(*a));
	a->quota = size;

	b = (struct ka_block *)first;
	b->prev_size = 0;
	b->size = (last - first) | KA_FREE;
	sentinel = (struct ka_block *)last;
	sentinel->prev_size = last - first;
	sentinel->size = KA_PREV_FREE; /* zero-sized, never free */
	ka_insert(a, b);
	return a;
}

void *kp_arena_alloc(struct kp_arena *a, kp_size_t n)
{
	struct ka_block *b, *rest;
	kp_size_t s, bs;

	if (n > KA_MAX_BLOCK - 2 * KA_ALIGN)
		return NULL;
	s = (n + 8 + KA_ALIGN - 1) & ~(kp_size_t)(KA_ALIGN - 1);
	if (s < KA_MIN_BLOCK)
		s = KA_MIN_BLOCK;
	b = ka_find(a, s);
	if (!b)
		return NULL;
	ka_remove(a, b);
	bs = ka_size(b);
	if (bs - s >= KA_MIN_BLOCK) {
		/* Split: the rest stays free; its successor keeps PREV_FREE. */
		rest = (struct ka_block *)((char *)b + s);
		rest->size = (bs - s) | KA_FREE;
		ka_next(rest)->prev_size = bs - s;
		ka_insert(a, rest);
		b->size = s;
	} else {
		s = bs;
		b->size = s;
		ka_next(b)->size &= ~KA_PREV_FREE;
	}
	a->in_use += s;
	if (a->in_use > a->peak)
		a->peak = a->in_use;
	return (char *)b + 16;
}

void kp_arena_free(struct kp_arena *a, void *p)
{
	struct ka_block *b, *next, *prev;
	kp_size_t s;

	if (!p)
		return;
	b = (struct ka_block *)((char *)p - 16);
	s = ka_size(b);
	a->in_use -= s;
	next = ka_next(b);
	if (next->size & KA_FREE) {
		ka_remove(a, next);
		s += ka_size(next);
	}
	if (b->size & KA_PREV_FREE) {
		prev = (struct ka_block *)((char *)b - b->prev_size);
		ka_remove(a, prev);
		s += ka_size(prev);
		b = prev;
	}
	/* Two free blocks are never neighbours: b's predecessor is in use. */
	b->size = s | KA_FREE;
	next = ka_next(b);
	next->prev_size = s;
	next->size |= KA_PREV_FREE;
	ka_insert(a, b);
}

kp_size_t kp_arena_quota(const struct kp_arena *a)
{
	return a->quota;
}

kp_size_t kp_arena_in_use(const struct kp_arena *a)
{
	return a->in_use;
}

kp_size_t kp_arena_peak(const struct kp_arena *a)
{
	return a->peak;
}
