// SPDX-License-Identifier: GPL-2.0
/*
 * kp_vm_load(): parse and verify a chunk (load.c, verify.c), then build the
 * runtime objects from the view: prototypes with their code, lines and
 * constants copied into the arena (the chunk buffer may go away), global
 * slots, the probe table with its closures, and the main closure. The
 * collector is held off meanwhile: nothing built is reachable until the
 * whole chunk is in.
 */
#include "chunk_view.h"
#include "kp_arena.h"
#include "kp_func.h"
#include "kp_gc.h"
#include "kp_str.h"
#include "kp_tab.h"

/* kp_chunk_parse() allocates its arrays here; they go after the build. */
struct kp_loadctx {
	struct kp_vm *vm;
	void *blocks[4];
	int n;
};

static void *load_alloc(void *ctx, kp_size_t size)
{
	struct kp_loadctx *lc = ctx;
	void *p;

	if (lc->n == (int)KP_ARRAY_SIZE(lc->blocks))
		return NULL;
	p = kp_mem_alloc(lc->vm, size ? size : 1);
	if (p)
		lc->blocks[lc->n++] = p;
	return p;
}

static int no_room(struct kp_vm *vm, struct kp_verify_error *err)
{
	kp_verify_fail(err, -1, -1, "chunk does not fit in the arena (%llu bytes)",
		       (unsigned long long)kp_arena_quota(vm->arena));
	return -KP_ENOMEM;
}

/* A NUL-terminated copy in the arena. */
static const char *copy_text(struct kp_vm *vm, const char *s, kp_u32 len)
{
	char *p = kp_mem_alloc(vm, (kp_size_t)len + 1);

	if (p) {
		kp_memcpy(p, s, len);
		p[len] = '\0';
	}
	return p;
}

static int build_proto(struct kp_vm *vm, struct kp_proto *p,
		       const struct kp_fview *fv)
{
	kp_u32 *code, *lines, j;
	const kp_u8 *kp = fv->consts;
	struct kp_const c;
	kp_u8 *up;

	code = kp_mem_alloc(vm, (kp_size_t)fv->ncode * 2 * sizeof(*code));
	p->k = kp_mem_alloc(vm, (fv->nconsts ? fv->nconsts : 1) *
					sizeof(*p->k));
	up = kp_mem_alloc(vm, 2u * fv->nupvals + 1);
	p->name = copy_text(vm, fv->name, fv->name_len);
	if (!code || !p->k || !up || !p->name)
		return -KP_ENOMEM;
	lines = code + fv->ncode;
	for (j = 0; j < fv->ncode; j++) {
		code[j] = kp_fview_insn(fv, j);
		lines[j] = kp_chunk_u32(fv->lines + 4 * j);
	}
	for (j = 0; j < fv->nconsts; j++) {
		struct kp_value *v = &p->k[j];

		kp = kp_chunk_const(kp, &c);
		switch (c.type) {
		case KP_CONST_NIL:
			kp_setnil(v);
			break;
		case KP_CONST_FALSE:
		case KP_CONST_TRUE:
			kp_setbool(v, c.type == KP_CONST_TRUE);
			break;
		case KP_CONST_INT:
			kp_setnum(v, c.num);
			break;
		default:
			v->u.s = kp_str_new(vm, c.str, c.len);
			if (!v->u.s)
				return -KP_ENOMEM;
			v->tt = KP_TSTR;
			break;
		}
	}
	kp_memcpy(up, fv->upvals, 2u * fv->nupvals);
	p->code = code;
	p->lines = lines;
	p->upvals = up;
	p->ncode = fv->ncode;
	p->nk = fv->nconsts;
	p->nparams = fv->nparams;
	p->framesize = fv->framesize;
	p->nupvals = fv->nupvals;
	return 0;
}

