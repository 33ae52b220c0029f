// SPDX-License-Identifier: GPL-2.0
/*
 * The chunk writer: the compiled program in the byte layout of
 * proto/chunk.h, and kpc_compile(), the compiler's main entry point.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "chunk.h"
#include "lang.h"
#include "prog.h"

struct wbuf {
	struct kpc_prog *P;
	unsigned char *p;
	size_t len, cap;
};

static void put(struct wbuf *b, const void *data, size_t n)
{
	if (b->len + n > b->cap) {
		while (b->len + n > b->cap)
			b->cap = b->cap ? 2 * b->cap : 4096;
		b->p = kpc_realloc(b->P, b->p, b->cap);
	}
	memcpy(b->p + b->len, data, n);
	b->len += n;
}

/* Little-endian, whatever the host. */
static void put_le(struct wbuf *b, uint64_t v, int bytes)
{
	unsigned char tmp[8];
	int i;

	for (i = 0; i < bytes; i++)
		tmp[i] = (unsigned char)(v >> (8 * i));
	put(b, tmp, (size_t)bytes);
}

#define put_u8(b, v) put_le(b, (uint64_t)(v), 1)
#define put_u16(b, v) put_le(b, (uint64_t)(v), 2)
#define put_u32(b, v) put_le(b, (uint64_t)(v), 4)
#define put_u64(b, v) put_le(b, (uint64_t)(v), 8)

static void put_str(struct wbuf *b, const char *s, size_t len)
{
	put_u32(b, len);
	put(b, s, len);
}

static void put_func(struct wbuf *b, const struct kpc_func *f)
{
	int i;

	put_u16(b, f->parent < 0 ? KP_NO_FUNC : (unsigned)f->parent);
	put_u8(b, f->nparams);
	put_u8(b, f->framesize);
	put_u8(b, f->nup);
	put_u8(b, 0);
	put_u16(b, f->line);
	put_str(b, f->name, strlen(f->name));
	put_u32(b, f->ncode);
	for (i = 0; i < f->ncode; i++)
		put_u32(b, f->code[i]);
	for (i = 0; i < f->ncode; i++)
		put_u32(b, f->lines[i]);
	put_u32(b, f->nk);
	for (i = 0; i < f->nk; i++) {
		const struct kpc_const *k = &f->k[i];

		put_u8(b, k->type);
		if (k->type == KP_CONST_INT)
			put_u64(b, (uint64_t)k->num);
		else if (k->type == KP_CONST_STR)
			put_str(b, k->str, k->len);
	}
	for (i = 0; i < f->nup; i++) {
		put_u8(b, f->up[i].instack);
		put_u8(b, f->up[i].idx);
	}
}

static int write_chunk(struct kpc_prog *P, void **chunk, size_t *chunk_len)
{
	struct wbuf b = { .P = P };
	int i;

	put(&b, KP_CHUNK_MAGIC, 4);
	put_u16(&b, KP_CHUNK_VERSION);
	put_u16(&b, 0);
	put_u32(&b, 0); /* the size, patched below */
	put_str(&b, P->chunkname, strlen(P->chunkname));
	put_u32(&b, P->nglobals);
	for (i = 0; i < P->nglobals; i++)
		put_str(&b, P->globals[i].name, P->globals[i].len);
	put_u32(&b, P->nfuncs);
	for (i = 0; i < P->nfuncs; i++)
		put_func(&b, P->funcs[i]);
	put_u32(&b, P->nprobes);
	for (i = 0; i < P->nprobes; i++) {
		const struct kpc_probe *p = &P->probes[i];

		put_u8(&b, p->kind);
		put_u8(&b, 0);
		put_u16(&b, p->handler);
		put_u16(&b, p->filter);
		put_u16(&b, p->line);
		put_u64(&b, p->period_ns);
		put_str(&b, p->spec, p->speclen);
	}
	if (b.len > KP_MAX_CHUNK) {
		if (P->errf)
			fprintf(P->errf,
				"%s: chunk too large (%zu bytes, limit is %u)\n",
				P->chunkname, b.len, KP_MAX_CHUNK);
		return -EINVAL;
	}
	for (i = 0; i < 4; i++) /* the size field, after magic and version */
		b.p[8 + i] = (unsigned char)(b.len >> (8 * i));
	*chunk_len = b.len;
	*chunk = malloc(b.len);
	if (!*chunk)
		return -ENOMEM;
	memcpy(*chunk, b.p, *chunk_len);
	return 0;
}

int kpc_compile(const char *source, size_t len, const char *chunkname,
		void **chunk, size_t *chunk_len, FILE *errf)
{
	struct kpc_prog *P = kpc_prog_new(chunkname, errf);
	int ret;

	if (!P)
		return -ENOMEM;
	if (setjmp(P->fail)) {
		ret = P->status;
	} else {
		kpc_parse(P, source, len);
		ret = write_chunk(P, chunk, chunk_len);
	}
	kpc_prog_free(P);
	return ret;
}
