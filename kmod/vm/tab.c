// SPDX-License-Identifier: GPL-2.0
/*
 * Tables. Keys 1..alen live in the array part; a key equal to alen + 1 is
 * appended there, every other key goes to the hash part and stays there
 * (no migration). The hash part keeps its entries in insertion order in
 * node[] and finds them through an open-addressing index of node
 * positions, so traversal order is the order of insertion and does not
 * depend on hashes. Deleting leaves a tombstone (key kept, value nil) that
 * next() can still continue from; the next rebuild, when node[] is full,
 * drops tombstones and sizes node[] for the live entries, so a table never
 * holds much more than twice what it contains.
 */
#include "kp_gc.h"
#include "kp_str.h"
#include "kp_tab.h"

#define KP_TAB_MIN_ARRAY 4
#define KP_TAB_MIN_NODES 4
#define KP_TAB_MAX_NODES (1u << 25)

#define IDX_POS_MASK KP_TAB_IDX_POS_MASK
#define IDX_TAG(h) ((h) & ~IDX_POS_MASK)

const struct kp_value kp_nilvalue = { .tt = KP_TNIL };

static inline kp_u32 mix(kp_u64 x)
{
	return (kp_u32)((x * 0x9e3779b97f4a7c15ull) >> 32);
}

static inline kp_u32 key_hash(struct kp_vm *vm, const struct kp_value *k)
{
	switch (k->tt) {
	case KP_TSTR:
		return kp_str_hash(vm, k->u.s);
	case KP_TBOOL:
	case KP_TBUILTIN:
		return mix((kp_u64)k->u.n + ((kp_u64)k->tt << 32));
	default: /* numbers, tables, functions */
		return mix((kp_u64)k->u.n);
	}
}

static kp_u32 pow2_at_least(kp_u32 n, kp_u32 min)
{
	kp_u32 p = min;

	while (p < n)
		p *= 2;
	return p;
}

/*
 * The largest prime below 2^k. A number key's probe starts at the number
 * modulo the prime below the index size, as Lua's integer hashing does:
 * runs of nearby numbers land in nearby slots (the cache likes that) and
 * strides such as page addresses still spread. Other keys start at
 * hash & mask.
 */
static const kp_u32 kp_primes[32] = {
	2, 2, 3, 7, 13, 31, 61, 127, 251, 509, 1021, 2039, 4093, 8191,
	16381, 32749, 65521, 131071, 262139, 524287, 1048573, 2097143,
	4194301, 8388593, 16777213, 33554393, 67108859, 134217689,
	268435399, 536870909, 1073741789, 2147483647,
};

static kp_u32 home_slot(const struct kp_vm *vm, const struct kp_tab *t,
			const struct kp_value *key, kp_u32 h)
{
	kp_u64 x = (kp_u64)key->u.n;
	kp_u32 p;

	if (key->tt != KP_TNUM)
		return h & (2 * t->ncap - 1);
	p = kp_primes[__builtin_ctz(2 * t->ncap)];
	/*
	 * The session's seed keeps scripts from choosing colliding keys;
	 * numbers that fit in 32 bits take the cheaper division.
	 */
	if (x <= 0xffffffffu)
		return ((kp_u32)x ^ (kp_u32)vm->nseed) % p;
	return (kp_u32)((x ^ vm->nseed) % p);
}

/* The node holding key (live or deleted), or NULL. */
static struct kp_node *node_find(const struct kp_vm *vm,
				 const struct kp_tab *t,
				 const struct kp_value *key, kp_u32 h)
{
	kp_u32 mask = 2 * t->ncap - 1, i, e;
	struct kp_node *n;

	if (!t->ncap)
		return NULL;
	for (i = home_slot(vm, t, key, h); (e = t->index[i]);
	     i = (i + 1) & mask) {
		if ((e ^ h) & ~IDX_POS_MASK)
			continue;
		n = &t->node[(e & IDX_POS_MASK) - 1];
		if (n->key.aux == h && kp_value_eq(&n->key, key))
			return n;
	}
	return NULL;
}

/* Index slot of node position pos (which must be indexed). */
static kp_u32 *index_slot_of(const struct kp_vm *vm, const struct kp_tab *t,
			      const struct kp_value *key, kp_u32 h, kp_u32 pos)
{
	kp_u32 mask = 2 * t->ncap - 1, i;

	for (i = home_slot(vm, t, key, h);
	     (t->index[i] & IDX_POS_MASK) != pos + 1; i = (i + 1) & mask)
		;
	return &t->index[i];
}

static void index_add(const struct kp_vm *vm, struct kp_tab *t,
		      const struct kp_value *key, kp_u32 h, kp_u32 pos)
{
	kp_u32 mask = 2 * t->ncap - 1, i;

	for (i = home_slot(vm, t, key, h); t->index[i]; i = (i + 1) & mask)
		;
	t->index[i] = (pos + 1) | IDX_TAG(h);
}

