// SPDX-License-Identifier: GPL-2.0
/*
 * kp_vm_dump_json(): the globals as JSON for `ktapctl dump --json` and the
 * daemon's snapshots. Tables become objects keyed by the key's text, in
 * iteration order, nested up to KP_DUMP_DEPTH levels; deeper tables, and
 * tables that contain themselves, appear as their print text. The walk
 * keeps its own stack of tables: no recursion.
 */
#include "kp_fmt.h"
#include "kp_gc.h"
#include "kp_tab.h"

#define KP_DUMP_DEPTH 32

struct kp_dump_level {
	struct kp_tab *t;
	struct kp_value key;
	int first;
};

static int put(struct kp_vm *vm, const char *s, kp_size_t n)
{
	return kp_buf_add(vm, &vm->buf, s, n);
}

/* Length of the valid UTF-8 sequence at s (0 if invalid). */
static int utf8_len(const kp_u8 *s, kp_size_t n)
{
	int len, j;
	kp_u32 cp;

	if (s[0] < 0xc2 || s[0] > 0xf4)
		return 0;
	len = s[0] < 0xe0 ? 2 : s[0] < 0xf0 ? 3 : 4;
	if (n < (kp_size_t)len)
		return 0;
	cp = s[0] & (0x7f >> len);
	for (j = 1; j < len; j++) {
		if ((s[j] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[j] & 0x3f);
	}
	/* Overlong forms, surrogates and values past U+10FFFF. */
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return len;
}

/* A JSON string; bytes that are not UTF-8 become \u00XX (Latin-1). */
static int put_string(struct kp_vm *vm, const char *str, kp_size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const kp_u8 *s = (const kp_u8 *)str, *end = s + n;
	char esc[6] = { '\\', 'u', '0', '0' };
	int len;

	if (put(vm, "\"", 1))
		return KP_ERROR;
	while (s < end) {
		const kp_u8 *run = s;
		int utf8;

		while (s < end && *s >= 0x20 && *s < 0x7f && *s != '"' &&
		       *s != '\\')
			s++;
		if (s > run && put(vm, (const char *)run, (kp_size_t)(s - run)))
			return KP_ERROR;
		if (s == end)
			break;
		if (*s == '"' || *s == '\\') {
			esc[1] = (char)*s;
			len = 2;
		} else if (*s == '\n' || *s == '\t' || *s == '\r') {
			esc[1] = *s == '\n' ? 'n' : *s == '\t' ? 't' : 'r';
			len = 2;
		} else if (*s >= 0x80 &&
			   utf8_len(s, (kp_size_t)(end - s)) > 0) {
			utf8 = utf8_len(s, (kp_size_t)(end - s));
			if (put(vm, (const char *)s, (kp_size_t)utf8))
				return KP_ERROR;
			s += utf8;
			continue;
		} else {
			esc[1] = 'u';
			esc[4] = hex[*s >> 4];
			esc[5] = hex[*s & 15];
			len = 6;
		}
		if (put(vm, esc, (kp_size_t)len))
			return KP_ERROR;
		s++;
	}
	return put(vm, "\"", 1);
}

/* A value's print text as a JSON string (keys, cut-off tables). */
static int put_text(struct kp_vm *vm, const struct kp_value *v)
{
	kp_size_t start = vm->buf.len, len;

	if (v->tt == KP_TSTR)
		return put_string(vm, v->u.s->data, v->u.s->len);
	/* Rendered at the end, then escaped after itself and moved back. */
	if (kp_fmt_value(vm, &vm->buf, v))
		return KP_ERROR;
	len = vm->buf.len - start;
	/* No reallocation may move the text while it is being escaped. */
	if (kp_buf_reserve(vm, &vm->buf, 6 * len + 2) ||
	    put_string(vm, vm->buf.p + start, len))
		return KP_ERROR;
	kp_memmove(vm->buf.p + start, vm->buf.p + start + len,
		   vm->buf.len - start - len);
	vm->buf.len -= len;
	return 0;
}

static int on_path(const struct kp_dump_level *lv, int depth,
		   const struct kp_tab *t)
{
	int j;

	for (j = 0; j < depth; j++)
		if (lv[j].t == t)
			return 1;
	return 0;
}

/*
 * A scalar, or the opening of a table object (pushed on lv). Returns the
 * new depth or KP_ERROR.
 */
static int put_value(struct kp_vm *vm, struct kp_dump_level *lv, int depth,
		     const struct kp_value *v)
{
	char num[KP_NUM_BUF];

	switch (v->tt) {
	case KP_TNIL:
		return put(vm, "null", 4) ? KP_ERROR : depth;
	case KP_TBOOL:
		return put(vm, v->u.n ? "true" : "false", v->u.n ? 4 : 5) ?
			       KP_ERROR : depth;
	case KP_TNUM:
		return put(vm, num, (kp_size_t)kp_fmt_int(num, v->u.n)) ?
			       KP_ERROR : depth;
	case KP_TSTR:
		return put_text(vm, v) ? KP_ERROR : depth;
	case KP_TTAB:
		if (depth == KP_DUMP_DEPTH || on_path(lv, depth, v->u.t))
			return put_text(vm, v) ? KP_ERROR : depth;
		lv[depth].t = v->u.t;
		kp_setnil(&lv[depth].key);
		lv[depth].first = 1;
		return put(vm, "{", 1) ? KP_ERROR : depth + 1;
	default:
		return put(vm, "\"function\"", 10) ? KP_ERROR : depth;
	}
}

static int dump_value(struct kp_vm *vm, struct kp_dump_level *lv,
		      const struct kp_value *v)
{
	struct kp_value val;
	int depth = put_value(vm, lv, 0, v), r;

	while (depth > 0) {
		struct kp_dump_level *l = &lv[depth - 1];

		r = kp_tab_next(vm, l->t, &l->key, &val);
		if (r < 0)
			return KP_ERROR;
		if (!r) {
			if (put(vm, "}", 1))
				return KP_ERROR;
			depth--;
			continue;
		}
		if ((!l->first && put(vm, ",", 1)) || put_text(vm, &l->key) ||
		    put(vm, ":", 1))
			return KP_ERROR;
		l->first = 0;
		depth = put_value(vm, lv, depth, &val);
	}
	return depth;
}

int kp_vm_dump_json(struct kp_vm *vm,
		    void (*emit)(void *ctx, const char *name,
				 const char *json, kp_size_t len),
		    void *ctx)
{
	struct kp_dump_level *lv;
	int ret = 0;
	kp_u32 j;

	lv = kp_mem_alloc(vm, KP_DUMP_DEPTH * sizeof(*lv));
	if (!lv)
		return -KP_ENOMEM;
	for (j = 0; j < vm->nglobals; j++) {
		vm->buf.len = 0;
		if (dump_value(vm, lv, &vm->globals[j]) < 0) {
			ret = -KP_ENOMEM;
			break;
		}
		emit(ctx, vm->gnames[j], vm->buf.p, vm->buf.len);
	}
	kp_mem_free(vm, lv);
	kp_buf_trim(vm, &vm->buf, KP_BUF_KEEP);
	return ret;
}
