// SPDX-License-Identifier: GPL-2.0
/*
 * Chunk loader: reads the container of proto/chunk.h into a kp_chunk_view.
 * Every count is checked against its limit before anything it sizes is
 * read, every read against the bytes left, and the walk must end exactly
 * at the last byte. Instruction operands are verify.c's job.
 */
#include "chunk_view.h"

/* Smallest encodings, used to refuse absurd counts before allocating. */
#define KP_MIN_FUNC_BYTES 28u /* fixed part, name, ncode, 1 insn, nconsts */
#define KP_MIN_PROBE_BYTES 20u /* fixed part and an empty spec */

/*
 * A cursor over the chunk. sect/idx name the entry being read ("function"
 * 3) so that every error says where it happened; func is the function
 * index reported in err, -1 outside the functions.
 */
struct kp_reader {
	const kp_u8 *buf;
	kp_u64 pos, len;
	const char *sect;
	int idx, func;
	struct kp_verify_error *err;
};

static int rd_truncated(const struct kp_reader *r, const char *what)
{
	if (!r->sect)
		return kp_verify_fail(r->err, -1, -1, "truncated chunk: %s",
				      what);
	return kp_verify_fail(r->err, r->func, -1,
			      "truncated chunk: %s %d %s", r->sect, r->idx,
			      what);
}

/* The next n bytes, or NULL (err filled) when fewer are left. */
static const kp_u8 *rd_take(struct kp_reader *r, kp_u64 n, const char *what)
{
	const kp_u8 *p = r->buf + r->pos;

	if (n > r->len - r->pos) {
		rd_truncated(r, what);
		return NULL;
	}
	r->pos += n;
	return p;
}

static int rd_u8(struct kp_reader *r, const char *what, kp_u8 *v)
{
	const kp_u8 *p = rd_take(r, 1, what);

	if (!p)
		return -KP_EINVAL;
	*v = p[0];
	return 0;
}

static int rd_u16(struct kp_reader *r, const char *what, kp_u16 *v)
{
	const kp_u8 *p = rd_take(r, 2, what);

	if (!p)
		return -KP_EINVAL;
	*v = (kp_u16)(p[0] | p[1] << 8);
	return 0;
}

static int rd_u32(struct kp_reader *r, const char *what, kp_u32 *v)
{
	const kp_u8 *p = rd_take(r, 4, what);

	if (!p)
		return -KP_EINVAL;
	*v = kp_chunk_u32(p);
	return 0;
}

static int rd_u64(struct kp_reader *r, const char *what, kp_u64 *v)
{
	const kp_u8 *p = rd_take(r, 8, what);

	if (!p)
		return -KP_EINVAL;
	*v = kp_chunk_u32(p) | (kp_u64)kp_chunk_u32(p + 4) << 32;
	return 0;
}

/* A str (u32 length, bytes); names and strings share KP_MAX_STR. */
static int rd_str(struct kp_reader *r, const char *what, const char **s,
		  kp_u32 *len)
{
	const kp_u8 *p;
	int ret = rd_u32(r, what, len);

	if (ret)
		return ret;
	if (*len > KP_MAX_STR) {
		if (!r->sect)
			return kp_verify_fail(r->err, -1, -1,
					      "%s too long (%u > %u bytes)",
					      what, *len, KP_MAX_STR);
		return kp_verify_fail(r->err, r->func, -1,
				      "%s %d %s too long (%u > %u bytes)",
				      r->sect, r->idx, what, *len, KP_MAX_STR);
	}
	p = rd_take(r, *len, what);
	if (!p)
		return -KP_EINVAL;
	*s = (const char *)p;
	return 0;
}

/* A u32 count in 0..max, refused before anything it counts is read. */
static int rd_count(struct kp_reader *r, const char *what, kp_u32 max,
		    kp_u32 *n)
{
	int ret = rd_u32(r, what, n);

	if (ret)
		return ret;
	if (*n > max)
		return kp_verify_fail(r->err, r->func, -1,
				      "too many %s (%u > %u)", what, *n, max);
	return 0;
}

