/* SPDX-License-Identifier: GPL-2.0 */
/* Minimal checks for the VM unit tests: count failures, report, exit 1. */
#ifndef KTAP_TESTS_UNIT_H
#define KTAP_TESTS_UNIT_H

#include <stdio.h>
#include <string.h>

extern int unit_failures;

#define FAIL(msg)                                                              \
	do {                                                                   \
		fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, msg);       \
		unit_failures++;                                               \
	} while (0)
#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond))                                                   \
			FAIL("check failed: " #cond);                          \
	} while (0)

int unit_done(const char *name);


#include <stddef.h>
#include <stdint.h>

#include "vm.h"
#include "chunk.h"
#include "opcodes.h"

/* Instruction words for hand-assembled functions. */
#define ABC(op, a, b, c) KP_MK_ABC(KP_OP_##op, a, b, c)
#define ABX(op, a, bx) KP_MK_ABX(KP_OP_##op, a, bx)
#define ASBX(op, a, sbx) KP_MK_ASBX(KP_OP_##op, a, sbx)
#define K(x) ((x) | KP_RK_CONST)

/* A chunk described field by field (proto/chunk.h); line of pc i is i+1. */
struct ta_const {
	int type;
	int64_t num;
	const char *str;
};

struct ta_func {
	unsigned parent, nparams, framesize;
	const char *name;
	unsigned ncode;
	uint32_t code[96];
	unsigned nk;
	struct ta_const k[24];
	unsigned nup;
	uint8_t up[16]; /* (instack, idx) pairs */
};

struct ta_probe {
	unsigned kind, handler, filter, line;
	uint64_t period;
	const char *spec;
};

struct ta_chunk {
	const char *source;
	unsigned nglobals;
	const char *globals[16];
	unsigned nfuncs;
	struct ta_func f[8];
	unsigned nprobes;
	struct ta_probe p[8];
};

/* The chunk's bytes (malloc'ed) and their length. */
size_t ta_assemble(const struct ta_chunk *c, uint8_t **out);

#define TA_STR(s) { KP_CONST_STR, 0, s }
#define TA_INT(n) { KP_CONST_INT, n, NULL }

/* A VM in a malloc'ed arena whose output is collected in out. */
struct tvm {
	struct kp_vm *vm;
	void *arena;
	char out[1 << 16];
	size_t outlen;
	struct kp_verify_error err;
};

int tvm_open(struct tvm *t, size_t arena, uint32_t budget, uint32_t depth);
int tvm_load(struct tvm *t, const struct ta_chunk *c);
void tvm_close(struct tvm *t);

/* out equals want; prints both when not. */
#define CHECK_OUT(t, want)                                                     \
	do {                                                                   \
		(t)->out[(t)->outlen] = '\0';                                  \
		if (strcmp((t)->out, want)) {                                  \
			fprintf(stderr, "output:\n%s\nexpected:\n%s\n",        \
				(t)->out, want);                               \
			FAIL("unexpected output");                             \
		}                                                              \
	} while (0)
#define CHECK_STR(got, want)                                                   \
	do {                                                                   \
		if (strcmp(got, want)) {                                       \
			fprintf(stderr, "got '%s', expected '%s'\n", got,      \
				want);                                         \
			FAIL("unexpected string");                             \
		}                                                              \
	} while (0)

#endif /* KTAP_TESTS_UNIT_H */
