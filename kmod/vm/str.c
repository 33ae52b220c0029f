// SPDX-License-Identifier: GPL-2.0
/*
 * Strings. Short strings (up to KP_MAX_SHORT_STR bytes, the usual table
 * keys and event words) are interned in a chained hash table, so that
 * equality is a pointer comparison; the collector sweeps the table weakly.
 * Long strings (concatenation results, stacks) skip the table: hashing
 * and comparing them costs their length only when they are used as keys.
 */
#include "kp_gc.h"
#include "kp_str.h"

#define KP_STRTAB_MIN 64

static kp_u32 str_hash(const char *s, kp_size_t len, kp_u32 seed)
{
	kp_u32 h = seed ^ (kp_u32)len;

	while (len--)
		h ^= (h << 5) + (h >> 2) + (kp_u8)*s++;
	return h;
}

int kp_str_init(struct kp_vm *vm)
{
	vm->strtab = kp_mem_alloc(vm, KP_STRTAB_MIN * sizeof(*vm->strtab));
	if (!vm->strtab)
		return -KP_ENOMEM;
	kp_memset(vm->strtab, 0, KP_STRTAB_MIN * sizeof(*vm->strtab));
	vm->strsize = KP_STRTAB_MIN;
	return 0;
}

void kp_str_resize(struct kp_vm *vm, kp_u32 size)
{
	struct kp_str **t, *s, *next;
	kp_u32 i;

	if (size < KP_STRTAB_MIN)
		size = KP_STRTAB_MIN;
	if (size == vm->strsize)
		return;
	vm->gc_block++;
	t = kp_mem_alloc(vm, size * sizeof(*t));
	vm->gc_block--;
	if (!t)
		return; /* keep the old table: only chains get longer */
	kp_memset(t, 0, size * sizeof(*t));
	for (i = 0; i < vm->strsize; i++) {
		for (s = vm->strtab[i]; s; s = next) {
			next = (struct kp_str *)s->next;
			s->next = (struct kp_gcobj *)t[s->hash & (size - 1)];
			t[s->hash & (size - 1)] = s;
		}
	}
	kp_mem_free(vm, vm->strtab);
	vm->strtab = t;
	vm->strsize = size;
}

static struct kp_str *str_alloc(struct kp_vm *vm, const char *s,
				kp_size_t len, int islong)
{
	struct kp_str *ts;

	ts = kp_mem_alloc(vm, sizeof(*ts) + len + 1);
	if (!ts)
		return NULL;
	ts->type = KP_TSTR;
	ts->marked = 0;
	ts->islong = (kp_u8)islong;
	ts->hashed = 0;
	ts->len = (kp_u32)len;
	kp_memcpy(ts->data, s, len);
	ts->data[len] = '\0';
	return ts;
}

struct kp_str *kp_str_new(struct kp_vm *vm, const char *s, kp_size_t len)
{
	struct kp_str *ts;
	kp_u32 h;

	if (len > KP_STR_MAX_LEN) {
		kp_rt_error(vm, "string too long (%llu bytes)",
			    (unsigned long long)len);
		return NULL;
	}
	if (len > KP_MAX_SHORT_STR) {
		ts = str_alloc(vm, s, len, 1);
		if (ts) {
			ts->next = vm->allgc;
			vm->allgc = (struct kp_gcobj *)ts;
		}
		return ts;
	}
	h = str_hash(s, len, vm->seed);
	for (ts = vm->strtab[h & (vm->strsize - 1)]; ts;
	     ts = (struct kp_str *)ts->next)
		if (ts->hash == h && ts->len == len &&
		    !kp_memcmp(ts->data, s, len))
			return ts;
	/* Grow before allocating: nothing new is unreachable meanwhile. */
	if (vm->strcount >= vm->strsize)
		kp_str_resize(vm, vm->strsize * 2);
	ts = str_alloc(vm, s, len, 0);
	if (!ts)
		return NULL;
	ts->hash = h;
	/* A collection inside str_alloc may have resized the table. */
	ts->next = (struct kp_gcobj *)vm->strtab[h & (vm->strsize - 1)];
	vm->strtab[h & (vm->strsize - 1)] = ts;
	vm->strcount++;
	return ts;
}

kp_u32 kp_str_hash_long(struct kp_vm *vm, struct kp_str *s)
{
	s->hash = str_hash(s->data, s->len, vm->seed);
	s->hashed = 1;
	return s->hash;
}

int kp_str_cmp(const struct kp_str *a, const struct kp_str *b)
{
	kp_u32 n = a->len < b->len ? a->len : b->len;
	int r = kp_memcmp(a->data, b->data, n);

	if (r)
		return r;
	return a->len < b->len ? -1 : a->len > b->len;
}
