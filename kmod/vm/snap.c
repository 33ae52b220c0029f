// SPDX-License-Identifier: GPL-2.0
/*
 * Snapshots of the globals' data, so a session outlives the process that
 * runs it: kp_vm_snapshot() writes numbers, strings, booleans and tables
 * of them as bytes, kp_vm_restore() sets them again in a new VM of the
 * same script. Both walk nested tables with a stack of their own (no
 * recursion), and a snapshot read back is checked in full before anything
 * changes: it comes from a file.
 *
 *   snapshot := "KPS1" u32:nglobals { u32:len name value }*
 *   value    := NIL | FALSE | TRUE | NUM s64 | STR u32:len bytes
 *             | TAB { key value }* END
 *   key      := FALSE | TRUE | NUM s64 | STR u32:len bytes
 *
 * Integers are little-endian. Functions, tables deeper than KP_SNAP_DEPTH
 * and tables inside themselves are left out (with their key); a table
 * reached twice is written, and restored, twice.
 */
#include "kp_gc.h"
#include "kp_str.h"
#include "kp_tab.h"

#define KP_SNAP_MAGIC "KPS1"
#define KP_SNAP_DEPTH 32

enum { SN_NIL, SN_FALSE, SN_TRUE, SN_NUM, SN_STR, SN_TAB, SN_END };

/* Writing */

struct kp_snap_w {
	void (*emit)(void *ctx, const void *p, kp_size_t len);
	void *ctx;
	kp_size_t n;
	kp_u8 buf[256];
};

static void w_flush(struct kp_snap_w *w)
{
	if (w->n)
		w->emit(w->ctx, w->buf, w->n);
	w->n = 0;
}

static void w_bytes(struct kp_snap_w *w, const void *p, kp_size_t len)
{
	if (len > sizeof(w->buf) - w->n) {
		w_flush(w);
		if (len > sizeof(w->buf)) {
			w->emit(w->ctx, p, len);
			return;
		}
	}
	kp_memcpy(w->buf + w->n, p, len);
	w->n += len;
}

static void w_uint(struct kp_snap_w *w, kp_u64 v, int size)
{
	kp_u8 b[8];
	int j;

	for (j = 0; j < size; j++)
		b[j] = (kp_u8)(v >> (8 * j));
	w_bytes(w, b, (kp_size_t)size);
}

static void w_tag(struct kp_snap_w *w, int tag)
{
	kp_u8 b = (kp_u8)tag;

	w_bytes(w, &b, 1);
}

struct kp_snap_level {
	struct kp_tab *t;
	struct kp_value key;
	int have_key; /* reading: the key is read, its value is next */
};

/* Tables and functions may be keys; a snapshot keeps scalar keys. */
static int w_key_ok(const struct kp_value *k)
{
	return k->tt == KP_TBOOL || k->tt == KP_TNUM || k->tt == KP_TSTR;
}

/* Whether a value is written at all (as a key: whether it can be one). */
static int w_keeps(const struct kp_snap_level *lv, int depth,
		   const struct kp_value *v)
{
	int j;

	switch (v->tt) {
	case KP_TNIL:
	case KP_TBOOL:
	case KP_TNUM:
	case KP_TSTR:
		return 1;
	case KP_TTAB:
		if (depth == KP_SNAP_DEPTH)
			return 0;
		for (j = 0; j < depth; j++)
			if (lv[j].t == v->u.t)
				return 0;
		return 1;
	default:
		return 0;
	}
}

/* A scalar, or a table's tag (pushed on lv). Returns the new depth. */
static int w_value(struct kp_snap_w *w, struct kp_snap_level *lv, int depth,
		   const struct kp_value *v)
{
	switch (v->tt) {
	case KP_TBOOL:
		w_tag(w, v->u.n ? SN_TRUE : SN_FALSE);
		break;
	case KP_TNUM:
		w_tag(w, SN_NUM);
		w_uint(w, (kp_u64)v->u.n, 8);
		break;
	case KP_TSTR:
		w_tag(w, SN_STR);
		w_uint(w, v->u.s->len, 4);
		w_bytes(w, v->u.s->data, v->u.s->len);
		break;
	case KP_TTAB:
		w_tag(w, SN_TAB);
		lv[depth].t = v->u.t;
		kp_setnil(&lv[depth].key);
		return depth + 1;
	default:
		w_tag(w, SN_NIL);
		break;
	}
	return depth;
}

