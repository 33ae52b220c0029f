// SPDX-License-Identifier: GPL-2.0
/* Shared by the VM unit tests: checks, a chunk assembler, a test VM. */
#include <stdlib.h>
#include <string.h>

#include "unit.h"

int unit_failures;

int unit_done(const char *name)
{
	if (unit_failures) {
		fprintf(stderr, "%s: %d check(s) failed\n", name,
			unit_failures);
		return 1;
	}
	printf("%s: ok\n", name);
	return 0;
}

struct wbuf {
	uint8_t *p;
	size_t len, cap;
};

static void w_raw(struct wbuf *w, const void *d, size_t n)
{
	if (w->len + n > w->cap) {
		w->cap = (w->len + n) * 2 + 64;
		w->p = realloc(w->p, w->cap);
		if (!w->p)
			abort();
	}
	memcpy(w->p + w->len, d, n);
	w->len += n;
}

static void w_int(struct wbuf *w, uint64_t v, int bytes)
{
	uint8_t b[8];
	int i;

	for (i = 0; i < bytes; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	w_raw(w, b, (size_t)bytes);
}

static void w_str(struct wbuf *w, const char *s)
{
	w_int(w, strlen(s), 4);
	w_raw(w, s, strlen(s));
}

size_t ta_assemble(const struct ta_chunk *c, uint8_t **out)
{
	struct wbuf w = { 0 };
	unsigned i, j;

	w_raw(&w, KP_CHUNK_MAGIC, 4);
	w_int(&w, KP_CHUNK_VERSION, 2);
	w_int(&w, 0, 2);
	w_int(&w, 0, 4); /* size, patched below */
	w_str(&w, c->source ? c->source : "t.kp");
	w_int(&w, c->nglobals, 4);
	for (i = 0; i < c->nglobals; i++)
		w_str(&w, c->globals[i]);
	w_int(&w, c->nfuncs, 4);
	for (i = 0; i < c->nfuncs; i++) {
		const struct ta_func *f = &c->f[i];

		w_int(&w, i ? f->parent : 0xffff, 2);
		w_int(&w, f->nparams, 1);
		w_int(&w, f->framesize, 1);
		w_int(&w, f->nup, 1);
		w_int(&w, 0, 1);
		w_int(&w, 0, 2);
		w_str(&w, f->name ? f->name : "f");
		w_int(&w, f->ncode, 4);
		for (j = 0; j < f->ncode; j++)
			w_int(&w, f->code[j], 4);
		for (j = 0; j < f->ncode; j++)
			w_int(&w, j + 1, 4);
		w_int(&w, f->nk, 4);
		for (j = 0; j < f->nk; j++) {
			w_int(&w, (uint64_t)f->k[j].type, 1);
			if (f->k[j].type == KP_CONST_INT)
				w_int(&w, (uint64_t)f->k[j].num, 8);
			else if (f->k[j].type == KP_CONST_STR)
				w_str(&w, f->k[j].str);
		}
		w_raw(&w, f->up, 2 * f->nup);
	}
	w_int(&w, c->nprobes, 4);
	for (i = 0; i < c->nprobes; i++) {
		const struct ta_probe *p = &c->p[i];

		w_int(&w, p->kind, 1);
		w_int(&w, 0, 1);
		w_int(&w, p->handler, 2);
		w_int(&w, p->filter ? p->filter : KP_NO_FUNC, 2);
		w_int(&w, p->line, 2);
		w_int(&w, p->period, 8);
		w_str(&w, p->spec ? p->spec : "");
	}
	for (i = 0; i < 4; i++)
		w.p[8 + i] = (uint8_t)(w.len >> (8 * i));
	*out = w.p;
	return w.len;
}

static void tvm_write(void *host, const char *buf, kp_size_t len)
{
	struct tvm *t = host;

	if (t->outlen + len >= sizeof(t->out))
		len = sizeof(t->out) - 1 - t->outlen;
	memcpy(t->out + t->outlen, buf, len);
	t->outlen += len;
}

static const struct kp_host_ops tvm_ops = { .write = tvm_write };

int tvm_open(struct tvm *t, size_t arena, uint32_t budget, uint32_t depth)
{
	struct kp_vm_config cfg = { 0 };

	t->outlen = 0;
	t->arena = malloc(arena);
	if (!t->arena)
		abort();
	cfg.arena = t->arena;
	cfg.arena_size = arena;
	cfg.insn_budget = budget;
	cfg.max_call_depth = depth;
	cfg.ops = &tvm_ops;
	cfg.host = t;
	return kp_vm_create(&t->vm, &cfg);
}

int tvm_load(struct tvm *t, const struct ta_chunk *c)
{
	uint8_t *chunk;
	size_t len = ta_assemble(c, &chunk);
	int ret = kp_vm_load(t->vm, chunk, len, &t->err);

	if (ret)
		fprintf(stderr, "load: func %d pc %d: %s\n", t->err.func,
			t->err.pc, t->err.reason);
	/* The VM must not keep pointers into the chunk. */
	memset(chunk, 0xee, len);
	free(chunk);
	return ret;
}

void tvm_close(struct tvm *t)
{
	free(t->arena);
	t->arena = NULL;
}
