// SPDX-License-Identifier: GPL-2.0
/*
 * The session arena allocator (kmod/vm/arena.c): alignment, reuse after
 * free, coalescing, exhaustion as NULL (never a crash), any alignment of
 * the memory handed in, and a long random alloc/free mix checked against
 * a shadow of every live block.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kp_arena.h"
#include "unit.h"

#define SZ (1u << 20)

static unsigned char mem[SZ + 64] __attribute__((aligned(64)));

static void test_too_small(void)
{
	CHECK(kp_arena_init(mem, 16) == NULL);
	CHECK(kp_arena_init(mem, 0) == NULL);
}

static void test_alignment_and_reuse(void)
{
	int off;

	/* Any start address, any size: blocks stay 16-byte aligned. */
	for (off = 0; off < 16; off++) {
		struct kp_arena *a = kp_arena_init(mem + off, SZ - off);
		void *p[64];
		int i;

		CHECK(a != NULL);
		for (i = 0; i < 64; i++) {
			p[i] = kp_arena_alloc(a, (size_t)i * 7 + 1);
			CHECK(p[i] && ((uintptr_t)p[i] & 15) == 0);
			CHECK((unsigned char *)p[i] >= mem + off &&
			      (unsigned char *)p[i] + i * 7 + 1 <= mem + SZ);
			memset(p[i], 0xa5, (size_t)i * 7 + 1);
		}
		for (i = 0; i < 64; i += 2)
			kp_arena_free(a, p[i]);
		for (i = 1; i < 64; i += 2)
			kp_arena_free(a, p[i]);
		CHECK(kp_arena_in_use(a) == 0);
		CHECK(kp_arena_peak(a) > 0);
	}
}

static void test_exhaustion(void)
{
	struct kp_arena *a = kp_arena_init(mem, 64 * 1024);
	void *p[4096];
	int n = 0, i;
	void *big;

	CHECK(kp_arena_alloc(a, 1u << 20) == NULL); /* larger than all */
	CHECK(kp_arena_alloc(a, SIZE_MAX) == NULL);
	while (n < 4096 && (p[n] = kp_arena_alloc(a, 100)))
		n++;
	CHECK(n > 400 && n < 4096);
	CHECK(kp_arena_alloc(a, 100) == NULL);
	/* Everything back, merged: one big block fits again. */
	for (i = 0; i < n; i++)
		kp_arena_free(a, p[i]);
	CHECK(kp_arena_in_use(a) == 0);
	big = kp_arena_alloc(a, 56 * 1024);
	CHECK(big != NULL);
	kp_arena_free(a, big);
	kp_arena_free(a, NULL);
}

/* Freed small blocks coalesce and serve a different size class. */
static void test_coalesce(void)
{
	struct kp_arena *a = kp_arena_init(mem, 256 * 1024);
	void *p[8192], *q;
	int n = 0, i, m = 0;

	while (n < 8192 && (p[n] = kp_arena_alloc(a, 24)))
		n++;
	for (i = 0; i < n; i++)
		kp_arena_free(a, p[i]);
	while ((q = kp_arena_alloc(a, 1000)))
		m++;
	CHECK(m >= 240); /* ~256 KiB / 1 KiB: no memory lost to size classes */
}

struct shadow {
	unsigned char *p;
	size_t n;
	unsigned char tag;
};

/* Random mix; every live block keeps its contents and never overlaps. */
static void test_random(void)
{
	struct kp_arena *a = kp_arena_init(mem + 3, SZ - 3);
	static struct shadow live[2048];
	unsigned int seed = 12345, round;
	size_t j;

	memset(live, 0, sizeof(live));
	for (round = 0; round < 400000; round++) {
		struct shadow *s;

		seed = seed * 1103515245 + 12345;
		s = &live[(seed >> 8) % 2048];
		if (s->p) {
			for (j = 0; j < s->n; j++)
				if (s->p[j] != s->tag)
					FAIL("block contents changed");
			kp_arena_free(a, s->p);
			s->p = NULL;
			continue;
		}
		seed = seed * 1103515245 + 12345;
		s->n = (seed >> 4) % ((seed & 0x100) ? 4000 : 200) + 1;
		s->p = kp_arena_alloc(a, s->n);
		if (!s->p)
			continue;
		CHECK(((uintptr_t)s->p & 15) == 0);
		s->tag = (unsigned char)round;
		memset(s->p, s->tag, s->n);
	}
	for (j = 0; j < 2048; j++)
		kp_arena_free(a, live[j].p);
	CHECK(kp_arena_in_use(a) == 0);
	CHECK(kp_arena_alloc(a, SZ - 8192) != NULL);
}

int main(void)
{
	test_too_small();
	test_alignment_and_reuse();
	test_exhaustion();
	test_coalesce();
	test_random();
	return unit_done("arena");
}
