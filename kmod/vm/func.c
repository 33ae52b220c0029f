// SPDX-License-Identifier: GPL-2.0
/*
 * Closures and upvalues (Lua 5.1's scheme): an upvalue stays open, pointing
 * into the register stack, while the frame of the variable it captured is
 * alive, so that every closure sharing it sees the same variable; leaving
 * the frame closes it, copying the value into the cell.
 */
#include "kp_func.h"
#include "kp_gc.h"

struct kp_closure *kp_func_closure(struct kp_vm *vm, struct kp_proto *p)
{
	struct kp_closure *cl;
	kp_size_t size = sizeof(*cl) + p->nupvals * sizeof(cl->upvals[0]);

	cl = (struct kp_closure *)kp_gc_new(vm, size, KP_TFUNC);
	if (!cl)
		return NULL;
	cl->p = p;
	cl->nupvals = p->nupvals;
	cl->gclist = NULL;
	kp_memset(cl->upvals, 0, p->nupvals * sizeof(cl->upvals[0]));
	return cl;
}

struct kp_upval *kp_func_upval(struct kp_vm *vm, struct kp_value *slot)
{
	struct kp_upval **pp = &vm->openupval, *uv;

	while (*pp && (*pp)->v >= slot) {
		if ((*pp)->v == slot)
			return *pp;
		pp = &(*pp)->open_next;
	}
	uv = (struct kp_upval *)kp_gc_new(vm, sizeof(*uv), KP_TUPVAL);
	if (!uv)
		return NULL;
	/* The collection kp_gc_new may run does not change the open list. */
	uv->v = slot;
	kp_setnil(&uv->value);
	uv->open_next = *pp;
	*pp = uv;
	return uv;
}

void kp_func_close(struct kp_vm *vm, struct kp_value *level)
{
	struct kp_upval *uv;

	while ((uv = vm->openupval) && uv->v >= level) {
		uv->value = *uv->v;
		uv->v = &uv->value;
		vm->openupval = uv->open_next;
		uv->open_next = NULL;
	}
}
