/* SPDX-License-Identifier: GPL-2.0 */
/* Tables: array part plus insertion-ordered hash part. */
#ifndef KTAP_VM_KP_TAB_H
#define KTAP_VM_KP_TAB_H

#include "kp_state.h"

extern const struct kp_value kp_nilvalue;

/*
 * An index slot holds a node position + 1 in its low bits (0: empty) and
 * the top bits of the key's hash above, so that probing past other keys
 * seldom touches their nodes (a cache miss each in a big table).
 */
#define KP_TAB_IDX_POS_BITS 27
#define KP_TAB_IDX_POS_MASK ((1u << KP_TAB_IDX_POS_BITS) - 1)

/*
 * The node of short string s in t (live, or deleted: its value nil), or
 * NULL. What kp_tab_get() and kp_tab_set() find for such a key, inline
 * for the interpreter's t[s] (short strings are interned: the same text
 * is the same object, and its home slot is its hash).
 */
static inline struct kp_node *kp_tab_find_shortstr(const struct kp_tab *t,
						    const struct kp_str *s)
{
	kp_u32 h = s->hash, mask, i, e;
	struct kp_node *n;

	if (!t->hcount)
		return 0;
	mask = 2 * t->ncap - 1;
	for (i = h & mask; (e = t->index[i]); i = (i + 1) & mask) {
		if ((e ^ h) & ~KP_TAB_IDX_POS_MASK)
			continue;
		n = &t->node[(e & KP_TAB_IDX_POS_MASK) - 1];
		if (n->key.tt == KP_TSTR && n->key.u.s == s)
			return n;
	}
	return 0;
}

/* A table with room for narr array and nrec hash entries, or NULL. */
struct kp_tab *kp_tab_new(struct kp_vm *vm, kp_u32 narr, kp_u32 nrec);
void kp_tab_free(struct kp_vm *vm, struct kp_tab *t);

/* The value at key (kp_nilvalue when absent); never NULL. */
const struct kp_value *kp_tab_get(struct kp_vm *vm, struct kp_tab *t,
				  const struct kp_value *key);

static inline const struct kp_value *kp_tab_getint(struct kp_vm *vm,
						   struct kp_tab *t, kp_s64 k)
{
	struct kp_value key;

	if ((kp_u64)k - 1 < t->alen)
		return &t->arr[k - 1];
	kp_setnum(&key, k);
	return kp_tab_get(vm, t, &key);
}

/*
 * t[key] = val; a nil val deletes. Returns 0, or KP_ERROR (nil key, out
 * of memory). key and val need not be reachable otherwise.
 */
int kp_tab_set(struct kp_vm *vm, struct kp_tab *t, const struct kp_value *key,
	       const struct kp_value *val);
int kp_tab_setint(struct kp_vm *vm, struct kp_tab *t, kp_s64 k,
		  const struct kp_value *val);

/*
 * Traversal: the array part in order, then the hash part in insertion
 * order. *key is the previous key (nil to start); on return 1 the next
 * key and its value are stored, 0 means the end, KP_ERROR a key that is
 * not in the table. A key deleted during the traversal still leads on.
 */
int kp_tab_next(struct kp_vm *vm, struct kp_tab *t, struct kp_value *key,
		struct kp_value *val);

/* Remove every entry and give the memory back (delete()). */
void kp_tab_clear(struct kp_vm *vm, struct kp_tab *t);

/* Raw equality of two values (the == operator, and table keys). */
static inline int kp_value_eq(const struct kp_value *a,
			      const struct kp_value *b)
{
	if (a->tt != b->tt)
		return 0;
	if (a->tt == KP_TNIL)
		return 1;
	if (a->u.n == b->u.n)
		return 1;
	return a->tt == KP_TSTR && a->u.s->islong && b->u.s->islong &&
	       a->u.s->len == b->u.s->len &&
	       !kp_memcmp(a->u.s->data, b->u.s->data, a->u.s->len);
}

#endif /* KTAP_VM_KP_TAB_H */
