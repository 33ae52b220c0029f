// SPDX-License-Identifier: GPL-2.0
/*
 * Memory and garbage collection. Stop-the-world mark and sweep: mark from
 * the roots (globals, the registers of every active frame, open upvalues,
 * the constants of the loaded functions, probe closures, the event and
 * built-in result caches), propagate through an explicit gray list (no
 * recursion: kernel stacks are small), then sweep the object list and,
 * weakly, the string table.
 *
 * Pacing as in Lua: a collection starts when the arena use has grown by as
 * much as was live after the previous one (at least KP_GC_MIN_STEP), and
 * whenever an allocation fails; only if it fails again is the session out
 * of memory.
 */
#include "kp_arena.h"
#include "kp_func.h"
#include "kp_gc.h"
#include "kp_str.h"
#include "kp_tab.h"

static void mark_object(struct kp_vm *vm, struct kp_gcobj *o);

static inline void mark_value(struct kp_vm *vm, const struct kp_value *v)
{
	if (kp_iscollectable(v) && !v->u.gc->marked)
		mark_object(vm, v->u.gc);
}

/* Strings are done at once; containers wait on the gray list. */
static void mark_object(struct kp_vm *vm, struct kp_gcobj *o)
{
	if (o->marked)
		return;
	o->marked = 1;
	switch (o->type) {
	case KP_TTAB:
		((struct kp_tab *)o)->gclist = vm->gray;
		vm->gray = o;
		break;
	case KP_TFUNC:
		((struct kp_closure *)o)->gclist = vm->gray;
		vm->gray = o;
		break;
	case KP_TUPVAL:
		/* One level only: the value is a string or goes gray. */
		mark_value(vm, ((struct kp_upval *)o)->v);
		break;
	}
}

static void traverse_table(struct kp_vm *vm, struct kp_tab *t)
{
	kp_u32 i;

	for (i = 0; i < t->alen; i++)
		mark_value(vm, &t->arr[i]);
	for (i = 0; i < t->nused; i++) {
		struct kp_node *n = &t->node[i];

		/* Deleted keys stay alive: next() may still compare them. */
		if (n->key.tt != KP_TDEADKEY)
			mark_value(vm, &n->key);
		mark_value(vm, &n->val);
	}
}

static void traverse_closure(struct kp_vm *vm, struct kp_closure *cl)
{
	kp_u32 i;

	for (i = 0; i < cl->nupvals; i++)
		if (cl->upvals[i])
			mark_object(vm, (struct kp_gcobj *)cl->upvals[i]);
}

static void propagate(struct kp_vm *vm)
{
	struct kp_gcobj *o;

	while ((o = vm->gray)) {
		if (o->type == KP_TTAB) {
			vm->gray = ((struct kp_tab *)o)->gclist;
			traverse_table(vm, (struct kp_tab *)o);
		} else {
			vm->gray = ((struct kp_closure *)o)->gclist;
			traverse_closure(vm, (struct kp_closure *)o);
		}
	}
}

/*
 * The live registers end at the highest frame top or the open results;
 * slots above hold dead values and are cleared so they never dangle.
 */
static void mark_stack(struct kp_vm *vm)
{
	kp_u32 lim = vm->top, i;
	struct kp_upval *uv;

	for (i = 0; i < vm->depth; i++) {
		struct kp_frame *f = &vm->frames[i];
		kp_u32 top = f->base + f->cl->p->framesize;

		mark_object(vm, (struct kp_gcobj *)f->cl);
		if (top > lim)
			lim = top;
	}
	if (lim > vm->stacksize)
		lim = vm->stacksize;
	for (i = 0; i < lim; i++)
		mark_value(vm, &vm->stack[i]);
	for (; i < vm->stacksize; i++)
		kp_setnil(&vm->stack[i]);
	for (uv = vm->openupval; uv; uv = uv->open_next)
		mark_object(vm, (struct kp_gcobj *)uv);
}

