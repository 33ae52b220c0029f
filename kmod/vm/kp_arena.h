/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The session arena: every byte a VM uses comes from one block of memory
 * handed over by the host (ARCHITECTURE rule 3, the memory quota).
 */
#ifndef KTAP_VM_KP_ARENA_H
#define KTAP_VM_KP_ARENA_H

#include "platform.h"

struct kp_arena;

/*
 * Lay an allocator over mem[0..size) (any alignment). Returns the arena,
 * which lives at the start of mem, or NULL when size is too small.
 */
struct kp_arena *kp_arena_init(void *mem, kp_size_t size);

/* 16-byte aligned block of at least size bytes, or NULL. */
void *kp_arena_alloc(struct kp_arena *a, kp_size_t size);
/* Give back a block from kp_arena_alloc(); NULL is ignored. */
void kp_arena_free(struct kp_arena *a, void *p);

kp_size_t kp_arena_quota(const struct kp_arena *a); /* size given to init */
kp_size_t kp_arena_in_use(const struct kp_arena *a); /* allocated bytes */
kp_size_t kp_arena_peak(const struct kp_arena *a);

#endif /* KTAP_VM_KP_ARENA_H */