/* node[] and index[] share one block: ncap nodes, then 2 * ncap slots. */
static struct kp_node *nodes_alloc(struct kp_vm *vm, kp_u32 ncap)
{
	struct kp_node *node;
	kp_size_t size = (kp_size_t)ncap * sizeof(*node) +
			 2 * (kp_size_t)ncap * sizeof(kp_u32);

	node = kp_mem_alloc(vm, size);
	if (node)
		kp_memset(node + ncap, 0, 2 * (kp_size_t)ncap * sizeof(kp_u32));
	return node;
}

struct kp_tab *kp_tab_new(struct kp_vm *vm, kp_u32 narr, kp_u32 nrec)
{
	struct kp_value *arr = NULL;
	struct kp_node *node = NULL;
	struct kp_tab *t;
	kp_u32 ncap = 0;

	/* Sizes are hints: beyond the limits, growth reports the overflow. */
	if (narr > KP_TAB_MAX_NODES)
		narr = KP_TAB_MAX_NODES;
	if (nrec > KP_TAB_MAX_NODES)
		nrec = KP_TAB_MAX_NODES;
	/* Parts first: they are plain memory, safe across a collection. */
	if (narr) {
		arr = kp_mem_alloc(vm, (kp_size_t)narr * sizeof(*arr));
		if (!arr)
			return NULL;
	}
	if (nrec) {
		ncap = pow2_at_least(nrec, KP_TAB_MIN_NODES);
		node = nodes_alloc(vm, ncap);
		if (!node)
			goto fail;
	}
	t = (struct kp_tab *)kp_gc_new(vm, sizeof(*t), KP_TTAB);
	if (!t)
		goto fail;
	t->count = t->alen = t->nused = t->hcount = 0;
	t->arr = arr;
	t->asize = narr;
	t->node = node;
	t->ncap = ncap;
	t->index = node ? (kp_u32 *)(node + ncap) : NULL;
	t->gclist = NULL;
	return t;
fail:
	kp_mem_free(vm, arr);
	kp_mem_free(vm, node);
	return NULL;
}

void kp_tab_clear(struct kp_vm *vm, struct kp_tab *t)
{
	kp_mem_free(vm, t->arr);
	kp_mem_free(vm, t->node);
	t->arr = NULL;
	t->node = NULL;
	t->index = NULL;
	t->count = t->asize = t->alen = 0;
	t->ncap = t->nused = t->hcount = 0;
}

void kp_tab_free(struct kp_vm *vm, struct kp_tab *t)
{
	kp_tab_clear(vm, t);
	kp_mem_free(vm, t);
}

const struct kp_value *kp_tab_get(struct kp_vm *vm, struct kp_tab *t,
				  const struct kp_value *key)
{
	struct kp_node *n;

	if (key->tt == KP_TNUM && (kp_u64)key->u.n - 1 < t->alen)
		return &t->arr[key->u.n - 1];
	if (key->tt == KP_TNIL || !t->hcount)
		return &kp_nilvalue;
	n = node_find(vm, t, key, key_hash(vm, key));
	return n ? &n->val : &kp_nilvalue;
}

/*
 * Make room: a collection may run, so the pair being stored is parked in
 * vm->roots until the caller has stored it.
 */
static void park(struct kp_vm *vm, const struct kp_value *key,
		 const struct kp_value *val)
{
	vm->roots[0] = *key;
	vm->roots[1] = *val;
}

static void unpark(struct kp_vm *vm)
{
	kp_setnil(&vm->roots[0]);
	kp_setnil(&vm->roots[1]);
}

/* Rebuild the hash part for its live entries plus growth room. */
static int nodes_rebuild(struct kp_vm *vm, struct kp_tab *t)
{
	kp_u32 live = t->hcount, ncap, i, j = 0;
	struct kp_node *node;

	if (live >= KP_TAB_MAX_NODES)
		return kp_rt_error(vm, "table overflow");
	ncap = pow2_at_least(live + live / 2 + 1, KP_TAB_MIN_NODES);
	node = nodes_alloc(vm, ncap);
	if (!node)
		return KP_ERROR;
	for (i = 0; i < t->nused; i++) {
		struct kp_node *o = &t->node[i];

		if (o->key.tt == KP_TDEADKEY || o->val.tt == KP_TNIL)
			continue;
		node[j] = *o;
		j++;
	}
	kp_mem_free(vm, t->node);
	t->node = node;
	t->index = (kp_u32 *)(node + ncap);
	t->ncap = ncap;
	t->nused = j;
	for (i = 0; i < j; i++)
		index_add(vm, t, &node[i].key, node[i].key.aux, i);
	return 0;
}

/*
 * Append a new node for key. old is the deleted node of the same key, if
 * any: it is retired and its index slot moves to the new node.
 */