int kp_vm_snapshot(struct kp_vm *vm,
		   void (*emit)(void *ctx, const void *p, kp_size_t len),
		   void *ctx)
{
	struct kp_snap_w w = { .emit = emit, .ctx = ctx };
	struct kp_snap_level *lv;
	struct kp_value val;
	kp_u32 j, n = 0;
	int depth, r;

	if (!vm->loaded)
		return -KP_EINVAL;
	lv = kp_mem_alloc(vm, KP_SNAP_DEPTH * sizeof(*lv));
	if (!lv)
		return -KP_ENOMEM;
	for (j = 0; j < vm->nglobals; j++)
		n += w_keeps(lv, 0, &vm->globals[j]);
	w_bytes(&w, KP_SNAP_MAGIC, 4);
	w_uint(&w, n, 4);
	for (j = 0; j < vm->nglobals; j++) {
		if (!w_keeps(lv, 0, &vm->globals[j]))
			continue;
		w_uint(&w, kp_strlen(vm->gnames[j]), 4);
		w_bytes(&w, vm->gnames[j], kp_strlen(vm->gnames[j]));
		depth = w_value(&w, lv, 0, &vm->globals[j]);
		while (depth > 0) {
			struct kp_snap_level *l = &lv[depth - 1];

			r = kp_tab_next(vm, l->t, &l->key, &val);
			if (r < 0) {
				kp_mem_free(vm, lv);
				return -KP_EINVAL;
			}
			if (!r) {
				w_tag(&w, SN_END);
				depth--;
				continue;
			}
			if (!w_key_ok(&l->key) || !w_keeps(lv, depth, &val))
				continue;
			w_value(&w, lv, depth, &l->key);
			depth = w_value(&w, lv, depth, &val);
		}
	}
	w_flush(&w);
	kp_mem_free(vm, lv);
	return 0;
}

/* Reading */

struct kp_snap_r {
	const kp_u8 *p, *end;
};

static int r_uint(struct kp_snap_r *r, int size, kp_u64 *v)
{
	int j;

	if (r->end - r->p < size)
		return -KP_EINVAL;
	*v = 0;
	for (j = 0; j < size; j++)
		*v |= (kp_u64)r->p[j] << (8 * j);
	r->p += size;
	return 0;
}

/* A string's bytes, in place. */
static int r_str(struct kp_snap_r *r, const char **s, kp_u32 *len)
{
	kp_u64 n;

	if (r_uint(r, 4, &n) || n > KP_STR_MAX_LEN ||
	    (kp_u64)(r->end - r->p) < n)
		return -KP_EINVAL;
	*s = (const char *)r->p;
	*len = (kp_u32)n;
	r->p += n;
	return 0;
}

/*
 * One value (a scalar, or a table's tag) into *v: tables are made when
 * vm is given, checked only otherwise. Returns the tag or -KP_EINVAL.
 */
static int r_value(struct kp_vm *vm, struct kp_snap_r *r, struct kp_value *v)
{
	const char *s;
	kp_u32 len;
	kp_u64 n;
	int tag;

	if (r->p == r->end)
		return -KP_EINVAL;
	tag = *r->p++;
	switch (tag) {
	case SN_NIL:
		kp_setnil(v);
		break;
	case SN_FALSE:
	case SN_TRUE:
		kp_setbool(v, tag == SN_TRUE);
		break;
	case SN_NUM:
		if (r_uint(r, 8, &n))
			return -KP_EINVAL;
		kp_setnum(v, (kp_s64)n);
		break;
	case SN_STR:
		if (r_str(r, &s, &len))
			return -KP_EINVAL;
		kp_setnil(v);
		if (vm) {
			struct kp_str *str = kp_str_new(vm, s, len);

			if (!str)
				return -KP_ENOMEM;
			kp_setstr(v, str);
		}
		break;
	case SN_TAB:
		kp_setnil(v);
		if (vm) {
			struct kp_tab *t = kp_tab_new(vm, 0, 0);

			if (!t)
				return -KP_ENOMEM;
			kp_settab(v, t);
		}
		break;
	case SN_END:
		break;
	default:
		return -KP_EINVAL;
	}
	return tag;
}