static int build_globals(struct kp_vm *vm, const struct kp_chunk_view *v)
{
	const kp_u8 *g = v->globals;
	const char *name;
	kp_u32 j, len;

	vm->globals = kp_mem_alloc(vm, v->nglobals * sizeof(*vm->globals));
	vm->gnames = kp_mem_alloc(vm, v->nglobals * sizeof(*vm->gnames));
	if (!vm->globals || !vm->gnames)
		return -KP_ENOMEM;
	for (j = 0; j < v->nglobals; j++) {
		g = kp_chunk_str(g, &name, &len);
		vm->gnames[j] = copy_text(vm, name, len);
		if (!vm->gnames[j])
			return -KP_ENOMEM;
		kp_setnil(&vm->globals[j]);
	}
	vm->nglobals = v->nglobals;
	return 0;
}

static int build_probes(struct kp_vm *vm, const struct kp_chunk_view *v)
{
	kp_u32 j;

	vm->probes = kp_mem_alloc(vm, (v->nprobes ? v->nprobes : 1) *
					      sizeof(*vm->probes));
	if (!vm->probes)
		return -KP_ENOMEM;
	for (j = 0; j < v->nprobes; j++) {
		const struct kp_pview *pv = &v->probes[j];
		struct kp_probe *p = &vm->probes[j];

		p->kind = pv->kind;
		p->line = pv->line;
		p->period_ns = pv->period_ns;
		p->spec = copy_text(vm, pv->spec, pv->spec_len);
		p->handler = kp_func_closure(vm, &vm->protos[pv->handler]);
		p->filter = NULL;
		if (pv->filter != KP_NO_FUNC) {
			p->filter = kp_func_closure(vm,
						    &vm->protos[pv->filter]);
			if (!p->filter)
				return -KP_ENOMEM;
		}
		if (!p->spec || !p->handler)
			return -KP_ENOMEM;
	}
	vm->nprobes = v->nprobes;
	return 0;
}

static int build(struct kp_vm *vm, const struct kp_chunk_view *v)
{
	struct kp_tab *arg;
	kp_u32 j;
	int ret;

	vm->source = copy_text(vm, v->source, v->source_len);
	if (!vm->source)
		return -KP_ENOMEM;
	ret = build_globals(vm, v);
	if (ret)
		return ret;
	vm->protos = kp_mem_alloc(vm, v->nfuncs * sizeof(*vm->protos));
	if (!vm->protos)
		return -KP_ENOMEM;
	for (j = 0; j < v->nfuncs; j++) {
		ret = build_proto(vm, &vm->protos[j], &v->funcs[j]);
		if (ret)
			return ret;
		vm->nprotos = j + 1;
	}
	ret = build_probes(vm, v);
	if (ret)
		return ret;
	vm->main = kp_func_closure(vm, &vm->protos[0]);
	/* arg exists even when the host sets no arguments. */
	arg = kp_tab_new(vm, 0, 0);
	if (!vm->main || !arg)
		return -KP_ENOMEM;
	kp_settab(&vm->globals[0], arg);
	return 0;
}

int kp_vm_load(struct kp_vm *vm, const void *chunk, kp_size_t len,
	       struct kp_verify_error *err)
{
	struct kp_loadctx lc = { .vm = vm };
	struct kp_chunk_view view;
	int ret, j;

	if (vm->loaded)
		return kp_verify_fail(err, -1, -1, "a chunk is already loaded");
	vm->gc_block++;
	ret = kp_chunk_parse(chunk, len, &view, load_alloc, &lc, err);
	if (!ret)
		ret = kp_chunk_verify(&view, err);
	if (!ret) {
		ret = build(vm, &view);
		if (ret)
			ret = no_room(vm, err);
	}
	for (j = lc.n - 1; j >= 0; j--)
		kp_mem_free(vm, lc.blocks[j]);
	vm->gc_block--;
	if (ret) {
		/* Nothing of a refused chunk may run. */
		vm->nprobes = 0;
		vm->nprotos = 0;
		vm->nglobals = 0;
		vm->main = NULL;
		return ret;
	}
	kp_vm_find_counters(vm);
	vm->loaded = 1;
	return 0;
}
