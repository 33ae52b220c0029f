/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Memory of a VM and its garbage collector: every allocation goes through
 * here, so that a collection can run when the arena fills up.
 */
#ifndef KTAP_VM_KP_GC_H
#define KTAP_VM_KP_GC_H

#include "kp_state.h"

/* Collect when less than this was allocated since the last collection. */
#define KP_GC_MIN_STEP (64u * 1024)

/*
 * size bytes from the arena, or NULL with the "out of memory" error
 * recorded. May run a collection first: every object a caller still needs
 * must be reachable from the roots (registers, globals, vm->roots) when it
 * calls this.
 */
void *kp_mem_alloc(struct kp_vm *vm, kp_size_t size);
void kp_mem_free(struct kp_vm *vm, void *p);

/* A new collectable object of the given type, linked for sweeping. */
struct kp_gcobj *kp_gc_new(struct kp_vm *vm, kp_size_t size, int type);

/* A full stop-the-world mark and sweep. */
void kp_gc_collect(struct kp_vm *vm);

#endif /* KTAP_VM_KP_GC_H */