/*
 * Room for n entries of at least min bytes each must remain, so that a
 * huge count in a tiny chunk is refused before its array is allocated.
 */
static int rd_room(const struct kp_reader *r, kp_u32 n, kp_u32 min,
		   const char *what)
{
	if ((kp_u64)n * min > r->len - r->pos)
		return kp_verify_fail(r->err, -1, -1,
				      "truncated chunk: %u %s need at least %llu bytes, %llu left",
				      n, what, (unsigned long long)n * min,
				      (unsigned long long)(r->len - r->pos));
	return 0;
}

static void *rd_alloc(struct kp_reader *r, void *(*alloc)(void *, kp_size_t),
		      void *ctx, kp_size_t size, const char *what)
{
	void *p = alloc(ctx, size);

	if (!p)
		kp_verify_fail(r->err, -1, -1,
			       "out of memory for %s (%llu bytes)", what,
			       (unsigned long long)size);
	return p;
}

static int rd_header(struct kp_reader *r, struct kp_chunk_view *v)
{
	const kp_u8 *p = r->buf;
	kp_u16 version, flags;
	kp_u32 size;

	/* A short chunk that starts like one is truncated, not foreign. */
	if (r->len && kp_memcmp(p, KP_CHUNK_MAGIC, r->len < 4 ? r->len : 4))
		return kp_verify_fail(r->err, -1, -1, "bad magic");
	if (r->len < 12)
		return kp_verify_fail(r->err, -1, -1,
				      "truncated chunk: header");
	version = (kp_u16)(p[4] | p[5] << 8);
	flags = (kp_u16)(p[6] | p[7] << 8);
	size = kp_chunk_u32(p + 8);
	r->pos = 12;
	if (version != KP_CHUNK_VERSION)
		return kp_verify_fail(r->err, -1, -1,
				      "unsupported version %u", version);
	if (flags)
		return kp_verify_fail(r->err, -1, -1,
				      "header flags %u must be 0", flags);
	if (size != r->len)
		return kp_verify_fail(r->err, -1, -1,
				      "size field %u does not match chunk length %llu",
				      size, (unsigned long long)r->len);
	if (size > KP_MAX_CHUNK)
		return kp_verify_fail(r->err, -1, -1,
				      "chunk too large (%u > %u bytes)", size,
				      KP_MAX_CHUNK);
	return rd_str(r, "source name", &v->source, &v->source_len);
}

/* FNV-1a: spreads global names over the duplicate table. */
static kp_u32 name_hash(const kp_u8 *s, kp_u32 len)
{
	kp_u32 h = 2166136261u;

	while (len--)
		h = (h ^ *s++) * 16777619u;
	return h;
}

/*
 * Global names must be unique (dumps and persistence go by name). Finding
 * duplicates in linear time takes a table; it lives in the caller's
 * allocation: u32 chunk offsets of names (0 = empty; no name starts at 0),
 * at most half full.
 */
static int rd_globals(struct kp_reader *r, struct kp_chunk_view *v,
		      void *(*alloc)(void *, kp_size_t), void *ctx)
{
	kp_u32 i, slots = 8, *table;
	int ret;

	ret = rd_count(r, "globals", KP_MAX_GLOBALS, &v->nglobals);
	if (ret)
		return ret;
	ret = rd_room(r, v->nglobals, 4, "globals");
	if (ret)
		return ret;
	while (slots < 2 * v->nglobals)
		slots *= 2;
	table = rd_alloc(r, alloc, ctx, slots * sizeof(*table),
			 "global names");
	if (!table)
		return -KP_ENOMEM;
	kp_memset(table, 0, slots * sizeof(*table));
	v->globals = r->buf + r->pos;
	r->sect = "global";
	for (i = 0; i < v->nglobals; i++) {
		kp_u32 off = (kp_u32)r->pos, len, h;
		const char *s;

		r->idx = (int)i;
		ret = rd_str(r, "name", &s, &len);
		if (ret)
			return ret;
		for (h = name_hash((const kp_u8 *)s, len);; h++) {
			const kp_u8 *o = r->buf + table[h & (slots - 1)];

			if (!table[h & (slots - 1)]) {
				table[h & (slots - 1)] = off;
				break;
			}
			if (kp_chunk_u32(o) == len && !kp_memcmp(o + 4, s, len))
				return kp_verify_fail(r->err, -1, -1,
						      "global slot %u repeats the name '%.*s'",
						      i, (int)(len > 32 ? 32 : len), s);
		}
	}
	r->sect = NULL;
	return 0;
}