static int global_index(const struct kp_vm *vm, const char *name,
			kp_u32 len)
{
	kp_u32 j;

	for (j = 0; j < vm->nglobals; j++)
		if (kp_strlen(vm->gnames[j]) == len &&
		    !kp_memcmp(vm->gnames[j], name, len))
			return (int)j;
	return -1;
}

/* The level for a table just read (NULL while checking). */
static int r_push(struct kp_snap_level *lv, int depth,
		  const struct kp_value *t)
{
	if (depth == KP_SNAP_DEPTH)
		return -KP_EINVAL;
	lv[depth].t = t->tt == KP_TTAB ? t->u.t : NULL;
	lv[depth].have_key = 0;
	return depth + 1;
}

/*
 * Walk the whole snapshot: check it (vm NULL), or build and set what it
 * holds. Each level is a table being filled and, between a key and its
 * value, the key.
 */
static int r_walk(struct kp_vm *vm, struct kp_vm *into, const void *snap,
		  kp_size_t len, struct kp_snap_level *lv)
{
	struct kp_snap_r r = { snap, (const kp_u8 *)snap + len };
	struct kp_snap_level *l;
	int depth, tag, g;
	struct kp_value v;
	const char *name;
	kp_u32 nlen;
	kp_u64 n, j;

	if (len < 4 || kp_memcmp(snap, KP_SNAP_MAGIC, 4))
		return -KP_EINVAL;
	r.p += 4;
	if (r_uint(&r, 4, &n))
		return -KP_EINVAL;
	for (j = 0; j < n; j++) {
		if (r_str(&r, &name, &nlen))
			return -KP_EINVAL;
		tag = r_value(vm, &r, &v);
		if (tag < 0 || tag == SN_END)
			return tag < 0 ? tag : -KP_EINVAL;
		/* A global the script no longer has is read and dropped. */
		g = vm ? global_index(into, name, nlen) : -1;
		if (g >= 0)
			vm->globals[g] = v;
		depth = tag == SN_TAB ? r_push(lv, 0, &v) : 0;
		while (depth > 0) {
			l = &lv[depth - 1];
			if (!l->have_key) {
				tag = r_value(vm, &r, &l->key);
				if (tag < 0)
					return tag;
				if (tag == SN_END) {
					depth--;
					continue;
				}
				/* Keys are scalars, never nil. */
				if (tag == SN_NIL || tag == SN_TAB)
					return -KP_EINVAL;
				l->have_key = 1;
				continue;
			}
			tag = r_value(vm, &r, &v);
			if (tag < 0 || tag == SN_END)
				return tag < 0 ? tag : -KP_EINVAL;
			l->have_key = 0;
			if (vm && kp_tab_set(vm, l->t, &l->key, &v))
				return -KP_ENOMEM;
			if (tag == SN_TAB) {
				depth = r_push(lv, depth, &v);
				if (depth < 0)
					return depth;
			}
		}
	}
	return r.p == r.end ? 0 : -KP_EINVAL;
}

int kp_vm_restore(struct kp_vm *vm, const void *snap, kp_size_t len)
{
	struct kp_snap_level *lv;
	int ret;

	if (!vm->loaded)
		return -KP_EINVAL;
	lv = kp_mem_alloc(vm, KP_SNAP_DEPTH * sizeof(*lv));
	if (!lv)
		return -KP_ENOMEM;
	ret = r_walk(NULL, vm, snap, len, lv);
	if (!ret) {
		/* New objects are reachable only from lv until linked. */
		vm->gc_block++;
		ret = r_walk(vm, vm, snap, len, lv);
		vm->gc_block--;
	}
	kp_mem_free(vm, lv);
	return ret;
}
