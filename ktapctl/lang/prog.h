/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The program being compiled: functions, constants, upvalue descriptors,
 * globals and probes as the parser builds them, before chunk_write.c
 * serialises them or listing.c prints them. Every allocation belongs to the
 * program and is released with it; running out of memory and compile
 * errors both leave through prog->fail.
 */
#ifndef KTAP_LANG_PROG_H
#define KTAP_LANG_PROG_H

#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Byte-string keys to int values (constants, global names). */
struct kpc_map_slot {
	const void *key; /* NULL: free */
	size_t len;
	uint32_t hash;
	int value;
};

struct kpc_map {
	struct kpc_map_slot *slots;
	uint32_t size; /* a power of two, or 0 */
	uint32_t count;
};

struct kpc_const {
	uint8_t type; /* KP_CONST_* */
	int64_t num;
	const char *str;
	size_t len;
};

struct kpc_upval {
	uint8_t instack; /* 1: register idx of the parent, 0: its upvalue idx */
	uint8_t idx;
	const char *name;
	size_t len;
};

struct kpc_func {
	int parent; /* -1 for main */
	int line;
	int nparams;
	int framesize;
	const char *name; /* NUL-terminated */
	uint32_t *code;
	uint32_t *lines;
	int ncode, code_cap;
	struct kpc_const *k;
	int nk, k_cap;
	struct kpc_upval *up;
	int nup, up_cap;
};

struct kpc_global {
	const char *name;
	size_t len;
	int declared; /* by a top-level var or function */
	int line; /* first use */
	int assigned; /* the first use stores to it */
};

struct kpc_probe {
	int kind; /* KP_PROBE_* */
	int handler;
	int filter; /* KP_NO_FUNC if none */
	int line;
	uint64_t period_ns;
	const char *spec;
	size_t speclen;
};

struct kpc_mblock;

struct kpc_prog {
	struct kpc_mblock *mem;
	jmp_buf fail;
	int status; /* what fail reports: -EINVAL or -ENOMEM */
	const char *chunkname;
	FILE *errf;
	struct kpc_func **funcs;
	int nfuncs, funcs_cap;
	struct kpc_global *globals;
	int nglobals, globals_cap;
	struct kpc_map gmap; /* name -> slot */
	struct kpc_probe *probes;
	int nprobes, probes_cap;
};

struct kpc_prog *kpc_prog_new(const char *chunkname, FILE *errf);
void kpc_prog_free(struct kpc_prog *P);
/* Leave through P->fail with status (-ENOMEM or -EINVAL). */
void kpc_prog_fail(struct kpc_prog *P, int status)
	__attribute__((noreturn));

/* Zeroed memory owned by P; on failure, leaves through P->fail. */
void *kpc_alloc(struct kpc_prog *P, size_t size);
void *kpc_realloc(struct kpc_prog *P, void *p, size_t size);
char *kpc_strdup(struct kpc_prog *P, const char *s, size_t len);
void *kpc_grow_array(struct kpc_prog *P, void *arr, int *cap, size_t elem);

/* Make room for element n of arr (capacity cap). */
#define KPC_GROW(P, arr, n, cap)                                               \
	do {                                                                   \
		if ((n) >= (cap))                                              \
			(arr) = kpc_grow_array((P), (arr), &(cap),             \
					       sizeof(*(arr)));                \
	} while (0)

/* -1 if absent. put: key must live as long as P; it must not be there. */
int kpc_map_get(const struct kpc_map *m, const void *key, size_t len);
void kpc_map_put(struct kpc_prog *P, struct kpc_map *m, const void *key,
		 size_t len, int value);

/*
 * The parser (parse.c): fills P from the script. On a compile error it
 * writes the message to P->errf and leaves through P->fail.
 */
void kpc_parse(struct kpc_prog *P, const char *src, size_t len);

#endif /* KTAP_LANG_PROG_H */
