/* SPDX-License-Identifier: GPL-2.0 */
/* Closures and upvalues. */
#ifndef KTAP_VM_KP_FUNC_H
#define KTAP_VM_KP_FUNC_H

#include "kp_state.h"

/* A closure of p with its upvalue slots still empty, or NULL. */
struct kp_closure *kp_func_closure(struct kp_vm *vm, struct kp_proto *p);

/* The open upvalue for a stack slot, created if needed; NULL if no memory. */
struct kp_upval *kp_func_upval(struct kp_vm *vm, struct kp_value *slot);

/* Close the open upvalues of slots at or above level. */
void kp_func_close(struct kp_vm *vm, struct kp_value *level);

#endif /* KTAP_VM_KP_FUNC_H */