static int rd_function(struct kp_reader *r, struct kp_fview *f)
{
	kp_u32 i;
	int ret;

	ret = rd_u16(r, "header", &f->parent);
	if (!ret)
		ret = rd_u8(r, "header", &f->nparams);
	if (!ret)
		ret = rd_u8(r, "header", &f->framesize);
	if (!ret)
		ret = rd_u8(r, "header", &f->nupvals);
	if (!ret)
		ret = rd_u8(r, "header", &f->flags);
	if (!ret)
		ret = rd_u16(r, "header", &f->line);
	if (ret)
		return ret;
	if (f->nupvals > KP_MAX_UPVALS)
		return kp_verify_fail(r->err, r->idx, -1,
				      "too many upvalues (%u > %u)", f->nupvals,
				      KP_MAX_UPVALS);
	ret = rd_str(r, "name", &f->name, &f->name_len);
	if (!ret)
		ret = rd_count(r, "instructions", KP_MAX_CODE, &f->ncode);
	if (ret)
		return ret;
	if (!f->ncode)
		return kp_verify_fail(r->err, r->idx, -1, "function has no code");
	f->code = rd_take(r, 4ull * f->ncode, "code");
	if (!f->code)
		return -KP_EINVAL;
	f->lines = rd_take(r, 4ull * f->ncode, "line table");
	if (!f->lines)
		return -KP_EINVAL;
	ret = rd_count(r, "constants", KP_MAX_CONSTS, &f->nconsts);
	if (ret)
		return ret;
	f->consts = r->buf + r->pos;
	for (i = 0; i < f->nconsts; i++) {
		kp_u8 type;
		kp_u32 len = 0;

		ret = rd_u8(r, "constants", &type);
		if (ret)
			return ret;
		switch (type) {
		case KP_CONST_NIL:
		case KP_CONST_FALSE:
		case KP_CONST_TRUE:
			break;
		case KP_CONST_INT:
			len = 8;
			break;
		case KP_CONST_STR:
			ret = rd_u32(r, "constants", &len);
			if (ret)
				return ret;
			if (len > KP_MAX_STR)
				return kp_verify_fail(r->err, r->idx, -1,
						      "string constant %u too long (%u > %u bytes)",
						      i, len, KP_MAX_STR);
			break;
		default:
			return kp_verify_fail(r->err, r->idx, -1,
					      "constant %u has unknown type %u",
					      i, type);
		}
		if (!rd_take(r, len, "constants"))
			return -KP_EINVAL;
	}
	f->upvals = rd_take(r, 2u * f->nupvals, "upvalues");
	return f->upvals ? 0 : -KP_EINVAL;
}

static int rd_functions(struct kp_reader *r, struct kp_chunk_view *v,
			void *(*alloc)(void *, kp_size_t), void *ctx)
{
	kp_u32 i;
	int ret;

	ret = rd_count(r, "functions", KP_MAX_FUNCS, &v->nfuncs);
	if (ret)
		return ret;
	if (!v->nfuncs)
		return kp_verify_fail(r->err, -1, -1, "chunk has no functions");
	ret = rd_room(r, v->nfuncs, KP_MIN_FUNC_BYTES, "functions");
	if (ret)
		return ret;
	v->funcs = rd_alloc(r, alloc, ctx, v->nfuncs * sizeof(*v->funcs),
			    "function table");
	if (!v->funcs)
		return -KP_ENOMEM;
	r->sect = "function";
	for (i = 0; i < v->nfuncs; i++) {
		r->idx = r->func = (int)i;
		ret = rd_function(r, &v->funcs[i]);
		if (ret)
			return ret;
	}
	r->sect = NULL;
	r->func = -1;
	return 0;
}

