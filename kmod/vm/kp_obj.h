/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Tagged values and the layouts of the objects they point to: strings,
 * tables, closures, upvalues and the (permanent) function prototypes.
 */
#ifndef KTAP_VM_KP_OBJ_H
#define KTAP_VM_KP_OBJ_H

#include "platform.h"

/* Value types. The order matters: nil and false are the only false values. */
enum kp_type {
	KP_TNIL,
	KP_TBOOL,
	KP_TNUM,
	KP_TSTR,
	KP_TTAB,
	KP_TFUNC, /* closure */
	KP_TBUILTIN, /* built-in function; payload is its KP_BI_* id */
	KP_TUPVAL, /* never in a value: collectable upvalue cells */
	KP_TDEADKEY, /* a table key that was re-inserted further on */
};

struct kp_gcobj;
struct kp_str;
struct kp_tab;
struct kp_closure;

/*
 * 16 bytes: payload and tag. aux is spare room that containers may use:
 * a table keeps a key's hash there.
 */
struct kp_value {
	union {
		kp_s64 n; /* numbers, booleans (0/1), built-in ids */
		struct kp_gcobj *gc;
		struct kp_str *s;
		struct kp_tab *t;
		struct kp_closure *cl;
	} u;
	kp_u32 tt;
	kp_u32 aux;
};

#define kp_isnil(v) ((v)->tt == KP_TNIL)
#define kp_isnum(v) ((v)->tt == KP_TNUM)
#define kp_isstr(v) ((v)->tt == KP_TSTR)
#define kp_istab(v) ((v)->tt == KP_TTAB)
#define kp_iscollectable(v) ((v)->tt >= KP_TSTR && (v)->tt <= KP_TFUNC)
/* Only nil and false are false. */
#define kp_isfalse(v) ((v)->tt == KP_TNIL || ((v)->tt == KP_TBOOL && !(v)->u.n))

#define kp_setnil(v) ((v)->tt = KP_TNIL)
#define kp_setnum(v, x) ((v)->u.n = (x), (v)->tt = KP_TNUM)
#define kp_setbool(v, x) ((v)->u.n = !!(x), (v)->tt = KP_TBOOL)
#define kp_setbuiltin(v, id) ((v)->u.n = (id), (v)->tt = KP_TBUILTIN)
#define kp_setstr(v, x) ((v)->u.s = (x), (v)->tt = KP_TSTR)
#define kp_settab(v, x) ((v)->u.t = (x), (v)->tt = KP_TTAB)
#define kp_setfunc(v, x) ((v)->u.cl = (x), (v)->tt = KP_TFUNC)

/* Every collectable object starts with this. */
#define KP_GCHEADER                                                            \
	struct kp_gcobj *next; /* allgc list, or string table chain */        \
	kp_u8 type; /* KP_T* */                                                \
	kp_u8 marked

struct kp_gcobj {
	KP_GCHEADER;
};

/*
 * Strings are immutable byte arrays, NUL-terminated for convenience (they
 * may hold NULs). Short ones are interned, so equal short strings are the
 * same object; long ones are compared by content and hashed on demand.
 */
#define KP_MAX_SHORT_STR 40

struct kp_str {
	KP_GCHEADER;
	kp_u8 islong;
	kp_u8 hashed; /* long strings: hash is valid */
	kp_u32 hash;
	kp_u32 len;
	char data[];
};

/*
 * A hash entry. key.aux caches the key's hash. A deleted entry keeps its
 * key with a nil value, so that next() can continue from it; a key that is
 * re-inserted after its deletion gets a new entry at the end (insertion
 * order) and the old one becomes KP_TDEADKEY.
 */
struct kp_node {
	struct kp_value key;
	struct kp_value val;
};

/*
 * Tables: an array part for keys 1..alen (nil holes allowed) and an
 * insertion-ordered hash part: node[0..nused) in insertion order plus an
 * open-addressing index of 2 * ncap slots holding node positions + 1.
 */
struct kp_tab {
	KP_GCHEADER;
	kp_u32 count; /* live entries in both parts: len(t) */
	struct kp_value *arr;
	kp_u32 asize, alen; /* capacity and used length of the array part */
	kp_u32 ncap, nused; /* node capacity, nodes used (dead ones included) */
	kp_u32 hcount; /* live nodes */
	struct kp_node *node;
	kp_u32 *index;
	struct kp_gcobj *gclist;
};

/*
 * A function built from the chunk. Prototypes live as long as the VM and
 * are not collected; their constants are roots.
 */
struct kp_proto {
	const kp_u32 *code;
	const kp_u32 *lines;
	struct kp_value *k;
	const kp_u8 *upvals; /* nupvals (instack, idx) pairs */
	const char *name;
	kp_u32 ncode, nk;
	kp_u8 nparams, framesize, nupvals;
};

/*
 * An upvalue cell. While open, v points at the captured stack slot (fixed
 * up when the stack moves); closing copies the slot into value.
 */
struct kp_upval {
	KP_GCHEADER;
	struct kp_value *v;
	struct kp_value value;
	struct kp_upval *open_next; /* open list, highest slot first */
};

struct kp_closure {
	KP_GCHEADER;
	kp_u8 nupvals;
	struct kp_proto *p;
	struct kp_gcobj *gclist;
	struct kp_upval *upvals[]; /* NULL until filled by CLOSURE */
};

#endif /* KTAP_VM_KP_OBJ_H */
