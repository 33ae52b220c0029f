/* SPDX-License-Identifier: GPL-2.0 */
/* Strings: creation, interning, hashing and comparison. */
#ifndef KTAP_VM_KP_STR_H
#define KTAP_VM_KP_STR_H

#include "kp_state.h"

#define KP_STR_MAX_LEN (1u << 30)

/* Set up the string table of a new VM; 0 or -KP_ENOMEM. */
int kp_str_init(struct kp_vm *vm);

/*
 * The string with these bytes: the interned one for short strings, a new
 * one for long strings. NULL when out of memory (error recorded).
 */
struct kp_str *kp_str_new(struct kp_vm *vm, const char *s, kp_size_t len);

static inline struct kp_str *kp_str_newz(struct kp_vm *vm, const char *s)
{
	return kp_str_new(vm, s, kp_strlen(s));
}

/* A long string's hash, computed on first use. */
kp_u32 kp_str_hash_long(struct kp_vm *vm, struct kp_str *s);

/* Content hash (computed once for long strings). */
static inline kp_u32 kp_str_hash(struct kp_vm *vm, struct kp_str *s)
{
	if (kp_unlikely(s->islong && !s->hashed))
		return kp_str_hash_long(vm, s);
	return s->hash;
}

static inline int kp_str_eq(const struct kp_str *a, const struct kp_str *b)
{
	return a == b || (a->islong && b->islong && a->len == b->len &&
			  !kp_memcmp(a->data, b->data, a->len));
}

/* Bytewise order: < 0, 0, > 0. */
int kp_str_cmp(const struct kp_str *a, const struct kp_str *b);

/* Resize the intern table (the collector shrinks it after a sweep). */
void kp_str_resize(struct kp_vm *vm, kp_u32 size);

#endif /* KTAP_VM_KP_STR_H */