static void mark_roots(struct kp_vm *vm)
{
	kp_u32 i, j;

	for (i = 0; i < vm->nglobals; i++)
		mark_value(vm, &vm->globals[i]);
	for (i = 0; i < vm->nprotos; i++)
		for (j = 0; j < vm->protos[i].nk; j++)
			mark_value(vm, &vm->protos[i].k[j]);
	for (i = 0; i < vm->nprobes; i++) {
		mark_object(vm, (struct kp_gcobj *)vm->probes[i].handler);
		if (vm->probes[i].filter)
			mark_object(vm,
				    (struct kp_gcobj *)vm->probes[i].filter);
	}
	if (vm->main)
		mark_object(vm, (struct kp_gcobj *)vm->main);
	for (i = 0; i < KP_EVSTR_COUNT; i++)
		mark_value(vm, &vm->evstr[i]);
	for (i = 0; i < KP_MAX_BI_RESULTS; i++)
		mark_value(vm, &vm->bires[i]);
	for (i = 0; i < KP_ARRAY_SIZE(vm->roots); i++)
		mark_value(vm, &vm->roots[i]);
	mark_stack(vm);
}

static void free_object(struct kp_vm *vm, struct kp_gcobj *o)
{
	if (o->type == KP_TTAB)
		kp_tab_free(vm, (struct kp_tab *)o);
	else
		kp_mem_free(vm, o);
}

static void sweep(struct kp_vm *vm)
{
	struct kp_gcobj **pp = &vm->allgc, *o;
	struct kp_str **sp, *s;
	kp_u32 i;

	while ((o = *pp)) {
		if (o->marked) {
			o->marked = 0;
			pp = &o->next;
		} else {
			*pp = o->next;
			free_object(vm, o);
		}
	}
	for (i = 0; i < vm->strsize; i++) {
		sp = &vm->strtab[i];
		while ((s = *sp)) {
			if (s->marked) {
				s->marked = 0;
				sp = (struct kp_str **)&s->next;
			} else {
				*sp = (struct kp_str *)s->next;
				kp_mem_free(vm, s);
				vm->strcount--;
			}
		}
	}
}

void kp_gc_collect(struct kp_vm *vm)
{
	kp_size_t live, step;
	kp_u32 size;

	if (vm->gc_running || vm->gc_block)
		return;
	vm->gc_running = 1;
	vm->gray = NULL;
	mark_roots(vm);
	propagate(vm);
	sweep(vm);
	size = vm->strsize;
	while (size > 1 && vm->strcount < size / 4)
		size /= 2;
	kp_str_resize(vm, size);
	live = kp_arena_in_use(vm->arena);
	step = live < KP_GC_MIN_STEP ? KP_GC_MIN_STEP : live;
	vm->gc_threshold = live + step;
	vm->collections++;
	vm->gc_running = 0;
}

void *kp_mem_alloc(struct kp_vm *vm, kp_size_t size)
{
	void *p;

	if (kp_arena_in_use(vm->arena) + size >= vm->gc_threshold)
		kp_gc_collect(vm);
	p = kp_arena_alloc(vm->arena, size);
	if (kp_unlikely(!p)) {
		kp_gc_collect(vm);
		p = kp_arena_alloc(vm->arena, size);
		if (!p)
			kp_rt_error(vm, "out of memory (arena of %llu bytes)",
				    (unsigned long long)
					    kp_arena_quota(vm->arena));
	}
	return p;
}

void kp_mem_free(struct kp_vm *vm, void *p)
{
	kp_arena_free(vm->arena, p);
}

struct kp_gcobj *kp_gc_new(struct kp_vm *vm, kp_size_t size, int type)
{
	struct kp_gcobj *o = kp_mem_alloc(vm, size);

	if (!o)
		return NULL;
	o->type = (kp_u8)type;
	o->marked = 0;
	o->next = vm->allgc;
	vm->allgc = o;
	return o;
}