static int node_insert(struct kp_vm *vm, struct kp_tab *t,
		       const struct kp_value *key, kp_u32 h,
		       const struct kp_value *val, struct kp_node *old)
{
	struct kp_node *n;
	int ret;

	if (t->nused == t->ncap) {
		park(vm, key, val);
		ret = nodes_rebuild(vm, t);
		key = &vm->roots[0];
		val = &vm->roots[1];
		old = NULL; /* the rebuild dropped it */
		if (ret) {
			unpark(vm);
			return ret;
		}
	}
	n = &t->node[t->nused];
	n->key = *key;
	n->key.aux = h;
	n->val = *val;
	if (old) {
		*index_slot_of(vm, t, key, h, (kp_u32)(old - t->node)) =
			(t->nused + 1) | IDX_TAG(h);
		old->key.tt = KP_TDEADKEY;
	} else {
		index_add(vm, t, key, h, t->nused);
	}
	t->nused++;
	t->hcount++;
	t->count++;
	unpark(vm);
	return 0;
}

static int hash_set(struct kp_vm *vm, struct kp_tab *t,
		    const struct kp_value *key, const struct kp_value *val)
{
	kp_u32 h = key_hash(vm, key);
	struct kp_node *n = node_find(vm, t, key, h);

	if (n && n->val.tt != KP_TNIL) {
		if (val->tt == KP_TNIL) {
			kp_setnil(&n->val);
			t->hcount--;
			t->count--;
		} else {
			n->val = *val;
		}
		return 0;
	}
	if (val->tt == KP_TNIL)
		return 0;
	return node_insert(vm, t, key, h, val, n);
}

static int array_append(struct kp_vm *vm, struct kp_tab *t,
			const struct kp_value *val)
{
	struct kp_value *arr, key;
	kp_u32 size;

	if (t->alen == t->asize) {
		if (t->asize >= KP_TAB_MAX_NODES)
			return kp_rt_error(vm, "table overflow");
		size = t->asize < KP_TAB_MIN_ARRAY ? KP_TAB_MIN_ARRAY :
						     2 * t->asize;
		kp_setnil(&key);
		park(vm, &key, val);
		arr = kp_mem_alloc(vm, (kp_size_t)size * sizeof(*arr));
		val = &vm->roots[1];
		if (!arr) {
			unpark(vm);
			return KP_ERROR;
		}
		if (t->alen)
			kp_memcpy(arr, t->arr, t->alen * sizeof(*arr));
		kp_mem_free(vm, t->arr);
		t->arr = arr;
		t->asize = size;
	}
	t->arr[t->alen++] = *val;
	t->count++;
	unpark(vm);
	return 0;
}

int kp_tab_setint(struct kp_vm *vm, struct kp_tab *t, kp_s64 k,
		  const struct kp_value *val)
{
	kp_u64 i = (kp_u64)k - 1;
	struct kp_value key;
	struct kp_node *n;

	if (i < t->alen) {
		struct kp_value *slot = &t->arr[i];

		t->count += (slot->tt == KP_TNIL) - (val->tt == KP_TNIL);
		*slot = *val;
		return 0;
	}
	kp_setnum(&key, k);
	if (i == t->alen && val->tt != KP_TNIL) {
		n = NULL;
		if (t->hcount)
			n = node_find(vm, t, &key, key_hash(vm, &key));
		if (!n || n->val.tt == KP_TNIL)
			return array_append(vm, t, val);
	}
	return hash_set(vm, t, &key, val);
}

int kp_tab_set(struct kp_vm *vm, struct kp_tab *t, const struct kp_value *key,
	       const struct kp_value *val)
{
	if (key->tt == KP_TNUM)
		return kp_tab_setint(vm, t, key->u.n, val);
	if (key->tt == KP_TNIL)
		return kp_rt_error(vm, "table index is nil");
	return hash_set(vm, t, key, val);
}

int kp_tab_next(struct kp_vm *vm, struct kp_tab *t, struct kp_value *key,
		struct kp_value *val)
{
	kp_u32 i, j;
	struct kp_node *n;

	if (key->tt == KP_TNIL) {
		i = 0;
	} else if (key->tt == KP_TNUM && (kp_u64)key->u.n - 1 < t->alen) {
		i = (kp_u32)key->u.n;
	} else {
		n = node_find(vm, t, key, key_hash(vm, key));
		if (!n)
			return kp_rt_error(vm, "invalid key to 'next'");
		i = t->alen + (kp_u32)(n - t->node) + 1;
	}
	for (; i < t->alen; i++) {
		if (t->arr[i].tt != KP_TNIL) {
			kp_setnum(key, (kp_s64)i + 1);
			*val = t->arr[i];
			return 1;
		}
	}
	for (j = i - t->alen; j < t->nused; j++) {
		n = &t->node[j];
		if (n->val.tt != KP_TNIL && n->key.tt != KP_TDEADKEY) {
			*key = n->key;
			key->aux = 0;
			*val = n->val;
			return 1;
		}
	}
	return 0;
}