static int rd_probes(struct kp_reader *r, struct kp_chunk_view *v,
		     void *(*alloc)(void *, kp_size_t), void *ctx)
{
	kp_u32 i;
	int ret;

	ret = rd_count(r, "probes", KP_MAX_PROBES, &v->nprobes);
	if (ret)
		return ret;
	ret = rd_room(r, v->nprobes, KP_MIN_PROBE_BYTES, "probes");
	if (ret)
		return ret;
	v->probes = NULL;
	if (v->nprobes) {
		v->probes = rd_alloc(r, alloc, ctx,
				     v->nprobes * sizeof(*v->probes),
				     "probe table");
		if (!v->probes)
			return -KP_ENOMEM;
	}
	r->sect = "probe";
	for (i = 0; i < v->nprobes; i++) {
		struct kp_pview *p = &v->probes[i];

		r->idx = (int)i;
		ret = rd_u8(r, "header", &p->kind);
		if (!ret)
			ret = rd_u8(r, "header", &p->flags);
		if (!ret)
			ret = rd_u16(r, "header", &p->handler);
		if (!ret)
			ret = rd_u16(r, "header", &p->filter);
		if (!ret)
			ret = rd_u16(r, "header", &p->line);
		if (!ret)
			ret = rd_u64(r, "period", &p->period_ns);
		if (!ret)
			ret = rd_str(r, "spec", &p->spec, &p->spec_len);
		if (ret)
			return ret;
	}
	r->sect = NULL;
	return 0;
}

int kp_chunk_parse(const void *chunk, kp_size_t len,
		   struct kp_chunk_view *view,
		   void *(*alloc)(void *ctx, kp_size_t size), void *ctx,
		   struct kp_verify_error *err)
{
	struct kp_reader r = { .buf = chunk, .len = len, .func = -1,
			       .err = err };
	int ret;

	kp_memset(view, 0, sizeof(*view));
	ret = rd_header(&r, view);
	if (!ret)
		ret = rd_globals(&r, view, alloc, ctx);
	if (!ret)
		ret = rd_functions(&r, view, alloc, ctx);
	if (!ret)
		ret = rd_probes(&r, view, alloc, ctx);
	if (ret)
		return ret;
	if (r.pos != r.len)
		return kp_verify_fail(err, -1, -1,
				      "%llu trailing bytes after probe table",
				      (unsigned long long)(r.len - r.pos));
	return 0;
}

const kp_u8 *kp_chunk_const(const kp_u8 *p, struct kp_const *out)
{
	out->type = p[0];
	out->num = 0;
	out->str = NULL;
	out->len = 0;
	switch (out->type) {
	case KP_CONST_INT:
		out->num = (kp_s64)(kp_chunk_u32(p + 1) |
				    (kp_u64)kp_chunk_u32(p + 5) << 32);
		return p + 9;
	case KP_CONST_STR:
		return kp_chunk_str(p + 1, &out->str, &out->len);
	default:
		return p + 1;
	}
}

const kp_u8 *kp_chunk_str(const kp_u8 *p, const char **s, kp_u32 *len)
{
	*len = kp_chunk_u32(p);
	*s = (const char *)p + 4;
	return p + 4 + *len;
}

/* kp_verify_chunk()'s allocator: a bump pointer over the caller's scratch. */
struct kp_bump {
	kp_uintptr_t next, end;
};

static void *kp_bump_alloc(void *ctx, kp_size_t size)
{
	struct kp_bump *b = ctx;
	kp_uintptr_t p = (b->next + 7) & ~(kp_uintptr_t)7;

	if (p < b->next || p > b->end || size > b->end - p)
		return NULL;
	b->next = p + size;
	return (void *)p;
}

int kp_verify_chunk(const void *chunk, kp_size_t len, void *scratch,
		    kp_size_t scratch_size, struct kp_verify_error *err)
{
	struct kp_bump b = { (kp_uintptr_t)scratch,
			     (kp_uintptr_t)scratch + scratch_size };
	struct kp_chunk_view view;
	int ret;

	ret = kp_chunk_parse(chunk, len, &view, kp_bump_alloc, &b, err);
	if (ret)
		return ret;
	return kp_chunk_verify(&view, err);
}
